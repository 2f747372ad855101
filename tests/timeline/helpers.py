"""Published interviews for timeline tests: real ones through upload and consent, and
many at once through the load-test command's own code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Litestar

from festival.demo.synthetic import add_synthetic_clips
from tests.consent.helpers import consent, make_public, ready_clip
from tests.crew.helpers import SLUG, Client, Crew, at

TIMELINE = f"/api/v1/festivals/{SLUG}/timeline"
PAGE = f"/festivals/{SLUG}/timeline"


async def session(crew: Crew, title: str, start: float, end: float, track: str = "") -> Any:
    return await crew.post(
        "/sessions",
        {
            "title": title,
            "kind": "talk",
            "room_id": crew.rooms["N1"],
            "starts_at": at(start),
            "ends_at": at(end),
            "track": track,
            "status": "published",
        },
    )


async def published_clip(
    crew: Crew,
    app: Litestar,
    volunteer: dict[str, str],
    folder: Path,
    *,
    slot: int | None = None,
    **consent_overrides: Any,
) -> dict[str, Any]:
    """A clip uploaded by ``volunteer``, consented, approved, captioned and published."""
    meta = {"slot": str(slot)} if slot is not None else {}
    clip = await ready_clip(crew.client, app, volunteer, folder, **meta)
    created = await consent(crew, volunteer, clip["id"], **consent_overrides)
    await make_public(crew, volunteer, clip["id"], created)
    return {"clip": clip, "consent": created}


async def many_published(app: Litestar, count: int) -> int:
    return await add_synthetic_clips(app.state.clips, SLUG, count)


async def timeline_ids(client: Client, query: str = "") -> list[int]:
    response = await client.get(f"{TIMELINE}{query}")
    assert response.status_code == 200, response.text
    return [item["id"] for day in response.json()["days"] for item in day["items"]]
