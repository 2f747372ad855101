"""Two festivals with sessions, clips and blog posts to link, and a staff client.

Festivals, rooms, sessions and blog posts are made over the API as staff would. Clips are
rows written through festival's own database layer: linking needs them to exist, not to
have gone through an upload (the public page tests make real, published clips).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import AsyncTestClient

from festival.clips import queries as clip_queries
from festival.db.engine import Database
from festival.db.tables import clip_sessions

Client = AsyncTestClient[Litestar]
HERE = "here-fest"
THERE = "there-fest"


class Place:
    """One festival (today and the next two days, in UTC) with a room."""

    def __init__(self, client: Client, db: Database, staff: dict[str, str], slug: str) -> None:
        self.client = client
        self.db = db
        self.staff = staff
        self.slug = slug
        self.api = f"/api/v1/festivals/{slug}"
        self.id = 0
        self.room_id = 0
        self._made = 0

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(path, json=body, headers=self.staff)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    async def setup(self, name: str) -> Place:
        today = datetime.now(UTC).date()
        festival = await self._post(
            "/api/v1/festivals",
            {
                "slug": self.slug,
                "name": name,
                "starts_on": today.isoformat(),
                "ends_on": (today + timedelta(days=2)).isoformat(),
                "timezone": "UTC",
            },
        )
        self.id = festival["id"]
        venue = await self._post(f"{self.api}/venues", {"name": "Town Hall"})
        room = await self._post(f"{self.api}/rooms", {"venue_id": venue["id"], "name": "Studio"})
        self.room_id = room["id"]
        return self

    async def session(self, title: str, day: int = 0, hour: int = 10) -> int:
        """A published session ``day`` days after the first, at ``hour``:00 UTC."""
        start = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0)
        start += timedelta(days=day)
        made = await self._post(
            f"{self.api}/sessions",
            {
                "title": title,
                "kind": "talk",
                "room_id": self.room_id,
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=1)).isoformat(),
                "status": "published",
            },
        )
        return int(made["id"])

    async def clip(self, title: str) -> int:
        """A clip row as an upload leaves it, still being processed."""
        self._made += 1
        digest = hashlib.sha256(f"{self.slug}-{self._made}-{title}".encode()).hexdigest()
        async with self.db.write() as conn:
            return await clip_queries.insert_clip(
                conn,
                {
                    "festival_id": self.id,
                    "upload_id": f"test-{digest[:32]}",
                    "title": title,
                    "original_filename": "interview.mp4",
                    "content_type": "video/mp4",
                    "original_size": 1000,
                    "original_sha256": digest,
                    "state": "processing",
                },
            )

    async def post(
        self, title: str, *, day: int = 0, url: str = "", author: str = "The festival team"
    ) -> int:
        """A blog post added by hand through the posts API, ``day`` days after the start."""
        published = datetime.now(UTC).replace(hour=18, minute=0, second=0, microsecond=0)
        made = await self._post(
            f"{self.api}/posts",
            {
                "title": title,
                "published_at": (published + timedelta(days=day)).isoformat(),
                "author": author,
                "url": url,
            },
        )
        return int(made["id"])

    async def slot_link(self, clip_id: int, session_id: int) -> None:
        """The link a clip's interview slot makes, as the clip service records it."""
        async with self.db.write() as conn:
            await conn.execute(
                sa.insert(clip_sessions).values(
                    clip_id=clip_id, session_id=session_id, source="slot"
                )
            )
