"""The world the authorisation matrix walks, and the identities that walk it.

One festival with its programme, two volunteers with a clip each, interviewees with
private links, clips in every state, posts and links: built once over HTTP, as staff,
volunteers and interviewees would, then only read. Requests that could change it are
sent either by identities that must be refused (so nothing changes unless authorisation
is broken, which fails the walk anyway), or to a throwaway copy of it.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import AsyncTestClient

from festival.accounts import service as accounts
from festival.app import create_app
from festival.auth import SESSION_COOKIE
from festival.db.engine import Database
from festival.db.tables import volunteer_tokens
from festival.settings import Settings
from tests.app_client import AppClient
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, Databases, make_settings
from tests.consent.helpers import SRT, consent, make_public, ready_clip, token_of
from tests.crew.helpers import SLUG, Crew
from tests.timeline.helpers import session

BASE = "http://festival.test"
CSRF_COOKIE = "festival_csrf"
#: A well-formed private link or invite token that nobody was ever given.
GUESSED = "guessed-" + "x" * 40

ANONYMOUS = "anonymous"
VOLUNTEER_A = "volunteer A"
VOLUNTEER_B = "volunteer B"
INTERVIEWEE_X = "interviewee of clip X"
INTERVIEWEE_Y = "interviewee of clip Y"
STAFF = "staff"
STAFF_NO_CSRF = "staff cookie without CSRF token"
REVOKED_STAFF = "revoked staff token"
WITHDRAWN_VOLUNTEER = "volunteer whose links staff withdrew"
EXPIRED_INVITE = "expired invite"

IDENTITIES = (
    ANONYMOUS,
    VOLUNTEER_A,
    VOLUNTEER_B,
    INTERVIEWEE_X,
    INTERVIEWEE_Y,
    STAFF,
    STAFF_NO_CSRF,
    REVOKED_STAFF,
    WITHDRAWN_VOLUNTEER,
    EXPIRED_INVITE,
)


@dataclass
class Who:
    """How one identity presents itself: a bearer token for the API, and for pages a
    session cookie (with the CSRF token, unless ``csrf`` is off) or the same bearer."""

    name: str
    bearer: str | None = None
    session: str | None = None
    csrf: bool = True
    consent_token: str | None = None  # the interviewee's private link
    invite_token: str | None = None  # the volunteer's invite link
    feed_token: str | None = None  # the volunteer's calendar link


@dataclass
class World:
    slug: str = SLUG
    ids: dict[str, int] = field(default_factory=dict)
    clips: dict[str, int] = field(default_factory=dict)  # state name -> clip id
    consent_tokens: dict[str, str] = field(default_factory=dict)  # clip name -> token
    upload_id: str = ""
    who: dict[str, Who] = field(default_factory=dict)
    data_dir: Path = Path()


def _csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def _staff_session(client: httpx.AsyncClient) -> str:
    page = await client.get("/staff/sign-in")
    response = await client.post(
        "/staff/sign-in",
        data={"_csrf_token": _csrf_of(page), "email": STAFF_EMAIL, "password": STAFF_PASSWORD},
    )
    assert response.status_code == 303, response.text
    return str(response.cookies[SESSION_COOKIE])


async def _volunteer_session(client: httpx.AsyncClient, token: str) -> str:
    response = await client.get(f"/volunteers/invite/{token}")
    assert response.status_code == 303, response.text
    return str(response.cookies[SESSION_COOKIE])


async def _run_out(db: Database, volunteer_id: int) -> None:
    """Invites last until after the festival, so an expired one is made by moving its
    end into the past in the database: no request can do that, by design."""
    async with db.write() as conn:
        await conn.execute(
            sa.update(volunteer_tokens)
            .where(volunteer_tokens.c.volunteer_id == volunteer_id)
            .values(expires_at=datetime.now(UTC) - timedelta(days=1))
        )


def _fresh(app: Litestar) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)


async def build_world(app: Litestar, client: AsyncTestClient[Litestar], folder: Path) -> World:
    world = World()
    db: Database = app.state.db
    await accounts.create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD, "Organiser")
    revoked_token = await accounts.new_api_token(db, STAFF_EMAIL)
    await accounts.revoke_api_tokens(db, STAFF_EMAIL)
    staff_token = await accounts.new_api_token(db, STAFF_EMAIL)
    staff = {"Authorization": f"Bearer {staff_token}"}
    crew = await Crew(client, staff).setup()
    ids = world.ids
    ids["room_id"] = crew.rooms["N1"]
    venues = (await client.get(f"{crew.base}/venues")).json()
    ids["venue_id"] = venues[0]["id"]
    ids["person_id"] = (await crew.post("/people", {"name": "Pat Producer"}))["id"]
    ids["session_id"] = (await session(crew, "Working as equals", 1, 2))["id"]
    ids["post_id"] = (
        await crew.post(
            "/posts", {"title": "Why we co-produce", "published_at": datetime.now(UTC).isoformat()}
        )
    )["id"]

    a = await crew.volunteer("a@example.org", name="Alex")
    b = await crew.volunteer("b@example.org", name="Bo")
    gone = await crew.volunteer("c@example.org", name="Cam")
    late = await crew.volunteer("d@example.org", name="Dee")
    ids["volunteer_id"] = a["id"]
    slot_a = await crew.slot(3, 4)
    slot_b = await crew.slot(3, 4, room="S1")
    ids["slot_id"] = slot_a["id"]
    ids["assignment_id"] = (await crew.assign(slot_a["id"], a["id"]))["id"]
    await crew.assign(slot_b["id"], b["id"])
    volunteer = (await client.get(f"{crew.base}/volunteers/{a['id']}", headers=staff)).json()
    ids["training_id"] = volunteer["trainings"][0]["id"]
    ids["proposal_id"] = (await crew.post("/proposals", {}, status=201))["id"]

    # Clips in every state: X and Y consented but not yet published, P published, W
    # withdrawn by its interviewee, U uploaded with no consent at all.
    folder.mkdir(exist_ok=True)
    clips = world.clips
    for name, who in (("X", a), ("Y", b), ("P", a), ("W", b), ("U", a)):
        clip = await ready_clip(client, app, who["headers"], folder)
        clips[name] = clip["id"]
        if name == "U":
            continue
        created = await consent(crew, who["headers"], clip["id"])
        world.consent_tokens[name] = token_of(created)
        if name == "X":
            ids["consent_id"] = created["consent"]["id"]
        if name == "P":
            await make_public(crew, who["headers"], clip["id"], created)
        if name == "W":
            response = await client.post(f"/api/v1/consent/{token_of(created)}/withdraw")
            assert response.status_code == 200, response.text
    await app.state.jobs.run_until_idle()
    for name in ("X", "Y"):
        response = await client.put(
            f"/api/v1/clips/{clips[name]}/captions", content=SRT, headers=staff
        )
        assert response.status_code == 200, response.text
    for path in (
        f"/clips/{clips['P']}/sessions/{ids['session_id']}",
        f"/clips/{clips['P']}/posts/{ids['post_id']}",
        f"/posts/{ids['post_id']}/sessions/{ids['session_id']}",
    ):
        response = await client.put(crew.base + path, headers=staff)
        assert response.status_code in (200, 201), response.text

    # An upload volunteer A has started and not finished.
    started = await client.post(
        "/api/v1/uploads",
        headers={
            **a["headers"],
            "Tus-Resumable": "1.0.0",
            "Upload-Length": "1000",
            "Upload-Metadata": "filename aW50ZXJ2aWV3Lm1wNA==,filetype dmlkZW8vbXA0",
        },
    )
    assert started.status_code == 201, started.text
    world.upload_id = started.headers["location"].rsplit("/", 1)[1]

    # Browser sessions, taken before any link is withdrawn or runs out.
    async with _fresh(app) as browser:
        staff_session = await _staff_session(browser)
    sessions = {}
    for name, who in ((VOLUNTEER_A, a), (VOLUNTEER_B, b), (WITHDRAWN_VOLUNTEER, gone)):
        async with _fresh(app) as browser:
            sessions[name] = await _volunteer_session(browser, who["token"])
    feeds = {}
    for name, who in (
        (VOLUNTEER_A, a),
        (VOLUNTEER_B, b),
        (WITHDRAWN_VOLUNTEER, gone),
        (EXPIRED_INVITE, late),
    ):
        day = (await client.get("/api/v1/volunteer/day", headers=who["headers"])).json()
        feeds[name] = day["calendar_url"].rsplit("/", 1)[1]
    response = await client.post(f"{crew.base}/volunteers/{gone['id']}/revoke", headers=staff)
    assert response.status_code in (200, 204), response.text
    await _run_out(db, late["id"])

    world.who = {
        ANONYMOUS: Who(ANONYMOUS),
        VOLUNTEER_A: Who(
            VOLUNTEER_A,
            a["token"],
            sessions[VOLUNTEER_A],
            invite_token=a["token"],
            feed_token=feeds[VOLUNTEER_A],
        ),
        VOLUNTEER_B: Who(
            VOLUNTEER_B,
            b["token"],
            sessions[VOLUNTEER_B],
            invite_token=b["token"],
            feed_token=feeds[VOLUNTEER_B],
        ),
        INTERVIEWEE_X: Who(INTERVIEWEE_X, consent_token=world.consent_tokens["X"]),
        INTERVIEWEE_Y: Who(INTERVIEWEE_Y, consent_token=world.consent_tokens["Y"]),
        STAFF: Who(STAFF, staff_token, staff_session),
        STAFF_NO_CSRF: Who(STAFF_NO_CSRF, None, staff_session, csrf=False),
        REVOKED_STAFF: Who(REVOKED_STAFF, revoked_token),
        WITHDRAWN_VOLUNTEER: Who(
            WITHDRAWN_VOLUNTEER,
            gone["token"],
            sessions[WITHDRAWN_VOLUNTEER],
            invite_token=gone["token"],
            feed_token=feeds[WITHDRAWN_VOLUNTEER],
        ),
        EXPIRED_INVITE: Who(
            EXPIRED_INVITE,
            late["token"],
            invite_token=late["token"],
            feed_token=feeds[EXPIRED_INVITE],
        ),
    }
    return world


# --- outcomes ----------------------------------------------------------------------------

OK = "ok"  # 2xx, or a redirect anywhere but the sign-in page
SIGN_IN = "sign-in"  # 401, or a redirect to the staff sign-in page
FORBIDDEN = "forbidden"  # 403 for who is asking
CSRF = "csrf"  # 403 because a cookie request that changes something has no CSRF token
HIDDEN = "hidden"  # 404: as if it did not exist
GONE = "gone"  # 410
REFUSED = "refused"  # let in, then refused for what was sent (400, 409, 412, 415, 422)
OUTCOMES = (OK, SIGN_IN, FORBIDDEN, CSRF, HIDDEN, GONE, REFUSED)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def outcome_of(response: httpx.Response) -> str:
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        return SIGN_IN if "/staff/sign-in" in response.headers.get("location", "") else OK
    if status < 300:
        return OK
    if status == 401:
        return SIGN_IN
    if status == 403:
        # The CSRF refusal, in the words problems.py gives it.
        return CSRF if "did not come from this site" in response.text else FORBIDDEN
    if status == 404:
        return HIDDEN
    if status == 410:
        return GONE
    if status in (400, 409, 412, 415, 422):
        return REFUSED
    return f"unexpected {status}"


# --- requests ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """What a row sends besides the identity: a body and headers for unsafe methods, and
    path parameters that differ from the world's defaults."""

    json: Any = None
    form: Mapping[str, str] | None = None
    content: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)


