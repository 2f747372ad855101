"""tus requests written out by hand, so each header is visible in the test."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Litestar]
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = "application/offset+octet-stream"


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def checksum(algorithm: str, data: bytes) -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


async def create(
    client: Client, auth: dict[str, str], length: int, status: int = 201, **meta: str
) -> Any:
    meta.setdefault("filename", "interview.mp4")
    meta.setdefault("filetype", "video/mp4")
    response = await client.post(
        "/api/v1/uploads",
        headers={**auth, **TUS, "Upload-Length": str(length), "Upload-Metadata": metadata(**meta)},
    )
    assert response.status_code == status, response.text
    return response


def path_of(response: Any) -> str:
    return str(response.headers["location"]).removeprefix("http://festival.test")


async def send(
    client: Client,
    auth: dict[str, str],
    path: str,
    offset: int,
    data: bytes,
    status: int = 204,
    **headers: str,
) -> Any:
    response = await client.patch(
        path,
        content=data,
        headers={
            **auth,
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": OCTETS,
            **{k.replace("_", "-"): v for k, v in headers.items()},
        },
    )
    assert response.status_code == status, response.text
    return response


async def sign_in_as_staff(client: Client) -> None:
    """Sign in through the real form (the account exists once ``staff_headers`` ran)."""
    import re

    from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD

    page = await client.get("/staff/sign-in")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token
    response = await client.post(
        "/staff/sign-in",
        data={"_csrf_token": token.group(1), "email": STAFF_EMAIL, "password": STAFF_PASSWORD},
    )
    assert response.status_code == 200, response.text
