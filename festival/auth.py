"""Who is asking: identities from bearer tokens or session cookies, and the guards.

A request carries either ``Authorization: Bearer <token>`` (API clients) or the session
cookie (browsers), never both at once: when the header is present the cookie is ignored,
and CSRF checks are skipped because a cross-site page cannot set that header. Cookie
requests that change anything must carry the CSRF token, from a form field or the
``X-CSRFToken`` header.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from festival.accounts import service as accounts
from festival.accounts.schemas import ANONYMOUS, Identity
from festival.crew import service as crew
from festival.errors import Forbidden, Unauthorized

SESSION_COOKIE = "festival_session"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def bearer_token(scope: Scope) -> str | None:
    value = _header(scope, b"authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "The Authorization header is not a bearer token.",
            fix="Send 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": 'Bearer realm="festival"'},
        )
    return token.strip()


class IdentityMiddleware(ASGIMiddleware):
    """Puts an :class:`Identity` in ``scope["user"]`` for every HTTP request."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        db = Litestar.from_scope(scope).state.db
        identity = ANONYMOUS
        token = bearer_token(scope)
        if token is not None:
            if token.startswith(crew.VOLUNTEER_TOKEN_PREFIX):
                identity = await crew.identity_from_token(db, token)
            else:
                identity = await accounts.identity_from_bearer(db, token)
        else:
            session = _cookie(scope, SESSION_COOKIE)
            if session:
                identity = (
                    await accounts.identity_from_session(db, session)
                    or await crew.identity_from_session(db, session)
                    or ANONYMOUS
                )
        scope["user"] = identity
        await next_app(scope, receive, send)


class FestivalCSRFMiddleware(CSRFMiddleware):
    """Litestar's double-submit CSRF check, for requests that carry the session cookie
    (and for every page form, sign-in included)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and (
            _header(scope, b"authorization") is not None
            or (scope["path"].startswith("/api/") and not _cookie(scope, SESSION_COOKIE))
        ):
            # No ambient credential rides along, so there is nothing to forge: let the
            # request through to be judged (and refused, if need be) on its identity.
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def identity_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Identity:
    user = connection.scope.get("user")
    return user if isinstance(user, Identity) else ANONYMOUS


def staff_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: the request must come from a staff member."""
    identity = identity_of(connection)
    if identity.is_anonymous:
        raise Unauthorized(
            "You need to sign in as festival staff to do this.",
            fix="Sign in at /staff/sign-in, or send a staff API token as a bearer token.",
            headers={"WWW-Authenticate": 'Bearer realm="festival"'},
        )
    if not identity.is_staff:
        raise Forbidden(
            "Only festival staff can do this.",
            fix="Ask a member of the festival staff to do it for you.",
        )


def volunteer_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: the request must come from a volunteer (invite link, token or session)."""
    identity = identity_of(connection)
    if identity.is_anonymous:
        raise Unauthorized(
            "Open the invite link festival staff sent you to see your slots.",
            fix="Use your invite link, or send it as a bearer token.",
            headers={"WWW-Authenticate": 'Bearer realm="festival"'},
        )
    if not identity.is_volunteer:
        raise Forbidden(
            "This is for volunteers, from their own invite link.",
            fix="Staff can see every volunteer's slots on the staff pages.",
        )
