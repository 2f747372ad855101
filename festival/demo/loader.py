"""Load the demo festival, Co-production Week 2019, from the data file beside this module.

Everything goes through the programme service, so the demo obeys the same rules (no
clashes, dates within the festival) as anything staff would enter. Loading again finds
the festival already there and changes nothing.
"""

from __future__ import annotations

import asyncio
import tempfile
import tomllib
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from festival.accounts.schemas import Identity
from festival.clips import service as clip_service
from festival.clips.service import ClipServices
from festival.consent import service as consent_service
from festival.consent.schemas import ConsentIn
from festival.crew import service as crew
from festival.crew.schemas import (
    AssignIn,
    AvailabilityIn,
    BulkSlotsIn,
    InviteIn,
    ProfileIn,
    TrainingIn,
    Window,
)
from festival.db.engine import Database
from festival.demo.media import make_demo_clip
from festival.errors import FestivalError, NotFound
from festival.links import service as links
from festival.links.schemas import End
from festival.posts import service as post_service
from festival.posts.schemas import PostIn
from festival.programme import service
from festival.programme.schemas import (
    CoProducerIn,
    FestivalIn,
    PersonIn,
    RoomIn,
    SessionIn,
    VenueIn,
)

DATA_FILE = Path(__file__).with_name("coproduction_week_2019.toml")
#: Links made while loading (invites, consent review) are never shown, so any base will do.
DEMO_BASE = "http://127.0.0.1:8000"


def demo_data() -> dict[str, Any]:
    with DATA_FILE.open("rb") as handle:
        return tomllib.load(handle)


def _aware(value: datetime, zone: ZoneInfo) -> datetime:
    return value.replace(tzinfo=zone)


async def load_demo(db: Database, clips: ClipServices | None = None) -> str:
    """Create the demo festival if it is not there yet; say what happened.

    With ``clips`` (the media store and job queue) it also makes a few generated
    interview clips, processes them and captions them.
    """
    data = demo_data()
    info = data["festival"]
    try:
        existing = await service.get_festival(db, info["slug"])
    except NotFound:
        existing = None
    if existing is not None:
        return f"The demo festival {existing.name!r} is already loaded."

    festival = await service.create_festival(db, FestivalIn(**info))
    zone = ZoneInfo(festival.timezone)
    rooms: dict[str, int] = {}
    for venue in data["venues"]:
        created = await service.create_venue(
            db,
            festival.slug,
            VenueIn(
                name=venue["name"],
                address=venue.get("address", ""),
                online=venue.get("online", False),
                directions=venue.get("directions", ""),
            ),
        )
        for room in venue.get("rooms", []):
            values = {k: v for k, v in room.items() if k != "key"}
            made = await service.create_room(
                db, festival.slug, RoomIn(venue_id=created.id, **values)
            )
            rooms[room["key"]] = made.id
    people: dict[str, int] = {}
    for person in data["people"]:
        made_person = await service.create_person(
            db,
            festival.slug,
            PersonIn(name=person["name"], organisation=person.get("organisation", "")),
        )
        people[person["key"]] = made_person.id
    sessions: dict[str, int] = {}
    for session in data["sessions"]:
        made_session = await service.create_session(
            db,
            festival.slug,
            SessionIn(
                title=session["title"],
                kind=session["kind"],
                room_id=rooms[session["room"]],
                starts_at=_aware(session["starts_at"], zone),
                ends_at=_aware(session["ends_at"], zone),
                summary=session.get("summary", ""),
                track=session.get("track", ""),
                language=session.get("language", "en"),
                access_notes=session.get("access_notes", ""),
                do_not_film=session.get("do_not_film", False),
                status=session.get("status", "published"),
                co_producers=[
                    CoProducerIn(person_id=people[c["person"]], role=c["role"])
                    for c in session.get("co_producers", [])
                ],
            ),
        )
        sessions[session["key"]] = made_session.id
    post_count = await _load_posts(db, festival.slug, zone, data, sessions)
    placed = await _load_crew(db, festival.slug, zone, data.get("volunteers", []))
    clip_count = 0
    if clips is not None:
        clip_count = await _load_clips(clips, festival.slug, data, sessions)
    return (
        f"Loaded the demo festival {festival.name!r}: {len(data['sessions'])} sessions in "
        f"{len(rooms)} rooms, {post_count} blog posts, "
        f"{len(data.get('volunteers', []))} volunteers with {placed} "
        f"interview places filled, {clip_count} interview clips. See /festivals/{festival.slug}."
    )


