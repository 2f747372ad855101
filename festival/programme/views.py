"""What the public programme pages show, worked out from a :class:`Programme` the service
has already read: filters checked, sessions grouped by the festival's local day.

Pure functions, no SQL. A filter value that cannot be read raises :class:`BadRequest`
with a fix, so a mistyped address gets a readable 400 page rather than a 500.
"""

from __future__ import annotations

from datetime import date, datetime
from itertools import groupby
from urllib.parse import urlencode

import msgspec

from festival.errors import BadRequest, NotFound
from festival.formatting import local, long_date
from festival.programme.schemas import Festival, Programme, Room, Session, Venue

LANGUAGES = {
    "en": "English",
    "cy": "Welsh",
    "ga": "Irish",
    "gd": "Scottish Gaelic",
    "bfi": "British Sign Language",
    "ise": "Irish Sign Language",
}
KIND_LABELS = {
    "talk": "Talk",
    "workshop": "Workshop",
    "panel": "Panel",
    "film": "Film",
    "break": "Break",
}
_ECHO = 60  # how much of a bad value an error message repeats


def language_name(tag: str) -> str:
    """``English`` for ``en`` or ``en-GB``; an unfamiliar tag is shown as given."""
    return LANGUAGES.get(tag.split("-", 1)[0].lower(), tag)


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.capitalize())


def local_day(moment: datetime, timezone: str) -> date:
    return local(moment, timezone).date()


def iso_local(moment: datetime, timezone: str) -> str:
    """For ``<time datetime>``: the local time with its UTC offset, to the minute."""
    return local(moment, timezone).isoformat(timespec="minutes")


def programme_path(festival: Festival) -> str:
    return f"/festivals/{festival.slug}/programme"


class Filters(msgspec.Struct, frozen=True):
    day: date | None = None
    room: Room | None = None
    track: str = ""

    @property
    def active(self) -> bool:
        return self.day is not None or self.room is not None or bool(self.track)

    def query(self, *, day: date | None) -> str:
        """The query string for these filters on another day (or all days), keeping the
        room and track someone already chose."""
        params: dict[str, str] = {}
        if day is not None:
            params["day"] = day.isoformat()
        if self.room is not None:
            params["room"] = str(self.room.id)
        if self.track:
            params["track"] = self.track
        return "?" + urlencode(params) if params else ""

    def matches(self, session: Session, timezone: str) -> bool:
        if self.day is not None and local_day(session.starts_at, timezone) != self.day:
            return False
        if self.room is not None and session.room.id != self.room.id:
            return False
        return not self.track or session.track == self.track


class DayGroup(msgspec.Struct, frozen=True):
    day: date
    sessions: list[Session]


class DayLink(msgspec.Struct, frozen=True):
    label: str
    href: str
    current: bool


class ProgrammePage(msgspec.Struct, frozen=True):
    programme: Programme
    filters: Filters
    days: list[DayGroup]
    day_links: list[DayLink]
    rooms: list[Room]

    @property
    def festival(self) -> Festival:
        return self.programme.festival

    @property
    def path(self) -> str:
        return programme_path(self.festival)

    @property
    def count(self) -> int:
        return sum(len(group.sessions) for group in self.days)

    @property
    def cancelled(self) -> int:
        return sum(1 for group in self.days for s in group.sessions if s.cancelled)


def _blank(value: str | None) -> str:
    return (value or "").strip()


def _echo(value: str) -> str:
    return value if len(value) <= _ECHO else value[:_ECHO] + "…"


def _bad(detail: str, fix: str) -> BadRequest:
    # No field list: the page shows the detail and the fix, and a list would repeat them.
    return BadRequest(detail, fix=fix)


def _parse_day(festival: Festival, value: str) -> date | None:
    if not value:
        return None
    dates = f"{long_date(festival.starts_on)} to {long_date(festival.ends_on)}"
    fix = f"Choose a day from the list on the programme page. The festival runs {dates}."
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise _bad(f"“{_echo(value)}” is not a date.", fix) from None
    if not festival.starts_on <= day <= festival.ends_on:
        raise _bad(f"{long_date(day)} is not one of the festival's days.", fix)
    return day


