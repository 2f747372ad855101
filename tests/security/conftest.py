"""A festival with a published interview, a volunteer and an interviewee's link."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar import Litestar

from tests.clips.helpers import Client
from tests.security.helpers import World, build_world


@pytest.fixture
async def world(
    client: Client, app: Litestar, staff_headers: dict[str, str], tmp_path: Path
) -> World:
    folder = tmp_path / "videos"
    folder.mkdir()
    return await build_world(client, app, staff_headers, folder)
