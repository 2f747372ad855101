"""Turn every error into RFC 9457 problem details, or a readable page for browsers.

API paths (``/api/``, ``/schema``, ``/oembed``, feeds and exports) always answer with
``application/problem+json``; pages answer with the error template in plain words.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect, Template

from festival.errors import (
    BadRequest,
    FestivalError,
    FieldError,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Problem,
    ServerError,
    TooManyRequests,
    Unauthorized,
    explain_pattern,
)

log = logging.getLogger("festival")
PROBLEM_JSON = "application/problem+json"
_MACHINE_SUFFIXES = (".json", ".xml", ".ics", ".atom")
_encoder = msgspec.json.Encoder()


def always_problem_json(path: str) -> bool:
    """Paths whose errors are problem details whatever the client accepts."""
    return path.startswith(("/api/", "/schema", "/oembed", "/health")) or path.endswith(
        _MACHINE_SUFFIXES
    )


def wants_problem_json(request: Request[Any, Any, Any]) -> bool:
    if always_problem_json(request.url.path):
        return True
    accept = request.headers.get("accept", "")
    return "text/html" not in accept and "json" in accept


_AT = re.compile(r" - at `\$\.?([^`]*)`$")
_UNKNOWN = re.compile(r"^Object contains unknown field `([^`]*)`")


def _field_errors(extra: Any) -> list[FieldError]:
    """Litestar's validation details, as field names a person can act on."""
    errors: list[FieldError] = []
    if not isinstance(extra, list):
        return errors
    for item in extra:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "is not valid"))
        key = item.get("key")
        match = _AT.search(message)
        if match:
            key = match.group(1) or key
            message = message[: match.start()]
        unknown = _UNKNOWN.match(message)
        if unknown:
            path = match.group(1) if match else ""
            key = f"{path}.{unknown.group(1)}" if path else unknown.group(1)
            message = "is not a field this request accepts"
        message = explain_pattern(message)
        source = item.get("source")
        field = str(key) if key else (str(source) if source else "body")
        errors.append(FieldError(field=field, message=message))
    return errors


def _caused_by_decoding(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, msgspec.ValidationError):
            return False  # well-formed JSON with wrong values: reported field by field
        if isinstance(seen, msgspec.DecodeError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _raised_decoding_json(exc: BaseException) -> bool:
    """True when Litestar's JSON decoder itself raised ``exc``: it lets bytes that are not
    UTF-8 and over-deep nesting escape as plain Python errors, which are the client's fault
    only when they come from there."""
    frame = exc.__traceback__
    while frame is not None:
        if frame.tb_frame.f_code.co_name == "decode_json":
            return True
        frame = frame.tb_next
    return False


#: Where the database's integers end, by what its driver says when a number does not fit:
#: SQLite's INTEGER has 64 bits; PostgreSQL's INTEGER 32 (asyncpg says so before sending).
_INTEGER_LIMITS = {
    "SQLite INTEGER": 2**63,
    "out of int16 range": 2**15,
    "out of int32 range": 2**31,
    "out of int64 range": 2**63,
}


def _integer_limit(exc: BaseException) -> int | None:
    """The limit a number in the request went past, if that is what ``exc`` comes from
    (asyncpg's overflow reaches us wrapped in the driver's and SQLAlchemy's errors)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OverflowError):
            for words, limit in _INTEGER_LIMITS.items():
                if words in str(seen):
                    return limit
        seen = seen.__cause__ or seen.__context__
    return None


def _translate(exc: Exception) -> FestivalError:
    if isinstance(exc, FestivalError):
        return exc
    limit = _integer_limit(exc)
    if limit is not None:
        # An id or count beyond the database's integers names nothing that could exist:
        # the client's number is wrong, whichever query met it first.
        return BadRequest(
            "A number in this request is too large to be an id or a count.",
            fix=f"Use whole numbers below {limit}.",
        )
    if isinstance(exc, UnicodeDecodeError | RecursionError) and _raised_decoding_json(exc):
        detail = (
            f"The body is not UTF-8 text: byte {exc.start} cannot be read."
            if isinstance(exc, UnicodeDecodeError)
            else "The body's JSON is nested too deeply to read."
        )
        return BadRequest(
            detail, fix="Send a JSON object encoded as UTF-8, with Content-Type: application/json."
        )
    if isinstance(exc, HTTPException) and exc.status_code == 400 and _caused_by_decoding(exc):
        return BadRequest(
            f"The body is not valid JSON: {exc.detail}",
            fix="Send a JSON object with Content-Type: application/json.",
        )
    if isinstance(exc, ValidationException):
        errors = _field_errors(exc.extra)
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or str(exc.detail)
        return BadRequest(
            detail,
            fix="Correct the fields named in 'errors'; the API schema at /schema lists "
            "what each accepts.",
            errors=errors,
        )
    if isinstance(exc, NotFoundException):
        return NotFound(
            "There is nothing at this address.",
            fix="Check the address. The API is described at /schema.",
        )
    if isinstance(exc, MethodNotAllowedException):
        return MethodNotAllowed(
            str(exc.detail), fix="Use one of the methods this address allows.", headers={}
        )
    if isinstance(exc, NotAuthorizedException):
        return Unauthorized(str(exc.detail), fix="Sign in, or send a bearer token.")
    if isinstance(exc, PermissionDeniedException):
        detail = str(exc.detail)
        if "CSRF" in detail:
            return Forbidden(
                "This form has expired or did not come from this site.",
                fix="Go back, reload the page and send the form again.",
            )
        return Forbidden(detail, fix="Ask festival staff for access.")
    if isinstance(exc, HTTPException):
        status = exc.status_code
        if status == 413:
            return PayloadTooLarge(
                "The request body is too large.", fix="Send a smaller body or file."
            )
        if status == 429:
            return TooManyRequests(str(exc.detail), fix="Wait a little and try again.")
        error = FestivalError(str(exc.detail), fix="Check the request and try again.")
        error.status = status  # type: ignore[misc]
        return error
    raise exc


def _headers(exc: Exception, error: FestivalError) -> dict[str, str]:
    headers = dict(error.headers)
    if isinstance(exc, MethodNotAllowedException) and exc.headers:
        headers.update(exc.headers)
    return headers


def problem_body(error: FestivalError, instance: str) -> bytes:
    return _encoder.encode(error.problem(instance=instance))


def handle_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    try:
        error = _translate(exc)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        error = ServerError(
            "Something went wrong on our side. Nothing you sent was saved.",
            fix="Try again in a moment. If it keeps happening, tell the festival team.",
        )
    headers = _headers(exc, error)
    problem = error.problem(instance=request.url.path)
    if wants_problem_json(request) or request.method == "HEAD":
        return Response(
            content=_encoder.encode(problem),
            status_code=problem.status,
            media_type=PROBLEM_JSON,
            headers=headers,
        )
    if problem.status == 401 and request.url.path.startswith("/staff"):
        # A person who is not signed in is sent to sign in, and back here after.
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return Redirect(f"/staff/sign-in?next={target}", status_code=303)
    return _page(problem, headers)


def _page(problem: Problem, headers: dict[str, str]) -> Response[Any]:
    return Template(
        template_name="error.html",
        context={"problem": problem},
        status_code=problem.status,
        headers=headers,
        media_type=MediaType.HTML,
    )
