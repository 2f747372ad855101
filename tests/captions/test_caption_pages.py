"""The pages that correct caption words: staff's, and the interviewee's in plain words,
each a form with CSRF, a notice after saving and an error summary naming the caption."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from litestar import Litestar

from tests.captions.helpers import Story, audit, published_story
from tests.clips.helpers import sign_in_as_staff
from tests.consent.helpers import consent, ready_clip
from tests.consent.test_interviewee import private, submit, text
from tests.crew.helpers import SLUG, Client, Crew


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


def staff_page(story: Story) -> str:
    return f"/staff/festivals/{SLUG}/clips/{story.clip_id}/captions"


def own_page(story: Story) -> str:
    return f"/consent/{story.token}/clips/{story.clip_id}/captions"


def boxes(page: str) -> dict[str, str]:
    """Each caption box's name and the words in it."""
    return dict(re.findall(r'<textarea [^>]*name="(cue-\d+)"[^>]*>([^<]*)</textarea>', page))


def version(page: str) -> str:
    match = re.search(r'name="version" value="([^"]+)"', page)
    assert match
    return match.group(1)


async def vtt_of(client: Client, story: Story) -> str:
    return (await client.get(story.vtt_url)).text


async def test_staff_correct_a_caption_on_the_page(
    client: Client, crew: Crew, story: Story
) -> None:
    await sign_in_as_staff(client)
    page = await client.get(staff_page(story))
    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "no-store"
    words = text(page.text)
    assert "Correct the captions" in words
    # One labelled box per caption, with its time; the speaker as a hint.
    assert boxes(page.text) == {
        "cue-1": "My name is Sam.",
        "cue-2": "I came to talk about peer suport.",
        "cue-3": "It changed everything.",
    }
    assert re.search(
        r'<label class="label caption-cue__label" for="cue-2">Caption 2: '
        r'<span class="caption-cue__time">0:00 to 0:02</span></label>',
        page.text,
    )
    assert "Spoken by Sam" in words
    assert 'kind="captions"' in page.text and " default>" in page.text

    form = {**boxes(page.text), "version": version(page.text)}
    form["cue-2"] = "I came to talk about peer support."
    saved = await submit(client, page.text, staff_page(story), form)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == staff_page(story) + "?done=saved"
    after = await client.get(saved.headers["location"])
    assert "The captions are saved" in text(after.text)
    assert boxes(after.text)["cue-2"] == "I came to talk about peer support."
    assert "peer support." in await vtt_of(client, story)
    [event] = await audit(crew, story.clip_id)
    assert event["detail"] == {"cues": [2]}

    # Saving the same words again changes nothing and says so.
    again = await submit(
        client, after.text, staff_page(story), {**boxes(after.text), "version": version(after.text)}
    )
    assert again.headers["location"] == staff_page(story) + "?done=unchanged"
    assert len(await audit(crew, story.clip_id)) == 1


async def test_the_staff_page_names_the_caption_that_is_wrong(
    client: Client, crew: Crew, story: Story
) -> None:
    await sign_in_as_staff(client)
    page = await client.get(staff_page(story))
    before = await vtt_of(client, story)
    form = {
        **boxes(page.text),
        "version": version(page.text),
        "cue-1": "Better words.",
        "cue-3": "",
    }
    refused = await submit(client, page.text, staff_page(story), form)
    assert refused.status_code == 422
    assert "There is a problem" in refused.text
    assert '<a href="#cue-3">Caption 3 has no words. A caption cannot be empty.</a>' in refused.text
    assert re.search(
        r'<textarea [^>]*id="cue-3"[^>]*aria-describedby="cue-3-error"[^>]*'
        r'aria-invalid="true"',
        refused.text,
    )
    # What the person typed is kept, so nothing is lost while they fix it.
    assert boxes(refused.text)["cue-1"] == "Better words."
    assert refused.text.count("Error:") >= 2  # in the title and beside the box
    assert await vtt_of(client, story) == before


