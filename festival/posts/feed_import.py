"""Reading the festival blog's Atom or RSS feed: fetch it, parse it, check every entry.

Nothing here writes: :func:`read_feed` either returns every entry ready to store, or
raises :class:`~festival.errors.Invalid` saying what was wrong with the feed, so the
caller can store all of a feed or none of it. The failures staff may meet::

    the address        not http(s), or not an address at all
    the remote         unreachable, too slow, a 4xx/5xx answer, too many redirects,
                       a body over MAX_FEED_BYTES
    the document       empty, a web page, not XML, XML that is not well-formed (with its
                       line and column), XML that is not Atom or RSS
    the entries        without a title, without a date, without an id or a link

Each says which address, which status, which line or which entry, and what to do next.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
import xml.parsers.expat
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit
from xml.sax import SAXParseException

import feedparser  # type: ignore[import-untyped]
import httpx
import msgspec

from festival.errors import FieldError, Invalid
from festival.posts.schemas import AUTHOR_LENGTH, SUMMARY_LENGTH, TITLE_LENGTH, URL_LENGTH

MAX_FEED_BYTES = 5 * 1024 * 1024
TIMEOUT_SECONDS = 10.0
#: The longest entry id the posts table keeps; longer ones are stored as a digest.
ENTRY_ID_LENGTH = 500
#: How many faulty entries one error lists; a broken feed often has the same fault in all.
MAX_LISTED = 5
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"
)


class FeedEntry(msgspec.Struct):
    """One entry of the feed, checked and ready to store as a post."""

    entry_id: str
    title: str
    author: str
    url: str
    summary: str
    published_at: datetime


class Feed(msgspec.Struct):
    url: str
    title: str
    entries: list[FeedEntry]


def _refused(message: str, *, detail: str, fix: str) -> Invalid:
    return Invalid(detail, fix=fix, errors=[FieldError("url", message)])


def check_url(url: str) -> str:
    """The address, trimmed, if it is an http(s) address; otherwise Invalid."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise _refused(
            "Enter the feed's address, starting with http:// or https://",
            detail=f"{url!r} is not an http:// or https:// address, so it cannot be fetched."
            if url
            else "No feed address was given.",
            fix="Give the full address of the blog's feed, "
            "for example https://blog.example.org/feeds/posts/default.",
        )
    return url


# --- fetching -----------------------------------------------------------------------------


async def fetch(http: httpx.AsyncClient, url: str) -> tuple[bytes, str, str]:
    """The body, its content type and the final address (after redirects)."""
    try:
        async with http.stream(
            "GET",
            url,
            headers={"Accept": ACCEPT},
            timeout=TIMEOUT_SECONDS,
            follow_redirects=True,
        ) as response:
            if response.status_code >= 400:
                raise _refused(
                    f"The blog answered {response.status_code} for this address",
                    detail=f"Fetching {url} failed: the blog's server answered "
                    f"{response.status_code} {response.reason_phrase}.".replace(" .", "."),
                    fix="Check the address in a browser. "
                    + (
                        "The server had a problem: try again later."
                        if response.status_code >= 500
                        else "It may have moved, or need no sign-in to read."
                    ),
                )
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_FEED_BYTES:
                raise _too_large(url)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_FEED_BYTES:
                    raise _too_large(url)
            return bytes(body), response.headers.get("content-type", ""), str(response.url)
    except httpx.TimeoutException:
        raise _refused(
            "The blog did not answer in time",
            detail=f"Fetching {url} took longer than {TIMEOUT_SECONDS:.0f} seconds.",
            fix="Check that the blog is up, then try again.",
        ) from None
    except httpx.TooManyRedirects:
        raise _refused(
            "The address redirects too many times",
            detail=f"Fetching {url} went round too many redirects.",
            fix="Open the address in a browser and import the address it ends at.",
        ) from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol):
        raise _refused(
            "Enter the feed's address, starting with http:// or https://",
            detail=f"{url} could not be fetched: it, or an address it redirects to, "
            "is not an http:// or https:// address.",
            fix="Give the full address of the blog's feed.",
        ) from None
    except httpx.HTTPError as error:
        reason = str(error) or type(error).__name__
        raise _refused(
            "The blog could not be reached",
            detail=f"{url} could not be reached: {reason}.",
            fix="Check the address for typing mistakes and that the blog is up, then try again.",
        ) from None


