"""Shared fixtures: a fresh app and a real SQLite file for every test."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import shutil
from collections.abc import AsyncIterator, Coroutine, Iterator
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

T = TypeVar("T")

# These machines are shared and noisy: a property test is judged by what it finds, never
# by how fast examples are drawn or run.
hypothesis_settings.register_profile(
    "festival", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("festival")
STAFF_EMAIL = "organiser@festival.test"
STAFF_PASSWORD = "a long enough password"


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
def settings(tmp_path: Path, migrated_db: Path) -> Settings:
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    shutil.copy(migrated_db, data_dir / "festival.db")
    return make_settings(data_dir)


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app, base_url="http://festival.test") as test_client:
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
