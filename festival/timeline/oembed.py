"""oEmbed 1.0 (https://oembed.com/) for our clip pages, and the player page it embeds.

A blog pastes a clip page address; its oEmbed consumer finds ``/oembed`` through the
discovery ``<link>`` on the page and asks for the embed code, which is an ``<iframe>`` of
``/clips/{id}/player``. Both answer only while the publication gate allows the "blog"
scope, which is the use the interviewee agreed to when they allowed the festival's blog.

A clip that is not embeddable answers 404 here whatever the reason, withdrawn included:
the public contract names 404 for oEmbed, consumers treat 404 as "no embed" while many
treat 410 as an unexpected failure, and the respectful "taken down" words belong on the
clip page and in the player frame (which do answer 410), where a person reads them.
"""

from __future__ import annotations

import re
from html import escape
from urllib.parse import urlsplit

import msgspec

from festival.db.engine import Database
from festival.errors import BadRequest, Gone, NotFound, NotImplementedFormat
from festival.programme.schemas import Festival
from festival.timeline import service
from festival.timeline.schemas import TimelineItem
from media.posters import POSTER_SIDE, THUMB_SIDE

#: Without maxwidth or maxheight an embed fits a 640 px square: 640 wide for a landscape
#: clip, and 640 tall for a portrait phone clip, which at 640 wide would stand 1138 px.
DEFAULT_SIDE = 640
#: An embed may grow past the default up to the clip's own size when a consumer asks.
LARGEST_SIDE = 4096
#: The embed code may be kept this long; the player inside it checks the gate on every
#: load, so a withdrawal still takes effect at once.
CACHE_AGE = 3600
_CLIP_PATH = re.compile(r"/clips/([1-9][0-9]{0,17})/?")
_LIMIT = 1_000_000


class OEmbedQuery(msgspec.Struct, frozen=True):
    url: str
    maxwidth: int | None = None
    maxheight: int | None = None


class OEmbed(msgspec.Struct, omit_defaults=True, kw_only=True):
    """An oEmbed 1.0 ``video`` response."""

    # No defaults on the fields every answer carries: omit_defaults would drop them.
    version: str
    type: str
    title: str
    author_name: str
    provider_name: str
    provider_url: str
    html: str
    width: int
    height: int
    cache_age: int
    thumbnail_url: str | None = None
    thumbnail_width: int | None = None
    thumbnail_height: int | None = None


class Player(msgspec.Struct, frozen=True):
    festival: Festival
    item: TimelineItem


# --- reading the request --------------------------------------------------------------


def _dimension(name: str, value: str | None) -> int | None:
    if value is None or value == "":
        return None
    text = value.strip()
    if not text.isdigit() or not 0 < int(text) <= _LIMIT:
        raise BadRequest.field(
            name,
            f"must be a whole number of pixels above 0, not {value[:40]!r}",
            fix=f"Send {name} as a positive whole number such as 640, or leave it out.",
        )
    return int(text)


def parse_query(
    url: str | None, format: str | None, maxwidth: str | None, maxheight: str | None
) -> OEmbedQuery:
    """The request's parameters, checked in the order the spec gives them."""
    if not url:
        raise BadRequest.field(
            "url",
            "is required: the address of the interview to embed",
            fix="Send url=<the address of a clip page>, such as /oembed?url=https://"
            "this.site/clips/12&format=json.",
        )
    if format and format != "json":
        raise NotImplementedFormat(
            f"This site gives oEmbed only as JSON, not as {format[:40]!r}.",
            fix="Send format=json, or leave format out.",
        )
    return OEmbedQuery(
        url=url,
        maxwidth=_dimension("maxwidth", maxwidth),
        maxheight=_dimension("maxheight", maxheight),
    )


def clip_id_of(url: str, base_url: str) -> int:
    """The clip id in one of our clip page addresses; :class:`NotFound` for any other."""
    ours = urlsplit(base_url)
    try:
        given = urlsplit(url.strip())
        same_site = (
            given.scheme.lower() == ours.scheme.lower()
            and (given.hostname or "") == (ours.hostname or "")
            and _port(given.scheme, given.port) == _port(ours.scheme, ours.port)
            and given.username is None  # user@host addresses are not links to pages
        )
    except ValueError:  # a port that is not a number, or a malformed IPv6 host
        same_site = False
    prefix = ours.path.rstrip("/")
    match = _CLIP_PATH.fullmatch(given.path[len(prefix) :]) if same_site else None
    if match is None or not given.path.startswith(prefix):
        raise NotFound(
            f"{url[:200]!r} is not the address of an interview on this site.",
            fix=f"Send the address of a clip page, {base_url}/clips/<number>, as url.",
        )
    return int(match.group(1))