def _too_large(url: str) -> Invalid:
    return _refused(
        "The feed is larger than 5 MB",
        detail=f"The document at {url} is larger than {MAX_FEED_BYTES // (1024 * 1024)} MB, "
        "more than any blog feed needs.",
        fix="Check that this is the blog's feed; most blogs can limit how many posts "
        "their feed holds.",
    )


# --- parsing ------------------------------------------------------------------------------


def _sniff(body: bytes) -> bytes:
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:512].lower()


class _FeedLinks(HTMLParser):
    """Feed addresses a web page announces with ``<link rel="alternate">``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "link":
            return
        values = {k: (v or "") for k, v in attrs}
        kind = values.get("type", "").lower()
        if "alternate" in values.get("rel", "").lower().split() and kind in (
            "application/atom+xml",
            "application/rss+xml",
        ):
            self.found.append(values.get("href", ""))


def _announced_feed(body: bytes, base: str) -> str:
    finder = _FeedLinks()
    try:
        finder.feed(body[:200_000].decode("utf-8", errors="replace"))
    except Exception:  # a broken page gives no suggestion, nothing worse
        return ""
    for href in finder.found:
        candidate = urljoin(base, href.strip())
        if urlsplit(candidate).scheme in ("http", "https"):
            return candidate
    return ""


def _xml_error_position(body: bytes) -> tuple[int, int, str] | None:
    """Line, column and message of the first well-formedness error, counted in the
    document as fetched (feedparser's own count can be off by the line it adds)."""
    parser = xml.parsers.expat.ParserCreate()
    try:
        parser.Parse(body, True)
    except xml.parsers.expat.ExpatError as error:
        message = xml.parsers.expat.ErrorString(error.code) or "not well-formed"
        if message == xml.parsers.expat.errors.XML_ERROR_UNKNOWN_ENCODING:
            return None  # an encoding feedparser reads but expat does not: ask feedparser
        return error.lineno, error.offset + 1, message
    return None


def _not_a_feed(url: str, detail: str, fix: str) -> Invalid:
    return _refused("This address does not give an Atom or RSS feed", detail=detail, fix=fix)


def _check_document(url: str, body: bytes, content_type: str, parsed: Any, base: str) -> None:
    start = _sniff(body)
    if not start:
        raise _not_a_feed(
            url,
            f"{url} answered with an empty document, not a feed.",
            "Check the address of the blog's feed.",
        )
    html_page = start.startswith((b"<!doctype html", b"<html")) or (
        "html" in content_type.lower() and not parsed.get("version")
    )
    if html_page:
        announced = _announced_feed(body, base)
        raise _not_a_feed(
            url,
            f"{url} is a web page, not a feed.",
            f"The page names its feed: import {announced} instead."
            if announced
            else "Give the address of the blog's feed: look for a feed, RSS or Atom link "
            "on the blog, often ending in /feed, /rss or .xml.",
        )
    if not start.startswith(b"<"):
        raise _not_a_feed(
            url,
            f"{url} did not answer with XML, so it is not an Atom or RSS feed.",
            "Check the address of the blog's feed.",
        )
    error = parsed.get("bozo_exception")
    if parsed.get("bozo") and isinstance(error, SAXParseException):
        position = _xml_error_position(body)
        if position:
            line, column, message = position
        else:
            line = error.getLineNumber() or 0
            column = error.getColumnNumber() or 0
            message = error.getMessage()
        raise Invalid(
            f"The feed at {url} is not well-formed XML: {message} "
            f"at line {line}, column {column}. Nothing was imported.",
            fix="The blog's feed is broken or was cut short. Try again later, "
            "or ask whoever runs the blog to mend the feed.",
            errors=[
                FieldError("url", f"The feed is not well-formed XML: {message} at line {line}")
            ],
        )
    if not parsed.get("version"):
        raise _not_a_feed(
            url,
            f"{url} gives XML, but not an Atom or RSS feed.",
            "Check the address of the blog's feed.",
        )


_BLOCKS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tr",
        "ul",
    ]
)
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class _Text(HTMLParser):
    """Plain text of an HTML fragment: blocks become line breaks, scripts are dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self._skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n\n" if tag == "p" else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template"):
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n\n" if tag == "p" else "\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def plain_text(html: str) -> str:
    """``<p>One</p><p>Two &amp; three</p>`` as ``One\\n\\nTwo & three``."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    text = _CONTROL.sub("", "".join(parser.parts).replace("\r", ""))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def one_line(html: str) -> str:
    return " ".join(plain_text(html).split())


