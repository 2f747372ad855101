"""The transcript page, ``/clips/{id}/transcript``: derived from the captions, public only
while the gate allows, gone with the clip."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar import Litestar

from tests.captions.helpers import Story, captions, published_story
from tests.consent.helpers import consent, ready_clip, token_of
from tests.consent.test_interviewee import text
from tests.crew.helpers import SLUG, Client, Crew, at

BASE = "http://festival.test"
#: Two voices and a pause: three paragraphs.
VOICES = b"""WEBVTT

00:00:00.000 --> 00:00:00.400
<v Sam>I came here alone.

00:00:00.400 --> 00:00:00.800
<v Sam>I did not know anyone.

00:00:00.800 --> 00:00:01.200
<v Kim>Now you know us all.
"""


@pytest.fixture
async def crew(client: Client, staff_headers: dict[str, str]) -> Crew:
    return await Crew(client, staff_headers).setup()


@pytest.fixture
async def ada(crew: Crew) -> dict[str, str]:
    volunteer: dict[str, str] = (await crew.volunteer("ada@crew.test", name="Ada"))["headers"]
    return volunteer


@pytest.fixture
async def story(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, str], tmp_path: Path
) -> Story:
    return await published_story(client, app, crew, ada, tmp_path)


async def test_the_transcript_page_reads_the_captions_in_paragraphs(
    client: Client, ada: dict[str, str], story: Story
) -> None:
    await captions(client, story.clip_id, ada, VOICES)
    page = await client.get(f"/clips/{story.clip_id}/transcript")
    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "public, no-cache"
    assert "<h1>Sam on peer support</h1>" in page.text
    assert "Sam," in text(page.text)  # the credit line
    assert "<p>I came here alone. I did not know anyone.</p>" in page.text
    assert "<p>Now you know us all.</p>" in page.text
    assert "&lt;v" not in page.text and "<v " not in page.text
    assert f'href="{BASE}/clips/{story.clip_id}"' in page.text
    # The clip page carries the same transcript and links here.
    clip_page = await client.get(f"/clips/{story.clip_id}")
    assert "<p>Now you know us all.</p>" in clip_page.text
    assert f'href="{BASE}/clips/{story.clip_id}/transcript"' in clip_page.text


async def test_the_transcript_is_escaped(client: Client, ada: dict[str, str], story: Story) -> None:
    await captions(
        client,
        story.clip_id,
        ada,
        b"WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n&lt;script&gt;alert(1)&lt;/script&gt;\n",
    )
    page = await client.get(f"/clips/{story.clip_id}/transcript")
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


async def test_a_withdrawn_clips_transcript_is_gone(
    client: Client, app: Litestar, story: Story
) -> None:
    withdrawn = await client.post(f"/api/v1/consent/{story.token}/withdraw")
    assert withdrawn.status_code == 200
    gone = await client.get(f"/clips/{story.clip_id}/transcript")
    assert gone.status_code == 410
    assert gone.headers["cache-control"] == "no-store"
    assert "This interview has been taken down" in text(gone.text)
    for trace in ("peer", "Sam on", "changed everything"):
        assert trace not in gone.text
    assert (await client.get(story.vtt_url)).status_code == 410
    await app.state.jobs.run_until_idle()
    assert (await client.get(f"/clips/{story.clip_id}/transcript")).status_code == 410


async def test_an_unpublished_clip_has_no_transcript_page(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, str], tmp_path: Path
) -> None:
    clip = await ready_clip(client, app, ada, tmp_path)
    created = await consent(crew, ada, clip["id"])
    await captions(client, clip["id"], ada)
    assert (await client.get(f"/clips/{clip['id']}/transcript")).status_code == 404
    approved = await client.post(f"/api/v1/consent/{token_of(created)}/approve")
    assert approved.status_code == 200
    # Approved and captioned, but not yet published by staff: still nothing public.
    assert (await client.get(f"/clips/{clip['id']}/transcript")).status_code == 404
    published = await client.post(
        f"/api/v1/festivals/{SLUG}/clips/{clip['id']}/publish", headers=crew.staff
    )
    assert published.status_code == 200
    assert (await client.get(f"/clips/{clip['id']}/transcript")).status_code == 200


@pytest.mark.parametrize("path", ["/clips/999/transcript", "/clips/x/transcript"])
async def test_no_such_clip_has_no_transcript(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert "Page not found" in response.text


async def test_the_clip_page_shows_its_sessions_and_blog_posts(
    client: Client, crew: Crew, story: Story
) -> None:
    """Linked sessions link to their pages; posts to the blog, with author and date."""
    session = await crew.post(
        "/sessions",
        {
            "title": "Peer support in practice",
            "kind": "talk",
            "status": "published",
            "room_id": crew.rooms["N1"],
            "starts_at": at(1),
            "ends_at": at(2),
        },
        status=201,
    )
    post = await crew.post(
        "/posts",
        {
            "title": "What we heard on day one",
            "author": "Jo Blogger",
            "published_at": "2030-01-02T09:00:00Z",
            "url": "https://blog.example.org/day-one",
        },
    )
    for kind, thing in (("sessions", session), ("posts", post)):
        linked = await client.put(
            f"/api/v1/festivals/{SLUG}/clips/{story.clip_id}/{kind}/{thing['id']}",
            headers=crew.staff,
        )
        assert linked.status_code in (200, 201, 204), linked.text
    page = await client.get(f"/clips/{story.clip_id}")
    assert (
        f'<a href="{BASE}/festivals/{SLUG}/sessions/{session["id"]}">Peer support in practice</a>'
        in page.text
    )
    assert '<a href="https://blog.example.org/day-one">What we heard on day one</a>' in page.text
    assert "By Jo Blogger" in text(page.text)
