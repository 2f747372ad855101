"""The published interviews as feeds for neighbours: Atom (RFC 4287) and JSON Feed 1.1.

Both are built from :func:`festival.timeline.service.latest`, so they show exactly what
the publication gate allows for the "timeline" scope, newest first. The bodies depend on
nothing but the items (no "now" anywhere), so the same interviews always give the same
bytes and the same ETag, and a withdrawal changes both at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from feedgen.entry import FeedEntry  # type: ignore[import-untyped]
from feedgen.feed import FeedGenerator  # type: ignore[import-untyped]

from festival.db.engine import Database
from festival.programme.schemas import Festival
from festival.timeline import service
from festival.timeline.schemas import TimelineItem

#: How many interviews a feed carries; readers keep what they have already seen.
FEED_SIZE = 50
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
JSON_FEED_TYPE = "application/feed+json"
VIDEO_TYPE = "video/mp4"


class FeedUrls(msgspec.Struct, frozen=True):
    timeline: str
    atom: str
    json: str

    @classmethod
    def of(cls, base_url: str, slug: str) -> FeedUrls:
        root = f"{base_url}/festivals/{slug}"
        return cls(
            timeline=f"{root}/timeline",
            atom=f"{root}/interviews.atom",
            json=f"{root}/interviews.json",
        )


def session_words(item: TimelineItem) -> str:
    """The linked sessions in plain words: ``Sessions: A (Track); B.``"""
    if not item.sessions:
        return ""
    names = [f"{s.title} ({s.track})" if s.track else s.title for s in item.sessions]
    label = "Session" if len(names) == 1 else "Sessions"
    return f"{label}: " + "; ".join(names) + "."


def tracks(item: TimelineItem) -> list[str]:
    """The tracks of the item's sessions, each once, in order."""
    return list(dict.fromkeys(s.track for s in item.sessions if s.track))


def summary_text(item: TimelineItem) -> str:
    """Credit, who filmed it and its sessions, as plain text for any reader."""
    parts = [f"The story of {item.credit}.", f"Filmed by {item.filmed_by}."]
    if sessions := session_words(item):
        parts.append(sessions)
    return " ".join(parts)


def _feed_updated(festival: Festival, items: Sequence[TimelineItem]) -> datetime:
    # The newest interview's time, or the festival's own for an empty feed: never the
    # clock, which would change the ETag on every request.
    return max([festival.updated_at, *(i.at for i in items)])


# --- Atom -------------------------------------------------------------------------------

_ATOM = "http://www.w3.org/2005/Atom"
_LINK_ATTRIBUTES = ("rel", "type", "hreflang", "title", "length")


class _Entry(FeedEntry):  # type: ignore[misc]
    """A feedgen entry whose links keep their attributes.

    feedgen 1.0.0 writes an entry's ``<link>`` with its ``href`` only, dropping ``rel``,
    ``type`` and ``length`` (lkiesow/python-feedgen#135, open), so an enclosure would
    read as a second alternate link. The links are written in the order they were
    given, so the attributes are put back in that order.
    """

    def atom_entry(self, extensions: bool = True) -> Any:
        entry = super().atom_entry(extensions)
        written = [child for child in entry if child.tag in ("link", f"{{{_ATOM}}}link")]
        for element, given in zip(written, self.link() or [], strict=True):
            for name in _LINK_ATTRIBUTES:
                if given.get(name):
                    element.attrib[name] = str(given[name])
        return entry


