"""Consent on the volunteer's phone: the person being filmed reads the form and chooses.

The volunteer opens ``/volunteer/consent/new`` (from a slot, usually) and hands the phone
over. The form is easy read by default, one line and one picture per idea; the plain
language version is one tap away (``?variant=plain``). Whichever the person read is what
is posted back (``form_version``, ``form_variant``), so the exact text shown is the text
kept with their consent.

The answer to the post is the page with the person's private link, as a QR code and as
text. It is rendered in that response, never behind a redirect: only the link's hash is
stored, so this is the one moment it can be shown. Then the phone goes back to the
volunteer, whose next step is the upload for this consent (``/volunteer/upload?consent=``).

A consent recorded without an upload can be linked to a clip afterwards, from the
volunteer's clips (``/volunteer/consent/link?clip=``).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from festival.accounts.schemas import Identity
from festival.auth import identity_of
from festival.clips import service as clip_service
from festival.clips.schemas import Clip
from festival.clips.service import ClipServices
from festival.consent import forms, service
from festival.consent.schemas import Consent, ConsentCreated
from festival.consent.service import Form
from festival.crew import service as crew
from festival.crew.schemas import LIVE_STATUSES, MySlot
from festival.db.engine import Database
from festival.errors import BadRequest, FestivalError, FieldError, Invalid, NotFound, Unauthorized
from festival.formatting import clock, long_date
from festival.programme import service as programme
from festival.programme.forms import error_view
from festival.programme.schemas import Festival
from festival.settings import Settings

DB = NamedDependency[Database]
SETTINGS = NamedDependency[Settings]
AnyRequest = Request[Any, Any, Any]
NEW = "/volunteer/consent/new"
LINK = "/volunteer/consent/link"
#: Private pages: never cached, and the link on them never leaks through a Referer.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
LINK_LABELS = {"consent_id": "Consent"}


def witness(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: a volunteer or a member of staff, the people who witness consent."""
    if identity_of(connection).is_anonymous:
        raise Unauthorized(
            "Open the invite link festival staff sent you to record consent.",
            fix="Use your invite link, or sign in as festival staff.",
            headers={"WWW-Authenticate": 'Bearer realm="festival"'},
        )


class Witnessing(msgspec.Struct, kw_only=True):
    """Where a consent from this phone goes: the festival, and the slot it is for."""

    festival_slug: str = ""
    festival_name: str = ""
    timezone: str = "Europe/London"
    slot: MySlot | None = None
    #: Why the slot asked for is not used, in plain words ("" when it is, or none was).
    slot_problem: str = ""
    #: Staff choose the festival; a volunteer belongs to one.
    festivals: list[Festival] = []


async def _witnessing(
    db: Database, settings: Settings, identity: Identity, slot: str, festival: str
) -> Witnessing:
    if identity.is_staff:
        festivals = await programme.list_festivals(db)
        chosen = next((f for f in festivals if f.slug == festival), None)
        if chosen is None and len(festivals) == 1:
            chosen = festivals[0]
        found = Witnessing(festivals=festivals)
        if chosen is not None:
            found.festival_slug, found.festival_name = chosen.slug, chosen.name
            found.timezone = chosen.timezone
        return found
    day = await crew.my_day(db, identity, settings.base_url, settings.secret_key)
    found = Witnessing(
        festival_slug=day.festival_slug, festival_name=day.festival_name, timezone=day.timezone
    )
    if slot:
        found.slot = next(
            (
                mine
                for mine in day.slots
                if str(mine.slot.id) == slot and mine.assignment.status in LIVE_STATUSES
            ),
            None,
        )
        if found.slot is None:
            found.slot_problem = (
                "That slot is not one of yours, so this consent is not linked to a slot."
            )
    return found