def _token_for(path: str, who: Who) -> str:
    if path.startswith(("/consent/", "/api/v1/consent/")):
        return who.consent_token or GUESSED
    if path.startswith("/volunteers/invite/"):
        return who.invite_token or GUESSED
    if path.startswith("/volunteers/calendar/"):
        return who.feed_token or f"{GUESSED}.ics"
    raise AssertionError(f"no token rule for {path}")


def fill(world: World, template: str, who: Who, params: Mapping[str, str]) -> str:
    """A concrete path: each ``{name:type}`` from the row, the identity or the world."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in params:
            return resolve(world, params[name])
        if name == "token":
            return _token_for(template, who)
        if name == "slug":
            return world.slug
        if name == "clip_id":
            return str(world.clips["X"])
        if name == "upload_id":
            return world.upload_id
        if name == "name":
            return "web.mp4"
        if name in world.ids:
            return str(world.ids[name])
        raise AssertionError(f"no value for {{{name}}} in {template}; give it in the row")

    path = re.sub(r"\{(\w+)(?::\w+)?\}", value, template)
    return path + ("?" + resolve(world, params["?"]) if "?" in params else "")


def resolve(world: World, text: str) -> str:
    """``{X}``, ``{P}``... name clips of the world; ``{consent_id}`` and the like its ids."""
    names = {
        **{k: str(v) for k, v in world.ids.items()},
        **{k: str(v) for k, v in world.clips.items()},
    }
    return re.sub(r"\{(\w+)\}", lambda m: names[m.group(1)], text)


def resolve_json(world: World, body: Any) -> Any:
    if isinstance(body, dict):
        return {k: resolve_json(world, v) for k, v in body.items()}
    if isinstance(body, str) and re.fullmatch(r"\{\w+\}", body):
        return int(resolve(world, body))
    return body


class Walker:
    """Sends a row's request as an identity and names the outcome.

    Every request comes from a new client address: the walk judges who may do what, and
    the per-address limits on private links (tested on their own) would otherwise turn
    the later guesses into 429s.
    """

    def __init__(self, world: World, csrf_token: str) -> None:
        self.world = world
        self.csrf_token = csrf_token
        self._addresses = itertools.count(1)

    def _app(self, app: Litestar) -> Callable[[Any, Any, Any], Awaitable[None]]:
        async def from_anywhere(scope: Any, receive: Any, send: Any) -> None:
            n = next(self._addresses)
            scope = {**scope, "client": (f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}", 4000)}
            await app(scope, receive, send)

        return from_anywhere

    def headers_for(self, who: Who, path: str, method: str) -> dict[str, str]:
        headers: dict[str, str] = {}
        use_cookie = who.session is not None and (
            not path.startswith("/api/") or who.bearer is None
        )
        if use_cookie:
            cookies = [f"{SESSION_COOKIE}={who.session}"]
            if who.csrf:
                cookies.append(f"{CSRF_COOKIE}={self.csrf_token}")
                if method not in SAFE_METHODS:
                    headers["X-CSRFToken"] = self.csrf_token
            headers["Cookie"] = "; ".join(cookies)
        elif who.bearer is not None:
            headers["Authorization"] = f"Bearer {who.bearer}"
        elif method not in SAFE_METHODS and not path.startswith("/api/"):
            # Anyone's browser has a CSRF cookie from the page the form was on.
            headers["Cookie"] = f"{CSRF_COOKIE}={self.csrf_token}"
            headers["X-CSRFToken"] = self.csrf_token
        return headers

    @staticmethod
    def _form(form: Mapping[str, str] | None, who: Who) -> dict[str, str] | None:
        """``{who}`` in a form value becomes a word for the caller, so that per-account
        limits (sign-in) meet each caller's own attempt only."""
        if form is None:
            return None
        word = re.sub(r"\W+", "-", who.name)
        return {k: v.replace("{who}", word) for k, v in form.items()}

    async def send(
        self, app: Litestar, method: str, template: str, who: Who, probe: Probe
    ) -> tuple[str, httpx.Response]:
        path = fill(self.world, template, who, probe.params)
        headers = {**self.headers_for(who, path, method), **probe.headers}
        transport = httpx.ASGITransport(app=self._app(app))
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            response = await client.request(
                method,
                path,
                headers=headers,
                json=resolve_json(self.world, probe.json) if method not in SAFE_METHODS else None,
                data=self._form(probe.form, who) if method not in SAFE_METHODS else None,
                content=probe.content if method not in SAFE_METHODS else None,
            )
        return outcome_of(response), response


