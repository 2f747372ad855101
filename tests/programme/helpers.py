"""Build a small programme through the API, as a staff client would."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

SLUG = "summer-fest"


async def make_programme(
    client: AsyncTestClient[Litestar], headers: dict[str, str]
) -> dict[str, Any]:
    """A festival (1–3 July 2026, London), one venue with two rooms, two people."""

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(path, json=body, headers=headers)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    festival = await post(
        "/api/v1/festivals",
        {
            "slug": SLUG,
            "name": "Summer Festival",
            "starts_on": "2026-07-01",
            "ends_on": "2026-07-03",
            "description": "Working as equals.",
        },
    )
    base = f"/api/v1/festivals/{SLUG}"
    venue = await post(f"{base}/venues", {"name": "Town Hall", "address": "1 High Street"})
    hall = await post(
        f"{base}/rooms",
        {"venue_id": venue["id"], "name": "Great Hall", "capacity": 200, "step_free": True},
    )
    studio = await post(f"{base}/rooms", {"venue_id": venue["id"], "name": "Studio"})
    ann = await post(f"{base}/people", {"name": "Ann Lee", "organisation": "Peer Network"})
    raj = await post(f"{base}/people", {"name": "Raj Patel"})
    return {
        "festival": festival,
        "venue": venue,
        "hall": hall,
        "studio": studio,
        "ann": ann,
        "raj": raj,
        "base": base,
    }


def session_body(room_id: int, start: str, end: str, **extra: Any) -> dict[str, Any]:
    """A session on 1 July 2026 between local (BST) clock times like "10:00"."""
    body: dict[str, Any] = {
        "title": "Listening to lived experience",
        "kind": "talk",
        "room_id": room_id,
        "starts_at": f"2026-07-01T{start}:00+01:00",
        "ends_at": f"2026-07-01T{end}:00+01:00",
        "status": "published",
    }
    body.update(extra)
    return body
