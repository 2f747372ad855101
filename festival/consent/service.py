"""Consent: the person filmed decides where their story goes, and can take it back.

A clip is public only while all of these hold (see :func:`blockers`):

* every person in it consented to that use, the consent has not expired and has not
  been withdrawn;
* each of them has watched and approved it, when the festival asks for review;
* it has captions, when the festival asks for them;
* staff have published it.

The gate is checked at every public read, so a withdrawal or an expiry takes effect at
once everywhere; the media files then go in a background job. Every consent event is
written to an append-only audit log that holds ids, never names.
"""

from __future__ import annotations

import io
import secrets
import tomllib
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import qrcode
import qrcode.image.svg
from msgspec import UNSET
from sqlalchemy.ext.asyncio import AsyncConnection

from festival.accounts.schemas import Identity
from festival.accounts.service import hash_token
from festival.clips import queries as clip_queries
from festival.clips.schemas import ClipRow
from festival.consent import queries
from festival.consent.mail import ReviewMail
from festival.consent.schemas import (
    SCOPES,
    AuditEvent,
    Consent,
    ConsentChange,
    ConsentCreated,
    ConsentIn,
    ConsentRow,
    PublicationRules,
    PublicationRulesPatch,
    QueueItem,
    Review,
    ReviewClip,
    Scope,
)
from festival.db.engine import Database
from festival.errors import (
    Conflict,
    FestivalError,
    FieldError,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    Unauthorized,
)
from festival.jobs import Jobs
from festival.programme import service as programme
from festival.programme.schemas import Festival
from festival.timeline import search

CONSENT_TOKEN_PREFIX = "fct_"  # noqa: S105 (a label, not a secret)
PURGE_MEDIA = "purge-clip-media"
SWEEP = "consent-sweep"
SWEEP_INTERVAL = 10 * 60
FORMS = Path(__file__).parent


def _now() -> datetime:
    return datetime.now(UTC)


# --- forms ----------------------------------------------------------------------------


class FormLine(msgspec.Struct):
    icon: str
    alt: str
    text: str


class Form(msgspec.Struct):
    version: int
    plain: str
    easy_read: list[FormLine]

    def text(self, variant: str) -> str:
        if variant == "plain":
            return self.plain.strip()
        return "\n".join(line.text for line in self.easy_read)


def form(version: int | None = None) -> Form:
    """A consent form by version (the newest by default). Versions are never edited."""
    files = sorted(FORMS.glob("form_v*.toml"), key=lambda p: int(p.stem[6:]))
    chosen = files[-1] if version is None else FORMS / f"form_v{version}.toml"
    if not chosen.exists():
        raise Invalid.field("form_version", f"there is no consent form version {version}")
    return msgspec.convert(tomllib.loads(chosen.read_text()), Form)


# --- the gate -------------------------------------------------------------------------


def _live(consent: ConsentRow, today: date) -> bool:
    return consent.withdrawn_at is None and (
        consent.expires_on is None or consent.expires_on >= today
    )


def blockers(
    clip: ClipRow,
    consents: Sequence[ConsentRow],
    rules: PublicationRules,
    scope: Scope = "timeline",
    today: date | None = None,
) -> list[str]:
    """Why ``clip`` may not be shown for ``scope`` now, in words for staff. Empty: it may."""
    today = today or _now().date()
    reasons: list[str] = []
    if clip.withdrawn_at is not None:
        return ["Consent was withdrawn. The clip has been taken down for good."]
    if clip.state != "ready":
        reasons.append("It is not ready to play yet.")
    if not consents:
        reasons.append("Nobody in it has given consent yet.")
    for consent in consents:
        if consent.withdrawn_at is not None:
            reasons.append("Someone in it has withdrawn their consent.")
        elif not _live(consent, today):
            reasons.append("Someone's consent has reached its end date.")
        elif scope not in consent.scopes:
            reasons.append(f"Someone in it has not agreed to: {SCOPES[scope].lower()}.")
        elif rules.require_review and consent.approved_at is None:
            reasons.append("Someone in it has not yet watched and approved it.")
    if rules.require_captions and not clip.captions_key:
        reasons.append("It has no captions yet.")
    return list(dict.fromkeys(reasons))


