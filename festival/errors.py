"""The service's one error tree, and its mapping to RFC 9457 problem details.

Services raise these; nothing else decides status codes::

    FestivalError
    ├── Invalid (422)          a value is out of range or breaks a rule of the domain
    │   └── BadRequest (400)   the request itself cannot be read
    ├── Unauthorized (401)     no identity, or a token that is unknown, revoked or expired
    ├── Forbidden (403)        an identity that may not do this
    │   └── ConsentRequired    the person filmed has not agreed to this use
    ├── NotFound (404)
    ├── Conflict (409)         clashes with something that exists (a room, a slug, a person)
    ├── Gone (410)             removed for good, as when consent is withdrawn
    ├── PayloadTooLarge (413)
    ├── TooManyRequests (429)
    └── ServerError (500)      our fault; the details go to the log, not the client

Each carries ``detail`` (what was wrong) and ``fix`` (how to mend it), and optional
``errors`` naming fields, so every 4xx tells the client what to do next.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import msgspec


class FieldError(msgspec.Struct, omit_defaults=True):
    """One field that was wrong: where it is, and what is allowed."""

    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details, as sent with ``application/problem+json``."""

    type: str
    title: str
    status: int
    detail: str
    fix: str = ""
    instance: str = ""
    errors: list[FieldError] = []
    conflicts_with: dict[str, Any] | None = None
    retry_after: int | None = None


PROBLEM_BASE = "https://festival.invalid/problems/"

_PATTERN_WORDS: dict[str, str] = {}
_REGEX_MESSAGE = re.compile(r"^Expected `str` matching regex '(.*)'$")


def describe_pattern(pattern: str, words: str) -> str:
    """Register plain words for a pattern so a refusal says what is allowed, not the regex."""
    _PATTERN_WORDS[pattern] = words
    return pattern


def explain_pattern(message: str) -> str:
    match = _REGEX_MESSAGE.match(message)
    # msgspec quotes the pattern as a repr, so each backslash in it arrives doubled.
    pattern = match.group(1).replace("\\\\", "\\") if match else ""
    if pattern in _PATTERN_WORDS:
        return f"must be {_PATTERN_WORDS[pattern]}"
    return message


class FestivalError(Exception):
    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        fix: str = "",
        errors: list[FieldError] | None = None,
        conflicts_with: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fix = fix
        self.errors = errors or []
        self.conflicts_with = conflicts_with
        self.headers = headers or {}

    def problem(self, instance: str = "") -> Problem:
        retry = self.headers.get("Retry-After")
        return Problem(
            type=PROBLEM_BASE + self.slug,
            title=self.title,
            status=self.status,
            detail=self.detail,
            fix=self.fix,
            instance=instance,
            errors=self.errors,
            conflicts_with=self.conflicts_with,
            retry_after=int(retry) if retry else None,
        )


class Invalid(FestivalError):
    status = 422
    slug = "invalid"
    title = "A value is not allowed"

    @classmethod
    def field(cls, field: str, message: str, *, fix: str = "") -> Invalid:
        return cls(f"{field}: {message}", fix=fix, errors=[FieldError(field, message)])


class BadRequest(Invalid):
    status = 400
    slug = "bad-request"
    title = "The request could not be read"


class Unauthorized(FestivalError):
    status = 401
    slug = "unauthorized"
    title = "Sign-in needed"


class Forbidden(FestivalError):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class ConsentRequired(Forbidden):
    slug = "consent-required"
    title = "The person filmed has not agreed to this"


class NotFound(FestivalError):
    status = 404
    slug = "not-found"
    title = "Not found"


class MethodNotAllowed(FestivalError):
    status = 405
    slug = "method-not-allowed"
    title = "Method not allowed"


class Conflict(FestivalError):
    status = 409
    slug = "conflict"
    title = "Conflicts with something that exists"


class Gone(FestivalError):
    """It was here and has been removed for good (a withdrawn interview)."""

    status = 410
    slug = "gone"
    title = "No longer available"


class PayloadTooLarge(FestivalError):
    status = 413
    slug = "too-large"
    title = "Too large"


class TooManyRequests(FestivalError):
    status = 429
    slug = "too-many-requests"
    title = "Too many attempts"


class NotImplementedFormat(FestivalError):
    """A format we do not offer where a protocol says so with 501 (oEmbed 1.0, 2.3.4.3)."""

    status = 501
    slug = "format-not-implemented"
    title = "Format not available"


class ServerError(FestivalError):
    """Our fault, never the client's: logged, and reported without internals."""

    status = 500
    slug = "server-error"
    title = "Server error"
