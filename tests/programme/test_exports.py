"""The programme exports, read back by parsers and validators we did not write."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import icalendar
import jsonschema
import msgspec
import pytest
import xmlschema
from lxml import etree

from festival.programme.exports import to_frab_json, to_frab_xml, to_ical
from festival.programme.schemas import (
    CoProducer,
    Festival,
    Programme,
    Room,
    Session,
    SessionKind,
    SessionStatus,
    Venue,
)

STANDARDS = Path(__file__).resolve().parents[2].parent / "shared" / "standards"
XSD = STANDARDS / "frab-schedule.xml.xsd"
JSON_SCHEMA = STANDARDS / "frab-schedule.schema.json"

BASE_URL = "https://festival.example.org"
SLUG = "coproduction-week-2019"
SCRIPT = "<script>alert('hi')</script> & friends"
JOIN_URL = "https://meet.example.org/room/abc?pw=1&x=2"
EDITED = datetime(2019, 6, 20, 9, 30, tzinfo=UTC)
CREATED = datetime(2019, 6, 1, 8, 0, tzinfo=UTC)

# --- a small festival, built directly ---------------------------------------------------


def _room(
    room_id: int, venue: tuple[int, str], name: str, *, online: bool = False, **extra: Any
) -> Room:
    fields: dict[str, Any] = {
        "capacity": None,
        "join_url": "",
        "step_free": False,
        "hearing_loop": False,
        "bsl_interpretation": False,
        "quiet_room": False,
        "access_notes": "",
    }
    fields.update(extra)
    return Room(
        id=room_id, venue_id=venue[0], venue_name=venue[1], online=online, name=name, **fields
    )


HUB = (1, "Kentish Town Community Hub")
CAFE = (2, "Caffi Ŵyl")
ONLINE = (3, "Online")

MAIN_HALL = _room(
    1, HUB, "Main hall", capacity=120, step_free=True, hearing_loop=True, access_notes="Lift."
)
STUDIO = _room(2, CAFE, "Studio")
CALL = _room(3, ONLINE, "Video call", online=True, join_url=JOIN_URL)
UNUSED = _room(4, HUB, "Store room")


def _session(
    session_id: int,
    title: str,
    room: Room,
    starts_at: datetime,
    minutes: int,
    *,
    kind: SessionKind = "talk",
    status: SessionStatus = "published",
    **extra: Any,
) -> Session:
    fields: dict[str, Any] = {
        "summary": "",
        "track": "",
        "language": "en",
        "access_notes": "",
        "do_not_film": False,
        "co_producers": [],
    }
    fields.update(extra)
    return Session(
        id=session_id,
        title=title,
        kind=kind,
        room=room,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes),
        status=status,
        created_at=CREATED,
        updated_at=EDITED,
        **fields,
    )


# 09:00 UTC is 10:00 in London in July (BST, +01:00).
TALK = _session(
    1,
    f"Nothing about us {SCRIPT}",
    MAIN_HALL,
    datetime(2019, 7, 1, 9, 0, tzinfo=UTC),
    60,
    summary=f"Why we plan together.\n{SCRIPT}",
    track="Mental health",
    access_notes="Quiet seats at the back.",
    do_not_film=True,
    co_producers=[
        CoProducer(person_id=7, name="Siân Llŷr", organisation="Mind Cymru", role="experience"),
        CoProducer(person_id=8, name="Dr Amaka Obi", organisation="", role="profession"),
    ],
)
CANCELLED = _session(
    2,
    "Drawing maps of care",
    STUDIO,
    datetime(2019, 7, 2, 12, 0, tzinfo=UTC),
    90,
    kind="workshop",
    status="cancelled",
)
# 22:30 UTC on the 2nd is 23:30 BST; it ends at 01:30 BST on the 3rd.
LATE_FILM = _session(
    3, "Night shift", STUDIO, datetime(2019, 7, 2, 22, 30, tzinfo=UTC), 120, kind="film"
)
ONLINE_PANEL = _session(
    4, "Ask us anything", CALL, datetime(2019, 7, 3, 16, 0, tzinfo=UTC), 45, kind="panel"
)
DRAFT = _session(
    5, "Secret plans", STUDIO, datetime(2019, 7, 3, 9, 0, tzinfo=UTC), 30, status="draft"
)


def _programme(sessions: list[Session] | None = None) -> Programme:
    festival = Festival(
        id=1,
        slug=SLUG,
        name="Co-production Week 2019 — Gŵyl",
        starts_on=date(2019, 7, 1),
        ends_on=date(2019, 7, 3),
        timezone="Europe/London",
        description="A week of sessions planned together.",
        created_at=CREATED,
        updated_at=EDITED,
    )
    venues = [
        Venue(
            id=HUB[0],
            name=HUB[1],
            address="12 Leighton Road\nLondon NW5 2QE",
            online=False,
            directions="",
            rooms=[MAIN_HALL, UNUSED],
        ),
        Venue(id=CAFE[0], name=CAFE[1], address="", online=False, directions="", rooms=[STUDIO]),
        Venue(id=ONLINE[0], name=ONLINE[1], address="", online=True, directions="", rooms=[CALL]),
    ]
    if sessions is None:
        sessions = [TALK, CANCELLED, LATE_FILM, ONLINE_PANEL]
    return Programme(festival=festival, venues=venues, people=[], sessions=sessions)


# --- readers ----------------------------------------------------------------------------


def _events(ics: bytes) -> dict[int, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(ics)
    return {int(str(e["UID"]).split("-")[1].split("@")[0]): e for e in calendar.walk("VEVENT")}


def _xml_events(xml: bytes) -> dict[int, Any]:
    root = etree.fromstring(xml)
    return {int(e.get("id")): e for e in root.iter("event")}


def _json_events(data: dict[str, Any]) -> dict[int, dict[str, Any]]:
    days = data["schedule"]["conference"]["days"]
    return {
        event["id"]: event for day in days for events in day["rooms"].values() for event in events
    }


@cache
def _xsd() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


@cache
def _json_validator() -> jsonschema.Draft6Validator:
    schema = json.loads(JSON_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft6Validator.check_schema(schema)
    return jsonschema.Draft6Validator(
        schema, format_checker=jsonschema.Draft6Validator.FORMAT_CHECKER
    )


def _assert_valid_xml(xml: bytes) -> None:
    if not XSD.is_file():
        pytest.skip(f"the frab XSD is not at {XSD}; the standards folder sits beside the repo")
    _xsd().validate(etree.fromstring(xml))


def _assert_valid_json(data: dict[str, Any]) -> None:
    if not JSON_SCHEMA.is_file():
        pytest.skip(f"the frab JSON schema is not at {JSON_SCHEMA}")
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in _json_validator().iter_errors(data)]
    assert errors == []


# --- all formats ------------------------------------------------------------------------


def test_every_export_gives_the_same_bytes_for_the_same_programme() -> None:
    shuffled = _programme([ONLINE_PANEL, LATE_FILM, TALK, CANCELLED])
    for export in (to_ical, to_frab_xml, to_frab_json):
        first = export(_programme(), BASE_URL)
        assert first == export(_programme(), BASE_URL)
        assert first == export(shuffled, BASE_URL)


def test_draft_sessions_never_appear_in_any_export() -> None:
    programme = _programme([TALK, DRAFT])
    assert set(_events(to_ical(programme, BASE_URL))) == {1}
    assert set(_xml_events(to_frab_xml(programme, BASE_URL))) == {1}
    assert set(_json_events(json.loads(to_frab_json(programme, BASE_URL)))) == {1}


def test_base_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match="http"):
        to_ical(_programme(), "festival.example.org")


def test_frab_guid_is_derived_from_the_ical_uid_and_agrees_across_formats() -> None:
    programme = _programme()
    uids = {n: str(e["UID"]) for n, e in _events(to_ical(programme, BASE_URL)).items()}
    xml_guids = {n: e.get("guid") for n, e in _xml_events(to_frab_xml(programme, BASE_URL)).items()}
    json_guids = {
        n: e["guid"] for n, e in _json_events(json.loads(to_frab_json(programme, BASE_URL))).items()
    }
    assert xml_guids == json_guids
    assert len(set(xml_guids.values())) == 4
    for number, guid in xml_guids.items():
        assert uuid.UUID(guid).version == 5
        assert uids[number] == f"session-{number}@festival.example.org"


def test_awkward_names_and_zones_still_give_valid_exports() -> None:
    """A two-letter slug, titles with no Latin letters, rooms with the same label, a zone
    name with three parts and a festival whose end date precedes its start."""
    twin = _room(9, CAFE, "Studio")
    sessions = [
        _session(1, "Ж", STUDIO, datetime(2019, 7, 1, 15, 0, tzinfo=UTC), 30),
        _session(2, "日本語", twin, datetime(2019, 7, 1, 15, 0, tzinfo=UTC), 30),
    ]
    programme = _programme(sessions)
    festival = msgspec.structs.replace(
        programme.festival,
        slug="ab",
        timezone="America/Argentina/Buenos_Aires",
        ends_on=date(2019, 6, 30),
    )
    programme = msgspec.structs.replace(programme, festival=festival)
    xml = to_frab_xml(programme, BASE_URL + "/")
    data = json.loads(to_frab_json(programme, BASE_URL + "/"))
    events = _json_events(data)
    assert events[1]["slug"] == "ab__-1-session"
    assert events[1]["date"] == "2019-07-01T12:00:00-03:00"
    assert events[1]["url"] == f"{BASE_URL}/festivals/ab/sessions/1"
    assert {events[1]["room"], events[2]["room"]} == {
        "Studio, Caffi Ŵyl (room 2)",
        "Studio, Caffi Ŵyl (room 9)",
    }
    ics = to_ical(programme, BASE_URL + "/")
    assert _events(ics)[2]["DTSTART"].params["TZID"] == "America/Argentina/Buenos_Aires"
    _assert_valid_xml(xml)
    _assert_valid_json(data)


# --- iCalendar --------------------------------------------------------------------------


def test_ical_calendar_carries_name_method_and_time_zone() -> None:
    calendar = icalendar.Calendar.from_ical(to_ical(_programme(), BASE_URL))
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"])
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == "Co-production Week 2019 — Gŵyl"
    assert str(calendar["X-WR-TIMEZONE"]) == "Europe/London"
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/London"]


def test_ical_uids_are_stable_and_name_the_base_url_host() -> None:
    first = [str(e["UID"]) for e in _events(to_ical(_programme(), BASE_URL)).values()]
    second = [str(e["UID"]) for e in _events(to_ical(_programme(), BASE_URL)).values()]
    assert first == second
    assert sorted(first) == [f"session-{n}@festival.example.org" for n in (1, 2, 3, 4)]


def test_ical_times_are_festival_local_with_tzid_in_british_summer_time() -> None:
    ics = to_ical(_programme(), BASE_URL)
    assert b"DTSTART;TZID=Europe/London:20190701T100000" in ics
    talk = _events(ics)[1]
    start = talk["DTSTART"].dt
    assert talk["DTSTART"].params["TZID"] == "Europe/London"
    assert (start.hour, start.utcoffset()) == (10, timedelta(hours=1))
    assert start == TALK.starts_at
    assert talk["DTEND"].dt == TALK.ends_at
    assert talk["DTSTAMP"].dt == EDITED
    assert talk["LAST-MODIFIED"].dt == EDITED
    assert talk["CREATED"].dt == CREATED


def test_cancelled_session_is_marked_cancelled_in_ical() -> None:
    events = _events(to_ical(_programme(), BASE_URL))
    assert str(events[2]["STATUS"]) == "CANCELLED"
    assert str(events[2]["SUMMARY"]) == "Cancelled: Drawing maps of care"
    assert str(events[1]["STATUS"]) == "CONFIRMED"


def test_ical_location_names_room_venue_and_address_when_there_is_one() -> None:
    events = _events(to_ical(_programme(), BASE_URL))
    assert str(events[1]["LOCATION"]) == (
        "Main hall, Kentish Town Community Hub, 12 Leighton Road, London NW5 2QE"
    )
    assert str(events[2]["LOCATION"]) == "Studio, Caffi Ŵyl"


def test_ical_event_links_to_the_public_session_page() -> None:
    events = _events(to_ical(_programme(), BASE_URL))
    assert str(events[3]["URL"]) == f"{BASE_URL}/festivals/{SLUG}/sessions/3"


def test_ical_description_gives_summary_co_producers_access_and_filming_in_order() -> None:
    description = str(_events(to_ical(_programme(), BASE_URL))[1]["DESCRIPTION"])
    order = [
        "Why we plan together.",
        "- Siân Llŷr, Mind Cymru (Expert by experience)",
        "- Dr Amaka Obi (Expert by profession)",
        "Access: Step-free access, Hearing loop.",
        "Lift.",
        "Quiet seats at the back.",
        "Do not film",
    ]
    positions = [description.index(part) for part in order]
    assert positions == sorted(positions)


def test_ical_categories_are_kind_and_track() -> None:
    events = _events(to_ical(_programme(), BASE_URL))
    assert [str(c) for c in events[1]["CATEGORIES"].cats] == ["talk", "Mental health"]
    assert [str(c) for c in events[3]["CATEGORIES"].cats] == ["film"]


def test_markup_in_text_survives_the_ical_round_trip_as_text() -> None:
    talk = _events(to_ical(_programme(), BASE_URL))[1]
    assert str(talk["SUMMARY"]) == f"Nothing about us {SCRIPT}"
    assert SCRIPT in str(talk["DESCRIPTION"])


def test_online_room_join_link_is_in_the_ical_description() -> None:
    events = _events(to_ical(_programme(), BASE_URL))
    assert f"Join online: {JOIN_URL}" in str(events[4]["DESCRIPTION"])
    assert "Join online" not in str(events[1]["DESCRIPTION"])


def test_empty_programme_is_still_a_calendar_with_its_time_zone() -> None:
    calendar = icalendar.Calendar.from_ical(to_ical(_programme([]), BASE_URL))
    assert calendar.walk("VEVENT") == []
    assert len(calendar.walk("VTIMEZONE")) == 1


# --- frab XML ---------------------------------------------------------------------------


def test_frab_xml_is_valid_against_the_xsd() -> None:
    _assert_valid_xml(to_frab_xml(_programme(), BASE_URL))


def test_frab_xml_for_an_empty_programme_is_valid_and_keeps_the_festival_days() -> None:
    xml = to_frab_xml(_programme([]), BASE_URL)
    root = etree.fromstring(xml)
    assert [d.get("date") for d in root.iter("day")] == ["2019-07-01", "2019-07-02", "2019-07-03"]
    assert list(root.iter("event")) == []
    _assert_valid_xml(xml)


def test_frab_xml_describes_the_conference() -> None:
    root = etree.fromstring(to_frab_xml(_programme(), BASE_URL))
    conference = root.find("conference")
    assert conference.findtext("title") == "Co-production Week 2019 — Gŵyl"
    assert conference.findtext("acronym") == "coproduction_week_2019"
    assert conference.findtext("start") == "2019-07-01"
    assert conference.findtext("end") == "2019-07-03"
    assert conference.findtext("days") == "3"
    assert conference.findtext("time_zone_name") == "Europe/London"
    assert [t.get("name") for t in conference.iter("track")] == ["Mental health"]
    assert root.findtext("version")


def test_frab_xml_event_reads_back_in_local_time() -> None:
    talk = _xml_events(to_frab_xml(_programme(), BASE_URL))[1]
    assert talk.findtext("date") == "2019-07-01T10:00:00+01:00"
    assert talk.findtext("start") == "10:00"
    assert talk.findtext("duration") == "01:00"
    assert talk.findtext("room") == "Main hall, Kentish Town Community Hub"
    assert (
        talk.findtext("slug")
        == "coproduction_week_2019-1-nothing-about-us-script-alert-hi-script-friends"
    )
    assert talk.findtext("url") == f"{BASE_URL}/festivals/{SLUG}/sessions/1"
    assert talk.findtext("track") == "Mental health"
    assert talk.findtext("type") == "talk"
    assert talk.findtext("language") == "en"
    assert talk.findtext("recording/optout") == "true"
    persons = [(p.get("id"), p.text) for p in talk.iter("person")]
    assert persons == [("7", "Siân Llŷr"), ("8", "Dr Amaka Obi")]


def test_cancelled_session_is_kept_and_titled_cancelled_in_frab_xml() -> None:
    workshop = _xml_events(to_frab_xml(_programme(), BASE_URL))[2]
    assert workshop.findtext("title") == "Cancelled: Drawing maps of care"
    assert workshop.findtext("subtitle") == "Cancelled"
    assert workshop.findtext("type") == "workshop"


def test_markup_in_text_is_escaped_in_frab_xml_and_reads_back_as_text() -> None:
    xml = to_frab_xml(_programme(), BASE_URL)
    assert b"<script>" not in xml
    talk = _xml_events(xml)[1]
    assert talk.findtext("title") == f"Nothing about us {SCRIPT}"
    assert SCRIPT in talk.findtext("abstract")


def test_session_crossing_midnight_belongs_to_the_day_it_starts_in_frab_xml() -> None:
    root = etree.fromstring(to_frab_xml(_programme(), BASE_URL))
    day = next(d for d in root.iter("day") if d.get("date") == "2019-07-02")
    film = next(e for e in day.iter("event") if e.get("id") == "3")
    assert film.findtext("date") == "2019-07-02T23:30:00+01:00"
    assert film.findtext("duration") == "02:00"
    assert day.get("end") == "2019-07-03T01:30:00+01:00"


def test_every_day_lists_each_room_in_use_even_when_it_is_empty() -> None:
    root = etree.fromstring(to_frab_xml(_programme(), BASE_URL))
    for day in root.iter("day"):
        assert [r.get("name") for r in day.findall("room")] == [
            "Main hall, Kentish Town Community Hub",
            "Studio, Caffi Ŵyl",
            "Video call, Online",
        ]


def test_online_room_join_link_is_an_event_link_in_frab_xml() -> None:
    panel = _xml_events(to_frab_xml(_programme(), BASE_URL))[4]
    assert [(link.get("href"), link.text) for link in panel.iter("link")] == [
        (JOIN_URL, "Join online")
    ]
    assert f"Join online: {JOIN_URL}" in panel.findtext("description")


# --- frab JSON --------------------------------------------------------------------------


def test_frab_json_is_valid_against_the_schema() -> None:
    _assert_valid_json(json.loads(to_frab_json(_programme(), BASE_URL)))


def test_frab_json_for_an_empty_programme_is_valid() -> None:
    data = json.loads(to_frab_json(_programme([]), BASE_URL))
    assert data["schedule"]["conference"]["daysCount"] == 3
    assert _json_events(data) == {}
    _assert_valid_json(data)


def test_frab_json_names_its_schema_and_the_conference() -> None:
    data = json.loads(to_frab_json(_programme(), BASE_URL))
    assert data["$schema"] == "https://c3voc.de/schedule/schema.json"
    schedule = data["schedule"]
    assert schedule["version"]
    assert schedule["base_url"] == f"{BASE_URL}/"
    conference = schedule["conference"]
    assert conference["acronym"] == "coproduction_week_2019"
    assert conference["title"] == "Co-production Week 2019 — Gŵyl"
    assert (conference["start"], conference["end"]) == ("2019-07-01", "2019-07-03")
    assert conference["time_zone_name"] == "Europe/London"
    assert [room["name"] for room in conference["rooms"]] == [
        "Main hall, Kentish Town Community Hub",
        "Studio, Caffi Ŵyl",
        "Video call, Online",
    ]
    assert [day["index"] for day in conference["days"]] == [1, 2, 3]


def test_frab_json_event_reads_back_the_same_facts_as_the_xml() -> None:
    programme = _programme()
    data = json.loads(to_frab_json(programme, BASE_URL))
    events = _json_events(data)
    talk = events[1]
    assert talk["date"] == "2019-07-01T10:00:00+01:00"
    assert talk["end"] == "2019-07-01T11:00:00+01:00"
    assert (talk["start"], talk["duration"]) == ("10:00", "01:00")
    assert talk["title"] == f"Nothing about us {SCRIPT}"
    assert talk["do_not_record"] is True
    assert talk["persons"] == [{"id": 7, "name": "Siân Llŷr"}, {"id": 8, "name": "Dr Amaka Obi"}]
    assert events[3]["track"] is None
    xml = _xml_events(to_frab_xml(programme, BASE_URL))
    for number, event in events.items():
        for field in ("date", "start", "duration", "room", "slug", "url", "title", "abstract"):
            assert event[field] == xml[number].findtext(field), (number, field)


def test_cancelled_session_is_kept_and_titled_cancelled_in_frab_json() -> None:
    workshop = _json_events(json.loads(to_frab_json(_programme(), BASE_URL)))[2]
    assert workshop["title"] == "Cancelled: Drawing maps of care"
    assert workshop["subtitle"] == "Cancelled"


def test_session_crossing_midnight_belongs_to_the_day_it_starts_in_frab_json() -> None:
    days = json.loads(to_frab_json(_programme(), BASE_URL))["schedule"]["conference"]["days"]
    by_date = {day["date"]: day for day in days}
    assert [e["id"] for e in by_date["2019-07-02"]["rooms"]["Studio, Caffi Ŵyl"]] == [2, 3]
    assert by_date["2019-07-03"]["rooms"]["Studio, Caffi Ŵyl"] == []


def test_frab_json_is_utf8_with_names_as_written() -> None:
    raw = to_frab_json(_programme(), BASE_URL)
    assert "Siân Llŷr".encode() in raw
    assert msgspec.json.decode(raw)["schedule"]["conference"]["title"].endswith("Gŵyl")