def is_public(
    clip: ClipRow,
    consents: Sequence[ConsentRow],
    rules: PublicationRules,
    scope: Scope = "timeline",
    today: date | None = None,
) -> bool:
    return clip.published_at is not None and not blockers(clip, consents, rules, scope, today)


async def public_clip(db: Database, clip_id: int, scope: Scope = "timeline") -> ClipRow:
    """The clip if the public may see it for ``scope`` now; 410 if withdrawn; else 404."""
    async with db.read() as conn:
        clip = await clip_queries.clip_by_id(conn, clip_id)
        if clip is None:
            raise NotFound(f"There is no published clip {clip_id}.")
        if clip.withdrawn_at is not None:
            raise Gone(
                "The person in this interview has withdrawn their consent, so it has been "
                "taken down. Thank you for respecting their choice.",
                fix="Other interviews are on the festival's timeline.",
            )
        consents = (await queries.consents_of_clips(conn, [clip_id]))[clip_id]
        rules = await queries.rules(conn, clip.festival_id)
    if not is_public(clip, consents, rules, scope):
        raise NotFound(f"There is no published clip {clip_id}.")
    return clip


def credit_line(consent: ConsentRow) -> str:
    if consent.erased_at is not None or consent.credit == "anonymous":
        return "Anonymous"
    if consent.credit == "chosen" and consent.display_name:
        return consent.display_name
    return consent.interviewee_name or consent.display_name or "Anonymous"


def owners_credit(consents: Sequence[ConsentRow]) -> str:
    """How the owners of a clip are credited publicly: ``Sam and Anonymous``."""
    names = [credit_line(c) for c in consents]
    if len(names) <= 1:
        return names[0] if names else "Anonymous"
    return ", ".join(names[:-1]) + " and " + names[-1]


# --- views ----------------------------------------------------------------------------


def _state(consent: ConsentRow, today: date) -> str:
    if consent.withdrawn_at is not None:
        return "withdrawn"
    if not _live(consent, today):
        return "expired"
    return "approved" if consent.approved_at else "given"


def view(consent: ConsentRow, clip_ids: Sequence[int]) -> Consent:
    return Consent(
        id=consent.id,
        state=_state(consent, _now().date()),  # type: ignore[arg-type]
        scopes=consent.scopes,
        credit=consent.credit,
        credit_line=credit_line(consent),
        licence=consent.licence,
        expires_on=consent.expires_on,
        method=consent.method,
        spoken_at_seconds=consent.spoken_at_seconds,
        form_version=consent.form_version,
        form_variant=consent.form_variant,
        given_at=consent.given_at,
        approved_at=consent.approved_at,
        withdrawn_at=consent.withdrawn_at,
        withdrawn_by=consent.withdrawn_by,
        clip_ids=list(clip_ids),
        has_contact=bool(consent.contact_email or consent.contact_phone),
    )


