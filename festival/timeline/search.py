"""The full-text index of clips: titles, credits and transcripts.

Entries are kept in step by the code that changes what they hold: captions saved, a
title edited, a consent linked, changed or erased (the credit), a clip withdrawn or
deleted (the entry goes). Searches are always joined with the publication gate, so an
entry for a clip that is not public is never shown; entries still go at once on
withdrawal and erasure, because a name that was taken back must not stay searchable.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncConnection

from festival.clips import queries as clip_queries
from festival.consent import queries as consent_queries
from festival.timeline import queries

if TYPE_CHECKING:
    from festival.clips.service import ClipServices

REINDEX = "search-reindex"
#: Words longer than this are cut: nobody searches for them and they cost index time.
MAX_TERMS = 12
_WORD = re.compile(r"\w+", re.UNICODE)


def search_words(text: str) -> tuple[str, ...] | None:
    """The words of what someone typed, each to be found as a prefix.

    Only runs of letters and digits are kept, so full-text syntax typed by a visitor
    (AND, NEAR, quotes, column filters, ``&``, ``:*``) is searched for as plain words
    instead of failing or changing the query.
    """
    words = tuple(_WORD.findall(text.lower())[:MAX_TERMS])
    return words or None


async def index_clip(conn: AsyncConnection, clip_id: int, transcript: str | None = None) -> None:
    """Write the clip's entry; ``transcript`` replaces the indexed one when given."""
    from festival.clips.public_pages import public_volunteer_name
    from festival.consent.service import owners_credit

    clip = await clip_queries.clip_by_id(conn, clip_id)
    if clip is None or clip.withdrawn_at is not None:
        await queries.search_delete(conn, clip_id)
        return
    consents = (await consent_queries.consents_of_clips(conn, [clip_id]))[clip_id]
    credits = [owners_credit(consents)] if consents else []
    if clip.volunteer_id is not None:
        names = await queries.volunteer_names(conn, [clip.volunteer_id])
        credits.append(public_volunteer_name(names.get(clip.volunteer_id, "")))
    if transcript is None:
        transcript = await queries.search_entry(conn, clip_id) or ""
    await queries.search_put(conn, clip_id, clip.title, " ".join(credits), transcript)


async def index_clips(conn: AsyncConnection, clip_ids: list[int]) -> None:
    for clip_id in clip_ids:
        await index_clip(conn, clip_id)


async def unindex(conn: AsyncConnection, clip_id: int) -> None:
    await queries.search_delete(conn, clip_id)


async def needs_rebuild(conn: AsyncConnection) -> bool:
    return await queries.unindexed_clip_exists(conn)


async def reindex_all(services: ClipServices) -> int:
    """Rebuild every entry from the clips, their consents and their stored captions."""
    from media.captions import transcript

    async with services.db.read() as conn:
        clip_ids = await queries.clip_ids_to_index(conn)
    texts: dict[int, str] = {}
    for clip_id in clip_ids:
        async with services.db.read() as conn:
            clip = await clip_queries.clip_by_id(conn, clip_id)
        if clip is None or not clip.captions_key:
            continue
        if not await services.store.exists(clip.captions_key):
            continue
        data = b"".join([chunk async for chunk in services.store.read_range(clip.captions_key)])
        texts[clip_id] = "\n".join(transcript(data.decode()))
    async with services.db.write() as conn:
        await queries.search_clear(conn)
        for clip_id in clip_ids:
            await index_clip(conn, clip_id, texts.get(clip_id, ""))
    return len(clip_ids)
