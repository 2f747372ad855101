"""Load the demo festival, Co-production Week 2019, from the data file beside this module.

Everything goes through the programme service, so the demo obeys the same rules (no
clashes, dates within the festival) as anything staff would enter. Loading again finds
the festival already there and changes nothing.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from festival.db.engine import Database
from festival.errors import NotFound
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


def demo_data() -> dict[str, Any]:
    with DATA_FILE.open("rb") as handle:
        return tomllib.load(handle)


def _aware(value: datetime, zone: ZoneInfo) -> datetime:
    return value.replace(tzinfo=zone)


async def load_demo(db: Database) -> str:
    """Create the demo festival if it is not there yet; say what happened."""
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
    for session in data["sessions"]:
        await service.create_session(
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
    return (
        f"Loaded the demo festival {festival.name!r}: {len(data['sessions'])} sessions in "
        f"{len(rooms)} rooms. See /festivals/{festival.slug}."
    )