async def test_staff_pages_need_a_sign_in_a_csrf_token_and_the_right_festival(
    client: Client, crew: Crew, story: Story
) -> None:
    signed_out = await client.get(staff_page(story), follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/staff/sign-in?next=")
    await sign_in_as_staff(client)
    page = await client.get(staff_page(story))
    before = await vtt_of(client, story)
    forged = await client.post(staff_page(story), data={"cue-1": "Forged."}, follow_redirects=False)
    assert forged.status_code == 403
    assert await vtt_of(client, story) == before
    other = await client.post(
        "/api/v1/festivals",
        json={
            "slug": "other-fest",
            "name": "Other",
            "starts_on": "2030-01-01",
            "ends_on": "2030-01-02",
        },
        headers=crew.staff,
    )
    assert other.status_code == 201, other.text
    wrong = await client.get(f"/staff/festivals/other-fest/clips/{story.clip_id}/captions")
    assert wrong.status_code == 404
    assert page.status_code == 200


async def test_a_clip_without_captions_says_to_add_them_first(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, str], tmp_path: Path
) -> None:
    clip = await ready_clip(client, app, ada, tmp_path)
    await sign_in_as_staff(client)
    page = await client.get(f"/staff/festivals/{SLUG}/clips/{clip['id']}/captions")
    assert page.status_code == 409
    assert "Add captions first" in text(page.text)
    assert "<textarea" not in page.text


async def test_the_review_queue_links_to_the_caption_page(client: Client, story: Story) -> None:
    await sign_in_as_staff(client)
    queue = await client.get(f"/staff/festivals/{SLUG}/review")
    assert f'href="/staff/festivals/{SLUG}/clips/{story.clip_id}/captions"' in queue.text


async def test_the_interviewee_fixes_the_words_through_their_link(
    client: Client, crew: Crew, story: Story
) -> None:
    review = await client.get(f"/consent/{story.token}")
    assert f'href="{own_page(story)}"' in review.text
    assert "Fix the words in the captions" in text(review.text)

    page = await client.get(own_page(story))
    assert page.status_code == 200, page.text
    private(page)
    words = text(page.text)
    assert "Fix the words in the captions" in words
    assert "You cannot change when they show." in words
    assert f'src="/consent/{story.token}/media/{story.clip_id}/captions.vtt"' in page.text

    form = {**boxes(page.text), "version": version(page.text), "cue-3": "It changed my life."}
    saved = await submit(client, page.text, own_page(story), form)
    assert saved.status_code == 303
    private(saved)
    assert saved.headers["location"] == own_page(story) + "?done=saved"
    after = await client.get(saved.headers["location"])
    assert "Your changes to the words are saved." in text(after.text)
    assert "It changed my life." in await vtt_of(client, story)
    [event] = await audit(crew, story.clip_id)
    assert event["actor"] == "interviewee"
    assert event["consent_id"] == story.consent_id

    refused = await submit(
        client, after.text, own_page(story), {**boxes(after.text), "cue-1": "-->"}
    )
    assert refused.status_code == 422
    private(refused)
    assert '<a href="#cue-1">' in refused.text


async def test_the_interviewee_page_refuses_other_clips_and_ended_consent(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, str], story: Story, tmp_path: Path
) -> None:
    other = await ready_clip(client, app, ada, tmp_path)
    await consent(crew, ada, other["id"], display_name="Kim")
    not_mine = await client.get(f"/consent/{story.token}/clips/{other['id']}/captions")
    assert not_mine.status_code == 404
    private(not_mine)
    assert "There is no clip of yours with that number." in text(not_mine.text)
    unknown = await client.get(f"/consent/fct_nobody/clips/{story.clip_id}/captions")
    assert unknown.status_code == 404

    page = await client.get(own_page(story))
    withdrawn = await client.post(f"/api/v1/consent/{story.token}/withdraw")
    assert withdrawn.status_code == 200
    closed = await client.get(own_page(story))
    assert closed.status_code == 409
    private(closed)
    assert "Your consent has ended" in text(closed.text)
    late = await submit(client, page.text, own_page(story), {**boxes(page.text), "cue-1": "Late."})
    assert late.status_code == 409
    assert "<textarea" not in late.text
    review = await client.get(f"/consent/{story.token}")
    assert "/captions" not in review.text
