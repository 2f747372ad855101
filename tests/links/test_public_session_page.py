"""A session's public page lists the interviews filmed there and the blog posts about it,
and only interviews the publication gate allows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar

from festival.db.engine import Database
from tests.consent.helpers import consent, make_public, ready_clip, token_of
from tests.crew.helpers import SLUG, Client, Crew, at
from tests.links.helpers import Place


@pytest.fixture
async def crew(client: Client, staff_headers: dict[str, str]) -> Crew:
    return await Crew(client, staff_headers).setup()


async def _session(
    crew: Crew, title: str = "Listening to lived experience", room: str = "N1"
) -> int:
    made = await crew.post(
        "/sessions",
        {
            "title": title,
            "kind": "talk",
            "room_id": crew.rooms[room],
            "starts_at": at(1),
            "ends_at": at(2),
            "status": "published",
        },
    )
    return int(made["id"])


async def _link(crew: Crew, session_id: int, kind: str, thing_id: int) -> None:
    response = await crew.client.put(
        f"{crew.base}/sessions/{session_id}/{kind}/{thing_id}", headers=crew.staff
    )
    assert response.status_code == 200, response.text


async def _titled(crew: Crew, app: Litestar, folder: Path, title: str) -> dict[str, Any]:
    clip = await ready_clip(crew.client, app, crew.staff, folder, festival=SLUG)
    renamed = await crew.client.patch(
        f"/api/v1/clips/{clip['id']}", json={"title": title}, headers=crew.staff
    )
    assert renamed.status_code == 200, renamed.text
    return clip


def _section(page: str, heading: str) -> str:
    match = re.search(rf"<h2>{heading}</h2>\s*<ul class=\"list\">(.*?)</ul>", page, re.S)
    assert match, f"no section {heading!r}"
    return match.group(1)


async def test_published_interviews_are_listed_and_others_are_not(
    client: Client, app: Litestar, crew: Crew, tmp_path: Path
) -> None:
    session = await _session(crew)
    shown = await _titled(crew, app, tmp_path, "Sam on <peer> support")
    waiting = await _titled(crew, app, tmp_path, "Not published yet")
    withdrawn = await _titled(crew, app, tmp_path, "Taken back")
    given = await consent(crew, crew.staff, shown["id"])
    await make_public(crew, crew.staff, shown["id"], given)
    await consent(crew, crew.staff, waiting["id"])
    taken_back = await consent(crew, crew.staff, withdrawn["id"])
    await make_public(crew, crew.staff, withdrawn["id"], taken_back)
    for clip in (shown, waiting, withdrawn):
        await _link(crew, session, "clips", clip["id"])

    page_path = f"/festivals/{SLUG}/sessions/{session}"
    page = (await client.get(page_path)).text
    listed = _section(page, "Interviews from this session")
    assert f'<a href="/clips/{shown["id"]}">Sam on &lt;peer&gt; support</a>' in listed
    thumb = re.search(r"<img ([^>]+)>", listed)
    assert thumb
    assert f'src="/media/clips/{shown["id"]}/thumb.jpg"' in thumb.group(1)
    assert 'alt="Still from the interview: Sam on &lt;peer&gt; support"' in thumb.group(1)
    assert 'loading="lazy"' in thumb.group(1)
    assert (await client.get(f"/media/clips/{shown['id']}/thumb.jpg")).status_code == 200
    assert f"/clips/{withdrawn['id']}" in listed, "published until the withdrawal"
    assert "Not published yet" not in page and f"/clips/{waiting['id']}" not in page

    withdrawal = await client.post(f"/api/v1/consent/{token_of(taken_back)}/withdraw")
    assert withdrawal.status_code == 200
    page = (await client.get(page_path)).text
    assert "Taken back" not in page and f"/clips/{withdrawn['id']}" not in page
    assert f"/clips/{shown['id']}" in page

    unpublished = await client.post(
        f"{crew.base}/clips/{shown['id']}/unpublish", headers=crew.staff
    )
    assert unpublished.status_code == 200, unpublished.text
    page = (await client.get(page_path)).text
    assert "Interviews from this session" not in page, "no heading over an empty list"


async def test_blog_posts_about_the_session_are_listed(
    client: Client, crew: Crew, db: Database
) -> None:
    session = await _session(crew)
    other_session = await _session(crew, "Another session", room="S1")
    place = Place(client, db, crew.staff, SLUG)
    place.id = (await client.get(crew.base)).json()["id"]
    linked = await place.post(
        "What we heard", url="https://blog.test/what-we-heard", author="Priya Shah"
    )
    no_address = await place.post("Photos from the day", author="")
    elsewhere = await place.post("About another session")
    await _link(crew, session, "posts", linked)
    await _link(crew, session, "posts", no_address)
    await _link(crew, other_session, "posts", elsewhere)

    page = (await client.get(f"/festivals/{SLUG}/sessions/{session}")).text
    listed = _section(page, "Blog posts about this session")
    assert '<a href="https://blog.test/what-we-heard">What we heard</a>' in listed
    assert "Priya Shah, <time datetime=" in listed
    assert re.search(r"Photos from the day\s*<br><time datetime=\"\d{4}-\d\d-\d\d\">", listed)
    assert "About another session" not in page
    assert "Interviews from this session" not in page


async def test_a_session_with_no_links_shows_neither_section(client: Client, crew: Crew) -> None:
    session = await _session(crew)
    page = await client.get(f"/festivals/{SLUG}/sessions/{session}")
    assert page.status_code == 200
    assert "Interviews from this session" not in page.text
    assert "Blog posts about this session" not in page.text
