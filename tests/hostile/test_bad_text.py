"""Bytes that are not text, control characters, overlong values and oversized JSON.

Each is refused with a 4xx that says what was wrong and how to fix it (problem details on
the API, a page in plain words for forms), nothing of it is stored, and the server goes on
answering: ``/health`` is 200 and an ordinary request still works afterwards.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.clips.helpers import Client, sign_in_as_staff
from tests.crew.helpers import SLUG, Crew, at

JSON = {"content-type": "application/json"}


@pytest.fixture
async def crew(client: Client, staff_headers: dict[str, str]) -> Crew:
    return await Crew(client, staff_headers).setup()


async def venues(crew: Crew) -> list[str]:
    listed = await crew.client.get(f"{crew.base}/venues")
    assert listed.status_code == 200, listed.text
    return sorted(v["name"] for v in listed.json())


async def assert_still_healthy(crew: Crew) -> None:
    health = await crew.client.get("/health")
    assert health.status_code == 200, health.text
    fine = await crew.client.post(f"{crew.base}/people", json={"name": "Kim"}, headers=crew.staff)
    assert fine.status_code == 201, fine.text


def assert_problem(response: Any, status: int, words: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert words in problem["detail"], problem
    assert problem["fix"], problem
    return problem


NESTED = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b'{"name": "Caf\xe9 \xff"}', 400, "not UTF-8"),
        (b'{"name": "\xed\xa0\x80"}', 400, "not UTF-8"),
        (b'{"name": "\\ud800"}', 400, "not valid JSON"),
        (b'{"name": "a\\u0000b"}', 400, "name: must be one line of text with no control"),
        (b'{"name": "Hall\\u0007 A"}', 400, "name: must be one line of text with no control"),
        (b'{"name": "Hall\\u001b[31m"}', 400, "name: must be one line of text with no control"),
        (b'{"name": "' + b"x" * 10_000 + b'"}', 400, "name: Expected `str` of length <= 200"),
        (NESTED, 400, "nested too deeply"),
        (b'{"name": "Hall", "online": 1e400}', 400, "Number out of range"),
        (b'{"name": "Hall", "online": ' + b"9" * 5000 + b"}", 400, "out of range"),
        (b'{"name": "Hall", ' * 3, 400, "not valid JSON"),
    ],
    ids=[
        "latin-1",
        "encoded-surrogate",
        "escaped-surrogate",
        "nul",
        "bell",
        "escape",
        "10kB",
        "deep",
        "1e400",
        "huge-int",
        "cut",
    ],
)
async def test_unreadable_or_overlong_json_is_refused_and_not_stored(
    crew: Crew, body: bytes, status: int, words: str
) -> None:
    before = await venues(crew)
    response = await crew.client.post(
        f"{crew.base}/venues", content=body, headers={**crew.staff, **JSON}
    )
    assert_problem(response, status, words)
    assert await venues(crew) == before
    await assert_still_healthy(crew)


async def test_json_beyond_the_body_limit_is_413(crew: Crew) -> None:
    body = b'{"name": "Hall", "address": "' + b"x" * (1024 * 1024) + b'"}'
    response = await crew.client.post(
        f"{crew.base}/venues", content=body, headers={**crew.staff, **JSON}
    )
    assert_problem(response, 413, "too large")
    assert await venues(crew) == ["North Hall", "South Hall"]
    await assert_still_healthy(crew)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/sessions/{session}", {"title": "Opening\u0000"}, "title"),
        ("/sessions/{session}", {"summary": "x" * 5001}, "summary"),
        ("/sessions/{session}", {"track": "Peer\u0085\u0008"}, "track"),
        ("/rooms/{room}", {"join_url": "https://meet.example.org/a\u0000b"}, "join_url"),
        ("/people/{person}", {"name": "\u0000"}, "name"),
        ("/volunteers/{volunteer}", {"name": "Ada\u0000Lovelace"}, "name"),
    ],
)
async def test_control_characters_and_overlong_fields_are_refused_on_every_area(
    crew: Crew, path: str, body: dict[str, Any], field: str
) -> None:
    person = await crew.post("/people", {"name": "Sam"})
    volunteer = await crew.volunteer("ada@crew.test", name="Ada")
    session = await crew.post(
        "/sessions",
        {
            "title": "Opening",
            "kind": "talk",
            "room_id": crew.rooms["N1"],
            "starts_at": at(0),
            "ends_at": at(1),
        },
    )
    ids = {
        "session": session["id"],
        "room": crew.rooms["N1"],
        "person": person["id"],
        "volunteer": volunteer["id"],
    }
    address = crew.base + path.format(**ids)
    before = (await crew.client.get(address, headers=crew.staff)).json()
    response = await crew.client.patch(address, json=body, headers=crew.staff)
    problem = assert_problem(response, 400, field)
    assert [e["field"] for e in problem["errors"]] == [field]
    assert (await crew.client.get(address, headers=crew.staff)).json() == before
    await assert_still_healthy(crew)


async def test_consent_names_with_control_characters_are_refused(crew: Crew) -> None:
    volunteer = await crew.volunteer("ada@crew.test", name="Ada")
    for name in ("Sam\u0000", "Sam\u001b[2J", "S" * 201):
        response = await crew.client.post(
            f"/api/v1/festivals/{SLUG}/consents",
            json={
                "scopes": ["timeline"],
                "credit": "chosen",
                "display_name": name,
                "form_version": 1,
            },
            headers=volunteer["headers"],
        )
        problem = assert_problem(response, 400, "display_name")
        assert problem["errors"][0]["field"] == "display_name"
    listed = await crew.client.get(f"/api/v1/festivals/{SLUG}/consents", headers=crew.staff)
    assert listed.status_code == 200 and listed.json() == [], listed.text
    await assert_still_healthy(crew)


_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"&name=Caf%E9+Hall&address=", "could not be read as text"),
        (b"&name=North%00Hall&address=", "Name must be one line of plain text"),
        (b"&name=" + b"x" * 10_000 + b"&address=", "Name must be 200 characters or fewer"),
    ],
    ids=["percent-latin-1", "nul", "10kB"],
)
async def test_staff_form_with_unreadable_or_overlong_text_shows_the_form_again(
    crew: Crew, body: bytes, words: str
) -> None:
    await sign_in_as_staff(crew.client)
    form = f"/staff/festivals/{SLUG}/venues/new"
    page = await crew.client.get(form)
    token = _CSRF.search(page.text)
    assert token
    response = await crew.client.post(
        form,
        content=b"_csrf_token=" + token.group(1).encode() + body,
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert words in response.text
    assert 'aria-invalid="true"' in response.text, "the field in the wrong is marked"
    assert await venues(crew) == ["North Hall", "South Hall"]
    await assert_still_healthy(crew)


async def test_volunteer_profile_form_refuses_a_name_that_is_not_text(crew: Crew) -> None:
    volunteer = await crew.volunteer("ada@crew.test", name="Ada")
    opened = await crew.client.get(str(volunteer["url"]).removeprefix("http://festival.test"))
    assert opened.status_code == 200
    page = await crew.client.get("/volunteer/profile")
    token = _CSRF.search(page.text)
    assert token
    for value in (b"Ada%00", b"Ada%FF", b"A" * 10_000):
        response = await crew.client.post(
            "/volunteer/profile",
            content=b"_csrf_token=" + token.group(1).encode() + b"&display_name=" + value,
            headers={"content-type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        assert response.status_code == 422, (value[:20], response.text)
        assert 'aria-invalid="true"' in response.text
    me = await crew.client.get("/api/v1/volunteer/me", headers=volunteer["headers"])
    assert me.json()["display_name"] == "Ada"
    await assert_still_healthy(crew)


@pytest.mark.parametrize(
    ("path", "status", "kind"),
    [
        (f"/api/v1/festivals/{SLUG}/timeline?q=%FF", 400, "json"),
        (f"/api/v1/festivals/{SLUG}/timeline?q=a%00b", 400, "json"),
        (f"/api/v1/festivals/{SLUG}/timeline?track=%ED%A0%80", 400, "json"),
        (f"/api/v1/festivals/{SLUG}/timeline?q=" + "x" * 10_000, 400, "json"),
        (f"/api/v1/festivals/{SLUG}/timeline?cursor=%FF%00", 400, "json"),
        (f"/api/v1/festivals/{SLUG}/timeline?limit=1e400", 422, "json"),
        (f"/festivals/{SLUG}/timeline?q=%FF", 400, "html"),
        (f"/festivals/{SLUG}/programme?day=%FF", 400, "html"),
        (f"/festivals/{SLUG}/programme?track=%00", 400, "html"),
        ("/oembed?format=json&url=%FF%00", 404, "json"),
    ],
)
async def test_unreadable_query_strings_are_refused(
    crew: Crew, path: str, status: int, kind: str
) -> None:
    response = await crew.client.get(path)
    assert response.status_code == status, response.text
    if kind == "json":
        assert_problem(response, status, "")
    else:
        assert response.headers["content-type"].startswith("text/html")
        assert "<h1" in response.text and "Traceback" not in response.text
    await assert_still_healthy(crew)
