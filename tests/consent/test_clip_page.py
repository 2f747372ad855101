"""The public clip page: only while the gate allows, with whose story it is."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar import Litestar

from tests.consent.helpers import consent, make_public, ready_clip, token_of
from tests.consent.test_interviewee import text
from tests.crew.helpers import SLUG, Client, Crew

BASE = "http://festival.test"


@pytest.fixture
async def crew(client: Client, staff_headers: dict[str, str]) -> Crew:
    return await Crew(client, staff_headers).setup()


def credit(page: str, label: str) -> str:
    """The words beside ``label`` in the page's list of credits."""
    match = re.search(rf"<dt>{label}</dt>\s*<dd>(.*?)</dd>", page, re.S)
    assert match, f"no {label} line"
    return text(match.group(1))


async def test_the_page_says_whose_story_it_is(
    client: Client, app: Litestar, crew: Crew, tmp_path: Path
) -> None:
    ada = (await crew.volunteer("ada@crew.test", name="Ada Lovelace"))["headers"]
    clip = await ready_clip(client, app, ada, tmp_path)
    page_url = f"/clips/{clip['id']}"
    assert (await client.get(page_url)).status_code == 404
    created = await consent(crew, ada, clip["id"], display_name="Sam")
    assert (await client.get(page_url)).status_code == 404, "consent alone publishes nothing"
    await make_public(crew, ada, clip["id"], created)

    page = await client.get(page_url)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "public, no-cache"
    assert credit(page.text, "Owner") == "Sam The story is theirs."
    assert credit(page.text, "Filmed by") == "Ada Lovelace, co-producer"
    assert credit(page.text, "Published by") == "Now Festival"
    assert credit(page.text, "Licence") == (
        "All rights reserved by the owner. Shown by the festival with their permission."
    )
    assert "Samira" not in page.text and "example.org" not in page.text
    # The player: the public rendition, its poster and captions shown by default, never
    # starting by itself; the transcript under it.
    media = f"{BASE}/media/clips/{clip['id']}"
    assert f'<source src="{media}/web.mp4" type="video/mp4">' in page.text
    assert f'poster="{media}/poster.jpg"' in page.text
    track = (
        f'<track kind="captions" src="{media}/captions.vtt" srclang="en" '
        'label="English captions" default>'
    )
    assert track in page.text
    assert "autoplay" not in page.text
    assert "<summary" in page.text and "<p>Hello.</p>" in page.text
    assert f'href="{BASE}{page_url}/transcript"' in page.text
    # oEmbed discovery, and the address to share.
    link = re.search(
        r'<link rel="alternate" type="application/json\+oembed" href="([^"]+)"', page.text
    )
    assert link
    oembed = urlsplit(link.group(1).replace("&amp;", "&"))
    assert f"{oembed.scheme}://{oembed.netloc}{oembed.path}" == f"{BASE}/oembed"
    assert parse_qs(oembed.query) == {"url": [f"{BASE}{page_url}"], "format": ["json"]}
    assert re.search(
        rf'<input class="input" id="share-link" type="text" readonly value="{BASE}{page_url}"',
        page.text,
    )


async def test_several_owners_a_creative_commons_licence_and_a_staff_upload(
    client: Client, app: Litestar, crew: Crew, tmp_path: Path
) -> None:
    clip = await ready_clip(client, app, crew.staff, tmp_path, festival=SLUG)
    first = await consent(crew, crew.staff, clip["id"], licence="CC-BY-4.0")
    second = await consent(
        crew,
        crew.staff,
        clip["id"],
        credit="anonymous",
        display_name="",
        interviewee_name="Kim Private",
        licence="CC-BY-NC-4.0",
    )
    approved = await client.post(f"/api/v1/consent/{token_of(second)}/approve")
    assert approved.status_code == 200
    await make_public(crew, crew.staff, clip["id"], first)
    page = await client.get(f"/clips/{clip['id']}")
    assert page.status_code == 200, page.text
    assert credit(page.text, "Owner").startswith("Sam and Anonymous")
    assert "Kim" not in page.text
    assert credit(page.text, "Filmed by") == "the festival team"
    # Two licences: the page keeps to the more closed one.
    assert credit(page.text, "Licence") == "Creative Commons Attribution-NonCommercial 4.0"
    assert 'href="https://creativecommons.org/licenses/by-nc/4.0/" rel="license"' in page.text


