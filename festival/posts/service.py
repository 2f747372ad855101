"""Rules of the festival blog's posts: each belongs to one festival; imports are whole.

An import fetches and checks the entire feed before it opens a write transaction, and
writes every entry in that one transaction: a feed with one bad entry stores nothing,
and two imports at once cannot both add the same entry (the writer is serialised and the
entry id is unique per festival).

Importing again compares each entry with the post it made and updates the post where they
differ. For an imported post the blog is where its words live, so a change staff made here
is put back to the blog's words too (the table keeps no fingerprint of the entry that could
tell the two apart); staff pages say so beside the form.
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
from msgspec import UNSET
from sqlalchemy.ext.asyncio import AsyncConnection

from festival.db.engine import Database
from festival.errors import NotFound
from festival.posts import feed_import, queries
from festival.posts.feed_import import FeedEntry
from festival.posts.schemas import (
    FeedImportIn,
    ImportedPost,
    ImportReport,
    Outcome,
    Post,
    PostIn,
    PostPatch,
)
from festival.programme.schemas import Festival
from festival.programme.service import require_festival

_COMPARED = ("title", "author", "url", "summary", "published_at")


async def _post(conn: AsyncConnection, festival: Festival, post_id: int) -> Post:
    post = await queries.post_by_id(conn, festival.id, post_id)
    if post is None:
        raise NotFound(
            f"{festival.name} has no blog post {post_id}.",
            fix=f"List the posts at /api/v1/festivals/{festival.slug}/posts.",
        )
    return post


async def list_posts(db: Database, slug: str) -> list[Post]:
    """The festival's posts, newest first."""
    async with db.read() as conn:
        festival = await require_festival(conn, slug)
        return await queries.festival_posts(conn, festival.id)


async def get_post(db: Database, slug: str, post_id: int) -> Post:
    async with db.read() as conn:
        festival = await require_festival(conn, slug)
        return await _post(conn, festival, post_id)


async def create_post(db: Database, slug: str, data: PostIn) -> Post:
    async with db.write() as conn:
        festival = await require_festival(conn, slug)
        values = msgspec.structs.asdict(data)
        post_id = await queries.insert_post(conn, festival.id, {**values, "source": "staff"})
        return await _post(conn, festival, post_id)


async def update_post(db: Database, slug: str, post_id: int, patch: PostPatch) -> Post:
    async with db.write() as conn:
        festival = await require_festival(conn, slug)
        await _post(conn, festival, post_id)
        changes = {
            f: getattr(patch, f) for f in patch.__struct_fields__ if getattr(patch, f) is not UNSET
        }
        if changes:
            await queries.update_post(conn, post_id, changes)
        return await _post(conn, festival, post_id)


async def delete_post(db: Database, slug: str, post_id: int) -> None:
    async with db.write() as conn:
        festival = await require_festival(conn, slug)
        await _post(conn, festival, post_id)
        await queries.delete_post(conn, post_id)


async def latest_feed_url(db: Database, slug: str) -> str:
    """The feed this festival's posts were last imported from, to offer it again."""
    async with db.read() as conn:
        festival = await require_festival(conn, slug)
        return await queries.latest_feed_url(conn, festival.id)


def _entry_values(entry: FeedEntry) -> dict[str, Any]:
    return {f: getattr(entry, f) for f in _COMPARED}


async def import_feed(
    db: Database, http: httpx.AsyncClient, slug: str, data: FeedImportIn
) -> ImportReport:
    """Add the feed's new entries as posts and update the changed ones, all or nothing."""
    async with db.read() as conn:
        await require_festival(conn, slug)
    feed = await feed_import.read_feed(http, data.url)
    touched: list[tuple[Outcome, int]] = []
    unchanged = 0
    async with db.write() as conn:
        festival = await require_festival(conn, slug)
        stored = await queries.entries_by_id(conn, festival.id, (e.entry_id for e in feed.entries))
        for entry in feed.entries:
            values = _entry_values(entry)
            current = stored.get(entry.entry_id)
            if current is None:
                post_id = await queries.insert_post(
                    conn,
                    festival.id,
                    {**values, "entry_id": entry.entry_id, "feed_url": feed.url, "source": "feed"},
                )
                touched.append(("added", post_id))
            elif any(getattr(current, f) != values[f] for f in _COMPARED):
                await queries.update_post(conn, current.id, {**values, "feed_url": feed.url})
                touched.append(("updated", current.id))
            else:
                unchanged += 1
                if current.feed_url != feed.url:
                    # Same words from a new address (the blog moved): remember the address
                    # so the import form offers it next time, without calling it a change.
                    await queries.update_post(conn, current.id, {"feed_url": feed.url})
        posts = await queries.posts_by_ids(conn, (post_id for _, post_id in touched))
    return ImportReport(
        feed_url=feed.url,
        feed_title=feed.title,
        entries=len(feed.entries),
        added=sum(1 for outcome, _ in touched if outcome == "added"),
        updated=sum(1 for outcome, _ in touched if outcome == "updated"),
        unchanged=unchanged,
        posts=[ImportedPost(outcome=outcome, post=posts[post_id]) for outcome, post_id in touched],
    )
