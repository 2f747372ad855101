"""oEmbed for the blog, read as a consumer nobody here wrote would read it.

micawber (the oEmbed consumer) has no ``<link>`` discovery of its own, so discovery is
done as the oEmbed spec (section 4) describes, with BeautifulSoup (micawber's own HTML
parser), and the endpoint found is registered with micawber, which builds the request
(its maxwidth/maxheight rules included), checks the answer and renders the embed. Only
its socket is swapped for our test client, so no request leaves the test.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from bs4 import BeautifulSoup
from litestar import Litestar
from micawber import ProviderRegistry  # type: ignore[import-untyped]
from micawber.exceptions import ProviderHTTPException  # type: ignore[import-untyped]
from micawber.providers import Provider  # type: ignore[import-untyped]

from tests.consent.helpers import consent, ready_clip, token_of
from tests.crew.helpers import SLUG, Client, Crew
from tests.outputs.helpers import BASE, FEEDS, published, withdraw

PROBLEM = "application/problem+json"


class ThroughClient(Provider):  # type: ignore[misc]
    """micawber's provider with its HTTP fetch going through the app's test client.

    micawber is synchronous, so it runs in a worker thread and each fetch is handed back
    to the test's event loop, which is free while it waits for the thread."""

    def __init__(self, endpoint: str, client: Client, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(endpoint)
        self.client = client
        self.loop = loop
        self.fetched: list[str] = []

    def fetch(self, url: str) -> str:
        self.fetched.append(url)
        future = asyncio.run_coroutine_threadsafe(self.client.get(url), self.loop)
        response = future.result(timeout=60)
        if response.status_code >= 400:
            raise ProviderHTTPException(url, response.status_code)
        return str(response.text)


async def discover(client: Client, page_url: str) -> ThroughClient:
    """Find the oEmbed endpoint in the page's ``<link>`` and register it with micawber."""
    page = await client.get(page_url)
    assert page.status_code == 200
    soup = BeautifulSoup(page.text, "html.parser")
    found = soup.find("link", rel="alternate", type="application/json+oembed")
    assert found is not None, "no oEmbed discovery link"
    href = urlsplit(str(found["href"]))
    assert parse_qs(href.query) == {"url": [page_url], "format": ["json"]}
    endpoint = f"{href.scheme}://{href.netloc}{href.path}"
    return ThroughClient(endpoint, client, asyncio.get_running_loop())


def registry_for(page_url: str, provider: ThroughClient) -> ProviderRegistry:
    registry = ProviderRegistry()
    registry.register(re.escape(page_url), provider)
    return registry


def iframe_of(html: str) -> dict[str, Any]:
    frame = BeautifulSoup(html, "html.parser").find("iframe")
    assert frame is not None, html
    return dict(frame.attrs)


def same_shape(width: int, height: int, of: tuple[int, int]) -> bool:
    """The same aspect ratio as ``of``, give or take rounding to whole pixels."""
    return abs(width / height - of[0] / of[1]) <= 1 / min(width, height)


async def oembed(client: Client, **params: str) -> Any:
    return await client.get("/oembed?" + urlencode(params))


async def test_a_blog_finds_and_embeds_a_clip_with_micawber(
    client: Client, app: Litestar, crew: Crew, volunteer: dict[str, str], tmp_path: Path
) -> None:
    clip_id, _ = await published(crew, app, volunteer, tmp_path, "Sam's story & peer support")
    page_url = f"{BASE}/clips/{clip_id}"
    provider = await discover(client, page_url)
    assert provider.endpoint == f"{BASE}/oembed"
    registry = registry_for(page_url, provider)

    data = await asyncio.to_thread(registry.request, page_url)
    assert data["version"] == "1.0"
    assert data["type"] == "video"
    assert data["title"] == "Sam's story & peer support"
    assert data["author_name"] == "Sam"
    assert data["provider_name"] == "Now Festival"
    assert data["provider_url"] == BASE
    assert isinstance(data["cache_age"], int) and data["cache_age"] > 0
    # The test clip is a portrait phone video, 180×320: by default it fits 640×640.
    assert (data["width"], data["height"]) == (360, 640)
    assert data["thumbnail_url"] == f"{BASE}/media/clips/{clip_id}/poster.jpg"
    assert (data["thumbnail_width"], data["thumbnail_height"]) == (180, 320)
    frame = iframe_of(data["html"])
    assert frame["src"] == f"{page_url}/player"
    assert (frame["width"], frame["height"]) == ("360", "640")
    assert frame["title"] == "Interview: Sam's story & peer support"
    assert frame["allow"] == "fullscreen"
    assert frame["loading"] == "lazy"
    assert "Samira" not in str(data) and "example.org" not in str(data)

    # maxwidth as micawber sends it (it adds maxheight = maxwidth × 16/9): kept to, in shape.
    small = await asyncio.to_thread(registry.request, page_url, maxwidth=200)
    assert "maxwidth=200" in provider.fetched[-1] and "maxheight=355" in provider.fetched[-1]
    assert small["width"] <= 200 and small["height"] <= 355
    assert same_shape(small["width"], small["height"], (180, 320))
    small_frame = iframe_of(small["html"])
    assert (small_frame["width"], small_frame["height"]) == (
        str(small["width"]),
        str(small["height"]),
    )

    # A blog post with the address on a line of its own gets the player in its place.
    post = f"What a morning.\n{page_url}\nThank you, Sam."
    rendered = await asyncio.to_thread(registry.parse_text, post)
    assert iframe_of(rendered)["src"] == f"{page_url}/player"
    assert rendered.startswith("What a morning.\n<iframe ")


async def test_maxwidth_and_maxheight_keep_the_shape(
    client: Client, app: Litestar, crew: Crew, volunteer: dict[str, str], tmp_path: Path
) -> None:
    clip_id, _ = await published(crew, app, volunteer, tmp_path, "Shapes")
    url = f"{BASE}/clips/{clip_id}"
    cases = {
        ("", "200"): None,
        ("100", ""): None,
        ("300", "300"): None,
        ("1000", "1000"): None,
        ("1", "1"): None,
    }
    for maxwidth, maxheight in cases:
        params = {"url": url, "format": "json"}
        if maxwidth:
            params["maxwidth"] = maxwidth
        if maxheight:
            params["maxheight"] = maxheight
        response = await oembed(client, **params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        data = response.json()
        width, height = data["width"], data["height"]
        assert width <= int(maxwidth or 10**6) and height <= int(maxheight or 10**6), params
        assert width >= 1 and height >= 1
        if min(width, height) > 1:
            assert same_shape(width, height, (180, 320)), params
        # A thumbnail is given only when one fits, and then all three fields together.
        thumbnail = [k for k in data if k.startswith("thumbnail_")]
        assert thumbnail in ([], ["thumbnail_url", "thumbnail_width", "thumbnail_height"])
        if thumbnail:
            assert data["thumbnail_width"] <= int(maxwidth or 10**6)
            assert data["thumbnail_height"] <= int(maxheight or 10**6)
    assert (await oembed(client, url=url, maxheight="200")).json()["height"] == 200
    assert "thumbnail_url" not in (await oembed(client, url=url, maxwidth="100")).json()
    # The address may end in a slash or carry a query, and scheme and host are not case
    # sensitive; the default port may be written out.
    for same in (f"{url}/", f"{url}?from=share", url.upper().replace("/CLIPS/", "/clips/")):
        assert (await oembed(client, url=same)).status_code == 200, same
    assert (await oembed(client, url=url.replace("festival.test", "festival.test:80"))).is_success


@pytest.mark.parametrize(
    "url",
    [
        "https://festival.test/clips/1",  # another scheme
        "http://festival.test:8080/clips/1",  # another port
        "http://other.example/clips/1",
        "http://festival.test.other.example/clips/1",
        "http://someone@festival.test/clips/1",
        "http://festival.test/clips/1/transcript",
        "http://festival.test/clips/1/player",
        f"http://festival.test/festivals/{SLUG}/timeline",
        "http://festival.test/clips/abc",
        "http://festival.test/clips/0",
        "http://festival.test/clips/-1",
        "/clips/1",
        "not an address at all",
        "http://festival.test:port/clips/1",
        "javascript:alert(1)//festival.test/clips/1",
    ],
)
async def test_an_address_that_is_not_one_of_our_clip_pages_is_404(
    client: Client, crew: Crew, url: str
) -> None:
    response = await oembed(client, url=url, format="json")
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert "is not the address of an interview on this site" in problem["detail"]
    assert f"{BASE}/clips/<number>" in problem["fix"]


@pytest.mark.parametrize(
    ("params", "status", "says"),
    [
        ({"format": "json"}, 400, "url: is required"),
        ({"url": "", "format": "json"}, 400, "url: is required"),
        ({"url": f"{BASE}/clips/1", "format": "xml"}, 501, "only as JSON, not as 'xml'"),
        ({"url": f"{BASE}/clips/1", "format": "yaml"}, 501, "only as JSON"),
        ({"url": f"{BASE}/clips/1", "maxwidth": "0"}, 400, "maxwidth: must be a whole number"),
        ({"url": f"{BASE}/clips/1", "maxwidth": "-20"}, 400, "maxwidth: must be"),
        ({"url": f"{BASE}/clips/1", "maxwidth": "wide"}, 400, "maxwidth: must be"),
        ({"url": f"{BASE}/clips/1", "maxheight": "1.5"}, 400, "maxheight: must be"),
        ({"url": f"{BASE}/clips/1", "maxheight": "9" * 30}, 400, "maxheight: must be"),
    ],
)
async def test_bad_requests_say_what_to_send(
    client: Client, params: dict[str, str], status: int, says: str
) -> None:
    response = await oembed(client, **params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert says in problem["detail"]
    assert problem["fix"]


async def test_only_interviews_allowed_on_the_blog_are_embedded(
    client: Client, app: Litestar, crew: Crew, volunteer: dict[str, str], tmp_path: Path
) -> None:
    # Consented for the timeline only: on the feeds, but not for other sites.
    timeline_only, _ = await published(
        crew, app, volunteer, tmp_path, "Timeline only", scopes=("timeline",)
    )
    page_url = f"{BASE}/clips/{timeline_only}"
    provider = await discover(client, page_url)
    registry = registry_for(page_url, provider)
    with pytest.raises(ProviderHTTPException) as refused:
        await asyncio.to_thread(registry.request, page_url)
    assert refused.value.status == 404
    response = await oembed(client, url=page_url)
    assert response.status_code == 404
    assert "have not agreed to it being shown on other sites" in response.json()["detail"]
    assert (await client.get(f"/clips/{timeline_only}/player")).status_code == 404
    for path in FEEDS.values():
        assert "Timeline only" in (await client.get(path)).text

    # A clip nobody has published yet, though its person agreed to everything.
    clip = await ready_clip(client, app, volunteer, tmp_path)
    created = await consent(crew, volunteer, clip["id"])
    assert (await client.post(f"/api/v1/consent/{token_of(created)}/approve")).status_code == 200
    assert (await oembed(client, url=f"{BASE}/clips/{clip['id']}")).status_code == 404
    assert (await client.get(f"/clips/{clip['id']}/player")).status_code == 404
    # And one that never was.
    assert (await oembed(client, url=f"{BASE}/clips/99999")).status_code == 404


async def test_a_withdrawn_interview_is_no_longer_embedded(
    client: Client, app: Litestar, crew: Crew, volunteer: dict[str, str], tmp_path: Path
) -> None:
    clip_id, created = await published(crew, app, volunteer, tmp_path, "Soon withdrawn")
    url = f"{BASE}/clips/{clip_id}"
    assert (await oembed(client, url=url)).status_code == 200
    assert (await client.get(f"/clips/{clip_id}/player")).status_code == 200

    await withdraw(crew, created)
    response = await oembed(client, url=url)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert "Soon withdrawn" not in response.text
    # Blogs that kept the embed code show the player frame, which now says why.
    player = await client.get(f"/clips/{clip_id}/player")
    assert player.status_code == 410
    assert framed_anywhere(player.headers["content-security-policy"])
    assert player.headers["cache-control"] == "no-store"
    assert "This interview has been taken down" in player.text
    for trace in ("<video", "Soon withdrawn", "Sam", "Ada"):
        assert trace not in player.text, trace


async def test_the_player_page_is_made_to_be_framed(
    client: Client, app: Litestar, crew: Crew, volunteer: dict[str, str], tmp_path: Path
) -> None:
    clip_id, _ = await published(crew, app, volunteer, tmp_path, "Framed <i>story</i>")
    response = await client.get(f"/clips/{clip_id}/player")
    assert response.status_code == 200
    assert framed_anywhere(response.headers["content-security-policy"])
    assert "x-frame-options" not in response.headers
    assert response.headers["cache-control"] == "public, no-cache"
    soup = BeautifulSoup(response.text, "html.parser")
    assert soup.html is not None and soup.html["lang"] == "en-GB"
    assert soup.title is not None and soup.title.string == "Framed <i>story</i> – Now Festival"
    video = soup.find("video")
    assert video is not None
    assert video.has_attr("controls") and video["preload"] == "metadata"
    assert video["poster"] == f"{BASE}/media/clips/{clip_id}/poster.jpg"
    source = video.find("source")
    assert source is not None and source["src"] == f"{BASE}/media/clips/{clip_id}/web.mp4"
    track = video.find("track")
    assert track is not None and track["kind"] == "captions" and track.has_attr("default")
    assert track["src"] == f"{BASE}/media/clips/{clip_id}/captions.vtt"
    [back] = [a for a in soup.find_all("a") if "Watch on Now Festival" in a.get_text()]
    assert back["href"] == f"{BASE}/clips/{clip_id}"
    # No inline script or style, so a strict Content-Security-Policy can come later.
    assert not soup.find("script") and not soup.find("style") and not soup.select("[style]")
    assert "<i>story" not in response.text
    # Only the player may be framed; the clip page itself does not ask for it.
    assert "frame-ancestors *" not in (
        (await client.get(f"/clips/{clip_id}")).headers.get("content-security-policy", "")
    )


def framed_anywhere(policy: str) -> bool:
    """The player's policy: any site may frame it; everything else stays as strict."""
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    return directives["frame-ancestors"] == "*" and "unsafe-inline" not in policy
