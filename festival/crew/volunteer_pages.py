"""The volunteer's phone pages (server-rendered; every button works without JavaScript).

A volunteer arrives through the invite link festival staff sent them. Opening it starts a
browser session (the same cookie staff sign-in sets) and lands on ``/volunteer``: their next
slot first, then the rest. Every button there is a small form posting to one action; a done
action comes back (303) to ``/volunteer?done=<key>``, shown as a notice, and a refusal from
the service shows the page again with an error summary under the error's own status code.

A link that no longer works is answered here with a page of its own rather than the generic
error page, which would offer the staff sign-in: a volunteer needs a new link instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from festival.auth import SESSION_COOKIE, identity_of, volunteer_only
from festival.crew import forms, service
from festival.crew.schemas import STATUS_WORDS, MyDay, MySlot, Volunteer
from festival.db.engine import Database
from festival.errors import FestivalError, NotFound
from festival.programme import service as programme
from festival.programme.forms import error_view
from festival.programme.schemas import Festival
from festival.settings import Settings

DB = NamedDependency[Database]
SETTINGS = NamedDependency[Settings]
AnyRequest = Request[Any, Any, Any]
VOLUNTEER = [volunteer_only]
HOME = "/volunteer"

#: ``?done=`` keys and the notice each shows. Only these texts are ever shown.
DONE = {
    "accepted": "You have accepted the slot. Thank you.",
    "declined": "You have declined the slot. Festival staff can see your reason.",
    "checked-in": "You are checked in. Enjoy the interviews.",
    "signed-up": "The slot is yours. It is now in your list below.",
    "wished": "Thank you. Festival staff will see that you would like that slot.",
    "unwished": "That slot is no longer on your list of wishes.",
    "left": "You have left the slot.",
    "calendar": "You have a new calendar link. The old one no longer works.",
    "profile": "Your details have been saved.",
    "availability": "The times you are free have been saved.",
}
#: What every interviewer brings to a slot.
BRING = (
    "Your phone, charged, with space for video",
    "The consent cards",
    "A power bank and its cable",
)
#: The tag colour for each status word.
TAGS = {
    "assigned": "tag--assigned",
    "accepted": "",
    "checked_in": "tag--published",
    "declined": "tag--cancelled",
    "no_show": "tag--cancelled",
}


def _page(
    request: AnyRequest,
    template: str,
    *,
    error: FestivalError | None = None,
    labels: Mapping[str, str] | None = None,
    **context: Any,
) -> Template:
    """A volunteer page; with ``error``, shown again with the error and its status."""
    view = error_view(error, labels or {}) if error else None
    context.setdefault("values", {})
    return Template(
        f"volunteer/{template}",
        context={
            "error": view,
            "errors": view.fields if view else {},
            "notice": DONE.get(request.query_params.get("done", "")),
            **context,
        },
        status_code=error.status if error else 200,
        headers={"Cache-Control": "no-store", **(error.headers if error else {})},
    )


def _done(key: str) -> Redirect:
    return Redirect(f"{HOME}?done={key}", status_code=303)


def webcal(url: str) -> str:
    """The same feed for calendar apps that subscribe on a tap (``webcal://``)."""
    return "webcal://" + url.split("://", 1)[-1]


def day_context(day: MyDay, now: datetime) -> dict[str, Any]:
    """What the day page shows besides the next slot: the others, coming then past."""
    next_id = day.next_slot.assignment.id if day.next_slot else None
    others = [m for m in day.slots if m.assignment.id != next_id]
    return {
        "day": day,
        "now": now,
        "coming": [m for m in others if m.slot.ends_at >= now],
        "past": [m for m in others if m.slot.ends_at < now],
        "webcal_url": webcal(day.calendar_url),
        "bring": BRING,
        "words": STATUS_WORDS,
        "tags": TAGS,
    }


def _find(day: MyDay, assignment_id: int) -> MySlot:
    for mine in day.slots:
        if mine.assignment.id == assignment_id:
            return mine
    raise NotFound(
        "This is not one of your slots.",
        fix="Go back to your slots and choose one from there.",
    )


def _profile_values(volunteer: Volunteer) -> dict[str, Any]:
    return {
        "display_name": volunteer.display_name,
        "pronouns": volunteer.pronouns,
        "phone": volunteer.phone,
        "access_needs": volunteer.access_needs,
    }


async def _my_day(request: AnyRequest, db: Database, settings: Settings) -> MyDay:
    return await service.my_day(db, identity_of(request), settings.base_url, settings.secret_key)


async def _festival(request: AnyRequest, db: Database, settings: Settings) -> Festival:
    """The volunteer's festival: its days and time zone frame the availability form."""
    day = await _my_day(request, db, settings)
    return await programme.get_festival(db, day.festival_slug)


async def _day_page(
    request: AnyRequest, db: Database, settings: Settings, error: FestivalError | None = None
) -> Template:
    day = await _my_day(request, db, settings)
    return _page(request, "day.html", error=error, **day_context(day, datetime.now(UTC)))


async def _decline_page(
    request: AnyRequest,
    db: Database,
    settings: Settings,
    assignment_id: int,
    *,
    error: FestivalError | None = None,
    values: dict[str, Any] | None = None,
) -> Template:
    day = await _my_day(request, db, settings)
    return _page(
        request,
        "decline.html",
        error=error,
        labels=forms.DECLINE_LABELS,
        mine=_find(day, assignment_id),
        **day_context(day, datetime.now(UTC)),
        values=values or {},
    )


def _availability_page(
    request: AnyRequest,
    festival: Festival,
    rows: list[forms.Row],
    *,
    error: FestivalError | None = None,
) -> Template:
    return _page(
        request,
        "availability.html",
        error=error,
        labels=forms.row_labels(len(rows)),
        festival=festival,
        rows=rows,
        values=forms.row_values(rows),
    )


async def _act(
    request: AnyRequest, db: Database, settings: Settings, action: Awaitable[object], done: str
) -> Response[Any]:
    """Run one volunteer action: back to the day page with a notice, or with the error."""
    try:
        await action
    except FestivalError as error:
        return await _day_page(request, db, settings, error)
    return _done(done)


class VolunteerPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/volunteers/invite/{token:str}")
    async def invite(
        self, request: AnyRequest, db: DB, settings: SETTINGS, token: FromPath[str]
    ) -> Response[Any]:
        """The invite link: a browser session for the volunteer, then their day."""
        client = request.client.host if request.client else "unknown"
        try:
            session = await service.sign_in_with_invite(
                db, token, settings.session_max_age, client=client
            )
        except FestivalError as error:
            return Template(
                "volunteer/invite_problem.html",
                context={"problem": error},
                status_code=error.status,
                headers={**error.headers, "Referrer-Policy": "no-referrer"},
            )
        response = Redirect(HOME, status_code=303)
        response.headers["Referrer-Policy"] = "no-referrer"
        response.set_cookie(
            SESSION_COOKIE,
            session.token,
            max_age=settings.session_max_age,
            httponly=True,
            secure=settings.secure_cookies,
            samesite="lax",
        )
        return response

    @get("/volunteer", guards=VOLUNTEER)
    async def day(self, request: AnyRequest, db: DB, settings: SETTINGS) -> Template:
        return await _day_page(request, db, settings)

    # --- answering for a slot ----------------------------------------------------------

    @post("/volunteer/assignments/{assignment_id:int}/accept", guards=VOLUNTEER, status_code=303)
    async def accept(
        self, request: AnyRequest, db: DB, settings: SETTINGS, assignment_id: FromPath[int]
    ) -> Response[Any]:
        action = service.accept(db, identity_of(request), assignment_id)
        return await _act(request, db, settings, action, "accepted")

    @get("/volunteer/assignments/{assignment_id:int}/decline", guards=VOLUNTEER)
    async def decline_page(
        self, request: AnyRequest, db: DB, settings: SETTINGS, assignment_id: FromPath[int]
    ) -> Template:
        return await _decline_page(request, db, settings, assignment_id)

    @post("/volunteer/assignments/{assignment_id:int}/decline", guards=VOLUNTEER, status_code=303)
    async def decline(
        self, request: AnyRequest, db: DB, settings: SETTINGS, assignment_id: FromPath[int]
    ) -> Response[Any]:
        form = await request.form()
        try:
            await service.decline(db, identity_of(request), assignment_id, forms.decline_in(form))
        except FestivalError as error:
            typed = {"reason": str(form.get("reason") or "")}
            try:
                return await _decline_page(
                    request, db, settings, assignment_id, error=error, values=typed
                )
            except NotFound:  # not theirs: the day page says why
                return await _day_page(request, db, settings, error)
        return _done("declined")

    @post("/volunteer/assignments/{assignment_id:int}/check-in", guards=VOLUNTEER, status_code=303)
    async def check_in(
        self, request: AnyRequest, db: DB, settings: SETTINGS, assignment_id: FromPath[int]
    ) -> Response[Any]:
        action = service.check_in(db, identity_of(request), assignment_id)
        return await _act(request, db, settings, action, "checked-in")

    @post("/volunteer/slots/{slot_id:int}/sign-up", guards=VOLUNTEER, status_code=303)
    async def sign_up(
        self, request: AnyRequest, db: DB, settings: SETTINGS, slot_id: FromPath[int]
    ) -> Response[Any]:
        action = service.sign_up(db, identity_of(request), slot_id)
        return await _act(request, db, settings, action, "signed-up")

    @post("/volunteer/slots/{slot_id:int}/wish", guards=VOLUNTEER, status_code=303)
    async def wish(
        self, request: AnyRequest, db: DB, settings: SETTINGS, slot_id: FromPath[int]
    ) -> Response[Any]:
        action = service.wish_for_slot(db, identity_of(request), slot_id, True)
        return await _act(request, db, settings, action, "wished")

    @post("/volunteer/slots/{slot_id:int}/unwish", guards=VOLUNTEER, status_code=303)
    async def unwish(
        self, request: AnyRequest, db: DB, settings: SETTINGS, slot_id: FromPath[int]
    ) -> Response[Any]:
        action = service.wish_for_slot(db, identity_of(request), slot_id, False)
        return await _act(request, db, settings, action, "unwished")

    @post("/volunteer/slots/{slot_id:int}/leave", guards=VOLUNTEER, status_code=303)
    async def leave(
        self, request: AnyRequest, db: DB, settings: SETTINGS, slot_id: FromPath[int]
    ) -> Response[Any]:
        action = service.leave(db, identity_of(request), slot_id)
        return await _act(request, db, settings, action, "left")

    @post("/volunteer/calendar-link", guards=VOLUNTEER, status_code=303)
    async def new_calendar_link(
        self, request: AnyRequest, db: DB, settings: SETTINGS
    ) -> Response[Any]:
        action = service.new_calendar_link(
            db, identity_of(request), settings.base_url, settings.secret_key
        )
        return await _act(request, db, settings, action, "calendar")

    # --- their details and when they are free ------------------------------------------

    @get("/volunteer/profile", guards=VOLUNTEER)
    async def profile(self, request: AnyRequest, db: DB) -> Template:
        volunteer = await service.my_profile(db, identity_of(request))
        return _page(
            request, "profile.html", volunteer=volunteer, values=_profile_values(volunteer)
        )

    @post("/volunteer/profile", guards=VOLUNTEER, status_code=303)
    async def update_profile(self, request: AnyRequest, db: DB) -> Response[Any]:
        form = await request.form()
        try:
            await service.update_profile(db, identity_of(request), forms.profile_in(form))
        except FestivalError as error:
            return _page(
                request,
                "profile.html",
                error=error,
                labels=forms.PROFILE_LABELS,
                volunteer=await service.my_profile(db, identity_of(request)),
                values={name: str(form.get(name) or "") for name in forms.PROFILE_LABELS},
            )
        return _done("profile")

    @get("/volunteer/availability", guards=VOLUNTEER)
    async def availability(self, request: AnyRequest, db: DB, settings: SETTINGS) -> Template:
        festival = await _festival(request, db, settings)
        saved = await service.get_availability(db, identity_of(request))
        rows = forms.rows_from_windows(saved.windows, festival.timezone)
        rows += [forms.Row() for _ in range(forms.BLANK_ROWS)]
        return _availability_page(request, festival, rows)

    @post("/volunteer/availability", guards=VOLUNTEER, status_code=303)
    async def set_availability(
        self, request: AnyRequest, db: DB, settings: SETTINGS
    ) -> Response[Any]:
        festival = await _festival(request, db, settings)
        rows = forms.read_rows(await request.form())
        try:
            data = forms.availability_in(rows, festival.days, festival.timezone)
            await service.set_availability(db, identity_of(request), data)
        except FestivalError as error:
            error = forms.for_rows(error, rows)
            return _availability_page(request, festival, rows, error=error)
        return _done("availability")
