"""A festival to hang posts on, and small feeds written for these tests."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Litestar]
SLUG = "coproduction-week-2019"
OTHER = "winter-gathering"
API = f"/api/v1/festivals/{SLUG}/posts"
FEED = "https://blog.example.org/feeds/posts.atom"
RSS = "https://news.example.org/rss.xml"


async def make_festival(client: Client, headers: dict[str, str], slug: str = SLUG) -> None:
    response = await client.post(
        "/api/v1/festivals",
        json={
            "slug": slug,
            "name": "Co-production Week 2019" if slug == SLUG else "Winter Gathering",
            "starts_on": "2019-07-01",
            "ends_on": "2019-07-05",
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text


def atom_entry(
    entry_id: str,
    title: str | None,
    *,
    published: str | None = "2019-06-19T09:30:00+01:00",
    updated: str = "2019-06-20T08:00:00Z",
    with_updated: bool = True,
    link: str = "",
    author: str = "Sam Writer",
    summary: str = "",
) -> str:
    parts = ["<entry>"]
    if entry_id:
        parts.append(f"<id>{entry_id}</id>")
    if title is not None:
        parts.append(f"<title>{title}</title>")
    if link:
        parts.append(f'<link rel="alternate" href="{link}"/>')
    if published:
        parts.append(f"<published>{published}</published>")
    if with_updated:
        parts.append(f"<updated>{updated}</updated>")
    if author:
        parts.append(f"<author><name>{author}</name></author>")
    if summary:
        parts.append(f'<summary type="html">{summary}</summary>')
    parts.append("</entry>")
    return "".join(parts)


def atom(*entries: str, title: str = "Working as equals") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"<title>{title}</title>\n"
        "<id>tag:blog.example.org,2019:feed</id>\n"
        "<updated>2019-06-20T08:00:00Z</updated>\n" + "\n".join(entries) + "\n</feed>\n"
    )


def two_posts(first_title: str = "Why the recovery college co-produces") -> str:
    return atom(
        atom_entry(
            "tag:blog.example.org,2019:post-1",
            first_title,
            published="2019-06-19T09:30:00+01:00",
            link="/2019/06/recovery-college",
            author="Ann Lee",
            summary="&lt;p&gt;Peer tutors and staff tutors "
            "&lt;b&gt;teach together&lt;/b&gt;.&lt;/p&gt;"
            "&lt;p&gt;Fish &amp;amp; chips after.&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;",
        ),
        atom_entry(
            "tag:blog.example.org,2019:post-2",
            "Commissioning, done together",
            published="2019-06-13T14:00:00Z",
            link="https://blog.example.org/2019/06/commissioning",
            author="Raj Patel",
            summary="Plain words only.",
        ),
    )


async def import_feed(
    client: Client, headers: dict[str, str], url: str = FEED, slug: str = SLUG
) -> Any:
    return await client.post(
        f"/api/v1/festivals/{slug}/posts/import", json={"url": url}, headers=headers
    )


async def posts(client: Client, slug: str = SLUG) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/festivals/{slug}/posts")
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result