def qr_svg(url: str) -> str:
    """The private link as an SVG QR code the interviewee can scan from the volunteer's
    phone (no image library needed)."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue().decode()


# --- recording consent ------------------------------------------------------------------


def _actor(identity: Identity) -> str:
    return f"{identity.kind}:{identity.id}" if identity.id is not None else identity.kind


def _check(data: ConsentIn, today: date) -> None:
    if not data.interviewee_name and not data.display_name and data.credit != "anonymous":
        raise Invalid(
            "A consent needs the person filmed: their name, a name they choose, or "
            "'do not name me'.",
            fix="Ask the person how they want to be named.",
            errors=[FieldError("interviewee_name", "the person filmed is missing")],
        )
    if data.credit == "name" and not data.interviewee_name:
        raise Invalid.field("interviewee_name", "is needed to credit them by name")
    if data.credit == "chosen" and not data.display_name:
        raise Invalid.field("display_name", "is needed to credit them by a chosen name")
    if len(set(data.scopes)) != len(data.scopes):
        raise Invalid.field("scopes", "lists a scope twice")
    if data.expires_on is not None and data.expires_on <= today:
        raise Invalid.field(
            "expires_on", "must be in the future", fix="Leave it empty for no end date."
        )
    if data.method == "spoken" and data.spoken_at_seconds is None:
        raise Invalid.field(
            "spoken_at_seconds",
            "is needed when consent was spoken on camera",
            fix="Give the time into the clip where they say it, in seconds.",
        )


def _signed_in(identity: Identity) -> None:
    if identity.is_anonymous:
        raise Unauthorized(
            "Open the invite link festival staff sent you, or sign in as staff, to do this.",
            fix="Use your invite link, or send your token as a bearer token.",
            headers={"WWW-Authenticate": 'Bearer realm="festival"'},
        )


async def _witness_festival(conn: AsyncConnection, identity: Identity, slug: str) -> Festival:
    _signed_in(identity)
    festival = await programme.require_festival(conn, slug)
    if identity.is_volunteer:
        from festival.crew import service as crew

        assert identity.id is not None
        if await crew.volunteer_festival(conn, identity.id) != festival.id:
            raise Forbidden("You are not a volunteer at this festival.")
    elif not identity.is_staff:
        raise Forbidden("Only volunteers and staff record consent.")
    return festival


async def _clip_for(conn: AsyncConnection, identity: Identity, clip_id: int) -> ClipRow:
    _signed_in(identity)
    clip = await clip_queries.clip_by_id(conn, clip_id)
    if clip is None:
        raise NotFound(f"There is no clip {clip_id}.")
    if not (identity.is_staff or (identity.is_volunteer and clip.volunteer_id == identity.id)):
        raise Forbidden(
            "This is another volunteer's clip.",
            fix="Link consent only to clips you filmed.",
        )
    return clip


async def record_consent(
    db: Database,
    identity: Identity,
    slug: str,
    data: ConsentIn,
    base_url: str,
    *,
    mail: ReviewMail | None = None,
) -> ConsentCreated:
    today = _now().date()
    _check(data, today)
    shown = form(data.form_version)
    token = CONSENT_TOKEN_PREFIX + secrets.token_urlsafe(24)
    now = _now()
    async with db.write() as conn:
        festival = await _witness_festival(conn, identity, slug)
        clip = await _clip_for(conn, identity, data.clip_id) if data.clip_id else None
        if clip is not None and clip.festival_id != festival.id:
            raise Forbidden("That clip belongs to another festival.")
        if clip is not None and clip.withdrawn_at is not None:
            raise Conflict(
                "That clip has been withdrawn and deleted; it cannot be consented again.",
                fix="Film a new interview if the person wishes.",
            )
        values = msgspec.structs.asdict(data)
        scopes = values.pop("scopes")
        values.pop("clip_id")
        values.update({f"scope_{s}": s in scopes for s in SCOPES})
        consent_id = await queries.insert_consent(
            conn,
            {
                **values,
                "festival_id": festival.id,
                "form_text": shown.text(data.form_variant),
                "witness_volunteer_id": identity.id if identity.is_volunteer else None,
                "witness_staff_id": identity.id if identity.is_staff else None,
                "given_at": now,
                "token_hash": hash_token(token),
            },
        )
        await queries.record(
            conn,
            actor=_actor(identity),
            action="consent-given",
            festival_id=festival.id,
            consent_id=consent_id,
            detail={"scopes": scopes, "method": data.method, "form": shown.version},
            at=now,
        )
        if clip is not None:
            await _link(conn, identity, clip, consent_id, now)
        row = await queries.consent_by_id(conn, consent_id)
        assert row is not None
        clip_ids = (await queries.clips_of_consents(conn, [consent_id]))[consent_id]
    if mail is not None and data.contact_email:
        await mail.enqueue(consent_id, token)  # never raises: the consent stands regardless
    url = f"{base_url}/consent/{token}"
    return ConsentCreated(consent=view(row, clip_ids), review_url=url, qr_svg=qr_svg(url))


async def _link(
    conn: AsyncConnection, identity: Identity, clip: ClipRow, consent_id: int, now: datetime
) -> None:
    consent = await queries.consent_by_id(conn, consent_id)
    if consent is None or consent.festival_id != clip.festival_id:
        raise Invalid.field("consent_id", f"this festival has no consent {consent_id}")
    if consent.withdrawn_at is not None:
        raise Conflict(
            "That consent has been withdrawn and cannot be used again.",
            fix="A fresh consent is a new record: record it again with the person.",
        )
    if await queries.link(conn, clip.id, consent_id, now):
        await search.index_clip(conn, clip.id)
        await queries.record(
            conn,
            actor=_actor(identity),
            action="consent-linked",
            festival_id=clip.festival_id,
            clip_id=clip.id,
            consent_id=consent_id,
            at=now,
        )


async def link_consent(db: Database, identity: Identity, clip_id: int, consent_id: int) -> Consent:
    async with db.write() as conn:
        clip = await _clip_for(conn, identity, clip_id)
        consent = await queries.consent_by_id(conn, consent_id)
        if (
            consent is not None
            and identity.is_volunteer
            and consent.witness_volunteer_id != identity.id
        ):
            raise Forbidden("You can link only consents you witnessed.")
        await _link(conn, identity, clip, consent_id, _now())
        row = await queries.consent_by_id(conn, consent_id)
        assert row is not None
        return view(row, (await queries.clips_of_consents(conn, [consent_id]))[consent_id])


async def check_upload_consent(
    conn: AsyncConnection, identity: Identity, festival_id: int, consent_ref: str
) -> None:
    """Before an upload starts: the consent it names must be one this person may use."""
    if not consent_ref.isdigit():
        raise Invalid.field("Upload-Metadata.consent", "must be a consent id (digits)")
    consent = await queries.consent_by_id(conn, int(consent_ref))
    if consent is None or consent.festival_id != festival_id:
        raise Invalid.field("Upload-Metadata.consent", f"there is no consent {consent_ref}")
    if identity.is_volunteer and consent.witness_volunteer_id != identity.id:
        raise Forbidden("You can attach only consents you witnessed.")
    if consent.withdrawn_at is not None:
        raise Conflict("That consent has been withdrawn and cannot be used again.")


async def link_on_upload(conn: AsyncConnection, identity: Identity, clip_id: int, ref: str) -> None:
    """Link the consent named in an upload's metadata once it has become a clip."""
    clip = await clip_queries.clip_by_id(conn, clip_id)
    assert clip is not None
    try:
        await _link(conn, identity, clip, int(ref), _now())
    except FestivalError:
        # Checked when the upload began; withdrawn since? then the clip simply stays
        # without this consent, and cannot be published.
        return