async def test_a_volunteer_without_a_display_name_is_not_named_by_address(
    client: Client, app: Litestar, crew: Crew, tmp_path: Path
) -> None:
    volunteer = await crew.volunteer("quiet@crew.test")  # invited with only an address
    clip = await ready_clip(client, app, volunteer["headers"], tmp_path)
    created = await consent(crew, volunteer["headers"], clip["id"])
    await make_public(crew, volunteer["headers"], clip["id"], created)
    page = await client.get(f"/clips/{clip['id']}")
    assert credit(page.text, "Filmed by") == "a festival volunteer, co-producer"
    assert "crew.test" not in page.text


async def test_titles_and_names_are_escaped(
    client: Client, app: Litestar, crew: Crew, tmp_path: Path
) -> None:
    ada = (await crew.volunteer("ada@crew.test", name="<b>Ada</b> & co"))["headers"]
    clip = await ready_clip(client, app, ada, tmp_path)
    title = '<script>alert("x")</script> Sam\'s story'
    renamed = await client.patch(f"/api/v1/clips/{clip['id']}", json={"title": title}, headers=ada)
    assert renamed.status_code == 200, renamed.text
    created = await consent(crew, ada, clip["id"], display_name="<i>Sam</i>")
    await make_public(crew, ada, clip["id"], created)
    page = await client.get(f"/clips/{clip['id']}")
    assert page.status_code == 200
    assert "<script>" not in page.text and "<i>Sam" not in page.text and "<b>Ada" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Sam&#39;s story" in page.text
    assert credit(page.text, "Owner").startswith("<i>Sam</i>")
    assert credit(page.text, "Filmed by") == "<b>Ada</b> & co, co-producer"


async def test_a_withdrawn_clip_is_gone_with_a_respectful_page(
    client: Client, app: Litestar, crew: Crew, tmp_path: Path
) -> None:
    ada = (await crew.volunteer("ada@crew.test", name="Ada Lovelace"))["headers"]
    clip = await ready_clip(client, app, ada, tmp_path)
    title = "Peer support changed everything"
    await client.patch(f"/api/v1/clips/{clip['id']}", json={"title": title}, headers=ada)
    created = await consent(crew, ada, clip["id"])
    await make_public(crew, ada, clip["id"], created)
    assert title in (await client.get(f"/clips/{clip['id']}")).text
    withdrawn = await client.post(
        f"/api/v1/festivals/{SLUG}/consents/{created['consent']['id']}/withdraw",
        headers=crew.staff,
    )
    assert withdrawn.status_code == 200
    gone = await client.get(f"/clips/{clip['id']}")
    assert gone.status_code == 410
    assert gone.headers["cache-control"] == "no-store"
    words = text(gone.text)
    assert "This interview has been taken down" in words
    assert "The person in this interview has withdrawn their consent" in words
    # Nothing of the interview is left on the page: no title, no names, no player.
    for trace in ("<video", "Sam", "Ada", title, "oembed"):
        assert trace not in gone.text, trace
    await app.state.jobs.run_until_idle()
    assert (await client.get(f"/clips/{clip['id']}")).status_code == 410


@pytest.mark.parametrize("path", ["/clips/999", "/clips/0", "/clips/not-a-number"])
async def test_no_such_clip_is_404(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert "Page not found" in response.text


async def test_an_unpublished_or_unconsented_scope_is_404(
    client: Client, app: Litestar, crew: Crew, tmp_path: Path
) -> None:
    ada: dict[str, Any] = (await crew.volunteer("ada@crew.test", name="Ada"))["headers"]
    clip = await ready_clip(client, app, ada, tmp_path)
    created = await consent(crew, ada, clip["id"])
    await make_public(crew, ada, clip["id"], created)
    assert (await client.get(f"/clips/{clip['id']}")).status_code == 200
    narrowed = await client.patch(
        f"/api/v1/consent/{token_of(created)}", json={"scopes": ["research"]}
    )
    assert narrowed.status_code == 200
    assert (await client.get(f"/clips/{clip['id']}")).status_code == 404
