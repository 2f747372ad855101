"""The phone upload page and "Your clips" over HTTP, and the uploader script's route."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import lxml.html
import pytest
from litestar import Litestar

from festival.clips import pages
from tests.clips.helpers import TUS, create, metadata, path_of, send
from tests.crew.helpers import Client, Crew
from tests.media import clips as make


@pytest.fixture
async def crew(client: Client, staff_headers: dict[str, str]) -> Crew:
    return await Crew(client, staff_headers).setup()


async def _sign_in(crew: Crew, volunteer: dict[str, Any]) -> None:
    """Open the invite link as the volunteer's phone would: the client keeps the cookie."""
    opened = await crew.client.get(urlsplit(volunteer["url"]).path)
    assert opened.status_code == 200, opened.text


def _form(page: str) -> Any:
    [form] = lxml.html.fromstring(page).xpath("//form[@id='upload']")
    return form


def _text(page: str) -> str:
    return " ".join(lxml.html.fromstring(page).text_content().split())


async def test_the_page_shows_the_slot_and_carries_what_the_uploader_needs(crew: Crew) -> None:
    ada = await crew.volunteer("ada@crew.test", name="Ada")
    slot = await crew.slot(1, 2, room="N2")
    await crew.assign(slot["id"], ada["id"])
    await _sign_in(crew, ada)

    page = await crew.client.get(f"/volunteer/upload?slot={slot['id']}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    text = _text(page.text)
    assert "Upload a clip" in text
    assert "For your slot" in text
    assert "N2" in text
    assert "Choose or record a video" in text
    assert "Uploading needs JavaScript" in text  # the <noscript> message

    form = _form(page.text)
    assert form.get("hidden") is not None, "shown by the script, which the upload needs"
    assert form.get("data-endpoint") == "/api/v1/uploads"
    assert form.get("data-slot") == str(slot["id"])
    assert form.get("data-chunk-size") == str(5 * 1024 * 1024)
    [picker] = form.xpath(".//input[@type='file']")
    assert picker.get("accept") == "video/*"
    [label] = form.xpath(f".//label[@for='{picker.get('id')}']")
    assert label.text_content().strip() == "Choose or record a video"
    for name in ("upload-start", "upload-pause", "upload-resume", "upload-progress"):
        assert form.xpath(f".//*[@id='{name}']"), name
    assert form.xpath(".//*[@role='status' and @aria-live='polite']")

    # The token in the page is the one the API asks a signed-in browser for.
    token = form.get("data-csrf-token")
    assert token
    length = {**TUS, "Upload-Length": "10"}
    meta = metadata(filename="a.mp4", filetype="video/mp4", slot=str(slot["id"]))
    refused = await crew.client.post("/api/v1/uploads", headers={**length, "Upload-Metadata": meta})
    assert refused.status_code == 403
    accepted = await crew.client.post(
        "/api/v1/uploads", headers={**length, "Upload-Metadata": meta, "X-CSRFToken": token}
    )
    assert accepted.status_code == 201, accepted.text


async def test_the_page_has_no_inline_script(crew: Crew) -> None:
    ada = await crew.volunteer("ada@crew.test")
    await _sign_in(crew, ada)
    page = (await crew.client.get("/volunteer/upload")).text
    tree = lxml.html.fromstring(page)
    scripts = tree.xpath("//script")
    assert [s.get("src") for s in scripts] == ["/static/vendor/tus.min.js", "/static/upload.js"]
    assert all(not (s.text or "").strip() for s in scripts)
    assert not re.search(r"\son[a-z]+=", page), "no inline event handlers"


async def test_without_a_slot_the_page_says_so(crew: Crew) -> None:
    ada = await crew.volunteer("ada@crew.test")
    await _sign_in(crew, ada)
    page = await crew.client.get("/volunteer/upload")
    assert page.status_code == 200
    assert "This clip will be uploaded without a slot." in _text(page.text)
    assert _form(page.text).get("data-slot") == ""


@pytest.mark.parametrize("slot", ["other", "999999", "abc"])
async def test_a_slot_that_is_not_theirs_gets_a_plain_message(crew: Crew, slot: str) -> None:
    ada = await crew.volunteer("ada@crew.test")
    bo = await crew.volunteer("bo@crew.test")
    theirs = await crew.slot(1, 2)
    await crew.assign(theirs["id"], bo["id"])
    await _sign_in(crew, ada)
    asked = str(theirs["id"]) if slot == "other" else slot

    page = await crew.client.get(f"/volunteer/upload?slot={asked}")
    assert page.status_code == 200
    text = _text(page.text)
    assert "That slot is not one of yours, so this clip will be uploaded without a slot." in text
    assert "For your slot" not in text
    assert _form(page.text).get("data-slot") == ""


async def test_anonymous_visitors_get_the_sign_in_page(client: Client) -> None:
    for path in ("/volunteer/upload", "/volunteer/clips"):
        page = await client.get(path, headers={"Accept": "text/html"})
        assert page.status_code == 401
        assert page.headers["content-type"].startswith("text/html")
        assert "Open the invite link festival staff sent you" in page.text


async def test_staff_choose_the_festival(crew: Crew) -> None:
    page = await crew.client.get("/volunteer/upload?slot=1", headers=crew.staff)
    assert page.status_code == 200
    form = _form(page.text)
    assert [o.get("value") for o in form.xpath(".//select[@id='upload-festival']/option")] == [
        "now-fest"
    ]
    assert "not linked to a slot" in _text(page.text)
    assert form.get("data-slot") == ""


@pytest.mark.parametrize(
    ("asked", "used"),
    [("65536", 65536), ("1", pages.MIN_CHUNK_SIZE), ("9" * 11, pages.MAX_CHUNK_SIZE), ("x", None)],
)
async def test_the_chunk_size_can_be_lowered_within_bounds(
    crew: Crew, asked: str, used: int | None
) -> None:
    ada = await crew.volunteer("ada@crew.test")
    await _sign_in(crew, ada)
    page = await crew.client.get(f"/volunteer/upload?chunk={asked}")
    assert _form(page.text).get("data-chunk-size") == str(used or pages.CHUNK_SIZE)


async def test_each_of_their_slots_links_to_the_upload_page(crew: Crew) -> None:
    ada = await crew.volunteer("ada@crew.test")
    soon = await crew.slot(1, 2)
    later = await crew.slot(4, 5, room="S1")
    await crew.assign(soon["id"], ada["id"])
    await crew.assign(later["id"], ada["id"])
    await _sign_in(crew, ada)
    day = lxml.html.fromstring((await crew.client.get("/volunteer")).text)
    links = {a.get("href"): a.text_content() for a in day.xpath("//a")}
    for slot in (soon, later):
        assert links[f"/volunteer/upload?slot={slot['id']}"].startswith(
            "Upload a clip for this slot"
        )
    assert "/volunteer/clips" in links


async def test_your_clips_lists_uploads_and_clips_with_states_in_words(
    crew: Crew, app: Litestar, tmp_path: Path
) -> None:
    ada = await crew.volunteer("ada@crew.test")
    auth = ada["headers"]

    async def upload(data: bytes, filename: str, upto: int | None = None) -> str:
        path = path_of(await create(crew.client, auth, len(data), filename=filename))
        await send(crew.client, auth, path, 0, data[:upto])
        return path

    await upload(make.portrait_h264_mp4(tmp_path / "a.mp4").read_bytes(), "Sam at the door.mp4")
    await upload(make.text_as_mp4(tmp_path / "b.mp4").read_bytes(), "Notes.mp4")
    await app.state.jobs.run_until_idle()
    await upload(make.landscape_h264_mp4(tmp_path / "c.mp4").read_bytes(), "Jo in the hall.mp4")
    half = b"x" * 3_000_000
    await upload(half, "Half way.mp4", upto=1_200_000)
    await _sign_in(crew, ada)

    page = await crew.client.get("/volunteer/clips")
    assert page.status_code == 200
    tree = lxml.html.fromstring(page.text)

    def card(title: str) -> str:
        [found] = tree.xpath(f"//li[.//h3[normalize-space()={title!r}]]")
        return " ".join(found.text_content().split())

    assert "Uploading" in card("Half way.mp4")
    assert "40% — 1.2 MB of 3.0 MB" in card("Half way.mp4")
    ready = card("Sam at the door")
    assert "Ready" in ready
    assert "Length 2 s" in ready
    assert "Getting it ready to play" in card("Jo in the hall")
    failed = card("Notes")
    assert "Could not be used" in failed
    assert "Why: " in failed

    mine = (await crew.client.get("/api/v1/my-clips", headers=auth)).json()
    sam = next(c for c in mine["clips"] if c["title"] == "Sam at the door")
    [thumb] = tree.xpath("//img[contains(@class, 'clip__thumb')]")
    assert (thumb.get("src"), thumb.get("alt"), thumb.get("loading")) == (
        sam["thumb_url"],
        "",
        "lazy",
    )
    [watch] = tree.xpath("//a[starts-with(normalize-space(), 'Watch')]")
    assert watch.get("href") == f"/media/clips/{sam['id']}/web.mp4"
    assert watch.text_content().strip() == "Watch Sam at the door"
    video = await crew.client.get(watch.get("href"))
    assert (video.status_code, video.headers["content-type"]) == (200, "video/mp4")


async def test_the_uploader_script_is_served_from_node_modules(client: Client) -> None:
    if not (pages.NODE_MODULES / pages.TUS_CLIENT).is_file():
        pytest.skip("tus-js-client is not installed: run `npm ci` (make test does)")
    script = await client.get("/static/vendor/tus.min.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["x-content-type-options"] == "nosniff"
    assert b"tus" in script.content[:4096]


async def test_a_missing_uploader_script_is_a_clear_404(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "NODE_MODULES", tmp_path / "node_modules")
    script = await client.get("/static/vendor/tus.min.js")
    assert script.status_code == 404
    assert script.headers["content-type"].startswith("application/problem+json")
    problem = script.json()
    assert "tus-js-client" in problem["detail"]
    assert "npm ci" in problem["fix"]