def _shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word where one is near, marked with …."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"


def _value(entry: Any, key: str) -> str:
    value = entry.get(key)
    return value if isinstance(value, str) else ""


def _content(entry: Any) -> str:
    summary = _value(entry, "summary")
    if summary:
        return summary
    for part in entry.get("content") or []:
        if isinstance(part, dict) and isinstance(part.get("value"), str) and part["value"]:
            return str(part["value"])
    return ""


def _date(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if isinstance(value, time.struct_time):
            try:
                return datetime(*value[:6], tzinfo=UTC)
            except ValueError:
                continue
    return None


def _link(entry: Any) -> str:
    link = _value(entry, "link").strip()
    if len(link) <= URL_LENGTH and urlsplit(link).scheme in ("http", "https"):
        return link
    return ""


def _entry_id(entry: Any) -> str:
    entry_id = _value(entry, "id").strip() or _value(entry, "link").strip()
    if len(entry_id) > ENTRY_ID_LENGTH:
        entry_id = "sha256:" + hashlib.sha256(entry_id.encode()).hexdigest()
    return entry_id


def _entry(position: int, entry: Any, faults: list[tuple[int, str]]) -> FeedEntry | None:
    """Entry number ``position`` (from 1) ready to store, or None with its faults noted."""
    title = _shorten(one_line(_value(entry, "title")), TITLE_LENGTH)
    entry_id = _entry_id(entry)
    name = f"Entry {position}" + (f" (“{_shorten(title, 60)}”)" if title else "")
    missing = []
    if not title:
        missing.append("title")
    published = _date(entry)
    if published is None:
        written = _value(entry, "published") or _value(entry, "updated")
        if written:
            faults.append((position, f"{name} has a date that cannot be read: {written!r}"))
        else:
            missing.append("date (published or updated)")
    if not entry_id:
        missing.append("id or link")
    if missing:
        faults.append((position, f"{name} has no " + " and no ".join(missing)))
    if missing or published is None:
        return None
    return FeedEntry(
        entry_id=entry_id,
        title=title,
        author=_shorten(one_line(_value(entry, "author")), AUTHOR_LENGTH),
        url=_link(entry),
        summary=_shorten(plain_text(_content(entry)), SUMMARY_LENGTH),
        published_at=published,
    )


def parse(url: str, body: bytes, content_type: str = "", base: str = "") -> Feed:
    """Every entry of the feed in ``body``, checked; Invalid when any is unusable.
    Relative links resolve against ``base``, the address the feed came from."""
    parsed = feedparser.parse(
        body,
        response_headers={"content-location": base or url, "content-type": content_type},
        sanitize_html=True,
        resolve_relative_uris=True,
    )
    _check_document(url, body, content_type, parsed, base or url)
    faults: list[tuple[int, str]] = []
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    for position, raw in enumerate(parsed.entries, start=1):
        entry = _entry(position, raw, faults)
        # A feed that repeats an entry means the same post: the first one counts.
        if entry is not None and entry.entry_id not in seen:
            seen.add(entry.entry_id)
            entries.append(entry)
    if faults:
        listed = faults[:MAX_LISTED]
        more = len(faults) - len(listed)
        detail = "; ".join(m for _, m in listed) + (f"; and {more} more" if more else "")
        raise Invalid(
            f"The feed at {url} has entries that cannot be imported: {detail}. "
            "Nothing was imported.",
            fix="Every entry needs a title and a published or updated date. Mend them on the "
            "blog, then import again, or add the posts by hand.",
            errors=[FieldError(f"entries[{n - 1}]", message) for n, message in listed],
        )
    return Feed(url=url, title=one_line(_value(parsed.feed, "title")), entries=entries)


async def read_feed(http: httpx.AsyncClient, url: str) -> Feed:
    """Fetch and parse the feed at ``url``: every entry, or Invalid saying what was wrong."""
    url = check_url(url)
    body, content_type, final = await fetch(http, url)
    # feedparser is plain Python and a large feed takes a while: keep the loop free.
    return await asyncio.to_thread(parse, url, body, content_type, final)
