"""Staff pages for the festival blog's posts: the list, the import form, add, change and
delete.

Like the programme's pages, forms post back to their own address; a save redirects to the
list with ``?saved=<key>``, and any :class:`FestivalError` shows the form again with what
was typed and the error beside its field. An import shows its report on the list page:
importing the same feed twice changes nothing, so a reload that posts again is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from festival.auth import staff_only
from festival.db.engine import Database
from festival.errors import FestivalError, Unauthorized
from festival.posts import forms, service
from festival.posts.schemas import FeedImportIn, ImportReport, Post
from festival.programme import service as programme_service
from festival.programme.forms import error_view, typed
from festival.programme.schemas import Festival
from festival.programme.staff_pages import sign_in_first

DB = NamedDependency[Database]
HTTP = NamedDependency[httpx.AsyncClient]
AnyRequest = Request[Any, Any, Any]

#: ``?saved=`` keys and the notice each shows. Only these texts are ever shown.
SAVED = {
    "post-added": "The post has been added.",
    "post-saved": "The post has been saved.",
    "post-deleted": "The post has been deleted.",
}
SOURCES = {"feed": "From the blog’s feed", "staff": "Added by hand"}


def _posts_path(slug: str) -> str:
    return f"/staff/festivals/{slug}/posts"


def _page(
    request: AnyRequest,
    template: str,
    *,
    error: FestivalError | None = None,
    labels: Mapping[str, str] | None = None,
    **context: Any,
) -> Template:
    view = error_view(error, labels or {}) if error else None
    context.setdefault("values", {})
    return Template(
        f"staff/posts/{template}",
        context={
            "error": view,
            "errors": view.fields if view else {},
            "notice": SAVED.get(request.query_params.get("saved", "")),
            "sources": SOURCES,
            **context,
        },
        status_code=error.status if error else 200,
        headers=error.headers if error else None,
    )


async def _list(
    request: AnyRequest,
    db: Database,
    slug: str,
    *,
    feed_url: str | None = None,
    report: ImportReport | None = None,
    error: FestivalError | None = None,
) -> Template:
    festival = await programme_service.get_festival(db, slug)
    if feed_url is None:
        feed_url = await service.latest_feed_url(db, slug)
    return _page(
        request,
        "list.html",
        error=error,
        labels=forms.IMPORT_LABELS,
        festival=festival,
        posts=await service.list_posts(db, slug),
        values={"feed_url": feed_url},
        report=report,
    )


def _form(
    request: AnyRequest,
    festival: Festival,
    values: Mapping[str, Any],
    *,
    post: Post | None = None,
    error: FestivalError | None = None,
) -> Template:
    return _page(
        request,
        "form.html",
        error=error,
        labels=forms.POST_LABELS,
        festival=festival,
        post=post,
        values=values,
    )


async def _delete_context(db: Database, slug: str, post_id: int) -> dict[str, Any]:
    return {
        "festival": await programme_service.get_festival(db, slug),
        "post": await service.get_post(db, slug, post_id),
    }


class StaffPostPages(Controller):
    path = "/staff/festivals/{slug:str}/posts"
    include_in_schema = False
    guards = [staff_only]
    exception_handlers = {Unauthorized: sign_in_first}

    @get("")
    async def posts(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Template:
        return await _list(request, db, slug)

    @post("/import", status_code=200)
    async def import_feed(
        self, request: AnyRequest, db: DB, http: HTTP, slug: FromPath[str]
    ) -> Template:
        form = await request.form()
        feed_url = str(form.get("feed_url") or "").strip()
        try:
            report = await service.import_feed(db, http, slug, FeedImportIn(url=feed_url))
        except FestivalError as error:
            return await _list(
                request, db, slug, feed_url=feed_url, error=forms.as_import_error(error)
            )
        return await _list(request, db, slug, feed_url=report.feed_url, report=report)

    @get("/new")
    async def new_post(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Template:
        festival = await programme_service.get_festival(db, slug)
        return _form(request, festival, {})

    @post("/new", status_code=303)
    async def create_post(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Response[Any]:
        form = await request.form()
        festival = await programme_service.get_festival(db, slug)
        try:
            await service.create_post(db, slug, forms.post_in(form, festival.timezone))
        except FestivalError as error:
            return _form(request, festival, typed(form), error=error)
        return Redirect(f"{_posts_path(slug)}?saved=post-added", status_code=303)

    @get("/{post_id:int}/edit")
    async def edit_post(
        self, request: AnyRequest, db: DB, slug: FromPath[str], post_id: FromPath[int]
    ) -> Template:
        festival = await programme_service.get_festival(db, slug)
        post = await service.get_post(db, slug, post_id)
        return _form(request, festival, forms.post_values(post, festival.timezone), post=post)

    @post("/{post_id:int}/edit", status_code=303)
    async def update_post(
        self, request: AnyRequest, db: DB, slug: FromPath[str], post_id: FromPath[int]
    ) -> Response[Any]:
        form = await request.form()
        festival = await programme_service.get_festival(db, slug)
        try:
            patch = forms.post_patch(form, festival.timezone)
            await service.update_post(db, slug, post_id, patch)
        except FestivalError as error:
            post = await service.get_post(db, slug, post_id)
            return _form(request, festival, typed(form), post=post, error=error)
        return Redirect(f"{_posts_path(slug)}?saved=post-saved", status_code=303)

    @get("/{post_id:int}/delete")
    async def confirm_delete(
        self, request: AnyRequest, db: DB, slug: FromPath[str], post_id: FromPath[int]
    ) -> Template:
        return _page(request, "delete.html", **await _delete_context(db, slug, post_id))

    @post("/{post_id:int}/delete", status_code=303)
    async def delete_post(
        self, request: AnyRequest, db: DB, slug: FromPath[str], post_id: FromPath[int]
    ) -> Response[Any]:
        try:
            await service.delete_post(db, slug, post_id)
        except FestivalError as error:
            context = await _delete_context(db, slug, post_id)
            return _page(request, "delete.html", error=error, **context)
        return Redirect(f"{_posts_path(slug)}?saved=post-deleted", status_code=303)
