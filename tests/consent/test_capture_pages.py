"""Consent captured on the volunteer's phone, over HTTP: the person filmed reads the form
they chose (easy read or plain), their choices are kept with that exact text, and the
private link is shown once; then the consent goes with the upload or is linked later."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import lxml.html
import pytest

from festival.consent import service
from festival.consent.schemas import EASY_SCOPES, SCOPES
from tests.clips.helpers import TUS, create, metadata, path_of, send
from tests.crew.helpers import SLUG, Client, Crew

NEW = "/volunteer/consent/new"
KEEP = (
    "Keep this link. With it you can watch your interview, change your choices or say stop "
    "at any time."
)


@pytest.fixture
async def crew(client: Client, staff_headers: dict[str, str]) -> Crew:
    return await Crew(client, staff_headers).setup()


@pytest.fixture
async def ada(crew: Crew) -> dict[str, Any]:
    """Ada, a volunteer with a slot, signed in on her phone through her invite link."""
    volunteer = await crew.volunteer("ada@crew.test", name="Ada")
    slot = await crew.slot(1, 2, room="N2")
    await crew.assign(slot["id"], volunteer["id"])
    await _sign_in(crew, volunteer)
    return {**volunteer, "slot": slot["id"]}


async def _sign_in(crew: Crew, volunteer: dict[str, Any]) -> None:
    opened = await crew.client.get(urlsplit(volunteer["url"]).path)
    assert opened.status_code == 200, opened.text


def _tree(page: str) -> Any:
    return lxml.html.fromstring(page)


def _words(text: str) -> str:
    return " ".join(text.split())


def _text(page: str) -> str:
    return _words(_tree(page).xpath("//main")[0].text_content())


def _answers(page: str, **chosen: Any) -> dict[str, Any]:
    """The form's hidden fields as the page sent them, and the person's choices."""
    [form] = _tree(page).xpath("//form[@class='consent-form']")
    hidden = {i.get("name"): i.get("value") for i in form.xpath(".//input[@type='hidden']")}
    answers: dict[str, Any] = {
        "scopes": ["timeline", "blog"],
        "credit": "chosen",
        "interviewee_name": "Samira Example",
        "display_name": "Sam",
        "licence": "all-rights-reserved",
        "expires_on": "",
        "contact_email": "",
        "contact_phone": "",
        "method": "ticked",
        "spoken_at": "",
    }
    return {**hidden, **answers, **chosen}


async def _consents(crew: Crew) -> list[dict[str, Any]]:
    listed = await crew.client.get(f"{crew.base}/consents", headers=crew.staff)
    assert listed.status_code == 200, listed.text
    return listed.json()  # type: ignore[no-any-return]


async def _record(crew: Crew, slot: int | None = None, **chosen: Any) -> tuple[int, str]:
    """Fill in and send the form on the phone; the new consent's id and its result page."""
    page = await crew.client.get(NEW + (f"?slot={slot}" if slot else ""))
    result = await crew.client.post(NEW, data=_answers(page.text, **chosen))
    assert result.status_code == 200, result.text
    [upload] = _tree(result.text).xpath(
        "//a[normalize-space()='Upload the interview for this consent']"
    )
    consent_id = int(re.findall(r"consent=(\d+)", upload.get("href"))[0])
    return consent_id, result.text


