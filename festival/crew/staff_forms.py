"""Crew staff page forms: what staff type, as the crew API's own Structs.

Each function reads a posted form and returns the Struct the JSON API takes, or raises
:class:`~festival.errors.Invalid` naming the form's own fields, in sentences. Times are
typed as a day and two clock times in the festival's time zone and become aware datetimes
here, so the service only ever sees instants.

:func:`error_view` is the programme forms' error view with the crew's rule messages put
into words a person can act on.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import msgspec

from festival.crew.schemas import (
    AssignIn,
    BulkSlotsIn,
    CrewRulesPatch,
    InviteIn,
    Slot,
    SlotIn,
    SlotPatch,
    TrainingIn,
    VolunteerPatch,
)
from festival.errors import FestivalError, FieldError, Invalid
from festival.formatting import clock, local
from festival.forms import convert, form_values
from festival.programme import forms as programme_forms
from festival.programme.forms import ErrorView

T = TypeVar("T")

INVITE_LABELS = {"email": "Email address", "name": "Name"}
TRAINING_LABELS = {"trained_on": "Date of the training", "trainer": "Trainer", "course": "Course"}
SUSPEND_LABELS = {"suspended_reason": "Why are you suspending them?"}
SLOT_LABELS = {
    "session_id": "Session",
    "room_id": "Room",
    "place": "Where to meet",
    "day": "Day",
    "starts_at": "Start time",
    "ends_at": "End time",
    "capacity": "Volunteers needed",
    "notes": "Notes for volunteers",
}
BULK_LABELS = {
    "position": "When should each slot be?",
    "minutes": "Length of each slot, in minutes",
    "gap_minutes": "Gap between the session and the slot, in minutes",
    "capacity": "Volunteers needed in each slot",
    "include_breaks": "Breaks",
}
RULES_LABELS = {
    "self_signup": "Volunteers can sign themselves up",
    "leave_cutoff_minutes": "Minutes before a slot that volunteers can still leave it",
    "travel_buffer_minutes": "Minutes to travel between venues",
}
ASSIGN_LABELS = {"volunteer_id": "Volunteer"}

#: The service's short field messages, as sentences that say what to do.
_REWORDED = {
    "not trained": "Choose a volunteer whose training has been recorded",
    "suspended": "Choose a volunteer who is not suspended",
    "not available at this time": "Choose a volunteer who has said they are free then",
    "already busy then": "Choose a volunteer who is not busy then",
    "is in the future": "The date of the training cannot be in the future",
    "a slot may last at most 12 hours": "A slot may last at most 12 hours",
    "is needed when the slot has no session or room": (
        "Say where to meet, or choose a session or a room"
    ),
    "lower than the places already taken": (
        "Volunteers needed cannot be fewer than the volunteers who already have a place"
    ),
}
_CLOCK = re.compile(r"^\s*(\d{1,2})[:.](\d{2})(?::(\d{2}))?\s*$")


# --- errors ---------------------------------------------------------------------------------


def _reword(error: FieldError) -> FieldError:
    message = error.message
    if error.field == "email" and "matching regex" in message:
        message = "Enter an email address in the right form, like name@example.org"
    elif error.field in ("session_id", "room_id") and message.startswith("festival has no"):
        message = f"Choose a {error.field.removesuffix('_id')} from the list"
    else:
        message = _REWORDED.get(message, message)
    return FieldError(error.field, message)


def error_view(
    error: FestivalError,
    labels: Mapping[str, str],
    anchors: Mapping[str, str] | None = None,
) -> ErrorView:
    """What the error summary and the fields show, in sentences. The error itself is left
    as it was; a copy carries the reworded field messages."""
    raw = "; ".join(f"{e.field}: {e.message}" for e in error.errors)
    shown = copy.copy(error)
    shown.errors = [_reword(e) for e in error.errors]
    if error.errors and error.detail == raw:
        # The detail only repeated the fields: it is dropped, as the list says it better.
        shown.detail = "; ".join(f"{e.field}: {e.message}" for e in shown.errors)
    return programme_forms.error_view(shown, labels, anchors)


def _invalid(errors: list[FieldError]) -> Invalid:
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return Invalid(detail, fix="Correct the answers marked and send the form again.", errors=errors)


def _required(values: Mapping[str, Any], messages: Mapping[str, str]) -> list[FieldError]:
    return [
        FieldError(field, message)
        for field, message in messages.items()
        if not str(values.get(field) or "").strip()
    ]


def _read(values: dict[str, Any], kind: type[T], required: Mapping[str, str]) -> T:
    missing = _required(values, required)
    if missing:
        raise _invalid(missing)
    return convert(values, kind)


def typed(form: Mapping[str, Any]) -> dict[str, str]:
    """What the person typed, to show again beside the errors."""
    return programme_forms.typed(form)


# --- volunteers -----------------------------------------------------------------------------


def invite_in(form: Mapping[str, Any]) -> InviteIn:
    values = form_values(form)
    values["email"] = str(values.get("email", "")).strip()
    values["name"] = str(values.get("name", "")).strip()
    return _read(values, InviteIn, {"email": "Enter the volunteer's email address"})


def training_in(form: Mapping[str, Any]) -> TrainingIn:
    values = form_values(form, optional=["course"])
    return _read(
        values,
        TrainingIn,
        {
            "trained_on": "Enter the date of the training",
            "trainer": "Enter the name of the trainer",
        },
    )


def suspension(form: Mapping[str, Any]) -> VolunteerPatch:
    reason = str(form.get("suspended_reason") or "").strip()
    if not reason:
        raise _invalid([FieldError("suspended_reason", "Say why you are suspending them")])
    return convert({"suspended": True, "suspended_reason": reason}, VolunteerPatch)


REINSTATE = VolunteerPatch(suspended=False)


def assign_in(form: Mapping[str, Any]) -> AssignIn:
    return _read(form_values(form), AssignIn, {"volunteer_id": "Choose a volunteer"})


# --- slots ----------------------------------------------------------------------------------


def _clock(text: str) -> time | None:
    match = _CLOCK.match(text)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _instant(
    day: date, text: str, zone: ZoneInfo, field: str, errors: list[FieldError]
) -> datetime | None:
    """``day`` at the local clock time ``text``, as an aware datetime; or a field error."""
    if not text.strip():
        errors.append(FieldError(field, f"Enter the {SLOT_LABELS[field].lower()}"))
        return None
    at = _clock(text)
    if at is None:
        errors.append(FieldError(field, "Enter a time on the 24-hour clock, like 09:30 or 14:00"))
        return None
    instant = datetime.combine(day, at, zone)
    if instant.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != instant.replace(
        tzinfo=None
    ):
        errors.append(
            FieldError(field, f"{at:%H:%M} does not exist on that day: the clocks go forward")
        )
        return None
    return instant


def slot_in(form: Mapping[str, Any], timezone: str) -> SlotIn:
    """The slot form as :class:`SlotIn`: a day and two local clock times become aware
    datetimes in the festival's time zone. Blank session and room mean none."""
    values = form_values(form, optional=["session_id", "room_id", "capacity"])
    errors: list[FieldError] = []
    zone = ZoneInfo(timezone)
    try:
        day = date.fromisoformat(str(values.pop("day", "")))
    except ValueError:
        errors.append(FieldError("day", "Choose the day"))
        day = None
    starts = ends = None
    if day is not None:
        starts = _instant(day, str(values.get("starts_at", "")), zone, "starts_at", errors)
        ends = _instant(day, str(values.get("ends_at", "")), zone, "ends_at", errors)
    if errors:
        raise _invalid(errors)
    values.update(starts_at=starts, ends_at=ends)
    values.setdefault("session_id", None)
    values.setdefault("room_id", None)
    values["place"] = str(values.get("place", "")).strip()
    return convert(values, SlotIn)


