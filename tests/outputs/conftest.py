"""Fixtures for the outputs: the festival happening now, and a volunteer who films."""

from __future__ import annotations

import pytest

from tests.crew.helpers import Client, Crew


@pytest.fixture
async def crew(client: Client, staff_headers: dict[str, str]) -> Crew:
    return await Crew(client, staff_headers).setup()


@pytest.fixture
async def volunteer(crew: Crew) -> dict[str, str]:
    made: dict[str, str] = (await crew.volunteer("ada@crew.test", name="Ada Lovelace"))["headers"]
    return made
