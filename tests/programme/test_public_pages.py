"""The public programme pages, read over HTTP as a browser would read them."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from festival.db.engine import Database
from festival.demo.loader import demo_data, load_demo

Client = AsyncTestClient[Litestar]
SLUG = "coproduction-week-2019"
HTML = {"Accept": "text/html"}


def _text(html: str) -> str:
    """The page's words without tags, so assertions do not depend on markup."""
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def _main(html: str) -> str:
    return html.split('<main id="main"', 1)[1].split("</main>", 1)[0]


def _session_titles(html: str) -> list[str]:
    titles = re.findall(r'<h3 class="session__title">(.*?)</h3>', html, flags=re.S)
    return [_text(t).replace("Cancelled", "").strip() for t in titles]


def _day_headings(html: str) -> list[str]:
    return re.findall(r'<h2 id="day-[0-9-]+">([^<]+)</h2>', html)


async def _page(client: Client, url: str, status: int = 200) -> str:
    response = await client.get(url, headers=HTML)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


async def _demo_session_id(client: Client, title: str) -> int:
    sessions = (await client.get(f"/api/v1/festivals/{SLUG}/sessions")).json()
    return next(int(s["id"]) for s in sessions if s["title"] == title)


async def test_home_lists_festivals_with_links(db: Database, client: Client) -> None:
    empty = await _page(client, "/")
    assert "There are no festivals to show yet." in empty

    await load_demo(db)
    html = await _page(client, "/")
    assert f'<a href="/festivals/{SLUG}">Co-production Week 2019</a>' in html
    assert "Monday 1 July 2019" in html
    assert "<title>Festivals – Festival</title>" in html


async def test_festival_home_has_dates_description_and_entry_points(
    db: Database, client: Client
) -> None:
    await load_demo(db)
    html = await _page(client, f"/festivals/{SLUG}")
    text = _text(html)
    assert "<title>Co-production Week 2019 – Festival</title>" in html
    assert "Monday 1 July 2019 to Friday 5 July 2019" in text
    assert "Five days of talks, workshops, films and panels" in text
    entry_points = ("programme", "programme.ics", "programme.xml", "programme.json", "timeline")
    feeds = ("interviews.atom", "interviews.json")
    for href in entry_points + feeds:
        assert f'href="/festivals/{SLUG}/{href}"' in html
    assert "Add to your calendar" in text
    assert html.count("<h1") == 1


async def test_programme_groups_by_day_and_shows_only_public_sessions(
    db: Database, client: Client
) -> None:
    await load_demo(db)
    html = await _page(client, f"/festivals/{SLUG}/programme")
    assert "<title>Programme – Co-production Week 2019 – Festival</title>" in html
    assert _day_headings(html) == [
        "Monday 1 July 2019",
        "Tuesday 2 July 2019",
        "Wednesday 3 July 2019",
        "Thursday 4 July 2019",
        "Friday 5 July 2019",
    ]
    public = [s for s in demo_data()["sessions"] if s["status"] != "draft"]
    drafts = [s["title"] for s in demo_data()["sessions"] if s["status"] == "draft"]
    assert len(_session_titles(html)) == len(public)
    assert drafts and all(title not in html for title in drafts)
    # Local times, in order: the opening is 09:30 in London (08:30 UTC).
    monday = html.split('id="day-2019-07-01"')[1].split('id="day-2019-07-02"')[0]
    assert _session_titles(monday)[0] == "Welcome to Co-production Week"
    assert '<time datetime="2019-07-01T09:30+01:00">09:30</time>' in monday
    text = _text(monday)
    assert "Ksenija Kadic — Expert by experience, Camden & Islington Recovery College" in text
    assert "Main Hall, Kentish Town Community Hub" in text
    assert "Step-free access, Hearing loop" in text


async def test_cancelled_sessions_stay_listed_and_say_so(db: Database, client: Client) -> None:
    await load_demo(db)
    html = await _page(client, f"/festivals/{SLUG}/programme?day=2019-07-03")
    title = "Planning a co-produced review of housing for Disabled people"
    item = next(li for li in html.split('<li class="session') if title in li)
    assert item.startswith(" session--cancelled")
    assert '<strong class="tag tag--cancelled">Cancelled</strong>' in item
    assert f">{title}</a>" in item  # the title stays readable beside the tag
    assert "including 1 cancelled" in _text(html)