def _chosen_form(version: str, variant: str) -> tuple[Form, str]:
    """The form and wording asked for; the newest form in easy read otherwise."""
    shown = service.form()
    if version.isdigit() and len(version) < 7 and int(version) != shown.version:
        with suppress(FestivalError):  # a version that never was: show the newest
            shown = service.form(int(version))
    return shown, variant if variant in forms.VARIANTS else "easy-read"


def _address(path: str, **query: object) -> str:
    given = {k: v for k, v in query.items() if v not in (None, "")}
    return f"{path}?{urlencode(given)}" if given else path


def _form_page(
    request: AnyRequest,
    where: Witnessing,
    shown: Form,
    variant: str,
    *,
    values: Mapping[str, Any] | None = None,
    error: FestivalError | None = None,
) -> Template:
    identity = identity_of(request)
    view = error_view(error, forms.LABELS, forms.ANCHORS) if error else None
    slot_id = where.slot.slot.id if where.slot else None
    festival = where.festival_slug if identity.is_staff else None
    title, paragraphs = forms.plain_parts(shown)
    return Template(
        "consent/capture_form.html",
        context={
            "error": view,
            "errors": view.fields if view else {},
            "values": {**forms.DEFAULTS, **(values or {})},
            "where": where,
            "is_staff": identity.is_staff,
            "shown": shown,
            "variant": variant,
            "title": title or "Filming your interview",
            "paragraphs": paragraphs,
            "words": forms.WORDS[variant],
            "plain_url": _address(NEW, slot=slot_id, festival=festival, variant="plain"),
            "easy_url": _address(NEW, slot=slot_id, festival=festival),
        },
        status_code=error.status if error else 200,
        headers={**PRIVATE, **(error.headers if error else {})},
    )


def _posted(form: FormMultiDict) -> dict[str, Any]:
    """The posted form as a plain dict, with every ticked scope (a repeated field)."""
    values: dict[str, Any] = {k: v for k, v in form.items() if k != "scopes"}
    values["scopes"] = [str(s) for s in form.getall("scopes", [])]
    return values


