"""The served OpenAPI description matches what the service sends: every operation
documents its refusals as RFC 9457 problem details, and a real refusal fits that shape."""

from __future__ import annotations

from typing import Any

import jsonschema
from litestar import Litestar
from litestar.testing import AsyncTestClient

METHODS = ("get", "put", "post", "delete", "options", "head", "patch")


async def _schema(client: AsyncTestClient[Litestar]) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


async def test_every_operation_documents_its_refusals_as_problem_details(
    client: AsyncTestClient[Litestar],
) -> None:
    schema = await _schema(client)
    operations = [
        (path, method, item[method])
        for path, item in schema["paths"].items()
        for method in METHODS
        if method in item
    ]
    assert len(operations) > 100
    for path, method, operation in operations:
        responses = operation["responses"]
        for code in ("400", "401", "403", "404", "429", "500"):
            content = responses[code]["content"]
            assert content["application/problem+json"]["schema"] == {
                "$ref": "#/components/schemas/Problem"
            }, (method, path, code)
        for code, response in responses.items():
            if code == "204":
                assert "content" not in response, (method, path)
            if int(code) >= 400:
                assert "application/json" not in response.get("content", {}), (method, path, code)


async def test_a_real_refusal_matches_the_documented_problem_shape(
    client: AsyncTestClient[Litestar],
) -> None:
    schema = await _schema(client)
    refused = await client.post("/api/v1/festivals", json={"slug": 5})
    assert refused.status_code in (400, 401)
    invalid = await client.get("/api/v1/clips/2")
    for response in (refused, invalid):
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        problem = {**schema["components"]["schemas"]["Problem"], "components": schema["components"]}
        problem["properties"]["errors"]["items"] = schema["components"]["schemas"]["FieldError"]
        jsonschema.validate(body, problem)
        assert body["detail"] and body["fix"]


async def test_the_tus_endpoint_is_described_in_headers_and_bytes(
    client: AsyncTestClient[Litestar],
) -> None:
    paths = (await _schema(client))["paths"]
    discovery = paths["/api/v1/uploads"]["options"]["responses"]
    assert set(discovery["204"]["headers"]) >= {"Tus-Version", "Tus-Extension", "Tus-Max-Size"}
    assert "201" not in discovery
    creation = paths["/api/v1/uploads"]["post"]
    assert {p["name"] for p in creation["parameters"]} == {
        "Tus-Resumable",
        "Upload-Length",
        "Upload-Metadata",
    }
    assert set(creation["responses"]["201"]["headers"]) >= {"Location", "Upload-Offset"}
    append = paths["/api/v1/uploads/{upload_id}"]["patch"]
    assert "application/offset+octet-stream" in append["requestBody"]["content"]
    assert {"409", "412", "415", "460"} <= set(append["responses"])


async def test_creates_link_to_where_they_can_be_read_back(
    client: AsyncTestClient[Litestar],
) -> None:
    paths = (await _schema(client))["paths"]
    created = paths["/api/v1/festivals/{slug}/sessions"]["post"]["responses"]["201"]
    link = created["links"]["SessionsGet"]
    assert link["operationRef"] == (
        "#/paths/~1api~1v1~1festivals~1{slug}~1sessions~1{session_id}/get"
    )
    assert link["parameters"] == {
        "slug": "$request.path.slug",
        "session_id": "$response.body#/id",
    }
