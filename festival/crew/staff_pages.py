"""Staff pages for the crew: volunteers, slots, coverage and proposals (server-rendered)."""

from __future__ import annotations

from litestar import Controller


class StaffCrewPages(Controller):
    path = "/staff/festivals/{slug:str}"
    include_in_schema = False