# --- a throwaway copy of the world, for requests that may change it ----------------------


class Scratch:
    """A second app over a copy of the world. Requests that could change something run
    here, and after any that was let through the copy is made again from a snapshot of
    the world taken once it was built.

    One app serves every copy: building an app takes most of a second, while putting the
    database back and relinking the world's media takes milliseconds. On SQLite the
    snapshot is written over the copy with SQLite's backup API, through the app's own
    file; on PostgreSQL the app lets go of its connections, the copy is dropped and made
    again from the snapshot (``CREATE DATABASE ... TEMPLATE``), and the app's pool
    reconnects at the next request.
    """

    def __init__(self, source: Settings, folder: Path, databases: Databases) -> None:
        self.source = source
        self.databases = databases
        self.snapshot = ""
        self.settings = make_settings(folder)
        self._app: Litestar | None = None
        self._client: AppClient | None = None
        self._fresh = False
        self.made = 0

    async def open(self) -> Scratch:
        """Take the snapshot: nobody may be connected to the world while PostgreSQL copies
        it, so call this while no request is running there, after its ``db.close()``."""
        folder = self.settings.data_dir
        self.snapshot = await self.databases.copy_async(
            self.source.database_url, folder.parent / "snapshot"
        )
        url = await self.databases.copy_async(self.snapshot, folder)
        self.settings = make_settings(folder, database_url=url)
        self._link_media()
        self._fresh = True
        return self

    async def app(self) -> Litestar:
        if not self._fresh:
            await self._copy()
        if self._app is None:
            self._app = create_app(self.settings)
            self._client = AppClient(self._app, base_url=BASE)
            await self._client.__aenter__()
        self._fresh = True
        return self._app

    def spoilt(self) -> None:
        self._fresh = False

    async def _copy(self) -> None:
        if self._app is not None and self.databases.engine != "sqlite":
            await self._app.state.db.close()
        await self.databases.replace_async(self.settings.database_url, self.snapshot)
        self._link_media()
        self.made += 1

    def _link_media(self) -> None:
        media = self.settings.media_root
        shutil.rmtree(media, ignore_errors=True)
        if self.source.media_root.exists():
            # The store replaces files by renaming, never writes in place: links are safe.
            shutil.copytree(self.source.media_root, media, copy_function=os.link)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.__aexit__(None, None, None)
        await self.databases.drop_async(self.settings.database_url)
        await self.databases.drop_async(self.snapshot)
