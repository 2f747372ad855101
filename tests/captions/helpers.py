"""A published clip with three captions, made over HTTP as volunteers and staff would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar

from tests.consent.helpers import consent, make_public, ready_clip, token_of
from tests.crew.helpers import SLUG, Client, Crew

#: Three captions inside the two-second test clip; the first names its speaker.
VTT = b"""WEBVTT

00:00:00.000 --> 00:00:00.600
<v Sam>My name is Sam.

00:00:00.600 --> 00:00:01.200
I came to talk about peer suport.

00:00:01.200 --> 00:00:01.900
It changed everything.
"""
TIMES = (
    "00:00:00.000 --> 00:00:00.600",
    "00:00:00.600 --> 00:00:01.200",
    "00:00:01.200 --> 00:00:01.900",
)


class Story(msgspec.Struct):
    """One published, captioned clip and the private link of the person in it."""

    clip_id: int
    token: str
    consent_id: int
    filmed_by: dict[str, str]

    @property
    def vtt_url(self) -> str:
        return f"/media/clips/{self.clip_id}/captions.vtt"

    @property
    def staff_cues(self) -> str:
        return f"/api/v1/clips/{self.clip_id}/cues"

    @property
    def own_cues(self) -> str:
        return f"/api/v1/consent/{self.token}/clips/{self.clip_id}/cues"


async def captions(client: Client, clip_id: int, auth: dict[str, str], body: bytes = VTT) -> None:
    response = await client.put(f"/api/v1/clips/{clip_id}/captions", content=body, headers=auth)
    assert response.status_code == 200, response.text


async def published_story(
    client: Client,
    app: Litestar,
    crew: Crew,
    volunteer: dict[str, str],
    folder: Path,
    *,
    title: str = "Sam on peer support",
) -> Story:
    clip = await ready_clip(client, app, volunteer, folder)
    renamed = await client.patch(
        f"/api/v1/clips/{clip['id']}", json={"title": title}, headers=volunteer
    )
    assert renamed.status_code == 200, renamed.text
    created = await consent(crew, volunteer, clip["id"], display_name="Sam")
    await make_public(crew, volunteer, clip["id"], created)
    await captions(client, clip["id"], volunteer)
    return Story(
        clip_id=clip["id"],
        token=token_of(created),
        consent_id=created["consent"]["id"],
        filmed_by=volunteer,
    )


async def audit(crew: Crew, clip_id: int) -> list[dict[str, Any]]:
    response = await crew.client.get(
        f"/api/v1/festivals/{SLUG}/audit", params={"clip_id": clip_id}, headers=crew.staff
    )
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()
    return [e for e in events if e["action"] == "captions-corrected"]
