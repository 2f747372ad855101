"""The staff post form as the API's Structs, and its answers as a form shows them again.

A person types the date a post was published and, if they like, the time, both in the
festival's own time zone; the API takes one aware ``published_at``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from festival.errors import FestivalError, FieldError, Invalid
from festival.formatting import clock, local
from festival.forms import convert, form_values
from festival.posts.schemas import Post, PostIn, PostPatch

POST_LABELS = {
    "title": "Title",
    "author": "Author",
    "url": "Web address of the post",
    "published_on": "Date published",
    "published_time": "Time published",
    "summary": "Summary",
}
IMPORT_LABELS = {"feed_url": "Address of the blog's feed"}
#: A post given a day but no time is placed at midday, safely inside that day anywhere.
MIDDAY = time(12, 0)
_CLOCK = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*$")
_WEB = re.compile(r"^https?://\S+$")
_UK_DATE = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")


def _clock(text: str) -> time | None:
    match = _CLOCK.match(text)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        return None
    return time(int(match.group(1)), int(match.group(2)))


def _day(text: str) -> date | None:
    """``19/06/2019`` (day first, as people in the UK write it) or ``2019-06-19``."""
    match = _UK_DATE.match(text)
    try:
        if match:
            day, month, year = (int(part) for part in match.groups())
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        return None


def post_in(form: Mapping[str, Any], timezone: str) -> PostIn:
    values = form_values(form)
    errors: list[FieldError] = []
    if not str(values.get("title") or "").strip():
        errors.append(FieldError("title", "Enter the post's title"))
    url = str(values.get("url") or "").strip()
    if url and not _WEB.match(url):
        errors.append(FieldError("url", "Enter a web address that starts with https://"))
    day_text = str(values.pop("published_on", "") or "").strip()
    day: date | None = None
    if not day_text:
        errors.append(FieldError("published_on", "Enter the date the post was published"))
    else:
        day = _day(day_text)
        if day is None:
            errors.append(FieldError("published_on", "Enter a real date, like 19/06/2019"))
    time_text = str(values.pop("published_time", "") or "").strip()
    at = _clock(time_text) if time_text else MIDDAY
    if at is None:
        errors.append(FieldError("published_time", "Enter a time on the 24-hour clock, like 09:30"))
    if errors:
        raise Invalid(
            "; ".join(f"{e.field}: {e.message}" for e in errors),
            fix="Correct the answers marked and send the form again.",
            errors=errors,
        )
    assert day is not None and at is not None
    values["url"] = url
    values["published_at"] = datetime.combine(day, at, ZoneInfo(timezone))
    return convert(values, PostIn)


def post_patch(form: Mapping[str, Any], timezone: str) -> PostPatch:
    """The edit form sends every field, so a cleared box really clears the value."""
    return PostPatch(**msgspec.structs.asdict(post_in(form, timezone)))


def post_values(post: Post, timezone: str) -> dict[str, str]:
    return {
        "title": post.title,
        "author": post.author,
        "url": post.url,
        "published_on": f"{local(post.published_at, timezone):%d/%m/%Y}",
        "published_time": clock(post.published_at, timezone),
        "summary": post.summary,
    }


def as_import_error(error: FestivalError) -> FestivalError:
    """The import API names the address ``url``; the page's field is ``feed_url``, beside
    the post form's own ``url``."""
    if not any(e.field == "url" for e in error.errors):
        return error
    renamed = [
        FieldError("feed_url" if e.field == "url" else e.field, e.message) for e in error.errors
    ]
    copy = type(error)(error.detail, fix=error.fix, errors=renamed, headers=error.headers)
    return copy
