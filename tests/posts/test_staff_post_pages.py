"""The staff posts pages, driven as a browser would: signed in through the form, every
change posted with its CSRF token, and read back through the JSON API."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import httpx
import pytest

from festival.accounts.service import create_or_update_staff
from festival.db.engine import Database
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD
from tests.posts.conftest import FakeBlog
from tests.posts.helpers import FEED, SLUG, Client, make_festival, posts, two_posts

PAGE = f"/staff/festivals/{SLUG}/posts"
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


async def csrf_token(client: Client, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    match = CSRF.search(page.text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


async def submit(
    client: Client, path: str, data: dict[str, Any], action: str | None = None
) -> httpx.Response:
    """Open the page at ``path`` and post ``data`` to ``action`` (the page itself by
    default) with the token the page carries."""
    token = await csrf_token(client, path)
    return await client.post(
        action or path, data={**data, "_csrf_token": token}, follow_redirects=False
    )


def text(response: httpx.Response) -> str:
    return unescape(response.text)


def form(**extra: str) -> dict[str, str]:
    values = {
        "title": "Notes from the listening café",
        "author": "Ann Lee",
        "published_on": "2/7/2019",
        "published_time": "18:15",
        "url": "https://blog.example.org/listening-cafe",
        "summary": "What people told us on the first morning.",
    }
    values.update(extra)
    return values


@pytest.fixture
async def staff(client: Client, db: Database, staff_headers: dict[str, str]) -> Client:
    """A festival, and the client signed in through the sign-in form."""
    await make_festival(client, staff_headers)
    await create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD, "Organiser")
    token = await csrf_token(client, "/staff/sign-in?next=/staff")
    page = await client.post(
        "/staff/sign-in",
        data={
            "_csrf_token": token,
            "email": STAFF_EMAIL,
            "password": STAFF_PASSWORD,
            "next": "/staff",
        },
    )
    assert page.status_code == 200, page.text
    return client


async def test_the_festival_page_leads_to_the_posts(staff: Client) -> None:
    page = await staff.get(f"/staff/festivals/{SLUG}")
    assert f'href="{PAGE}"' in page.text
    empty = await staff.get(PAGE)
    assert "There are no posts yet" in text(empty)
    assert f'href="{PAGE}/new"' in empty.text


async def test_someone_not_signed_in_is_sent_to_sign_in(client: Client) -> None:
    response = await client.get(PAGE, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/staff/sign-in?next=")


async def test_staff_add_a_post_by_hand(staff: Client) -> None:
    response = await submit(staff, f"{PAGE}/new", form())
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"{PAGE}?saved=post-added"
    [post] = await posts(staff)
    assert post["title"] == "Notes from the listening café"
    # 18:15 in London in July is 17:15 UTC.
    assert post["published_at"] == "2019-07-02T17:15:00Z"

    listing = text(await staff.get(response.headers["location"]))
    assert "The post has been added." in listing
    assert "Notes from the listening café" in listing
    assert "Ann Lee" in listing
    assert "Tuesday 2 July 2019, 18:15" in listing
    assert "Added by hand" in listing
    assert f'href="{PAGE}/{post["id"]}/links"' in listing
    assert "Linked sessions and interviews" in listing


async def test_an_iso_date_without_a_time_is_placed_at_midday(staff: Client) -> None:
    response = await submit(
        staff, f"{PAGE}/new", form(published_on="2019-07-02", published_time="")
    )
    assert response.status_code == 303
    assert (await posts(staff))[0]["published_at"] == "2019-07-02T11:00:00Z"


async def test_mistakes_on_the_form_are_shown_beside_each_field(staff: Client) -> None:
    response = await submit(
        staff,
        f"{PAGE}/new",
        form(title="", published_on="2019-02-30", published_time="25:00", url="blog.example.org"),
    )
    assert response.status_code == 422
    page = text(response)
    assert "<title>Error: " in page
    assert "There is a problem" in page
    for anchor, message in (
        ("title", "Enter the post's title"),
        ("published_on", "Enter a real date, like 19/06/2019"),
        ("published_time", "Enter a time on the 24-hour clock, like 09:30"),
        ("url", "Enter a web address that starts with https://"),
    ):
        assert f'<a href="#{anchor}">{message}</a>' in page
        assert f'id="{anchor}-error"' in page
    # What was typed comes back.
    assert 'value="blog.example.org"' in page
    assert await posts(staff) == []


async def test_a_title_that_is_too_long_is_explained(staff: Client) -> None:
    response = await submit(staff, f"{PAGE}/new", form(title="t" * 301))
    assert response.status_code == 422
    assert "Title must be 300 characters or fewer" in text(response)


async def test_staff_change_a_post(staff: Client) -> None:
    await submit(staff, f"{PAGE}/new", form())
    [post] = await posts(staff)
    edit = f"{PAGE}/{post['id']}/edit"
    page = text(await staff.get(edit))
    assert 'value="Notes from the listening café"' in page
    assert 'value="02/07/2019"' in page and 'value="18:15"' in page

    saved = await submit(staff, edit, form(title="The listening café", author=""))
    assert saved.headers["location"] == f"{PAGE}?saved=post-saved"
    [changed] = await posts(staff)
    assert (changed["title"], changed["author"]) == ("The listening café", "")

    bad = await submit(staff, edit, form(published_on=""))
    assert bad.status_code == 422
    assert "Enter the date the post was published" in text(bad)


async def test_staff_delete_a_post_after_confirming(staff: Client) -> None:
    await submit(staff, f"{PAGE}/new", form())
    [post] = await posts(staff)
    confirm = f"{PAGE}/{post['id']}/delete"
    assert "Delete the post “Notes from the listening café”?" in text(await staff.get(confirm))
    deleted = await submit(staff, confirm, {})
    assert deleted.headers["location"] == f"{PAGE}?saved=post-deleted"
    assert await posts(staff) == []


async def test_a_failed_import_is_explained_on_the_page(staff: Client, blog: FakeBlog) -> None:
    response = await submit(staff, PAGE, {"feed_url": FEED}, action=f"{PAGE}/import")
    assert response.status_code == 422
    page = text(response)
    assert "There is a problem" in page
    assert f"Fetching {FEED} failed: the blog's server answered 404 Not Found." in page
    assert '<a href="#feed_url">The blog answered 404 for this address</a>' in page
    assert f'value="{FEED}"' in page  # kept, to mend and try again
    assert await posts(staff) == []


async def test_a_broken_entry_is_explained_on_the_page(staff: Client, blog: FakeBlog) -> None:
    blog.serve(FEED, two_posts().replace("<title>Commissioning, done together</title>", ""))
    response = await submit(staff, PAGE, {"feed_url": FEED}, action=f"{PAGE}/import")
    assert response.status_code == 422
    assert "Entry 2 has no title" in text(response)


async def test_an_import_shows_its_report_and_the_form_remembers_the_feed(
    staff: Client, blog: FakeBlog
) -> None:
    blog.serve(FEED, two_posts())
    response = await submit(staff, PAGE, {"feed_url": FEED}, action=f"{PAGE}/import")
    assert response.status_code == 200, response.text
    page = text(response)
    assert "The feed has been imported" in page
    assert "2 added, 0 updated, 0 already up to date" in page
    assert "Added: Commissioning, done together" in page
    assert "From the blog’s feed" in page

    again = await submit(staff, PAGE, {"feed_url": FEED}, action=f"{PAGE}/import")
    assert "0 added, 0 updated, 2 already up to date" in text(again)

    later = text(await staff.get(PAGE))
    assert f'value="{FEED}"' in later
    assert "The feed has been imported" not in later


async def test_import_form_needs_its_csrf_token(staff: Client, blog: FakeBlog) -> None:
    blog.serve(FEED, two_posts())
    response = await staff.post(f"{PAGE}/import", data={"feed_url": FEED})
    assert response.status_code == 403
    assert blog.requests == []
