"""Public programme pages and staff programme pages (server-rendered)."""

from __future__ import annotations

from litestar import Controller


class PublicPages(Controller):
    path = "/"
    include_in_schema = False


class StaffProgrammePages(Controller):
    path = "/staff"
    include_in_schema = False
