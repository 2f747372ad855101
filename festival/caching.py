"""Conditional GET for public documents: an ``ETag`` from the body, ``304`` when it matches.

The tag is a hash of the exact bytes sent, so it changes whenever anything shown changes
(a withdrawal included) and never needs invalidating. Public documents may be kept by
caches but must be checked again on every use (``no-cache``), so a withdrawn interview
leaves every copy at the next request.
"""

from __future__ import annotations

import hashlib
from typing import Any

from litestar import Request, Response

PUBLIC_REVALIDATE = "public, no-cache"


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _matches(header: str | None, tag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    # Weak comparison (RFC 9110 section 13.1.2): W/ prefixes do not matter for GET.
    offered = {part.strip().removeprefix("W/") for part in header.split(",")}
    return tag in offered


def conditional(
    request: Request[Any, Any, Any],
    body: bytes,
    media_type: str,
    headers: dict[str, str] | None = None,
    *,
    etag: str | None = None,
) -> Response[bytes]:
    """``body`` with its ETag, or an empty 304 when the client already holds it."""
    tag = etag or etag_of(body)
    sent = {"ETag": tag, "Cache-Control": PUBLIC_REVALIDATE, **(headers or {})}
    if _matches(request.headers.get("if-none-match"), tag):
        return Response(b"", status_code=304, headers=sent)
    return Response(body, media_type=media_type, headers=sent)
