"""Staff pages for consent: the review queue, each person filmed, the audit log and the
publication rules (server-rendered).

The same shape as the crew's staff pages: every page needs a staff identity (someone not
signed in is sent to sign in and brought back; a volunteer is refused), forms post back
with their CSRF token, a change redirects (303) with ``?saved=<key>`` shown as a notice,
and any :class:`FestivalError` shows the page again with an error summary and that
error's status. A refused publication is shown on the queue with its 409.

Handlers make one service call for the change they stand for. Pages that show several
things read them through the ``_*_view`` helpers, which only arrange what the services
return for a template. Everything here says what the audit log and the gate hold in
words; the audit log itself holds ids, never names, and so does its page.

"Download everything we hold" streams a ZIP made as it is sent: ``consent.json`` (the
service's :class:`Export`) and the person's media files read from the store, so a long
video never sits in memory or on disk twice.
"""

from __future__ import annotations

import zipfile
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Stream, Template

from festival.auth import identity_of, staff_only
from festival.clips import service as clip_service
from festival.clips.schemas import STATE_WORDS, Clip
from festival.clips.service import ClipServices
from festival.consent import service
from festival.consent.schemas import (
    CREDITS,
    LICENCES,
    SCOPES,
    AuditEvent,
    Consent,
    ConsentCreated,
    PublicationRulesPatch,
    QueueItem,
)
from festival.consent.service import Export
from festival.crew import service as crew_service
from festival.db.engine import Database
from festival.errors import FestivalError, FieldError, Invalid, NotFound, Unauthorized
from festival.formatting import clock, local, long_date, short_date
from festival.forms import convert, form_values
from festival.programme import service as programme_service
from festival.programme.forms import error_view, typed
from festival.programme.staff_pages import sign_in_first
from festival.settings import Settings
from media.storage import Store

DB = NamedDependency[Database]
CLIPS = NamedDependency[ClipServices]
SETTINGS = NamedDependency[Settings]
AnyRequest = Request[Any, Any, Any]

#: ``?saved=`` keys and the notice each shows. Only these texts are ever shown.
SAVED = {
    "published": "The clip has been published. It is on the festival's public timeline now.",
    "unpublished": "The clip has been taken off public view. You can publish it again later.",
    "withdrawn": "Their consent has been withdrawn. Every clip they are in has left public "
    "view, and its files will be deleted within a minute.",
    "link-stopped": "Their private link no longer works.",
    "erased": "Their personal details have been erased and their clips taken down for good. "
    "The audit log keeps that this happened, without their details.",
    "rules-saved": "The publication rules have been saved.",
}
#: The queue's filters: ``?show=`` and its words.
SHOWS = {
    "all": "All clips",
    "waiting": "Not published",
    "published": "Published",
    "taken-down": "Taken down",
}
#: A consent's state in words: the tag, and what it means.
CONSENT_STATES = {
    "given": ("Given", "They have not yet watched and approved the clip."),
    "approved": ("Approved", "They have watched the clip and approved it."),
    "withdrawn": ("Withdrawn", "They took their consent back. It cannot be used again."),
    "expired": ("Expired", "Their consent reached the end date they chose."),
}
RULES_LABELS = {
    "require_review": "The person filmed must watch and approve a clip before it is published",
    "require_captions": "A clip must have captions before it is published",
    "unconsented_days": "Days before a clip nobody has consented to is deleted",
}
AUDIT_LABELS = {"consent": "Consent number", "clip": "Clip number"}
_ACTIONS = {
    "consent-given": "Consent given",
    "consent-linked": "Consent linked to a clip",
    "clip-approved": "Clip watched and approved",
    "consent-changed": "Consent changed",
    "consent-withdrawn": "Consent withdrawn",
    "consent-expired": "Consent reached its end date",
    "clip-taken-down": "Clip taken down",
    "link-replaced": "New private link sent; the old one stopped working",
    "link-revoked": "Private link stopped",
    "clip-published": "Clip published",
    "clip-unpublished": "Clip taken off public view",
    "interviewee-erased": "Personal details erased",
    "media-deleted": "Video, poster and captions deleted",
    "unconsented-clip-deleted": "Clip deleted: nobody consented in time",
}
_CHANGED = {
    "credit": "how they are named",
    "display_name": "the name they chose",
    "licence": "the licence",
    "expires_on": "the end date",
}
_WITHDRAWN_BY = {
    "interviewee": "by the person filmed",
    "staff": "by staff, on their behalf",
    "expiry": "at its end date",
}


