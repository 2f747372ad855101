"""Staff pages for clips: everything volunteers have uploaded, and its state."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from festival.auth import identity_of, staff_only
from festival.clips import service
from festival.db.engine import Database
from festival.programme import service as programme


class StaffClipPages(Controller):
    path = "/staff/festivals/{slug:str}/clips"
    include_in_schema = False
    guards = [staff_only]

    @get("")
    async def list_clips(
        self, request: Request[Any, Any, Any], db: NamedDependency[Database], slug: FromPath[str]
    ) -> Template:
        festival = await programme.get_festival(db, slug)
        lines = await service.festival_clips(db, identity_of(request), slug)
        return Template(
            "staff/clips/list.html",
            context={"festival": festival, "lines": lines},
            headers={"Cache-Control": "no-store"},
        )
