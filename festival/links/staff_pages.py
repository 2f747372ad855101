"""Staff pages for links: one page per clip, session and blog post.

Each page lists what the thing is linked to, with a Remove button per link, and a form per
other kind of thing to add one more. The same shape as the other staff pages: someone not
signed in is sent to sign in and brought back, a volunteer is refused, forms carry their
CSRF token, a change redirects (303) with ``?saved=<key>`` shown as a notice, and any
:class:`FestivalError` shows the page again with an error summary and that error's status.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import groupby
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from festival.auth import staff_only
from festival.db.engine import Database
from festival.errors import BadRequest, FestivalError, Invalid, Unauthorized
from festival.formatting import clock, local, long_date
from festival.links import service
from festival.links.schemas import (
    KIND_WORDS,
    ClipLinks,
    ClipSessionRef,
    End,
    Kind,
    LinkedClipRef,
    LinkedPostRef,
    LinkedSessionRef,
    PostLinks,
    SessionClipRef,
    SessionLinks,
    StaffLinksView,
)
from festival.programme.forms import error_view
from festival.programme.schemas import Festival
from festival.programme.staff_pages import sign_in_first

DB = NamedDependency[Database]
AnyRequest = Request[Any, Any, Any]

LABELS = {"clip_id": "Clip", "session_id": "Session", "post_id": "Blog post"}
#: ``?saved=`` keys and the notice each shows. Only these texts are ever shown.
SAVED = {
    f"{kind}-{change}": text.format(thing=KIND_WORDS[kind])
    for kind in KIND_WORDS
    for change, text in (
        ("linked", "The {thing} has been linked."),
        ("unlinked", "The link to the {thing} has been removed."),
    )
}
_PLURALS: dict[Kind, str] = {"clip": "Clips", "session": "Sessions", "post": "Blog posts"}


# --- what a page shows ------------------------------------------------------------------------


class Item(msgspec.Struct, frozen=True):
    """One linked thing: what it is called, when, and where its own links page is."""

    id: int
    name: str
    when: str
    href: str
    from_slot: bool = False


class Section(msgspec.Struct, frozen=True):
    """The links to one kind of thing, and the form to add another."""

    kind: Kind
    heading: str
    items: list[Item]
    #: For the add form's select: plain options, or options grouped under a heading.
    options: list[tuple[int, str]]
    groups: list[tuple[str, list[tuple[int, str]]]]

    @property
    def field(self) -> str:
        return f"{self.kind}_id"

    @property
    def words(self) -> str:
        return KIND_WORDS[self.kind]

    @property
    def can_add(self) -> bool:
        return bool(self.options or self.groups)


class Subject(msgspec.Struct, frozen=True):
    """The thing whose page this is."""

    kind: Kind
    id: int
    name: str
    when: str
    base: str
    back: tuple[str, str]

    @property
    def words(self) -> str:
        return KIND_WORDS[self.kind]


def _home(slug: str) -> str:
    return f"/staff/festivals/{slug}"


def _links_path(slug: str, kind: Kind, thing_id: int) -> str:
    return f"{_home(slug)}/{kind}s/{thing_id}/links"


def _session_when(session: LinkedSessionRef, festival: Festival) -> str:
    tz = festival.timezone
    return f"{long_date(session.starts_at, tz)}, {clock(session.starts_at, tz)}"


def _post_when(post: LinkedPostRef, festival: Festival) -> str:
    return long_date(local(post.published_at, festival.timezone).date())


def _clip_items(clips: Sequence[LinkedClipRef], festival: Festival) -> list[Item]:
    return [
        Item(
            id=c.id,
            name=c.label,
            when="",
            href=_links_path(festival.slug, "clip", c.id),
            from_slot=isinstance(c, SessionClipRef) and c.from_slot,
        )
        for c in clips
    ]


def _session_items(sessions: Sequence[LinkedSessionRef], festival: Festival) -> list[Item]:
    return [
        Item(
            id=s.id,
            name=s.title,
            when=_session_when(s, festival),
            href=_links_path(festival.slug, "session", s.id),
            from_slot=isinstance(s, ClipSessionRef) and s.from_slot,
        )
        for s in sessions
    ]


def _post_items(posts: list[LinkedPostRef], festival: Festival) -> list[Item]:
    return [
        Item(
            id=p.id,
            name=p.title,
            when=_post_when(p, festival),
            href=_links_path(festival.slug, "post", p.id),
        )
        for p in posts
    ]


def _clip_section(
    linked: Sequence[LinkedClipRef], candidates: list[LinkedClipRef], festival: Festival
) -> Section:
    return Section(
        kind="clip",
        heading=_PLURALS["clip"],
        items=_clip_items(linked, festival),
        options=[(c.id, c.label) for c in candidates],
        groups=[],
    )


def _session_section(
    linked: Sequence[LinkedSessionRef], candidates: list[LinkedSessionRef], festival: Festival
) -> Section:
    tz = festival.timezone
    by_day = groupby(candidates, key=lambda s: local(s.starts_at, tz).date())
    return Section(
        kind="session",
        heading=_PLURALS["session"],
        items=_session_items(linked, festival),
        options=[],
        groups=[
            (long_date(day), [(s.id, f"{clock(s.starts_at, tz)} {s.title}") for s in sessions])
            for day, sessions in by_day
        ],
    )


def _post_section(
    linked: list[LinkedPostRef], candidates: list[LinkedPostRef], festival: Festival
) -> Section:
    return Section(
        kind="post",
        heading=_PLURALS["post"],
        items=_post_items(linked, festival),
        options=[(p.id, f"{_post_when(p, festival)}: {p.title}") for p in candidates],
        groups=[],
    )


def _arrange(view: StaffLinksView) -> dict[str, Any]:
    """The template's context: the subject and a section per kind it links to."""
    festival, found = view.festival, view.candidates
    slug = festival.slug
    subject: Subject
    sections: list[Section]
    if isinstance(view.clip, ClipLinks):
        clip = view.clip
        subject = Subject(
            kind="clip",
            id=clip.clip.id,
            name=clip.clip.label,
            when="",
            base=_links_path(slug, "clip", clip.clip.id),
            back=("Clips", f"{_home(slug)}/clips"),
        )
        sections = [
            _session_section(clip.sessions, found.sessions, festival),
            _post_section(clip.posts, found.posts, festival),
        ]
    elif isinstance(view.session, SessionLinks):
        session = view.session
        subject = Subject(
            kind="session",
            id=session.session.id,
            name=session.session.title,
            when=_session_when(session.session, festival),
            base=_links_path(slug, "session", session.session.id),
            back=("Programme", _home(slug)),
        )
        sections = [
            _clip_section(session.clips, found.clips, festival),
            _post_section(session.posts, found.posts, festival),
        ]
    else:
        assert isinstance(view.post, PostLinks)
        post = view.post
        subject = Subject(
            kind="post",
            id=post.post.id,
            name=post.post.title,
            when=_post_when(post.post, festival),
            base=_links_path(slug, "post", post.post.id),
            back=("Blog posts", f"{_home(slug)}/posts"),
        )
        sections = [
            _clip_section(post.clips, found.clips, festival),
            _session_section(post.sessions, found.sessions, festival),
        ]
    return {"festival": festival, "subject": subject, "sections": sections}


