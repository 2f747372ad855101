"""Importing the festival blog's feed: Atom and RSS, idempotent by entry id, updates
applied, and every broken feed refused with a clear 422 and nothing stored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.posts.conftest import FakeBlog, streamed
from tests.posts.helpers import (
    FEED,
    OTHER,
    RSS,
    SLUG,
    Client,
    atom,
    atom_entry,
    import_feed,
    make_festival,
    posts,
    two_posts,
)

Headers = dict[str, str]


@pytest.fixture
async def festival(client: Client, staff_headers: Headers) -> None:
    await make_festival(client, staff_headers)


def refused(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["fix"], problem
    return problem


async def test_atom_feed_adds_its_entries_as_posts(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    blog.serve(FEED, two_posts())
    response = await import_feed(client, staff_headers)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["added"], report["updated"], report["unchanged"]) == (2, 0, 0)
    assert report["entries"] == 2
    assert report["feed_title"] == "Working as equals"
    assert [line["outcome"] for line in report["posts"]] == ["added", "added"]

    stored = await posts(client)
    assert [p["title"] for p in stored] == [
        "Why the recovery college co-produces",
        "Commissioning, done together",
    ]
    first = stored[0]
    assert first["author"] == "Ann Lee"
    # A relative link is read against the feed's own address.
    assert first["url"] == "https://blog.example.org/2019/06/recovery-college"
    # The published date wins over the updated one, and is kept in UTC.
    assert first["published_at"] == "2019-06-19T08:30:00Z"
    assert first["source"] == "feed"
    # HTML becomes plain text: paragraphs kept, tags and scripts gone, entities read.
    assert first["summary"] == "Peer tutors and staff tutors teach together.\n\nFish & chips after."
    assert "feed_url" not in first and "entry_id" not in first
    assert blog.requests[0].headers["accept"].startswith("application/atom+xml")


async def test_importing_again_changes_nothing(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    blog.serve(FEED, two_posts())
    assert (await import_feed(client, staff_headers)).status_code == 200
    before = await posts(client)
    again = (await import_feed(client, staff_headers)).json()
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert again["posts"] == []
    assert await posts(client) == before


async def test_an_entry_changed_on_the_blog_is_updated_in_place(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    blog.serve(FEED, two_posts())
    assert (await import_feed(client, staff_headers)).status_code == 200
    before = {p["title"]: p["id"] for p in await posts(client)}

    blog.serve(FEED, two_posts(first_title="Why our recovery college co-produces everything"))
    report = (await import_feed(client, staff_headers)).json()
    assert (report["added"], report["updated"], report["unchanged"]) == (0, 1, 1)
    [line] = report["posts"]
    assert line["outcome"] == "updated"
    assert line["post"]["id"] == before["Why the recovery college co-produces"]
    assert line["post"]["title"] == "Why our recovery college co-produces everything"
    assert len(await posts(client)) == 2


async def test_rss_feed_works_with_guid_or_link_as_the_id(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    rss = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
  <title>Festival news</title>
  <link>https://news.example.org/</link>
  <description>News from the festival</description>
  <item>
    <title>Volunteers wanted for the interview booth</title>
    <guid isPermaLink="false">news-17</guid>
    <link>https://news.example.org/volunteers</link>
    <pubDate>Mon, 10 Jun 2019 12:00:00 +0100</pubDate>
    <description>&lt;p&gt;Come and &lt;em&gt;film&lt;/em&gt; with us.&lt;/p&gt;</description>
  </item>
  <item>
    <title>Step-free routes to every room</title>
    <link>https://news.example.org/access</link>
    <pubDate>Tue, 11 Jun 2019 09:00:00 GMT</pubDate>
  </item>
</channel></rss>
"""
    blog.serve(RSS, rss, content_type="application/rss+xml")
    report = (await import_feed(client, staff_headers, RSS)).json()
    assert (report["added"], report["unchanged"]) == (2, 0), report
    stored = await posts(client)
    assert [(p["title"], p["published_at"]) for p in stored] == [
        ("Step-free routes to every room", "2019-06-11T09:00:00Z"),
        ("Volunteers wanted for the interview booth", "2019-06-10T11:00:00Z"),
    ]
    assert stored[1]["summary"] == "Come and film with us."
    assert stored[1]["url"] == "https://news.example.org/volunteers"
    # The item without a guid is known by its link, so it is not added twice.
    again = (await import_feed(client, staff_headers, RSS)).json()
    assert (again["added"], again["unchanged"]) == (0, 2)