def _port(scheme: str, port: int | None) -> int | None:
    defaults = {"http": 80, "https": 443}
    return port if port is not None else defaults.get(scheme.lower())


# --- sizes ----------------------------------------------------------------------------------


def _fit(width: int, height: int, box_width: int, box_height: int) -> tuple[int, int]:
    """The largest size with the aspect of ``width``×``height`` inside the box."""
    scale = min(box_width / width, box_height / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def embed_size(
    width: int | None, height: int | None, maxwidth: int | None, maxheight: int | None
) -> tuple[int, int]:
    """The iframe's size: the clip's aspect, inside maxwidth×maxheight when given."""
    if not width or not height:
        width, height = 16, 9  # not probed: the common shape of a video
    if maxwidth is None and maxheight is None:
        return _fit(width, height, DEFAULT_SIDE, DEFAULT_SIDE)
    largest = max(DEFAULT_SIDE, min(LARGEST_SIDE, max(width, height)))
    box_width = min(maxwidth or largest, largest)
    box_height = min(maxheight or largest, largest)
    return _fit(width, height, box_width, box_height)


def _scaled(width: int, height: int, side: int) -> tuple[int, int]:
    # The same rule media.posters uses to size the poster and thumbnail files.
    scale = min(1.0, side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _thumbnail(item: TimelineItem, query: OEmbedQuery) -> tuple[str, int, int] | None:
    """The largest picture of the clip that fits maxwidth×maxheight, if any does."""
    if not item.width or not item.height:
        return None
    choices = [(item.poster_url, POSTER_SIDE), (item.thumb_url, THUMB_SIDE)]
    for url, side in choices:
        if url is None:
            continue
        width, height = _scaled(item.width, item.height, side)
        if width <= (query.maxwidth or width) and height <= (query.maxheight or height):
            return url, width, height
    return None


# --- answers ----------------------------------------------------------------------------


def _not_embeddable(url: str) -> NotFound:
    return NotFound(
        f"There is no published interview to embed at {url[:200]!r}. It may not be "
        "published, or the people in it have not agreed to it being shown on other "
        "sites, or have withdrawn it.",
        fix="Embed another interview from the festival's timeline.",
    )


def embed_html(player_url: str, title: str, width: int, height: int) -> str:
    return (
        f'<iframe src="{escape(player_url)}" width="{width}" height="{height}" '
        f'title="{escape("Interview: " + title)}" allow="fullscreen" loading="lazy">'
        "</iframe>"
    )


def response_for(
    festival: Festival, item: TimelineItem, query: OEmbedQuery, base_url: str
) -> OEmbed:
    width, height = embed_size(item.width, item.height, query.maxwidth, query.maxheight)
    thumbnail = _thumbnail(item, query)
    return OEmbed(
        version="1.0",
        type="video",
        title=item.title,
        author_name=item.credit,
        provider_name=festival.name,
        provider_url=base_url,
        html=embed_html(f"{item.url}/player", item.title, width, height),
        width=width,
        height=height,
        cache_age=CACHE_AGE,
        thumbnail_url=thumbnail[0] if thumbnail else None,
        thumbnail_width=thumbnail[1] if thumbnail else None,
        thumbnail_height=thumbnail[2] if thumbnail else None,
    )


async def oembed(
    db: Database,
    base_url: str,
    *,
    url: str | None,
    format: str | None = None,
    maxwidth: str | None = None,
    maxheight: str | None = None,
) -> OEmbed:
    """The oEmbed answer for ``url``, only while its people allow the blog scope."""
    query = parse_query(url, format, maxwidth, maxheight)
    clip_id = clip_id_of(query.url, base_url)
    try:
        festival, item = await service.item(db, clip_id, base_url, scope="blog")
    except (Gone, NotFound):
        raise _not_embeddable(query.url) from None
    return response_for(festival, item, query, base_url)


async def player(db: Database, clip_id: int, base_url: str) -> Player:
    """The clip for the embedded player; :class:`Gone` or :class:`NotFound` otherwise."""
    festival, item = await service.item(db, clip_id, base_url, scope="blog")
    return Player(festival=festival, item=item)
