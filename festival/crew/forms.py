"""Volunteer page forms: what a volunteer types on their phone, as the API's Structs.

The availability form shows one row per stretch of free time: a festival day, a "from"
and a "to" clock time in the festival's own time zone. A window that runs past midnight is
shown as one row per day, and rows that touch are joined again when saved, so nothing is
lost on the way round. An end time of 00:00 means midnight at the end of that day.

Rows are checked here first, so every mistake is shown at once beside its own row. The
service checks again; its errors name ``windows[n]`` (the n-th window sent), which
:func:`for_rows` turns back into the row on the page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from festival.crew.schemas import AvailabilityIn, DeclineIn, ProfileIn, Window
from festival.errors import FestivalError, FieldError, Invalid
from festival.forms import convert

#: Blank rows shown below the saved ones, for adding more times.
BLANK_ROWS = 3
#: The most windows the API takes; rows beyond these (and the blank ones) are never read.
MAX_WINDOWS = 200
MAX_ROWS = MAX_WINDOWS + 20

PROFILE_LABELS = {
    "display_name": "Your name",
    "pronouns": "Your pronouns",
    "phone": "Phone number",
    "access_needs": "Access needs",
}
DECLINE_LABELS = {"reason": "Reason"}

_ROW = re.compile(r"^windows-(\d+)-(day|starts_at|ends_at|remove|saved)$")
_CLOCK = re.compile(r"^\s*(\d{1,2})[:.](\d{2})(?::\d{2}(?:\.\d+)?)?\s*$")
_PHONE = re.compile(r"^[0-9+() \-]*$")
_WINDOW_FIELD = re.compile(r"^windows\[(\d+)\](?:\.(starts_at|ends_at))?$")


def _ticked(value: Any) -> bool:
    return value is not None and str(value) not in ("", "false", "0")


def _invalid(errors: list[FieldError]) -> Invalid:
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return Invalid(detail, fix="Correct the answers marked and send the form again.", errors=errors)


# --- profile and decline ---------------------------------------------------------------


def profile_in(form: Mapping[str, Any]) -> ProfileIn:
    """Every field the page shows is sent, so a cleared box clears the value."""
    values = {name: str(form.get(name) or "") for name in PROFILE_LABELS}
    for name in ("display_name", "pronouns", "phone"):
        values[name] = values[name].strip()
    if not _PHONE.match(values["phone"]):
        raise _invalid(
            [
                FieldError(
                    "phone",
                    "Enter a phone number using only numbers, spaces, +, brackets and hyphens",
                )
            ]
        )
    return convert(values, ProfileIn)


def decline_in(form: Mapping[str, Any]) -> DeclineIn:
    reason = str(form.get("reason") or "").strip()
    if not reason:
        raise _invalid([FieldError("reason", "Tell festival staff why you cannot take this slot")])
    return convert({"reason": reason}, DeclineIn)


# --- availability ----------------------------------------------------------------------


class Row(msgspec.Struct):
    """One row of the availability form, as typed (or as saved, to fill the form)."""

    day: str = ""
    starts_at: str = ""
    ends_at: str = ""
    saved: bool = False
    remove: bool = False

    @property
    def blank(self) -> bool:
        return not (self.day.strip() or self.starts_at.strip() or self.ends_at.strip())

    @property
    def kept(self) -> bool:
        """Sent to the service: filled in and not marked for removal."""
        return not self.blank and not self.remove


def rows_from_windows(windows: Sequence[Window], timezone: str) -> list[Row]:
    """Saved windows as form rows, one per local day each window touches."""
    zone = ZoneInfo(timezone)
    rows: list[Row] = []
    for window in windows:
        cursor = window.starts_at.astimezone(zone)
        end = window.ends_at.astimezone(zone)
        while cursor < end:
            midnight = datetime.combine(cursor.date() + timedelta(days=1), time.min, zone)
            piece_end = min(end, midnight)
            rows.append(
                Row(
                    day=cursor.date().isoformat(),
                    starts_at=f"{cursor:%H:%M}",
                    ends_at="00:00" if piece_end == midnight else f"{piece_end:%H:%M}",
                    saved=True,
                )
            )
            cursor = midnight
    return rows


def read_rows(form: Mapping[str, Any]) -> list[Row]:
    """Every row the form sent, blank ones included, in their order on the page."""
    count = min(
        max((int(m.group(1)) + 1 for key in form if (m := _ROW.match(key))), default=0), MAX_ROWS
    )
    return [
        Row(
            day=str(form.get(f"windows-{i}-day") or ""),
            starts_at=str(form.get(f"windows-{i}-starts_at") or ""),
            ends_at=str(form.get(f"windows-{i}-ends_at") or ""),
            saved=_ticked(form.get(f"windows-{i}-saved")),
            remove=_ticked(form.get(f"windows-{i}-remove")),
        )
        for i in range(count)
    ]


def row_values(rows: Sequence[Row]) -> dict[str, Any]:
    """Rows as the ``values`` a form template shows, keyed by field name."""
    values: dict[str, Any] = {}
    for i, row in enumerate(rows):
        values[f"windows-{i}-day"] = row.day
        values[f"windows-{i}-starts_at"] = row.starts_at
        values[f"windows-{i}-ends_at"] = row.ends_at
        values[f"windows-{i}-remove"] = row.remove
    return values


def row_labels(count: int) -> dict[str, str]:
    """Names for every row's fields, so the error summary can link to each."""
    labels: dict[str, str] = {}
    for i in range(count):
        labels[f"windows-{i}-day"] = f"Day of time {i + 1}"
        labels[f"windows-{i}-starts_at"] = f"From, time {i + 1}"
        labels[f"windows-{i}-ends_at"] = f"To, time {i + 1}"
    return labels


