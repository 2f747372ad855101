"""CSRF: every request that changes something and rides on a session cookie must carry
the form's token, whoever the cookie belongs to and whatever the path (pages or API)."""

from __future__ import annotations

from litestar import Litestar

from festival.settings import Settings
from tests.clips.helpers import Client, sign_in_as_staff
from tests.security.helpers import CSRF_REFUSAL, World, csrf_token, every_row

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def unsafe_routes(app: Litestar) -> list[tuple[str, str]]:
    return sorted(
        (method, route.path)
        for route in app.routes
        for method in getattr(route, "methods", set())
        if method in UNSAFE
    )


async def refused_without_token(
    client: Client, world: World, routes: list[tuple[str, str]]
) -> None:
    for method, route in routes:
        path = world.fill(route)
        body = {"title": "Forged", "name": "Forged", "email": "x@example.org"}
        response = await client.request(method, path, data=body, follow_redirects=False)
        assert response.status_code == 403, (method, path, response.status_code, response.text)
        assert CSRF_REFUSAL in response.text, (method, path)
        api = await client.request(
            method, path, json=body, headers={"Accept": "application/json"}, follow_redirects=False
        )
        assert api.status_code == 403, (method, path, api.status_code)


async def test_staff_cookie_without_the_token_changes_nothing_anywhere(
    client: Client, app: Litestar, world: World
) -> None:
    await sign_in_as_staff(client)
    assert "festival_session" in client.cookies
    routes = unsafe_routes(app)
    assert len(routes) > 100
    before = await every_row(app.state.db)
    await refused_without_token(client, world, routes)
    assert await every_row(app.state.db) == before
    # The cookie still works for reading: the refusals were about the token alone.
    assert (await client.get("/api/v1/me")).json()["kind"] == "staff"


async def test_volunteer_cookie_without_the_token_changes_nothing(
    client: Client, app: Litestar, world: World
) -> None:
    opened = await client.get(f"/volunteers/invite/{world.volunteer['token']}")
    assert opened.status_code == 200 and "festival_session" in client.cookies
    routes = [r for r in unsafe_routes(app) if "volunteer" in r[1] or "uploads" in r[1]]
    before = await every_row(app.state.db)
    await refused_without_token(client, world, routes)
    assert await every_row(app.state.db) == before


async def test_with_the_token_every_cookie_request_gets_past_the_check(
    client: Client, app: Litestar, world: World
) -> None:
    await sign_in_as_staff(client)
    token = await csrf_token(client, "/staff/festivals/new")
    for method, route in unsafe_routes(app):
        if route == "/staff/sign-out":
            continue  # would end the session the rest of the walk uses
        path = world.fill(route)
        response = await client.request(
            method, path, headers={"X-CSRFToken": token}, follow_redirects=False
        )
        assert CSRF_REFUSAL not in response.text, (method, path)
        assert response.status_code < 500, (method, path, response.text)


async def test_a_staff_form_with_its_token_does_what_it_says(
    client: Client, world: World, settings: Settings
) -> None:
    await sign_in_as_staff(client)
    page = f"/staff/festivals/{world.values['slug']}/venues/new"
    token = await csrf_token(client, page)
    done = await client.post(
        page, data={"_csrf_token": token, "name": "East Hall"}, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    venues = (await client.get(f"/api/v1/festivals/{world.values['slug']}/venues")).json()
    assert "East Hall" in [v["name"] for v in venues]


async def test_the_api_with_a_session_cookie_needs_the_token_but_a_bearer_does_not(
    client: Client, world: World, staff_headers: dict[str, str]
) -> None:
    await sign_in_as_staff(client)
    url = f"/api/v1/festivals/{world.values['slug']}/venues"
    forged = await client.post(url, json={"name": "Forged Hall"})
    assert forged.status_code == 403
    assert forged.headers["content-type"].startswith("application/problem+json")
    token = await csrf_token(client, "/staff/festivals/new")
    made = await client.post(url, json={"name": "Cookie Hall"}, headers={"X-CSRFToken": token})
    assert made.status_code == 201, made.text
    bearer = await client.post(url, json={"name": "Bearer Hall"}, headers=staff_headers)
    assert bearer.status_code == 201, bearer.text
    names = [v["name"] for v in (await client.get(url)).json()]
    assert "Forged Hall" not in names and {"Cookie Hall", "Bearer Hall"} <= set(names)


async def test_an_interviewee_page_form_needs_its_token(client: Client, world: World) -> None:
    base = f"/consent/{world.consent_token}"
    forged = await client.post(f"{base}/withdraw", data={"confirm": "yes"})
    assert forged.status_code == 403 and CSRF_REFUSAL in forged.text
    review = (await client.get(f"/api/v1/consent/{world.consent_token}")).json()
    assert review["consent"]["state"] == "approved"
    assert review["consent"]["withdrawn_at"] is None
