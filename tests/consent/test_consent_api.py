"""Consent over the API: the person filmed decides, and a withdrawal takes effect at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from litestar import Litestar

from festival.db.engine import Database
from festival.db.tables import clips as clips_table
from festival.db.tables import consents as consents_table
from tests.clips.helpers import Client
from tests.consent.helpers import consent, make_public, ready_clip, token_of
from tests.crew.helpers import SLUG, Crew


@pytest.fixture
async def crew(client: Client, staff_headers: dict[str, str]) -> Crew:
    return await Crew(client, staff_headers).setup()


@pytest.fixture
async def ada(crew: Crew) -> dict[str, str]:
    return (await crew.volunteer("ada@crew.test", name="Ada"))["headers"]  # type: ignore[no-any-return]


MEDIA = ("web.mp4", "poster.jpg", "thumb.jpg", "captions.vtt")


async def _public_codes(client: Client, clip_id: int) -> set[int]:
    return {(await client.get(f"/media/clips/{clip_id}/{name}")).status_code for name in MEDIA}


async def test_a_clip_is_public_only_once_every_condition_holds(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, str], tmp_path: Path
) -> None:
    clip = await ready_clip(client, app, ada, tmp_path)
    assert await _public_codes(client, clip["id"]) == {404}
    refused = await client.post(
        f"/api/v1/festivals/{SLUG}/clips/{clip['id']}/publish", headers=crew.staff
    )
    assert refused.status_code == 409
    assert "Nobody in it has given consent yet." in refused.json()["conflicts_with"]["reasons"]

    created = await consent(crew, ada, clip["id"])
    queue = (await client.get(f"/api/v1/festivals/{SLUG}/review-queue", headers=crew.staff)).json()
    assert queue[0]["blockers"] == [
        "Someone in it has not yet watched and approved it.",
        "It has no captions yet.",
    ]
    await make_public(crew, ada, clip["id"], created)
    assert await _public_codes(client, clip["id"]) == {200}
    video = await client.get(f"/media/clips/{clip['id']}/web.mp4")
    assert video.headers["cache-control"] == "public, no-cache"


async def test_withdrawal_takes_the_clip_down_at_once_and_deletes_its_media(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, str], tmp_path: Path
) -> None:
    clip = await ready_clip(client, app, ada, tmp_path)
    created = await consent(crew, ada, clip["id"])
    await make_public(crew, ada, clip["id"], created)
    withdrawn = await client.post(f"/api/v1/consent/{token_of(created)}/withdraw")
    assert withdrawn.status_code == 200
    assert withdrawn.json()["consent"]["state"] == "withdrawn"
    # In the same moment every public media address answers "gone".
    assert await _public_codes(client, clip["id"]) == {410}
    await app.state.jobs.run_until_idle()
    clip_folder = app.state.clips.store.root / "clips" / str(clip["id"])
    assert not clip_folder.exists() or not any(clip_folder.iterdir())
    assert not any((app.state.clips.store.root / "originals").iterdir())
    log = (await client.get(f"/api/v1/festivals/{SLUG}/audit", headers=crew.staff)).json()
    actions = [e["action"] for e in reversed(log)]
    assert actions == [
        "consent-given",
        "consent-linked",
        "clip-approved",
        "clip-published",
        "consent-withdrawn",
        "clip-taken-down",
        "media-deleted",
    ]
    text = str(log)
    assert "Samira" not in text and "samira@example.org" not in text and "Sam'" not in text


async def test_a_withdrawn_consent_cannot_be_revived(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, str], tmp_path: Path
) -> None:
    clip = await ready_clip(client, app, ada, tmp_path)
    created = await consent(crew, ada, clip["id"])
    token = token_of(created)
    await client.post(f"/api/v1/consent/{token}/withdraw")
    for attempt in (
        client.post(f"/api/v1/consent/{token}/approve"),
        client.patch(f"/api/v1/consent/{token}", json={"scopes": ["timeline"]}),
        client.post(f"/api/v1/consent/{token}/withdraw"),
    ):
        response = await attempt
        assert response.status_code == 409
        assert "cannot be given again" in response.json()["detail"]
    relink = await client.post(
        f"/api/v1/clips/{clip['id']}/consents",
        json={"consent_id": created["consent"]["id"]},
        headers=ada,
    )
    assert relink.status_code == 409


@pytest.mark.parametrize(
    ("overrides", "status", "field"),
    [
        ({"credit": "anonymous", "display_name": "", "interviewee_name": ""}, 201, None),
        ({"credit": "name", "display_name": "", "interviewee_name": ""}, 422, "interviewee_name"),
        ({"credit": "chosen", "display_name": "", "interviewee_name": "A"}, 422, "display_name"),
        ({"scopes": ["timeline", "billboards"]}, 400, "scopes[1]"),
        ({"expires_on": "2001-01-01"}, 422, "expires_on"),
        ({"method": "spoken"}, 422, "spoken_at_seconds"),
        ({"form_version": 99}, 422, "form_version"),
        ({"contact_email": "not an email"}, 400, "contact_email"),
    ],
)
async def test_consent_values_are_checked(
    crew: Crew, ada: dict[str, str], overrides: dict[str, object], status: int, field: str | None
) -> None:
    result = await consent(crew, ada, None, status=status, **overrides)
    if field is not None:
        assert result["errors"][0]["field"] == field


async def test_linking_consent_to_someone_elses_clip_is_403_and_changes_nothing(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, str], tmp_path: Path
) -> None:
    bo = (await crew.volunteer("bo@crew.test"))["headers"]
    clip = await ready_clip(client, app, ada, tmp_path)
    mine = await consent(crew, bo, None)
    refused = await client.post(
        f"/api/v1/clips/{clip['id']}/consents",
        json={"consent_id": mine["consent"]["id"]},
        headers=bo,
    )
    assert refused.status_code == 403
    queue = (await client.get(f"/api/v1/festivals/{SLUG}/review-queue", headers=crew.staff)).json()
    assert queue[0]["consents"] == []
    also_refused = await consent(crew, bo, clip["id"], status=403)
    assert "another volunteer's clip" in also_refused["detail"]


async def test_every_interviewee_must_agree(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, str], tmp_path: Path
) -> None:
    clip = await ready_clip(client, app, ada, tmp_path)
    first = await consent(crew, ada, clip["id"])
    second = await consent(crew, ada, clip["id"], scopes=["training"], display_name="Jo")
    await client.post(f"/api/v1/consent/{token_of(first)}/approve")
    await client.post(f"/api/v1/consent/{token_of(second)}/approve")
    await client.put(
        f"/api/v1/clips/{clip['id']}/captions",
        content=b"1\n00:00:00,000 --> 00:00:01,000\nHi\n",
        headers=ada,
    )
    refused = await client.post(
        f"/api/v1/festivals/{SLUG}/clips/{clip['id']}/publish", headers=crew.staff
    )
    assert refused.status_code == 409
    assert any("has not agreed to" in r for r in refused.json()["conflicts_with"]["reasons"])
    changed = await client.patch(
        f"/api/v1/consent/{token_of(second)}", json={"scopes": ["timeline", "training"]}
    )
    assert changed.status_code == 200
    published = await client.post(
        f"/api/v1/festivals/{SLUG}/clips/{clip['id']}/publish", headers=crew.staff
    )
    assert published.status_code == 200
    # Narrowing the scopes again takes it off public view at once.
    await client.patch(f"/api/v1/consent/{token_of(second)}", json={"scopes": ["training"]})
    assert await _public_codes(client, clip["id"]) == {404}


async def test_expiry_takes_the_clip_down_like_a_withdrawal(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, str], tmp_path: Path, db: Database
) -> None:
    clip = await ready_clip(client, app, ada, tmp_path)
    soon = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    created = await consent(crew, ada, clip["id"], expires_on=soon)
    await make_public(crew, ada, clip["id"], created)
    async with db.write() as conn:
        await conn.execute(
            sa.update(consents_table).values(
                expires_on=(datetime.now(UTC) - timedelta(days=1)).date()
            )
        )
    assert await _public_codes(client, clip["id"]) == {404}, "the gate checks expiry at read time"
    await app.state.jobs.enqueue("consent-sweep", {})
    await app.state.jobs.run_until_idle()
    log = (await client.get(f"/api/v1/festivals/{SLUG}/audit", headers=crew.staff)).json()
    actions = {e["action"] for e in log}
    assert {"consent-expired", "clip-taken-down", "media-deleted"} <= actions


async def test_uploads_nobody_consents_to_are_deleted_after_the_set_days(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, str], tmp_path: Path, db: Database
) -> None:
    clip = await ready_clip(client, app, ada, tmp_path)
    queue = (await client.get(f"/api/v1/festivals/{SLUG}/review-queue", headers=crew.staff)).json()
    assert queue[0]["delete_after"], "staff are warned before it happens"
    async with db.write() as conn:
        await conn.execute(
            sa.update(clips_table).values(created_at=datetime.now(UTC) - timedelta(days=31))
        )
    await app.state.jobs.enqueue("consent-sweep", {})
    await app.state.jobs.run_until_idle()
    assert (await client.get(f"/api/v1/clips/{clip['id']}", headers=ada)).status_code == 404
    log = (await client.get(f"/api/v1/festivals/{SLUG}/audit", headers=crew.staff)).json()
    assert [e["action"] for e in log] == ["unconsented-clip-deleted"]


async def test_a_consent_can_travel_with_the_upload(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, str], tmp_path: Path
) -> None:
    created = await consent(crew, ada, None)
    clip = await ready_clip(client, app, ada, tmp_path, consent=str(created["consent"]["id"]))
    listed = (await client.get(f"/api/v1/festivals/{SLUG}/consents", headers=crew.staff)).json()
    assert listed[0]["clip_ids"] == [clip["id"]]
    bo = (await crew.volunteer("bo@crew.test"))["headers"]
    from tests.clips.helpers import create

    refused = await create(client, bo, 10, status=403, consent=str(created["consent"]["id"]))
    assert "witnessed" in refused.json()["detail"]


async def test_unknown_and_replaced_private_links_are_404(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, str], tmp_path: Path
) -> None:
    created = await consent(crew, ada, None)
    old = token_of(created)
    assert (await client.get(f"/api/v1/consent/{old}")).status_code == 200
    renewed = await client.post(
        f"/api/v1/festivals/{SLUG}/consents/{created['consent']['id']}/new-link",
        headers=crew.staff,
    )
    assert renewed.status_code == 201
    assert (await client.get(f"/api/v1/consent/{old}")).status_code == 404
    assert (await client.get(f"/api/v1/consent/{token_of(renewed.json())}")).status_code == 200
    assert (await client.get("/api/v1/consent/fct_guessing")).status_code == 404


async def test_clips_carry_their_ownership(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, str], tmp_path: Path
) -> None:
    clip = await ready_clip(client, app, ada, tmp_path)
    await consent(crew, ada, clip["id"])
    await consent(crew, ada, clip["id"], credit="anonymous", display_name="", interviewee_name="")
    seen = (await client.get(f"/api/v1/clips/{clip['id']}", headers=crew.staff)).json()
    assert seen["owners"] == "Sam and Anonymous"
    assert seen["filmed_by"] == "Ada"
    assert seen["publisher"] == "Now Festival"


async def test_a_stopped_link_can_be_replaced_but_not_for_an_erased_person(
    client: Client, crew: Crew, ada: dict[str, str]
) -> None:
    created = await consent(crew, ada, None)
    consent_id = created["consent"]["id"]
    base = f"/api/v1/festivals/{SLUG}/consents/{consent_id}"
    assert (await client.post(f"{base}/revoke-link", headers=crew.staff)).status_code == 204
    assert (await client.get(f"/api/v1/consent/{token_of(created)}")).status_code == 404
    renewed = await client.post(f"{base}/new-link", headers=crew.staff)
    assert (await client.get(f"/api/v1/consent/{token_of(renewed.json())}")).status_code == 200
    assert (await client.post(f"{base}/erase", headers=crew.staff)).status_code == 204
    refused = await client.post(f"{base}/new-link", headers=crew.staff)
    assert refused.status_code == 409


async def test_an_empty_contact_email_means_none(crew: Crew, ada: dict[str, str]) -> None:
    created = await consent(crew, ada, None, contact_email="")
    assert created["consent"]["has_contact"] is False


async def test_a_withdrawn_clip_takes_no_new_captions(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, str], tmp_path: Path
) -> None:
    clip = await ready_clip(client, app, ada, tmp_path)
    created = await consent(crew, ada, clip["id"])
    await client.post(f"/api/v1/consent/{token_of(created)}/withdraw")
    await app.state.jobs.run_until_idle()
    refused = await client.put(
        f"/api/v1/clips/{clip['id']}/captions",
        content=b"1\n00:00:00,000 --> 00:00:01,000\nHi\n",
        headers=crew.staff,
    )
    assert refused.status_code == 409
    folder = app.state.clips.store.root / "clips" / str(clip["id"])
    assert not folder.exists() or not any(folder.iterdir())


async def test_recording_or_linking_consent_without_signing_in_asks_to_sign_in(
    client: Client, app: Litestar, crew: Crew, ada: dict[str, str], tmp_path: Path
) -> None:
    """Nobody signed in is told to sign in (401), as on every other witness route, not
    that they are forbidden; and nothing is recorded."""
    clip = await ready_clip(client, app, ada, tmp_path)
    mine = await consent(crew, ada, None)
    body = {"scopes": ["timeline"], "credit": "anonymous", "form_version": 1}
    recorded = await client.post(f"/api/v1/festivals/{SLUG}/consents", json=body)
    linked = await client.post(
        f"/api/v1/clips/{clip['id']}/consents", json={"consent_id": mine["consent"]["id"]}
    )
    for refused in (recorded, linked):
        assert refused.status_code == 401, refused.text
        assert refused.headers["www-authenticate"] == 'Bearer realm="festival"'
        assert "invite link" in refused.json()["detail"]
    consents = (await client.get(f"/api/v1/festivals/{SLUG}/consents", headers=crew.staff)).json()
    assert [c["id"] for c in consents] == [mine["consent"]["id"]]
    assert consents[0]["clip_ids"] == []
