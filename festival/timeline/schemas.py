"""Shapes of the public timeline: published interviews in time order, with their context.

Every item here has passed the publication gate; nothing private (an address, a consent,
a volunteer's contact details) is ever part of these shapes.
"""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from festival.consent.schemas import Licence

#: The most items one timeline page may hold.
MAX_LIMIT = 100
DEFAULT_LIMIT = 20


class LinkedSession(msgspec.Struct):
    id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    room: str
    track: str
    url: str


class LinkedPost(msgspec.Struct):
    id: int
    title: str
    author: str
    published_at: datetime
    #: The post on the blog; empty when staff added it without an address.
    url: str


class TimelineItem(msgspec.Struct):
    """One published interview as the public sees it."""

    id: int
    title: str
    #: When it was filmed (or its slot's start, or when it arrived), in UTC.
    at: datetime
    #: The day it belongs to, in the festival's time zone.
    day: date
    duration: float | None
    width: int | None
    height: int | None
    #: Who the story belongs to, as they chose to be credited.
    credit: str
    filmed_by: str
    licence: Licence
    licence_words: str
    licence_url: str | None
    url: str
    transcript_url: str
    video_url: str
    poster_url: str | None
    thumb_url: str | None
    captions_url: str | None
    video_size: int | None
    sessions: list[LinkedSession]
    posts: list[LinkedPost]


class TimelineDay(msgspec.Struct):
    day: date
    items: list[TimelineItem]


class TimelineFilters(msgspec.Struct):
    day: date | None = None
    session: int | None = None
    track: str | None = None
    post: int | None = None
    q: str | None = None


class TimelinePage(msgspec.Struct):
    """One page of the timeline: items in time order, grouped by day."""

    festival: str
    festival_name: str
    filters: TimelineFilters
    days: list[TimelineDay]
    count: int
    #: Pass as ``?cursor=`` for the page after this one; null on the last page.
    next_cursor: str | None
    next_url: str | None
