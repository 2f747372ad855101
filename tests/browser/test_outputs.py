"""Outputs for neighbours in a real browser: TimelineJS itself (from npm) draws our
TimelineJS JSON, and the embeddable player works inside another site's page, with
captions on and no axe-core violations on a 360 px phone."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import httpx
import msgspec
from playwright.sync_api import Page, expect

from festival.accounts.schemas import Identity
from festival.accounts.service import create_or_update_staff
from festival.app import build_clip_services
from festival.clips import service as clips
from festival.consent import service as consent
from festival.consent.schemas import ConsentIn
from festival.crew import service as crew
from festival.crew.schemas import InviteIn
from festival.db.engine import Database
from festival.jobs import Jobs
from festival.programme import service as programme
from festival.programme.schemas import FestivalIn
from tests.browser.conftest import LiveServer, assert_accessible, settle_clips, wait_for
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, run_async
from tests.media import clips as make

SLUG = "outputs-fest"
SRT = b"1\n00:00:00,000 --> 00:00:01,500\nThis is my story, in my words.\n"
TIMELINEJS = Path(__file__).resolve().parents[2] / "node_modules" / "@knight-lab" / "timelinejs"
TITLES = ("Sam on peer support", "Kim on housing & care")


@contextmanager
def blog_server(html: str) -> Iterator[str]:
    """Someone else's site: serves ``html`` at its one address on another port."""
    body = html.encode()

    class Blog(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet in the test output

    server = ThreadingHTTPServer(("127.0.0.1", 0), Blog)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        # "localhost", not the live server's "127.0.0.1": another origin, as a blog is.
        yield f"http://localhost:{server.server_address[1]}/2019/07/our-week"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class World(msgspec.Struct):
    clip_ids: list[int]


async def _set_up(server: LiveServer, folder: Path) -> World:
    """A festival with two published, captioned interviews, consented for every use."""
    db = Database.open(server.settings.database_url)
    try:
        await create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD, "Organiser")
        today = datetime.now(UTC).date()
        festival = await programme.create_festival(
            db,
            FestivalIn(
                slug=SLUG,
                name="Outputs Festival",
                starts_on=today,
                ends_on=today + timedelta(days=1),
            ),
        )
        ada = await crew.invite(
            db, SLUG, InviteIn(email="ada@crew.test", name="Ada Lovelace"), server.url
        )
        services = build_clip_services(server.settings, db, Jobs(db))
        ids = []
        for n, title in enumerate(TITLES):
            clip_id = await clips.import_file(
                services,
                make.portrait_h264_mp4(folder / f"clip-{n}.mp4"),
                festival_id=festival.id,
                volunteer_id=ada.volunteer.id,
                slot_id=None,
                title=title,
            )
            await services.jobs.run_until_idle()
            await settle_clips(db, [clip_id])
            await clips.save_captions(services, clip_id, SRT)
            created = await consent.record_consent(
                db,
                Identity(kind="volunteer", id=ada.volunteer.id),
                SLUG,
                ConsentIn(
                    scopes=["timeline", "blog"],
                    credit="chosen",
                    display_name=title.split()[0],
                    interviewee_name="Private Name",
                    form_version=1,
                    clip_id=clip_id,
                ),
                server.url,
            )
            await consent.approve(db, created.review_url.rsplit("/", 1)[1])
            await consent.publish(db, Identity(kind="staff", id=1), SLUG, clip_id)
            ids.append(clip_id)
        return World(clip_ids=ids)
    finally:
        await db.close()