# --- the interviewee's private link ------------------------------------------------------


async def _by_token(conn: AsyncConnection, token: str) -> ConsentRow:
    consent = None
    if token.startswith(CONSENT_TOKEN_PREFIX) and len(token) < 100:
        consent = await queries.consent_by_token(conn, hash_token(token))
    if consent is None:
        raise NotFound(
            "This private link is not known, or it has been replaced.",
            fix="Ask the festival team for a new link to your interview.",
        )
    return consent


async def review(db: Database, token: str) -> Review:
    async with db.read() as conn:
        consent = await _by_token(conn, token)
        clip_ids = (await queries.clips_of_consents(conn, [consent.id]))[consent.id]
        festival = await programme.festival_by_id(conn, consent.festival_id)
        clips = [await clip_queries.clip_by_id(conn, c) for c in clip_ids]
    shown = []
    for clip in clips:
        if clip is None:
            continue
        base = f"/consent/{token}/media/{clip.id}"
        shown.append(
            ReviewClip(
                id=clip.id,
                title=clip.title,
                state=clip.state,
                video_url=f"{base}/web.mp4" if clip.rendition_key else None,
                poster_url=f"{base}/poster.jpg" if clip.poster_key else None,
                captions_url=f"{base}/captions.vtt" if clip.captions_key else None,
                published=clip.published_at is not None and clip.withdrawn_at is None,
            )
        )
    return Review(
        consent=view(consent, clip_ids),
        display_name=consent.display_name or consent.interviewee_name,
        festival_name=festival.name,
        clips=shown,
        token=token,
    )


async def review_media(db: Database, token: str, clip_id: int) -> ClipRow:
    """A clip the token's holder is in: they may watch it even before publication."""
    async with db.read() as conn:
        consent = await _by_token(conn, token)
        clip_ids = (await queries.clips_of_consents(conn, [consent.id]))[consent.id]
        clip = await clip_queries.clip_by_id(conn, clip_id) if clip_id in clip_ids else None
    if clip is None or clip.withdrawn_at is not None:
        raise NotFound("There is no clip of yours with that number.")
    return clip


def _not_withdrawn(consent: ConsentRow) -> None:
    if consent.withdrawn_at is not None:
        raise Conflict(
            "You withdrew this consent. It cannot be given again through this link.",
            fix="If you would like to be filmed again, ask a festival volunteer.",
        )


