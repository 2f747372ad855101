"""The public timeline: ``/festivals/{slug}/timeline`` (HTML) and its JSON twin."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, MediaType, Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from festival.caching import PUBLIC_REVALIDATE, conditional
from festival.db.engine import Database
from festival.errors import BadRequest, Invalid
from festival.settings import Settings
from festival.timeline import service
from festival.timeline.cache import Public, cached_page
from festival.timeline.schemas import TimelinePage

PUBLIC = NamedDependency[Public]
AnyRequest = Request[Any, Any, Any]


def _params(request: AnyRequest) -> dict[str, str]:
    """Query parameters, refusing a name given twice (which value would be meant?)."""
    params: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in params:
            raise BadRequest(
                f"The parameter {name[:40]!r} is given more than once.",
                fix="Give each filter once.",
            )
        params[name] = value
    return params


async def _page(
    db: Database, settings: Settings, slug: str, params: dict[str, str], path: str
) -> TimelinePage:
    filters = service.parse_filters(params)
    return await service.timeline(
        db,
        slug,
        filters=filters,
        cursor=params.get("cursor") or None,
        limit=service.parse_limit(params.get("limit")),
        base_url=settings.base_url,
        path=path,
    )


_PROBLEM = ResponseSpec(data_container=dict[str, Any], media_type="application/problem+json")


class TimelineController(Controller):
    path = "/api/v1/festivals/{slug:str}/timeline"
    tags = ["timeline"]

    @get(
        "/",
        summary="Published interviews in time order, grouped by day",
        description=(
            "Only interviews whose people consented to the timeline and that staff "
            "published. Follow `next_url` (or pass `next_cursor` as `cursor`) for the next "
            "page. Answers 304 to a matching If-None-Match."
        ),
        responses={
            200: ResponseSpec(data_container=TimelinePage, description="One page"),
            304: ResponseSpec(data_container=None, description="Not modified"),
            400: _PROBLEM,
            404: _PROBLEM,
            422: _PROBLEM,
        },
    )
    async def timeline(
        self,
        request: AnyRequest,
        public: PUBLIC,
        slug: FromPath[str],
        day: FromQuery[str | None] = None,
        session: FromQuery[str | None] = None,
        track: FromQuery[str | None] = None,
        post: FromQuery[str | None] = None,
        q: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        # The named parameters document the API; the checks read every parameter given,
        # so an unknown or repeated one is refused by name.
        params = _params(request)
        path = f"/api/v1/festivals/{slug}/timeline"

        async def build() -> bytes:
            return msgspec.json.encode(await _page(public.db, public.settings, slug, params, path))

        etag, body = await public.cache.get(f"{path}?{request.url.query}", build)
        return conditional(request, body, MediaType.JSON, etag=etag)


class TimelinePages(Controller):
    path = "/festivals/{slug:str}/timeline"
    include_in_schema = False

    @get("/")
    async def timeline(
        self, request: AnyRequest, public: PUBLIC, slug: FromPath[str]
    ) -> Response[Any]:
        params: dict[str, str] = {}
        path = f"/festivals/{slug}/timeline"

        async def context(problem: Invalid | None = None) -> dict[str, Any]:
            festival, choices = await service.choices(public.db, slug)
            page = None
            if problem is None:
                page = await _page(public.db, public.settings, slug, params, path)
            return {
                "festival": festival,
                "page": page,
                "problem": problem,
                "choices": choices,
                "params": params,
                "section": "timeline",
            }

        try:
            # Empty fields are what a form sends for "all": not filters.
            params = {k: v for k, v in _params(request).items() if v != ""}
            return await cached_page(request, public, "public/timeline.html", context)
        except Invalid as error:
            # Show the filters again with the problem above them, not a bare error page.
            return Template(
                "public/timeline.html",
                context=await context(error),
                status_code=error.status,
                headers={"Cache-Control": PUBLIC_REVALIDATE},
            )
