"""Schemathesis against the app's own /schema/openapi.json: every operation, as an
anonymous client, as staff and as a volunteer, and statefully along the schema's links.

Each test gets a fresh copy of one seeded data directory (a festival happening now, a
session, a trained volunteer with an assigned slot, a published clip with its consent)
served by the real app on a real socket. Path ids are drawn half from what the fuzzer
invents and half from the seeded records, so operations meet both real rows and random
ids. The checks: no 5xx, a documented status code, a documented content type, a body
that matches its schema, and documented response headers.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from litestar.testing import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from festival.accounts.service import create_or_update_staff, new_api_token
from festival.app import create_app
from festival.db.engine import Database
from tests.app_client import AppClient
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, Databases, make_settings, run_async
from tests.consent.helpers import consent, make_public, ready_clip, token_of
from tests.crew.helpers import SLUG, Crew, at

pytestmark = pytest.mark.slow


def no_server_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """No 5xx, except the 501 that oEmbed 1.0 itself requires for a format not offered
    (``/oembed?format=xml``), which the schema documents."""
    if case.operation.path == "/oembed" and response.status_code == 501:
        return True
    return not_a_server_error(ctx, response, case)


CHECKS = [
    no_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Enough to meet each operation's refusals and its success, while the whole module
# (129 operations, three identities) stays within a few minutes on two cores.
EXAMPLES = 12
STATEFUL_EXAMPLES = 30
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@dataclass(frozen=True)
class Seed:
    data_dir: Path
    database_url: str
    staff_token: str
    volunteer_token: str
    ids: dict[str, Any]


async def _seed(data_dir: Path, database_url: str) -> Seed:
    settings_ = make_settings(data_dir, database_url=database_url)
    db = Database.open(settings_.database_url)
    try:
        await create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD, "Organiser")
        staff_token = await new_api_token(db, STAFF_EMAIL)
    finally:
        await db.close()
    staff = {"Authorization": f"Bearer {staff_token}"}
    app = create_app(settings_)
    async with AppClient(app, base_url="http://festival.test") as client:
        crew = await Crew(client, staff).setup()
        session = await crew.post(
            "/sessions",
            {
                "title": "Listening to lived experience",
                "kind": "talk",
                "room_id": crew.rooms["N1"],
                "starts_at": at(1),
                "ends_at": at(2),
            },
        )
        venue = (await client.get(f"{crew.base}/venues", headers=staff)).json()[0]
        person = await crew.post("/people", {"name": "Ann Lee"})
        post = await crew.post(
            "/posts",
            {
                "title": "What we heard",
                "url": "https://blog.example.org/what-we-heard",
                "published_at": datetime.now(UTC).isoformat(),
            },
        )
        volunteer = await crew.volunteer("vol@festival.test", name="Val")
        slot = await crew.slot(2, 3)
        assignment = await crew.assign(slot["id"], volunteer["id"])
        folder = data_dir.parent / "videos"
        folder.mkdir()
        clip = await ready_clip(client, app, volunteer["headers"], folder, slot=str(slot["id"]))
        created = await consent(crew, volunteer["headers"], clip["id"])
        await make_public(crew, volunteer["headers"], clip["id"], created)
        await app.state.jobs.run_until_idle()
    return Seed(
        data_dir=data_dir,
        database_url=database_url,
        staff_token=staff_token,
        volunteer_token=volunteer["token"],
        ids={
            "slug": SLUG,
            "session_id": session["id"],
            "room_id": crew.rooms["N1"],
            "venue_id": venue["id"],
            "person_id": person["id"],
            "post_id": post["id"],
            "volunteer_id": volunteer["id"],
            "slot_id": slot["id"],
            "assignment_id": assignment["id"],
            "clip_id": clip["id"],
            "consent_id": created["consent"]["id"],
            "token": token_of(created),
            "name": "poster.jpg",
        },
    )


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory, databases: Databases) -> Iterator[Seed]:
    root = tmp_path_factory.mktemp("fuzz-seed")
    data_dir = root / "var"
    seeded = run_async(_seed(data_dir, databases.new(data_dir)))
    SEEDED.clear()
    SEEDED.update(seeded.ids)
    yield seeded
    databases.drop(seeded.database_url)


class Server:
    """The real app on a real socket, in a thread with its own event loop."""

    def __init__(self, data_dir: Path, database_url: str) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        app = create_app(make_settings(data_dir, base_url=self.url, database_url=database_url))
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="on"))
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve(sockets=[self._sock])), daemon=True
        )

    def __enter__(self) -> Server:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._sock.close()


def _serve(
    seed: Seed, tmp_path_factory: pytest.TempPathFactory, databases: Databases
) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("fuzz") / "var"
    shutil.copytree(seed.data_dir, data_dir)  # the media, and the database file on SQLite
    database_url = databases.copy(seed.database_url, data_dir)
    with Server(data_dir, database_url) as running:
        yield running
    databases.drop(database_url)


# One server per identity, each on its own copy of the seed: starting the app costs about
# a second on a busy machine, too much to pay per operation. Operations run in schema
# order against that copy, so those that would destroy or rename a seeded record are only
# given invented ids (see DESTRUCTIVE); the stateful run deletes what it made itself.
@pytest.fixture(scope="module")
def anonymous_server(
    seed: Seed, tmp_path_factory: pytest.TempPathFactory, databases: Databases
) -> Iterator[Server]:
    yield from _serve(seed, tmp_path_factory, databases)


@pytest.fixture(scope="module")
def staff_server(
    seed: Seed, tmp_path_factory: pytest.TempPathFactory, databases: Databases
) -> Iterator[Server]:
    yield from _serve(seed, tmp_path_factory, databases)


@pytest.fixture(scope="module")
def volunteer_server(
    seed: Seed, tmp_path_factory: pytest.TempPathFactory, databases: Databases
) -> Iterator[Server]:
    yield from _serve(seed, tmp_path_factory, databases)


def _load_schema() -> Any:
    """The schema as the app serves it at /schema/openapi.json. Loaded at import, since
    schemathesis makes one test per operation from it."""
    with (
        tempfile.TemporaryDirectory() as folder,
        TestClient(create_app(make_settings(Path(folder)))) as client,
    ):
        response = client.get("/schema/openapi.json")
        assert response.status_code == 200, response.text
        loaded = schemathesis.openapi.from_dict(response.json())
    loaded.config.generation.update(max_examples=EXAMPLES, deterministic=True)
    return loaded


schema = _load_schema()
SEEDED: dict[str, Any] = {}


DESTRUCTIVE = re.compile(r"/(erase|withdraw|revoke|revoke-link|unpublish)$")


def _destructive(method: str, path: str) -> bool:
    return (
        method.upper() == "DELETE"
        or bool(DESTRUCTIVE.search(path))
        or (method.upper() == "PATCH" and path == "/api/v1/festivals/{slug}")  # renames
    )


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    # Half the time the seeded rows, so operations reach their real work, not only 404s.
    if _destructive(context.operation.method, context.operation.path):
        return st.just(path_parameters)
    known = {k: SEEDED[k] for k in path_parameters or {} if k in SEEDED}
    if not known:
        return st.just(path_parameters)
    return st.sampled_from([path_parameters, {**path_parameters, **known}])


def _identity(seed: Seed, who: str) -> dict[str, str]:
    token = {"staff": seed.staff_token, "volunteer": seed.volunteer_token}.get(who)
    return {"Authorization": f"Bearer {token}"} if token else {}


def _fuzz(case: Any, server: Server, seed: Seed, who: str) -> None:
    headers = {**(case.headers or {}), **_identity(seed, who)}
    if not _identity(seed, who):
        headers.pop("Authorization", None)
    case.headers = headers
    case.call_and_validate(base_url=server.url, checks=CHECKS)


# tus bodies are raw bytes and SRT captions plain text: send them as schemathesis sends
# those kinds of bodies.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
schemathesis.serializer.alias("application/x-subrip", "text/plain")


@schema.parametrize()
@FUZZ
def test_anonymous(case: Any, anonymous_server: Server, seed: Seed) -> None:
    _fuzz(case, anonymous_server, seed, "anonymous")


@schema.parametrize()
@FUZZ
def test_staff(case: Any, staff_server: Server, seed: Seed) -> None:
    _fuzz(case, staff_server, seed, "staff")


@schema.parametrize()
@FUZZ
def test_volunteer(case: Any, volunteer_server: Server, seed: Seed) -> None:
    _fuzz(case, volunteer_server, seed, "volunteer")


def test_stateful_along_the_schema_links_as_staff(staff_server: Server, seed: Seed) -> None:
    """Create a festival, a session, a venue... then read, change and delete exactly what
    was made, following the links festival/openapi.py adds to each create."""
    machine = schema.as_state_machine()
    auth = _identity(seed, "staff")

    class StaffWorkflow(machine):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": staff_server.url, "headers": auth}

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            case.validate_response(response, checks=CHECKS)

    StaffWorkflow.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=6,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    )


def test_the_seed_is_what_the_fuzzer_needs(seed: Seed) -> None:
    """The fuzzer only reaches real work if the seed holds every kind of record."""
    assert seed.ids["slug"] == SLUG
    assert all(isinstance(seed.ids[k], int) for k in ("session_id", "clip_id", "slot_id"))
    assert seed.staff_token and seed.volunteer_token