def _qr_inline(svg: str) -> str:
    """The QR code's SVG as an element for the page: without its XML declaration."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else ""


def _done_page(
    request: AnyRequest, where: Witnessing, created: ConsentCreated, variant: str
) -> Template:
    consent = created.consent
    slot_id = where.slot.slot.id if where.slot else None
    festival = where.festival_slug if identity_of(request).is_staff else None
    return Template(
        "consent/capture_done.html",
        context={
            "where": where,
            "is_staff": identity_of(request).is_staff,
            "consent": consent,
            "review_url": created.review_url,
            "qr_svg": _qr_inline(created.qr_svg),
            "words": forms.WORDS[variant],
            "upload_url": _address("/volunteer/upload", slot=slot_id, consent=consent.id),
            "another_url": _address(NEW, slot=slot_id, festival=festival),
        },
        headers=PRIVATE,
    )


# --- linking afterwards ---------------------------------------------------------------


class Choice(msgspec.Struct):
    value: int
    label: str


def _label(consent: Consent, timezone: str) -> str:
    given = consent.given_at
    return (
        f"Number {consent.id}: {consent.credit_line}, "
        f"{clock(given, timezone)} on {long_date(given, timezone)}"
    )


async def _link_page(
    request: AnyRequest,
    db: Database,
    clip_id: int | None,
    *,
    error: FestivalError | None = None,
    chosen: str = "",
) -> Template:
    """The clip and the consents its filmer witnessed; on a refusal, the reason (the clip
    itself is shown only to whoever may see it)."""
    identity = identity_of(request)
    clip: Clip | None = None
    if clip_id is not None:
        try:
            clip = await clip_service.get_clip(db, identity, clip_id)
        except NotFound as missing:
            error = error or missing
    timezone = "Europe/London"
    if clip is not None:
        for festival in await programme.list_festivals(db):
            if festival.id == clip.festival_id:
                timezone = festival.timezone
    witnessed = await service.witnessed_by(db, identity) if clip is not None else []
    linked = [c for c in witnessed if clip is not None and clip.id in c.clip_ids]
    usable = [
        Choice(c.id, _label(c, timezone))
        for c in witnessed
        if c not in linked and c.state not in ("withdrawn", "expired")
    ]
    view = error_view(error, LINK_LABELS) if error else None
    return Template(
        "consent/capture_link.html",
        context={
            "error": view,
            "errors": view.fields if view else {},
            "values": {"consent_id": chosen},
            "is_staff": identity.is_staff,
            "clip": clip,
            "linked": [Choice(c.id, _label(c, timezone)) for c in linked],
            "choices": [(c.value, c.label) for c in usable],
        },
        status_code=error.status if error else 200,
        headers={"Cache-Control": "no-store", **(error.headers if error else {})},
    )


def _number(value: object, field: str) -> int:
    text = str(value or "")
    if not text.isdigit() or len(text) > 15 or int(text) < 1:
        raise BadRequest.field(field, "must be a number")
    return int(text)


class ConsentCapturePages(Controller):
    path = "/"
    include_in_schema = False

    @get(NEW, guards=[witness])
    async def new(
        self,
        request: AnyRequest,
        db: DB,
        settings: SETTINGS,
        slot: FromQuery[str | None] = None,
        festival: FromQuery[str | None] = None,
        variant: FromQuery[str | None] = None,
    ) -> Template:
        """The form, easy read unless ``?variant=plain``."""
        where = await _witnessing(db, settings, identity_of(request), slot or "", festival or "")
        shown, chosen = _chosen_form("", variant or "")
        return _form_page(request, where, shown, chosen)

    @post(NEW, guards=[witness], status_code=200)
    async def record(
        self,
        request: AnyRequest,
        db: DB,
        clips: NamedDependency[ClipServices],
        settings: SETTINGS,
    ) -> Template:
        """Record the choices; the answer shows the private link, once."""
        identity = identity_of(request)
        values = _posted(await request.form())
        where = await _witnessing(
            db,
            settings,
            identity,
            str(values.get("slot") or ""),
            str(values.get("festival") or ""),
        )
        shown, variant = _chosen_form(
            str(values.get("form_version") or ""), str(values.get("form_variant") or "")
        )
        try:
            data = forms.consent_in(values, datetime.now(UTC).date())
            if not where.festival_slug:
                raise Invalid(
                    "festival: Choose the festival",
                    errors=[FieldError("festival", "Choose the festival")],
                )
            created = await service.record_consent(
                db, identity, where.festival_slug, data, settings.base_url, mail=clips.mail
            )
        except FestivalError as error:
            return _form_page(
                request,
                where,
                shown,
                variant,
                values=forms.typed(values),
                error=forms.for_form(error),
            )
        return _done_page(request, where, created, variant)

    @get(LINK, guards=[witness])
    async def link_page(self, request: AnyRequest, db: DB, clip: FromQuery[str] = "") -> Template:
        """Choose which of the consents you witnessed belongs to one of your clips."""
        try:
            clip_id = _number(clip, "clip")
        except FestivalError as error:
            return await _link_page(request, db, None, error=error)
        return await _link_page(request, db, clip_id)

    @post(LINK, guards=[witness], status_code=303)
    async def link(self, request: AnyRequest, db: DB) -> Response[Any]:
        form = await request.form()
        clip_id: int | None = None
        chosen = str(form.get("consent_id") or "")
        try:
            clip_id = _number(form.get("clip_id"), "clip_id")
            if not chosen:
                raise Invalid.field("consent_id", "Choose the consent of the person in the clip")
            consent_id = _number(chosen, "consent_id")
            await service.link_consent(db, identity_of(request), clip_id, consent_id)
        except FestivalError as error:
            return await _link_page(request, db, clip_id, error=error, chosen=chosen)
        return Redirect(f"/volunteer/clips?{urlencode({'linked': consent_id})}", status_code=303)
