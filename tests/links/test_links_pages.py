"""The staff links pages, driven as a browser would: signed in through the form, each
change posted with its CSRF token, and the result read back through the API."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import httpx
import pytest

from festival.db.engine import Database
from tests.clips.helpers import sign_in_as_staff
from tests.crew.helpers import Crew
from tests.links.helpers import HERE, THERE, Client, Place

CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
STAFF = f"/staff/festivals/{HERE}"


@pytest.fixture
async def here(client: Client, db: Database, staff_headers: dict[str, str]) -> Place:
    place = await Place(client, db, staff_headers, HERE).setup("Here Festival")
    await sign_in_as_staff(client)
    return place


def text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


async def submit(client: Client, page: str, action: str, data: dict[str, Any]) -> httpx.Response:
    """Open ``page`` and post ``data`` to ``action`` with the CSRF token the page carries."""
    opened = await client.get(page)
    assert opened.status_code == 200, opened.text
    token = CSRF.search(opened.text)
    assert token
    return await client.post(
        action, data={**data, "_csrf_token": token.group(1)}, follow_redirects=False
    )


async def test_staff_link_a_session_and_a_post_to_a_clip_and_remove_one(
    client: Client, here: Place
) -> None:
    clip = await here.clip("Sam on peer support")
    opening = await here.session("Opening", day=0, hour=9)
    closing = await here.session("Closing", day=1, hour=16)
    post = await here.post("What we heard", day=1)
    page_path = f"{STAFF}/clips/{clip}/links"

    page = await client.get(page_path)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "<h1>Sam on peer support (clip " in page.text
    assert "Not linked to any sessions yet." in page.text
    # Sessions are offered day by day, each with its start time.
    groups = re.findall(r'<optgroup label="([^"]+)">', page.text)
    assert len(groups) == 2
    assert f'<option value="{opening}">09:00 Opening</option>' in page.text
    assert f'<option value="{closing}">16:00 Closing</option>' in page.text
    assert re.search(rf'<option value="{post}">[^<]+: What we heard</option>', page.text)

    added = await submit(client, page_path, f"{page_path}/add", {"session_id": str(opening)})
    assert added.status_code == 303
    assert added.headers["location"] == f"{page_path}?saved=session-linked#sessions"
    added = await submit(client, page_path, f"{page_path}/add", {"post_id": str(post)})
    assert added.headers["location"] == f"{page_path}?saved=post-linked#posts"

    page = await client.get(f"{page_path}?saved=post-linked")
    assert '<p class="notice" role="status">The blog post has been linked.</p>' in page.text
    assert f'<a href="{STAFF}/sessions/{opening}/links">Opening</a>' in page.text
    assert f'<a href="{STAFF}/posts/{post}/links">What we heard</a>' in page.text
    assert f'<option value="{opening}">' not in page.text, "a linked session is not offered"
    assert "Every blog post of Here Festival is linked already." in page.text

    links = (await client.get(f"{here.api}/sessions/{opening}/links", headers=here.staff)).json()
    assert [c["id"] for c in links["clips"]] == [clip]

    removed = await submit(client, page_path, f"{page_path}/remove", {"session_id": str(opening)})
    assert removed.headers["location"] == f"{page_path}?saved=session-unlinked#sessions"
    page = await client.get(removed.headers["location"].split("#")[0])
    assert "The link to the session has been removed." in page.text
    assert "Not linked to any sessions yet." in page.text
    links = (await client.get(f"{here.api}/clips/{clip}/links", headers=here.staff)).json()
    assert links["sessions"] == [] and [p["id"] for p in links["posts"]] == [post]


async def test_the_session_and_post_pages_link_from_their_side(client: Client, here: Place) -> None:
    clip = await here.clip("")
    session = await here.session("Workshop")
    post = await here.post("Notes from the workshop")
    session_page = f"{STAFF}/sessions/{session}/links"
    post_page = f"{STAFF}/posts/{post}/links"

    page = await client.get(session_page)
    assert f'<option value="{clip}">Untitled clip (clip {clip})</option>' in page.text
    made = await submit(client, session_page, f"{session_page}/add", {"clip_id": str(clip)})
    assert made.headers["location"] == f"{session_page}?saved=clip-linked#clips"
    made = await submit(client, post_page, f"{post_page}/add", {"session_id": str(session)})
    assert made.headers["location"] == f"{post_page}?saved=session-linked#sessions"

    words = text((await client.get(session_page)).text)
    assert f"Untitled clip (clip {clip})" in words
    assert "Notes from the workshop" in words
    html = (await client.get(post_page)).text
    assert f'<a href="{STAFF}/sessions/{session}/links">Workshop</a>' in html
    assert 'href="/staff/festivals/here-fest/posts">Blog posts</a>' in html

    removed = await submit(client, post_page, f"{post_page}/remove", {"session_id": str(session)})
    assert removed.status_code == 303
    links = (await client.get(f"{here.api}/sessions/{session}/links", headers=here.staff)).json()
    assert links["posts"] == [] and [c["id"] for c in links["clips"]] == [clip]


async def test_a_slot_link_is_marked_and_can_be_removed(client: Client, here: Place) -> None:
    clip = await here.clip("After the talk")
    session = await here.session("The talk")
    await here.slot_link(clip, session)
    page_path = f"{STAFF}/sessions/{session}/links"
    page = await client.get(page_path)
    assert "Linked by the interview slot the clip was filmed in." in page.text
    removed = await submit(client, page_path, f"{page_path}/remove", {"clip_id": str(clip)})
    assert removed.status_code == 303


async def test_mistakes_come_back_in_plain_words(client: Client, here: Place, db: Database) -> None:
    clip = await here.clip("Sam")
    session = await here.session("Opening")
    page_path = f"{STAFF}/clips/{clip}/links"

    empty = await submit(client, page_path, f"{page_path}/add", {"session_id": ""})
    assert empty.status_code == 422
    assert "There is a problem" in empty.text
    assert '<a href="#session_id">Choose a session to link</a>' in empty.text
    assert 'id="session_id-error"' in empty.text
    assert 'aria-invalid="true"' in empty.text
    assert empty.text.count("<title>Error: ") == 1

    unlinked = await submit(client, page_path, f"{page_path}/remove", {"session_id": str(session)})
    assert unlinked.status_code == 404
    assert f"The clip {clip} is not linked to the session {session}." in unlinked.text

    other = await Place(client, db, here.staff, THERE).setup("There Festival")
    theirs = await other.session("Not ours")
    crossed = await submit(client, page_path, f"{page_path}/add", {"session_id": str(theirs)})
    assert crossed.status_code == 404
    assert f"Here Festival has no session number {theirs}." in crossed.text

    nothing = await submit(client, page_path, f"{page_path}/add", {})
    assert nothing.status_code == 400
    assert "The form did not say what to link." in nothing.text

    missing = await client.get(f"{STAFF}/clips/9999/links")
    assert missing.status_code == 404
    assert "Here Festival has no clip number 9999." in missing.text


async def test_pages_need_staff(
    client: Client, db: Database, staff_headers: dict[str, str]
) -> None:
    place = await Place(client, db, staff_headers, HERE).setup("Here Festival")
    clip = await place.clip("Sam")
    page_path = f"{STAFF}/clips/{clip}/links"
    anonymous = await client.get(page_path, follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/staff/sign-in?next=")

    crew = Crew(client, staff_headers)
    crew.base = place.api
    volunteer = await crew.volunteer("ada@crew.test", name="Ada", free=None)
    invite = volunteer["url"].removeprefix("http://festival.test")
    await client.get(invite)
    refused = await client.get(page_path)
    assert refused.status_code == 403


async def test_staff_find_the_links_pages_from_the_clips_list_and_the_session_form(
    client: Client, here: Place
) -> None:
    clip = await here.clip("Sam")
    session = await here.session("Opening")
    clips = await client.get(f"{STAFF}/clips")
    assert f'href="{STAFF}/clips/{clip}/links"' in clips.text
    form = await client.get(f"{STAFF}/sessions/{session}/edit")
    assert f'href="{STAFF}/sessions/{session}/links"' in form.text
