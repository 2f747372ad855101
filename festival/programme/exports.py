"""The public programme as iCalendar, frab schedule XML and frab schedule JSON.

Three pure functions turn a :class:`Programme` into bytes. They read no files, make no
requests and use no clock: the same programme and base URL always give the same bytes,
so calendar and schedule apps see a change only when the programme really changed.

Choices the formats leave open, made once here for all three:

* Sessions appear in the festival's own time zone. A session belongs to the day on
  which it starts, locally, even when it runs past midnight.
* Drafts never leave the building: the caller should pass only published and cancelled
  sessions, and any draft that slips through is dropped here as well.
* A cancelled session stays in every export, so that people who saved it learn that it
  is off. iCalendar has a status for that (``STATUS:CANCELLED``). The frab formats have
  none, so there the title starts with ``Cancelled:`` and the subtitle says
  ``Cancelled``; the calendar's summary carries the same prefix so that calendar apps
  which ignore the status still tell people.
* Text is cleaned of control characters that XML 1.0 and RFC 5545 cannot carry; all
  escaping is left to the libraries that write each format.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar
import msgspec
from lxml import etree

from festival.programme.schemas import Programme, Room, Session, Venue

__all__ = ["to_frab_json", "to_frab_xml", "to_ical"]

GENERATOR = "festival"
PRODID = "-//Festival//Co-production festival programme//EN"
FRAB_JSON_SCHEMA = "https://c3voc.de/schedule/schema.json"
TIMESLOT = "00:05"
"""Grid step offered to schedule apps, as pretalx offers; apps still place odd minutes."""

CANCELLED_PREFIX = "Cancelled: "
CANCELLED_SUBTITLE = "Cancelled"
DO_NOT_FILM = "Do not film: please do not film, photograph or record this session."

GUID_NAMESPACE = uuid.UUID("6f0c43a2-5b8e-4c1d-9a57-1f3e2d8b7c40")
"""Namespace for the frab GUIDs. Changing it would make every app see new events."""

# Characters XML 1.0 cannot hold and RFC 5545 TEXT must not contain.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
# The frab JSON schema's pattern for time_zone_name, copied so we never write a
# zone name that fails it (the key is optional, so such a zone is simply left out).
_JSON_ZONE_NAME = re.compile(r"^([A-Z][a-z]+/[A-Z][a-z]+)|UTC$")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


# --- shared facts -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Site:
    """Where the public pages live, derived once from the configured base URL."""

    base: str
    host: str
    slug: str

    @property
    def home(self) -> str:
        return f"{self.base}/festivals/{self.slug}"

    def session_url(self, session: Session) -> str:
        return f"{self.home}/sessions/{session.id}"

    def uid(self, session: Session) -> str:
        """The session's iCalendar UID; the frab GUID is derived from it too."""
        return f"session-{session.id}@{self.host}"

    def guid(self, session: Session) -> str:
        return str(uuid.uuid5(GUID_NAMESPACE, self.uid(session)))

    def room_guid(self, room: Room) -> str:
        return str(uuid.uuid5(GUID_NAMESPACE, f"room-{room.id}@{self.host}"))


def _site(programme: Programme, base_url: str) -> _Site:
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"base_url must be an http(s) address, not {base_url!r}")
    return _Site(
        base=base_url.strip().rstrip("/"), host=parts.hostname, slug=programme.festival.slug
    )


def _clean(text: str) -> str:
    """Plain text safe for every format: one kind of newline, no control characters."""
    return _UNSAFE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _one_line(text: str) -> str:
    """Join the non-empty lines of a multi-line text (such as an address) with commas."""
    lines = (line.strip() for line in _clean(text).split("\n"))
    return ", ".join(line for line in lines if line)


def _public(sessions: Iterable[Session]) -> list[Session]:
    """Published and cancelled sessions in a fixed order, whatever order they came in."""
    kept = (s for s in sessions if s.status != "draft")
    return sorted(kept, key=lambda s: (s.starts_at, s.ends_at, s.room.id, s.id))


def _title(session: Session) -> str:
    title = _clean(session.title)
    return CANCELLED_PREFIX + title if session.cancelled else title


