"""How times, dates and durations read on pages: the festival's time zone, plain words."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from jinja2 import Environment

from festival.settings import Settings


def local(value: datetime, timezone: str) -> datetime:
    return value.astimezone(ZoneInfo(timezone))


def clock(value: datetime, timezone: str) -> str:
    """``14:30``: 24-hour clock in the festival's zone, as GOV.UK style prefers."""
    return local(value, timezone).strftime("%H:%M")


def long_date(value: date | datetime, timezone: str | None = None) -> str:
    """``Monday 1 July 2019``."""
    if isinstance(value, datetime) and timezone:
        value = local(value, timezone)
    return f"{value:%A} {value.day} {value:%B %Y}"


def short_date(value: date) -> str:
    return f"{value:%a} {value.day} {value:%b}"


def short_date_of(value: datetime, timezone: str) -> str:
    """``Mon 1 Jul`` for a moment, on the festival's calendar."""
    return short_date(local(value, timezone).date())


def minutes(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 60)


def duration(start: datetime, end: datetime) -> str:
    total = minutes(start, end)
    hours, mins = divmod(total, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour" + ("s" if hours != 1 else ""))
    if mins:
        parts.append(f"{mins} minute" + ("s" if mins != 1 else ""))
    return " ".join(parts) or "0 minutes"


def clip_length(seconds: float | None) -> str:
    """``1 minute 5 seconds``: a clip's length in words, for people and screen readers."""
    if seconds is None:
        return ""
    total = max(1, round(seconds))
    mins, secs = divmod(total, 60)
    parts = []
    if mins:
        parts.append(f"{mins} minute" + ("s" if mins != 1 else ""))
    if secs:
        parts.append(f"{secs} second" + ("s" if secs != 1 else ""))
    return " ".join(parts)


def install(env: Environment, settings: Settings) -> None:
    env.filters.update(
        clip_length=clip_length,
        short_date_of=short_date_of,
        clock=clock,
        long_date=long_date,
        short_date=short_date,
        local=local,
    )
    env.globals.update(duration=duration, base_url=settings.base_url, service_name="Festival")
