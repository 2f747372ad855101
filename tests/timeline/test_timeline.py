"""The public timeline: published interviews in time order, and nothing else."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from litestar import Litestar

from tests.consent.helpers import consent, token_of
from tests.crew.helpers import SLUG, Client, Crew
from tests.timeline.helpers import (
    PAGE,
    TIMELINE,
    many_published,
    published_clip,
    session,
    timeline_ids,
)


@pytest.fixture
async def crew(client: Client, staff_headers: dict[str, str]) -> Crew:
    return await Crew(client, staff_headers).setup()


async def test_a_published_interview_shows_with_its_session_credit_and_media(
    client: Client, app: Litestar, crew: Crew, tmp_path: Path
) -> None:
    ada = await crew.volunteer("ada@crew.test", name="Ada Lovelace")
    talk = await session(crew, "Sharing power", 1, 2, track="Practice")
    slot = await crew.slot(2, 3)
    patched = await client.patch(
        f"/api/v1/festivals/{SLUG}/slots/{slot['id']}",
        json={"session_id": talk["id"]},
        headers=crew.staff,
    )
    assert patched.status_code == 200, patched.text
    await crew.assign(slot["id"], ada["id"])
    made = await published_clip(crew, app, ada["headers"], tmp_path, slot=slot["id"])
    clip_id = made["clip"]["id"]

    response = await client.get(TIMELINE)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1 and body["next_cursor"] is None
    [day] = body["days"]
    [item] = day["items"]
    assert item["id"] == clip_id
    assert item["credit"] == "Sam"
    assert item["filmed_by"] == "Ada Lovelace"
    assert item["url"] == f"http://festival.test/clips/{clip_id}"
    assert item["video_url"].endswith(f"/media/clips/{clip_id}/web.mp4")
    assert item["captions_url"].endswith(f"/media/clips/{clip_id}/captions.vtt")
    assert [s["title"] for s in item["sessions"]] == ["Sharing power"]
    assert item["sessions"][0]["track"] == "Practice"
    assert "Samira" not in response.text and "example.org" not in response.text
    # Nothing private: no consent, contact or token fields at all.
    assert "consent" not in response.text and "email" not in response.text

    page = await client.get(PAGE)
    assert page.status_code == 200
    assert f'href="/clips/{clip_id}"' in page.text
    assert "Sharing power" in page.text and 'loading="lazy"' in page.text


async def test_only_published_consented_clips_appear(
    client: Client, app: Litestar, crew: Crew, tmp_path: Path
) -> None:
    ada = await crew.volunteer("ada@crew.test")
    shown = await published_clip(crew, app, ada["headers"], tmp_path)
    # Consented but not approved or published.
    from tests.consent.helpers import ready_clip

    waiting = await ready_clip(client, app, ada["headers"], tmp_path)
    await consent(crew, ada["headers"], waiting["id"])
    # Consented only for training: published would be refused, so it never shows.
    private = await ready_clip(client, app, ada["headers"], tmp_path)
    await consent(crew, ada["headers"], private["id"], scopes=["training"])
    assert await timeline_ids(client) == [shown["clip"]["id"]]

    # Withdrawal takes it off at once, from the API and the page, and search.
    token = token_of(shown["consent"])
    assert (await client.post(f"/api/v1/consent/{token}/withdraw")).status_code == 200
    assert await timeline_ids(client) == []
    assert await timeline_ids(client, "?q=Sam") == []
    page = await client.get(PAGE)
    assert f"/clips/{shown['clip']['id']}" not in page.text
    assert "No interviews have been published yet" in page.text


async def test_paging_walks_every_interview_once_in_time_order(
    client: Client, app: Litestar, crew: Crew
) -> None:
    await many_published(app, 45)
    seen: list[tuple[str, int]] = []
    url: str | None = f"{TIMELINE}?limit=20"
    pages = 0
    while url:
        response = await client.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [(i["at"], i["id"]) for d in body["days"] for i in d["items"]]
        url = body["next_url"]
        pages += 1
    assert pages == 3
    assert len(seen) == 45 and len({i for _, i in seen}) == 45
    assert seen == sorted(seen)


async def test_filters_by_day_session_and_track(client: Client, app: Litestar, crew: Crew) -> None:
    first = await session(crew, "Morning circle", -20, -19, track="Lived experience")
    await session(crew, "Afternoon panel", 8, 9, track="Commissioning")
    await many_published(app, 30)
    everything = (await client.get(f"{TIMELINE}?limit=100")).json()
    items = [i for d in everything["days"] for i in d["items"]]
    assert len(items) == 30
    day = items[0]["day"]
    on_day = await timeline_ids(client, f"?day={day}&limit=100")
    assert on_day == [i["id"] for i in items if i["day"] == day]
    in_session = await timeline_ids(client, f"?session={first['id']}&limit=100")
    assert in_session == [i["id"] for i in items if first["id"] in [s["id"] for s in i["sessions"]]]
    assert in_session, "synthetic interviews link to sessions on their own day"
    in_track = await timeline_ids(client, "?track=Lived%20experience&limit=100")
    assert in_track == in_session
    assert await timeline_ids(client, "?track=Nothing%20here") == []


async def test_search_finds_titles_credits_and_transcripts(
    client: Client, app: Litestar, crew: Crew, tmp_path: Path
) -> None:
    ada = await crew.volunteer("ada@crew.test", name="Ada Lovelace")
    made = await published_clip(crew, app, ada["headers"], tmp_path, display_name="Zanele")
    clip_id = made["clip"]["id"]
    await many_published(app, 5)
    assert await timeline_ids(client, "?q=zanele") == [clip_id]  # the credit
    assert await timeline_ids(client, "?q=hello") == [clip_id]  # the captions (SRT "Hello.")
    assert await timeline_ids(client, "?q=lovelace") == [clip_id]  # who filmed it
    assert await timeline_ids(client, "?q=Zan") == [clip_id], "words match from their start"
    # FTS syntax typed by a visitor is searched as words, never an error.
    for typed in ('"', "NEAR(", "title:x", "a AND OR", "*", "-"):
        response = await client.get(TIMELINE, params={"q": typed})
        assert response.status_code == 200, (typed, response.text)
    # A changed credit is found by its new words only.
    token = token_of(made["consent"])
    changed = await client.patch(
        f"/api/v1/consent/{token}", json={"credit": "chosen", "display_name": "Thandi"}
    )
    assert changed.status_code == 200, changed.text
    assert await timeline_ids(client, "?q=zanele") == []
    assert await timeline_ids(client, "?q=thandi") == [clip_id]


async def test_json_answers_304_when_nothing_changed(
    client: Client, app: Litestar, crew: Crew
) -> None:
    await many_published(app, 3)
    first = await client.get(TIMELINE)
    tag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, no-cache"
    again = await client.get(TIMELINE, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    await many_published(app, 1)
    changed = await client.get(TIMELINE, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["etag"] != tag


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("?colour=red", 400, "no filter called 'colour'"),
        ("?cursor=not-a-cursor", 400, "cursor"),
        ("?cursor=WyJ4IiwxXQ", 400, "cursor"),
        ("?limit=1000", 422, "from 1 to 100"),
        ("?limit=0", 422, "from 1 to 100"),
        ("?limit=ten", 422, "from 1 to 100"),
        ("?day=2019-13-01", 400, "a date like"),
        ("?session=abc", 400, "whole number"),
        ("?session=999", 422, "no session 999"),
        ("?post=999", 422, "no blog post 999"),
        ("?day=2019-07-01&day=2019-07-02", 400, "more than once"),
        ("?q=" + "x" * 201, 400, "at most 200"),
    ],
)
async def test_bad_timeline_requests_say_what_to_fix(
    client: Client, crew: Crew, query: str, status: int, words: str
) -> None:
    response = await client.get(TIMELINE + query)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert words in problem["detail"] + " ".join(e["message"] for e in problem.get("errors", []))
    assert problem["fix"]
    page = await client.get(PAGE + query)
    assert page.status_code == status
    assert "There is a problem" in page.text and "<form" in page.text


async def test_unknown_festival_is_404(client: Client) -> None:
    assert (await client.get("/api/v1/festivals/nowhere/timeline")).status_code == 404
    assert (await client.get("/festivals/nowhere/timeline")).status_code == 404


async def test_page_groups_by_day_and_offers_later_interviews(
    client: Client, app: Litestar, crew: Crew
) -> None:
    await many_published(app, 25)
    page = await client.get(PAGE)
    assert page.status_code == 200
    headings = re.findall(r'<h2 id="day-(\d{4}-\d\d-\d\d)">', page.text)
    assert headings == sorted(headings) and len(headings) == len(set(headings))
    later = re.search(r'<a class="button button--secondary" href="([^"]+)" rel="next">', page.text)
    assert later, "a link to the next page"
    following = await client.get(later.group(1).replace("&amp;", "&"))
    assert following.status_code == 200
    assert page.text.count('class="interview"') == 20
    assert following.text.count('class="interview"') == 5


async def test_each_festival_is_judged_by_its_own_publication_rules(
    client: Client, app: Litestar, staff_headers: dict[str, str], tmp_path: Path
) -> None:
    # Another festival, whose interviews come first, keeps the default: review required.
    today = datetime.now(UTC).date()
    other = {
        "slug": "other-fest",
        "name": "Other Festival",
        "starts_on": today.isoformat(),
        "ends_on": today.isoformat(),
        "timezone": "UTC",
    }
    assert (
        await client.post("/api/v1/festivals", json=other, headers=staff_headers)
    ).status_code == 201
    from festival.demo.synthetic import add_synthetic_clips

    await add_synthetic_clips(app.state.clips, "other-fest", 2)
    kept = await client.patch(
        "/api/v1/festivals/other-fest/publication-rules",
        json={"require_review": True},
        headers=staff_headers,
    )
    assert kept.status_code == 200, kept.text
    # This festival publishes without waiting for people to watch their clip first.
    crew = await Crew(client, staff_headers).setup()
    rules = await client.patch(
        f"/api/v1/festivals/{SLUG}/publication-rules",
        json={"require_review": False},
        headers=staff_headers,
    )
    assert rules.status_code == 200, rules.text
    ada = await crew.volunteer("ada@crew.test")
    from tests.consent.helpers import SRT, ready_clip

    clip = await ready_clip(client, app, ada["headers"], tmp_path)
    await consent(crew, ada["headers"], clip["id"])
    assert (
        await client.put(
            f"/api/v1/clips/{clip['id']}/captions", content=SRT, headers=ada["headers"]
        )
    ).status_code == 200
    published = await client.post(
        f"/api/v1/festivals/{SLUG}/clips/{clip['id']}/publish", headers=staff_headers
    )
    assert published.status_code == 200, published.text
    assert await timeline_ids(client) == [clip["id"]]
    assert len(await timeline_ids_of(client, "other-fest")) == 2


async def timeline_ids_of(client: Client, slug: str) -> list[int]:
    response = await client.get(f"/api/v1/festivals/{slug}/timeline")
    assert response.status_code == 200, response.text
    return [item["id"] for day in response.json()["days"] for item in day["items"]]


async def test_cached_public_pages_change_as_soon_as_the_data_does(
    client: Client, app: Litestar, crew: Crew, tmp_path: Path
) -> None:
    ada = await crew.volunteer("ada@crew.test")
    talk = await session(crew, "Sharing power", 1, 2)
    made = await published_clip(crew, app, ada["headers"], tmp_path)
    clip_id = made["clip"]["id"]
    session_page = f"/festivals/{SLUG}/sessions/{talk['id']}"
    pages = [PAGE, f"/clips/{clip_id}", f"/clips/{clip_id}/transcript", session_page]
    first = {url: await client.get(url) for url in pages}
    assert all(r.status_code == 200 for r in first.values())
    again = await client.get(PAGE, headers={"If-None-Match": first[PAGE].headers["etag"]})
    assert again.status_code == 304

    renamed = await client.patch(
        f"/api/v1/festivals/{SLUG}/sessions/{talk['id']}",
        json={"title": "Power, shared"},
        headers=crew.staff,
    )
    assert renamed.status_code == 200, renamed.text
    assert "Power, shared" in (await client.get(session_page)).text

    token = token_of(made["consent"])
    assert (await client.post(f"/api/v1/consent/{token}/withdraw")).status_code == 200
    assert (await client.get(f"/clips/{clip_id}")).status_code == 410
    assert (await client.get(f"/clips/{clip_id}/transcript")).status_code == 410
    timeline_page = await client.get(PAGE, headers={"If-None-Match": first[PAGE].headers["etag"]})
    assert timeline_page.status_code == 200
    assert f"/clips/{clip_id}" not in timeline_page.text


async def test_uploads_in_progress_leave_cached_pages_alone_until_something_is_published(
    client: Client, app: Litestar, crew: Crew, tmp_path: Path
) -> None:
    cache = app.state.public_cache
    ada = await crew.volunteer("ada@crew.test")
    from tests.consent.helpers import SRT, ready_clip

    before = await cache.version()
    clip = await ready_clip(client, app, ada["headers"], tmp_path)  # upload and processing
    created = await consent(crew, ada["headers"], clip["id"])
    assert (
        await client.put(
            f"/api/v1/clips/{clip['id']}/captions", content=SRT, headers=ada["headers"]
        )
    ).status_code == 200
    # Only the consent row itself counted: the clip is not public, so nothing shown changed.
    unpublished = await cache.version()
    assert unpublished - before <= 1
    assert (await client.post(f"/api/v1/consent/{token_of(created)}/approve")).status_code == 200
    published = await client.post(
        f"/api/v1/festivals/{SLUG}/clips/{clip['id']}/publish", headers=crew.staff
    )
    assert published.status_code == 200
    assert await cache.version() > unpublished + 1
    assert await timeline_ids(client) == [clip["id"]]