def _parse_room(programme: Programme, value: str) -> Room | None:
    if not value:
        return None
    fix = "Choose a room from the list on the programme page."
    if not value.isascii() or not value.isdigit():
        raise _bad(f"“{_echo(value)}” is not a room number.", fix)
    for room in programme.rooms:
        if room.id == int(value):
            return room
    raise _bad(f"This festival has no room number {_echo(value)}.", fix)


def _parse_track(programme: Programme, value: str) -> str:
    if not value or value in programme.tracks:
        return value
    raise _bad(
        f"No session in this programme is in a track called “{_echo(value)}”.",
        "Choose a track from the list on the programme page.",
    )


def parse_filters(
    programme: Programme, *, day: str | None, room: str | None, track: str | None
) -> Filters:
    """Filters from the query string. Blank values (the form's "All" choices) mean no filter."""
    return Filters(
        day=_parse_day(programme.festival, _blank(day)),
        room=_parse_room(programme, _blank(room)),
        track=_parse_track(programme, _blank(track)),
    )


def group_by_day(sessions: list[Session], timezone: str) -> list[DayGroup]:
    """Sessions (already in programme order) grouped by the local day they start on."""
    ordered = sorted(sessions, key=lambda s: (s.starts_at, s.ends_at, s.id))
    return [
        DayGroup(day=day, sessions=list(group))
        for day, group in groupby(ordered, key=lambda s: local_day(s.starts_at, timezone))
    ]


def programme_page(
    programme: Programme, *, day: str | None, room: str | None, track: str | None
) -> ProgrammePage:
    festival = programme.festival
    filters = parse_filters(programme, day=day, room=room, track=track)
    chosen = [s for s in programme.sessions if filters.matches(s, festival.timezone)]
    path = programme_path(festival)
    links = [DayLink("All days", path + filters.query(day=None), filters.day is None)]
    links += [
        DayLink(f"{d:%A} {d.day} {d:%B}", path + filters.query(day=d), filters.day == d)
        for d in festival.days
    ]
    used = {s.room.id for s in programme.sessions}
    return ProgrammePage(
        programme=programme,
        filters=filters,
        days=group_by_day(chosen, festival.timezone),
        day_links=links,
        rooms=sorted(
            (r for r in programme.rooms if r.id in used or r == filters.room),
            key=lambda r: r.label.casefold(),
        ),
    )


class SessionPage(msgspec.Struct, frozen=True):
    programme: Programme
    session: Session
    venue: Venue | None

    @property
    def festival(self) -> Festival:
        return self.programme.festival


def session_page(programme: Programme, session_id: int) -> SessionPage:
    """One session of the public programme (drafts are not in it), with its venue."""
    festival = programme.festival
    for session in programme.sessions:
        if session.id == session_id:
            venue = next((v for v in programme.venues if v.id == session.room.venue_id), None)
            return SessionPage(programme=programme, session=session, venue=venue)
    raise NotFound(
        f"{festival.name} has no session number {session_id} in its public programme.",
        fix=f"See the whole programme at {programme_path(festival)}.",
    )


class FestivalPage(msgspec.Struct, frozen=True):
    programme: Programme

    @property
    def festival(self) -> Festival:
        return self.programme.festival

    @property
    def session_count(self) -> int:
        return sum(1 for s in self.programme.sessions if not s.cancelled)

    @property
    def venues(self) -> list[Venue]:
        """Venues that host at least one public session: the places worth knowing about."""
        used = {s.room.venue_id for s in self.programme.sessions}
        return [v for v in self.programme.venues if v.id in used]


# Functions the public templates call, passed in with each page's context.
TEMPLATE_HELPERS = {
    "kind_label": kind_label,
    "language_name": language_name,
    "iso_local": iso_local,
}