async def test_filters_by_day_room_and_track(db: Database, client: Client) -> None:
    await load_demo(db)
    base = f"/festivals/{SLUG}/programme"

    tuesday = await _page(client, f"{base}?day=2019-07-02&room=&track=")
    assert _day_headings(tuesday) == ["Tuesday 2 July 2019"]
    assert _session_titles(tuesday) == [
        "Co-production in mental health commissioning",
        "Power sharing at scale",
    ]
    assert (
        'href="/festivals/coproduction-week-2019/programme?day=2019-07-02" aria-current="page"'
        in (tuesday)
    )
    assert 'value="2019-07-02" selected' in tuesday

    rooms = (await client.get(f"/api/v1/festivals/{SLUG}/rooms")).json()
    quiet = next(r for r in rooms if r["name"] == "Quiet Room")
    in_quiet = await _page(client, f"{base}?room={quiet['id']}")
    assert _session_titles(in_quiet) == ["Peer support circle"]
    assert f'value="{quiet["id"]}" selected' in in_quiet

    research = await _page(client, f"{base}?track=Research")
    assert _session_titles(research) == ["Building a research centre as one team"]
    # Day links keep the track someone chose.
    assert f'href="{base}?day=2019-07-04&amp;track=Research"' in research

    nothing = await _page(client, f"{base}?day=2019-07-01&track=Research")
    assert _session_titles(nothing) == []
    assert "No sessions match these filters." in nothing
    assert f'<a href="{base}">Clear filters</a>' in nothing


async def test_bad_filters_get_a_readable_400_page(db: Database, client: Client) -> None:
    await load_demo(db)
    base = f"/festivals/{SLUG}/programme"
    for query, words in [
        ("day=notadate", "“notadate” is not a date."),
        ("day=2020-01-01", "Wednesday 1 January 2020 is not one of the festival's days."),
        ("room=abc", "“abc” is not a room number."),
        ("room=9999", "This festival has no room number 9999."),
        ("track=Knitting", "No session in this programme is in a track called “Knitting”."),
    ]:
        html = await _page(client, f"{base}?{query}", status=400)
        assert "There is a problem with the filters" in html
        assert words in _text(html)
        assert f'<a href="{base}">See the whole programme, without filters</a>' in html

    hostile = await _page(client, f"{base}?day=%3Cb%3Ehi%3C/b%3E", status=400)
    assert "<b>hi</b>" not in hostile
    assert "&lt;b&gt;hi&lt;/b&gt;" in hostile


async def test_session_page_shows_people_place_and_access(db: Database, client: Client) -> None:
    await load_demo(db)
    session_id = await _demo_session_id(client, "Getting more staff teaching at a recovery college")
    html = await _page(client, f"/festivals/{SLUG}/sessions/{session_id}")
    text = _text(_main(html))
    assert (
        "<title>Getting more staff teaching at a recovery college – Co-production Week 2019"
        " – Festival</title>"
    ) in html
    assert html.count("<h1") == 1
    assert "Monday 1 July 2019" in text
    assert '<time datetime="2019-07-01T10:30+01:00">10:30</time>' in html
    assert "(1 hour 30 minutes)" in text
    assert "Garden Studio" in text and "Kentish Town Community Hub" in text
    assert "12 Greenwood Place, London NW5 1LB" in text
    assert "Ksenija Kadic — Expert by experience, Camden & Islington Recovery College" in text
    assert "Anne Prouse — Expert by profession, Camden & Islington Recovery College" in text
    assert "Step-free access" in text
    assert "Ground floor room with movable tables." in text  # the room's access notes
    assert "Easy read handout available." in text  # the session's own
    assert "Workshop" in text and "Recovery colleges" in text and "English" in text
    assert f'href="/festivals/{SLUG}/programme.ics"' in html
    assert f'<a href="/festivals/{SLUG}/programme">Back to the programme</a>' in html
    assert "will not be filmed" not in text


