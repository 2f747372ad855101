"""The demo festival loads from its data file, obeys the programme's rules, and loads once."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from festival.db.engine import Database
from festival.demo.loader import demo_data, load_demo


async def test_demo_festival_loads_once_and_shows_its_programme(
    db: Database, client: AsyncTestClient[Litestar]
) -> None:
    first = await load_demo(db)
    second = await load_demo(db)
    assert "Loaded the demo festival" in first
    assert "already loaded" in second

    data = demo_data()
    slug = data["festival"]["slug"]
    response = await client.get(f"/api/v1/festivals/{slug}/sessions")
    assert response.status_code == 200
    sessions = response.json()
    public = [s for s in data["sessions"] if s.get("status", "published") != "draft"]
    assert sorted(s["title"] for s in sessions) == sorted(s["title"] for s in public)
    assert {s["status"] for s in sessions} == {"published", "cancelled"}
    # Times were local to London in the data file and come back as UTC (BST is +01:00).
    opening = min(sessions, key=lambda s: s["starts_at"])
    assert opening["starts_at"].startswith("2019-07-01T08:30")
    rooms = (await client.get(f"/api/v1/festivals/{slug}/rooms")).json()
    assert any(r["online"] for r in rooms)
    assert any(r["quiet_room"] for r in rooms)


def test_demo_data_keeps_our_own_words_and_links_every_key() -> None:
    data = demo_data()
    rooms = {r["key"] for v in data["venues"] for r in v["rooms"]}
    people = {p["key"] for p in data["people"]}
    posts = {p["key"] for p in data["posts"]}
    for session in data["sessions"]:
        assert session["room"] in rooms
        assert {c["person"] for c in session.get("co_producers", [])} <= people
        assert set(session.get("posts", [])) <= posts
    assert all(p["summary"] and p["title"] and p["published"] for p in data["posts"])


async def test_demo_has_trained_volunteers_with_slots(
    db: Database, client: AsyncTestClient[Litestar], staff_headers: dict[str, str]
) -> None:
    message = await load_demo(db)
    slug = demo_data()["festival"]["slug"]
    volunteers = (
        await client.get(f"/api/v1/festivals/{slug}/volunteers", headers=staff_headers)
    ).json()
    assert len(volunteers) == len(demo_data()["volunteers"])
    trained = [v for v in volunteers if v["trained"]]
    assert len(trained) == len(volunteers) - 1
    assert all(v["counts"]["slots"] == 0 for v in volunteers if not v["trained"])
    slots = (await client.get(f"/api/v1/festivals/{slug}/slots", headers=staff_headers)).json()
    filled = [s for s in slots if s["assignments"]]
    assert slots and filled
    assert f"{len(filled)} interview places filled" in message
    # No slot sits beside a session marked do-not-film.
    sessions = (await client.get(f"/api/v1/festivals/{slug}/sessions")).json()
    no_film = {s["id"] for s in sessions if s["do_not_film"]}
    assert not any(s["session"] and s["session"]["id"] in no_film for s in slots)


async def test_demo_clips_have_posters_renditions_and_captions(
    client: AsyncTestClient[Litestar], app: Litestar, staff_headers: dict[str, str]
) -> None:
    message = await load_demo(app.state.db, app.state.clips)
    assert "3 interview clips" in message
    slug = demo_data()["festival"]["slug"]
    clips = (await client.get(f"/api/v1/clips?festival={slug}", headers=staff_headers)).json()
    assert len(clips) == len(demo_data()["clips"])
    for clip in clips:
        assert clip["state"] == "ready"
        assert clip["slot_id"] and clip["volunteer_id"]
        for url in (clip["video_url"], clip["poster_url"], clip["captions_url"]):
            assert (await client.get(url, headers=staff_headers)).status_code == 200
        assert clip["height"] > clip["width"]
