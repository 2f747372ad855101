"""Shapes of the crew area: volunteers, training, availability, slots and assignments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from festival.accounts.schemas import Email
from festival.programme.schemas import AwareDateTime, Id, Name, ShortText, Text

AssignmentStatus = Literal["assigned", "accepted", "declined", "checked_in", "no_show"]
LIVE_STATUSES: tuple[AssignmentStatus, ...] = ("assigned", "accepted", "checked_in")
STATUS_WORDS: dict[str, str] = {
    "unfilled": "Unfilled",
    "assigned": "Assigned, waiting for reply",
    "accepted": "Accepted",
    "declined": "Declined",
    "checked_in": "Checked in",
    "no_show": "Did not come",
}
DEFAULT_COURSE = "Smartphone interviewing and consent"
Places = Annotated[int, Meta(ge=1, le=50, description="How many interviewers the slot needs")]
Minutes = Annotated[int, Meta(ge=0, le=24 * 60)]
Reason = Annotated[str, Meta(min_length=1, max_length=500, description="Why, in a few words")]
Phone = Annotated[str, Meta(max_length=50, pattern=r"^[0-9+() \-]*$")]
Pronouns = Annotated[str, Meta(max_length=50, pattern=r"^[^\x00-\x1f\x7f]*$")]


class Struct(msgspec.Struct, forbid_unknown_fields=True):
    pass


# --- rules a festival sets for its crew -------------------------------------------------


class CrewRules(msgspec.Struct):
    self_signup: bool = False
    leave_cutoff_minutes: int = 120
    travel_buffer_minutes: int = 15


class CrewRulesPatch(Struct):
    self_signup: bool | UnsetType = UNSET
    leave_cutoff_minutes: Minutes | UnsetType = UNSET
    travel_buffer_minutes: Annotated[int, Meta(ge=0, le=240)] | UnsetType = UNSET


# --- volunteers -----------------------------------------------------------------------


class InviteIn(Struct):
    email: Email
    name: ShortText = ""


class Training(msgspec.Struct):
    id: int
    course: str
    trained_on: date
    trainer: str


class TrainingIn(Struct):
    trained_on: date
    trainer: Name
    course: Name = DEFAULT_COURSE


class Counts(msgspec.Struct):
    slots: int = 0
    hours: float = 0.0
    no_shows: int = 0
    declined: int = 0


class Volunteer(msgspec.Struct):
    id: int
    email: str
    display_name: str
    pronouns: str
    phone: str
    access_needs: str
    suspended: bool
    suspended_reason: str
    trained: bool
    trainings: list[Training] = []
    counts: Counts = msgspec.field(default_factory=Counts)

    @property
    def name(self) -> str:
        return self.display_name or self.email.split("@", 1)[0]


class Invitation(msgspec.Struct):
    """A new invite: the link is shown once, since only its hash is kept."""

    volunteer: Volunteer
    invite_url: str
    token: str
    expires_at: datetime


class VolunteerPatch(Struct):
    """What staff may change."""

    display_name: ShortText | UnsetType = UNSET
    suspended: bool | UnsetType = UNSET
    suspended_reason: Text | UnsetType = UNSET


class ProfileIn(Struct):
    """What volunteers set for themselves."""

    display_name: ShortText | UnsetType = UNSET
    pronouns: Pronouns | UnsetType = UNSET
    phone: Phone | UnsetType = UNSET
    access_needs: Text | UnsetType = UNSET


class Window(Struct):
    starts_at: AwareDateTime
    ends_at: AwareDateTime


class AvailabilityIn(Struct):
    windows: Annotated[list[Window], Meta(max_length=200)]


class Availability(msgspec.Struct):
    windows: list[Window]


# --- slots ----------------------------------------------------------------------------


class SlotIn(Struct):
    starts_at: AwareDateTime
    ends_at: AwareDateTime
    session_id: Id | None = None
    room_id: Id | None = None
    place: ShortText = ""
    capacity: Places = 1
    notes: Text = ""


class SlotPatch(Struct):
    starts_at: AwareDateTime | UnsetType = UNSET
    ends_at: AwareDateTime | UnsetType = UNSET
    session_id: Id | UnsetType | None = UNSET
    room_id: Id | UnsetType | None = UNSET
    place: ShortText | UnsetType = UNSET
    capacity: Places | UnsetType = UNSET
    notes: Text | UnsetType = UNSET


class SlotSession(msgspec.Struct):
    id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    status: str


class SlotAssignment(msgspec.Struct):
    id: int
    volunteer_id: int
    volunteer_name: str
    status: AssignmentStatus
    source: str
    decline_reason: str
    checked_in_at: datetime | None


class Slot(msgspec.Struct):
    id: int
    starts_at: datetime
    ends_at: datetime
    capacity: int
    place: str
    notes: str
    session: SlotSession | None
    room_id: int | None
    room_label: str
    venue_id: int | None
    assignments: list[SlotAssignment] = []

    @property
    def live(self) -> list[SlotAssignment]:
        return [a for a in self.assignments if a.status in LIVE_STATUSES]

    @property
    def open_places(self) -> int:
        return max(0, self.capacity - len(self.live))

    @property
    def where(self) -> str:
        return self.place or self.room_label or "To be confirmed"


class BulkSlotsIn(Struct):
    """One slot per published session that may be filmed, placed around it."""

    position: Literal["before", "during", "after"] = "after"
    minutes: Annotated[int, Meta(ge=5, le=240)] = 15
    gap_minutes: Annotated[int, Meta(ge=0, le=120)] = 0
    capacity: Places = 1
    include_breaks: bool = False
    apply: bool = False


class BulkPreview(msgspec.Struct):
    slots: list[SlotIn]
    skipped: list[str]
    applied: bool
    created: int = 0


# --- assignments ----------------------------------------------------------------------


class AssignIn(Struct):
    volunteer_id: Id


class DeclineIn(Struct):
    reason: Reason


class Assignment(msgspec.Struct):
    id: int
    slot_id: int
    volunteer_id: int
    status: AssignmentStatus
    source: str
    decline_reason: str
    checked_in_at: datetime | None


class PreferencesIn(Struct):
    slot_ids: Annotated[list[Id], Meta(max_length=500)]


class MySlot(msgspec.Struct):
    """One of a volunteer's slots as their phone shows it."""

    assignment: Assignment
    slot: Slot
    can_leave: bool
    can_check_in: bool


class CalendarLink(msgspec.Struct):
    url: str


class MyDay(msgspec.Struct):
    volunteer: Volunteer
    festival_slug: str
    festival_name: str
    timezone: str
    next_slot: MySlot | None
    slots: list[MySlot]
    open_slots: list[Slot]
    self_signup: bool
    calendar_url: str
    # Where staff give out slots: upcoming slots with room, and those this volunteer
    # has said they would like (the automatic proposal honours these).
    wishable_slots: list[Slot] = []
    wished_slot_ids: list[int] = []


# --- automatic assignment --------------------------------------------------------------


class ProposedPlacement(msgspec.Struct):
    slot_id: int
    volunteer_id: int
    volunteer_name: str
    slot_label: str
    starts_at: datetime
    ends_at: datetime


class ProposedGap(msgspec.Struct):
    slot_id: int
    slot_label: str
    starts_at: datetime
    ends_at: datetime
    places: int
    reason: str


class ProposalView(msgspec.Struct):
    id: int
    placements: list[ProposedPlacement]
    unfilled: list[ProposedGap]
    covered: int
    wanted: int
    hours_by_volunteer: dict[str, float]
    solver_status: str
    applied: bool = False