async def test_the_form_is_easy_read_with_the_plain_version_one_tap_away(
    crew: Crew, ada: dict[str, Any]
) -> None:
    form = service.form()
    day = _tree((await crew.client.get("/volunteer")).text)
    hrefs = [
        a.get("href") for a in day.xpath("//a[starts-with(normalize-space(), 'Record consent')]")
    ]
    assert f"{NEW}?slot={ada['slot']}" in hrefs

    page = await crew.client.get(f"{NEW}?slot={ada['slot']}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    text = _text(page.text)
    assert "hand the phone to the person you are filming" in text
    tree = _tree(page.text)
    lines = tree.xpath("//ul[contains(@class, 'consent-easy')]/li")
    assert [_words(li.text_content()) for li in lines] == [line.text for line in form.easy_read]
    for li, line in zip(lines, form.easy_read, strict=True):
        [picture] = li.xpath(".//*[local-name()='svg']")
        assert (picture.get("role"), picture.get("aria-label")) == ("img", line.alt)
    assert "you keep all rights to your interview" not in text  # the plain text is not here
    hidden = {i.get("name"): i.get("value") for i in tree.xpath("//input[@type='hidden']")}
    assert hidden["form_version"] == str(form.version)
    assert hidden["form_variant"] == "easy-read"
    assert hidden["slot"] == str(ada["slot"])
    labels = [
        _words(lb.text_content()) for lb in tree.xpath("//label[starts-with(@for, 'scopes-')]")
    ]
    assert labels == list(EASY_SCOPES.values())
    assert tree.xpath("//button[normalize-space()='I agree to these choices']")

    [detail] = tree.xpath("//a[normalize-space()='Read this in more detail']")
    assert detail.get("href") == f"{NEW}?slot={ada['slot']}&variant=plain"
    plain = await crew.client.get(detail.get("href"))
    assert plain.status_code == 200
    text = _text(plain.text)
    for paragraph in form.plain.strip().split("\n\n"):
        assert _words(paragraph) in text
    tree = _tree(plain.text)
    hidden = {i.get("name"): i.get("value") for i in tree.xpath("//input[@type='hidden']")}
    assert hidden["form_variant"] == "plain"
    labels = [
        _words(lb.text_content()) for lb in tree.xpath("//label[starts-with(@for, 'scopes-')]")
    ]
    assert labels == list(SCOPES.values())
    assert not tree.xpath("//ul[contains(@class, 'consent-easy')]")
    [back] = tree.xpath("//a[normalize-space()='Read this in easy read, with pictures']")
    assert back.get("href") == f"{NEW}?slot={ada['slot']}"


@pytest.mark.parametrize("variant", ["easy-read", "plain"])
async def test_consent_is_kept_with_the_exact_text_shown_and_the_link_works(
    crew: Crew, ada: dict[str, Any], variant: str
) -> None:
    query = f"?slot={ada['slot']}" + ("&variant=plain" if variant == "plain" else "")
    page = await crew.client.get(NEW + query)
    ends = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    answers = _answers(
        page.text,
        scopes=["timeline", "research"],
        expires_on=ends,
        contact_email="samira@example.org",
        method="spoken",
        spoken_at="1:30",
    )
    result = await crew.client.post(NEW, data=answers)
    assert result.status_code == 200, result.text
    assert result.headers["cache-control"] == "no-store"
    tree = _tree(result.text)
    text = _text(result.text)
    assert "Thank you" in text
    assert KEEP in text
    assert "This page shows the link only once." in text
    [qr] = tree.xpath("//div[@class='consent-qr']")
    assert (qr.get("role"), qr.get("aria-label")) == ("img", "QR code of your private link")
    [svg] = qr.xpath("./*[local-name()='svg']")
    assert svg.xpath(".//*[local-name()='path']")
    assert "<?xml" not in result.text
    link = _words(tree.xpath("//p[@id='private-link']")[0].text_content())
    assert link.startswith("http://festival.test/consent/fct_")

    [consent] = await _consents(crew)
    [upload] = tree.xpath("//a[normalize-space()='Upload the interview for this consent']")
    assert upload.get("href") == f"/volunteer/upload?slot={ada['slot']}&consent={consent['id']}"
    assert consent["form_version"] == service.form().version
    assert consent["form_variant"] == variant
    assert consent["scopes"] == ["timeline", "research"]
    assert consent["credit_line"] == "Sam"
    assert consent["expires_on"] == ends
    assert (consent["method"], consent["spoken_at_seconds"]) == ("spoken", 90)
    assert consent["has_contact"] is True

    exported = await crew.client.get(
        f"{crew.base}/consents/{consent['id']}/export", headers=crew.staff
    )
    record = exported.json()["consent"]
    assert record["form_text"] == service.form().text(variant)
    assert record["witness_volunteer_id"] == ada["id"]
    assert record["interviewee_name"] == "Samira Example"

    log = (await crew.client.get(f"{crew.base}/audit", headers=crew.staff)).json()
    [given] = [e for e in log if e["action"] == "consent-given"]
    assert given["consent_id"] == consent["id"]
    assert given["actor"] == f"volunteer:{ada['id']}"
    assert given["detail"]["form"] == service.form().version

    token = link.rsplit("/", 1)[1]
    review = await crew.client.get(f"/api/v1/consent/{token}")
    assert review.status_code == 200, review.text
    assert review.json()["consent"]["id"] == consent["id"]


async def test_mistakes_come_back_with_the_form_and_nothing_is_recorded(
    crew: Crew, ada: dict[str, Any]
) -> None:
    page = (await crew.client.get(f"{NEW}?slot={ada['slot']}")).text

    nobody = await crew.client.post(
        NEW, data=_answers(page, credit="name", interviewee_name="", display_name="")
    )
    assert nobody.status_code == 422
    tree = _tree(nobody.text)
    assert tree.xpath("//title")[0].text_content().startswith("Error: ")
    [summary] = tree.xpath("//div[@class='error-summary']")
    [item] = summary.xpath(".//a")
    assert _words(item.text_content()) == "Write your name, or choose another way to be named"
    assert item.get("href") == "#interviewee_name"
    [box] = tree.xpath("//input[@id='interviewee_name']")
    assert box.get("aria-invalid") == "true"
    # What was chosen is still chosen, and the same wording of the form is shown.
    assert tree.xpath("//input[@id='scopes-timeline']")[0].get("checked") is not None
    assert tree.xpath("//input[@id='credit-name']")[0].get("checked") is not None
    assert tree.xpath("//input[@name='form_variant']")[0].get("value") == "easy-read"
    assert tree.xpath("//input[@name='slot']")[0].get("value") == str(ada["slot"])

    unchosen = _answers(page)
    del unchosen["credit"]
    undecided = await crew.client.post(NEW, data=unchosen)
    assert undecided.status_code == 422
    assert "Choose how we should name you" in _text(undecided.text)

    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    past = await crew.client.post(NEW, data=_answers(page, expires_on=yesterday))
    assert past.status_code == 422
    assert "The end date must be after today." in _text(past.text)
    assert _tree(past.text).xpath("//input[@id='expires_on']")[0].get("value") == yesterday

    spoken = await crew.client.post(NEW, data=_answers(page, method="spoken", spoken_at="soon"))
    assert spoken.status_code == 422
    assert "Write the time as minutes and seconds, like 1:30" in _text(spoken.text)

    unknown = await crew.client.post(NEW, data=_answers(page, scopes=["timeline", "billboards"]))
    assert unknown.status_code == 400
    assert "billboards" in _text(unknown.text)

    assert await _consents(crew) == []
    log = (await crew.client.get(f"{crew.base}/audit", headers=crew.staff)).json()
    assert [e for e in log if e["action"] == "consent-given"] == []


async def test_the_upload_page_carries_the_consent(crew: Crew, ada: dict[str, Any]) -> None:
    consent_id, _ = await _record(crew, ada["slot"])
    page = await crew.client.get(f"/volunteer/upload?slot={ada['slot']}&consent={consent_id}")
    assert page.status_code == 200
    assert f"This upload will be linked to consent number {consent_id}." in _text(page.text)
    [form] = _tree(page.text).xpath("//form[@id='upload']")
    assert form.get("data-consent") == str(consent_id)
    assert form.get("data-slot") == str(ada["slot"])

    # The metadata the page's script sends is accepted, and the clip carries the consent.
    meta = metadata(
        filename="sam.mp4", filetype="video/mp4", slot=str(ada["slot"]), consent=str(consent_id)
    )
    created = await crew.client.post(
        "/api/v1/uploads",
        headers={
            **TUS,
            "Upload-Length": "10",
            "Upload-Metadata": meta,
            "X-CSRFToken": form.get("data-csrf-token"),
        },
    )
    assert created.status_code == 201, created.text
    await send(crew.client, ada["headers"], path_of(created), 0, b"0123456789")
    [consent] = await _consents(crew)
    assert len(consent["clip_ids"]) == 1

    odd = await crew.client.get("/volunteer/upload?consent=1;drop")
    assert _tree(odd.text).xpath("//form[@id='upload']")[0].get("data-consent") == ""
    assert "This upload will be linked" not in _text(odd.text)


async def _clip(crew: Crew, auth: dict[str, str], name: str) -> int:
    """A small upload that has become a clip (not processed: jobs do not run here)."""
    path = path_of(await create(crew.client, auth, 10, filename=name))
    await send(crew.client, auth, path, 0, b"0123456789")
    clips = (await crew.client.get("/api/v1/my-clips", headers=auth)).json()["clips"]
    return int(max(c["id"] for c in clips))


async def _csrf(crew: Crew, path: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', (await crew.client.get(path)).text)
    assert found
    return found.group(1)


async def test_linking_afterwards_and_refusals(crew: Crew, ada: dict[str, Any]) -> None:
    bo = await crew.volunteer("bo@crew.test", name="Bo")
    bos_clip = await _clip(crew, bo["headers"], "bo.mp4")
    first = await _clip(crew, ada["headers"], "sam.mp4")
    second = await _clip(crew, ada["headers"], "jo.mp4")
    consent_id, _ = await _record(crew, ada["slot"])

    clips = _tree((await crew.client.get("/volunteer/clips")).text)
    links = [
        a.get("href") for a in clips.xpath("//a[starts-with(normalize-space(), 'Link a consent')]")
    ]
    assert sorted(links) == sorted(f"/volunteer/consent/link?clip={c}" for c in (first, second))

    page = await crew.client.get(f"/volunteer/consent/link?clip={first}")
    assert page.status_code == 200
    options = _tree(page.text).xpath("//select[@id='consent_id']/option[@value!='']")
    assert [o.get("value") for o in options] == [str(consent_id)]
    assert _words(options[0].text_content()).startswith(f"Number {consent_id}: Sam, ")

    token = await _csrf(crew, f"/volunteer/consent/link?clip={first}")
    linked = await crew.client.post(
        "/volunteer/consent/link",
        data={"_csrf_token": token, "clip_id": str(first), "consent_id": str(consent_id)},
        follow_redirects=False,
    )
    assert linked.status_code == 303
    assert linked.headers["location"] == f"/volunteer/clips?linked={consent_id}"
    back = await crew.client.get(linked.headers["location"])
    assert f"Consent number {consent_id} is now linked to your clip." in _text(back.text)
    [consent] = await _consents(crew)
    assert consent["clip_ids"] == [first]
    again = _tree((await crew.client.get(f"/volunteer/consent/link?clip={first}")).text)
    assert not again.xpath("//select[@id='consent_id']")  # nothing left to link

    # Another volunteer's clip: refused, and nothing changes.
    refused = await crew.client.post(
        "/volunteer/consent/link",
        data={"_csrf_token": token, "clip_id": str(bos_clip), "consent_id": str(consent_id)},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    text = _text(refused.text)
    assert "This is another volunteer's clip." in text
    assert "bo.mp4" not in text
    [consent] = await _consents(crew)
    assert consent["clip_ids"] == [first]
    queue = (await crew.client.get(f"{crew.base}/review-queue", headers=crew.staff)).json()
    assert next(i for i in queue if i["clip_id"] == bos_clip)["consents"] == []

    # A withdrawn consent cannot be linked again: a fresh consent is a new record.
    withdrawn = await crew.client.post(
        f"{crew.base}/consents/{consent_id}/withdraw", headers=crew.staff
    )
    assert withdrawn.status_code == 200, withdrawn.text
    conflict = await crew.client.post(
        "/volunteer/consent/link",
        data={"_csrf_token": token, "clip_id": str(second), "consent_id": str(consent_id)},
        follow_redirects=False,
    )
    assert conflict.status_code == 409
    assert "That consent has been withdrawn and cannot be used again." in _text(conflict.text)
    assert _tree(conflict.text).xpath("//dd[normalize-space()='jo']")  # their own clip, shown
    assert (await _consents(crew))[0]["clip_ids"] == [first]

    unchosen = await crew.client.post(
        "/volunteer/consent/link",
        data={"_csrf_token": token, "clip_id": str(second), "consent_id": ""},
        follow_redirects=False,
    )
    assert unchosen.status_code == 422


async def test_staff_can_witness_consent_too(crew: Crew) -> None:
    page = await crew.client.get(NEW, headers=crew.staff)
    assert page.status_code == 200
    answers = _answers(page.text, credit="anonymous", interviewee_name="", display_name="")
    assert answers["festival"] == SLUG  # the only festival, chosen for them
    result = await crew.client.post(NEW, data=answers, headers=crew.staff)
    assert result.status_code == 200, result.text
    [consent] = await _consents(crew)
    assert consent["credit_line"] == "Anonymous"
    [upload] = _tree(result.text).xpath(
        "//a[normalize-space()='Upload the interview for this consent']"
    )
    assert upload.get("href") == f"/volunteer/upload?consent={consent['id']}"


async def test_strangers_are_asked_for_their_invite_link(client: Client) -> None:
    page = await client.get(NEW, headers={"Accept": "text/html"})
    assert page.status_code == 401
    assert "Open the invite link festival staff sent you to record consent." in page.text
