"""The phone upload page in a real browser at 360 px: tus-js-client sends a generated phone
clip in 64 KB chunks over a slowed-down connection, and keeps going through a network
drop, a pause and resume done with the keyboard, and a reload of the page."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import CDPSession, Page, Request, expect

from festival.crew import service as crew
from festival.db.engine import Database
from tests.browser.conftest import LiveServer, assert_accessible, tab_to, wait_for
from tests.clips.test_tus_js_client import (
    SLUG,
    Volunteer,
    padded_clip,
    volunteer_with_slot,
    wait_for_clip,
)
from tests.conftest import run_async

CHUNK = 65536
SIZE = 600_000
#: Bytes a second the page may send while throttled: the upload then lasts a few
#: seconds, long enough to break into.
SLOW = 100_000


@pytest.fixture
def kit(live_server: LiveServer) -> Volunteer:
    """Asked for before ``page``, so the data is in place before Playwright starts."""
    return run_async(volunteer_with_slot(live_server.settings.database_url, live_server.url))


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return padded_clip(tmp_path / "Rosa by the stage.mp4", SIZE)


class Network:
    """The page's connection, slowed down through the DevTools protocol."""

    def __init__(self, page: Page) -> None:
        self.session: CDPSession = page.context.new_cdp_session(page)
        self.session.send("Network.enable")

    def slow(self, upload: int = SLOW) -> None:
        self._conditions(upload)

    def fast(self) -> None:
        self._conditions(-1)

    def _conditions(self, upload: int) -> None:
        self.session.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": upload},
        )


class Requests:
    """The tus requests the page sends: method and Upload-Offset, in order."""

    def __init__(self, page: Page) -> None:
        self.seen: list[tuple[str, int | None]] = []
        page.on("request", self._record)

    def _record(self, request: Request) -> None:
        if "/api/v1/uploads" in request.url:
            offset = request.headers.get("upload-offset")
            self.seen.append((request.method, int(offset) if offset is not None else None))

    def mark(self) -> int:
        return len(self.seen)

    def since(self, mark: int) -> list[tuple[str, int | None]]:
        return self.seen[mark:]


@pytest.fixture
def network(page: Page) -> Iterator[Network]:
    yield Network(page)


