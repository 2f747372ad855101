"""The links API: any pair linked from either side and seen from both, within one festival,
by staff only."""

from __future__ import annotations

from typing import Any

import pytest

from festival.db.engine import Database
from tests.links.helpers import HERE, THERE, Client, Place

PLURAL = {"clip": "clips", "session": "sessions", "post": "posts"}


@pytest.fixture
async def here(client: Client, db: Database, staff_headers: dict[str, str]) -> Place:
    return await Place(client, db, staff_headers, HERE).setup("Here Festival")


@pytest.fixture
async def there(client: Client, db: Database, staff_headers: dict[str, str]) -> Place:
    return await Place(client, db, staff_headers, THERE).setup("There Festival")


async def _things(place: Place) -> dict[str, int]:
    return {
        "clip": await place.clip("Sam on peer support"),
        "session": await place.session("Listening to lived experience"),
        "post": await place.post("What we heard on day one", url="https://blog.test/day-one"),
    }


def _path(place: Place, kind: str, thing_id: int, other: str = "", other_id: int = 0) -> str:
    path = f"{place.api}/{PLURAL[kind]}/{thing_id}"
    return f"{path}/{PLURAL[other]}/{other_id}" if other else f"{path}/links"


def _ids(links: dict[str, Any], kind: str) -> list[int]:
    return [item["id"] for item in links[PLURAL[kind]]]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("clip", "session"),
        ("session", "clip"),
        ("clip", "post"),
        ("post", "clip"),
        ("session", "post"),
        ("post", "session"),
    ],
)
async def test_a_link_made_from_one_side_is_seen_and_removed_from_the_other(
    client: Client, here: Place, first: str, second: str
) -> None:
    things = await _things(here)
    a, b = things[first], things[second]
    made = await client.put(_path(here, first, a, second, b), headers=here.staff)
    assert made.status_code == 200, made.text
    assert made.json()[first]["id"] == a
    assert _ids(made.json(), second) == [b]

    again = await client.put(_path(here, first, a, second, b), headers=here.staff)
    assert again.status_code == 200
    assert again.json() == made.json(), "linking twice changes nothing"

    other_side = (await client.get(_path(here, second, b), headers=here.staff)).json()
    assert _ids(other_side, first) == [a]

    removed = await client.delete(_path(here, second, b, first, a), headers=here.staff)
    assert removed.status_code == 204
    for kind, thing_id, other in ((first, a, second), (second, b, first)):
        links = (await client.get(_path(here, kind, thing_id), headers=here.staff)).json()
        assert _ids(links, other) == []

    gone = await client.delete(_path(here, first, a, second, b), headers=here.staff)
    assert gone.status_code == 404
    assert gone.headers["content-type"].startswith("application/problem+json")
    assert (
        gone.json()["detail"]
        == f"The {_words(first)} {a} is not linked to the {_words(second)} {b}."
    )


def _words(kind: str) -> str:
    return "blog post" if kind == "post" else kind


async def test_each_side_shows_what_it_needs_to_name_the_other(client: Client, here: Place) -> None:
    things = await _things(here)
    clip, session, post = things["clip"], things["session"], things["post"]
    await client.put(_path(here, "clip", clip, "session", session), headers=here.staff)
    await client.put(_path(here, "clip", clip, "post", post), headers=here.staff)
    links = await client.put(_path(here, "session", session, "post", post), headers=here.staff)
    assert links.json()["session"]["title"] == "Listening to lived experience"

    clip_links = (await client.get(_path(here, "clip", clip), headers=here.staff)).json()
    assert clip_links["clip"] == {"id": clip, "title": "Sam on peer support"}
    [linked_session] = clip_links["sessions"]
    assert linked_session["title"] == "Listening to lived experience"
    assert linked_session["source"] == "staff"
    assert linked_session["starts_at"].endswith("Z") or "+00:00" in linked_session["starts_at"]
    [linked_post] = clip_links["posts"]
    assert linked_post["title"] == "What we heard on day one"
    assert set(linked_post) == {"id", "title", "published_at"}

    post_links = (await client.get(_path(here, "post", post), headers=here.staff)).json()
    assert _ids(post_links, "clip") == [clip]
    assert _ids(post_links, "session") == [session]


async def test_a_link_from_the_clips_slot_says_so_and_staff_may_remove_it(
    client: Client, here: Place
) -> None:
    clip = await here.clip("Filmed after the talk")
    session = await here.session("The talk")
    await here.slot_link(clip, session)
    links = (await client.get(_path(here, "session", session), headers=here.staff)).json()
    assert links["clips"] == [{"id": clip, "title": "Filmed after the talk", "source": "slot"}]

    again = await client.put(_path(here, "clip", clip, "session", session), headers=here.staff)
    assert again.json()["sessions"][0]["source"] == "slot", "adding by hand keeps its origin"

    removed = await client.delete(_path(here, "clip", clip, "session", session), headers=here.staff)
    assert removed.status_code == 204
    links = (await client.get(_path(here, "clip", clip), headers=here.staff)).json()
    assert links["sessions"] == []