async def test_session_page_notes_no_filming_online_links_and_cancellation(
    db: Database, client: Client
) -> None:
    await load_demo(db)
    circle = await _demo_session_id(client, "Peer support circle")
    assert "This session will not be filmed." in await _page(
        client, f"/festivals/{SLUG}/sessions/{circle}"
    )

    online = await _demo_session_id(client, "Helping to shape a national evaluation")
    html = await _page(client, f"/festivals/{SLUG}/sessions/{online}")
    assert 'href="https://meet.example.org/cpw2019-stage"' in html

    cancelled = await _demo_session_id(
        client, "Planning a co-produced review of housing for Disabled people"
    )
    html = await _page(client, f"/festivals/{SLUG}/sessions/{cancelled}")
    assert "This session has been cancelled and will not take place." in html
    assert "tag--cancelled" in html
    assert "meet.example.org" not in html  # no join link for a session that will not happen


async def test_draft_and_unknown_sessions_and_festivals_are_404_pages(
    db: Database, client: Client, staff_headers: dict[str, str]
) -> None:
    await load_demo(db)
    sessions = (
        await client.get(f"/api/v1/festivals/{SLUG}/sessions", headers=staff_headers)
    ).json()
    draft = next(s for s in sessions if s["status"] == "draft")
    for url in (
        f"/festivals/{SLUG}/sessions/{draft['id']}",
        f"/festivals/{SLUG}/sessions/99999",
        "/festivals/no-such-festival",
        "/festivals/no-such-festival/programme",
        "/festivals/no-such-festival/sessions/1",
    ):
        html = await _page(client, url, status=404)
        assert "<title>Page not found – Festival</title>" in html
        assert "<h1>Page not found</h1>" in html
    assert draft["title"] not in html


async def _small_festival(client: Client, headers: dict[str, str], title: str) -> dict[str, Any]:
    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(f"/api/v1/festivals{path}", json=body, headers=headers)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    await post(
        "",
        {"slug": "tiny", "name": "Tiny <Fest>", "starts_on": "2024-03-04", "ends_on": "2024-03-04"},
    )
    venue = await post("/tiny/venues", {"name": "Hall & Annex"})
    room = await post("/tiny/rooms", {"venue_id": venue["id"], "name": "Room <1>"})
    person = await post("/tiny/people", {"name": "<i>Sam</i>", "organisation": "A & B"})
    return await post(
        "/tiny/sessions",
        {
            "title": title,
            "kind": "talk",
            "room_id": room["id"],
            "starts_at": "2024-03-04T10:00:00Z",
            "ends_at": "2024-03-04T11:00:00Z",
            "summary": "<img src=x onerror=alert(1)>",
            "track": "<u>track</u>",
            "status": "published",
            "co_producers": [{"person_id": person["id"], "role": "experience"}],
        },
    )


async def test_html_typed_into_the_programme_is_shown_as_text(
    client: Client, staff_headers: dict[str, str]
) -> None:
    title = "<script>alert(1)</script>"
    session = await _small_festival(client, staff_headers, title)
    pages = [
        await _page(client, "/"),
        await _page(client, "/festivals/tiny"),
        await _page(client, "/festivals/tiny/programme"),
        await _page(client, "/festivals/tiny/programme?track=%3Cu%3Etrack%3C%2Fu%3E"),
        await _page(client, f"/festivals/tiny/sessions/{session['id']}"),
    ]
    for html in pages:
        for raw in ("<script>", "<img src", "<i>Sam", "<u>track", "Tiny <Fest>", "Room <1>"):
            assert raw not in html
    programme, session_page = pages[2], pages[4]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in programme
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in session_page
    assert "&lt;img src=x onerror=alert(1)&gt;" in session_page
    assert "&lt;i&gt;Sam&lt;/i&gt; — Expert by experience, A &amp; B" in session_page
    # One day, in the festival's zone: 10:00 UTC in March is 10:00 in London.
    assert _day_headings(programme) == ["Monday 4 March 2024"]
    assert '<time datetime="2024-03-04T10:00+00:00">10:00</time>' in programme
