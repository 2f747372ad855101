"""The staff consent pages, driven as a browser would: signed in through the sign-in form,
every change posted as a form with its CSRF token, and checked through the JSON API."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from festival.formatting import long_date
from tests.clips.helpers import Client, sign_in_as_staff
from tests.consent.helpers import SRT, consent, ready_clip, token_of
from tests.crew.helpers import SLUG, Crew

BASE = f"/staff/festivals/{SLUG}"
API = f"/api/v1/festivals/{SLUG}"
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
REVIEW_LINK = re.compile(r'id="review-link" type="text" value="([^"]+)"')
NAME = "Samira Example"
EMAIL = "samira@example.org"


@pytest.fixture
async def crew(client: Client, staff_headers: dict[str, str]) -> Crew:
    return await Crew(client, staff_headers).setup()


@pytest.fixture
async def ada(crew: Crew) -> dict[str, Any]:
    return await crew.volunteer("ada@crew.test", name="Ada Lovelace")


def text(response: httpx.Response) -> str:
    return unescape(response.text)


async def submit(client: Client, page: str, action: str) -> httpx.Response:
    """Open ``page`` and post its CSRF token (and nothing else) to ``action``."""
    opened = await client.get(page)
    assert opened.status_code == 200, opened.text
    match = CSRF.search(opened.text)
    assert match, f"no form on {page}"
    return await client.post(action, data={"_csrf_token": match.group(1)}, follow_redirects=False)


def saved(response: httpx.Response, path: str, key: str) -> str:
    assert response.status_code == 303, response.text
    location = str(response.headers["location"])
    assert location.startswith(f"{path}?"), location
    assert f"saved={key}" in location, location
    return location


async def approve(crew: Crew, created: dict[str, Any]) -> None:
    """Through the private link. The staff header keeps the signed-in cookie out of it."""
    response = await crew.client.post(
        f"/api/v1/consent/{token_of(created)}/approve", headers=crew.staff
    )
    assert response.status_code == 200, response.text


async def caption(crew: Crew, auth: dict[str, str], clip_id: int) -> None:
    response = await crew.client.put(f"/api/v1/clips/{clip_id}/captions", content=SRT, headers=auth)
    assert response.status_code == 200, response.text


async def queue_item(crew: Crew, clip_id: int) -> Any:
    queue = await crew.client.get(f"{API}/review-queue", headers=crew.staff)
    assert queue.status_code == 200, queue.text
    return next(i for i in queue.json() if i["clip_id"] == clip_id)


async def ready_to_publish(
    crew: Crew, app: Litestar, ada: dict[str, Any], folder: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A ready clip, consented by the volunteer as witness, approved and captioned."""
    clip = await ready_clip(crew.client, app, ada["headers"], folder)
    created = await consent(crew, ada["headers"], clip["id"], scopes=["timeline", "research"])
    await approve(crew, created)
    await caption(crew, ada["headers"], clip["id"])
    return clip, created


def media_files(app: Litestar) -> list[Path]:
    return [p for p in app.state.clips.store.root.rglob("*") if p.is_file()]


# --- access ---------------------------------------------------------------------------------


PAGES = ("review", "consents", "audit", "publication-rules")


async def test_a_volunteer_cannot_open_the_pages(crew: Crew, ada: dict[str, Any]) -> None:
    for page in PAGES:
        response = await crew.client.get(f"{BASE}/{page}", headers=ada["headers"])
        assert response.status_code == 403, page
        assert "Only festival staff can do this." in text(response)


