"""Consent over the API: capture, linking, the interviewee's token, the review queue."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Stream

from festival.accounts import service as accounts
from festival.auth import identity_of, staff_only
from festival.clips.service import ClipServices
from festival.consent import service
from festival.consent.schemas import (
    AuditEvent,
    Consent,
    ConsentChange,
    ConsentCreated,
    ConsentIn,
    LinkIn,
    PublicationRules,
    PublicationRulesPatch,
    QueueItem,
    Review,
)
from festival.consent.service import Export, Form
from festival.db.engine import Database
from festival.errors import NotFound
from festival.settings import Settings

AnyRequest = Request[Any, Any, Any]
DB = NamedDependency[Database]
CLIPS = NamedDependency[ClipServices]
SETTINGS = NamedDependency[Settings]
STAFF = [staff_only]
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
TOKEN_ATTEMPTS = 20
TOKEN_WINDOW = 15 * 60


async def _guarded_token(request: AnyRequest, db: Database, token: str) -> None:
    """Private links are long and random; still, guessing gets slower than useful."""
    client = request.client.host if request.client else "unknown"
    await accounts.throttle(
        db, "consent-link", client, attempts=TOKEN_ATTEMPTS, window=TOKEN_WINDOW
    )
    try:
        await service.review(db, token)
    except NotFound:
        await accounts.note_failure(db, "consent-link", client)
        raise


class ConsentController(Controller):
    """Consent recorded by volunteers (as witnesses) and managed by staff."""

    path = "/api/v1"
    tags = ["consent"]
    security = BEARER

    @get("/consent-forms/latest", summary="The newest consent form, both wordings")
    async def latest_form(self) -> Form:
        return service.form()

    @post("/festivals/{slug:str}/consents", summary="Record consent given on a phone")
    async def record(
        self,
        request: AnyRequest,
        clips: CLIPS,
        settings: SETTINGS,
        slug: FromPath[str],
        data: JSONBody[ConsentIn],
    ) -> ConsentCreated:
        return await service.record_consent(
            clips.db, identity_of(request), slug, data, settings.base_url, mail=clips.mail
        )

    @post("/clips/{clip_id:int}/consents", summary="Link a consent to a clip")
    async def link(
        self, request: AnyRequest, db: DB, clip_id: FromPath[int], data: JSONBody[LinkIn]
    ) -> Consent:
        return await service.link_consent(db, identity_of(request), clip_id, data.consent_id)

    @get("/festivals/{slug:str}/consents", summary="Every consent", guards=STAFF)
    async def list_consents(self, db: DB, slug: FromPath[str]) -> list[Consent]:
        return await service.list_consents(db, slug)

    @post(
        "/festivals/{slug:str}/consents/{consent_id:int}/withdraw",
        summary="Withdraw on the interviewee's behalf",
        guards=STAFF,
        status_code=200,
    )
    async def withdraw(
        self,
        request: AnyRequest,
        clips: CLIPS,
        slug: FromPath[str],
        consent_id: FromPath[int],
    ) -> Consent:
        return await service.withdraw_for(
            clips.db, clips.jobs, identity_of(request), slug, consent_id
        )

    @post(
        "/festivals/{slug:str}/consents/{consent_id:int}/new-link",
        summary="Replace the interviewee's private link",
        guards=STAFF,
    )
    async def new_link(
        self,
        request: AnyRequest,
        clips: CLIPS,
        settings: SETTINGS,
        slug: FromPath[str],
        consent_id: FromPath[int],
    ) -> ConsentCreated:
        return await service.new_link(
            clips.db, identity_of(request), slug, consent_id, settings.base_url, mail=clips.mail
        )

    @post(
        "/festivals/{slug:str}/consents/{consent_id:int}/revoke-link",
        summary="Stop the interviewee's private link working",
        guards=STAFF,
        status_code=204,
    )
    async def revoke_link(
        self, request: AnyRequest, db: DB, slug: FromPath[str], consent_id: FromPath[int]
    ) -> None:
        await service.revoke_link(db, identity_of(request), slug, consent_id)

    @get(
        "/festivals/{slug:str}/consents/{consent_id:int}/export",
        summary="Everything held about one interviewee (UK GDPR access)",
        guards=STAFF,
    )
    async def export(self, db: DB, slug: FromPath[str], consent_id: FromPath[int]) -> Export:
        return await service.export(db, slug, consent_id)

    @get(
        "/festivals/{slug:str}/consents/{consent_id:int}/export/{name:path}",
        summary="One of the interviewee's media files, named in the export",
        guards=STAFF,
    )
    async def export_file(
        self, clips: CLIPS, slug: FromPath[str], consent_id: FromPath[int], name: FromPath[str]
    ) -> Stream:
        record = await service.export(clips.db, slug, consent_id)
        key = record.media_keys.get(name.lstrip("/"))
        if key is None:
            raise NotFound(f"The export has no file {name!r}.", fix="See media_keys in the export.")
        return Stream(
            clips.store.read_range(key),
            media_type="application/octet-stream",
            headers={"Cache-Control": "private, no-store"},
        )

    @post(
        "/festivals/{slug:str}/consents/{consent_id:int}/erase",
        summary="Erase an interviewee (UK GDPR erasure)",
        guards=STAFF,
        status_code=204,
    )
    async def erase(
        self, request: AnyRequest, clips: CLIPS, slug: FromPath[str], consent_id: FromPath[int]
    ) -> None:
        await service.erase(clips.db, clips.jobs, identity_of(request), slug, consent_id)

    @get(
        "/festivals/{slug:str}/publication-rules", guards=STAFF, summary="Review and captions rules"
    )
    async def rules(self, db: DB, slug: FromPath[str]) -> PublicationRules:
        return await service.get_rules(db, slug)

    @patch("/festivals/{slug:str}/publication-rules", guards=STAFF, summary="Change them")
    async def update_rules(
        self, db: DB, slug: FromPath[str], data: JSONBody[PublicationRulesPatch]
    ) -> PublicationRules:
        return await service.update_rules(db, slug, data)

    @get("/festivals/{slug:str}/review-queue", guards=STAFF, summary="Clips and what blocks them")
    async def queue(self, db: DB, slug: FromPath[str]) -> list[QueueItem]:
        return await service.queue(db, slug)

    @post(
        "/festivals/{slug:str}/clips/{clip_id:int}/publish",
        guards=STAFF,
        summary="Publish a clip (refused while anything blocks it)",
        status_code=200,
    )
    async def publish(
        self, request: AnyRequest, db: DB, slug: FromPath[str], clip_id: FromPath[int]
    ) -> QueueItem:
        return await service.publish(db, identity_of(request), slug, clip_id)

    @post(
        "/festivals/{slug:str}/clips/{clip_id:int}/unpublish",
        guards=STAFF,
        summary="Take a clip off public view",
        status_code=200,
    )
    async def unpublish(
        self, request: AnyRequest, db: DB, slug: FromPath[str], clip_id: FromPath[int]
    ) -> QueueItem:
        return await service.unpublish(db, identity_of(request), slug, clip_id)

    @get("/festivals/{slug:str}/audit", guards=STAFF, summary="The consent audit log")
    async def audit(
        self,
        db: DB,
        slug: FromPath[str],
        consent_id: FromQuery[int | None] = None,
        clip_id: FromQuery[int | None] = None,
    ) -> list[AuditEvent]:
        return await service.audit_log(db, slug, consent_id=consent_id, clip_id=clip_id)


class IntervieweeController(Controller):
    """The interviewee's private link, for apps: no account, the token is the key."""

    path = "/api/v1/consent/{token:str}"
    tags = ["consent"]

    @get("", summary="My consent and my clips")
    async def review(self, request: AnyRequest, db: DB, token: FromPath[str]) -> Review:
        await _guarded_token(request, db, token)
        return await service.review(db, token)

    @post("/approve", summary="I have watched it and it is fine", status_code=200)
    async def approve(self, request: AnyRequest, db: DB, token: FromPath[str]) -> Review:
        await _guarded_token(request, db, token)
        return await service.approve(db, token)

    @patch("", summary="Change where it may be used, how I am named, or the end date")
    async def change(
        self, request: AnyRequest, db: DB, token: FromPath[str], data: JSONBody[ConsentChange]
    ) -> Review:
        await _guarded_token(request, db, token)
        return await service.change(db, token, data)

    @post(
        "/withdraw",
        summary="Take my consent back: the clip is removed and deleted",
        status_code=200,
    )
    async def withdraw(self, request: AnyRequest, clips: CLIPS, token: FromPath[str]) -> Review:
        await _guarded_token(request, clips.db, token)
        return await service.withdraw(clips.db, clips.jobs, token)


class IntervieweeMedia(Controller):
    """The interviewee watches their clip through their link, before publication too."""

    path = "/consent/{token:str}/media"
    include_in_schema = False

    @get("/{clip_id:int}/{name:str}")
    async def file(
        self,
        request: AnyRequest,
        clips: CLIPS,
        token: FromPath[str],
        clip_id: FromPath[int],
        name: FromPath[str],
    ) -> Response[Any]:
        from festival.clips.routes import serve_media
        from festival.clips.service import media_of

        await _guarded_token(request, clips.db, token)
        clip = await service.review_media(clips.db, token, clip_id)
        found = await media_of(clips, clip, name, public=False)
        return serve_media(request, clips, found, clip_id, name)