async def approve(db: Database, token: str) -> Review:
    async with db.write() as conn:
        consent = await _by_token(conn, token)
        _not_withdrawn(consent)
        if consent.approved_at is None:
            now = _now()
            await queries.update_consent(conn, consent.id, {"approved_at": now})
            await queries.record(
                conn,
                actor="interviewee",
                action="clip-approved",
                festival_id=consent.festival_id,
                consent_id=consent.id,
                at=now,
            )
    return await review(db, token)


async def change(db: Database, token: str, data: ConsentChange) -> Review:
    await apply_change(db, token, data, actor="interviewee")
    return await review(db, token)


async def apply_change(db: Database, token: str, data: ConsentChange, *, actor: str) -> None:
    today = _now().date()
    async with db.write() as conn:
        consent = await _by_token(conn, token)
        _not_withdrawn(consent)
        if not _live(consent, today):
            raise Conflict(
                "This consent reached its end date, so the clip has been taken down.",
                fix="If you would like it shown again, ask a festival volunteer for a fresh "
                "consent.",
            )
        values: dict[str, Any] = {}
        if data.scopes is not UNSET:
            values.update({f"scope_{s}": s in data.scopes for s in SCOPES})
        for field in ("credit", "display_name", "licence", "expires_on"):
            value = getattr(data, field)
            if value is not UNSET:
                values[field] = value
        if values.get("expires_on") is not None and values["expires_on"] <= today:
            raise Invalid.field("expires_on", "must be in the future")
        credit = values.get("credit", consent.credit)
        name = values.get("display_name", consent.display_name)
        if credit == "chosen" and not name:
            raise Invalid.field("display_name", "is needed to credit you by a chosen name")
        if credit == "name" and not consent.interviewee_name:
            raise Invalid.field(
                "credit", "we do not have your name", fix="Choose a name to be credited by."
            )
        if values:
            await queries.update_consent(conn, consent.id, values)
            # The credit may have changed: the search index must follow it.
            await search.index_clips(
                conn, (await queries.clips_of_consents(conn, [consent.id]))[consent.id]
            )
            changed = sorted(k.removeprefix("scope_") for k in values)
            await queries.record(
                conn,
                actor=actor,
                action="consent-changed",
                festival_id=consent.festival_id,
                consent_id=consent.id,
                detail={"changed": changed, "scopes": data.scopes if data.scopes else None}
                if data.scopes is not UNSET
                else {"changed": changed},
                at=_now(),
            )


async def _withdraw(conn: AsyncConnection, consent: ConsentRow, by: str, actor: str) -> list[int]:
    """Withdraw a consent and take down every clip it covers, in this transaction."""
    now = _now()
    await queries.update_consent(conn, consent.id, {"withdrawn_at": now, "withdrawn_by": by})
    await queries.record(
        conn,
        actor=actor,
        action="consent-withdrawn" if by != "expiry" else "consent-expired",
        festival_id=consent.festival_id,
        consent_id=consent.id,
        detail={"by": by},
        at=now,
    )
    clip_ids = (await queries.clips_of_consents(conn, [consent.id]))[consent.id]
    for clip_id in clip_ids:
        clip = await clip_queries.clip_by_id(conn, clip_id)
        if clip is None or clip.withdrawn_at is not None:
            continue
        await clip_queries.update_clip(conn, clip_id, {"withdrawn_at": now, "published_at": None})
        await search.unindex(conn, clip_id)
        await queries.record(
            conn,
            actor=actor,
            action="clip-taken-down",
            festival_id=consent.festival_id,
            clip_id=clip_id,
            consent_id=consent.id,
            at=now,
        )
    return clip_ids


async def withdraw(db: Database, jobs: Jobs, token: str) -> Review:
    async with db.write() as conn:
        consent = await _by_token(conn, token)
        _not_withdrawn(consent)
        clip_ids = await _withdraw(conn, consent, "interviewee", "interviewee")
    for clip_id in clip_ids:
        await jobs.enqueue(PURGE_MEDIA, {"clip_id": clip_id})
    return await review(db, token)


# --- staff ------------------------------------------------------------------------------


