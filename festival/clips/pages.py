"""The phone upload page, the volunteer's list of their clips, and the uploader script.

The upload itself is tus (``/api/v1/uploads``, see :mod:`festival.clips.routes`), driven in
the page by tus-js-client and ``/static/upload.js``. The page carries everything the script
needs in ``data-`` attributes (the endpoint, the CSRF token, the slot, the chunk size), so
there is no inline script and a Content-Security-Policy without ``unsafe-inline`` works.

tus-js-client comes from npm (``npm ci``, which ``make run`` and ``make test`` do) and is
served from ``node_modules`` as it was installed: it is never copied into the repository.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromQuery
from litestar.response import File, Template

import festival
from festival.accounts.schemas import Identity
from festival.auth import identity_of
from festival.clips import service
from festival.crew import service as crew
from festival.crew.schemas import LIVE_STATUSES, MySlot
from festival.db.engine import Database
from festival.errors import NotFound, Unauthorized
from festival.problems import PROBLEM_JSON, problem_body
from festival.programme import service as programme
from festival.programme.schemas import Festival
from festival.settings import Settings

DB = NamedDependency[Database]
SETTINGS = NamedDependency[Settings]
AnyRequest = Request[Any, Any, Any]

#: Where ``npm ci`` puts the packages: beside the ``festival`` package, at the repository root.
NODE_MODULES = Path(festival.__file__).resolve().parents[1] / "node_modules"
TUS_CLIENT = Path("tus-js-client", "dist", "tus.min.js")

#: Bytes per PATCH. A dropped connection costs at most one chunk, and 5 MB still goes in
#: a few seconds on festival wifi. ``?chunk=`` may lower it (the browser tests do, so that
#: a small file takes several requests); it is kept within these bounds.
CHUNK_SIZE = 5 * 1024 * 1024
MIN_CHUNK_SIZE = 16 * 1024
MAX_CHUNK_SIZE = 64 * 1024 * 1024


def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: a volunteer or a staff member (anyone who may upload a clip)."""
    if identity_of(connection).is_anonymous:
        raise Unauthorized(
            "Open the invite link festival staff sent you to upload your clips.",
            fix="Use your invite link, or sign in as festival staff.",
            headers={"WWW-Authenticate": 'Bearer realm="festival"'},
        )


class UploadTarget(msgspec.Struct, kw_only=True):
    """Where a clip from the upload page will go, as the page tells the person."""

    timezone: str = "UTC"
    festival_name: str = ""
    slot: MySlot | None = None
    #: Why the slot in the address is not used, in plain words ("" when it is, or none
    #: was asked for).
    slot_problem: str = ""
    #: Staff choose the festival; volunteers belong to one.
    festivals: list[Festival] = []


def chunk_size(text: str | None) -> int:
    """The chunk size asked for with ``?chunk=``, within bounds; the default otherwise."""
    if not text or not text.isdigit() or len(text) > 12:
        return CHUNK_SIZE
    return min(MAX_CHUNK_SIZE, max(MIN_CHUNK_SIZE, int(text)))


async def _target(
    db: Database, settings: Settings, identity: Identity, slot: str | None
) -> UploadTarget:
    """Only a slot the volunteer holds a live place in is used: the rule the tus endpoint
    applies, so the page never offers a slot the server would then refuse."""
    if identity.is_staff:
        return UploadTarget(
            festivals=await programme.list_festivals(db),
            slot_problem=(
                "Uploads by staff from this page are not linked to a slot. "
                "You can link the clip to a slot afterwards."
            )
            if slot
            else "",
        )
    day = await crew.my_day(db, identity, settings.base_url, settings.secret_key)
    target = UploadTarget(timezone=day.timezone, festival_name=day.festival_name)
    if not slot:
        return target
    held = next(
        (
            mine
            for mine in day.slots
            if str(mine.slot.id) == slot and mine.assignment.status in LIVE_STATUSES
        ),
        None,
    )
    if held is None:
        target.slot_problem = (
            "That slot is not one of yours, so this clip will be uploaded without a slot. "
            "Festival staff can link it to the right slot later."
        )
    target.slot = held
    return target


def _vendor_missing(request: AnyRequest) -> Response[bytes]:
    """A problem, not an HTML page: whoever reads it is a script tag or a person
    debugging the set-up."""
    error = NotFound(
        "The upload library (tus-js-client) is not installed on this server.",
        fix="Run `npm ci` in the repository (`make run` does it), then reload the page.",
    )
    return Response(
        problem_body(error, request.url.path),
        status_code=error.status,
        media_type=PROBLEM_JSON,
        headers={"Cache-Control": "no-store"},
    )


class UploadPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/volunteer/upload", guards=[signed_in])
    async def upload(
        self,
        request: AnyRequest,
        db: DB,
        settings: SETTINGS,
        slot: FromQuery[str | None] = None,
        chunk: FromQuery[str | None] = None,
    ) -> Template:
        """The upload page: pick or film a video, watch it go, pause, resume."""
        identity = identity_of(request)
        target = await _target(db, settings, identity, slot)
        return Template(
            "volunteer/upload.html",
            context={
                "target": target,
                "is_staff": identity.is_staff,
                "chunk_size": chunk_size(chunk),
            },
            headers={"Cache-Control": "no-store"},
        )

    @get("/volunteer/clips", guards=[signed_in])
    async def clips(self, request: AnyRequest, db: DB, settings: SETTINGS) -> Template:
        """Uploads still arriving and clips, each with its state in words."""
        identity = identity_of(request)
        mine = await service.my_clips(db, identity, settings.base_url)
        return Template(
            "volunteer/clips.html",
            context={"mine": mine, "is_staff": identity.is_staff},
            headers={"Cache-Control": "no-store"},
        )

    @get("/static/vendor/tus.min.js", media_type="text/javascript")
    async def tus_client(self, request: AnyRequest) -> Response[Any]:
        """tus-js-client's browser build, straight from ``node_modules``."""
        script = NODE_MODULES / TUS_CLIENT
        if not script.is_file():
            return _vendor_missing(request)
        return File(
            script,
            filename=TUS_CLIENT.name,
            media_type="text/javascript",
            content_disposition_type="inline",
            headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
        )
