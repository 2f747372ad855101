"""Who may do what: every route of the app, walked as every identity."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from litestar import Litestar

from festival.app import create_app
from festival.settings import Settings
from tests.app_client import AppClient
from tests.authorisation_table import ROWS, expected
from tests.authorisation_world import (
    ANONYMOUS,
    BASE,
    CSRF_COOKIE,
    IDENTITIES,
    INTERVIEWEE_X,
    INTERVIEWEE_Y,
    OK,
    SAFE_METHODS,
    STAFF,
    VOLUNTEER_A,
    VOLUNTEER_B,
    WITHDRAWN_VOLUNTEER,
    Probe,
    Scratch,
    Walker,
    World,
    build_world,
)
from tests.conftest import Databases, make_settings


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def world_settings(
    tmp_path_factory: pytest.TempPathFactory, databases: Databases
) -> Iterator[Settings]:
    data_dir = tmp_path_factory.mktemp("authorisation") / "var"
    database_url = databases.new(data_dir)
    yield make_settings(data_dir, database_url=database_url)
    databases.drop(database_url)


@pytest.fixture(scope="module")
async def world_app(world_settings: Settings) -> AsyncIterator[Litestar]:
    app = create_app(world_settings)
    async with AppClient(app, base_url=BASE) as client:
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
async def scratch(
    world_app: Litestar, world_settings: Settings, databases: Databases
) -> AsyncIterator[Scratch]:
    # The world's app lets go of its connections while its snapshot is taken (PostgreSQL
    # copies no database anyone is connected to); its pool reconnects at the next request.
    await world_app.state.db.close()
    copies = await Scratch(
        world_settings, world_settings.data_dir.parent / "scratch", databases
    ).open()
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


MEDIA_NAMES = ("web.mp4", "poster.jpg", "thumb.jpg", "captions.vtt", "original")
RANGES: tuple[dict[str, str], ...] = ({}, {"Range": "bytes=0-1"}, {"Range": "bytes=-100"})


async def test_media_that_is_not_public_is_reachable_by_no_guessed_or_leaked_url(
    world_app: Litestar, world: World, walker: Walker
) -> None:
    """Clips in every state, every file, with and without ranges, by everyone who should
    not have them; the published clip and its owner's own view are the controls."""
    who = world.who
    clips = world.clips
    leaks = []

    async def never(path: str, identity: str, **headers: str) -> None:
        _, response = await walker.send(
            world_app, "GET", path, who[identity], Probe(headers=headers)
        )
        # 404, or 410 for a withdrawn clip (so embeds and caches learn it is gone), or
        # 400 for a name that cannot be one; never a byte of the file.
        if response.status_code not in (400, 404, 410) or response.headers.get(
            "content-type", ""
        ).startswith(("video/", "image/", "text/vtt", "application/octet-stream")):
            leaks.append(f"GET {path} as {identity} {headers}: {response.status_code}")

    # Files through the media route: only the volunteer who filmed and staff, until the
    # clip is published; a withdrawn clip's files are gone for everyone.
    strangers = {
        "X": (ANONYMOUS, VOLUNTEER_B, INTERVIEWEE_Y, WITHDRAWN_VOLUNTEER),
        "Y": (ANONYMOUS, VOLUNTEER_A, INTERVIEWEE_X),
        "U": (ANONYMOUS, VOLUNTEER_B, INTERVIEWEE_X, INTERVIEWEE_Y),
        "W": (ANONYMOUS, VOLUNTEER_A, VOLUNTEER_B, STAFF, INTERVIEWEE_X),
    }
    for clip, identities in strangers.items():
        for name in MEDIA_NAMES:
            for headers in RANGES:
                for identity in identities:
                    await never(f"/media/clips/{clips[clip]}/{name}", identity, **headers)
    # A published clip's original stays private: only its rendition is published.
    await never(f"/media/clips/{clips['P']}/original", ANONYMOUS)
    await never(f"/media/clips/{clips['P']}/original", VOLUNTEER_B)

    # Files through a private link: only that link's own clips.
    tokens = world.consent_tokens
    for token, clip in (("Y", "X"), ("X", "Y"), ("X", "U"), ("X", "W"), ("W", "W"), ("X", "P")):
        for name in MEDIA_NAMES:
            for headers in RANGES:
                await never(
                    f"/consent/{tokens[token]}/media/{clips[clip]}/{name}", ANONYMOUS, **headers
                )
    await never(f"/consent/{tokens['X']}x/media/{clips['X']}/web.mp4", ANONYMOUS)

    # The public pages, player, transcript and oEmbed of every clip that is not public.
    for clip in ("X", "Y", "U", "W"):
        number = clips[clip]
        for path in (
            f"/clips/{number}",
            f"/clips/{number}/transcript",
            f"/clips/{number}/player",
            f"/oembed?url=http%3A%2F%2Ffestival.test%2Fclips%2F{number}&format=json",
            f"/oembed?url=http%3A%2F%2Ffestival.test%2Fclips%2F{number}%2Fplayer&format=json",
        ):
            for identity in (ANONYMOUS, VOLUNTEER_A, STAFF):
                await never(path, identity)

    # Store keys and path tricks are never file names, whoever asks.
    for trick in (
        "shared%2Fsynthetic%2Fweb.mp4",
        "..%2F..%2Fshared%2Fsynthetic%2Fweb.mp4",
        f"..%2F{clips['X']}%2Fweb.mp4",
        "%2e%2e%2f%2e%2e%2foriginals",
        "web.mp4%00",
        "WEB.MP4",
    ):
        for clip in ("P", "X"):
            for identity in (ANONYMOUS, VOLUNTEER_A, STAFF):
                await never(f"/media/clips/{clips[clip]}/{trick}", identity)
    for trick in ("../../clips/{X}/web.mp4", "%2e%2e/originals", "shared/synthetic/web.mp4"):
        await never(
            f"/api/v1/festivals/{world.slug}/consents/{world.ids['consent_id']}/export/"
            + trick.replace("{X}", str(clips["X"])),
            STAFF,
        )

    # The store itself is served by no static route.
    for path in (
        f"/static/..%2F..%2F..%2Fvar%2Fmedia%2Fclips%2F{clips['X']}%2Fweb.mp4",
        "/static/%2e%2e/%2e%2e/pyproject.toml",
        "/static/..%2f..%2fpyproject.toml",
        "/static/vendor/..%2F..%2F..%2Fpyproject.toml",
    ):
        await never(path, ANONYMOUS)
    assert not leaks, "reachable:\n" + "\n".join(leaks)

    # The controls: the published clip is public, and X is its volunteer's and staff's.
    for path, identity, status in (
        (f"/media/clips/{clips['P']}/web.mp4", ANONYMOUS, 200),
        (f"/media/clips/{clips['X']}/web.mp4", VOLUNTEER_A, 200),
        (f"/media/clips/{clips['X']}/original", STAFF, 200),
        (f"/consent/{tokens['X']}/media/{clips['X']}/web.mp4", ANONYMOUS, 200),
        (f"/clips/{clips['P']}", ANONYMOUS, 200),
    ):
        _, response = await walker.send(world_app, "GET", path, who[identity], Probe())
        assert response.status_code == status, (path, identity, response.status_code)
