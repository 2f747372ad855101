"""Shared fixtures: a fresh app and a fresh database for every test.

The suite runs on SQLite by default and on PostgreSQL with ``--engine postgresql``
(``make test`` runs both). Either way each test gets its own database, copied from one
migrated at the start, so every test starts from the real schema and nothing leaks
between tests.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import os
import shutil
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from litestar import Litestar
from litestar.testing import AsyncTestClient

from festival.accounts.service import create_or_update_staff, new_api_token
from festival.app import create_app
from festival.db.engine import Database
from festival.db.migrate import migrate
from festival.settings import Settings, load_settings
from tests import postgres_server
from tests.app_client import AppClient
from tests.s3_server import s3_bucket, s3_media, s3_server  # noqa: F401  (S3 fixtures)

T = TypeVar("T")

# These machines are shared and noisy: a property test is judged by what it finds, never
# by how fast examples are drawn or run.
hypothesis_settings.register_profile(
    "festival", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("festival")
STAFF_EMAIL = "organiser@festival.test"
STAFF_PASSWORD = "a long enough password"


ENGINES = ("sqlite", "postgresql")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--engine",
        choices=ENGINES,
        default=os.environ.get("FESTIVAL_TEST_ENGINE", "sqlite"),
        help="the database every test runs on (default sqlite)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only(reason): tests a feature only the SQLite set-up has"
    )
    # The controller starts one PostgreSQL cluster for the whole run; test processes
    # (pytest-xdist workers) inherit its address through the environment.
    if hasattr(config, "workerinput") or os.environ.get(postgres_server.ENV):
        return
    cluster = postgres_server.Cluster()
    os.environ[postgres_server.ENV] = cluster.start()
    config.stash[_CLUSTER] = cluster


def pytest_unconfigure(config: pytest.Config) -> None:
    cluster = config.stash.get(_CLUSTER, None)
    if cluster is not None:
        cluster.stop()
        os.environ.pop(postgres_server.ENV, None)


_CLUSTER = pytest.StashKey[postgres_server.Cluster]()


def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("sqlite_only")
    if marker is not None and item.config.getoption("engine") != "sqlite":
        pytest.skip(marker.args[0] if marker.args else "SQLite only")


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    """Async tests run on anyio's asyncio backend without a marker on each: the mark is
    put on the function before anyio's own collection hook looks for it."""
    if name.startswith("test") and inspect.iscoroutinefunction(obj):
        pytest.mark.anyio(obj)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: Playwright's sync API keeps an event loop open in the main
    thread for the rest of the run, which async tests cannot share."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even beside Playwright's loop."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated database file, copied for each test: migrating once keeps tests quick
    while every test still starts from the real schema."""
    path = tmp_path_factory.mktemp("template") / "festival.db"
    run_async(migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def engine(request: pytest.FixtureRequest) -> str:
    """The database engine this run uses: ``sqlite`` or ``postgresql``."""
    return str(request.config.getoption("engine"))


@pytest.fixture(scope="session")
def postgres_template(engine: str, worker_id: str) -> Iterator[str | None]:
    """On PostgreSQL, one migrated database per test process to copy for each test."""
    if engine != "postgresql":
        yield None
        return
    name = f"template_{worker_id}_{uuid.uuid4().hex[:8]}"
    url = run_async(postgres_server.create_database(name))
    run_async(migrate(url))
    yield name
    run_async(postgres_server.drop_database(name))


NewDatabase = Callable[[Path], str]


@pytest.fixture
def new_database(migrated_db: Path, postgres_template: str | None) -> Iterator[NewDatabase]:
    """Make a fresh migrated database for a data folder and return its URL: a copy of
    the template file inside the folder on SQLite, a database copied from the template
    on PostgreSQL (dropped when the test ends)."""
    made: list[str] = []

    def make(data_dir: Path) -> str:
        data_dir.mkdir(parents=True, exist_ok=True)
        if postgres_template is None:
            shutil.copy(migrated_db, data_dir / "festival.db")
            return f"sqlite+aiosqlite:///{data_dir / 'festival.db'}"
        name = f"test_{uuid.uuid4().hex}"
        made.append(name)
        return run_async(postgres_server.create_database(name, postgres_template))

    yield make
    for name in made:
        run_async(postgres_server.drop_database(name))


def make_settings(data_dir: Path, **overrides: str) -> Settings:
    env = {
        "FESTIVAL_DATA_DIR": str(data_dir),
        "FESTIVAL_BASE_URL": "http://festival.test",
        "FESTIVAL_SECRET_KEY": "test-secret-" + "x" * 40,
        # Tests run jobs themselves (app.state.jobs.run_until_idle()), so they know when.
        "FESTIVAL_RUN_JOBS": "false",
    }
    env.update({f"FESTIVAL_{k.upper()}": v for k, v in overrides.items()})
    return load_settings(env)


@pytest.fixture
def settings(tmp_path: Path, new_database: NewDatabase) -> Settings:
    data_dir = tmp_path / "var"
    return make_settings(data_dir, database_url=new_database(data_dir))


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AppClient(app, base_url="http://festival.test") as test_client:
        yield test_client


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    """The same database file the app uses, for setting up accounts as the CLI would."""
    database = Database.open(settings.database_url)
    yield database
    await database.close()


@pytest.fixture
async def staff_token(db: Database) -> str:
    await create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD, "Organiser")
    return await new_api_token(db, STAFF_EMAIL)


@pytest.fixture
def staff_headers(staff_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {staff_token}"}


@pytest.fixture
def repo_root() -> Iterator[Path]:
    yield Path(__file__).resolve().parents[1]


class Databases:
    """Databases for fixtures of any scope: fresh ones like :func:`new_database` makes,
    and copies of one a fixture has filled (a seeded world, copied for each test or each
    Hypothesis example).

    On SQLite a database is the file ``festival.db`` in its data folder, copied with
    SQLite's backup API (which reads a consistent database, write-ahead log included). On
    PostgreSQL it is a database in the test cluster, copied with ``CREATE DATABASE ...
    TEMPLATE`` (PostgreSQL refuses while anyone is connected to the source, so close the
    apps and pools on it first); :meth:`drop` removes one, and any left are dropped when
    the run ends.
    """

    def __init__(self, migrated_db: Path, postgres_template: str | None) -> None:
        self._migrated_db = migrated_db
        self._template = postgres_template
        self._made: set[str] = set()

    @property
    def engine(self) -> str:
        return "sqlite" if self._template is None else "postgresql"

    def new(self, data_dir: Path) -> str:
        """A fresh migrated database for ``data_dir``; its URL."""
        return run_async(self.new_async(data_dir))

    def copy(self, source_url: str, data_dir: Path) -> str:
        """A copy of the database at ``source_url`` for ``data_dir``; its URL."""
        return run_async(self.copy_async(source_url, data_dir))

    def empty(self, data_dir: Path) -> str:
        """The URL of a database with no tables yet, as a new installation has: on SQLite
        the file ``festival.db`` in ``data_dir`` that the first command makes; on
        PostgreSQL a new empty database."""
        if self._template is None:
            return f"sqlite+aiosqlite:///{data_dir / 'festival.db'}"
        name = f"test_{uuid.uuid4().hex}"
        self._made.add(name)
        return run_async(postgres_server.create_database(name))

    def drop(self, url: str) -> None:
        """Remove a PostgreSQL database made here (a SQLite file goes with its folder)."""
        run_async(self.drop_async(url))

    async def new_async(self, data_dir: Path) -> str:
        if self._template is None:
            return await self.copy_async(f"sqlite+aiosqlite:///{self._migrated_db}", data_dir)
        return await self._create(self._template)

    async def copy_async(self, source_url: str, data_dir: Path) -> str:
        data_dir.mkdir(parents=True, exist_ok=True)
        if self._template is None:
            target = data_dir / "festival.db"
            await asyncio.to_thread(_sqlite_copy, Path(source_url.split(":///", 1)[1]), target)
            return f"sqlite+aiosqlite:///{target}"
        return await self._create(_database_name(source_url))

    async def replace_async(self, target_url: str, source_url: str) -> None:
        """Make the database at ``target_url`` a copy of the one at ``source_url`` again,
        under the same URL. On SQLite it is written through a connection, so apps open on
        it see the copy; on PostgreSQL it is dropped and copied again, so apps on it must
        let go of their connections first (``await db.close()``: the pool reconnects)."""
        if self._template is None:
            source = Path(source_url.split(":///", 1)[1])
            target = Path(target_url.split(":///", 1)[1])
            await asyncio.to_thread(_sqlite_copy, source, target)
            return
        name = _database_name(target_url)
        await postgres_server.drop_database(name)
        await postgres_server.create_database(name, _database_name(source_url))

    async def drop_async(self, url: str) -> None:
        if self._template is None:
            return
        name = _database_name(url)
        await postgres_server.drop_database(name)
        self._made.discard(name)

    async def _create(self, template: str) -> str:
        name = f"test_{uuid.uuid4().hex}"
        self._made.add(name)
        return await postgres_server.create_database(name, template)

    def drop_all(self) -> None:
        for name in sorted(self._made):
            run_async(postgres_server.drop_database(name))
        self._made.clear()


def _database_name(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?", 1)[0]


def _sqlite_copy(source: Path, target: Path) -> None:
    # Written through a connection, so apps already open on ``target`` see the copy.
    source_conn = sqlite3.connect(source)
    target_conn = sqlite3.connect(target)
    try:
        source_conn.backup(target_conn)
    finally:
        source_conn.close()
        target_conn.close()


@pytest.fixture(scope="session")
def databases(migrated_db: Path, postgres_template: str | None) -> Iterator[Databases]:
    """Make and copy databases from fixtures of any scope (see :class:`Databases`)."""
    made = Databases(migrated_db, postgres_template)
    yield made
    made.drop_all()