# --- reading the forms --------------------------------------------------------------------------


def _other(form: Mapping[str, Any], kinds: tuple[Kind, Kind]) -> End:
    """The thing a form names to link or unlink: one ``<kind>_id`` field of ``kinds``."""
    for kind in kinds:
        field = f"{kind}_id"
        if field not in form:
            continue
        value = str(form.get(field) or "").strip()
        if not value:
            raise Invalid.field(field, f"Choose a {KIND_WORDS[kind]} to link")
        if not value.isascii() or not value.isdigit() or int(value) < 1:
            raise Invalid.field(field, f"Choose a {KIND_WORDS[kind]} from the list")
        return End(kind, int(value))
    raise BadRequest(
        "The form did not say what to link.",
        fix="Choose from one of the lists on this page and try again.",
    )


def _done(subject_path: str, key: str, anchor: str) -> Redirect:
    return Redirect(f"{subject_path}?{urlencode({'saved': key})}#{anchor}", status_code=303)


async def _page(
    request: AnyRequest,
    db: Database,
    slug: str,
    end: End,
    *,
    error: FestivalError | None = None,
    values: Mapping[str, str] | None = None,
) -> Template:
    view = error_view(error, LABELS) if error else None
    return Template(
        "staff/links/links.html",
        context={
            **_arrange(await service.staff_view(db, slug, end)),
            "error": view,
            "errors": view.fields if view else {},
            "values": dict(values or {}),
            "notice": SAVED.get(request.query_params.get("saved", "")),
        },
        status_code=error.status if error else 200,
        headers={"Cache-Control": "no-store"},
    )