def atom(festival: Festival, items: Sequence[TimelineItem], base_url: str) -> bytes:
    urls = FeedUrls.of(base_url, festival.slug)
    feed = FeedGenerator()
    feed.id(urls.atom)
    feed.title(f"Interviews from {festival.name}")
    feed.subtitle(
        f"Interviews filmed at {festival.name}, shown with the consent of the people in them."
    )
    feed.author({"name": festival.name, "uri": f"{base_url}/festivals/{festival.slug}"})
    feed.link(href=urls.atom, rel="self", type="application/atom+xml")
    feed.link(href=urls.timeline, rel="alternate", type="text/html")
    feed.language("en-GB")
    feed.updated(_feed_updated(festival, items))
    for item in items:
        entry = feed.add_entry(_Entry(), order="append")
        # The clip page's address never changes for a clip, so readers never see a
        # repeat; ids are never reused (see the migrations).
        entry.id(item.url)
        entry.title(item.title)
        entry.published(item.at)
        entry.updated(item.at)
        entry.author({"name": item.credit})
        entry.summary(summary_text(item))
        entry.rights(item.licence_words)
        entry.link(href=item.url, rel="alternate", type="text/html")
        enclosure = {"href": item.video_url, "rel": "enclosure", "type": VIDEO_TYPE}
        if item.video_size:
            enclosure["length"] = str(item.video_size)
        entry.link(enclosure)
        for track in tracks(item):
            entry.category(term=track)
    body: bytes = feed.atom_str(pretty=True)
    return body


# --- JSON Feed 1.1 ------------------------------------------------------------------


class JsonFeedAuthor(msgspec.Struct, omit_defaults=True):
    name: str
    url: str | None = None


class JsonFeedAttachment(msgspec.Struct, omit_defaults=True):
    url: str
    mime_type: str
    title: str | None = None
    size_in_bytes: int | None = None
    duration_in_seconds: float | None = None


class JsonFeedItem(msgspec.Struct, omit_defaults=True, kw_only=True):
    id: str
    url: str
    title: str
    content_text: str
    summary: str
    date_published: datetime
    authors: list[JsonFeedAuthor]
    attachments: list[JsonFeedAttachment]
    image: str | None = None
    tags: list[str] = []


class JsonFeed(msgspec.Struct, omit_defaults=True, kw_only=True):
    """JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/). Fields are written in this
    order, and the spec asks for ``version`` at the top."""

    version: str
    title: str
    home_page_url: str
    feed_url: str
    description: str
    authors: list[JsonFeedAuthor]
    language: str
    items: list[JsonFeedItem]


_encoder = msgspec.json.Encoder()


def json_feed_of(festival: Festival, items: Sequence[TimelineItem], base_url: str) -> JsonFeed:
    urls = FeedUrls.of(base_url, festival.slug)
    return JsonFeed(
        version=JSON_FEED_VERSION,
        title=f"Interviews from {festival.name}",
        home_page_url=urls.timeline,
        feed_url=urls.json,
        description=(
            f"Interviews filmed at {festival.name}, shown with the consent of the people in them."
        ),
        authors=[JsonFeedAuthor(name=festival.name, url=f"{base_url}/festivals/{festival.slug}")],
        language="en-GB",
        items=[
            JsonFeedItem(
                id=item.url,
                url=item.url,
                title=item.title,
                content_text=summary_text(item) + f" {item.licence_words}",
                summary=summary_text(item),
                date_published=item.at,
                authors=[JsonFeedAuthor(name=item.credit)],
                image=item.poster_url,
                attachments=[
                    JsonFeedAttachment(
                        url=item.video_url,
                        mime_type=VIDEO_TYPE,
                        title=item.title,
                        size_in_bytes=item.video_size,
                        duration_in_seconds=item.duration,
                    )
                ],
                tags=tracks(item),
            )
            for item in items
        ],
    )


def json_feed(festival: Festival, items: Sequence[TimelineItem], base_url: str) -> bytes:
    return _encoder.encode(json_feed_of(festival, items, base_url))


# --- reading them -----------------------------------------------------------------------


async def atom_feed(db: Database, slug: str, base_url: str) -> bytes:
    """The festival's newest published interviews as an Atom document."""
    festival, items = await service.latest(db, slug, base_url, limit=FEED_SIZE)
    return atom(festival, items, base_url)


async def interviews_json(db: Database, slug: str, base_url: str) -> bytes:
    """The festival's newest published interviews as a JSON Feed 1.1 document."""
    festival, items = await service.latest(db, slug, base_url, limit=FEED_SIZE)
    return json_feed(festival, items, base_url)