def _home(slug: str) -> str:
    return f"/staff/festivals/{slug}"


def _done(
    path: str, key: str, query: Mapping[str, str] | None = None, anchor: str = ""
) -> Redirect:
    params = {**(query or {}), "saved": key}
    return Redirect(
        f"{path}?{urlencode(params)}" + (f"#{anchor}" if anchor else ""), status_code=303
    )


def _page(
    request: AnyRequest,
    template: str,
    *,
    error: FestivalError | None = None,
    labels: Mapping[str, str] | None = None,
    anchors: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    see_also: Sequence[tuple[str, str]] = (),
    **context: Any,
) -> Template:
    """A consent staff page; with ``error``, shown with the error summary and its status
    (``see_also`` adds links to the summary). None is cached: they name people and hold
    private links."""
    view = error_view(error, labels or {}, anchors) if error else None
    if view is not None:
        view.items.extend(see_also)
    context.setdefault("values", {})
    return Template(
        f"staff/consent/{template}",
        context={
            "error": view,
            "errors": view.fields if view else {},
            "notice": SAVED.get(request.query_params.get("saved", "")),
            "moment": moment,
            "short_moment": short_moment,
            "scope_words": SCOPES,
            "state_words": CONSENT_STATES,
            "how_given": how_given,
            **context,
        },
        status_code=error.status if error else 200,
        headers={
            "Cache-Control": "no-store",
            **(error.headers if error else {}),
            **(headers or {}),
        },
    )


# --- words ----------------------------------------------------------------------------------


def moment(value: datetime, timezone: str) -> str:
    """``Monday 1 July 2019, 14:30`` in the festival's time zone."""
    return f"{long_date(value, timezone)}, {clock(value, timezone)}"


def short_moment(value: datetime, timezone: str) -> str:
    """``Mon 1 Jul 2019, 14:30`` in the festival's time zone, for tables on a phone."""
    day = local(value, timezone)
    return f"{short_date(day)} {day.year}, {clock(value, timezone)}"


def actor_words(actor: str) -> str:
    """Who did something, as the audit log names them: by role and number, never name."""
    kind, _, number = actor.partition(":")
    if kind == "interviewee":
        return "the person filmed"
    if kind == "system":
        return "the system"
    if kind == "staff":
        return f"staff member {number}" if number else "a staff member"
    if kind == "volunteer":
        return f"volunteer {number}" if number else "a volunteer"
    return actor


def action_words(event: AuditEvent) -> str:
    """What happened, in words; details add only what the log itself holds (no names)."""
    text = _ACTIONS.get(event.action, event.action.replace("-", " ").capitalize())
    detail = event.detail
    if event.action == "consent-given" and detail.get("method") in ("ticked", "spoken"):
        text += ", ticked on the phone" if detail["method"] == "ticked" else ", said on camera"
    elif event.action == "consent-withdrawn" and str(detail.get("by")) in _WITHDRAWN_BY:
        text += " " + _WITHDRAWN_BY[str(detail["by"])]
    elif event.action == "consent-changed" and isinstance(listed := detail.get("changed"), list):
        changed = [str(c) for c in listed]
        parts = ["where it may be used"] if any(c in SCOPES for c in changed) else []
        parts += [_CHANGED[c] for c in changed if c in _CHANGED]
        if parts:
            text += ": " + ", ".join(parts)
    return text