_OTHERS: dict[Kind, tuple[Kind, Kind]] = {
    "clip": ("session", "post"),
    "session": ("clip", "post"),
    "post": ("clip", "session"),
}


async def _change(
    request: AnyRequest, db: Database, slug: str, end: End, *, adding: bool
) -> Response[Any]:
    """Add or remove the link a form names, then show the page again with what happened."""
    form = await request.form()
    try:
        other = _other(form, _OTHERS[end.kind])
        await (service.link if adding else service.unlink)(db, slug, end, other)
    except FestivalError as error:
        typed = {k: str(v) for k, v in form.items() if k != "_csrf_token"}
        return await _page(request, db, slug, end, error=error, values=typed)
    key = f"{other.kind}-{'linked' if adding else 'unlinked'}"
    return _done(_links_path(slug, end.kind, end.id), key, f"{other.kind}s")


# --- the controller ------------------------------------------------------------------------------


class StaffLinkPages(Controller):
    path = "/staff/festivals/{slug:str}"
    include_in_schema = False
    guards = [staff_only]
    exception_handlers = {Unauthorized: sign_in_first}

    @get("/clips/{clip_id:int}/links")
    async def clip_page(
        self, request: AnyRequest, db: DB, slug: FromPath[str], clip_id: FromPath[int]
    ) -> Template:
        return await _page(request, db, slug, End("clip", clip_id))

    @post("/clips/{clip_id:int}/links/add", status_code=303)
    async def add_to_clip(
        self, request: AnyRequest, db: DB, slug: FromPath[str], clip_id: FromPath[int]
    ) -> Response[Any]:
        return await _change(request, db, slug, End("clip", clip_id), adding=True)

    @post("/clips/{clip_id:int}/links/remove", status_code=303)
    async def remove_from_clip(
        self, request: AnyRequest, db: DB, slug: FromPath[str], clip_id: FromPath[int]
    ) -> Response[Any]:
        return await _change(request, db, slug, End("clip", clip_id), adding=False)

    @get("/sessions/{session_id:int}/links")
    async def session_page(
        self, request: AnyRequest, db: DB, slug: FromPath[str], session_id: FromPath[int]
    ) -> Template:
        return await _page(request, db, slug, End("session", session_id))

    @post("/sessions/{session_id:int}/links/add", status_code=303)
    async def add_to_session(
        self, request: AnyRequest, db: DB, slug: FromPath[str], session_id: FromPath[int]
    ) -> Response[Any]:
        return await _change(request, db, slug, End("session", session_id), adding=True)

    @post("/sessions/{session_id:int}/links/remove", status_code=303)
    async def remove_from_session(
        self, request: AnyRequest, db: DB, slug: FromPath[str], session_id: FromPath[int]
    ) -> Response[Any]:
        return await _change(request, db, slug, End("session", session_id), adding=False)

    @get("/posts/{post_id:int}/links")
    async def post_page(
        self, request: AnyRequest, db: DB, slug: FromPath[str], post_id: FromPath[int]
    ) -> Template:
        return await _page(request, db, slug, End("post", post_id))

    @post("/posts/{post_id:int}/links/add", status_code=303)
    async def add_to_post(
        self, request: AnyRequest, db: DB, slug: FromPath[str], post_id: FromPath[int]
    ) -> Response[Any]:
        return await _change(request, db, slug, End("post", post_id), adding=True)

    @post("/posts/{post_id:int}/links/remove", status_code=303)
    async def remove_from_post(
        self, request: AnyRequest, db: DB, slug: FromPath[str], post_id: FromPath[int]
    ) -> Response[Any]:
        return await _change(request, db, slug, End("post", post_id), adding=False)
