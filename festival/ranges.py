"""HTTP range requests (RFC 9110 section 14) for serving media: one range per request.

Phones and browsers ask for video in pieces (``Range: bytes=0-``, then seeks); one range
covers every player we serve, so several ranges at once get the whole file instead.
"""

from __future__ import annotations

import msgspec


class ByteRange(msgspec.Struct, frozen=True):
    start: int
    end: int  # exclusive

    @property
    def length(self) -> int:
        return self.end - self.start


class Unsatisfiable(Exception):
    """The range lies wholly past the end of the file: answer 416."""


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one byte range asked for, or None to send the whole file.

    Malformed or multi-range headers are ignored, as RFC 9110 allows.
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if first == "":  # the last N bytes
            count = int(last)
            if count <= 0:
                raise Unsatisfiable
            return ByteRange(max(0, size - count), size)
        start = int(first)
        end = size if last == "" else min(int(last) + 1, size)
    except ValueError:
        return None
    if start < 0 or (last != "" and int(last) < start):
        return None
    if start >= size:
        raise Unsatisfiable
    return ByteRange(start, end)