async def _staff_consent(conn: AsyncConnection, festival: Festival, consent_id: int) -> ConsentRow:
    consent = await queries.consent_by_id(conn, consent_id)
    if consent is None or consent.festival_id != festival.id:
        raise NotFound(f"Festival {festival.slug!r} has no consent {consent_id}.")
    return consent


async def withdraw_for(
    db: Database, jobs: Jobs, identity: Identity, slug: str, consent_id: int
) -> Consent:
    """Staff withdrawing on the interviewee's behalf (they asked by phone, say)."""
    async with db.write() as conn:
        festival = await programme.require_festival(conn, slug)
        consent = await _staff_consent(conn, festival, consent_id)
        _not_withdrawn(consent)
        clip_ids = await _withdraw(conn, consent, "staff", _actor(identity))
        row = await queries.consent_by_id(conn, consent_id)
    for clip_id in clip_ids:
        await jobs.enqueue(PURGE_MEDIA, {"clip_id": clip_id})
    assert row is not None
    return view(row, clip_ids)


async def new_link(
    db: Database,
    identity: Identity,
    slug: str,
    consent_id: int,
    base_url: str,
    *,
    mail: ReviewMail | None = None,
) -> ConsentCreated:
    """Revoke the old private link (lost, shared by mistake) and issue a new one."""
    token = CONSENT_TOKEN_PREFIX + secrets.token_urlsafe(24)
    async with db.write() as conn:
        festival = await programme.require_festival(conn, slug)
        consent = await _staff_consent(conn, festival, consent_id)
        if consent.erased_at is not None:
            raise Conflict(
                "This person has been erased, so there is nobody to send a link to.",
                fix="If they come back, record a fresh consent with them.",
            )
        await queries.update_consent(
            conn, consent.id, {"token_hash": hash_token(token), "token_revoked_at": None}
        )
        await queries.record(
            conn,
            actor=_actor(identity),
            action="link-replaced",
            festival_id=festival.id,
            consent_id=consent.id,
            at=_now(),
        )
        row = await queries.consent_by_id(conn, consent_id)
        clip_ids = (await queries.clips_of_consents(conn, [consent_id]))[consent_id]
    assert row is not None
    if mail is not None and row.contact_email:
        await mail.enqueue(consent_id, token)
    url = f"{base_url}/consent/{token}"
    return ConsentCreated(consent=view(row, clip_ids), review_url=url, qr_svg=qr_svg(url))


async def revoke_link(db: Database, identity: Identity, slug: str, consent_id: int) -> None:
    async with db.write() as conn:
        festival = await programme.require_festival(conn, slug)
        consent = await _staff_consent(conn, festival, consent_id)
        await queries.update_consent(conn, consent.id, {"token_revoked_at": _now()})
        await queries.record(
            conn,
            actor=_actor(identity),
            action="link-revoked",
            festival_id=festival.id,
            consent_id=consent.id,
            at=_now(),
        )


async def list_consents(db: Database, slug: str) -> list[Consent]:
    async with db.read() as conn:
        festival = await programme.require_festival(conn, slug)
        rows = await queries.festival_consents(conn, festival.id)
        clips = await queries.clips_of_consents(conn, [r.id for r in rows])
    return [view(r, clips[r.id]) for r in rows]


async def witnessed_by(db: Database, identity: Identity) -> list[Consent]:
    """The consents this volunteer (or staff member) witnessed, newest first: the ones
    they may link to their clips afterwards."""
    if identity.id is None or identity.is_anonymous:
        return []
    async with db.read() as conn:
        rows = await queries.witnessed_consents(
            conn,
            volunteer_id=identity.id if identity.is_volunteer else None,
            staff_id=identity.id if identity.is_staff else None,
        )
        clips = await queries.clips_of_consents(conn, [r.id for r in rows])
    return [view(r, clips[r.id]) for r in rows]


async def get_rules(db: Database, slug: str) -> PublicationRules:
    async with db.read() as conn:
        return await queries.rules(conn, (await programme.require_festival(conn, slug)).id)


async def update_rules(db: Database, slug: str, patch: PublicationRulesPatch) -> PublicationRules:
    async with db.write() as conn:
        festival = await programme.require_festival(conn, slug)
        current = await queries.rules(conn, festival.id)
        for field in patch.__struct_fields__:
            value = getattr(patch, field)
            if value is not UNSET:
                setattr(current, field, value)
        await queries.save_rules(conn, festival.id, current)
        return current


