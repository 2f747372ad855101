"""The published timeline as TimelineJS3 JSON (https://timeline.knightlab.com/docs/json-format.html).

A neighbour's page loads this with ``new TL.Timeline(element, url)``. One event per
public interview, in time order, dated in the festival's own time zone (TimelineJS shows
the numbers it is given, so they must already be local). Text that TimelineJS shows as
HTML is escaped here: titles and credits are people's own words.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from zoneinfo import ZoneInfo

import msgspec

from festival.db.engine import Database
from festival.programme.schemas import Festival
from festival.timeline import service
from festival.timeline.schemas import TimelineItem

#: TimelineJS draws every event at once, so a very long timeline is slow in the browser.
#: The newest 500 are sent; a festival with more interviews than that loses its oldest
#: here (the HTML timeline and its API page through them all).
MAX_EVENTS = 500
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class TLDate(msgspec.Struct, omit_defaults=True):
    year: int
    month: int
    day: int
    hour: int
    minute: int
    display_date: str | None = None


class TLText(msgspec.Struct, omit_defaults=True):
    headline: str
    text: str = ""


class TLMedia(msgspec.Struct, omit_defaults=True):
    url: str
    caption: str = ""
    credit: str = ""
    thumbnail: str | None = None
    link: str | None = None


class TLSlide(msgspec.Struct, omit_defaults=True):
    text: TLText
    media: TLMedia | None = None


class TLEvent(msgspec.Struct, omit_defaults=True):
    start_date: TLDate
    text: TLText
    media: TLMedia
    unique_id: str
    group: str | None = None


class TLTimeline(msgspec.Struct, omit_defaults=True):
    title: TLSlide
    events: list[TLEvent]


def _start(item: TimelineItem, zone: ZoneInfo) -> TLDate:
    local = item.at.astimezone(zone)
    return TLDate(
        year=local.year,
        month=local.month,
        day=local.day,
        hour=local.hour,
        minute=local.minute,
        display_date=(
            f"{WEEKDAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]} {local.year}, "
            f"{local:%H:%M}"
        ),
    )


def _text(item: TimelineItem) -> str:
    lines = [f"<p>The story of {escape(item.credit)}. Filmed by {escape(item.filmed_by)}.</p>"]
    if item.sessions:
        links = ", ".join(f'<a href="{escape(s.url)}">{escape(s.title)}</a>' for s in item.sessions)
        label = "Session" if len(item.sessions) == 1 else "Sessions"
        lines.append(f"<p>{label}: {links}.</p>")
    lines.append(f'<p><a href="{escape(item.url)}">Watch with captions and transcript</a></p>')
    return "".join(lines)


def event(item: TimelineItem, zone: ZoneInfo) -> TLEvent:
    return TLEvent(
        start_date=_start(item, zone),
        text=TLText(headline=escape(item.title), text=_text(item)),
        media=TLMedia(
            # An address ending in .mp4 is shown by TimelineJS as a video player.
            url=item.video_url,
            thumbnail=item.thumb_url,
            caption=escape(item.credit),
            credit=escape(item.licence_words),
            link=item.url,
        ),
        group=next((s.track for s in item.sessions if s.track), None),
        unique_id=f"clip-{item.id}",
    )


def timeline_of(festival: Festival, items: Sequence[TimelineItem], base_url: str) -> TLTimeline:
    """``items`` in any order become events in time order."""
    zone = ZoneInfo(festival.timezone)
    ordered = sorted(items, key=lambda i: (i.at, i.id))
    timeline_url = f"{base_url}/festivals/{festival.slug}/timeline"
    return TLTimeline(
        title=TLSlide(
            text=TLText(
                headline=f"Interviews from {escape(festival.name)}",
                text=(
                    "<p>Shown with the consent of the people in them. "
                    f'<a href="{escape(timeline_url)}">See them all on the festival\'s '
                    "timeline</a>.</p>"
                ),
            )
        ),
        events=[event(item, zone) for item in ordered],
    )


_encoder = msgspec.json.Encoder()


async def timelinejs(db: Database, slug: str, base_url: str) -> bytes:
    festival, newest_first = await service.latest(db, slug, base_url, limit=MAX_EVENTS)
    return _encoder.encode(timeline_of(festival, newest_first, base_url))
