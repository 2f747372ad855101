"""No name from a request is ever used as a path: store keys are checked, and path
tricks in addresses get a plain 4xx, never a file from outside the media store."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from litestar import Litestar

from festival.settings import Settings
from media.storage import LocalStore, check_key
from tests.clips.helpers import TUS, Client
from tests.security.helpers import World

SENTINEL = b"sentinel: this file lies outside every served folder"
TRICKS = [
    "..",
    "../..",
    "..%2F..%2Fsecret.txt",
    "%2e%2e%2f%2e%2e%2fsecret.txt",
    "%2e%2e",
    "..%5c..%5csecret.txt",
    "....//....//secret.txt",
    "%252e%252e%252fsecret.txt",
    "secret.txt%00.mp4",
    "%c0%ae%c0%ae%2fsecret.txt",
    "%EF%BC%8E%EF%BC%8E%2Fsecret.txt",
]


@pytest.mark.parametrize(
    "key",
    [
        "originals/../../secret.txt",
        "originals/%2e%2e/secret.txt",
        "originals/\uff0e\uff0e/secret.txt",
        "originals/a\n",
        "originals/a\r\nb",
        "C:\\secret.txt",
        "/etc/passwd",
        "originals/..\\..\\secret.txt",
        "originals/\u202ertx.4pm",
    ],
)
async def test_the_store_refuses_keys_that_could_leave_its_folder(
    tmp_path: object, key: str
) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    store = LocalStore(tmp_path / "media")
    with pytest.raises(ValueError):
        check_key(key)
    with pytest.raises(ValueError):
        store.path_for(key)
    with pytest.raises(ValueError):
        await store.size(key)


async def raw_request(
    app: Litestar, method: str, target: str, headers: dict[str, str]
) -> tuple[int, bytes]:
    """Send ``target`` exactly as written: HTTP clients would tidy away ``..`` first,
    and an attacker's client need not."""
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(path),
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"host", b"festival.test")],
        "client": ("192.0.2.50", 50000),
        "server": ("festival.test", 80),
    }
    status = 0
    body = b""

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        nonlocal status, body
        if message["type"] == "http.response.start":
            status = int(message["status"])  # type: ignore[call-overload]
        elif message["type"] == "http.response.body":
            body += bytes(message.get("body", b""))  # type: ignore[arg-type]

    await app(scope, receive, send)  # type: ignore[arg-type]
    return status, body


def _plant(settings: Settings) -> None:
    (settings.data_dir / "secret.txt").write_bytes(SENTINEL)
    settings.media_root.mkdir(parents=True, exist_ok=True)


async def test_path_tricks_in_media_static_and_upload_addresses_get_nothing(
    client: Client, app: Litestar, world: World, settings: Settings, staff_headers: dict[str, str]
) -> None:
    _plant(settings)
    bases = [
        f"/media/clips/{world.clip_id}/",
        "/static/",
        "/static/vendor/",
        "/api/v1/uploads/",
        f"/consent/{world.consent_token}/media/{world.clip_id}/",
        f"/api/v1/festivals/{world.values['slug']}/consents/{world.values['consent_id']}/export/",
    ]
    seen = 0
    for base in bases:
        for trick in TRICKS:
            for headers in ({}, staff_headers, world.volunteer["headers"]):
                for method in ("GET", "HEAD"):
                    status, body = await raw_request(app, method, base + trick, {**headers, **TUS})
                    seen += 1
                    assert 400 <= status < 500, (method, base + trick, status)
                    assert SENTINEL not in body
                    assert b"SQLite format" not in body
    assert seen == len(bases) * len(TRICKS) * 6
    # The real files are still there for the right names.
    assert (await client.get("/static/festival.css")).status_code == 200
    media = await client.get(f"/media/clips/{world.clip_id}/web.mp4")
    assert media.status_code == 200 and media.headers["content-type"] == "video/mp4"
    # Nothing was made in the store by any of it.
    made = sorted(p.name for p in settings.media_root.rglob("*") if p.is_file())
    assert not any("secret" in name or ".." in name for name in made)


async def test_a_tus_upload_id_with_path_tricks_is_refused_for_every_method(
    client: Client, world: World, settings: Settings
) -> None:
    _plant(settings)
    auth = world.volunteer["headers"]
    for trick in TRICKS:
        path = f"/api/v1/uploads/{trick}"
        for method in ("HEAD", "PATCH", "DELETE"):
            response = await client.request(
                method,
                path,
                headers={
                    **auth,
                    **TUS,
                    "Upload-Offset": "0",
                    "Content-Type": "application/offset+octet-stream",
                },
                content=b"overwrite" if method == "PATCH" else None,
            )
            assert 400 <= response.status_code < 500, (method, path, response.status_code)
    assert (settings.data_dir / "secret.txt").read_bytes() == SENTINEL


async def test_a_nul_in_a_static_file_name_is_a_plain_400_not_a_server_error(
    client: Client, app: Litestar
) -> None:
    status, body = await raw_request(app, "GET", "/static/festival.css%00.png", {})
    assert status == 400, body
    assert b"control character" in body
    ok = await client.get("/static/festival.css")
    assert ok.status_code == 200