async def test_anonymous_visitors_are_sent_to_sign_in(client: Client) -> None:
    response = await client.get(f"{BASE}/review?show=waiting", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/staff/sign-in?next={BASE}/review")


async def test_forms_without_the_csrf_token_are_refused(
    crew: Crew, app: Litestar, ada: dict[str, Any], tmp_path: Path
) -> None:
    clip, created = await ready_to_publish(crew, app, ada, tmp_path)
    await sign_in_as_staff(crew.client)
    consent_id = created["consent"]["id"]
    for action in (
        f"{BASE}/review/clips/{clip['id']}/publish",
        f"{BASE}/consents/{consent_id}/withdraw",
        f"{BASE}/consents/{consent_id}/erase",
        f"{BASE}/publication-rules",
    ):
        response = await crew.client.post(
            action, data={"unconsented_days": "5"}, follow_redirects=False
        )
        assert response.status_code == 403, action
    item = await queue_item(crew, clip["id"])
    assert not item["published"] and not item["withdrawn"]
    rules = await crew.client.get(f"{API}/publication-rules", headers=crew.staff)
    assert rules.json()["unconsented_days"] == 30


# --- the review queue -----------------------------------------------------------------------


async def test_the_queue_says_what_blocks_a_clip_then_publishes_it(
    crew: Crew, app: Litestar, ada: dict[str, Any], tmp_path: Path
) -> None:
    clip = await ready_clip(crew.client, app, ada["headers"], tmp_path)
    created = await consent(crew, ada["headers"], clip["id"])
    await sign_in_as_staff(crew.client)
    publish = f"{BASE}/review/clips/{clip['id']}/publish"

    page = await crew.client.get(f"{BASE}/review")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    words = text(page)
    assert "Why it cannot be published yet" in words
    assert "Someone in it has not yet watched and approved it." in words
    assert "It has no captions yet." in words
    assert "Given" in words and "The festival's public timeline of interviews" in words
    assert f'action="{publish}' not in page.text  # no button while anything blocks it

    refused = await submit(crew.client, f"{BASE}/review", publish)
    assert refused.status_code == 409
    refusal = text(refused)
    assert "There is a problem" in refusal
    assert "This clip cannot be published yet" in refusal
    assert f'href="#clip-{clip["id"]}"' in refused.text
    assert not (await queue_item(crew, clip["id"]))["published"]

    await approve(crew, created)
    await caption(crew, ada["headers"], clip["id"])
    page = await crew.client.get(f"{BASE}/review?show=waiting")
    assert "Why it cannot be published yet" not in text(page)
    assert "Approved" in text(page)
    assert f'action="{publish}?show=waiting"' in page.text

    done = await submit(crew.client, f"{BASE}/review", publish)
    shown = await crew.client.get(saved(done, f"{BASE}/review", "published"))
    assert "The clip has been published." in text(shown)
    assert (await queue_item(crew, clip["id"]))["published"] is True
    published = await crew.client.get(f"{BASE}/review?show=published")
    assert f'id="clip-{clip["id"]}"' in published.text
    assert "Take off public view" in text(published)

    taken_off = await submit(
        crew.client, f"{BASE}/review", f"{BASE}/review/clips/{clip['id']}/unpublish"
    )
    saved(taken_off, f"{BASE}/review", "unpublished")
    assert (await queue_item(crew, clip["id"]))["published"] is False
    assert (
        f'id="clip-{clip["id"]}"'
        not in (await crew.client.get(f"{BASE}/review?show=published")).text
    )


async def test_an_unconsented_clip_warns_when_it_will_be_deleted(
    crew: Crew, app: Litestar, ada: dict[str, Any], tmp_path: Path
) -> None:
    clip = await ready_clip(crew.client, app, ada["headers"], tmp_path)
    item = await queue_item(crew, clip["id"])
    due = datetime.fromisoformat(item["delete_after"])
    await sign_in_as_staff(crew.client)
    page = text(await crew.client.get(f"{BASE}/review"))
    assert "1 clip has no consent" in page
    assert f"Will be deleted on {long_date(due, 'UTC')} unless someone consents." in page
    assert "Nobody in it has given consent yet." in page

    # Fewer days in the rules: the warning's date moves with them.
    changed = await crew.client.post(
        f"{BASE}/publication-rules",
        data={
            "_csrf_token": CSRF.findall((await crew.client.get(f"{BASE}/review")).text)[0],
            "require_review": "true",
            "require_captions": "true",
            "unconsented_days": "10",
        },
        follow_redirects=False,
    )
    saved(changed, f"{BASE}/publication-rules", "rules-saved")
    sooner = long_date(due - timedelta(days=20), "UTC")
    assert f"Will be deleted on {sooner}" in text(await crew.client.get(f"{BASE}/review"))


async def test_the_filters_show_waiting_published_and_taken_down_clips(
    crew: Crew, app: Litestar, ada: dict[str, Any], tmp_path: Path
) -> None:
    clip, _created = await ready_to_publish(crew, app, ada, tmp_path)
    other = await ready_clip(crew.client, app, ada["headers"], tmp_path)
    await sign_in_as_staff(crew.client)
    await submit(crew.client, f"{BASE}/review", f"{BASE}/review/clips/{clip['id']}/publish")

    def ids(page: httpx.Response) -> set[int]:
        return {int(m) for m in re.findall(r'id="clip-(\d+)"', page.text)}

    assert ids(await crew.client.get(f"{BASE}/review")) == {clip["id"], other["id"]}
    assert ids(await crew.client.get(f"{BASE}/review?show=published")) == {clip["id"]}
    assert ids(await crew.client.get(f"{BASE}/review?show=waiting")) == {other["id"]}
    assert ids(await crew.client.get(f"{BASE}/review?show=taken-down")) == set()
    nothing = await crew.client.get(f"{BASE}/review?show=taken-down")
    assert "There are no clips under “Taken down”" in text(nothing)
    odd = await crew.client.get(f"{BASE}/review?show=<script>")
    assert odd.status_code == 200 and "<script>" not in odd.text


# --- acting for the person filmed -----------------------------------------------------------


async def test_staff_withdraw_on_their_behalf_and_the_media_goes(
    crew: Crew, app: Litestar, ada: dict[str, Any], tmp_path: Path
) -> None:
    clip, created = await ready_to_publish(crew, app, ada, tmp_path)
    consent_id = created["consent"]["id"]
    await sign_in_as_staff(crew.client)
    await submit(crew.client, f"{BASE}/review", f"{BASE}/review/clips/{clip['id']}/publish")
    assert media_files(app)

    details = text(await crew.client.get(f"{BASE}/consents/{consent_id}"))
    assert "Withdraw on their behalf" in details
    assert NAME in details and EMAIL in details  # staff check who is asking
    assert "Ada Lovelace" in details  # the witness
    confirm = await crew.client.get(f"{BASE}/consents/{consent_id}/withdraw")
    assert "This cannot be undone." in text(confirm)
    assert clip["title"] in text(confirm) or f"Clip {clip['id']}" in text(confirm)

    done = await submit(
        crew.client,
        f"{BASE}/consents/{consent_id}/withdraw",
        f"{BASE}/consents/{consent_id}/withdraw",
    )
    page = await crew.client.get(saved(done, f"{BASE}/consents/{consent_id}", "withdrawn"))
    assert "Their consent has been withdrawn." in text(page)
    assert "by staff on their behalf" in text(page)
    assert "Withdraw on their behalf" not in text(page)

    item = await queue_item(crew, clip["id"])
    assert item["withdrawn"] is True and item["published"] is False
    down = await crew.client.get(f"{BASE}/review?show=taken-down")
    assert f'id="clip-{clip["id"]}"' in down.text
    assert "Taken down" in text(down)
    assert f"/review/clips/{clip['id']}/" not in down.text  # nothing left to do with it

    await app.state.jobs.run_until_idle()
    assert media_files(app) == []
    again = await submit(
        crew.client,
        f"{BASE}/consents/{consent_id}",
        f"{BASE}/consents/{consent_id}/withdraw",
    )
    assert again.status_code == 409
    assert "There is a problem" in text(again)


async def test_a_new_private_link_replaces_the_old_one_and_can_be_stopped(
    crew: Crew, app: Litestar, ada: dict[str, Any], tmp_path: Path
) -> None:
    _clip, created = await ready_to_publish(crew, app, ada, tmp_path)
    consent_id = created["consent"]["id"]
    old = token_of(created)
    await sign_in_as_staff(crew.client)
    here = f"{BASE}/consents/{consent_id}"

    confirm = await crew.client.get(f"{here}/new-link")
    assert "Their old link will stop working straight away." in text(confirm)
    made = await submit(crew.client, f"{here}/new-link", f"{here}/new-link")
    assert made.status_code == 200, made.text
    assert made.headers["cache-control"] == "no-store"
    assert "This is the only time the link is shown." in text(made)
    assert "<svg" in made.text and "<?xml" not in made.text
    match = REVIEW_LINK.search(made.text)
    assert match, made.text
    link = unescape(match.group(1))
    assert link.startswith("http://festival.test/consent/fct_")
    new = link.rsplit("/", 1)[1]
    assert new != old

    assert (await crew.client.get(f"/api/v1/consent/{old}")).status_code == 404
    assert (await crew.client.get(f"/api/v1/consent/{new}")).status_code == 200

    assert "Stop their link working" in text(await crew.client.get(here))
    stopped = await submit(crew.client, f"{here}/stop-link", f"{here}/stop-link")
    page = await crew.client.get(saved(stopped, here, "link-stopped"))
    assert "Their private link no longer works." in text(page)
    assert "Stop their link working" not in text(page)
    assert (await crew.client.get(f"/api/v1/consent/{new}")).status_code == 404

    log = (await crew.client.get(f"{API}/audit?consent_id={consent_id}", headers=crew.staff)).json()
    assert {"link-replaced", "link-revoked"} <= {e["action"] for e in log}


async def test_export_is_a_zip_of_the_record_and_the_media(
    crew: Crew, app: Litestar, ada: dict[str, Any], tmp_path: Path
) -> None:
    clip, created = await ready_to_publish(crew, app, ada, tmp_path)
    consent_id = created["consent"]["id"]
    await sign_in_as_staff(crew.client)
    details = await crew.client.get(f"{BASE}/consents/{consent_id}")
    assert f'href="{BASE}/consents/{consent_id}/download"' in details.text

    response = await crew.client.get(f"{BASE}/consents/{consent_id}/download")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["cache-control"] == "no-store"
    assert f'filename="interviewee-{consent_id}.zip"' in response.headers["content-disposition"]

    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None
    prefix = f"clip-{clip['id']}/"
    assert set(archive.namelist()) == {
        "consent.json",
        *(prefix + n for n in ("original", "web.mp4", "poster.jpg", "captions.vtt")),
    }
    record = json.loads(archive.read("consent.json"))
    assert record["consent"]["scopes"] == ["timeline", "research"]
    assert record["consent"]["interviewee_name"] == NAME
    assert [c["id"] for c in record["clips"]] == [clip["id"]]
    assert "consent-given" in {e["action"] for e in record["audit"]}
    original = await crew.client.get(clip["original_url"], headers=ada["headers"])
    assert archive.read(prefix + "original") == original.content
    assert archive.read(prefix + "captions.vtt").startswith(b"WEBVTT")


async def test_erasing_blanks_them_and_the_audit_log_records_it(
    crew: Crew, app: Litestar, ada: dict[str, Any], tmp_path: Path
) -> None:
    _clip, created = await ready_to_publish(crew, app, ada, tmp_path)
    consent_id = created["consent"]["id"]
    await sign_in_as_staff(crew.client)
    here = f"{BASE}/consents/{consent_id}"

    confirm = text(await crew.client.get(f"{here}/erase"))
    assert "This cannot be undone." in confirm
    assert "their private link stops working" in confirm
    done = await submit(crew.client, f"{here}/erase", f"{here}/erase")
    page = text(await crew.client.get(saved(done, here, "erased")))
    assert "Their personal details have been erased" in page
    assert NAME not in page and EMAIL not in page and "Samira" not in page
    assert "Erase this person" not in page

    listed = await crew.client.get(f"{API}/consents", headers=crew.staff)
    [row] = [c for c in listed.json() if c["id"] == consent_id]
    assert row["credit_line"] == "Anonymous"
    assert row["state"] == "withdrawn"
    log = (await crew.client.get(f"{API}/audit?consent_id={consent_id}", headers=crew.staff)).json()
    assert log[0]["action"] == "interviewee-erased"
    audit = text(await crew.client.get(f"{BASE}/audit?consent={consent_id}"))
    assert "Personal details erased" in audit
    assert (await crew.client.get(f"/api/v1/consent/{token_of(created)}")).status_code == 404
    await app.state.jobs.run_until_idle()
    assert media_files(app) == []


# --- the audit log --------------------------------------------------------------------------


async def test_the_audit_log_lists_events_in_words_without_names(
    crew: Crew, app: Litestar, ada: dict[str, Any], tmp_path: Path
) -> None:
    clip, created = await ready_to_publish(crew, app, ada, tmp_path)
    consent_id = created["consent"]["id"]
    await sign_in_as_staff(crew.client)
    await submit(crew.client, f"{BASE}/review", f"{BASE}/review/clips/{clip['id']}/publish")

    page = await crew.client.get(f"{BASE}/audit")
    assert page.status_code == 200
    words = text(page)
    for said in (
        "Consent given, ticked on the phone",
        "Consent linked to a clip",
        "Clip watched and approved",
        "Clip published",
        f"By volunteer {ada['id']}",
        "By the person filmed",
        "By staff member",
    ):
        assert said in words, said
    for personal in (NAME, "Samira", EMAIL, "Ada Lovelace", "ada@crew.test", "Sam"):
        assert personal not in words, personal
    assert words.index("Clip published") < words.index("Consent given")  # newest first
    assert f'href="{BASE}/consents/{consent_id}"' in page.text
    assert f'href="{BASE}/review#clip-{clip["id"]}"' in page.text

    only = text(await crew.client.get(f"{BASE}/audit?clip={clip['id']}&consent="))
    assert "Clip published" in only and "Consent given," not in only
    bad = await crew.client.get(f"{BASE}/audit?consent=twelve")
    assert bad.status_code == 422
    assert "Consent number must be a whole number" in text(bad)


# --- the publication rules ------------------------------------------------------------------


async def test_the_publication_rules_form(crew: Crew) -> None:
    await sign_in_as_staff(crew.client)
    form = await crew.client.get(f"{BASE}/publication-rules")
    assert form.status_code == 200
    assert re.search(r'id="require_review"[^>]*checked', form.text)
    assert re.search(r'id="require_captions"[^>]*checked', form.text)
    assert 'value="30"' in form.text
    token = CSRF.findall(form.text)[0]

    wrong = await crew.client.post(
        f"{BASE}/publication-rules",
        data={"_csrf_token": token, "require_review": "true", "unconsented_days": "0"},
    )
    assert wrong.status_code == 422
    assert "must be 1 or more" in text(wrong)
    assert not re.search(r'id="require_captions"[^>]*checked', wrong.text)  # as they chose
    blank = await crew.client.post(
        f"{BASE}/publication-rules", data={"_csrf_token": token, "unconsented_days": ""}
    )
    assert blank.status_code == 422
    assert "Enter a number of days, like 30" in text(blank)

    done = await crew.client.post(
        f"{BASE}/publication-rules",
        data={"_csrf_token": token, "require_review": "true", "unconsented_days": "14"},
        follow_redirects=False,
    )
    saved(done, f"{BASE}/publication-rules", "rules-saved")
    rules = (await crew.client.get(f"{API}/publication-rules", headers=crew.staff)).json()
    assert rules == {"require_review": True, "require_captions": False, "unconsented_days": 14}


async def test_the_crew_menu_leads_to_review_and_the_audit_log(crew: Crew) -> None:
    await sign_in_as_staff(crew.client)
    page = await crew.client.get(f"{BASE}/volunteers")
    assert f'href="{BASE}/review"' in page.text and "Review and publish" in page.text
    assert f'href="{BASE}/audit"' in page.text and "Audit log" in page.text


async def test_an_unknown_consent_is_not_found(crew: Crew) -> None:
    await sign_in_as_staff(crew.client)
    for path in ("", "/withdraw", "/erase", "/download"):
        assert (await crew.client.get(f"{BASE}/consents/999{path}")).status_code == 404
