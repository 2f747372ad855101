"""The festival blog's posts as JSON: anyone may read them, staff add, change and import."""

from __future__ import annotations

import httpx
from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from festival.auth import staff_only
from festival.db.engine import Database
from festival.posts import service
from festival.posts.schemas import FeedImportIn, ImportReport, Post, PostIn, PostPatch

DB = NamedDependency[Database]
HTTP = NamedDependency[httpx.AsyncClient]
STAFF = [staff_only]
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


class PostsController(Controller):
    """Blog posts are public facts about the festival; changing them needs staff."""

    path = "/api/v1/festivals/{slug:str}/posts"
    tags = ["posts"]

    @get("", summary="The festival's blog posts, newest first")
    async def list_posts(self, db: DB, slug: FromPath[str]) -> list[Post]:
        return await service.list_posts(db, slug)

    @post("", summary="Add a blog post by hand", guards=STAFF, security=BEARER)
    async def create_post(self, db: DB, slug: FromPath[str], data: JSONBody[PostIn]) -> Post:
        return await service.create_post(db, slug, data)

    @post(
        "/import",
        summary="Import the blog's Atom or RSS feed",
        description="Adds new entries and updates changed ones, matched by entry id. "
        "A feed that cannot be fetched or read, or with an entry lacking a title or a "
        "date, is refused with 422 and nothing is stored.",
        status_code=200,
        guards=STAFF,
        security=BEARER,
    )
    async def import_feed(
        self, db: DB, http: HTTP, slug: FromPath[str], data: JSONBody[FeedImportIn]
    ) -> ImportReport:
        return await service.import_feed(db, http, slug, data)

    @get("/{post_id:int}", summary="One blog post")
    async def get_post(self, db: DB, slug: FromPath[str], post_id: FromPath[int]) -> Post:
        return await service.get_post(db, slug, post_id)

    @patch("/{post_id:int}", summary="Change a blog post", guards=STAFF, security=BEARER)
    async def update_post(
        self, db: DB, slug: FromPath[str], post_id: FromPath[int], data: JSONBody[PostPatch]
    ) -> Post:
        return await service.update_post(db, slug, post_id, data)

    @delete("/{post_id:int}", summary="Delete a blog post", guards=STAFF, security=BEARER)
    async def delete_post(self, db: DB, slug: FromPath[str], post_id: FromPath[int]) -> None:
        await service.delete_post(db, slug, post_id)
