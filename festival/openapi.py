"""Complete the generated OpenAPI description, in one place rather than on every route.

Litestar describes each handler's success answer from its types. What it cannot see is
what the rest of the service does around a handler: every refusal goes through
festival/problems.py as RFC 9457 problem details, the identity and CSRF middleware can
refuse any request, and the tus endpoint and media files answer with headers and bytes
rather than JSON. This module adds that knowledge to the schema dict once, before it is
first served, so clients and the API fuzzer (tests/test_api_fuzzing.py) read a
description that matches what the service really sends.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin

from festival.problems import PROBLEM_JSON, always_problem_json

AnyRequest = Request[Any, Any, Any]
Schema = dict[str, Any]

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")

PROBLEM_SCHEMA: Schema = {
    "type": "object",
    "description": "RFC 9457 problem details. Every refusal says what was wrong (detail) "
    "and how to mend it (fix).",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "A URI naming the kind of problem"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "What was wrong"},
        "fix": {"type": "string", "description": "How to mend it"},
        "instance": {"type": "string", "description": "The path that was asked for"},
        "errors": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/FieldError"},
            "description": "The fields that were wrong",
        },
        "conflicts_with": {
            "type": "object",
            "description": "What the request clashed with (a room, a slot, a rule)",
        },
        "retry_after": {"type": "integer", "minimum": 0},
    },
    "additionalProperties": False,
}
FIELD_ERROR_SCHEMA: Schema = {
    "type": "object",
    "required": ["field", "message"],
    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
    "additionalProperties": False,
}

_REASONS = {
    400: "The request could not be read: malformed JSON, a wrong type or a missing field",
    401: "No identity, or a token that is unknown, revoked or expired",
    403: "This identity may not do this, or a cookie request failed its CSRF check",
    404: "Nothing here, or nothing this identity may see",
    405: "The method is not allowed here",
    409: "Clashes with something that exists",
    410: "Removed for good, as when consent is withdrawn",
    412: "The request does not say Tus-Resumable: 1.0.0",
    413: "The body or upload is too large",
    415: "The body's Content-Type is not one this endpoint reads",
    416: "The range asked for is outside the file",
    422: "A value is not allowed by the festival's rules",
    423: "Another request is sending bytes to this upload right now",
    429: "Too many attempts; wait and try again",
    460: "The bytes do not match their Upload-Checksum",
    500: "Our fault; nothing sent was saved",
    501: "A format this service does not offer",
}

TUS_RESUMABLE = {
    "name": "Tus-Resumable",
    "in": "header",
    "required": True,
    "schema": {"type": "string", "enum": ["1.0.0"]},
    "description": "The tus protocol version the client speaks",
}


def _header(description: str, schema: Schema | None = None) -> Schema:
    return {"description": description, "schema": schema or {"type": "string"}}


TUS_HEADERS = {"Tus-Resumable": _header("1.0.0")}
OFFSET_HEADER = _header("Bytes received so far", {"type": "integer", "minimum": 0})


def _problem(status: int, path: str) -> Schema:
    """An error response: problem details, or for page paths also the readable page a
    browser gets (problems.wants_problem_json decides by path and Accept)."""
    content: Schema = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
    if not always_problem_json(path):
        content["text/html"] = {"schema": {"type": "string"}}
    return {"description": _REASONS.get(status, "Refused"), "content": content}


def _error_codes(path: str, method: str) -> set[int]:
    codes = {400, 401, 403, 404, 429, 500}
    if path.startswith("/api/"):
        # Invalid (422) is the domain's general refusal and Gone (410) follows a
        # withdrawal, so any API call may meet them.
        codes |= {410, 422}
    if method in ("post", "put", "patch", "delete"):
        codes |= {409, 413, 422}
    return codes


def _binary(media_type: str) -> Schema:
    return {media_type: {"schema": {"type": "string", "format": "binary"}}}


def _tus(paths: Schema) -> None:
    """The tus 1.0.0 endpoint speaks in headers and raw bytes, never JSON bodies."""
    collection = paths.get("/api/v1/uploads", {})
    one = paths.get("/api/v1/uploads/{upload_id}", {})
    tus_errors = {400, 401, 403, 404, 409, 410, 412, 413, 415, 423, 429, 460, 500}
    creation_headers = [
        TUS_RESUMABLE,
        {
            "name": "Upload-Length",
            "in": "header",
            "required": True,
            "schema": {"type": "integer", "minimum": 0},
        },
        {
            "name": "Upload-Metadata",
            "in": "header",
            "required": True,
            "schema": {"type": "string"},
            "description": "Comma-separated `key base64value` pairs: filename and filetype "
            "(required), slot, consent and festival (optional)",
        },
    ]
    sending_headers = [
        TUS_RESUMABLE,
        {
            "name": "Upload-Offset",
            "in": "header",
            "required": True,
            "schema": {"type": "integer", "minimum": 0},
        },
        {
            "name": "Upload-Checksum",
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": "`sha1 <base64>` or `sha256 <base64>` of this request's bytes",
        },
    ]
    bytes_body = {
        "required": False,
        "content": _binary("application/offset+octet-stream"),
    }
    if "options" in collection:
        collection["options"]["responses"] = {
            "204": {
                "description": "tus discovery: versions, extensions, limits",
                "headers": {
                    "Tus-Resumable": TUS_HEADERS["Tus-Resumable"],
                    "Tus-Version": _header("Versions spoken"),
                    "Tus-Extension": _header("Extensions offered"),
                    "Tus-Max-Size": _header("Largest upload", {"type": "integer"}),
                },
            },
            **{str(code): _problem(code, "/api/") for code in sorted(_error_codes("/", "options"))},
        }
        collection["options"].pop("requestBody", None)
    if "post" in collection:
        operation = collection["post"]
        operation["parameters"] = creation_headers
        operation["requestBody"] = bytes_body
        operation["responses"] = {
            "201": {
                "description": "Created; send the bytes to Location",
                "headers": {
                    **TUS_HEADERS,
                    "Location": _header("The upload's URL", {"type": "string"}),
                    "Upload-Offset": OFFSET_HEADER,
                },
            },
            **{str(code): _problem(code, "/api/") for code in sorted(tus_errors)},
        }
    for method in ("head", "patch", "delete", "post"):
        if method not in one:
            continue
        operation = one[method]
        path_params = [p for p in operation.get("parameters", []) if p.get("in") == "path"]
        codes = set(tus_errors)
        if method == "head":
            operation["parameters"] = [*path_params, TUS_RESUMABLE]
            ok = {
                "200": {
                    "description": "What has arrived",
                    "headers": {
                        **TUS_HEADERS,
                        "Upload-Offset": OFFSET_HEADER,
                        "Cache-Control": _header("no-store"),
                    },
                }
            }
        elif method == "delete":
            operation["parameters"] = [*path_params, TUS_RESUMABLE]
            ok = {"204": {"description": "Abandoned; its bytes are deleted"}}
        else:
            operation["parameters"] = [*path_params, *sending_headers]
            if method == "post":
                codes.add(405)
                operation["parameters"].append(
                    {
                        "name": "X-HTTP-Method-Override",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string", "enum": ["PATCH", "DELETE"]},
                    }
                )
            operation["requestBody"] = {**bytes_body, "required": method == "patch"}
            ok = {
                "204": {
                    "description": "The bytes were stored",
                    "headers": {**TUS_HEADERS, "Upload-Offset": OFFSET_HEADER},
                }
            }
        operation["responses"] = {
            **ok,
            **{str(code): _problem(code, "/api/") for code in sorted(codes)},
        }


def _files(paths: Schema) -> None:
    """Answers that are files, not JSON."""
    media = paths.get("/media/clips/{clip_id}/{name}", {}).get("get")
    if media:
        media["responses"]["200"] = {
            "description": "The file, in its own type (video, image, captions)",
            "content": _binary("*/*"),
        }
        media["responses"]["206"] = {
            "description": "The range asked for",
            "content": _binary("*/*"),
            "headers": {"Content-Range": _header("bytes start-end/size")},
        }
        media["responses"]["416"] = {
            "description": _REASONS[416],
            "headers": {"Content-Range": _header("bytes */size")},
        }
    export = paths.get("/api/v1/festivals/{slug}/consents/{consent_id}/export/{name}", {}).get(
        "get"
    )
    if export:
        export["responses"]["200"] = {
            "description": "One file of the interviewee's data",
            "content": _binary("application/octet-stream"),
        }
    frab = paths.get("/festivals/{slug}/programme.json", {}).get("get")
    if frab:
        frab["responses"]["200"] = {
            "description": "The programme as frab schedule JSON (schema.json of c3voc)",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    calendar = paths.get("/volunteers/calendar/{token}", {}).get("get")
    if calendar:
        calendar["responses"]["200"] = {
            "description": "The volunteer's slots, iCalendar (RFC 5545)",
            "content": {"text/calendar": {"schema": {"type": "string"}}},
        }
    captions = paths.get("/api/v1/clips/{clip_id}/captions", {}).get("put")
    if captions:
        captions["requestBody"] = {
            "required": True,
            "description": "WebVTT or SRT",
            "content": {
                "text/vtt": {"schema": {"type": "string"}},
                "application/x-subrip": {"schema": {"type": "string"}},
            },
        }


def _links(paths: Schema) -> None:
    """OpenAPI links from what a create answers to where it can be read back, so a
    client (and the fuzzer's stateful run) can follow them."""

    def link(path: str, method: str, status: str, name: str, target: str, params: Schema) -> None:
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            return
        ref = "#/paths/" + target.replace("~", "~0").replace("/", "~1")
        for verb in ("get", "patch", "delete"):
            if verb in paths.get(target, {}):
                response.setdefault("links", {})[f"{name}{verb.title()}"] = {
                    "operationRef": f"{ref}/{verb}",
                    "parameters": params,
                }

    festivals = "/api/v1/festivals"
    one = festivals + "/{slug}"
    link(festivals, "post", "201", "Festival", one, {"slug": "$response.body#/slug"})
    for kind, key in (
        ("sessions", "session_id"),
        ("venues", "venue_id"),
        ("rooms", "room_id"),
        ("people", "person_id"),
        ("posts", "post_id"),
        ("slots", "slot_id"),
        ("volunteers", "volunteer_id"),
    ):
        params = {"slug": "$request.path.slug", key: "$response.body#/id"}
        if kind == "volunteers":
            params[key] = "$response.body#/volunteer/id"
        link(f"{one}/{kind}", "post", "201", kind.title(), f"{one}/{kind}/{{{key}}}", params)


def complete(schema: Schema) -> Schema:
    """Add the problem shape, every refusal, and the non-JSON answers, in place.

    Idempotent: the schema dict is built once and cached by Litestar, and each render
    passes that same dict here.
    """
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    if "Problem" in schemas:
        return schema
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["FieldError"] = FIELD_ERROR_SCHEMA
    paths: Schema = schema.get("paths", {})
    for path, item in paths.items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses: Schema = operation.setdefault("responses", {})
            # Refusals a route declares itself (oEmbed's 501) stay, in the one shape sent.
            codes = _error_codes(path, method)
            for status in list(responses):
                if status.isdigit() and int(status) >= 400:
                    codes.add(int(status))
                elif status in ("204", "304"):
                    responses[status].pop("content", None)
            for code in sorted(codes):
                responses[str(code)] = _problem(code, path)
    _tus(paths)
    _files(paths)
    _links(paths)
    return schema


class CompleteJsonRenderPlugin(JsonRenderPlugin):
    """``/schema/openapi.json``, completed."""

    def render(self, request: AnyRequest, openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, complete(openapi_schema))
