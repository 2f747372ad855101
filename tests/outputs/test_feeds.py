"""Atom and JSON Feed of published interviews, read by consumers nobody here wrote:
feedparser for Atom, and the JSON Feed 1.1 schema (from npm) for JSON Feed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import feedparser  # type: ignore[import-untyped]
import jsonschema
from litestar import Litestar

from tests.crew.helpers import SLUG, Client, Crew
from tests.outputs.helpers import BASE, FEEDS, link, published, session, withdraw

SCHEMA = Path("node_modules/jsonfeed-schema/schema-v1.1.json")


def json_feed_schema(repo_root: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((repo_root / SCHEMA).read_text())
    return schema


async def test_atom_feed_reads_cleanly_with_enclosures_and_etag(
    client: Client, app: Litestar, crew: Crew, volunteer: dict[str, str], tmp_path: Path
) -> None:
    empty = await client.get(FEEDS["atom"])
    assert empty.status_code == 200
    assert feedparser.parse(empty.content).bozo == 0, "an empty feed is still a valid feed"

    talk = await session(crew, "Peer support & recovery", track="Peer support")
    first, _ = await published(crew, app, volunteer, tmp_path, "Sam on peer support")
    await link(crew, first, talk)
    second, _ = await published(
        crew, app, volunteer, tmp_path, "Kim <b>on</b> housing", display_name="Kim"
    )

    response = await client.get(FEEDS["atom"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert response.headers["cache-control"] == "public, no-cache"
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    feed = parsed.feed
    assert feed.title == "Interviews from Now Festival"
    assert feed.id == f"{BASE}{FEEDS['atom']}"
    links = {(lk.rel, lk.href) for lk in feed.links}
    assert ("self", f"{BASE}{FEEDS['atom']}") in links
    assert ("alternate", f"{BASE}/festivals/{SLUG}/timeline") in links
    assert feed.updated_parsed is not None

    assert [e.title for e in parsed.entries] == ["Kim <b>on</b> housing", "Sam on peer support"]
    sam = parsed.entries[1]
    assert sam.id == f"{BASE}/clips/{first}"
    assert sam.link == f"{BASE}/clips/{first}"
    assert sam.author == "Sam"
    assert sam.published_parsed is not None and sam.updated_parsed is not None
    assert "The story of Sam. Filmed by Ada Lovelace." in sam.summary
    assert "Session: Peer support & recovery (Peer support)." in sam.summary
    assert [t.term for t in sam.tags] == ["Peer support"]
    [enclosure] = sam.enclosures
    assert enclosure.href == f"{BASE}/media/clips/{first}/web.mp4"
    assert enclosure.type == "video/mp4"
    video = await client.get(f"/media/clips/{first}/web.mp4")
    assert int(enclosure.length) == len(video.content) > 0
    assert "Samira" not in response.text and "example.org" not in response.text
    assert parsed.entries[0].id == f"{BASE}/clips/{second}"

    # The same feed again costs nothing: If-None-Match answers 304 with no body.
    tag = response.headers["etag"]
    again = await client.get(FEEDS["atom"], headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == tag
    assert (
        await client.get(FEEDS["atom"], headers={"If-None-Match": '"other"'})
    ).status_code == 200


async def test_json_feed_is_valid_json_feed_1_1(
    client: Client,
    app: Litestar,
    crew: Crew,
    volunteer: dict[str, str],
    tmp_path: Path,
    repo_root: Path,
) -> None:
    validator = jsonschema.Draft7Validator(
        json_feed_schema(repo_root), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    empty = await client.get(FEEDS["json"])
    validator.validate(empty.json())
    assert empty.json()["items"] == []

    talk = await session(crew, "Co-producing research", track="Research")
    clip_id, _ = await published(crew, app, volunteer, tmp_path, "Sam on research")
    await link(crew, clip_id, talk)

    response = await client.get(FEEDS["json"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/feed+json"
    assert response.text.startswith('{"version":"https://jsonfeed.org/version/1.1"')
    feed = response.json()
    validator.validate(feed)
    assert feed["title"] == "Interviews from Now Festival"
    assert feed["home_page_url"] == f"{BASE}/festivals/{SLUG}/timeline"
    assert feed["feed_url"] == f"{BASE}{FEEDS['json']}"
    [item] = feed["items"]
    assert item["id"] == item["url"] == f"{BASE}/clips/{clip_id}"
    assert item["title"] == "Sam on research"
    assert item["authors"] == [{"name": "Sam"}]
    assert item["image"] == f"{BASE}/media/clips/{clip_id}/poster.jpg"
    assert item["tags"] == ["Research"]
    assert "Session: Co-producing research (Research)." in item["content_text"]
    [attachment] = item["attachments"]
    assert attachment["url"] == f"{BASE}/media/clips/{clip_id}/web.mp4"
    assert attachment["mime_type"] == "video/mp4"
    video = await client.get(f"/media/clips/{clip_id}/web.mp4")
    assert attachment["size_in_bytes"] == len(video.content)
    assert 1.5 < attachment["duration_in_seconds"] < 2.5

    tag = response.headers["etag"]
    again = await client.get(FEEDS["json"], headers={"If-None-Match": tag})
    assert again.status_code == 304


async def test_a_withdrawn_interview_leaves_every_output_at_once(
    client: Client, app: Litestar, crew: Crew, volunteer: dict[str, str], tmp_path: Path
) -> None:
    kept, _ = await published(crew, app, volunteer, tmp_path, "Kim stays")
    gone, created = await published(crew, app, volunteer, tmp_path, "Sam leaves")
    before = {name: await client.get(path) for name, path in FEEDS.items()}
    for response in before.values():
        assert "Sam leaves" in response.text and "Kim stays" in response.text

    await withdraw(crew, created)
    for name, path in FEEDS.items():
        # A cache that kept the old copy asks again and is told it has changed.
        after = await client.get(path, headers={"If-None-Match": before[name].headers["etag"]})
        assert after.status_code == 200, name
        assert after.headers["etag"] != before[name].headers["etag"], name
        assert "Sam leaves" not in after.text and f"/clips/{gone}" not in after.text, name
        assert "Kim stays" in after.text and f"/clips/{kept}" in after.text, name
    assert [
        e.title for e in feedparser.parse((await client.get(FEEDS["atom"])).content).entries
    ] == ["Kim stays"]


async def test_consent_for_the_timeline_alone_is_enough_for_the_feeds(
    client: Client, app: Litestar, crew: Crew, volunteer: dict[str, str], tmp_path: Path
) -> None:
    await published(crew, app, volunteer, tmp_path, "Timeline only", scopes=("timeline",))
    for name, path in FEEDS.items():
        assert "Timeline only" in (await client.get(path)).text, name


async def test_unpublished_interviews_are_in_no_output(
    client: Client, app: Litestar, crew: Crew, volunteer: dict[str, str], tmp_path: Path
) -> None:
    # Consented and approved for everything, but staff have not published it.
    from tests.consent.helpers import consent, ready_clip, token_of

    clip = await ready_clip(client, app, volunteer, tmp_path)
    await client.patch(f"/api/v1/clips/{clip['id']}", json={"title": "Not yet"}, headers=volunteer)
    created = await consent(crew, volunteer, clip["id"])
    assert (await client.post(f"/api/v1/consent/{token_of(created)}/approve")).status_code == 200
    for name, path in FEEDS.items():
        response = await client.get(path)
        assert response.status_code == 200, name
        assert "Not yet" not in response.text and f"/clips/{clip['id']}" not in response.text


async def test_an_unknown_festival_is_a_404_problem(client: Client) -> None:
    for path in FEEDS.values():
        response = await client.get(path.replace(SLUG, "no-such-fest"))
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
