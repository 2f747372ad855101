"""The links API: which sessions and blog posts a clip belongs with, from every side.

Each pair has an address under both of its ends, so a client holding a session can link a
clip to it without knowing the clip's side. PUT makes a link (again is harmless) and
answers with the links of the address's first thing; DELETE removes one.
"""

from __future__ import annotations

from litestar import Controller, delete, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from festival.auth import staff_only
from festival.db.engine import Database
from festival.links import service
from festival.links.schemas import ClipLinks, End, PostLinks, SessionLinks

DB = NamedDependency[Database]
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]

CLIP = "/clips/{clip_id:int}"
SESSION = "/sessions/{session_id:int}"
POST = "/posts/{post_id:int}"


class LinksController(Controller):
    """Links between a festival's clips, sessions and blog posts. Staff only."""

    path = "/api/v1/festivals/{slug:str}"
    tags = ["links"]
    guards = [staff_only]
    security = BEARER

    # a clip's links

    @get(CLIP + "/links", summary="A clip's sessions and blog posts")
    async def clip_links(self, db: DB, slug: FromPath[str], clip_id: FromPath[int]) -> ClipLinks:
        return await service.clip_links(db, slug, clip_id)

    @put(CLIP + SESSION, summary="Link a clip to a session")
    async def clip_session(
        self, db: DB, slug: FromPath[str], clip_id: FromPath[int], session_id: FromPath[int]
    ) -> ClipLinks:
        return await service.link_to_clip(db, slug, clip_id, End("session", session_id))

    @delete(CLIP + SESSION, summary="Unlink a clip from a session (a slot's link too)")
    async def unlink_clip_session(
        self, db: DB, slug: FromPath[str], clip_id: FromPath[int], session_id: FromPath[int]
    ) -> None:
        await service.unlink(db, slug, End("clip", clip_id), End("session", session_id))

    @put(CLIP + POST, summary="Link a clip to a blog post")
    async def clip_post(
        self, db: DB, slug: FromPath[str], clip_id: FromPath[int], post_id: FromPath[int]
    ) -> ClipLinks:
        return await service.link_to_clip(db, slug, clip_id, End("post", post_id))

    @delete(CLIP + POST, summary="Unlink a clip from a blog post")
    async def unlink_clip_post(
        self, db: DB, slug: FromPath[str], clip_id: FromPath[int], post_id: FromPath[int]
    ) -> None:
        await service.unlink(db, slug, End("clip", clip_id), End("post", post_id))

    # a session's links

    @get(SESSION + "/links", summary="A session's clips and blog posts")
    async def session_links(
        self, db: DB, slug: FromPath[str], session_id: FromPath[int]
    ) -> SessionLinks:
        return await service.session_links(db, slug, session_id)

    @put(SESSION + CLIP, summary="Link a session to a clip")
    async def session_clip(
        self, db: DB, slug: FromPath[str], session_id: FromPath[int], clip_id: FromPath[int]
    ) -> SessionLinks:
        return await service.link_to_session(db, slug, session_id, End("clip", clip_id))

    @delete(SESSION + CLIP, summary="Unlink a session from a clip (a slot's link too)")
    async def unlink_session_clip(
        self, db: DB, slug: FromPath[str], session_id: FromPath[int], clip_id: FromPath[int]
    ) -> None:
        await service.unlink(db, slug, End("session", session_id), End("clip", clip_id))

    @put(SESSION + POST, summary="Link a session to a blog post")
    async def session_post(
        self, db: DB, slug: FromPath[str], session_id: FromPath[int], post_id: FromPath[int]
    ) -> SessionLinks:
        return await service.link_to_session(db, slug, session_id, End("post", post_id))

    @delete(SESSION + POST, summary="Unlink a session from a blog post")
    async def unlink_session_post(
        self, db: DB, slug: FromPath[str], session_id: FromPath[int], post_id: FromPath[int]
    ) -> None:
        await service.unlink(db, slug, End("session", session_id), End("post", post_id))

    # a blog post's links

    @get(POST + "/links", summary="A blog post's clips and sessions")
    async def post_links(self, db: DB, slug: FromPath[str], post_id: FromPath[int]) -> PostLinks:
        return await service.post_links(db, slug, post_id)

    @put(POST + CLIP, summary="Link a blog post to a clip")
    async def post_clip(
        self, db: DB, slug: FromPath[str], post_id: FromPath[int], clip_id: FromPath[int]
    ) -> PostLinks:
        return await service.link_to_post(db, slug, post_id, End("clip", clip_id))

    @delete(POST + CLIP, summary="Unlink a blog post from a clip")
    async def unlink_post_clip(
        self, db: DB, slug: FromPath[str], post_id: FromPath[int], clip_id: FromPath[int]
    ) -> None:
        await service.unlink(db, slug, End("post", post_id), End("clip", clip_id))

    @put(POST + SESSION, summary="Link a blog post to a session")
    async def post_session(
        self, db: DB, slug: FromPath[str], post_id: FromPath[int], session_id: FromPath[int]
    ) -> PostLinks:
        return await service.link_to_post(db, slug, post_id, End("session", session_id))

    @delete(POST + SESSION, summary="Unlink a blog post from a session")
    async def unlink_post_session(
        self, db: DB, slug: FromPath[str], post_id: FromPath[int], session_id: FromPath[int]
    ) -> None:
        await service.unlink(db, slug, End("post", post_id), End("session", session_id))
