"""Published interviews for the output tests, made over HTTP as volunteers and staff would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from litestar import Litestar

from tests.consent.helpers import consent, make_public, ready_clip
from tests.crew.helpers import SLUG, Crew

BASE = "http://festival.test"
FEEDS = {
    "atom": f"/festivals/{SLUG}/interviews.atom",
    "json": f"/festivals/{SLUG}/interviews.json",
    "timelinejs": f"/festivals/{SLUG}/timeline.timelinejs.json",
}


async def session(crew: Crew, title: str, track: str = "Peer support") -> int:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    made = await crew.post(
        "/sessions",
        {
            "title": title,
            "kind": "talk",
            "room_id": crew.rooms["N1"],
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "status": "published",
            "track": track,
        },
    )
    return int(made["id"])


async def link(crew: Crew, clip_id: int, session_id: int) -> None:
    response = await crew.client.put(
        f"{crew.base}/clips/{clip_id}/sessions/{session_id}", headers=crew.staff
    )
    assert response.status_code == 200, response.text


async def published(
    crew: Crew,
    app: Litestar,
    auth: dict[str, str],
    folder: Path,
    title: str,
    *,
    scopes: tuple[str, ...] = ("timeline", "blog"),
    display_name: str = "Sam",
) -> tuple[int, dict[str, Any]]:
    """A captioned clip, consented for ``scopes``, approved and published: its id and the
    consent as created."""
    clip = await ready_clip(crew.client, app, auth, folder)
    renamed = await crew.client.patch(
        f"/api/v1/clips/{clip['id']}", json={"title": title}, headers=auth
    )
    assert renamed.status_code == 200, renamed.text
    created = await consent(crew, auth, clip["id"], scopes=list(scopes), display_name=display_name)
    await make_public(crew, auth, clip["id"], created)
    return int(clip["id"]), created


async def withdraw(crew: Crew, created: dict[str, Any]) -> None:
    response = await crew.client.post(
        f"{crew.base}/consents/{created['consent']['id']}/withdraw", headers=crew.staff
    )
    assert response.status_code == 200, response.text
