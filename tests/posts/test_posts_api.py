"""Staff add, change and delete blog posts by hand; anyone may read them; bad values and
other festivals' posts are refused clearly."""

from __future__ import annotations

from typing import Any

import pytest

from tests.posts.helpers import API, OTHER, SLUG, Client, make_festival, posts

Headers = dict[str, str]


@pytest.fixture
async def festival(client: Client, staff_headers: Headers) -> None:
    await make_festival(client, staff_headers)


def body(**extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": "What we learned from the listening café",
        "author": "Ann Lee",
        "url": "https://blog.example.org/2019/07/listening-cafe",
        "summary": "Notes from the first morning.",
        "published_at": "2019-07-02T18:00:00+01:00",
    }
    values.update(extra)
    return values


async def add(client: Client, headers: Headers, **extra: Any) -> dict[str, Any]:
    response = await client.post(API, json=body(**extra), headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_staff_add_read_change_and_delete_a_post(
    client: Client, staff_headers: Headers, festival: None
) -> None:
    post = await add(client, staff_headers)
    assert post["source"] == "staff"
    assert post["published_at"] == "2019-07-02T17:00:00Z"
    assert set(post) == {
        "id",
        "title",
        "author",
        "url",
        "summary",
        "published_at",
        "source",
        "created_at",
        "updated_at",
    }
    # Reading is public: posts are facts about the festival.
    assert (await client.get(f"{API}/{post['id']}")).json() == post

    changed = await client.patch(
        f"{API}/{post['id']}",
        json={"title": "The listening café", "url": ""},
        headers=staff_headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["title"] == "The listening café"
    assert changed.json()["url"] == ""
    assert changed.json()["author"] == "Ann Lee"  # left out, so left alone

    deleted = await client.delete(f"{API}/{post['id']}", headers=staff_headers)
    assert deleted.status_code == 204
    assert (await client.get(f"{API}/{post['id']}")).status_code == 404
    assert await posts(client) == []


async def test_posts_are_listed_newest_first(
    client: Client, staff_headers: Headers, festival: None
) -> None:
    await add(client, staff_headers, title="Middle", published_at="2019-07-02T10:00:00Z")
    await add(client, staff_headers, title="Newest", published_at="2019-07-05T10:00:00Z")
    await add(client, staff_headers, title="Oldest", published_at="2019-06-01T10:00:00Z")
    assert [p["title"] for p in await posts(client)] == ["Newest", "Middle", "Oldest"]


async def test_only_title_and_date_are_needed(
    client: Client, staff_headers: Headers, festival: None
) -> None:
    response = await client.post(
        API,
        json={"title": "A short note", "published_at": "2019-07-01T09:00:00Z"},
        headers=staff_headers,
    )
    assert response.status_code == 201, response.text
    assert (response.json()["author"], response.json()["url"]) == ("", "")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"title": "Two\nlines"}, "title"),
        ({"published_at": "2019-07-02T18:00:00"}, "published_at"),
        ({"published_at": "next Tuesday"}, "published_at"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"summary": "x" * 5001}, "summary"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_values_are_refused_naming_the_field(
    client: Client, staff_headers: Headers, festival: None, change: dict[str, Any], field: str
) -> None:
    response = await client.post(API, json=body(**change), headers=staff_headers)
    # The house maps values the schema refuses to 400 and broken rules to 422.
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["errors"][0]["field"] == field
    assert problem["fix"]
    assert await posts(client) == []


async def test_a_missing_title_is_refused(
    client: Client, staff_headers: Headers, festival: None
) -> None:
    values = body()
    del values["title"]
    response = await client.post(API, json=values, headers=staff_headers)
    assert response.status_code == 400
    assert "missing required field `title`" in response.json()["detail"]


async def test_a_300_character_title_is_fine(
    client: Client, staff_headers: Headers, festival: None
) -> None:
    post = await add(client, staff_headers, title="y" * 300)
    assert len(post["title"]) == 300


async def test_a_bad_patch_changes_nothing(
    client: Client, staff_headers: Headers, festival: None
) -> None:
    post = await add(client, staff_headers)
    response = await client.patch(
        f"{API}/{post['id']}", json={"title": "  "}, headers=staff_headers
    )
    assert response.status_code == 400
    assert (await client.get(f"{API}/{post['id']}")).json() == post


async def test_anonymous_and_volunteers_cannot_write(
    client: Client, staff_headers: Headers, festival: None
) -> None:
    post = await add(client, staff_headers)
    invited = await client.post(
        f"/api/v1/festivals/{SLUG}/volunteers",
        json={"email": "kim@crew.test", "name": "Kim"},
        headers=staff_headers,
    )
    volunteer = {"Authorization": f"Bearer {invited.json()['token']}"}
    item = f"{API}/{post['id']}"
    for headers, status in (({}, 401), (volunteer, 403)):
        assert (await client.post(API, json=body(), headers=headers)).status_code == status
        assert (
            await client.patch(item, json={"title": "Mine now"}, headers=headers)
        ).status_code == status
        assert (await client.delete(item, headers=headers)).status_code == status
    assert await posts(client) == [post]


async def test_another_festivals_post_is_not_found(
    client: Client, staff_headers: Headers, festival: None
) -> None:
    await make_festival(client, staff_headers, OTHER)
    post = await add(client, staff_headers)
    elsewhere = f"/api/v1/festivals/{OTHER}/posts/{post['id']}"
    assert (await client.get(elsewhere)).status_code == 404
    patched = await client.patch(elsewhere, json={"title": "Moved"}, headers=staff_headers)
    assert patched.status_code == 404
    assert "has no blog post" in patched.json()["detail"]
    assert (await client.delete(elsewhere, headers=staff_headers)).status_code == 404
    assert await posts(client) == [post]
    assert await posts(client, OTHER) == []


async def test_posts_of_a_festival_that_does_not_exist_are_404(client: Client) -> None:
    response = await client.get("/api/v1/festivals/nowhere/posts")
    assert response.status_code == 404
    assert response.json()["fix"]


async def test_the_api_is_described_in_the_openapi_schema(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    paths = schema["paths"]
    collection = paths["/api/v1/festivals/{slug}/posts"]
    assert collection["get"]["tags"] == ["posts"]
    assert "post" in collection
    assert "post" in paths["/api/v1/festivals/{slug}/posts/import"]
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/festivals/{slug}/posts/{post_id}"])
    assert "feed_url" not in schema["components"]["schemas"]["Post"]["properties"]
