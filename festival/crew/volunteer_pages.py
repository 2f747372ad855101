"""The volunteer's phone pages (server-rendered)."""

from __future__ import annotations

from litestar import Controller


class VolunteerPages(Controller):
    path = "/"
    include_in_schema = False