async def test_entries_are_matched_per_festival(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    await make_festival(client, staff_headers, OTHER)
    blog.serve(FEED, two_posts())
    assert (await import_feed(client, staff_headers)).json()["added"] == 2
    assert (await import_feed(client, staff_headers, slug=OTHER)).json()["added"] == 2
    assert len(await posts(client, OTHER)) == 2


async def test_redirects_are_followed(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    old = "http://blog.example.org/feed"
    blog.fail(old, lambda request: httpx.Response(301, headers={"Location": FEED}))
    blog.serve(FEED, two_posts())
    assert (await import_feed(client, staff_headers, old)).json()["added"] == 2


# --- feeds that cannot be imported ------------------------------------------------------


async def test_unreachable_blog_is_refused_naming_the_address(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    blog.fail(FEED, httpx.ConnectError("Name or service not known"))
    problem = refused(await import_feed(client, staff_headers))
    assert FEED in problem["detail"]
    assert "could not be reached" in problem["detail"]
    assert problem["errors"] == [{"field": "url", "message": "The blog could not be reached"}]
    assert await posts(client) == []


async def test_slow_blog_is_refused(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    blog.fail(FEED, httpx.ReadTimeout("timed out"))
    problem = refused(await import_feed(client, staff_headers))
    assert "longer than 10 seconds" in problem["detail"]


async def test_404_from_the_blog_is_refused_with_its_status(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    problem = refused(await import_feed(client, staff_headers))  # nothing served: 404
    assert f"Fetching {FEED} failed: the blog's server answered 404 Not Found." == problem["detail"]
    assert await posts(client) == []


async def test_500_from_the_blog_suggests_trying_later(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    blog.serve(FEED, "oops", status=503, content_type="text/plain")
    problem = refused(await import_feed(client, staff_headers))
    assert "503" in problem["detail"]
    assert "try again later" in problem["fix"]


async def test_a_web_page_is_not_a_feed_and_its_own_feed_is_suggested(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    page = """<!DOCTYPE html><html lang="en"><head><title>Our blog</title>
<link rel="alternate" type="application/atom+xml" href="/feeds/posts.atom">
</head><body><p>Welcome<br>to the blog</body></html>"""
    blog.serve("https://blog.example.org/", page, content_type="text/html; charset=utf-8")
    problem = refused(await import_feed(client, staff_headers, "https://blog.example.org/"))
    assert problem["detail"] == "https://blog.example.org/ is a web page, not a feed."
    assert problem["fix"] == f"The page names its feed: import {FEED} instead."
    assert await posts(client) == []


async def test_garbage_is_not_a_feed(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    blog.serve(FEED, "this is not a feed at all", content_type="text/plain")
    problem = refused(await import_feed(client, staff_headers))
    assert "not an Atom or RSS feed" in problem["detail"]


async def test_xml_that_is_not_a_feed_is_refused(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    blog.serve(FEED, "<?xml version='1.0'?><catalogue><book/></catalogue>")
    problem = refused(await import_feed(client, staff_headers))
    assert problem["detail"] == f"{FEED} gives XML, but not an Atom or RSS feed."


async def test_a_truncated_feed_names_the_line_and_stores_nothing(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    whole = two_posts()
    cut = whole[: whole.index("Commissioning")]  # stops inside the second entry
    blog.serve(FEED, cut)
    problem = refused(await import_feed(client, staff_headers))
    line = cut.count("\n") + 1
    assert "is not well-formed XML" in problem["detail"]
    assert f"at line {line}," in problem["detail"]
    assert "Nothing was imported" in problem["detail"]
    assert await posts(client) == []


async def test_mismatched_tags_are_reported_with_their_line(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    broken = two_posts().replace("<title>Commissioning", "<title><b>Commissioning", 1)
    blog.serve(FEED, broken)
    problem = refused(await import_feed(client, staff_headers))
    line = broken[: broken.index("<b>Commissioning")].count("\n") + 1
    assert "mismatched tag" in problem["detail"]
    assert f"at line {line}," in problem["detail"]


async def test_an_entry_without_a_title_is_refused_and_nothing_stored(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    blog.serve(
        FEED,
        atom(
            atom_entry("tag:a", "A fine first post"),
            atom_entry("tag:b", None),
        ),
    )
    problem = refused(await import_feed(client, staff_headers))
    assert "Entry 2 has no a title" not in problem["detail"]
    assert "Entry 2 has no title" in problem["detail"]
    assert problem["errors"] == [{"field": "entries[1]", "message": "Entry 2 has no title"}]
    assert await posts(client) == []


async def test_a_bad_third_entry_keeps_the_first_two_out_too(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    blog.serve(
        FEED,
        atom(
            atom_entry("tag:a", "First"),
            atom_entry("tag:b", "Second"),
            atom_entry("tag:c", "Third, undated", published=None, with_updated=False),
        ),
    )
    problem = refused(await import_feed(client, staff_headers))
    assert "Entry 3 (“Third, undated”) has no date (published or updated)" in problem["detail"]
    assert await posts(client) == []


async def test_a_bad_entry_in_a_later_import_leaves_earlier_posts_as_they_were(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    blog.serve(FEED, two_posts())
    assert (await import_feed(client, staff_headers)).status_code == 200
    before = await posts(client)
    blog.serve(
        FEED,
        atom(
            atom_entry("tag:blog.example.org,2019:post-1", "A new title that must not land"),
            atom_entry("tag:new", ""),
        ),
    )
    refused(await import_feed(client, staff_headers))
    assert await posts(client) == before


async def test_an_entry_with_no_id_and_no_link_is_refused(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    blog.serve(FEED, atom(atom_entry("", "Nowhere to be found")))
    problem = refused(await import_feed(client, staff_headers))
    assert "has no an id" not in problem["detail"]
    assert "has no id or link" in problem["detail"]


@pytest.mark.parametrize(
    "url", ["ftp://blog.example.org/feed", "javascript:alert(1)", "blog.example.org/feed", ""]
)
async def test_only_http_addresses_are_fetched(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog, url: str
) -> None:
    response = await import_feed(client, staff_headers, url)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "url"
    assert blog.requests == []


async def test_a_feed_over_5_mb_is_refused(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    blog.serve(FEED, b"<feed>" + b" " * (5 * 1024 * 1024 + 1))
    problem = refused(await import_feed(client, staff_headers))
    assert "larger than 5 MB" in problem["detail"]


async def test_a_streamed_feed_is_cut_off_at_5_mb(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    chunk = b" " * (1024 * 1024)
    blog.fail(FEED, streamed([b"<feed>"] + [chunk] * 6))
    problem = refused(await import_feed(client, staff_headers))
    assert "larger than 5 MB" in problem["detail"]


async def test_an_empty_feed_imports_nothing_without_complaint(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    blog.serve(FEED, atom())
    report = (await import_feed(client, staff_headers)).json()
    assert (report["entries"], report["added"]) == (0, 0)


# --- who may import -----------------------------------------------------------------------


async def test_import_needs_staff(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    blog.serve(FEED, two_posts())
    anonymous = await import_feed(client, {})
    assert anonymous.status_code == 401
    invited = await client.post(
        f"/api/v1/festivals/{SLUG}/volunteers",
        json={"email": "kim@crew.test", "name": "Kim"},
        headers=staff_headers,
    )
    assert invited.status_code == 201, invited.text
    volunteer = {"Authorization": f"Bearer {invited.json()['token']}"}
    assert (await import_feed(client, volunteer)).status_code == 403
    assert blog.requests == []


async def test_import_into_a_festival_that_does_not_exist_is_404(
    client: Client, staff_headers: Headers, blog: FakeBlog
) -> None:
    response = await import_feed(client, staff_headers, slug="no-such-festival")
    assert response.status_code == 404
    assert blog.requests == []


async def test_importing_again_puts_back_the_blogs_words_over_a_hand_edit(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    blog.serve(FEED, two_posts())
    assert (await import_feed(client, staff_headers)).status_code == 200
    post = (await posts(client))[1]
    edited = await client.patch(
        f"/api/v1/festivals/{SLUG}/posts/{post['id']}",
        json={"title": "Edited here"},
        headers=staff_headers,
    )
    assert edited.json()["source"] == "feed"  # a hand edit does not make it hand-made
    report = (await import_feed(client, staff_headers)).json()
    assert (report["updated"], report["unchanged"]) == (1, 1)
    assert (await posts(client))[1]["title"] == post["title"]


async def test_a_feed_in_a_latin_1_encoding_is_read(
    client: Client, staff_headers: Headers, festival: None, blog: FakeBlog
) -> None:
    rss = (
        '<?xml version="1.0" encoding="iso-8859-1"?>\n'
        '<rss version="2.0"><channel><title>Caf\xe9 news</title><link>https://x.test/</link>'
        "<description>d</description><item><title>Le caf\xe9 des pairs</title>"
        "<guid>cafe-1</guid><pubDate>Mon, 10 Jun 2019 12:00:00 GMT</pubDate></item>"
        "</channel></rss>"
    ).encode("latin-1")
    blog.serve(RSS, rss, content_type="application/rss+xml")
    report = (await import_feed(client, staff_headers, RSS)).json()
    assert report["feed_title"] == "Café news"
    assert (await posts(client))[0]["title"] == "Le café des pairs"
