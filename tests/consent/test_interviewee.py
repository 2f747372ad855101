"""The interviewee's private page over HTTP: watch, approve, change, withdraw, and the
link's safeguards (no-store, no referrer, 404 for unknown links, 409 once withdrawn, 429
for guessing)."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar

from festival.consent.routes import TOKEN_ATTEMPTS
from tests.consent.helpers import SRT, consent, ready_clip, token_of
from tests.crew.helpers import SLUG, Client, Crew

_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
_TAGS = re.compile(r"<[^>]+>")


@pytest.fixture
async def crew(client: Client, staff_headers: dict[str, str]) -> Crew:
    return await Crew(client, staff_headers).setup()


@pytest.fixture
async def ada(crew: Crew) -> dict[str, Any]:
    return await crew.volunteer("ada@crew.test", name="Ada Lovelace")


def text(page: str) -> str:
    """What a person reads: the page without its tags, spaces collapsed."""
    return " ".join(html.unescape(_TAGS.sub(" ", page)).split())


def private(response: Any) -> None:
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"


async def submit(client: Client, page: str, action: str, data: dict[str, Any] | None = None) -> Any:
    """Post the form on ``page`` that goes to ``action``, with the page's CSRF token,
    without following the redirect."""
    assert f'action="{action}"' in page, f"no form posts to {action}"
    match = _CSRF.search(page)
    assert match, "the page has no CSRF token"
    body = {"_csrf_token": match.group(1), **(data or {})}
    return await client.post(action, data=body, follow_redirects=False)


async def open_link(client: Client, created: dict[str, Any], path: str = "") -> Any:
    response = await client.get(f"/consent/{token_of(created)}{path}")
    private(response)
    return response


async def approve(client: Client, created: dict[str, Any]) -> None:
    page = await open_link(client, created)
    base = f"/consent/{token_of(created)}"
    done = await submit(client, page.text, f"{base}/approve")
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"{base}?done=approved"
    private(done)


async def publish(crew: Crew, auth: dict[str, str], clip_id: int) -> None:
    captions = await crew.client.put(f"/api/v1/clips/{clip_id}/captions", content=SRT, headers=auth)
    assert captions.status_code == 200, captions.text
    published = await crew.client.post(
        f"/api/v1/festivals/{SLUG}/clips/{clip_id}/publish", headers=crew.staff
    )
    assert published.status_code == 200, published.text


async def test_the_interviewee_watches_before_publication_and_approves(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, Any], tmp_path: Path
) -> None:
    clip = await ready_clip(client, app, ada["headers"], tmp_path)
    await client.put(f"/api/v1/clips/{clip['id']}/captions", content=SRT, headers=ada["headers"])
    created = await consent(crew, ada["headers"], clip["id"])
    base = f"/consent/{token_of(created)}"

    page = await open_link(client, created)
    assert page.status_code == 200
    words = text(page.text)
    assert "Your interview" in words and "Not published" in words
    # Their choices, in words.
    assert "The festival's public timeline of interviews" in words
    assert "Not used for" in words and "The festival's social media" in words
    assert "By the name you chose: Sam" in words
    assert "You keep all rights" in words
    assert "No end date" in words
    # The player: their video, poster and captions, through their link.
    video = f"{base}/media/{clip['id']}/web.mp4"
    assert f'<source src="{video}" type="video/mp4">' in page.text
    assert f'poster="{base}/media/{clip["id"]}/poster.jpg"' in page.text
    assert re.search(r'<track kind="captions" src="[^"]+/captions\.vtt"[^>]* default>', page.text)
    for url in (video, f"{base}/media/{clip['id']}/poster.jpg"):
        assert (await client.get(url)).status_code == 200
    # The public sees none of it yet.
    assert (await client.get(f"/clips/{clip['id']}")).status_code == 404
    assert (await client.get(clip["video_url"])).status_code == 404

    await approve(client, created)
    after = await open_link(client, created, "?done=approved")
    assert "fine to share" in text(after.text)
    assert 'action="' + base + '/approve"' not in after.text  # approved once is enough
    consents = (await client.get(f"/api/v1/festivals/{SLUG}/consents", headers=crew.staff)).json()
    assert consents[0]["state"] == "approved"


async def test_the_interviewee_changes_scopes_credit_and_end_date(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, Any], tmp_path: Path
) -> None:
    clip = await ready_clip(client, app, ada["headers"], tmp_path)
    created = await consent(crew, ada["headers"], clip["id"])
    base = f"/consent/{token_of(created)}"
    form = await open_link(client, created, "/change")
    assert form.status_code == 200
    # The form starts from what they chose.
    assert re.search(r'id="scopes-timeline"[^>]* checked', form.text)
    assert not re.search(r'id="scopes-social"[^>]* checked', form.text)
    assert re.search(r'id="credit-chosen"[^>]* checked', form.text)

    past = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    refused = await submit(
        client,
        form.text,
        f"{base}/change",
        {
            "scopes": ["timeline", "social"],
            "credit": "chosen",
            "display_name": "Sam J",
            "licence": "CC-BY-4.0",
            "expires_on": past,
        },
    )
    assert refused.status_code == 422
    private(refused)
    words = text(refused.text)
    assert "There is a problem" in words and "The end date must be after today" in words
    assert 'href="#expires_on"' in refused.text
    assert f'value="{past}"' in refused.text  # what they typed is kept
    unchanged = (await client.get(f"/api/v1/festivals/{SLUG}/consents", headers=crew.staff)).json()
    assert unchanged[0]["scopes"] == ["timeline", "blog"]

    no_name = await submit(
        client,
        refused.text,
        f"{base}/change",
        {"scopes": ["timeline"], "credit": "chosen", "display_name": "", "licence": "x"},
    )
    assert no_name.status_code == 422
    assert "Choose a licence" in text(no_name.text)
    too_long = await submit(
        client,
        form.text,
        f"{base}/change",
        {
            "scopes": ["timeline"],
            "credit": "chosen",
            "display_name": "S" * 201,
            "licence": "all-rights-reserved",
        },
    )
    assert too_long.status_code == 422
    assert "The name you choose must be 200 characters or fewer" in text(too_long.text)
    empty = await submit(
        client,
        form.text,
        f"{base}/change",
        {"scopes": ["timeline"], "credit": "chosen", "licence": "all-rights-reserved"},
    )
    assert empty.status_code == 422
    assert "Write the name you would like to be known by" in text(empty.text)

    end = (datetime.now(UTC).date() + timedelta(days=90)).isoformat()
    saved = await submit(
        client,
        form.text,
        f"{base}/change",
        {
            "scopes": ["timeline", "social"],
            "credit": "chosen",
            "display_name": "Sam J",
            "licence": "CC-BY-4.0",
            "expires_on": end,
        },
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"{base}?done=changed"
    page = await open_link(client, created, "?done=changed")
    words = text(page.text)
    assert "Your choices are saved" in words
    assert "By the name you chose: Sam J" in words
    assert "Creative Commons Attribution 4.0" in words
    assert f'datetime="{end}"' in page.text
    [row] = (await client.get(f"/api/v1/festivals/{SLUG}/consents", headers=crew.staff)).json()
    assert (row["scopes"], row["credit_line"], row["expires_on"]) == (
        ["timeline", "social"],
        "Sam J",
        end,
    )

    anonymous = await submit(
        client,
        form.text,
        f"{base}/change",
        {"scopes": [], "credit": "anonymous", "display_name": "", "licence": "all-rights-reserved"},
    )
    assert anonymous.status_code == 303
    page = await open_link(client, created)
    words = text(page.text)
    assert "Nowhere. It is kept private." in words and "Not named" in words
    assert "Sam J" not in words


async def test_withdrawal_takes_the_clip_down_at_once_and_deletes_its_media(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, Any], tmp_path: Path
) -> None:
    clip = await ready_clip(client, app, ada["headers"], tmp_path)
    created = await consent(crew, ada["headers"], clip["id"])
    await approve(client, created)
    await publish(crew, ada["headers"], clip["id"])
    public = [clip["video_url"], clip["poster_url"], f"/media/clips/{clip['id']}/captions.vtt"]
    assert (await client.get(f"/clips/{clip['id']}")).status_code == 200
    for url in public:
        assert (await client.get(url)).status_code == 200, url
    base = f"/consent/{token_of(created)}"
    own_media = f"{base}/media/{clip['id']}/web.mp4"

    review = await open_link(client, created)
    assert f'href="{base}/withdraw"' in review.text
    confirm = await open_link(client, created, "/withdraw")
    assert confirm.status_code == 200
    words = text(confirm.text)
    assert "Take your consent back?" in words
    assert "deleted for good" in words and "This cannot be undone." in words

    done = await submit(client, confirm.text, f"{base}/withdraw")
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"{base}?done=withdrawn"
    # Gone from every public path at once, before any job has run.
    gone = await client.get(f"/clips/{clip['id']}")
    assert gone.status_code == 410
    assert "withdrawn their consent" in text(gone.text)
    # Public media addresses say "gone", as the clip page does; the person's own link
    # no longer plays it either.
    for url in public:
        assert (await client.get(url)).status_code == 410, url
    assert (await client.get(own_media)).status_code == 404

    # The job deletes the files: original, rendition, posters, captions.
    store = app.state.clips.store.root
    assert [p for p in (store / "clips" / str(clip["id"])).rglob("*") if p.is_file()]
    await app.state.jobs.run_until_idle()
    assert [p for p in (store / "clips" / str(clip["id"])).rglob("*") if p.is_file()] == []
    assert [p for p in store.rglob("*") if p.is_file()] == []

    # The link still opens, read-only, and says what happened.
    after = await open_link(client, created, "?done=withdrawn")
    assert after.status_code == 200
    words = text(after.text)
    assert "You took your consent back on" in words
    assert "Done. You have taken your consent back" in words
    assert "<form" not in after.text.split('id="main"', 1)[1]
    assert "<video" not in after.text

    audit = await client.get(f"/api/v1/festivals/{SLUG}/audit", headers=crew.staff)
    events = audit.json()
    actions = [e["action"] for e in events]
    for action in (
        "consent-given",
        "clip-approved",
        "consent-withdrawn",
        "clip-taken-down",
        "media-deleted",
    ):
        assert action in actions, actions
    withdrawn = next(e for e in events if e["action"] == "consent-withdrawn")
    assert withdrawn["actor"] == "interviewee"
    trail = json.dumps(events).lower()
    for personal in ("sam", "samira", "example.org", "ada", "lovelace", "crew.test"):
        assert personal not in trail, personal


async def test_a_withdrawn_consent_cannot_be_revived_through_the_link(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, Any], tmp_path: Path
) -> None:
    clip = await ready_clip(client, app, ada["headers"], tmp_path)
    created = await consent(crew, ada["headers"], clip["id"])
    base = f"/consent/{token_of(created)}"
    review = await open_link(client, created)
    change = await open_link(client, created, "/change")
    confirm = await open_link(client, created, "/withdraw")
    assert (await submit(client, confirm.text, f"{base}/withdraw")).status_code == 303

    # Forms opened before the withdrawal, sent after it: refused, nothing changes.
    again = await submit(client, review.text, f"{base}/approve")
    assert again.status_code == 409
    private(again)
    assert "cannot be given again" in text(again.text)
    changed = await submit(
        client,
        change.text,
        f"{base}/change",
        {"scopes": ["timeline"], "credit": "anonymous", "licence": "all-rights-reserved"},
    )
    assert changed.status_code == 409
    twice = await submit(client, confirm.text, f"{base}/withdraw")
    assert twice.status_code == 409
    for path in ("/change", "/withdraw"):
        closed = await open_link(client, created, path)
        assert closed.status_code == 409
        assert "You took your consent back on" in text(closed.text)
    [row] = (await client.get(f"/api/v1/festivals/{SLUG}/consents", headers=crew.staff)).json()
    assert row["state"] == "withdrawn" and row["approved_at"] is None
    assert row["scopes"] == ["timeline", "blog"]


async def test_unknown_and_revoked_links_look_the_same(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, Any], tmp_path: Path
) -> None:
    created = await consent(crew, ada["headers"], None)
    unknown = await client.get("/consent/fct_not-a-real-link-at-all-000000000")
    assert unknown.status_code == 404
    private(unknown)
    assert "This link does not work" in text(unknown.text)
    revoked = await client.post(
        f"/api/v1/festivals/{SLUG}/consents/{created['consent']['id']}/revoke-link",
        headers=crew.staff,
    )
    assert revoked.status_code == 204
    old = await client.get(f"/consent/{token_of(created)}")
    assert old.status_code == 404
    assert old.text == unknown.text
    for path in ("/change", "/withdraw"):
        assert (await client.get(f"/consent/{token_of(created)}{path}")).status_code == 404


async def test_forms_need_the_csrf_token(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, Any]
) -> None:
    created = await consent(crew, ada["headers"], None)
    base = f"/consent/{token_of(created)}"
    await open_link(client, created)
    forged = await client.post(f"{base}/withdraw", data={}, follow_redirects=False)
    assert forged.status_code == 403
    [row] = (await client.get(f"/api/v1/festivals/{SLUG}/consents", headers=crew.staff)).json()
    assert row["state"] == "given"


async def test_guessing_links_is_slowed_down(
    client: Client, crew: Crew, ada: dict[str, Any]
) -> None:
    created = await consent(crew, ada["headers"], None)
    for number in range(TOKEN_ATTEMPTS):
        wrong = await client.get(f"/consent/fct_guess-{number:04d}-xxxxxxxxxxxxxxxxxxxx")
        assert wrong.status_code == 404
    slowed = await client.get("/consent/fct_guess-last-xxxxxxxxxxxxxxxxxxxxxxx")
    assert slowed.status_code == 429
    private(slowed)
    assert int(slowed.headers["retry-after"]) > 0
    assert "Please wait a little" in text(slowed.text)
    # From this client, even a real link waits: guessing must not pay off.
    assert (await client.get(f"/consent/{token_of(created)}")).status_code == 429


async def test_the_page_names_no_one_else(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, Any], tmp_path: Path
) -> None:
    clip = await ready_clip(client, app, ada["headers"], tmp_path)
    sam = await consent(crew, ada["headers"], clip["id"])
    await consent(
        crew,
        ada["headers"],
        clip["id"],
        credit="name",
        display_name="",
        interviewee_name="Kim Other",
        contact_email="kim@example.org",
    )
    for path in ("", "/change", "/withdraw"):
        page = await open_link(client, sam, path)
        assert page.status_code == 200
        for other in ("Kim", "kim@example.org", "Ada", "Lovelace", "ada@crew.test"):
            assert other not in page.text, (path, other)
