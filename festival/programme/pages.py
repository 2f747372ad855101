"""Public programme pages (server-rendered)."""

from __future__ import annotations

from litestar import Controller


class PublicPages(Controller):
    path = "/"
    include_in_schema = False