def _access(session: Session) -> str:
    """Access features and notes of the room, then the session's own access notes."""
    room = session.room
    parts: list[str] = []
    if room.access_features:
        parts.append("Access: " + ", ".join(room.access_features) + ".")
    for notes in (room.access_notes, session.access_notes):
        if notes.strip():
            parts.append(_clean(notes).strip())
    return "\n".join(parts)


def _details(session: Session, *, with_summary: bool) -> str:
    """The long description: summary, co-producers, access, join link, filming.

    The frab formats keep the summary in their own ``abstract`` field, so they ask for
    the description without it and apps do not show it twice.
    """
    blocks: list[str] = []
    if with_summary and session.summary.strip():
        blocks.append(_clean(session.summary).strip())
    if session.co_producers:
        lines = ["Co-produced by:"]
        for person in session.co_producers:
            who = _clean(person.name)
            if person.organisation.strip():
                who += f", {_clean(person.organisation).strip()}"
            lines.append(f"- {who} ({person.role_label})")
        blocks.append("\n".join(lines))
    access = _access(session)
    if access:
        blocks.append(access)
    if session.do_not_film:
        blocks.append(DO_NOT_FILM)
    join = _join_url(session)
    if join:
        blocks.append(f"Join online: {join}")
    return "\n\n".join(blocks)


def _join_url(session: Session) -> str:
    room = session.room
    return _clean(room.join_url).strip() if room.online else ""


def _location(session: Session, venues: dict[int, Venue]) -> str:
    room = session.room
    location = _one_line(room.label)
    venue = venues.get(room.venue_id)
    address = _one_line(venue.address) if venue is not None else ""
    return f"{location}, {address}" if address else location


def _local_days(programme: Programme, sessions: Sequence[Session], zone: ZoneInfo) -> list[date]:
    """Every date from the festival's first day (or earliest session) to its last.

    Days stay contiguous, because schedule apps number and page through them in order.
    """
    festival = programme.festival
    starts = [s.starts_at.astimezone(zone).date() for s in sessions]
    first = min([festival.starts_on, *starts])
    last = max([first, festival.ends_on, *starts])
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _rooms(programme: Programme, sessions: Sequence[Session]) -> list[Room]:
    """Rooms that host at least one exported session, in the programme's own order.

    Every day lists all of them, even when a room is empty that day, so that apps
    keep the same columns from day to day. Rooms with nothing public are left out.
    """
    used = {s.room.id: s.room for s in sessions}
    known = [room for room in programme.rooms if room.id in used]
    known_ids = {room.id for room in known}
    strays = [used[room_id] for room_id in sorted(used) if room_id not in known_ids]
    return known + strays


def _room_names(rooms: Sequence[Room]) -> dict[int, str]:
    """One distinct public name per room: ``Room, Venue``, with the id if names clash."""
    labels = [_one_line(room.label) for room in rooms]
    return {
        room.id: label if labels.count(label) == 1 else f"{label} (room {room.id})"
        for room, label in zip(rooms, labels, strict=True)
    }


def _acronym(slug: str) -> str:
    """The festival slug as a frab acronym.

    The JSON schema allows no hyphen in the acronym (``coproduction-week-2019`` fails it)
    and wants four characters at least, so hyphens become underscores and a short slug
    is padded. The XML uses the same acronym so the two files agree.
    """
    return slug.replace("-", "_").ljust(4, "_")


def _slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")[:60].strip("-")


def _event_slug(acronym: str, session: Session) -> str:
    """``{acronym}-{id}-{title}``: unique by id, and valid for both frab schemas."""
    words = _slugify(session.title)
    if len(words) < 2:
        words = "session"
    return f"{acronym}-{session.id}-{words}"


def _hhmm(minutes: int) -> str:
    """Hours and minutes, as frab writes durations. The XSD allows two hour digits."""
    minutes = min(max(minutes, 0), 99 * 60 + 59)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def _version(programme: Programme, base_url: str) -> str:
    """A schedule version that changes whenever anything in the export could.

    Apps such as EventFahrplan compare versions to tell people about changes. The time
    of the latest edit reads well; the digest also catches deletions, which leave no
    newer timestamp behind.
    """
    stamps = [programme.festival.updated_at, *(s.updated_at for s in programme.sessions)]
    latest = max(stamps).astimezone(UTC)
    # Sessions are exported in time order whatever order they came in; hash them so too.
    canonical = msgspec.structs.replace(
        programme, sessions=sorted(programme.sessions, key=lambda s: s.id)
    )
    digest = hashlib.sha256(base_url.encode() + b"\n" + msgspec.json.encode(canonical))
    return f"{latest:%Y-%m-%dT%H:%M:%SZ} {digest.hexdigest()[:8]}"


