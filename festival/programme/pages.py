"""Public programme pages (server-rendered): festivals, a festival's home, its programme
by day with filters, and one session's page."""

from __future__ import annotations

from litestar import Controller, MediaType, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from festival.db.engine import Database
from festival.links import service as link_service
from festival.programme import service, views

DB = NamedDependency[Database]


def _page(name: str, **context: object) -> Template:
    return Template(
        template_name=f"public/{name}.html",
        context={**views.TEMPLATE_HELPERS, **context},
        media_type=MediaType.HTML,
    )


class PublicPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/")
    async def festivals(self, db: DB) -> Template:
        return _page("festivals", festivals=await service.list_festivals(db))

    @get("/festivals/{slug:str}")
    async def festival(self, db: DB, slug: FromPath[str]) -> Template:
        return _page("festival", page=views.FestivalPage(await service.programme(db, slug)))

    @get("/festivals/{slug:str}/programme")
    async def programme(
        self,
        db: DB,
        slug: FromPath[str],
        day: FromQuery[str | None] = None,
        room: FromQuery[str | None] = None,
        track: FromQuery[str | None] = None,
    ) -> Template:
        programme = await service.programme(db, slug)
        page = views.programme_page(programme, day=day, room=room, track=track)
        return _page("programme", page=page)

    @get("/festivals/{slug:str}/sessions/{session_id:int}")
    async def session(self, db: DB, slug: FromPath[str], session_id: FromPath[int]) -> Template:
        page = views.session_page(await service.programme(db, slug), session_id)
        links = await link_service.session_public_links(db, page.festival.id, session_id)
        return _page("session", page=page, links=links)