def _check(page: Page) -> None:
    assert_accessible(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{page.url} scrolls sideways: {width}px wide"


def _open(page: Page, server: LiveServer, kit: Volunteer) -> None:
    """Sign in with the invite link, follow the slot's upload link, with small chunks."""
    page.goto(kit.invite_url)
    link = page.get_by_role("link", name="Upload a clip for this slot").first
    href = link.get_attribute("href")
    assert href == f"/volunteer/upload?slot={kit.slot_id}"
    page.goto(f"{server.url}{href}&chunk={CHUNK}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Upload a clip")
    expect(page.locator(".upload-slot")).to_contain_text(kit.slot_place)
    expect(page.locator("#upload")).to_be_visible()


def _sent(page: Page) -> int:
    return int(page.evaluate("document.getElementById('upload-progress').value"))


def _wait_for_percent(page: Page, percent: int) -> None:
    wait_for(
        page, f"document.getElementById('upload-progress').value >= {percent}", timeout_ms=20_000
    )


def _server_offset(server: LiveServer, kit: Volunteer) -> int:
    mine = httpx.get(
        f"{server.url}/api/v1/my-clips", headers={"Authorization": f"Bearer {kit.token}"}
    ).json()
    [upload] = mine["uploads"]
    return int(upload["offset"])


def _settled_offset(server: LiveServer, kit: Volunteer) -> int:
    """The server's offset once a request the page broke off has been wound up."""
    last = _server_offset(server, kit)
    for _ in range(40):
        time.sleep(0.25)
        now = _server_offset(server, kit)
        if now == last:
            return now
        last = now
    raise AssertionError("the upload's offset kept moving")


def _finished(page: Page, server: LiveServer, kit: Volunteer, video: Path) -> dict[str, Any]:
    done = page.locator("#upload-done")
    expect(done).to_be_visible(timeout=30_000)
    expect(page.locator("#upload-message")).to_have_text(
        "Upload complete. Your clip is being made ready to play."
    )
    expect(done.get_by_role("link", name="Your clips")).to_have_attribute(
        "href", "/volunteer/clips"
    )
    clip = wait_for_clip(server.url, kit.token, ready=False)
    assert clip["original_sha256"] == hashlib.sha256(video.read_bytes()).hexdigest()
    assert clip["slot_id"] == kit.slot_id
    return clip


def test_the_upload_carries_on_after_the_network_drops(
    live_server: LiveServer, kit: Volunteer, page: Page, network: Network, video: Path
) -> None:
    _open(page, live_server, kit)
    _check(page)  # idle
    requests = Requests(page)

    network.slow()
    page.get_by_label("Choose or record a video").set_input_files(video)
    page.get_by_role("button", name="Upload").click()
    _wait_for_percent(page, 20)
    expect(page.locator("#upload-numbers")).to_contain_text("% — ")
    expect(page.locator("#upload-numbers")).to_contain_text(" of 600 KB")
    _check(page)  # in progress

    page.context.set_offline(True)
    expect(page.locator("#upload-message")).to_contain_text("Waiting for the network…")
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
    stalled = _sent(page)
    assert 0 < stalled < 100
    mark = requests.mark()
    page.wait_for_timeout(500)
    assert requests.since(mark) == [], "nothing is tried while the phone is offline"

    page.context.set_offline(False)
    clip = _finished(page, live_server, kit, video)
    assert clip["original_size"] == SIZE
    methods = [method for method, _ in requests.seen]
    assert methods.count("POST") == 1, "one upload, carried on rather than started again"
    after = requests.since(mark)
    assert after[0] == ("HEAD", None), "asks the server how much arrived"
    assert after[1][0] == "PATCH"
    assert after[1][1] is not None and after[1][1] > 0
    _check(page)  # finished

    # Once processed, the clip is in the volunteer's list with its poster.
    wait_for_clip(live_server.url, kit.token, ready=True)
    page.locator("#upload-done").get_by_role("link", name="Your clips").click()
    page.wait_for_url(f"{live_server.url}/volunteer/clips")
    card = page.locator("li.clip", has_text="Rosa by the stage")
    expect(card).to_contain_text("Ready")
    expect(card.locator("img.clip__thumb")).to_be_visible()
    expect(card.get_by_role("link", name="Watch Rosa by the stage")).to_be_visible()
    _check(page)


def test_pause_and_resume_with_the_keyboard(
    live_server: LiveServer, kit: Volunteer, page: Page, network: Network, video: Path
) -> None:
    _open(page, live_server, kit)
    network.slow()
    page.get_by_label("Choose or record a video").set_input_files(video)
    tab_to(page, "#upload-start")
    page.keyboard.press("Enter")
    _wait_for_percent(page, 10)
    # The Upload button made way for Pause, and the focus went with it.
    assert page.evaluate("document.activeElement.id") == "upload-pause"
    page.keyboard.press("Enter")
    message = page.locator("#upload-message")
    expect(message).to_contain_text("Paused at ")
    assert page.evaluate("document.activeElement.id") == "upload-resume"
    paused_at = _settled_offset(live_server, kit)
    page.wait_for_timeout(1000)
    assert _server_offset(live_server, kit) == paused_at, "nothing is sent while paused"
    assert 0 < paused_at < SIZE

    page.keyboard.press("Enter")
    expect(message).to_contain_text("Resuming the upload.")
    network.fast()
    _finished(page, live_server, kit, video)
    # The Pause button the keyboard was on has gone: the focus went to the message.
    assert page.evaluate("document.activeElement.id") == "upload-done"


def test_reload_then_choose_the_same_file_resumes(
    live_server: LiveServer, kit: Volunteer, page: Page, network: Network, video: Path
) -> None:
    _open(page, live_server, kit)
    network.slow()
    page.get_by_label("Choose or record a video").set_input_files(video)
    page.get_by_role("button", name="Upload").click()
    _wait_for_percent(page, 30)

    page.reload()
    network.slow()
    arrived = _settled_offset(live_server, kit)
    assert 0 < arrived < SIZE
    requests = Requests(page)
    page.get_by_label("Choose or record a video").set_input_files(video)
    expect(page.locator("#upload-earlier")).to_have_text(
        "You started uploading this video before. The upload will carry on where it stopped."
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-message")).to_have_text(
        "Resuming your earlier upload of this file."
    )
    network.fast()
    _finished(page, live_server, kit, video)
    assert requests.seen[0] == ("HEAD", None)
    assert requests.seen[1] == ("PATCH", arrived), "carried on where the server had got to"
    assert "POST" not in {method for method, _ in requests.seen}
    mine = httpx.get(
        f"{live_server.url}/api/v1/my-clips", headers={"Authorization": f"Bearer {kit.token}"}
    ).json()
    assert (len(mine["clips"]), mine["uploads"]) == (1, [])
    # Finished: the browser forgets the upload, so the same file would start afresh.
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('tus::'))") == []


async def _take_off_the_slot(database_url: str, kit: Volunteer) -> None:
    db = Database.open(database_url)
    try:
        await crew.unassign(db, SLUG, kit.slot_id, kit.id)
    finally:
        await db.close()


def test_a_refused_upload_says_why(
    live_server: LiveServer, kit: Volunteer, page: Page, video: Path
) -> None:
    _open(page, live_server, kit)
    # Staff take Kit off the slot while the page is open: the server refuses the upload.
    run_async(_take_off_the_slot(live_server.settings.database_url, kit))
    page.get_by_label("Choose or record a video").set_input_files(video)
    page.get_by_role("button", name="Upload").click()
    problem = page.get_by_role("alert")
    expect(problem).to_contain_text("The upload did not work.")
    expect(problem).to_contain_text(f"You do not hold a place in slot {kit.slot_id}.")
    expect(page.get_by_role("button", name="Upload")).to_be_visible()
    expect(page.get_by_role("button", name="Resume")).to_be_hidden()
    _check(page)  # failed