@dataclass(frozen=True, slots=True)
class _Day:
    index: int
    date: date
    start: datetime
    end: datetime
    sessions: list[Session]


def _days(programme: Programme, sessions: Sequence[Session], zone: ZoneInfo) -> list[_Day]:
    """Group sessions by local start date; a day ends at midnight or its last session."""
    days: list[_Day] = []
    for index, day in enumerate(_local_days(programme, sessions, zone), start=1):
        on_day = [s for s in sessions if s.starts_at.astimezone(zone).date() == day]
        start = datetime.combine(day, time(0), tzinfo=zone)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        end = max([end, *(s.ends_at.astimezone(zone) for s in on_day)])
        days.append(_Day(index=index, date=day, start=start, end=end, sessions=on_day))
    return days


@dataclass(frozen=True, slots=True)
class _Event:
    """The facts one frab event carries, shared by the XML and the JSON."""

    id: int
    guid: str
    date: str
    end: str
    start: str
    duration: str
    room: str
    slug: str
    url: str
    title: str
    subtitle: str
    track: str
    type: str
    language: str
    abstract: str
    description: str
    do_not_record: bool
    persons: list[tuple[int, str]]
    links: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class _Schedule:
    version: str
    url: str
    home: str
    base_url: str
    acronym: str
    title: str
    description: str
    start: date
    end: date
    zone_name: str
    tracks: list[str]
    rooms: list[Room]
    room_names: dict[int, str]
    room_guids: dict[int, str]
    days: list[_Day]
    events: dict[int, _Event]