def _authors(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


async def _load_posts(
    db: Database, slug: str, zone: ZoneInfo, data: dict[str, Any], sessions: dict[str, int]
) -> int:
    """The blog's posts (the seed gives no addresses, so none are invented) and the
    sessions each one is about."""
    posts: dict[str, int] = {}
    for entry in data.get("posts", []):
        made = await post_service.create_post(
            db,
            slug,
            PostIn(
                title=entry["title"],
                author=_authors(entry["authors"]),
                published_at=datetime.combine(entry["published"], time(12), zone),
                summary=entry.get("summary", ""),
            ),
        )
        posts[entry["key"]] = made.id
    for session in data["sessions"]:
        for key in session.get("posts", []):
            await links.link(
                db,
                slug,
                End(kind="session", id=sessions[session["key"]]),
                End(kind="post", id=posts[key]),
            )
    return len(posts)


async def _load_clips(
    clips: ClipServices, slug: str, data: dict[str, Any], sessions: dict[str, int]
) -> int:
    """Generated clips filmed at the slot after their session, by whoever holds it."""
    festival = await service.get_festival(clips.db, slug)
    made: list[tuple[int, list[str]]] = []
    with tempfile.TemporaryDirectory() as folder:
        for n, entry in enumerate(data.get("clips", [])):
            session_id = sessions[entry["session"]]
            slot = next(
                (s for s in await crew.list_slots(clips.db, slug, session_id=session_id)), None
            )
            holder = slot.live[0].volunteer_id if slot and slot.live else None
            path = await asyncio.to_thread(
                make_demo_clip,
                Path(folder) / f"interview-{n + 1}.mp4",
                entry["title"],
                colour=tuple(entry.get("colour", (29, 112, 184))),
            )
            clip_id = await clip_service.import_file(
                clips,
                path,
                festival_id=festival.id,
                volunteer_id=holder,
                slot_id=slot.id if slot else None,
                title=entry["title"],
            )
            made.append((clip_id, entry.get("captions", [])))
    await clips.jobs.run_until_idle()
    team = Identity(kind="staff")
    for (clip_id, lines), entry in zip(made, data.get("clips", []), strict=True):
        if lines:
            await clip_service.save_captions(clips, clip_id, _captions(lines).encode())
        # The people in the demo interviews are invented; each agreed, in the story the
        # demo tells, to the timeline and the blog, and watched and approved their clip.
        created = await consent_service.record_consent(
            clips.db,
            team,
            slug,
            ConsentIn(
                scopes=["timeline", "blog"],
                credit="chosen" if entry.get("credit") else "anonymous",
                display_name=entry.get("credit", ""),
                form_version=consent_service.form().version,
                licence=entry.get("licence", "CC-BY-NC-4.0"),
                clip_id=clip_id,
            ),
            DEMO_BASE,
        )
        await consent_service.approve(clips.db, created.review_url.rsplit("/", 1)[1])
        await consent_service.publish(clips.db, team, slug, clip_id)
        # Each interview shows the blog posts about the session it was filmed after.
        session_id = sessions[entry["session"]]
        for post in (await links.session_links(clips.db, slug, session_id)).posts:
            await links.link(
                clips.db, slug, End(kind="clip", id=clip_id), End(kind="post", id=post.id)
            )
    return len(made)


def _captions(lines: list[str]) -> str:
    """WebVTT with the lines spread evenly over the first six seconds."""
    step = 6.0 / max(1, len(lines))
    cues = [
        f"{_clock(n * step)} --> {_clock((n + 1) * step - 0.1)}\n{line}"
        for n, line in enumerate(lines)
    ]
    return "WEBVTT\n\n" + "\n\n".join(cues) + "\n"


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"00:{int(minutes):02d}:{rest:06.3f}"


async def _load_crew(db: Database, slug: str, zone: ZoneInfo, people: list[dict[str, Any]]) -> int:
    """Volunteers, their training and free times, a slot after every filmable session,
    and places given out in turn under the same rules staff work by."""
    base = DEMO_BASE  # invite links are not shown; only the accounts matter
    volunteer_ids = []
    for person in people:
        invitation = await crew.invite(
            db, slug, InviteIn(email=person["email"], name=person["name"]), base
        )
        volunteer_id = invitation.volunteer.id
        volunteer_ids.append(volunteer_id)
        if person.get("pronouns"):
            await crew.update_profile(
                db,
                Identity(kind="volunteer", id=volunteer_id),
                ProfileIn(pronouns=person["pronouns"]),
            )
        if "trained_on" in person:
            await crew.add_training(
                db,
                slug,
                volunteer_id,
                TrainingIn(trained_on=person["trained_on"], trainer=person["trainer"]),
            )
        windows = [
            Window(starts_at=_aware(start, zone), ends_at=_aware(end, zone))
            for start, end in person.get("free", [])
        ]
        await crew.set_availability_for(db, slug, volunteer_id, AvailabilityIn(windows=windows))
    await crew.bulk_slots(db, slug, BulkSlotsIn(position="after", minutes=15, apply=True))
    placed = 0
    turn = 0
    for slot in await crew.list_slots(db, slug):
        for _ in range(len(volunteer_ids)):
            volunteer_id = volunteer_ids[turn % len(volunteer_ids)]
            turn += 1
            try:
                await crew.assign(db, slug, slot.id, AssignIn(volunteer_id=volunteer_id))
            except FestivalError:
                continue
            placed += 1
            break
    return placed
