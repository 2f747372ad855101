"""Shapes of the programme: festivals, venues, rooms, people and sessions.

``*In`` Structs are what clients send to create; ``*Patch`` what they send to change
(fields left out stay as they are); the plain names are what the service returns.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from festival.errors import describe_pattern

SessionKind = Literal["talk", "workshop", "panel", "film", "break"]
SessionStatus = Literal["draft", "published", "cancelled"]
Role = Literal["experience", "profession", "both"]

KINDS: tuple[SessionKind, ...] = ("talk", "workshop", "panel", "film", "break")
STATUSES: tuple[SessionStatus, ...] = ("draft", "published", "cancelled")
ROLES: dict[Role, str] = {
    "experience": "Expert by experience",
    "profession": "Expert by profession",
    "both": "Expert by experience and by profession",
}

_LINE = describe_pattern(
    r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$",
    "one line of text with no control characters",
)
_NO_CONTROL = describe_pattern(
    r"^[^\x00-\x1f\x7f]*$", "one line of text with no control characters"
)
_SLUG = describe_pattern(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
    "lower-case letters and digits, with single hyphens between words, e.g. summer-2026",
)
_URL = describe_pattern(
    r"^(https?://[^\s\x00-\x1f\x7f]+)?$", "an address starting http:// or https://, or empty"
)
_LANGUAGE = describe_pattern(
    r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", "a language code such as en, cy or en-GB"
)
Slug = Annotated[
    str,
    Meta(
        min_length=2,
        max_length=80,
        pattern=_SLUG,
        description="Lower-case letters, digits and single hyphens, e.g. coproduction-week-2019",
    ),
]
Name = Annotated[
    str, Meta(min_length=1, max_length=200, pattern=_LINE, description="One line of text")
]
ShortText = Annotated[str, Meta(max_length=200, pattern=_NO_CONTROL)]
#: As long as ``sessions.track`` holds (PostgreSQL refuses longer; SQLite kept it whole).
TRACK_LENGTH = 100
Track = Annotated[str, Meta(max_length=TRACK_LENGTH, pattern=_NO_CONTROL)]
Text = Annotated[str, Meta(max_length=5000, description="Plain text; HTML is shown as typed")]
TimeZoneName = Annotated[
    str, Meta(min_length=1, max_length=64, description="IANA time zone, e.g. Europe/London")
]
Url = Annotated[str, Meta(max_length=2000, pattern=_URL, description="http(s) address")]
Language = Annotated[
    str,
    Meta(
        min_length=2,
        max_length=35,
        pattern=_LANGUAGE,
        description="BCP 47 language tag, e.g. en or cy or bfi",
    ),
]
AwareDateTime = Annotated[
    datetime, Meta(tz=True, description="ISO 8601 with a UTC offset, e.g. 2019-07-01T10:00+01:00")
]
Capacity = Annotated[int, Meta(ge=1, le=100_000)]
Id = Annotated[int, Meta(ge=1, le=2**53)]


class Struct(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=False):
    pass


# --- festivals ------------------------------------------------------------------------


class FestivalIn(Struct):
    slug: Slug
    name: Name
    starts_on: date
    ends_on: date
    timezone: TimeZoneName = "Europe/London"
    description: Text = ""


class FestivalPatch(Struct):
    slug: Slug | UnsetType = UNSET
    name: Name | UnsetType = UNSET
    starts_on: date | UnsetType = UNSET
    ends_on: date | UnsetType = UNSET
    timezone: TimeZoneName | UnsetType = UNSET
    description: Text | UnsetType = UNSET


class Festival(msgspec.Struct):
    id: int
    slug: str
    name: str
    starts_on: date
    ends_on: date
    timezone: str
    description: str
    created_at: datetime
    updated_at: datetime

    @property
    def days(self) -> list[date]:
        from datetime import timedelta

        count = (self.ends_on - self.starts_on).days + 1
        return [self.starts_on + timedelta(days=n) for n in range(count)]


# --- venues and rooms -----------------------------------------------------------------


class VenueIn(Struct):
    name: Name
    address: Text = ""
    online: bool = False
    directions: Text = ""


class VenuePatch(Struct):
    name: Name | UnsetType = UNSET
    address: Text | UnsetType = UNSET
    online: bool | UnsetType = UNSET
    directions: Text | UnsetType = UNSET


class RoomIn(Struct):
    venue_id: Id
    name: Name
    capacity: Capacity | None = None
    join_url: Url = ""
    step_free: bool = False
    hearing_loop: bool = False
    bsl_interpretation: bool = False
    quiet_room: bool = False
    access_notes: Text = ""


class RoomPatch(Struct):
    venue_id: Id | UnsetType = UNSET
    name: Name | UnsetType = UNSET
    capacity: Capacity | UnsetType | None = UNSET
    join_url: Url | UnsetType = UNSET
    step_free: bool | UnsetType = UNSET
    hearing_loop: bool | UnsetType = UNSET
    bsl_interpretation: bool | UnsetType = UNSET
    quiet_room: bool | UnsetType = UNSET
    access_notes: Text | UnsetType = UNSET


class Room(msgspec.Struct):
    id: int
    venue_id: int
    venue_name: str
    online: bool
    name: str
    capacity: int | None
    join_url: str
    step_free: bool
    hearing_loop: bool
    bsl_interpretation: bool
    quiet_room: bool
    access_notes: str

    @property
    def label(self) -> str:
        """``Main hall, Kentish Town Community Hub``: how people find it."""
        return f"{self.name}, {self.venue_name}"

    @property
    def access_features(self) -> list[str]:
        features = []
        if self.online:
            features.append("Online")
        if self.step_free:
            features.append("Step-free access")
        if self.hearing_loop:
            features.append("Hearing loop")
        if self.bsl_interpretation:
            features.append("British Sign Language interpretation")
        if self.quiet_room:
            features.append("Quiet room")
        return features


class Venue(msgspec.Struct):
    id: int
    name: str
    address: str
    online: bool
    directions: str
    rooms: list[Room] = []


# --- people ---------------------------------------------------------------------------


class PersonIn(Struct):
    name: Name
    organisation: ShortText = ""


class PersonPatch(Struct):
    name: Name | UnsetType = UNSET
    organisation: ShortText | UnsetType = UNSET


class Person(msgspec.Struct):
    id: int
    name: str
    organisation: str


# --- sessions -------------------------------------------------------------------------


class CoProducerIn(Struct):
    person_id: Id
    role: Role


class CoProducer(msgspec.Struct):
    person_id: int
    name: str
    organisation: str
    role: Role

    @property
    def role_label(self) -> str:
        return ROLES[self.role]


class SessionIn(Struct):
    title: Name
    kind: SessionKind
    room_id: Id
    starts_at: AwareDateTime
    ends_at: AwareDateTime
    summary: Text = ""
    track: Track = ""
    language: Language = "en"
    access_notes: Text = ""
    do_not_film: bool = False
    status: SessionStatus = "draft"
    co_producers: Annotated[list[CoProducerIn], Meta(max_length=50)] = []


class SessionPatch(Struct):
    title: Name | UnsetType = UNSET
    kind: SessionKind | UnsetType = UNSET
    room_id: Id | UnsetType = UNSET
    starts_at: AwareDateTime | UnsetType = UNSET
    ends_at: AwareDateTime | UnsetType = UNSET
    summary: Text | UnsetType = UNSET
    track: Track | UnsetType = UNSET
    language: Language | UnsetType = UNSET
    access_notes: Text | UnsetType = UNSET
    do_not_film: bool | UnsetType = UNSET
    status: SessionStatus | UnsetType = UNSET
    co_producers: Annotated[list[CoProducerIn], Meta(max_length=50)] | UnsetType = UNSET


class Session(msgspec.Struct):
    id: int
    title: str
    summary: str
    kind: SessionKind
    track: str
    room: Room
    starts_at: datetime
    ends_at: datetime
    language: str
    access_notes: str
    do_not_film: bool
    status: SessionStatus
    co_producers: list[CoProducer]
    created_at: datetime
    updated_at: datetime

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"


class Programme(msgspec.Struct):
    """A festival with everything its programme shows, ready for pages and exports."""

    festival: Festival
    venues: list[Venue]
    people: list[Person]
    sessions: list[Session]

    @property
    def tracks(self) -> list[str]:
        return sorted({s.track for s in self.sessions if s.track})

    @property
    def rooms(self) -> list[Room]:
        return [room for venue in self.venues for room in venue.rooms]