def _schedule(programme: Programme, base_url: str, document: str) -> _Schedule:
    site = _site(programme, base_url)
    festival = programme.festival
    zone = ZoneInfo(festival.timezone)
    sessions = _public(programme.sessions)
    rooms = _rooms(programme, sessions)
    names = _room_names(rooms)
    acronym = _acronym(festival.slug)
    days = _days(programme, sessions, zone)
    events: dict[int, _Event] = {}
    for session in sessions:
        starts = session.starts_at.astimezone(zone)
        ends = session.ends_at.astimezone(zone)
        join = _join_url(session)
        events[session.id] = _Event(
            id=session.id,
            guid=site.guid(session),
            date=_iso(starts),
            end=_iso(ends),
            start=f"{starts:%H:%M}",
            duration=_hhmm(int((session.ends_at - session.starts_at).total_seconds()) // 60),
            room=names[session.room.id],
            slug=_event_slug(acronym, session),
            url=site.session_url(session),
            title=_title(session),
            subtitle=CANCELLED_SUBTITLE if session.cancelled else "",
            track=_clean(session.track).strip(),
            type=session.kind,
            language=session.language,
            abstract=_clean(session.summary).strip(),
            description=_details(session, with_summary=False),
            do_not_record=session.do_not_film,
            persons=[(p.person_id, _clean(p.name)) for p in session.co_producers],
            links=[(join, "Join online")] if join else [],
        )
    return _Schedule(
        version=_version(programme, site.base),
        url=f"{site.home}/{document}",
        home=site.home,
        base_url=f"{site.base}/",
        acronym=acronym,
        title=_clean(festival.name),
        description=_clean(festival.description).strip(),
        start=days[0].date,
        end=days[-1].date,
        zone_name=festival.timezone,
        tracks=sorted({_clean(s.track).strip() for s in sessions if s.track.strip()}),
        rooms=rooms,
        room_names=names,
        room_guids={room.id: site.room_guid(room) for room in rooms},
        days=days,
        events=events,
    )


def _room_description(room: Room) -> str | None:
    parts = list(room.access_features)
    if room.access_notes.strip():
        parts.append(_clean(room.access_notes).strip())
    return ". ".join(parts) or None


# --- iCalendar --------------------------------------------------------------------------


def to_ical(programme: Programme, base_url: str) -> bytes:
    """The public programme as an RFC 5545 calendar to subscribe to.

    Start and end are written in the festival's time zone with a matching VTIMEZONE,
    which is always included so that even an empty programme is a complete calendar.
    The VTIMEZONE covers only the years the programme touches, keeping the file small
    and the bytes stable.
    """
    site = _site(programme, base_url)
    festival = programme.festival
    zone = ZoneInfo(festival.timezone)
    sessions = _public(programme.sessions)
    venues = {venue.id: venue for venue in programme.venues}

    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("name", _clean(festival.name))
    calendar.add("x-wr-calname", _clean(festival.name))
    calendar.add("x-wr-timezone", festival.timezone)
    if festival.description.strip():
        calendar.add("description", _clean(festival.description).strip())
        calendar.add("x-wr-caldesc", _clean(festival.description).strip())
    calendar.add("url", f"{site.home}/programme")

    days = _local_days(programme, sessions, zone)
    calendar.add_component(
        icalendar.Timezone.from_tzid(
            festival.timezone,
            first_date=date(days[0].year, 1, 1),
            last_date=date(days[-1].year + 1, 1, 1),
        )
    )
    for session in sessions:
        calendar.add_component(_vevent(session, site, zone, venues))
    return bytes(calendar.to_ical())


def _vevent(
    session: Session, site: _Site, zone: ZoneInfo, venues: dict[int, Venue]
) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", site.uid(session))
    event.add("dtstamp", _utc(session.updated_at))
    event.add("created", _utc(session.created_at))
    event.add("last-modified", _utc(session.updated_at))
    # SEQUENCE is fixed: subscribers re-read the whole feed, and a counter derived from
    # timestamps would claim revisions that never happened.
    event.add("sequence", 0)
    event.add("dtstart", session.starts_at.astimezone(zone).replace(microsecond=0))
    event.add("dtend", session.ends_at.astimezone(zone).replace(microsecond=0))
    event.add("summary", _title(session))
    description = _details(session, with_summary=True)
    if description:
        event.add("description", description)
    event.add("location", _location(session, venues))
    event.add("url", site.session_url(session))
    event.add("status", "CANCELLED" if session.cancelled else "CONFIRMED")
    categories: list[str] = [session.kind]
    if session.track.strip():
        categories.append(_clean(session.track).strip())
    event.add("categories", categories)
    return event


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


# --- frab schedule XML ------------------------------------------------------------------


def to_frab_xml(programme: Programme, base_url: str) -> bytes:
    """The public programme as frab schedule XML, valid against the C3VOC XSD.

    ``<recording><optout>`` says whether the session may be filmed, and the join link
    of an online room is an event ``<link>``. See the module notes for cancellations.
    """
    schedule = _schedule(programme, base_url, "programme.xml")
    root = etree.Element("schedule")
    etree.SubElement(root, "generator", name=GENERATOR)
    _text(root, "url", schedule.url)
    _text(root, "version", schedule.version)

    conference = etree.SubElement(root, "conference")
    _text(conference, "acronym", schedule.acronym)
    _text(conference, "title", schedule.title)
    _text(conference, "start", schedule.start.isoformat())
    _text(conference, "end", schedule.end.isoformat())
    _text(conference, "days", str(len(schedule.days)))
    _text(conference, "timeslot_duration", TIMESLOT)
    _text(conference, "time_zone_name", schedule.zone_name)
    _text(conference, "base_url", schedule.base_url)
    _text(conference, "url", schedule.home)
    for track in schedule.tracks:
        etree.SubElement(conference, "track", name=track)

    for day in schedule.days:
        day_element = etree.SubElement(
            root,
            "day",
            index=str(day.index),
            date=day.date.isoformat(),
            start=_iso(day.start),
            end=_iso(day.end),
        )
        for room in schedule.rooms:
            room_element = etree.SubElement(
                day_element,
                "room",
                name=schedule.room_names[room.id],
                guid=schedule.room_guids[room.id],
            )
            for session in day.sessions:
                if session.room.id == room.id:
                    _xml_event(room_element, schedule.events[session.id])

    return bytes(etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True))