async def queue(db: Database, slug: str) -> list[QueueItem]:
    """Every clip with its consents and what stands between it and publication."""
    async with db.read() as conn:
        festival = await programme.require_festival(conn, slug)
        rules = await queries.rules(conn, festival.id)
        clips = await clip_queries.list_clips(conn, festival_id=festival.id)
        consents = await queries.consents_of_clips(conn, [c.id for c in clips])
        links = await queries.clips_of_consents(
            conn, sorted({c.id for cs in consents.values() for c in cs})
        )
    items = []
    for clip in clips:
        mine = consents[clip.id]
        items.append(
            QueueItem(
                clip_id=clip.id,
                title=clip.title,
                state=clip.state,
                published=clip.published_at is not None and clip.withdrawn_at is None,
                withdrawn=clip.withdrawn_at is not None,
                consents=[view(c, links.get(c.id, [])) for c in mine],
                blockers=blockers(clip, mine, rules),
                delete_after=None
                if mine or clip.withdrawn_at
                else clip.created_at + timedelta(days=rules.unconsented_days),
            )
        )
    return items


async def publish(db: Database, identity: Identity, slug: str, clip_id: int) -> QueueItem:
    async with db.write() as conn:
        festival = await programme.require_festival(conn, slug)
        clip = await clip_queries.clip_by_id(conn, clip_id)
        if clip is None or clip.festival_id != festival.id:
            raise NotFound(f"Festival {slug!r} has no clip {clip_id}.")
        rules = await queries.rules(conn, festival.id)
        consents = (await queries.consents_of_clips(conn, [clip_id]))[clip_id]
        reasons = blockers(clip, consents, rules)
        if reasons:
            raise Conflict(
                "This clip cannot be published yet: " + " ".join(reasons),
                fix="Deal with each reason first; the review queue lists them.",
                conflicts_with={"rule": "publication", "reasons": reasons},
            )
        if clip.published_at is None:
            now = _now()
            await clip_queries.update_clip(conn, clip_id, {"published_at": now})
            await queries.record(
                conn,
                actor=_actor(identity),
                action="clip-published",
                festival_id=festival.id,
                clip_id=clip_id,
                at=now,
            )
    return next(i for i in await queue(db, slug) if i.clip_id == clip_id)


async def unpublish(db: Database, identity: Identity, slug: str, clip_id: int) -> QueueItem:
    async with db.write() as conn:
        festival = await programme.require_festival(conn, slug)
        clip = await clip_queries.clip_by_id(conn, clip_id)
        if clip is None or clip.festival_id != festival.id:
            raise NotFound(f"Festival {slug!r} has no clip {clip_id}.")
        if clip.published_at is not None:
            await clip_queries.update_clip(conn, clip_id, {"published_at": None})
            await queries.record(
                conn,
                actor=_actor(identity),
                action="clip-unpublished",
                festival_id=festival.id,
                clip_id=clip_id,
                at=_now(),
            )
    return next(i for i in await queue(db, slug) if i.clip_id == clip_id)


async def audit_log(
    db: Database, slug: str, *, consent_id: int | None = None, clip_id: int | None = None
) -> list[AuditEvent]:
    async with db.read() as conn:
        festival = await programme.require_festival(conn, slug)
        return await queries.audit_log(conn, festival.id, consent_id=consent_id, clip_id=clip_id)


async def erase(db: Database, jobs: Jobs, identity: Identity, slug: str, consent_id: int) -> None:
    """UK GDPR erasure: withdraw, delete the media, and blank everything personal."""
    async with db.write() as conn:
        festival = await programme.require_festival(conn, slug)
        consent = await _staff_consent(conn, festival, consent_id)
        clip_ids: list[int] = []
        if consent.withdrawn_at is None:
            clip_ids = await _withdraw(conn, consent, "staff", _actor(identity))
        await queries.update_consent(
            conn,
            consent.id,
            {
                "interviewee_name": "",
                "display_name": "",
                "contact_email": "",
                "contact_phone": "",
                "token_revoked_at": _now(),
                "erased_at": _now(),
            },
        )
        await search.index_clips(
            conn, (await queries.clips_of_consents(conn, [consent.id]))[consent.id]
        )
        await queries.record(
            conn,
            actor=_actor(identity),
            action="interviewee-erased",
            festival_id=festival.id,
            consent_id=consent.id,
            at=_now(),
        )
    for clip_id in clip_ids:
        await jobs.enqueue(PURGE_MEDIA, {"clip_id": clip_id})


