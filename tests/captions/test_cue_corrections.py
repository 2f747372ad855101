"""Correcting caption words over the API: staff, the volunteer who filmed the clip and the
person in it; times never move, bad corrections change nothing, and the audit log says
who corrected which captions without their words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar

from tests.captions.helpers import TIMES, Story, audit, captions, published_story
from tests.consent.helpers import consent, ready_clip
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


async def vtt_of(client: Client, story: Story) -> str:
    response = await client.get(story.vtt_url)
    assert response.status_code == 200, response.text
    return response.text


def fix(index: int, text: str, **more: Any) -> dict[str, Any]:
    return {"corrections": [{"index": index, "text": text}], **more}


async def test_staff_correct_a_cue_and_the_public_clip_shows_the_new_words(
    client: Client, crew: Crew, story: Story
) -> None:
    listed = await client.get(story.staff_cues, headers=crew.staff)
    assert listed.status_code == 200, listed.text
    assert listed.headers["cache-control"] == "private, no-store"
    cues = listed.json()
    assert [(c["index"], c["start"], c["end"]) for c in cues["cues"]] == [
        (1, 0.0, 0.6),
        (2, 0.6, 1.2),
        (3, 1.2, 1.9),
    ]
    # People see plain words; the speaker is named beside them, not as markup.
    assert cues["cues"][0]["text"] == "My name is Sam."
    assert cues["cues"][0]["speaker"] == "Sam"
    assert cues["cues"][1]["text"] == "I came to talk about peer suport."

    saved = await client.put(
        story.staff_cues,
        json=fix(2, "I came to talk about peer support and zebrafish.", version=cues["version"]),
        headers=crew.staff,
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["changed"] == [2]
    assert saved.json()["version"] != cues["version"]
    assert saved.json()["cues"][1]["text"] == "I came to talk about peer support and zebrafish."

    # The public captions file: new words, the same times, the other cues untouched.
    vtt = await vtt_of(client, story)
    assert "I came to talk about peer support and zebrafish." in vtt
    assert "suport" not in vtt
    assert [line for line in vtt.splitlines() if "-->" in line] == list(TIMES)
    assert "<v Sam>My name is Sam." in vtt
    assert "It changed everything." in vtt
    # The transcript page and the clip page read the new words.
    transcript = await client.get(f"/clips/{story.clip_id}/transcript")
    assert transcript.status_code == 200
    assert "peer support and zebrafish" in transcript.text
    assert "peer support and zebrafish" in (await client.get(f"/clips/{story.clip_id}")).text
    # Search finds the new word, and no longer the old one.
    found = await client.get(f"/api/v1/festivals/{SLUG}/timeline", params={"q": "zebrafish"})
    assert found.status_code == 200, found.text
    ids = [i["id"] for day in found.json()["days"] for i in day["items"]]
    assert ids == [story.clip_id]
    old = await client.get(f"/api/v1/festivals/{SLUG}/timeline", params={"q": "suport"})
    assert [i for day in old.json()["days"] for i in day["items"]] == []
    # The audit log: who, which clip, which caption; never the words.
    [event] = await audit(crew, story.clip_id)
    assert event["actor"].startswith("staff:")
    assert event["detail"] == {"cues": [2]}
    assert event["consent_id"] is None
    assert "zebrafish" not in str(event)


async def test_the_volunteer_who_filmed_it_may_correct_and_another_may_not(
    client: Client, crew: Crew, story: Story
) -> None:
    bo = (await crew.volunteer("bo@crew.test", name="Bo"))["headers"]
    before = await vtt_of(client, story)
    assert (await client.get(story.staff_cues, headers=bo)).status_code == 404
    refused = await client.put(story.staff_cues, json=fix(1, "Hijacked."), headers=bo)
    assert refused.status_code == 404
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await client.put(story.staff_cues, json=fix(1, "Hijacked."))).status_code == 401
    assert await vtt_of(client, story) == before
    assert await audit(crew, story.clip_id) == []

    mine = await client.put(
        story.staff_cues, json=fix(3, "It changed my life."), headers=story.filmed_by
    )
    assert mine.status_code == 200, mine.text
    assert "It changed my life." in await vtt_of(client, story)
    [event] = await audit(crew, story.clip_id)
    assert event["actor"].startswith("volunteer:")


async def test_the_interviewee_corrects_through_their_link_and_it_is_audited(
    client: Client, crew: Crew, story: Story
) -> None:
    listed = await client.get(story.own_cues)
    assert listed.status_code == 200, listed.text
    assert listed.headers["cache-control"] == "private, no-store"
    assert len(listed.json()["cues"]) == 3
    # Plain words are kept as written: "&" and "<" are not taken for markup.
    saved = await client.put(story.own_cues, json=fix(1, "My name is Sam & I <3 peer support."))
    assert saved.status_code == 200, saved.text
    assert saved.json()["cues"][0]["text"] == "My name is Sam & I <3 peer support."
    vtt = await vtt_of(client, story)
    assert "<v Sam>My name is Sam &amp; I &lt;3 peer support." in vtt
    again = (await client.get(story.own_cues)).json()
    assert again["cues"][0] == {
        "index": 1,
        "start": 0.0,
        "end": 0.6,
        "text": "My name is Sam & I <3 peer support.",
        "speaker": "Sam",
    }
    [event] = await audit(crew, story.clip_id)
    assert event["actor"] == "interviewee"
    assert event["consent_id"] == story.consent_id
    assert event["clip_id"] == story.clip_id
    assert event["detail"] == {"cues": [1]}
    assert "peer" not in str(event)


async def test_the_interviewee_cannot_correct_a_clip_that_is_not_theirs(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, str], story: Story, tmp_path: Path
) -> None:
    other = await ready_clip(client, app, ada, tmp_path)
    await consent(crew, ada, other["id"], display_name="Kim")
    await captions(client, other["id"], ada)
    before = (await client.get(f"/media/clips/{other['id']}/captions.vtt", headers=ada)).text
    url = f"/api/v1/consent/{story.token}/clips/{other['id']}/cues"
    assert (await client.get(url)).status_code == 404
    refused = await client.put(url, json=fix(1, "Not mine to change."))
    assert refused.status_code == 404
    assert refused.json()["detail"] == "There is no clip of yours with that number."
    after = (await client.get(f"/media/clips/{other['id']}/captions.vtt", headers=ada)).text
    assert after == before
    unknown = await client.put(
        f"/api/v1/consent/fct_unknown/clips/{story.clip_id}/cues", json=fix(1, "x")
    )
    assert unknown.status_code == 404
    assert await audit(crew, other["id"]) == []


async def test_after_withdrawal_nothing_can_be_corrected_and_nothing_is_served(
    client: Client, app: Litestar, crew: Crew, story: Story
) -> None:
    withdrawn = await client.post(f"/api/v1/consent/{story.token}/withdraw")
    assert withdrawn.status_code == 200, withdrawn.text
    refused = await client.put(story.own_cues, json=fix(1, "Too late."))
    assert refused.status_code == 409
    assert refused.json()["fix"]
    assert (await client.get(story.own_cues)).status_code == 409
    # Staff cannot edit a withdrawn clip's captions either.
    staff = await client.put(story.staff_cues, json=fix(1, "Too late."), headers=crew.staff)
    assert staff.status_code == 409
    assert (await client.get(f"/clips/{story.clip_id}/transcript")).status_code == 410
    assert (await client.get(story.vtt_url)).status_code == 410
    await app.state.jobs.run_until_idle()
    assert (await client.get(f"/clips/{story.clip_id}/transcript")).status_code == 410
    assert (await client.get(story.vtt_url)).status_code in (404, 410)
    assert await audit(crew, story.clip_id) == []


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (fix(4, "A fourth caption."), "corrections[0].index", "There is no caption 4"),
        (fix(0, "Caption zero."), "corrections[0].index", "numbered 1 to 3"),
        (fix(2, ""), "corrections[0].text", "Caption 2 has no words"),
        (fix(2, "  \n  "), "corrections[0].text", "Caption 2 has no words"),
        (fix(2, "Sneaky --> 00:00:09.000"), "corrections[0].text", "-->"),
        (fix(2, "x" * 501), "corrections[0].text", "at most 500"),
        (fix(2, "bell\x07"), "corrections[0].text", "not text"),
        (
            {"corrections": [{"index": 2, "text": "One."}, {"index": 2, "text": "Two."}]},
            "corrections[1].index",
            "corrected twice",
        ),
    ],
)
async def test_bad_corrections_are_refused_and_nothing_changes(
    client: Client, crew: Crew, story: Story, body: dict[str, Any], field: str, words: str
) -> None:
    before = await vtt_of(client, story)
    for url, headers in ((story.staff_cues, crew.staff), (story.own_cues, {})):
        response = await client.put(url, json=body, headers=headers)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["fix"]
        assert [e["field"] for e in problem["errors"]] == [field]
        assert words in problem["errors"][0]["message"]
    assert await vtt_of(client, story) == before
    assert await audit(crew, story.clip_id) == []


async def test_one_bad_correction_stops_the_good_ones_beside_it(
    client: Client, crew: Crew, story: Story
) -> None:
    before = await vtt_of(client, story)
    body = {"corrections": [{"index": 1, "text": "Fine words."}, {"index": 3, "text": ""}]}
    response = await client.put(story.staff_cues, json=body, headers=crew.staff)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["corrections[1].text"]
    assert await vtt_of(client, story) == before


@pytest.mark.parametrize(
    "body",
    [
        {"corrections": [{"index": 1, "text": "x", "start": 5}]},
        {"corrections": [{"index": "one", "text": "x"}]},
        {"corrections": "x"},
        {},
    ],
)
async def test_malformed_bodies_are_refused(
    client: Client, crew: Crew, story: Story, body: dict[str, Any]
) -> None:
    before = await vtt_of(client, story)
    response = await client.put(story.staff_cues, json=body, headers=crew.staff)
    assert 400 <= response.status_code < 500
    assert response.json()["detail"]
    assert await vtt_of(client, story) == before


async def test_a_clip_without_captions_has_nothing_to_correct(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, str], tmp_path: Path
) -> None:
    clip = await ready_clip(client, app, ada, tmp_path)
    url = f"/api/v1/clips/{clip['id']}/cues"
    for response in (
        await client.get(url, headers=ada),
        await client.put(url, json=fix(1, "Hello."), headers=crew.staff),
    ):
        assert response.status_code == 409, response.text
        assert "no captions" in response.json()["detail"]
        assert "Add captions first" in response.json()["fix"]
    assert (await client.get(f"/api/v1/clips/{clip['id']}", headers=ada)).json()[
        "captions_url"
    ] is None


async def test_a_stale_correction_is_refused_and_unchanged_words_change_nothing(
    client: Client, crew: Crew, story: Story
) -> None:
    version = (await client.get(story.staff_cues, headers=crew.staff)).json()["version"]
    same = await client.put(
        story.staff_cues, json=fix(2, "  I came to talk about   peer suport.\n"), headers=crew.staff
    )
    assert same.status_code == 200
    assert same.json()["changed"] == []
    assert same.json()["version"] == version
    assert await audit(crew, story.clip_id) == []

    first = await client.put(
        story.own_cues, json=fix(2, "I came about peer support.", version=version)
    )
    assert first.status_code == 200
    stale = await client.put(
        story.staff_cues, json=fix(3, "Something else.", version=version), headers=crew.staff
    )
    assert stale.status_code == 409
    assert "someone else" in stale.json()["detail"]
    assert "It changed everything." in await vtt_of(client, story)


async def test_corrected_captions_still_pass_the_upload_checks(
    client: Client, crew: Crew, story: Story
) -> None:
    """Captions files that are not captions, or run past the clip, are refused on upload
    (tests/clips/test_clips_api.py); a corrected file goes through the same gate, so the
    stored file stays one the upload would accept."""
    await client.put(story.staff_cues, json=fix(2, "Line one.\n\nLine two."), headers=crew.staff)
    vtt = await vtt_of(client, story)
    assert "Line one.\nLine two." in vtt
    again = await client.put(
        f"/api/v1/clips/{story.clip_id}/captions", content=vtt.encode(), headers=crew.staff
    )
    assert again.status_code == 200, again.text