def _text(parent: Any, tag: str, text: str, **attributes: str) -> Any:
    element = etree.SubElement(parent, tag, **attributes)
    element.text = text
    return element


def _xml_event(parent: Any, event: _Event) -> None:
    element = etree.SubElement(parent, "event", id=str(event.id), guid=event.guid)
    _text(element, "date", event.date)
    _text(element, "start", event.start)
    _text(element, "duration", event.duration)
    _text(element, "room", event.room)
    _text(element, "slug", event.slug)
    _text(element, "url", event.url)
    _text(element, "title", event.title)
    _text(element, "subtitle", event.subtitle)
    _text(element, "track", event.track)
    _text(element, "type", event.type)
    _text(element, "language", event.language)
    _text(element, "abstract", event.abstract)
    _text(element, "description", event.description)
    recording = etree.SubElement(element, "recording")
    _text(recording, "license", "")
    _text(recording, "optout", "true" if event.do_not_record else "false")
    persons = etree.SubElement(element, "persons")
    for person_id, name in event.persons:
        _text(persons, "person", name, id=str(person_id))
    links = etree.SubElement(element, "links")
    for href, title in event.links:
        _text(links, "link", title, href=href)
    etree.SubElement(element, "attachments")


# --- frab schedule JSON -----------------------------------------------------------------


def to_frab_json(programme: Programme, base_url: str) -> bytes:
    """The public programme as frab schedule JSON, valid against the C3VOC schema.

    Keys are sorted, so the bytes depend only on the programme. Co-producers are
    written as ``{"id", "name"}``: the schema's person must match exactly one of its
    frab and pretalx shapes, and this is the one it does not mark as deprecated.
    """
    schedule = _schedule(programme, base_url, "programme.json")
    conference: dict[str, Any] = {
        "acronym": schedule.acronym,
        "title": schedule.title,
        "start": schedule.start.isoformat(),
        "end": schedule.end.isoformat(),
        "daysCount": len(schedule.days),
        "timeslot_duration": TIMESLOT,
        "url": schedule.home,
        "tracks": [{"name": track} for track in schedule.tracks],
        "rooms": [_json_room(schedule, room) for room in schedule.rooms],
        "days": [_json_day(schedule, day) for day in schedule.days],
    }
    if schedule.description:
        conference["description"] = schedule.description
    if _JSON_ZONE_NAME.search(schedule.zone_name):
        conference["time_zone_name"] = schedule.zone_name
    document = {
        "$schema": FRAB_JSON_SCHEMA,
        "generator": {"name": GENERATOR},
        "schedule": {
            "version": schedule.version,
            "base_url": schedule.base_url,
            "conference": conference,
        },
    }
    text = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True)
    return (text + "\n").encode()


def _json_room(schedule: _Schedule, room: Room) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": schedule.room_names[room.id],
        "guid": schedule.room_guids[room.id],
        "capacity": room.capacity,
        "description": _room_description(room),
    }
    if room.online:
        data["type"] = "online"
    return data


def _json_day(schedule: _Schedule, day: _Day) -> dict[str, Any]:
    rooms: dict[str, list[dict[str, Any]]] = {
        schedule.room_names[room.id]: [
            _json_event(schedule.events[s.id]) for s in day.sessions if s.room.id == room.id
        ]
        for room in schedule.rooms
    }
    return {
        "index": day.index,
        "date": day.date.isoformat(),
        "day_start": _iso(day.start),
        "day_end": _iso(day.end),
        "rooms": rooms,
    }


def _json_event(event: _Event) -> dict[str, Any]:
    return {
        "guid": event.guid,
        "id": event.id,
        "date": event.date,
        "end": event.end,
        "start": event.start,
        "duration": event.duration,
        "room": event.room,
        "slug": event.slug,
        "url": event.url,
        "title": event.title,
        "subtitle": event.subtitle,
        "track": event.track or None,
        "type": event.type,
        "language": event.language,
        "abstract": event.abstract,
        "description": event.description,
        "do_not_record": event.do_not_record,
        "recording_license": "",
        "persons": [{"id": person_id, "name": name} for person_id, name in event.persons],
        "links": [{"url": href, "title": title, "type": "web"} for href, title in event.links],
        "attachments": [],
    }
