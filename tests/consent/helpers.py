"""A ready clip and consents for it, made over HTTP as a volunteer and staff would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Litestar

from tests.clips.helpers import Client, create, path_of, send
from tests.crew.helpers import SLUG, Crew
from tests.media import clips as make

SRT = b"1\n00:00:00,000 --> 00:00:01,000\nHello.\n"


async def ready_clip(
    client: Client, app: Litestar, auth: dict[str, str], folder: Path, **meta: str
) -> dict[str, Any]:
    video = make.portrait_h264_mp4(folder / f"clip-{len(list(folder.iterdir()))}.mp4")
    data = video.read_bytes()
    path = path_of(await create(client, auth, len(data), **meta))
    await send(client, auth, path, 0, data)
    await app.state.jobs.run_until_idle()
    clips = (await client.get("/api/v1/my-clips", headers=auth)).json()["clips"]
    clip: dict[str, Any] = next(
        c for c in clips if c["state"] == "ready" and c["id"] == max(c["id"] for c in clips)
    )
    return clip


async def consent(
    crew: Crew,
    auth: dict[str, str],
    clip_id: int | None,
    *,
    status: int = 201,
    **overrides: Any,
) -> Any:
    body: dict[str, Any] = {
        "scopes": ["timeline", "blog"],
        "credit": "chosen",
        "display_name": "Sam",
        "interviewee_name": "Samira Example",
        "contact_email": "samira@example.org",
        "form_version": 1,
        "form_variant": "easy-read",
    }
    if clip_id is not None:
        body["clip_id"] = clip_id
    body.update(overrides)
    response = await crew.client.post(f"/api/v1/festivals/{SLUG}/consents", json=body, headers=auth)
    assert response.status_code == status, response.text
    return response.json()


def token_of(created: dict[str, Any]) -> str:
    return str(created["review_url"]).rsplit("/", 1)[1]


async def make_public(
    crew: Crew, auth: dict[str, str], clip_id: int, created: dict[str, Any]
) -> None:
    """Approve through the private link, caption, and publish as staff."""
    client = crew.client
    approved = await client.post(f"/api/v1/consent/{token_of(created)}/approve")
    assert approved.status_code == 200, approved.text
    captions = await client.put(f"/api/v1/clips/{clip_id}/captions", content=SRT, headers=auth)
    assert captions.status_code == 200, captions.text
    published = await client.post(
        f"/api/v1/festivals/{SLUG}/clips/{clip_id}/publish", headers=crew.staff
    )
    assert published.status_code == 200, published.text
