"""Load-test interviews: ``festival demo --synthetic-clips N``.

Adds N published interviews with made-up titles, credits and transcripts, spread over
the festival's days and linked to its sessions. They all play one generated video,
kept once under :data:`SHARED_PREFIX`, so a hundred thousand of them cost one file.
Each has its own consent (timeline and blog, approved), as a real one would, so the
publication gate treats them exactly like real interviews.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import tempfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from festival.clips.service import ClipServices
from festival.consent import queries as consent_queries
from festival.consent import service as consent_service
from festival.demo import queries
from festival.demo.media import make_demo_clip
from festival.programme import service as programme
from media.posters import make_poster
from media.probe import probe
from media.renditions import make_web_rendition

#: Media shared by load-test clips: it belongs to none of them, so taking one down
#: never deletes it (see :func:`festival.consent.service.purge_media`).
SHARED_PREFIX = "shared/synthetic"
BATCH = 2000

_TOPICS = [
    "peer support",
    "recovery college",
    "commissioning",
    "housing",
    "carers",
    "social work",
    "mental health",
    "learning disability",
    "accessibility",
    "research",
    "young people",
    "budgets",
    "advocacy",
    "co-design",
    "training",
    "equal partners",
]
_OPENINGS = [
    "What I learnt about",
    "Why I care about",
    "My first time talking about",
    "Sharing power in",
    "What changed for me in",
    "Listening better in",
]
_NAMES = [
    "Alex",
    "Bea",
    "Chidi",
    "Dana",
    "Eli",
    "Fatima",
    "Gus",
    "Hana",
    "Idris",
    "Jo",
    "Kemi",
    "Lior",
    "Mo",
    "Nia",
    "Olu",
    "Pat",
    "Quinn",
    "Ravi",
    "Sol",
    "Tam",
]
_SENTENCES = [
    "We planned it together from the very first meeting.",
    "Nobody had asked me before, and now they ask me first.",
    "It took time to trust each other, and that time mattered.",
    "The best ideas came from people who use the services.",
    "Paying people for their time showed we meant it.",
    "Plain words made the room open to everyone.",
]


async def _shared_media(services: ClipServices) -> dict[str, Any]:
    """Make the one video, poster, thumbnail and captions (once) and describe them."""
    keys = {
        "rendition_key": f"{SHARED_PREFIX}/web.mp4",
        "poster_key": f"{SHARED_PREFIX}/poster.jpg",
        "thumb_key": f"{SHARED_PREFIX}/thumb.jpg",
        "captions_key": f"{SHARED_PREFIX}/captions.vtt",
    }
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        source = await asyncio.to_thread(
            make_demo_clip, work / "source.mp4", "A synthetic interview", seconds=4.0
        )
        info = await asyncio.to_thread(probe, source)
        if not await services.store.exists(keys["rendition_key"]):
            await asyncio.to_thread(
                make_poster, source, work / "poster.jpg", work / "thumb.jpg", probed=info
            )
            await asyncio.to_thread(make_web_rendition, source, work / "web.mp4", probed=info)
            (work / "captions.vtt").write_text(
                "WEBVTT\n\n00:00:00.000 --> 00:00:03.500\nA synthetic interview for load tests.\n"
            )
            for name, key in (
                ("poster.jpg", keys["poster_key"]),
                ("thumb.jpg", keys["thumb_key"]),
                ("captions.vtt", keys["captions_key"]),
                ("web.mp4", keys["rendition_key"]),  # last: its presence means all are there
            ):
                await services.store.put_file(key, work / name, move=True)
        size = await services.store.size(keys["rendition_key"])
    return {
        **keys,
        "rendition_size": size,
        "duration": info.duration,
        "width": info.width,
        "height": info.height,
        "video_codec": "h264",
        "audio_codec": "aac",
    }


async def add_synthetic_clips(
    services: ClipServices, slug: str, count: int, *, seed: int = 2019
) -> int:
    """Add ``count`` published load-test interviews to festival ``slug``."""
    if count <= 0:
        return 0
    media = await _shared_media(services)
    festival = await programme.get_festival(services.db, slug)
    zone = ZoneInfo(festival.timezone)
    days = festival.days
    chance = random.Random(seed)  # the same data every run, so benchmarks compare
    form = consent_service.form()
    now = datetime.now(UTC)
    async with services.db.read() as conn:
        filmable = await queries.filmable_sessions(conn, festival.id)
    # Each interview links to a session of its own day, as one filmed there would.
    by_day: dict[date, list[int]] = {}
    for session_id, starts_at in filmable:
        by_day.setdefault(starts_at.astimezone(zone).date(), []).append(session_id)
    run = secrets.token_hex(6)  # upload ids stay unique when the command runs again
    made = 0
    while made < count:
        size = min(BATCH, count - made)
        clip_rows: list[dict[str, Any]] = []
        consent_rows: list[dict[str, Any]] = []
        words: list[tuple[str, str, str]] = []
        session_of: list[int | None] = []
        for n in range(made, made + size):
            day = days[n % len(days)]
            moment = datetime.combine(day, time(9), zone) + timedelta(
                seconds=chance.randrange(8 * 3600)
            )
            topic = chance.choice(_TOPICS)
            title = f"{chance.choice(_OPENINGS)} {topic} ({n + 1})"
            name = f"{chance.choice(_NAMES)} {chance.choice(_NAMES)[0]}."
            said = " ".join(chance.sample(_SENTENCES, 3)) + f" It was about {topic}."
            words.append((title, name, said))
            choices = by_day.get(day, [])
            session_of.append(chance.choice(choices) if choices else None)
            clip_rows.append(
                {
                    **media,
                    "festival_id": festival.id,
                    "upload_id": f"synthetic-{run}-{n}",
                    "title": title,
                    "original_filename": "synthetic.mp4",
                    "content_type": "video/mp4",
                    "original_key": None,
                    "original_size": 0,
                    "original_sha256": "",
                    "state": "ready",
                    "recorded_at": moment.astimezone(UTC),
                    "timeline_at": moment.astimezone(UTC),
                    "published_at": now,
                }
            )
            consent_rows.append(
                {
                    "festival_id": festival.id,
                    "form_version": form.version,
                    "form_variant": "plain",
                    "form_text": form.text("plain"),
                    "display_name": name,
                    "credit": "chosen",
                    "scope_timeline": True,
                    "scope_blog": True,
                    "licence": "CC-BY-NC-4.0",
                    "method": "ticked",
                    "given_at": now,
                    "approved_at": now,
                }
            )
        async with services.db.write() as conn:
            clip_ids = await queries.insert_clips(conn, clip_rows)
            consent_ids = await queries.insert_consents(conn, consent_rows)
            await queries.insert_links(
                conn,
                [
                    {"clip_id": c, "consent_id": k, "linked_at": now}
                    for c, k in zip(clip_ids, consent_ids, strict=True)
                ],
                [
                    {"clip_id": c, "session_id": s, "source": "staff"}
                    for c, s in zip(clip_ids, session_of, strict=True)
                    if s is not None
                ],
            )
            await queries.insert_search_entries(
                conn,
                [
                    {"id": c, "title": t, "credits": who, "transcript": said}
                    for c, (t, who, said) in zip(clip_ids, words, strict=True)
                ],
            )
            await consent_queries.record(
                conn,
                actor="system",
                action="synthetic-clips-added",
                festival_id=festival.id,
                detail={"count": size, "first": clip_ids[0], "last": clip_ids[-1]},
                at=now,
            )
        made += size
    return made