def slot_patch(form: Mapping[str, Any], timezone: str) -> SlotPatch:
    """The edit form sends every field, so the whole slot is the patch: a cleared session
    or room really is cleared."""
    return SlotPatch(**msgspec.structs.asdict(slot_in(form, timezone)))


def slot_values(slot: Slot, timezone: str) -> dict[str, Any]:
    """A slot as its edit form shows it."""
    return {
        "session_id": str(slot.session.id) if slot.session else "",
        "room_id": str(slot.room_id) if slot.room_id else "",
        "place": slot.place,
        "day": local(slot.starts_at, timezone).date().isoformat(),
        "starts_at": clock(slot.starts_at, timezone),
        "ends_at": clock(slot.ends_at, timezone),
        "capacity": str(slot.capacity),
        "notes": slot.notes,
    }


BULK_DEFAULTS: dict[str, Any] = {
    "position": "after",
    "minutes": "15",
    "gap_minutes": "0",
    "capacity": "1",
    "include_breaks": False,
}


def bulk_in(form: Mapping[str, Any], *, apply: bool) -> BulkSlotsIn:
    values = form_values(
        form, checkboxes=["include_breaks"], optional=["minutes", "gap_minutes", "capacity"]
    )
    values.pop("apply", None)
    values["apply"] = apply
    return _read(values, BulkSlotsIn, {"position": "Choose when each slot should be"})


def bulk_values(data: BulkSlotsIn) -> dict[str, Any]:
    """The choices behind a preview, to send again when staff make the slots."""
    return {
        "position": data.position,
        "minutes": str(data.minutes),
        "gap_minutes": str(data.gap_minutes),
        "capacity": str(data.capacity),
        "include_breaks": data.include_breaks,
    }


# --- rules ----------------------------------------------------------------------------------


def rules_patch(form: Mapping[str, Any]) -> CrewRulesPatch:
    values = form_values(form, checkboxes=["self_signup"])
    return _read(
        values,
        CrewRulesPatch,
        {
            "leave_cutoff_minutes": "Enter how many minutes before a slot volunteers can leave",
            "travel_buffer_minutes": "Enter how many minutes to allow for travel",
        },
    )
