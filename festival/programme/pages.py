"""Public programme pages (server-rendered): festivals, a festival's home, its programme
by day with filters, and one session's page."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from festival.db.engine import Database
from festival.links import service as link_service
from festival.programme import service, views
from festival.timeline.cache import Public, cached_page

DB = NamedDependency[Database]
PUBLIC = NamedDependency[Public]
AnyRequest = Request[Any, Any, Any]


def _context(**context: object) -> dict[str, Any]:
    return {**views.TEMPLATE_HELPERS, **context}


def _page(name: str, **context: object) -> Template:
    return Template(
        template_name=f"public/{name}.html", context=_context(**context), media_type=MediaType.HTML
    )


class PublicPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/")
    async def festivals(self, db: DB) -> Template:
        return _page("festivals", festivals=await service.list_festivals(db))

    @get("/festivals/{slug:str}")
    async def festival(
        self, request: AnyRequest, public: PUBLIC, slug: FromPath[str]
    ) -> Response[bytes]:
        async def context() -> dict[str, Any]:
            programme = await service.programme(public.db, slug)
            return _context(page=views.FestivalPage(programme))

        return await cached_page(request, public, "public/festival.html", context)

    @get("/festivals/{slug:str}/programme")
    async def programme(
        self,
        request: AnyRequest,
        public: PUBLIC,
        slug: FromPath[str],
        day: FromQuery[str | None] = None,
        room: FromQuery[str | None] = None,
        track: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        async def context() -> dict[str, Any]:
            programme = await service.programme(public.db, slug)
            page = views.programme_page(programme, day=day, room=room, track=track)
            return _context(page=page)

        return await cached_page(request, public, "public/programme.html", context)

    @get("/festivals/{slug:str}/sessions/{session_id:int}")
    async def session(
        self, request: AnyRequest, public: PUBLIC, slug: FromPath[str], session_id: FromPath[int]
    ) -> Response[bytes]:
        async def context() -> dict[str, Any]:
            page = views.session_page(await service.programme(public.db, slug), session_id)
            links = await link_service.session_public_links(public.db, page.festival.id, session_id)
            return _context(page=page, links=links)

        return await cached_page(request, public, "public/session.html", context)
