"""Script and markup typed into every text field is shown as text everywhere.

One festival is built over the API with the same hostile text in every field a person can
type: the festival, venue, room, co-producer, session, volunteer, interviewee, clip, post and
caption. Then every page and export that shows those words is fetched and read with a real
parser: HTML must hold no script element or event-handler attribute of ours, XML must parse
and give the text back unchanged, iCalendar must parse, and JSON must decode, with the HTML
inside it (TimelineJS text, oEmbed's embed code) escaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import lxml.etree
import lxml.html
import pytest
from litestar import Litestar

from tests.clips.helpers import Client, sign_in_as_staff
from tests.consent.helpers import consent, make_public, ready_clip, token_of
from tests.crew.helpers import SLUG, Crew

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
CDATA = "]]><x>&amp;</x><![CDATA["
PAYLOAD = f"{SCRIPT} {ATTRIBUTE} {CDATA}"
"""Fits a one-line name (at most 200 characters), so every field can take all three."""
BASE = "http://festival.test"


def hostile(label: str) -> str:
    """The payload with a label, so a page showing one field's words can be told apart."""
    return f"{label} {PAYLOAD}"


def assert_html_is_inert(html: str, where: str) -> str:
    """No script of the payload and no on* attribute anywhere; returns the page's text."""
    document = lxml.html.document_fromstring(html)
    for script in document.iter("script"):
        assert "alert" not in (script.text or ""), f"{where}: a script element runs the payload"
        assert script.get("src", "").startswith("/"), f"{where}: script from {script.get('src')}"
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue
        handlers = [name for name in element.attrib if name.lower().startswith("on")]
        assert not handlers, f"{where}: <{element.tag}> has {handlers}"
        assert element.tag not in ("img", "x") or element.get("src") != "x", (
            f"{where}: the payload became an element"
        )
    text: str = document.text_content()
    return text


