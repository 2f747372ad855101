"""Security headers on every answer: each page route walked as each kind of visitor."""

from __future__ import annotations

import re
from pathlib import Path

from litestar import Litestar

from festival.security import parse_policy
from tests.clips.helpers import Client
from tests.security.helpers import World

TEMPLATES = Path(__file__).resolve().parents[2] / "festival" / "templates"
EXPECTED_POLICY = {
    "default-src": "'self'",
    "img-src": "'self'",
    "media-src": "'self'",
    "style-src": "'self'",
    "script-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
PLAYER = re.compile(r"^/clips/\d+/player/?$")
REFERRER = "strict-origin-when-cross-origin"
SECRET = ("/consent/", "/volunteers/invite/", "/volunteers/calendar/")


def get_routes(app: Litestar) -> list[str]:
    return sorted(route.path for route in app.routes if "GET" in getattr(route, "methods", set()))


def check(path: str, headers: object) -> None:
    from httpx import Headers

    assert isinstance(headers, Headers)
    policy = headers.get("content-security-policy", "")
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, (path, policy)
    assert headers.get_list("content-security-policy") == [policy], path
    expected = dict(EXPECTED_POLICY)
    if PLAYER.match(path):
        # Made to be embedded by other sites; everything else stays as strict.
        expected["frame-ancestors"] = "*"
        assert "x-frame-options" not in headers, path
    else:
        assert headers.get("x-frame-options") == "DENY", path
    assert parse_policy(policy) == expected, (path, policy)
    assert headers.get("x-content-type-options") == "nosniff", path
    # A page may choose to be stricter (the volunteer's page showing a new private link).
    referrer = {"no-referrer"} if path.startswith(SECRET) else {REFERRER, "no-referrer"}
    assert headers.get("referrer-policy") in referrer, path
    permissions = headers.get("permissions-policy", "")
    assert "camera=()" in permissions and "geolocation=()" in permissions, path


async def test_every_route_answers_with_the_security_headers(
    client: Client, app: Litestar, world: World, staff_headers: dict[str, str]
) -> None:
    visitors = {
        "anonymous": {},
        "staff": staff_headers,
        "volunteer": world.volunteer["headers"],
    }
    ok: set[str] = set()
    walked = 0
    for route in get_routes(app):
        path = world.fill(route)
        for who, auth in visitors.items():
            response = await client.get(path, headers=auth, follow_redirects=False)
            assert response.status_code < 500, (who, path, response.text)
            check(path, response.headers)
            walked += 1
            if response.status_code == 200:
                ok.add(route)
    assert walked >= 3 * 100
    # The walk reached the real pages, not only refusals.
    for page in (
        "/",
        "/festivals/{slug:str}",
        "/festivals/{slug:str}/programme",
        "/festivals/{slug:str}/sessions/{session_id:int}",
        "/festivals/{slug:str}/timeline",
        "/clips/{clip_id:int}",
        "/clips/{clip_id:int}/player",
        "/consent/{token:str}",
        "/staff/sign-in",
        "/staff/festivals/{slug:str}/clips",
        "/volunteer",
        "/volunteer/upload",
        "/media/clips/{clip_id:int}/{name:str}",
        "/static/{file_path:path}",
        "/schema",
    ):
        assert page in ok, page


async def test_errors_unknown_addresses_and_other_methods_carry_them_too(
    client: Client,
) -> None:
    for method, path in (
        ("GET", "/no/such/page"),
        ("GET", "/api/v1/no-such-thing"),
        ("DELETE", "/festivals/x/programme"),
        ("HEAD", "/static/festival.css"),
        ("OPTIONS", "/api/v1/uploads"),
        ("GET", "/consent/not-a-real-link"),
    ):
        response = await client.request(method, path)
        check(path, response.headers)


async def test_the_consent_page_keeps_its_own_private_headers(client: Client, world: World) -> None:
    response = await client.get(f"/consent/{world.consent_token}")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_the_api_description_is_served_as_json_and_not_as_a_page_of_cdn_script(
    client: Client,
) -> None:
    spec = await client.get("/schema")
    assert spec.status_code == 200
    assert spec.json()["openapi"].startswith("3.")
    assert (await client.get("/schema/swagger")).status_code == 404


def test_templates_have_no_inline_script_style_or_event_handlers() -> None:
    """The policy would block them; this finds them before a browser does."""
    offences = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        text = template.read_text()
        for pattern in (
            r"<script(?![^>]*\bsrc=)[^>]*>",  # a script element without src is inline
            r"<style\b",
            r"\sstyle\s*=",
            r"\son[a-z]+\s*=",
            r"javascript:",
        ):
            for found in re.finditer(pattern, text, re.IGNORECASE):
                offences.append(f"{template.relative_to(TEMPLATES)}: {found.group(0)}")
    assert offences == []
    assert any("<script" in t.read_text() for t in TEMPLATES.rglob("*.html"))
