"""Staff pages for building the programme (server-rendered forms)."""

from __future__ import annotations

from litestar import Controller


class StaffProgrammePages(Controller):
    path = "/staff"
    include_in_schema = False