def _clock(text: str) -> time | None:
    match = _CLOCK.match(text)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _moment(
    day: date, text: str, zone: ZoneInfo, field: str, what: str, errors: list[FieldError]
) -> datetime | None:
    """``day`` at the local time ``text``, aware, or a message on ``field``."""
    if not text.strip():
        errors.append(FieldError(field, f"{what}: enter a time"))
        return None
    clock = _clock(text)
    if clock is None:
        errors.append(FieldError(field, f"{what}: enter a time on the 24-hour clock, like 09:30"))
        return None
    moment = datetime.combine(day, clock, zone)
    if moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != moment.replace(tzinfo=None):
        errors.append(
            FieldError(
                field, f"{what}: {clock:%H:%M} does not exist that day, the clocks go forward"
            )
        )
        return None
    return moment


def _window(
    index: int, row: Row, days: Sequence[date], zone: ZoneInfo, errors: list[FieldError]
) -> Window | None:
    name = f"Time {index + 1}"
    prefix = f"windows-{index}-"
    try:
        day = date.fromisoformat(row.day.strip())
    except ValueError:
        errors.append(FieldError(prefix + "day", f"{name}: choose the day"))
        return None
    if day not in days:
        errors.append(FieldError(prefix + "day", f"{name}: choose a day of the festival"))
        return None
    starts = _moment(day, row.starts_at, zone, prefix + "starts_at", f"{name}, from", errors)
    if row.ends_at.strip() and _clock(row.ends_at) == time.min:
        ends: datetime | None = datetime.combine(day + timedelta(days=1), time.min, zone)
    else:
        ends = _moment(day, row.ends_at, zone, prefix + "ends_at", f"{name}, to", errors)
    if starts is None or ends is None:
        return None
    if ends <= starts:
        errors.append(
            FieldError(prefix + "ends_at", f"{name}: the ‘to’ time must be after the ‘from’ time")
        )
        return None
    return Window(starts_at=starts.astimezone(UTC), ends_at=ends.astimezone(UTC))


def availability_in(rows: Sequence[Row], days: Sequence[date], timezone: str) -> AvailabilityIn:
    """The rows kept, as aware UTC windows; every row's mistakes at once if any."""
    zone = ZoneInfo(timezone)
    errors: list[FieldError] = []
    windows: list[Window] = []
    for index, row in enumerate(rows):
        if row.kept and (window := _window(index, row, days, zone, errors)) is not None:
            windows.append(window)
    if errors:
        raise _invalid(errors)
    if len(windows) > MAX_WINDOWS:
        raise Invalid(
            f"You gave {len(windows)} times; the most you can give is {MAX_WINDOWS}.",
            fix="Join times that follow on from each other into one.",
        )
    return AvailabilityIn(windows=windows)


def for_rows(error: FestivalError, rows: Sequence[Row]) -> FestivalError:
    """The service's ``windows[n]`` errors, pointed at the rows on the page."""
    kept = [i for i, row in enumerate(rows) if row.kept]
    moved: list[FieldError] = []
    for item in error.errors:
        match = _WINDOW_FIELD.match(item.field)
        if match is None or int(match.group(1)) >= len(kept):
            moved.append(item)
            continue
        index = kept[int(match.group(1))]
        part = match.group(2) or "day"
        if item.message == "must be after starts_at":
            text = "the ‘to’ time must be after the ‘from’ time"
        else:
            text = item.message
        moved.append(FieldError(f"windows-{index}-{part}", f"Time {index + 1}: {text}"))
    if moved != error.errors:
        error.errors = moved
        error.detail = "; ".join(f"{e.field}: {e.message}" for e in moved)
    return error
