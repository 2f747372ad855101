"""TimelineJS3 JSON checked against TimelineJS's own field rules (its TimelineConfig
refuses an event without start_date.year as a number, a repeated unique_id, or a slide
with neither headline nor text); the browser test renders it with TimelineJS itself."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Litestar

from tests.crew.helpers import SLUG, Client, Crew
from tests.outputs.helpers import BASE, FEEDS, link, published, session


def check_timelinejs_rules(data: dict[str, Any]) -> None:
    """The rules TimelineJS3 applies when it reads a timeline (src/js/core/TimelineConfig
    and TLDate), written out here."""
    assert set(data) <= {"title", "events", "eras", "scale"}
    assert data["title"]["text"]["headline"]
    ids: set[str] = set()
    for event in data["events"]:
        start = event["start_date"]
        for name in ("year", "month", "day", "hour", "minute"):
            assert type(start[name]) is int, (name, start)
        assert 1 <= start["month"] <= 12 and 1 <= start["day"] <= 31
        assert 0 <= start["hour"] <= 23 and 0 <= start["minute"] <= 59
        assert event["text"]["headline"] or event["text"]["text"]
        assert event["unique_id"] not in ids, "unique_id must be unique"
        ids.add(event["unique_id"])
        assert event["media"]["url"]


async def test_timelinejs_follows_its_rules_in_local_time(
    client: Client, app: Litestar, crew: Crew, volunteer: dict[str, str], tmp_path: Path
) -> None:
    zone = "America/New_York"  # far enough from UTC that a slip would show
    changed = await client.patch(
        f"/api/v1/festivals/{SLUG}", json={"timezone": zone}, headers=crew.staff
    )
    assert changed.status_code == 200, changed.text
    empty = await client.get(FEEDS["timelinejs"])
    assert empty.status_code == 200 and empty.json()["events"] == []

    talk = await session(crew, "Housing & care", track="Social care")
    first, _ = await published(crew, app, volunteer, tmp_path, "<script>alert(1)</script> Sam")
    await link(crew, first, talk)
    second, _ = await published(
        crew, app, volunteer, tmp_path, "Kim on housing", display_name="<b>Kim</b>"
    )

    response = await client.get(FEEDS["timelinejs"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    data = response.json()
    check_timelinejs_rules(data)
    assert "Now Festival" in data["title"]["text"]["headline"]
    events = data["events"]
    assert [e["unique_id"] for e in events] == [f"clip-{first}", f"clip-{second}"]

    # Each start date is the interview's time, shown in the festival's own zone.
    published_at = {
        item["id"]: datetime.fromisoformat(item["date_published"])
        for item in (await client.get(FEEDS["json"])).json()["items"]
    }
    for event, clip_id in zip(events, (first, second), strict=True):
        local = published_at[f"{BASE}/clips/{clip_id}"].astimezone(ZoneInfo(zone))
        start = event["start_date"]
        assert (start["year"], start["month"], start["day"]) == (
            local.year,
            local.month,
            local.day,
        )
        assert (start["hour"], start["minute"]) == (local.hour, local.minute)
        assert f"{local:%H:%M}" in start["display_date"]

    sam, kim = events
    # TimelineJS shows headline and text as HTML: people's words arrive escaped.
    assert sam["text"]["headline"] == "&lt;script&gt;alert(1)&lt;/script&gt; Sam"
    assert "<script>" not in response.text and "<b>Kim" not in response.text
    assert "The story of &lt;b&gt;Kim&lt;/b&gt;." in kim["text"]["text"]
    assert (
        f'<a href="{BASE}/festivals/{SLUG}/sessions/{talk}">Housing &amp; care</a>'
        in (sam["text"]["text"])
    )
    assert sam["group"] == "Social care"
    assert "group" not in kim
    assert sam["media"]["url"] == f"{BASE}/media/clips/{first}/web.mp4"
    assert sam["media"]["thumbnail"] == f"{BASE}/media/clips/{first}/thumb.jpg"
    assert sam["media"]["link"] == f"{BASE}/clips/{first}"
    assert sam["media"]["caption"] == "Sam"
    assert sam["media"]["credit"].startswith("All rights reserved")

    tag = response.headers["etag"]
    assert (
        await client.get(FEEDS["timelinejs"], headers={"If-None-Match": tag})
    ).status_code == 304
