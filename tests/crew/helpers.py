"""A festival happening now, with rooms at two venues and volunteers, built over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

SLUG = "now-fest"
Client = AsyncTestClient[Litestar]


def at(hours: float) -> str:
    """An ISO time ``hours`` from now, on the quarter hour, in UTC."""
    base = datetime.now(UTC).replace(second=0, microsecond=0)
    base -= timedelta(minutes=base.minute % 15)
    return (base + timedelta(hours=hours)).isoformat()


class Crew:
    def __init__(self, client: Client, staff: dict[str, str]) -> None:
        self.client = client
        self.staff = staff
        self.base = f"/api/v1/festivals/{SLUG}"
        self.rooms: dict[str, int] = {}

    async def post(self, path: str, body: dict[str, Any], status: int = 201) -> Any:
        response = await self.client.post(self.base + path, json=body, headers=self.staff)
        assert response.status_code == status, response.text
        return response.json()

    async def setup(self) -> Crew:
        today = datetime.now(UTC).date()
        festival = {
            "slug": SLUG,
            "name": "Now Festival",
            "starts_on": (today - timedelta(days=1)).isoformat(),
            "ends_on": (today + timedelta(days=3)).isoformat(),
            "timezone": "UTC",
        }
        response = await self.client.post("/api/v1/festivals", json=festival, headers=self.staff)
        assert response.status_code == 201, response.text
        for venue_name, rooms in (("North Hall", ["N1", "N2"]), ("South Hall", ["S1"])):
            venue = await self.post("/venues", {"name": venue_name})
            for room in rooms:
                made = await self.post("/rooms", {"venue_id": venue["id"], "name": room})
                self.rooms[room] = made["id"]
        return self

    async def volunteer(
        self,
        email: str,
        *,
        name: str = "",
        trained: bool = True,
        free: tuple[float, float] | None = (-20, 60),
    ) -> dict[str, Any]:
        """Invite a volunteer; train them and make them free between two offsets in hours."""
        invitation = await self.post("/volunteers", {"email": email, "name": name or email})
        volunteer_id = invitation["volunteer"]["id"]
        if trained:
            await self.post(
                f"/volunteers/{volunteer_id}/training",
                {"trained_on": datetime.now(UTC).date().isoformat(), "trainer": "Sam Trainer"},
            )
        if free is not None:
            response = await self.client.put(
                f"{self.base}/volunteers/{volunteer_id}/availability",
                json={"windows": [{"starts_at": at(free[0]), "ends_at": at(free[1])}]},
                headers=self.staff,
            )
            assert response.status_code == 200, response.text
        return {
            "id": volunteer_id,
            "token": invitation["token"],
            "url": invitation["invite_url"],
            "headers": {"Authorization": f"Bearer {invitation['token']}"},
        }

    async def slot(
        self, start: float, end: float, room: str = "N1", capacity: int = 1
    ) -> dict[str, Any]:
        return await self.post(  # type: ignore[no-any-return]
            "/slots",
            {
                "starts_at": at(start),
                "ends_at": at(end),
                "room_id": self.rooms[room],
                "capacity": capacity,
            },
        )

    async def assign(self, slot_id: int, volunteer_id: int, status: int = 201) -> Any:
        return await self.post(
            f"/slots/{slot_id}/assignments", {"volunteer_id": volunteer_id}, status
        )
