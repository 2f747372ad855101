"""Who may do what: every route of the app, walked as every identity."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from festival.app import create_app
from festival.settings import Settings
from tests.authorisation_table import ROWS, expected
from tests.authorisation_world import (
    ANONYMOUS,
    BASE,
    CSRF_COOKIE,
    IDENTITIES,
    OK,
    SAFE_METHODS,
    Probe,
    Scratch,
    Walker,
    World,
    build_world,
)
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def world_settings(tmp_path_factory: pytest.TempPathFactory, migrated_db: Path) -> Settings:
    data_dir = tmp_path_factory.mktemp("authorisation") / "var"
    data_dir.mkdir()
    shutil.copy(migrated_db, data_dir / "festival.db")
    return make_settings(data_dir)


@pytest.fixture(scope="module")
async def world_app(world_settings: Settings) -> AsyncIterator[Litestar]:
    app = create_app(world_settings)
    async with AsyncTestClient(app, base_url=BASE) as client:
        app.state.world = await build_world(app, client, world_settings.data_dir.parent / "clips")
        yield app


@pytest.fixture(scope="module")
def world(world_app: Litestar) -> World:
    return world_app.state.world  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
async def walker(world_app: Litestar, world: World) -> Walker:
    page = await Walker(world, "").send(world_app, "GET", "/", world.who["anonymous"], Probe())
    return Walker(world, page[1].cookies[CSRF_COOKIE])


@pytest.fixture(scope="module")
async def scratch(world_settings: Settings) -> AsyncIterator[Scratch]:
    folder = world_settings.data_dir.parent / "scratch"
    folder.mkdir()
    copies = Scratch(world_settings, folder)
    yield copies
    await copies.close()


def app_routes(app: Litestar) -> set[tuple[str, str]]:
    """Every method and path the app answers, but the framework's own OPTIONS answers."""
    found = set()
    for route in app.routes:
        for method, handlers in route.route_handler_map.items():  # type: ignore[attr-defined]
            if method == "OPTIONS" and handlers[0].handler_name == "options_handler":
                continue
            found.add((method, route.path))
    return found


def test_every_route_has_exactly_one_row(settings: Settings) -> None:
    in_app = app_routes(create_app(settings))
    in_table = {(method, path.removesuffix(" [clip P]")) for method, path in ROWS}
    missing = sorted(in_app - in_table)
    assert not missing, "routes with no row in tests/authorisation_table.py: " + ", ".join(
        f"{m} {p}" for m, p in missing
    )
    stale = sorted(in_table - in_app)
    assert not stale, "rows for routes the app no longer has: " + ", ".join(
        f"{m} {p}" for m, p in stale
    )


async def test_every_identity_gets_the_expected_answer_on_every_route(
    world_app: Litestar, world: World, walker: Walker, scratch: Scratch
) -> None:
    """Reads run against the world; anything that could change it runs against a copy,
    made again after each request that was let through."""
    wrong = []
    for (method, _), row in sorted(ROWS.items()):
        for identity in IDENTITIES:
            want = expected(row, identity)
            if method in SAFE_METHODS:
                got, response = await walker.send(
                    world_app, method, row.path, world.who[identity], row.probe
                )
            else:
                app = await scratch.app()
                got, response = await walker.send(
                    app, method, row.path, world.who[identity], row.probe
                )
                if got == OK or response.status_code < 400:
                    scratch.spoilt()
            if got != want:
                wrong.append(
                    f"{method} {row.path} as {identity}: expected {want}, got {got} "
                    f"({response.status_code} {response.text[:120]!r})"
                )
    assert not wrong, f"{len(wrong)} answers differ from the table:\n" + "\n".join(wrong)


async def test_the_framework_answers_options_alike_for_everyone(
    world_app: Litestar, world: World, walker: Walker
) -> None:
    """OPTIONS says which methods a path allows (or asks for sign-in), and nothing about
    what is there."""
    for route in world_app.routes:
        if (("OPTIONS", route.path)) in ROWS:
            continue
        params = next((r.probe.params for r in ROWS.values() if r.path == route.path), {})
        _, response = await walker.send(
            world_app, "OPTIONS", route.path, world.who[ANONYMOUS], Probe(params=params)
        )
        # Guarded controllers guard their OPTIONS too, which gives nothing away either.
        if response.status_code == 401 or response.headers.get("location", "").startswith(
            "/staff/sign-in"
        ):
            continue
        assert response.status_code == 204, (route.path, response.text)
        assert response.content == b""
        allowed = set(response.headers["allow"].replace(" ", "").split(","))
        assert allowed <= set(route.methods), route.path