def texts(value: Any) -> Iterator[str]:
    """Every string inside decoded JSON."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from texts(item)


async def _form(client: Client, page_path: str, action: str, data: dict[str, str]) -> None:
    page = await client.get(page_path)
    assert page.status_code == 200, page.text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token, f"no form on {page_path}"
    done = await client.post(action, data={"_csrf_token": token.group(1), **data})
    assert done.status_code == 200, done.text


@pytest.fixture
async def festival(
    client: Client, app: Litestar, staff_headers: dict[str, str], tmp_path: Path
) -> dict[str, Any]:
    """Everything typed with the payload; the clip consented, captioned and published."""
    crew = Crew(client, staff_headers)
    today = datetime.now(UTC).date()
    made = await client.post(
        "/api/v1/festivals",
        json={
            "slug": SLUG,
            "name": hostile("Festival"),
            "starts_on": (today - timedelta(days=1)).isoformat(),
            "ends_on": (today + timedelta(days=3)).isoformat(),
            "timezone": "UTC",
            "description": hostile("Description"),
        },
        headers=staff_headers,
    )
    assert made.status_code == 201, made.text
    venue = await crew.post(
        "/venues",
        {"name": hostile("Venue"), "address": hostile("Address"), "directions": hostile("Way")},
    )
    room = await crew.post(
        "/rooms",
        {"venue_id": venue["id"], "name": hostile("Room"), "access_notes": hostile("Access")},
    )
    crew.rooms["N1"] = room["id"]
    person = await crew.post(
        "/people", {"name": hostile("Person"), "organisation": hostile("Organisation")}
    )
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    session = await crew.post(
        "/sessions",
        {
            "title": hostile("Session"),
            "kind": "talk",
            "room_id": room["id"],
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "status": "published",
            "summary": hostile("Summary") + "\nSecond line " + PAYLOAD,
            "track": hostile("Track"),
            "access_notes": hostile("Notes"),
            "co_producers": [{"person_id": person["id"], "role": "both"}],
        },
    )
    post = await crew.post(
        "/posts",
        {
            "title": hostile("Post"),
            "published_at": start.isoformat(),
            "author": hostile("Author"),
            "url": "https://blog.example.org/a",
            "summary": hostile("Blurb"),
        },
    )
    volunteer = await crew.volunteer("ada@crew.test", name=hostile("Volunteer"))
    auth = volunteer["headers"]
    slot = await crew.slot(1, 2)
    await crew.assign(slot["id"], volunteer["id"])
    clip = await ready_clip(client, app, auth, tmp_path)
    renamed = await client.patch(
        f"/api/v1/clips/{clip['id']}", json={"title": hostile("Clip")}, headers=auth
    )
    assert renamed.status_code == 200, renamed.text
    created = await consent(
        crew, auth, clip["id"], display_name=hostile("Credit"), interviewee_name=hostile("Who")
    )
    await make_public(crew, auth, clip["id"], created)
    srt = f"1\n00:00:00,000 --> 00:00:01,000\n{hostile('Caption')}\n".encode()
    captions = await client.put(f"/api/v1/clips/{clip['id']}/captions", content=srt, headers=auth)
    assert captions.status_code == 200, captions.text
    for path in (
        f"/clips/{clip['id']}/sessions/{session['id']}",
        f"/clips/{clip['id']}/posts/{post['id']}",
    ):
        linked = await client.put(crew.base + path, headers=staff_headers)
        assert linked.status_code == 200, linked.text
    return {
        "clip": clip["id"],
        "session": session["id"],
        "post": post["id"],
        "venue": venue["id"],
        "room": room["id"],
        "person": person["id"],
        "volunteer": volunteer,
        "consent": created["consent"]["id"],
        "token": token_of(created),
        "slot": slot["id"],
    }


async def test_public_pages_show_the_words_and_run_nothing(
    client: Client, festival: dict[str, Any]
) -> None:
    clip = festival["clip"]
    pages = [
        f"/festivals/{SLUG}",
        f"/festivals/{SLUG}/programme",
        f"/festivals/{SLUG}/sessions/{festival['session']}",
        f"/festivals/{SLUG}/timeline",
        f"/clips/{clip}",
        f"/clips/{clip}/transcript",
        f"/clips/{clip}/player",
    ]
    shown = ""
    for path in pages:
        page = await client.get(path)
        assert page.status_code == 200, f"{path}: {page.text}"
        shown += assert_html_is_inert(page.text, path)
    for label in ("Festival", "Session", "Room", "Track", "Clip", "Credit", "Post"):
        assert hostile(label) in shown, f"{label}: the words typed are shown as typed"
    assert hostile("Volunteer") in shown, "the volunteer's name as co-producer"
    # In SRT and WebVTT, <...> are the caption's own tags and &amp; an entity: players drop
    # the tags, and so does the transcript, which leaves the rest as words.
    assert 'Caption alert(1) "> ]]>&<![CDATA[' in shown


async def test_staff_and_private_pages_show_the_words_and_run_nothing(
    client: Client, festival: dict[str, Any]
) -> None:
    await sign_in_as_staff(client)
    base = f"/staff/festivals/{SLUG}"
    clip, session, post = festival["clip"], festival["session"], festival["post"]
    pages = [
        "/staff",
        base,
        f"{base}/edit",
        f"{base}/clips",
        f"{base}/review",
        f"{base}/consents",
        f"{base}/consents/{festival['consent']}",
        f"{base}/coverage",
        f"{base}/slots",
        f"{base}/slots/{festival['slot']}/edit",
        f"{base}/volunteers",
        f"{base}/volunteers/{festival['volunteer']['id']}",
        f"{base}/posts",
        f"{base}/posts/{post}/edit",
        f"{base}/posts/{post}/links",
        f"{base}/sessions/{session}/edit",
        f"{base}/sessions/{session}/links",
        f"{base}/clips/{clip}/links",
        f"{base}/clips/{clip}/captions",
        f"{base}/venues/{festival['venue']}/edit",
        f"{base}/rooms/{festival['room']}/edit",
        f"{base}/people/{festival['person']}/edit",
        f"{base}/audit",
    ]
    shown = ""
    for path in pages:
        page = await client.get(path)
        assert page.status_code == 200, f"{path}: {page.text}"
        shown += assert_html_is_inert(page.text, path)
    for label in ("Festival", "Venue", "Address", "Person", "Summary", "Volunteer", "Who"):
        assert hostile(label) in shown, label

    # The same browser, signed out, as the interviewee and then as the volunteer.
    client.cookies.clear()
    token = festival["token"]
    seen = ""
    for path in (f"/consent/{token}", f"/consent/{token}/change"):
        page = await client.get(path)
        assert page.status_code == 200, f"{path}: {page.text}"
        seen += assert_html_is_inert(page.text, path)
    assert hostile("Clip") in seen and hostile("Credit") in seen

    opened = await client.get(str(festival["volunteer"]["url"]).removeprefix(BASE))
    assert opened.status_code == 200, opened.text
    seen = ""
    for path in ("/volunteer", "/volunteer/clips", "/volunteer/profile", "/volunteer/upload"):
        page = await client.get(path)
        assert page.status_code == 200, f"{path}: {page.text}"
        seen += assert_html_is_inert(page.text, path)
    assert hostile("Clip") in seen and hostile("Volunteer") in seen


async def test_xml_exports_parse_and_give_the_words_back(
    client: Client, festival: dict[str, Any]
) -> None:
    for path, labels in (
        (f"/festivals/{SLUG}/programme.xml", ("Festival", "Session", "Track", "Person")),
        (f"/festivals/{SLUG}/interviews.atom", ("Festival", "Clip", "Credit", "Session")),
    ):
        response = await client.get(path)
        assert response.status_code == 200, f"{path}: {response.text}"
        tree = lxml.etree.fromstring(response.content)
        assert not [e for e in tree.iter() if isinstance(e.tag, str) and e.tag in ("x", "img")]
        words = " ".join(
            (e.text or "") + " " + " ".join(e.attrib.values())
            for e in tree.iter()
            if isinstance(e.tag, str)
        )
        for label in labels:
            assert hostile(label) in words, f"{path}: {label}"


async def test_icalendar_parses_and_gives_the_words_back(
    client: Client, festival: dict[str, Any]
) -> None:
    response = await client.get(f"/festivals/{SLUG}/programme.ics")
    assert response.status_code == 200, response.text
    calendar = icalendar.Calendar.from_ical(response.content)
    [event] = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == hostile("Session")
    assert hostile("Room") in str(event["LOCATION"])
    assert hostile("Summary") in str(event["DESCRIPTION"])

    volunteer = festival["volunteer"]["headers"]
    link = await client.post("/api/v1/volunteer/calendar-link", headers=volunteer)
    assert link.status_code in (200, 201), link.text
    feed = await client.get(str(link.json()["url"]).removeprefix(BASE))
    assert feed.status_code == 200, feed.text
    [slot] = icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
    assert hostile("Room") in str(slot["LOCATION"])


async def test_json_outputs_decode_and_escape_the_html_they_carry(
    client: Client, festival: dict[str, Any]
) -> None:
    clip = festival["clip"]
    for path, label in (
        (f"/festivals/{SLUG}/programme.json", "Session"),
        (f"/festivals/{SLUG}/interviews.json", "Clip"),
        (f"/api/v1/festivals/{SLUG}/timeline", "Clip"),
    ):
        response = await client.get(path)
        assert response.status_code == 200, f"{path}: {response.text}"
        assert hostile(label) in list(texts(response.json())), f"{path}: {label} round-trips"

    timeline = (await client.get(f"/festivals/{SLUG}/timeline.timelinejs.json")).json()
    [event] = timeline["events"]
    # TimelineJS shows these fields as HTML: the words must come back as text.
    for field in (event["text"]["headline"], event["text"]["text"], timeline["title"]["text"]):
        shown = assert_html_is_inert(f"<div>{field}</div>", "TimelineJS")
        assert PAYLOAD in shown
    assert hostile("Clip") in assert_html_is_inert(event["text"]["headline"], "headline")

    oembed = await client.get("/oembed", params={"url": f"{BASE}/clips/{clip}", "format": "json"})
    assert oembed.status_code == 200, oembed.text
    answer = oembed.json()
    assert answer["title"] == hostile("Clip")
    embed = lxml.html.fragment_fromstring(answer["html"], create_parent="div")
    assert_html_is_inert(lxml.html.tostring(embed, encoding="unicode"), "oEmbed html")
    [frame] = embed.iter("iframe")
    assert frame.get("title", "").endswith(hostile("Clip")) or hostile("Clip") in frame.get(
        "title", ""
    )
    assert json.dumps(answer)  # plain JSON all through