async def test_unknown_things_are_named_in_the_404(client: Client, here: Place) -> None:
    things = await _things(here)
    cases = [
        (_path(here, "clip", 9999, "session", things["session"]), "clip number 9999"),
        (_path(here, "clip", things["clip"], "session", 9999), "session number 9999"),
        (_path(here, "session", things["session"], "post", 9999), "blog post number 9999"),
        (_path(here, "post", 9999, "clip", things["clip"]), "blog post number 9999"),
    ]
    for path, missing in cases:
        for method in ("PUT", "DELETE"):
            response = await client.request(method, path, headers=here.staff)
            assert response.status_code == 404, (method, path)
            problem = response.json()
            assert problem["detail"] == f"Here Festival has no {missing}.", problem
            assert problem["fix"]
    for kind in ("clip", "session", "post"):
        response = await client.get(_path(here, kind, 9999), headers=here.staff)
        assert response.status_code == 404
        assert response.json()["detail"] == f"Here Festival has no {_words(kind)} number 9999."
    nowhere = await client.get(
        f"/api/v1/festivals/nowhere/clips/{things['clip']}/links", headers=here.staff
    )
    assert nowhere.status_code == 404
    assert "nowhere" in nowhere.json()["detail"]


async def test_links_never_cross_festivals(client: Client, here: Place, there: Place) -> None:
    mine = await _things(here)
    theirs = await _things(there)
    for slug_place, clip, session in (
        (here, mine["clip"], theirs["session"]),
        (there, mine["clip"], theirs["session"]),
    ):
        response = await client.put(
            _path(slug_place, "clip", clip, "session", session), headers=here.staff
        )
        assert response.status_code == 404, response.text
    crossed = await client.put(
        _path(here, "post", theirs["post"], "clip", mine["clip"]), headers=here.staff
    )
    assert crossed.json()["detail"] == f"Here Festival has no blog post number {theirs['post']}."
    # Another festival's thing is not reachable through this festival's address either.
    seen = await client.get(_path(here, "session", theirs["session"]), headers=here.staff)
    assert seen.status_code == 404
    links = (
        await client.get(_path(there, "session", theirs["session"]), headers=there.staff)
    ).json()
    assert links["clips"] == [] and links["posts"] == []


async def test_only_staff_may_see_or_change_links(
    client: Client, here: Place, db: Database
) -> None:
    from tests.crew.helpers import Crew

    things = await _things(here)
    link = _path(here, "clip", things["clip"], "session", things["session"])
    anonymous = await client.put(link)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(_path(here, "clip", things["clip"]))).status_code == 401

    crew = Crew(client, here.staff)
    crew.base = here.api
    volunteer = await crew.volunteer("ada@crew.test", name="Ada", free=None)
    for method, path in (
        ("PUT", link),
        ("DELETE", link),
        ("GET", _path(here, "post", things["post"])),
    ):
        response = await client.request(method, path, headers=volunteer["headers"])
        assert response.status_code == 403, (method, path)
        assert response.json()["fix"]
    links = (await client.get(_path(here, "clip", things["clip"]), headers=here.staff)).json()
    assert links["sessions"] == []


async def test_the_links_api_is_described_in_the_schema(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    paths = schema["paths"]
    expected = {
        "/api/v1/festivals/{slug}/clips/{clip_id}/links": {"get"},
        "/api/v1/festivals/{slug}/clips/{clip_id}/sessions/{session_id}": {"put", "delete"},
        "/api/v1/festivals/{slug}/clips/{clip_id}/posts/{post_id}": {"put", "delete"},
        "/api/v1/festivals/{slug}/sessions/{session_id}/links": {"get"},
        "/api/v1/festivals/{slug}/sessions/{session_id}/clips/{clip_id}": {"put", "delete"},
        "/api/v1/festivals/{slug}/sessions/{session_id}/posts/{post_id}": {"put", "delete"},
        "/api/v1/festivals/{slug}/posts/{post_id}/links": {"get"},
        "/api/v1/festivals/{slug}/posts/{post_id}/clips/{clip_id}": {"put", "delete"},
        "/api/v1/festivals/{slug}/posts/{post_id}/sessions/{session_id}": {"put", "delete"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        for method in methods:
            operation = paths[path][method]
            assert operation["tags"] == ["links"]
            assert operation["security"] == [{"bearer": []}]
        put = paths[path].get("put")
        if put:
            assert "200" in put["responses"]
        if "delete" in paths[path]:
            assert "204" in paths[path]["delete"]["responses"]
    assert not any(p.startswith("/staff/") for p in paths), "staff pages stay out of the schema"
