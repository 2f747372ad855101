"""Staff page forms: what people type into the programme forms, as the API's Structs.

Each ``*_in`` function reads a posted form and returns the same ``*In`` Struct the JSON API
takes, or raises :class:`~festival.errors.Invalid` naming the form's own fields. Edits send
every field the form shows, so the ``*_patch`` functions are the full input as a patch:
a cleared optional box (a room's capacity, say) then really clears the value.

:func:`error_view` turns any :class:`~festival.errors.FestivalError` into what an error
summary and the messages beside fields show, in plain words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import msgspec

from festival.errors import FestivalError, FieldError, Invalid
from festival.forms import convert, form_values
from festival.programme.schemas import (
    ROLES,
    FestivalIn,
    FestivalPatch,
    PersonIn,
    PersonPatch,
    RoomIn,
    RoomPatch,
    SessionIn,
    SessionPatch,
    VenueIn,
    VenuePatch,
)

T = TypeVar("T")
P = TypeVar("P", bound=msgspec.Struct)

#: A session form shows this many blank co-producer rows below the filled ones.
BLANK_ROWS = 3
#: More rows than a session may have co-producers are never read.
MAX_ROWS = 60

FESTIVAL_LABELS = {
    "name": "Name",
    "slug": "Short name for web addresses",
    "starts_on": "First day",
    "ends_on": "Last day",
    "timezone": "Time zone",
    "description": "Description",
}
VENUE_LABELS = {
    "name": "Name",
    "address": "Address",
    "online": "Online venue",
    "directions": "How to get there",
}
ROOM_LABELS = {
    "venue_id": "Venue",
    "name": "Name",
    "capacity": "Capacity",
    "join_url": "Link to join online",
    "step_free": "Step-free access",
    "hearing_loop": "Hearing loop",
    "bsl_interpretation": "British Sign Language interpretation",
    "quiet_room": "Quiet room",
    "access_notes": "Access notes",
}
PERSON_LABELS = {"name": "Name", "organisation": "Organisation"}
SESSION_LABELS = {
    "title": "Title",
    "summary": "Summary",
    "kind": "Kind of session",
    "track": "Track",
    "room_id": "Room",
    "day": "Day",
    "starts_at": "Start time",
    "ends_at": "End time",
    "language": "Language",
    "access_notes": "Access notes",
    "do_not_film": "Do not film",
    "status": "Status",
    "co_producers": "Co-producers",
}

_FORMATS = {
    "slug": "Use lower-case letters, numbers and single hyphens, like coproduction-week-2019",
    "join_url": "Enter a web address that starts with https://",
    "language": "Enter a language code, like en for English, cy for Welsh or bfi for BSL",
}
_REWORDED = {
    "already in use": "{label} is already in use: choose another",
    "must be after starts_at": "The end time must be after the start time",
    "must be on or after starts_on": "The last day must be on or after the first day",
    "outside the festival's dates": "Choose a day during the festival",
    "room already in use at this time": "The room is already booked at this time",
    "a person would be in two places at once": "A co-producer would be in two places at once",
    "lists the same person twice": "List each co-producer only once",
    "sessions fall outside these dates": "Some sessions would fall outside these dates",
    "a session may last at most 24 hours": "A session may last at most 24 hours",
}
_LENGTH = re.compile(r"^Expected `str` of length <= (\d+)")
_INT_RANGE = re.compile(r"^Expected `int` ([<>]=) (\d+)")
_ROW = re.compile(r"^co_producers-(\d+)-(person_id|role)$")
_CLOCK = re.compile(r"^\s*(\d{1,2})[:.](\d{2})(?::(\d{2}))?\s*$")


# --- reading forms -----------------------------------------------------------------------


def typed(form: Mapping[str, Any]) -> dict[str, str]:
    """What the person typed, to show again when the form comes back with errors."""
    return {k: str(v) for k, v in form.items() if k != "_csrf_token"}


def _require(values: Mapping[str, Any], messages: Mapping[str, str]) -> list[FieldError]:
    return [
        FieldError(field, message)
        for field, message in messages.items()
        if not str(values.get(field) or "").strip()
    ]


def _invalid(errors: list[FieldError]) -> Invalid:
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return Invalid(detail, fix="Correct the answers marked and send the form again.", errors=errors)


def _read(values: dict[str, Any], kind: type[T], required: Mapping[str, str]) -> T:
    missing = _require(values, required)
    if missing:
        raise _invalid(missing)
    return convert(values, kind)


def _as_patch(data: msgspec.Struct, kind: type[P]) -> P:
    return kind(**msgspec.structs.asdict(data))


def festival_in(form: Mapping[str, Any]) -> FestivalIn:
    values = form_values(form, optional=["timezone"])
    return _read(
        values,
        FestivalIn,
        {
            "name": "Enter the festival's name",
            "slug": "Enter a short name for web addresses",
            "starts_on": "Enter the first day",
            "ends_on": "Enter the last day",
        },
    )


def festival_patch(form: Mapping[str, Any]) -> FestivalPatch:
    return _as_patch(festival_in(form), FestivalPatch)


def venue_in(form: Mapping[str, Any]) -> VenueIn:
    values = form_values(form, checkboxes=["online"])
    return _read(values, VenueIn, {"name": "Enter the venue's name"})


def venue_patch(form: Mapping[str, Any]) -> VenuePatch:
    return _as_patch(venue_in(form), VenuePatch)


def room_in(form: Mapping[str, Any]) -> RoomIn:
    values = form_values(
        form,
        checkboxes=["step_free", "hearing_loop", "bsl_interpretation", "quiet_room"],
        optional=["capacity"],
    )
    return _read(values, RoomIn, {"venue_id": "Choose the venue", "name": "Enter the room's name"})


def room_patch(form: Mapping[str, Any]) -> RoomPatch:
    return _as_patch(room_in(form), RoomPatch)


def person_in(form: Mapping[str, Any]) -> PersonIn:
    return _read(form_values(form), PersonIn, {"name": "Enter the person's name"})


def person_patch(form: Mapping[str, Any]) -> PersonPatch:
    return _as_patch(person_in(form), PersonPatch)


def row_count(form: Mapping[str, Any]) -> int:
    """How many co-producer rows the form sent (blank ones included)."""
    indices = [int(m.group(1)) for key in form if (m := _ROW.match(key))]
    return min(max(indices, default=-1) + 1, MAX_ROWS)


def _co_producers(form: Mapping[str, Any], errors: list[FieldError]) -> list[dict[str, Any]]:
    rows = []
    for index in range(row_count(form)):
        person = str(form.get(f"co_producers-{index}-person_id") or "").strip()
        if not person:
            continue  # a blank row is no co-producer
        role = str(form.get(f"co_producers-{index}-role") or "")
        if role not in ROLES:
            errors.append(FieldError(f"co_producers-{index}-role", "Choose the person's role"))
            continue
        if not person.isdigit() or int(person) < 1:
            errors.append(FieldError(f"co_producers-{index}-person_id", "Choose a person"))
            continue
        rows.append({"person_id": int(person), "role": role})
    return rows


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
    """``day`` at the local clock time ``text`` as an aware datetime, or a field error."""
    if not text.strip():
        errors.append(FieldError(field, f"Enter the {SESSION_LABELS[field].lower()}"))
        return None
    clock = _clock(text)
    if clock is None:
        errors.append(FieldError(field, "Enter a time on the 24-hour clock, like 09:30 or 14:00"))
        return None
    local = datetime.combine(day, clock, zone)
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        errors.append(
            FieldError(field, f"{clock:%H:%M} does not exist on that day: the clocks go forward")
        )
        return None
    return local


def session_in(form: Mapping[str, Any], timezone: str) -> SessionIn:
    """The session form as :class:`SessionIn`: a day and two local clock times become
    aware datetimes in the festival's own time zone."""
    values = form_values(form, checkboxes=["do_not_film"], optional=["language", "status"])
    errors = _require(
        values,
        {
            "title": "Enter a title",
            "kind": "Choose the kind of session",
            "room_id": "Choose a room",
        },
    )
    zone = ZoneInfo(timezone)
    try:
        day = date.fromisoformat(str(values.pop("day", "")))
    except ValueError:
        errors.append(FieldError("day", "Choose the day"))
        day = None
    starts: datetime | None = None
    ends: datetime | None = None
    if day is not None:
        starts = _instant(day, str(values.get("starts_at", "")), zone, "starts_at", errors)
        ends = _instant(day, str(values.get("ends_at", "")), zone, "ends_at", errors)
    co_producers = _co_producers(form, errors)
    if errors:
        raise _invalid(errors)
    for key in [k for k in values if _ROW.match(k)]:
        del values[key]
    values.update(starts_at=starts, ends_at=ends, co_producers=co_producers)
    return convert(values, SessionIn)


