"""The service's common ground: health, OpenAPI and RFC 9457 problem details."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Litestar]
PROBLEM = "application/problem+json"


async def test_health_reports_database_and_media(client: Client) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "media": "ok"}


async def test_openapi_describes_the_api_at_schema(client: Client) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/festivals/{slug}/sessions" in spec["paths"]
    assert "SessionIn" in spec["components"]["schemas"]
    # The description is served as JSON only (no Swagger UI: it needs inline and CDN
    # script, which the Content-Security-Policy refuses); /schema answers with it too.
    docs = await client.get("/schema")
    assert docs.status_code == 200
    assert docs.json()["paths"] == spec["paths"]


async def test_unknown_api_route_is_a_problem(client: Client) -> None:
    response = await client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == 404
    assert body["title"] == "Not found"
    assert body["detail"] and body["fix"]
    assert body["instance"] == "/api/v1/no-such-thing"


async def test_unknown_page_is_a_readable_page(client: Client) -> None:
    response = await client.get("/no-such-page", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert re.search(r"<h1[^>]*>\s*Page not found\s*</h1>", response.text)
    assert "There is nothing at this address." in response.text


async def test_malformed_json_is_a_400_problem(
    client: Client, staff_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/festivals",
        content=b'{"slug": ',
        headers={**staff_headers, "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert "not valid JSON" in body["detail"]
    assert "JSON object" in body["fix"]


async def test_validation_errors_name_each_field(
    client: Client, staff_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/festivals",
        json={
            "slug": "Not A Slug!",
            "name": "X",
            "starts_on": "2019-07-01",
            "ends_on": "2019-07-02",
        },
        headers=staff_headers,
    )
    assert response.status_code == 400
    body = response.json()
    assert body["errors"][0]["field"] == "slug"
    assert body["errors"][0]["message"].startswith("must be lower-case letters and digits")


async def test_wrong_method_is_a_405_problem(client: Client) -> None:
    response = await client.put("/health")
    assert response.status_code == 405
    assert response.headers["content-type"].startswith(PROBLEM)
    assert "GET" in response.headers.get("allow", "")


async def test_oversized_body_is_refused_before_it_is_read(
    client: Client, staff_headers: dict[str, str]
) -> None:
    big = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = await client.post(
        "/api/v1/festivals",
        content=big,
        headers={**staff_headers, "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith(PROBLEM)
    assert (await client.get("/api/v1/festivals")).json() == []