def test_timelinejs_draws_our_timeline(live_server: LiveServer, page: Page, tmp_path: Path) -> None:
    world = run_async(_set_up(live_server, tmp_path))
    data = httpx.get(f"{live_server.url}/festivals/{SLUG}/timeline.timelinejs.json").json()
    assert [e["unique_id"] for e in data["events"]] == [f"clip-{i}" for i in world.clip_ids]

    page.set_viewport_size({"width": 1024, "height": 768})
    page.set_content(
        '<!DOCTYPE html><html lang="en"><head><title>Timeline</title></head><body>'
        '<div id="timeline-embed" style="width: 100%; height: 600px"></div></body></html>'
    )
    page.add_style_tag(path=str(TIMELINEJS / "dist" / "css" / "timeline.css"))
    page.add_script_tag(path=str(TIMELINEJS / "dist" / "js" / "timeline.js"))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # TimelineJS drops an event it cannot read and says so only on the console. Its
    # fonts come from a CDN that this machine cannot reach; those failures are not ours.
    page.on(
        "console",
        lambda m: None if m.text.startswith("Failed to load resource") else errors.append(m.text),
    )
    page.evaluate("data => { window.timeline = new TL.Timeline('timeline-embed', data); }", data)

    # The title slide and one slide per interview, with our headlines, in time order.
    slides = page.locator(".tl-storyslider .tl-slide")
    expect(slides).to_have_count(1 + len(TITLES))
    # Its own reading of the data: valid, nothing refused, every event kept.
    assert page.evaluate("timeline.config.isValid()") is True
    assert page.evaluate("timeline.config.getErrors().length") == 0
    assert page.evaluate("timeline.config.events.length") == len(TITLES)
    headlines = page.locator(".tl-slide-content .tl-headline")
    expect(headlines.first).to_contain_text("Interviews from Outputs Festival")
    for title in TITLES:
        expect(page.locator(".tl-headline", has_text=title).first).to_be_attached()
    # The time navigation has a marker per interview.
    expect(page.locator(".tl-timemarker")).to_have_count(len(TITLES))
    # Step to the first interview: its video is our web rendition.
    page.locator(".tl-slidenav-next").first.click()
    video = page.locator(".tl-slide video source").first
    expect(video).to_have_attribute(
        "src", f"{live_server.url}/media/clips/{world.clip_ids[0]}/web.mp4"
    )
    # TimelineJS reports bad data in its message box; there must be none.
    messages = page.locator(".tl-message-content, .tl-message-full")
    texts = " ".join(messages.all_inner_texts()).lower()
    assert "error" not in texts and "invalid" not in texts, texts
    assert errors == [], errors


def test_the_player_works_framed_on_another_site(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    world = run_async(_set_up(live_server, tmp_path))
    clip_id = world.clip_ids[0]
    page_url = f"{live_server.url}/clips/{clip_id}"

    # The player on its own, on a phone: accessible, captions on, nothing sideways.
    response = page.goto(f"{page_url}/player")
    assert response is not None and response.status == 200
    assert "frame-ancestors *" in response.headers["content-security-policy"]
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    video = page.locator("video")
    expect(video).to_be_visible()
    wait_for(page, "document.querySelector('video').readyState >= 1")
    assert video.evaluate("v => v.textTracks.length") == 1
    assert video.evaluate("v => v.textTracks[0].mode") == "showing"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(page)
    link = page.get_by_role("link", name="Watch on Outputs Festival")
    expect(link).to_have_attribute("href", page_url)

    # A blog on another site embeds it with the code oEmbed gives, sized for its column.
    query = urlencode({"url": page_url, "format": "json", "maxwidth": "320"})
    embed = httpx.get(f"{live_server.url}/oembed?{query}").json()
    blog = (
        '<!DOCTYPE html><html lang="en"><head><title>Our week</title></head><body><main>'
        f"<h1>Our week</h1>{embed['html']}</main></body></html>"
    )

    # A real server on this machine under another origin: Chromium refuses to let a page
    # that is not on the local network (as a routed, made-up page would be) frame one that is.
    with blog_server(blog) as blog_url:
        page.goto(blog_url)
        frame = page.frame_locator("iframe")
        expect(frame.locator("video")).to_be_visible()
        expect(frame.get_by_role("link", name="Watch on Outputs Festival")).to_be_visible()
        inside = frame.locator("html").evaluate("() => [innerWidth, innerHeight]")
        assert inside == [embed["width"], embed["height"]]
        assert_accessible(page)
    # The not-available frame is accessible too.
    page.goto(f"{live_server.url}/clips/99999/player")
    expect(page.get_by_role("heading", level=1)).to_have_text("This interview is not available")
    assert_accessible(page)
    assert json.loads(httpx.get(f"{live_server.url}/oembed?url=nope").text)["status"] == 404