def session_patch(form: Mapping[str, Any], timezone: str) -> SessionPatch:
    return _as_patch(session_in(form, timezone), SessionPatch)


# --- showing errors ----------------------------------------------------------------------


class ErrorView(msgspec.Struct):
    """An error as a form shows it: the summary at the top and a message per field."""

    status: int
    items: list[tuple[str | None, str]]  # (id of the field to link to, message)
    fields: dict[str, str]  # field name -> message shown beside it
    detail: str | None
    fix: str | None


def _sentence(field: str, message: str, labels: Mapping[str, str]) -> str:
    """A message from the service or from msgspec, as a sentence a person can act on."""
    label = labels.get(field, field.replace("_", " ").capitalize())
    if message in _REWORDED:
        return _REWORDED[message].format(label=label)
    if "matching regex" in message:
        return _FORMATS.get(field, f"{label} must be one line of plain text")
    if match := _LENGTH.match(message):
        return f"{label} must be {match.group(1)} characters or fewer"
    if match := _INT_RANGE.match(message):
        bound = "or more" if match.group(1) == ">=" else "or fewer"
        return f"{label} must be {match.group(2)} {bound}"
    if message.startswith("Expected `int`"):
        return f"{label} must be a whole number"
    if message.startswith("Invalid enum value"):
        return f"Choose one of the options for {label.lower()}"
    if "date" in message and message.startswith(("Invalid", "Expected `date`")):
        return f"{label} must be a real date, like 2019-07-01"
    if message[:1].isupper() and not message.startswith(("Expected", "Invalid", "Object")):
        return message  # the form's own messages are sentences already
    return f"{label}: {message}"


def error_view(
    error: FestivalError,
    labels: Mapping[str, str],
    anchors: Mapping[str, str] | None = None,
) -> ErrorView:
    """Messages for the summary and the fields. ``anchors`` maps a field name to the id of
    the control a summary link should focus, when they differ (radios, groups)."""
    anchors = anchors or {}
    fields: dict[str, str] = {}
    items: list[tuple[str | None, str]] = []
    for item in error.errors:
        field = item.field
        if field == "starts_at" and item.message == "outside the festival's dates":
            field = "day"  # the day chosen is what is wrong
        if field.startswith("co_producers-"):
            text = item.message
        else:
            text = _sentence(field, item.message, labels)
        known = field in labels or field.startswith("co_producers-")
        if known:
            fields.setdefault(field, text)
        items.append((anchors.get(field, field) if known else None, text))
    summarised = "; ".join(f"{e.field}: {e.message}" for e in error.errors)
    detail = None if error.errors and error.detail == summarised else error.detail
    return ErrorView(
        status=error.status,
        items=items,
        fields=fields,
        detail=detail,
        fix=error.fix if detail else None,
    )