class Export(msgspec.Struct):
    consent: dict[str, Any]
    clips: list[dict[str, Any]]
    audit: list[AuditEvent]
    media_keys: dict[str, str]


async def export(db: Database, slug: str, consent_id: int) -> Export:
    """Everything held about one interviewee (UK GDPR access): their record, their clips'
    records, the audit trail, and the store keys of their media."""
    async with db.read() as conn:
        festival = await programme.require_festival(conn, slug)
        consent = await _staff_consent(conn, festival, consent_id)
        clip_ids = (await queries.clips_of_consents(conn, [consent_id]))[consent_id]
        clips = [c for c in [await clip_queries.clip_by_id(conn, i) for i in clip_ids] if c]
        trail = await queries.audit_log(conn, festival.id, consent_id=consent_id)
    media: dict[str, str] = {}
    for clip in clips:
        for name, key in (
            ("original", clip.original_key),
            ("web.mp4", clip.rendition_key),
            ("poster.jpg", clip.poster_key),
            ("captions.vtt", clip.captions_key),
        ):
            if key:
                media[f"clip-{clip.id}/{name}"] = key
    record = msgspec.structs.asdict(consent)
    record["scopes"] = consent.scopes
    return Export(
        consent=record,
        clips=[
            {
                k: v
                for k, v in msgspec.structs.asdict(c).items()
                if not k.endswith("_key") and k != "upload_id"
            }
            for c in clips
        ],
        audit=trail,
        media_keys=media,
    )


# --- jobs: media deletion and sweeps -----------------------------------------------------


async def purge_media(db: Database, store: Any, clip_id: int) -> None:
    """Delete a withdrawn clip's files. Safe to repeat; retried by the job queue."""
    async with db.read() as conn:
        clip = await clip_queries.clip_by_id(conn, clip_id)
    if clip is None or clip.withdrawn_at is None:
        return
    for key in (
        clip.original_key,
        clip.rendition_key,
        clip.poster_key,
        clip.thumb_key,
        clip.captions_key,
    ):
        # Media shared by load-test clips belongs to none of them: it stays.
        if key and not key.startswith("shared/"):
            await store.delete(key)
    await store.delete_prefix(f"clips/{clip_id}")
    async with db.write() as conn:
        await clip_queries.update_clip(
            conn,
            clip_id,
            {
                "original_key": None,
                "rendition_key": None,
                "poster_key": None,
                "thumb_key": None,
                "captions_key": None,
                "purged_at": _now(),
            },
        )
        await queries.record(
            conn,
            actor="system",
            action="media-deleted",
            festival_id=clip.festival_id,
            clip_id=clip_id,
            at=_now(),
        )


async def sweep(db: Database, jobs: Jobs, delete_clip: Any) -> None:
    """Expire consents whose end date has come; delete clips nobody consented to in time."""
    today = _now().date()
    async with db.write() as conn:
        taken_down: list[int] = []
        for consent in await queries.expiring(conn, today):
            taken_down += await _withdraw(conn, consent, "expiry", "system")
    for clip_id in taken_down:
        await jobs.enqueue(PURGE_MEDIA, {"clip_id": clip_id})
    async with db.read() as conn:
        festivals = {}
        stale: list[tuple[int, int]] = []
        for festival_id in {f for _, f in await queries.unconsented_clips(conn, _now())}:
            festivals[festival_id] = await queries.rules(conn, festival_id)
        for festival_id, rules in festivals.items():
            cutoff = _now() - timedelta(days=rules.unconsented_days)
            stale += [
                (c, f) for c, f in await queries.unconsented_clips(conn, cutoff) if f == festival_id
            ]
    for clip_id, festival_id in stale:
        await delete_clip(clip_id)
        async with db.write() as conn:
            await queries.record(
                conn,
                actor="system",
                action="unconsented-clip-deleted",
                festival_id=festival_id,
                clip_id=clip_id,
                at=_now(),
            )
