"""The public page cache: one build for a crowd, and never a stale page."""

from __future__ import annotations

import asyncio

import pytest
from litestar import Litestar

from festival.timeline.cache import PublicCache
from tests.crew.helpers import Client, Crew


async def test_a_crowd_asking_at_once_gets_one_build(
    client: Client, app: Litestar, staff_headers: dict[str, str]
) -> None:
    cache: PublicCache = app.state.public_cache
    builds = 0

    async def build() -> bytes:
        nonlocal builds
        builds += 1
        await asyncio.sleep(0.05)
        return b"the page"

    answers = await asyncio.gather(*[cache.get("crowd", build) for _ in range(50)])
    assert builds == 1
    assert {body for _, body in answers} == {b"the page"}
    # Something public changes: the next request builds again.
    await Crew(client, staff_headers).setup()
    await cache.get("crowd", build)
    assert builds == 2


async def test_a_failed_build_is_not_kept(client: Client, app: Litestar) -> None:
    cache: PublicCache = app.state.public_cache
    attempts = 0

    async def build() -> bytes:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise LookupError("not there yet")
        return b"there now"

    with pytest.raises(LookupError):
        await cache.get("flaky", build)
    assert (await cache.get("flaky", build))[1] == b"there now"
    assert attempts == 2