def how_given(consent: Consent) -> str:
    """``Ticked on the phone, on the easy-read form (version 1)``."""
    if consent.method == "spoken":
        seconds = int(consent.spoken_at_seconds or 0)
        minutes, seconds = divmod(seconds, 60)
        how = f"Said on camera, {minutes}:{seconds:02d} into the clip"
    else:
        how = "Ticked on the phone by the person filmed"
    form = "easy-read" if consent.form_variant == "easy-read" else "plain-language"
    return f"{how}, on the {form} form (version {consent.form_version})"


# --- the review queue -----------------------------------------------------------------------


class QueueLine(msgspec.Struct):
    """A clip in the queue, with its poster thumbnail and state in words."""

    item: QueueItem
    thumb_url: str | None
    state_words: str

    @property
    def name(self) -> str:
        return self.item.title or f"Clip {self.item.clip_id}"


def _shown(item: QueueItem, show: str) -> bool:
    if show == "published":
        return item.published
    if show == "taken-down":
        return item.withdrawn
    if show == "waiting":
        return not item.published and not item.withdrawn
    return True


async def _queue_view(db: Database, request: AnyRequest, slug: str, show: str) -> dict[str, Any]:
    show = show if show in SHOWS else "all"
    festival = await programme_service.get_festival(db, slug)
    items = await service.queue(db, slug)
    clips: dict[int, Clip] = {
        c.id: c for c in await clip_service.list_clips(db, identity_of(request), festival=slug)
    }
    lines = [
        QueueLine(
            item=item,
            thumb_url=clips[item.clip_id].thumb_url if item.clip_id in clips else None,
            state_words=STATE_WORDS.get(item.state, item.state),
        )
        for item in items
        if _shown(item, show)
    ]
    return {
        "festival": festival,
        "show": show,
        "show_words": SHOWS,
        "shows": [(key, words, sum(_shown(i, key) for i in items)) for key, words in SHOWS.items()],
        "lines": lines,
        "unconsented": sorted(i.delete_after for i in items if i.delete_after),
    }


async def _queue_page(
    request: AnyRequest,
    db: Database,
    slug: str,
    show: str,
    *,
    error: FestivalError | None = None,
    clip_id: int | None = None,
) -> Template:
    """The queue; with ``error``, the summary links to the clip that was refused."""
    context = await _queue_view(db, request, slug, show)
    line = next((x for x in context["lines"] if x.item.clip_id == clip_id), None)
    see_also = [(f"clip-{clip_id}", f"See “{line.name}” and what it still needs")] if line else []
    return _page(request, "queue.html", error=error, see_also=see_also, refused=clip_id, **context)


# --- consents -------------------------------------------------------------------------------


class Witness(msgspec.Struct):
    words: str
    volunteer_id: int | None = None


class ConsentClip(msgspec.Struct):
    id: int
    title: str
    published: bool
    withdrawn: bool
    deleted: bool


async def _witness(db: Database, slug: str, record: Mapping[str, Any]) -> Witness:
    volunteer_id = record.get("witness_volunteer_id")
    if isinstance(volunteer_id, int):
        try:
            volunteer = await crew_service.get_volunteer(db, slug, volunteer_id)
        except NotFound:
            return Witness(words=f"Volunteer {volunteer_id}")
        return Witness(words=volunteer.name, volunteer_id=volunteer_id)
    staff_id = record.get("witness_staff_id")
    if isinstance(staff_id, int):
        return Witness(words=f"Staff member {staff_id}")
    return Witness(words="Not recorded")


async def _consent_view(db: Database, slug: str, consent_id: int) -> dict[str, Any]:
    """One person filmed: their consent in words, who they are (for staff to check who is
    asking), their clips and the audit trail."""
    festival = await programme_service.get_festival(db, slug)
    record = await service.export(db, slug, consent_id)
    consent = next(c for c in await service.list_consents(db, slug) if c.id == consent_id)
    raw = record.consent
    return {
        "festival": festival,
        "consent": consent,
        "person": {
            "name": raw.get("interviewee_name") or "",
            "display_name": raw.get("display_name") or "",
            "email": raw.get("contact_email") or "",
            "phone": raw.get("contact_phone") or "",
        },
        "credit_words": CREDITS[consent.credit],
        "licence_words": LICENCES[consent.licence],
        "witness": await _witness(db, slug, raw),
        "link_stopped_at": raw.get("token_revoked_at"),
        "erased_at": raw.get("erased_at"),
        "clips": [
            ConsentClip(
                id=c["id"],
                title=c.get("title") or f"Clip {c['id']}",
                published=c.get("published_at") is not None and c.get("withdrawn_at") is None,
                withdrawn=c.get("withdrawn_at") is not None,
                deleted=c.get("purged_at") is not None,
            )
            for c in record.clips
        ],
        "trail": _audit_lines(record.audit),
    }


