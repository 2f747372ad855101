"""Security headers, set in one place on every response the service sends.

A ``before_send`` hook (wired in :func:`festival.app.create_app`) sees the start of
every HTTP response, routed or not (404s, 405s and static files too), and adds:

* ``Content-Security-Policy``: only this site's own scripts, styles, images and media;
  no inline script or style, no plugins, no ``<base>``, forms post only here, and no
  framing. A handler may set its own policy (the oEmbed player sets
  ``frame-ancestors *`` so other sites can embed it); its directives replace ours one
  by one, so the player keeps the rest of the policy and only its framing differs.
* ``X-Frame-Options: DENY`` for older browsers, left off where the policy allows
  framing.
* ``X-Content-Type-Options: nosniff``, so a browser never guesses a type we did not send.
* ``Referrer-Policy``: ``strict-origin-when-cross-origin``, and ``no-referrer`` on
  pages whose address holds a secret (an interviewee's ``/consent/{token}``, a
  volunteer's invite link, a calendar feed), so the secret never leaves in a Referer.
* ``Permissions-Policy``: nothing the service does needs the camera, microphone,
  location or payment APIs (phones film with their own camera app and upload the file).

A header the handler set itself is kept, except the policy, which is merged as above.
"""

from __future__ import annotations

from collections.abc import Iterable

from litestar.datastructures import MutableScopeHeaders
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from festival.errors import BadRequest

#: The policy, directive by directive. ``data:`` images: none of our pages need them.
POLICY: dict[str, str] = {
    "default-src": "'self'",
    "img-src": "'self'",
    "media-src": "'self'",
    "style-src": "'self'",
    "script-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
PERMISSIONS = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
    "interest-cohort=(), browsing-topics=()"
)
REFERRER = "strict-origin-when-cross-origin"
#: Paths whose address carries a secret token.
SECRET_PATHS = ("/consent/", "/volunteers/invite/", "/volunteers/calendar/")


def parse_policy(value: str) -> dict[str, str]:
    """``"a x; b y"`` as ``{"a": "x", "b": "y"}``; directive names are case-insensitive."""
    directives: dict[str, str] = {}
    for part in value.split(";"):
        name, _, sources = part.strip().partition(" ")
        if name:
            directives[name.lower()] = sources.strip()
    return directives


def format_policy(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {sources}".strip() for name, sources in directives.items())


def policy_for(own: str | None) -> str:
    """Our policy, with any directive the handler set replacing ours."""
    directives = dict(POLICY)
    if own:
        directives.update(parse_policy(own))
    return format_policy(directives)


def _has(headers: MutableScopeHeaders, name: str) -> bool:
    return headers.get(name) is not None


def _set_default(headers: MutableScopeHeaders, items: Iterable[tuple[str, str]]) -> None:
    for name, value in items:
        if not _has(headers, name):
            headers[name] = value


async def add_security_headers(message: Message, scope: Scope) -> None:
    """``before_send`` hook: the headers above, on the start of every HTTP response."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    policy = policy_for(headers.get("Content-Security-Policy"))
    headers["Content-Security-Policy"] = policy
    path: str = scope.get("path", "")
    private = path.startswith(SECRET_PATHS)
    if private:
        # Never weaker than a handler's own choice: these addresses are keys.
        headers["Referrer-Policy"] = "no-referrer"
    _set_default(
        headers,
        [
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", REFERRER),
            ("Permissions-Policy", PERMISSIONS),
        ],
    )
    if parse_policy(policy).get("frame-ancestors") == "'none'":
        headers["X-Frame-Options"] = "DENY"


class RefuseControlCharacters(ASGIMiddleware):
    """A 400 for an address with a control character in it (``%00`` and the like).

    No page or file is named that way, and a NUL that reached the filesystem (the static
    files) made ``os.stat`` fail with a 500 instead of a plain refusal.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        path: str = scope.get("path", "")
        if any(ord(c) < 32 or ord(c) == 127 for c in path):
            raise BadRequest(
                "The address has a control character in it, such as %00.",
                fix="Check the address; no page or file here has such a name.",
            )
        await next_app(scope, receive, send)
