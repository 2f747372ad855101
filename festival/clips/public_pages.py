"""A published clip's public page, ``/clips/{id}``, with who owns the story.

The page is served only while the publication gate allows it
(:func:`festival.consent.service.public_clip`): a withdrawn clip answers 410 with a
respectful page, anything else not public answers 404, whatever the address.

Every clip says whose it is: the **owner** (the people in it; the story is theirs),
who **filmed** it (the volunteer, credited as co-producer) and who **published** it
(the festival, under the uses the owners agreed to). :func:`ownership` works that out
for one clip, for this page and for anything else that credits a clip.

The page is built on the clip's public timeline item (its credit, licence, media and
linked sessions and posts) so the two never disagree, with the transcript read from its
captions. ``/clips/{id}/transcript`` is the transcript on a page of its own, under the
same gate.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from festival.clips.cue_edits import stored_captions
from festival.clips.schemas import ClipRow
from festival.clips.service import ClipServices
from festival.consent import queries as consent_queries
from festival.consent import service as consent_service
from festival.consent.schemas import LICENCES, ConsentRow, Licence
from festival.crew import service as crew
from festival.db.engine import Database
from festival.errors import Gone, NotFound
from festival.programme import service as programme
from festival.programme.schemas import Festival
from festival.timeline.cache import Public, cached_page
from festival.timeline.schemas import TimelineItem
from media import captions as captions_tools
from media.errors import MediaError

PUBLIC = NamedDependency[Public]
AnyRequest = Request[Any, Any, Any]

#: From the most open to the most closed: a clip with several owners is shown under the
#: most closed licence any of them chose.
LICENCE_ORDER: tuple[Licence, ...] = (
    "CC-BY-4.0",
    "CC-BY-NC-4.0",
    "CC-BY-NC-ND-4.0",
    "all-rights-reserved",
)
LICENCE_DEEDS: dict[Licence, str] = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-NC-4.0": "https://creativecommons.org/licenses/by-nc/4.0/",
    "CC-BY-NC-ND-4.0": "https://creativecommons.org/licenses/by-nc-nd/4.0/",
}
FESTIVAL_TEAM = "the festival team"
A_VOLUNTEER = "a festival volunteer"


class Ownership(msgspec.Struct):
    """Who a clip belongs to, who made it and who shows it, in words for the public."""

    owners: str
    owner_count: int
    filmed_by: str
    co_producer: bool
    published_by: str
    licence: Licence
    licence_words: str
    licence_url: str | None


class ClipPage(msgspec.Struct):
    """What the public page of one clip shows."""

    item: TimelineItem
    festival: Festival
    ownership: Ownership
    url: str
    oembed_url: str
    #: The captions as paragraphs; empty when the clip has none.
    transcript: list[str]


def licence_of(consents: list[ConsentRow]) -> Licence:
    chosen = {c.licence for c in consents} or {"all-rights-reserved"}
    return max(chosen, key=LICENCE_ORDER.index)


def licence_words(licence: Licence, owner_count: int) -> str:
    if licence == "all-rights-reserved":
        whose = "the owners" if owner_count > 1 else "the owner"
        return f"All rights reserved by {whose}. Shown by the festival with their permission."
    return LICENCES[licence]


async def _filmed_by(db: Database, festival: Festival, clip: ClipRow) -> tuple[str, bool]:
    """The volunteer's display name as a co-producer; staff uploads are the team's."""
    if clip.volunteer_id is None:
        return FESTIVAL_TEAM, False
    try:
        volunteer = await crew.get_volunteer(db, festival.slug, clip.volunteer_id)
    except NotFound:
        return A_VOLUNTEER, True
    return public_volunteer_name(volunteer.display_name), True


def public_volunteer_name(display_name: str) -> str:
    """How a volunteer is credited in public: an address is never shown, even when a
    volunteer was invited without a name."""
    name = display_name.strip()
    return name if name and "@" not in name else A_VOLUNTEER


async def _owned(db: Database, clip: ClipRow) -> tuple[Ownership, Festival]:
    async with db.read() as conn:
        consents = (await consent_queries.consents_of_clips(conn, [clip.id]))[clip.id]
        festival = await programme.festival_by_id(conn, clip.festival_id)
    filmed_by, co_producer = await _filmed_by(db, festival, clip)
    licence = licence_of(consents)
    owned = Ownership(
        owners=consent_service.owners_credit(consents),
        owner_count=max(1, len(consents)),
        filmed_by=filmed_by,
        co_producer=co_producer,
        published_by=festival.name,
        licence=licence,
        licence_words=licence_words(licence, len(consents)),
        licence_url=LICENCE_DEEDS.get(licence),
    )
    return owned, festival


async def ownership(db: Database, clip: ClipRow) -> Ownership:
    """Owner, filmed by, published by and licence of ``clip``, in public words."""
    return (await _owned(db, clip))[0]


async def clip_page(services: ClipServices, clip_id: int, base_url: str) -> ClipPage:
    """The public page of a clip the gate allows; :class:`Gone` or :class:`NotFound`."""
    # Imported here: the timeline builds its items from this module's licence words.
    from festival.timeline import service as timeline

    festival, item = await timeline.item(services.db, clip_id, base_url)
    clip = await consent_service.public_clip(services.db, clip_id)
    owned, _ = await _owned(services.db, clip)
    return ClipPage(
        item=item,
        festival=festival,
        ownership=owned,
        url=item.url,
        oembed_url=f"{base_url}/oembed?" + urlencode({"url": item.url, "format": "json"}),
        transcript=await _transcript(services, clip),
    )


async def _transcript(services: ClipServices, clip: ClipRow) -> list[str]:
    vtt = await stored_captions(services, clip)
    if vtt is None:
        return []
    try:
        return captions_tools.transcript(vtt)
    except MediaError:  # stored captions are checked on the way in; never a 500 here
        return []


def _gone(gone: Gone) -> Template:
    return Template(
        "public/clip_gone.html",
        context={"problem": gone},
        status_code=gone.status,
        headers={"Cache-Control": "no-store"},
    )


async def _cached(
    request: AnyRequest, public: Public, clip_id: int, template: str
) -> Response[Any]:
    """A clip's public page from the cache; the respectful 410 page once withdrawn."""

    async def context() -> dict[str, Any]:
        page = await clip_page(public.clips, clip_id, public.settings.base_url)
        return {"page": page, "festival": page.festival}

    try:
        return await cached_page(request, public, template, context)
    except Gone as gone:
        return _gone(gone)


class PublicClipPages(Controller):
    path = "/clips"
    include_in_schema = False

    @get("/{clip_id:int}")
    async def clip(
        self, request: AnyRequest, public: PUBLIC, clip_id: FromPath[int]
    ) -> Response[Any]:
        return await _cached(request, public, clip_id, "public/clip.html")

    @get("/{clip_id:int}/transcript")
    async def transcript(
        self, request: AnyRequest, public: PUBLIC, clip_id: FromPath[int]
    ) -> Response[Any]:
        return await _cached(request, public, clip_id, "public/transcript.html")