def _qr(created: ConsentCreated) -> str:
    """The QR code without its XML declaration, to sit inside the page."""
    svg = created.qr_svg
    return svg[svg.find("<svg") :] if "<svg" in svg else ""


# --- the export -----------------------------------------------------------------------------


class _Pipe:
    """A write-only file for :mod:`zipfile`: it keeps what was written until taken. It
    cannot seek, so zipfile writes each entry's sizes after its data."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _entry(name: str, size: int, compress: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=datetime.now(UTC).timetuple()[:6])
    info.compress_type = compress
    info.file_size = size  # known in advance, so zipfile picks ZIP64 when it is needed
    return info


async def _zip(record: Export, store: Store) -> AsyncIterator[bytes]:
    """``consent.json`` and the media files, zipped chunk by chunk as they are read."""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, mode="w") as archive:
        summary = msgspec.json.format(msgspec.json.encode(record))
        archive.writestr(_entry("consent.json", len(summary), zipfile.ZIP_DEFLATED), summary)
        yield pipe.take()
        for name, key in record.media_keys.items():
            chunks = store.read_range(key)
            try:
                first = await anext(chunks)
            except (FileNotFoundError, StopAsyncIteration):
                continue  # deleted since the export was read (a withdrawal's job)
            size = await store.size(key) or len(first)
            with archive.open(_entry(name, size, zipfile.ZIP_STORED), "w") as entry:
                entry.write(first)
                yield pipe.take()
                async for chunk in chunks:
                    entry.write(chunk)
                    yield pipe.take()
    yield pipe.take()


# --- the audit log --------------------------------------------------------------------------


class AuditLine(msgspec.Struct):
    id: int
    at: datetime
    who: str
    what: str
    clip_id: int | None
    consent_id: int | None


def _audit_lines(events: Sequence[AuditEvent]) -> list[AuditLine]:
    return [
        AuditLine(
            id=e.id,
            at=e.at,
            who=actor_words(e.actor),
            what=action_words(e),
            clip_id=e.clip_id,
            consent_id=e.consent_id,
        )
        for e in events
    ]


def _refusal(field: str, message: str, fix: str) -> Invalid:
    return Invalid(f"{field}: {message}", fix=fix, errors=[FieldError(field, message)])


def _number(name: str, text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if text.isdigit() and len(text) < 16:
        return int(text)
    label = AUDIT_LABELS[name]
    raise _refusal(name, f"{label} must be a whole number, like 12", "Or leave it empty.")


async def _audit_page(
    request: AnyRequest, db: Database, slug: str, consent: str, clip: str
) -> Template:
    festival = await programme_service.get_festival(db, slug)
    values = {"consent": consent, "clip": clip}
    try:
        consent_id, clip_id = _number("consent", consent), _number("clip", clip)
    except FestivalError as error:
        return _page(
            request,
            "audit.html",
            error=error,
            labels=AUDIT_LABELS,
            festival=festival,
            values=values,
            lines=[],
            filtered=True,
        )
    events = await service.audit_log(db, slug, consent_id=consent_id, clip_id=clip_id)
    return _page(
        request,
        "audit.html",
        festival=festival,
        values=values,
        lines=_audit_lines(events),
        filtered=consent_id is not None or clip_id is not None,
    )


# --- publication rules ----------------------------------------------------------------------


def _rules_patch(form: Mapping[str, Any]) -> PublicationRulesPatch:
    values = form_values(form, checkboxes=["require_review", "require_captions"])
    days = str(values.get("unconsented_days", "")).strip()
    if not days:
        raise _refusal(
            "unconsented_days",
            "Enter a number of days, like 30",
            "Correct the answer marked and send the form again.",
        )
    values["unconsented_days"] = days
    return convert(values, PublicationRulesPatch)


# --- the controller -------------------------------------------------------------------------


class StaffConsentPages(Controller):
    path = "/staff/festivals/{slug:str}"
    include_in_schema = False
    guards = [staff_only]
    exception_handlers = {Unauthorized: sign_in_first}

    # --- the review queue -----------------------------------------------------------------

    @get("/review")
    async def review(
        self, request: AnyRequest, db: DB, slug: FromPath[str], show: FromQuery[str] = "all"
    ) -> Template:
        return await _queue_page(request, db, slug, show)

    @post("/review/clips/{clip_id:int}/publish", status_code=303)
    async def publish(
        self,
        request: AnyRequest,
        db: DB,
        slug: FromPath[str],
        clip_id: FromPath[int],
        show: FromQuery[str] = "all",
    ) -> Response[Any]:
        try:
            await service.publish(db, identity_of(request), slug, clip_id)
        except FestivalError as error:
            return await _queue_page(request, db, slug, show, error=error, clip_id=clip_id)
        return _done(f"{_home(slug)}/review", "published", {"show": show}, f"clip-{clip_id}")

    @post("/review/clips/{clip_id:int}/unpublish", status_code=303)
    async def unpublish(
        self,
        request: AnyRequest,
        db: DB,
        slug: FromPath[str],
        clip_id: FromPath[int],
        show: FromQuery[str] = "all",
    ) -> Response[Any]:
        try:
            await service.unpublish(db, identity_of(request), slug, clip_id)
        except FestivalError as error:
            return await _queue_page(request, db, slug, show, error=error, clip_id=clip_id)
        return _done(f"{_home(slug)}/review", "unpublished", {"show": show}, f"clip-{clip_id}")

    # --- the people filmed ----------------------------------------------------------------

    @get("/consents")
    async def consents(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Template:
        festival = await programme_service.get_festival(db, slug)
        return _page(
            request,
            "consents.html",
            festival=festival,
            consents=await service.list_consents(db, slug),
        )

    @get("/consents/{consent_id:int}")
    async def consent(
        self, request: AnyRequest, db: DB, slug: FromPath[str], consent_id: FromPath[int]
    ) -> Template:
        return _page(request, "consent.html", **await _consent_view(db, slug, consent_id))

    @get("/consents/{consent_id:int}/withdraw")
    async def confirm_withdraw(
        self, request: AnyRequest, db: DB, slug: FromPath[str], consent_id: FromPath[int]
    ) -> Template:
        return _page(request, "withdraw.html", **await _consent_view(db, slug, consent_id))

    @post("/consents/{consent_id:int}/withdraw", status_code=303)
    async def withdraw(
        self, request: AnyRequest, clips: CLIPS, slug: FromPath[str], consent_id: FromPath[int]
    ) -> Response[Any]:
        try:
            await service.withdraw_for(clips.db, clips.jobs, identity_of(request), slug, consent_id)
        except FestivalError as error:
            context = await _consent_view(clips.db, slug, consent_id)
            return _page(request, "withdraw.html", error=error, **context)
        return _done(f"{_home(slug)}/consents/{consent_id}", "withdrawn")

    @get("/consents/{consent_id:int}/new-link")
    async def confirm_new_link(
        self, request: AnyRequest, db: DB, slug: FromPath[str], consent_id: FromPath[int]
    ) -> Template:
        return _page(request, "new_link.html", **await _consent_view(db, slug, consent_id))

    @post("/consents/{consent_id:int}/new-link", status_code=200)
    async def new_link(
        self,
        request: AnyRequest,
        db: DB,
        clips: NamedDependency[ClipServices],
        settings: SETTINGS,
        slug: FromPath[str],
        consent_id: FromPath[int],
    ) -> Template:
        """The new link is shown on this one response and never again: only its hash is
        kept."""
        try:
            created = await service.new_link(
                db, identity_of(request), slug, consent_id, settings.base_url, mail=clips.mail
            )
        except FestivalError as error:
            context = await _consent_view(db, slug, consent_id)
            return _page(request, "new_link.html", error=error, **context)
        festival = await programme_service.get_festival(db, slug)
        return _page(request, "link.html", festival=festival, created=created, qr=_qr(created))

    @get("/consents/{consent_id:int}/stop-link")
    async def confirm_stop_link(
        self, request: AnyRequest, db: DB, slug: FromPath[str], consent_id: FromPath[int]
    ) -> Template:
        return _page(request, "stop_link.html", **await _consent_view(db, slug, consent_id))

    @post("/consents/{consent_id:int}/stop-link", status_code=303)
    async def stop_link(
        self, request: AnyRequest, db: DB, slug: FromPath[str], consent_id: FromPath[int]
    ) -> Response[Any]:
        try:
            await service.revoke_link(db, identity_of(request), slug, consent_id)
        except FestivalError as error:
            context = await _consent_view(db, slug, consent_id)
            return _page(request, "stop_link.html", error=error, **context)
        return _done(f"{_home(slug)}/consents/{consent_id}", "link-stopped")

    @get("/consents/{consent_id:int}/download")
    async def download(
        self, clips: CLIPS, slug: FromPath[str], consent_id: FromPath[int]
    ) -> Stream:
        """Everything held about one person (UK GDPR access), as a ZIP."""
        record = await service.export(clips.db, slug, consent_id)
        return Stream(
            _zip(record, clips.store),
            media_type="application/zip",
            headers={
                "Content-Disposition": f'attachment; filename="interviewee-{consent_id}.zip"',
                "Cache-Control": "no-store",
            },
        )

    @get("/consents/{consent_id:int}/erase")
    async def confirm_erase(
        self, request: AnyRequest, db: DB, slug: FromPath[str], consent_id: FromPath[int]
    ) -> Template:
        return _page(request, "erase.html", **await _consent_view(db, slug, consent_id))

    @post("/consents/{consent_id:int}/erase", status_code=303)
    async def erase(
        self, request: AnyRequest, clips: CLIPS, slug: FromPath[str], consent_id: FromPath[int]
    ) -> Response[Any]:
        try:
            await service.erase(clips.db, clips.jobs, identity_of(request), slug, consent_id)
        except FestivalError as error:
            context = await _consent_view(clips.db, slug, consent_id)
            return _page(request, "erase.html", error=error, **context)
        return _done(f"{_home(slug)}/consents/{consent_id}", "erased")

    # --- the audit log --------------------------------------------------------------------

    @get("/audit")
    async def audit(
        self,
        request: AnyRequest,
        db: DB,
        slug: FromPath[str],
        consent: FromQuery[str] = "",
        clip: FromQuery[str] = "",
    ) -> Template:
        return await _audit_page(request, db, slug, consent, clip)

    # --- publication rules ----------------------------------------------------------------

    @get("/publication-rules")
    async def rules(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Template:
        rules = await service.get_rules(db, slug)
        values = {
            "require_review": rules.require_review,
            "require_captions": rules.require_captions,
            "unconsented_days": str(rules.unconsented_days),
        }
        return _page(
            request,
            "rules.html",
            festival=await programme_service.get_festival(db, slug),
            values=values,
        )

    @post("/publication-rules", status_code=303)
    async def update_rules(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Response[Any]:
        form = await request.form()
        try:
            await service.update_rules(db, slug, _rules_patch(form))
        except FestivalError as error:
            values: dict[str, Any] = typed(form)
            for name in ("require_review", "require_captions"):
                values[name] = name in form
            return _page(
                request,
                "rules.html",
                error=error,
                labels=RULES_LABELS,
                festival=await programme_service.get_festival(db, slug),
                values=values,
            )
        return _done(f"{_home(slug)}/publication-rules", "rules-saved")
