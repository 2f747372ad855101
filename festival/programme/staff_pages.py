"""Staff pages for building the programme (server-rendered forms).

Every page needs a staff identity. Someone not signed in is sent to the sign-in page and
brought back afterwards; a signed-in volunteer is refused by :func:`staff_only`. Guards run
before ``before_request`` hooks in Litestar, so the redirect is this controller's handler
for the guard's :class:`Unauthorized` rather than a hook.

Forms post back to their own address. A save redirects (303) to the festival overview with
``?saved=<key>``, shown as a notice; any :class:`FestivalError` shows the same form again
with what was typed, an error summary and a message beside each field named.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from itertools import groupby
from typing import Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from festival.auth import staff_only
from festival.db.engine import Database
from festival.errors import FestivalError, Unauthorized
from festival.formatting import clock, local
from festival.programme import forms, service
from festival.programme.forms import BLANK_ROWS
from festival.programme.schemas import (
    KINDS,
    STATUSES,
    Festival,
    Person,
    Programme,
    Room,
    Session,
    Venue,
)

DB = NamedDependency[Database]
AnyRequest = Request[Any, Any, Any]

#: ``?saved=`` keys and the notice each shows. Only these texts are ever shown.
SAVED = {
    "festival-created": "The festival has been created.",
    "festival-saved": "The festival's details have been saved.",
    "festival-deleted": "The festival has been deleted.",
    "venue-added": "The venue has been added.",
    "venue-saved": "The venue has been saved.",
    "venue-deleted": "The venue has been deleted.",
    "room-added": "The room has been added.",
    "room-saved": "The room has been saved.",
    "room-deleted": "The room has been deleted.",
    "person-added": "The co-producer has been added.",
    "person-saved": "The co-producer has been saved.",
    "person-deleted": "The co-producer has been removed.",
    "session-added": "The session has been added.",
    "session-saved": "The session has been saved.",
    "session-deleted": "The session has been deleted.",
}
KIND_LABELS = {
    "talk": "Talk",
    "workshop": "Workshop",
    "panel": "Panel",
    "film": "Film",
    "break": "Break",
}
STATUS_LABELS = {
    "draft": ("Draft", "Only staff can see it."),
    "published": ("Published", "Shown in the public programme."),
    "cancelled": ("Cancelled", "Shown as cancelled. The room and the people are free again."),
}
ROLE_LABELS = {
    "experience": "Expert by experience",
    "profession": "Expert by profession",
    "both": "Both",
}
SESSION_ANCHORS = {
    "kind": f"kind-{KINDS[0]}",
    "status": f"status-{STATUSES[0]}",
    "co_producers": "co_producers-0-person_id",
}


def sign_in_first(request: AnyRequest, _: Unauthorized) -> Response[Any]:
    """Send someone who is not signed in to the sign-in page, to come back here after."""
    target = request.url.path
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    return Redirect(f"/staff/sign-in?next={quote(target, safe='/')}", status_code=303)


def _done(path: str, key: str) -> Redirect:
    return Redirect(f"{path}?saved={key}", status_code=303)


def _home(slug: str) -> str:
    return f"/staff/festivals/{slug}"


def _page(
    request: AnyRequest,
    template: str,
    *,
    error: FestivalError | None = None,
    labels: Mapping[str, str] | None = None,
    anchors: Mapping[str, str] | None = None,
    **context: Any,
) -> Template:
    """A staff page; with ``error``, the form again with the error shown and its status."""
    view = forms.error_view(error, labels or {}, anchors) if error else None
    context.setdefault("values", {})
    return Template(
        f"staff/{template}",
        context={
            "error": view,
            "errors": view.fields if view else {},
            "notice": SAVED.get(request.query_params.get("saved", "")),
            **context,
        },
        status_code=error.status if error else 200,
        headers=error.headers if error else None,
    )


def by_day(sessions: list[Session], timezone: str) -> list[tuple[date, list[Session]]]:
    """Sessions (already in programme order) grouped by their local day."""
    return [
        (day, list(items))
        for day, items in groupby(sessions, key=lambda s: local(s.starts_at, timezone).date())
    ]


# --- values that fill a form for an edit ---------------------------------------------------


def festival_values(festival: Festival) -> dict[str, Any]:
    return {
        "name": festival.name,
        "slug": festival.slug,
        "starts_on": festival.starts_on.isoformat(),
        "ends_on": festival.ends_on.isoformat(),
        "timezone": festival.timezone,
        "description": festival.description,
    }


def venue_values(venue: Venue) -> dict[str, Any]:
    return {
        "name": venue.name,
        "address": venue.address,
        "online": venue.online,
        "directions": venue.directions,
    }


def room_values(room: Room) -> dict[str, Any]:
    return {
        "venue_id": str(room.venue_id),
        "name": room.name,
        "capacity": "" if room.capacity is None else str(room.capacity),
        "join_url": room.join_url,
        "step_free": room.step_free,
        "hearing_loop": room.hearing_loop,
        "bsl_interpretation": room.bsl_interpretation,
        "quiet_room": room.quiet_room,
        "access_notes": room.access_notes,
    }


def person_values(person: Person) -> dict[str, Any]:
    return {"name": person.name, "organisation": person.organisation}


def session_values(session: Session, timezone: str) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": session.title,
        "summary": session.summary,
        "kind": session.kind,
        "track": session.track,
        "room_id": str(session.room.id),
        "day": local(session.starts_at, timezone).date().isoformat(),
        "starts_at": clock(session.starts_at, timezone),
        "ends_at": clock(session.ends_at, timezone),
        "language": session.language,
        "access_notes": session.access_notes,
        "do_not_film": session.do_not_film,
        "status": session.status,
    }
    for index, person in enumerate(session.co_producers):
        values[f"co_producers-{index}-person_id"] = str(person.person_id)
        values[f"co_producers-{index}-role"] = person.role
    return values


def _rows_typed(form: Mapping[str, Any]) -> int:
    """Rows to show again: those sent, with room for ``BLANK_ROWS`` more after the last
    filled one."""
    sent = forms.row_count(form)
    filled = [i for i in range(sent) if str(form.get(f"co_producers-{i}-person_id") or "")]
    return max(sent, (filled[-1] + 1 if filled else 0) + BLANK_ROWS)


def _delete_festival(festival: Festival) -> dict[str, Any]:
    return {
        "festival": festival,
        "thing": "festival",
        "name": festival.name,
        "warning": "Its venues, rooms, co-producers and every session go with it. "
        "This cannot be undone.",
        "back": _home(festival.slug),
    }


async def _delete_venue(db: Database, slug: str, venue_id: int) -> dict[str, Any]:
    venue = await service.get_venue(db, slug, venue_id)
    rooms = len(venue.rooms)
    return {
        "festival": await service.get_festival(db, slug),
        "thing": "venue",
        "name": venue.name,
        "warning": (f"Its {rooms} room(s) go with it. " if rooms else "")
        + "A venue whose rooms have sessions cannot be deleted.",
        "back": _home(slug),
    }


async def _delete_room(db: Database, slug: str, room_id: int) -> dict[str, Any]:
    room = await service.get_room(db, slug, room_id)
    return {
        "festival": await service.get_festival(db, slug),
        "thing": "room",
        "name": room.label,
        "warning": "A room that has sessions cannot be deleted: move them first.",
        "back": _home(slug),
    }


async def _delete_person(db: Database, slug: str, person_id: int) -> dict[str, Any]:
    person = await service.get_person(db, slug, person_id)
    return {
        "festival": await service.get_festival(db, slug),
        "thing": "co-producer",
        "name": person.name,
        "warning": "Someone who co-produces a session cannot be removed: "
        "take them off the session first.",
        "back": _home(slug),
    }


def _session_form(
    request: AnyRequest,
    programme: Programme,
    values: dict[str, Any],
    rows: int,
    *,
    session: Session | None = None,
    error: FestivalError | None = None,
) -> Template:
    return _page(
        request,
        "session_form.html",
        error=error,
        labels=forms.SESSION_LABELS,
        anchors=SESSION_ANCHORS,
        programme=programme,
        festival=programme.festival,
        session=session,
        values=values,
        rows=rows,
        kinds=KIND_LABELS,
        statuses=STATUS_LABELS,
        roles=ROLE_LABELS,
    )


async def _delete_session(db: Database, slug: str, session_id: int) -> dict[str, Any]:
    session = await service.get_session(db, slug, session_id, include_drafts=True)
    return {
        "festival": await service.get_festival(db, slug),
        "thing": "session",
        "name": session.title,
        "warning": "If people already know about it, you could mark it cancelled instead: "
        "the programme then shows it as cancelled.",
        "back": _home(slug),
    }


class StaffProgrammePages(Controller):
    path = "/staff"
    include_in_schema = False
    guards = [staff_only]
    exception_handlers = {Unauthorized: sign_in_first}

    # --- dashboard and festivals -----------------------------------------------------------

    @get("/")
    async def dashboard(self, request: AnyRequest, db: DB) -> Template:
        return _page(request, "dashboard.html", festivals=await service.list_festivals(db))

    @get("/festivals/new")
    async def new_festival(self, request: AnyRequest) -> Template:
        return _page(request, "festival_form.html", values={"timezone": "Europe/London"})

    @post("/festivals/new", status_code=303)
    async def create_festival(self, request: AnyRequest, db: DB) -> Response[Any]:
        form = await request.form()
        try:
            festival = await service.create_festival(db, forms.festival_in(form))
        except FestivalError as error:
            return _page(
                request,
                "festival_form.html",
                error=error,
                labels=forms.FESTIVAL_LABELS,
                values=forms.typed(form),
            )
        return _done(_home(festival.slug), "festival-created")

    @get("/festivals/{slug:str}")
    async def festival(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Template:
        programme = await service.programme(db, slug, include_drafts=True)
        return _page(
            request,
            "festival.html",
            programme=programme,
            festival=programme.festival,
            days=by_day(programme.sessions, programme.festival.timezone),
            kinds=KIND_LABELS,
            statuses=STATUS_LABELS,
        )

    @get("/festivals/{slug:str}/edit")
    async def edit_festival(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Template:
        festival = await service.get_festival(db, slug)
        return _page(
            request, "festival_form.html", festival=festival, values=festival_values(festival)
        )

    @post("/festivals/{slug:str}/edit", status_code=303)
    async def update_festival(
        self, request: AnyRequest, db: DB, slug: FromPath[str]
    ) -> Response[Any]:
        form = await request.form()
        try:
            festival = await service.update_festival(db, slug, forms.festival_patch(form))
        except FestivalError as error:
            return _page(
                request,
                "festival_form.html",
                error=error,
                labels=forms.FESTIVAL_LABELS,
                festival=await service.get_festival(db, slug),
                values=forms.typed(form),
            )
        return _done(_home(festival.slug), "festival-saved")

    @get("/festivals/{slug:str}/delete")
    async def confirm_delete_festival(
        self, request: AnyRequest, db: DB, slug: FromPath[str]
    ) -> Template:
        return _page(
            request, "delete.html", **_delete_festival(await service.get_festival(db, slug))
        )

    @post("/festivals/{slug:str}/delete", status_code=303)
    async def delete_festival(
        self, request: AnyRequest, db: DB, slug: FromPath[str]
    ) -> Response[Any]:
        try:
            await service.delete_festival(db, slug)
        except FestivalError as error:
            festival = await service.get_festival(db, slug)
            return _page(request, "delete.html", error=error, **_delete_festival(festival))
        return _done("/staff", "festival-deleted")

    # --- venues ------------------------------------------------------------------------------

    @get("/festivals/{slug:str}/venues/new")
    async def new_venue(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Template:
        festival = await service.get_festival(db, slug)
        return _page(request, "venue_form.html", festival=festival)

    @post("/festivals/{slug:str}/venues/new", status_code=303)
    async def create_venue(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Response[Any]:
        form = await request.form()
        try:
            await service.create_venue(db, slug, forms.venue_in(form))
        except FestivalError as error:
            return _page(
                request,
                "venue_form.html",
                error=error,
                labels=forms.VENUE_LABELS,
                festival=await service.get_festival(db, slug),
                values=forms.typed(form),
            )
        return _done(_home(slug), "venue-added")

    @get("/festivals/{slug:str}/venues/{venue_id:int}/edit")
    async def edit_venue(
        self, request: AnyRequest, db: DB, slug: FromPath[str], venue_id: FromPath[int]
    ) -> Template:
        festival = await service.get_festival(db, slug)
        venue = await service.get_venue(db, slug, venue_id)
        return _page(
            request, "venue_form.html", festival=festival, venue=venue, values=venue_values(venue)
        )

    @post("/festivals/{slug:str}/venues/{venue_id:int}/edit", status_code=303)
    async def update_venue(
        self, request: AnyRequest, db: DB, slug: FromPath[str], venue_id: FromPath[int]
    ) -> Response[Any]:
        form = await request.form()
        try:
            await service.update_venue(db, slug, venue_id, forms.venue_patch(form))
        except FestivalError as error:
            return _page(
                request,
                "venue_form.html",
                error=error,
                labels=forms.VENUE_LABELS,
                festival=await service.get_festival(db, slug),
                venue=await service.get_venue(db, slug, venue_id),
                values=forms.typed(form),
            )
        return _done(_home(slug), "venue-saved")

    @get("/festivals/{slug:str}/venues/{venue_id:int}/delete")
    async def confirm_delete_venue(
        self, request: AnyRequest, db: DB, slug: FromPath[str], venue_id: FromPath[int]
    ) -> Template:
        context = await _delete_venue(db, slug, venue_id)
        return _page(request, "delete.html", **context)

    @post("/festivals/{slug:str}/venues/{venue_id:int}/delete", status_code=303)
    async def delete_venue(
        self, request: AnyRequest, db: DB, slug: FromPath[str], venue_id: FromPath[int]
    ) -> Response[Any]:
        try:
            await service.delete_venue(db, slug, venue_id)
        except FestivalError as error:
            context = await _delete_venue(db, slug, venue_id)
            return _page(request, "delete.html", error=error, **context)
        return _done(_home(slug), "venue-deleted")

    # --- rooms -------------------------------------------------------------------------------

    @get("/festivals/{slug:str}/rooms/new")
    async def new_room(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Template:
        programme = await service.programme(db, slug, include_drafts=True)
        return _page(
            request,
            "room_form.html",
            programme=programme,
            festival=programme.festival,
            values={"venue_id": request.query_params.get("venue", "")},
        )

    @post("/festivals/{slug:str}/rooms/new", status_code=303)
    async def create_room(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Response[Any]:
        form = await request.form()
        try:
            await service.create_room(db, slug, forms.room_in(form))
        except FestivalError as error:
            programme = await service.programme(db, slug, include_drafts=True)
            return _page(
                request,
                "room_form.html",
                error=error,
                labels=forms.ROOM_LABELS,
                programme=programme,
                festival=programme.festival,
                values=forms.typed(form),
            )
        return _done(_home(slug), "room-added")

    @get("/festivals/{slug:str}/rooms/{room_id:int}/edit")
    async def edit_room(
        self, request: AnyRequest, db: DB, slug: FromPath[str], room_id: FromPath[int]
    ) -> Template:
        programme = await service.programme(db, slug, include_drafts=True)
        room = await service.get_room(db, slug, room_id)
        return _page(
            request,
            "room_form.html",
            programme=programme,
            festival=programme.festival,
            room=room,
            values=room_values(room),
        )

    @post("/festivals/{slug:str}/rooms/{room_id:int}/edit", status_code=303)
    async def update_room(
        self, request: AnyRequest, db: DB, slug: FromPath[str], room_id: FromPath[int]
    ) -> Response[Any]:
        form = await request.form()
        try:
            await service.update_room(db, slug, room_id, forms.room_patch(form))
        except FestivalError as error:
            programme = await service.programme(db, slug, include_drafts=True)
            return _page(
                request,
                "room_form.html",
                error=error,
                labels=forms.ROOM_LABELS,
                programme=programme,
                festival=programme.festival,
                room=await service.get_room(db, slug, room_id),
                values=forms.typed(form),
            )
        return _done(_home(slug), "room-saved")

    @get("/festivals/{slug:str}/rooms/{room_id:int}/delete")
    async def confirm_delete_room(
        self, request: AnyRequest, db: DB, slug: FromPath[str], room_id: FromPath[int]
    ) -> Template:
        return _page(request, "delete.html", **await _delete_room(db, slug, room_id))

    @post("/festivals/{slug:str}/rooms/{room_id:int}/delete", status_code=303)
    async def delete_room(
        self, request: AnyRequest, db: DB, slug: FromPath[str], room_id: FromPath[int]
    ) -> Response[Any]:
        try:
            await service.delete_room(db, slug, room_id)
        except FestivalError as error:
            context = await _delete_room(db, slug, room_id)
            return _page(request, "delete.html", error=error, **context)
        return _done(_home(slug), "room-deleted")

    # --- people ------------------------------------------------------------------------------

    @get("/festivals/{slug:str}/people/new")
    async def new_person(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Template:
        festival = await service.get_festival(db, slug)
        return _page(request, "person_form.html", festival=festival)

    @post("/festivals/{slug:str}/people/new", status_code=303)
    async def create_person(
        self, request: AnyRequest, db: DB, slug: FromPath[str]
    ) -> Response[Any]:
        form = await request.form()
        try:
            await service.create_person(db, slug, forms.person_in(form))
        except FestivalError as error:
            return _page(
                request,
                "person_form.html",
                error=error,
                labels=forms.PERSON_LABELS,
                festival=await service.get_festival(db, slug),
                values=forms.typed(form),
            )
        return _done(_home(slug), "person-added")

    @get("/festivals/{slug:str}/people/{person_id:int}/edit")
    async def edit_person(
        self, request: AnyRequest, db: DB, slug: FromPath[str], person_id: FromPath[int]
    ) -> Template:
        festival = await service.get_festival(db, slug)
        person = await service.get_person(db, slug, person_id)
        return _page(
            request,
            "person_form.html",
            festival=festival,
            person=person,
            values=person_values(person),
        )

    @post("/festivals/{slug:str}/people/{person_id:int}/edit", status_code=303)
    async def update_person(
        self, request: AnyRequest, db: DB, slug: FromPath[str], person_id: FromPath[int]
    ) -> Response[Any]:
        form = await request.form()
        try:
            await service.update_person(db, slug, person_id, forms.person_patch(form))
        except FestivalError as error:
            return _page(
                request,
                "person_form.html",
                error=error,
                labels=forms.PERSON_LABELS,
                festival=await service.get_festival(db, slug),
                person=await service.get_person(db, slug, person_id),
                values=forms.typed(form),
            )
        return _done(_home(slug), "person-saved")

    @get("/festivals/{slug:str}/people/{person_id:int}/delete")
    async def confirm_delete_person(
        self, request: AnyRequest, db: DB, slug: FromPath[str], person_id: FromPath[int]
    ) -> Template:
        return _page(request, "delete.html", **await _delete_person(db, slug, person_id))

    @post("/festivals/{slug:str}/people/{person_id:int}/delete", status_code=303)
    async def delete_person(
        self, request: AnyRequest, db: DB, slug: FromPath[str], person_id: FromPath[int]
    ) -> Response[Any]:
        try:
            await service.delete_person(db, slug, person_id)
        except FestivalError as error:
            context = await _delete_person(db, slug, person_id)
            return _page(request, "delete.html", error=error, **context)
        return _done(_home(slug), "person-deleted")

    # --- sessions ----------------------------------------------------------------------------

    @get("/festivals/{slug:str}/sessions/new")
    async def new_session(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Template:
        programme = await service.programme(db, slug, include_drafts=True)
        values = {"status": "draft", "language": "en"}
        return _session_form(request, programme, values, BLANK_ROWS)

    @post("/festivals/{slug:str}/sessions/new", status_code=303)
    async def create_session(
        self, request: AnyRequest, db: DB, slug: FromPath[str]
    ) -> Response[Any]:
        form = await request.form()
        try:
            festival = await service.get_festival(db, slug)
            await service.create_session(db, slug, forms.session_in(form, festival.timezone))
        except FestivalError as error:
            programme = await service.programme(db, slug, include_drafts=True)
            return _session_form(
                request, programme, forms.typed(form), _rows_typed(form), error=error
            )
        return _done(_home(slug), "session-added")

    @get("/festivals/{slug:str}/sessions/{session_id:int}/edit")
    async def edit_session(
        self, request: AnyRequest, db: DB, slug: FromPath[str], session_id: FromPath[int]
    ) -> Template:
        programme = await service.programme(db, slug, include_drafts=True)
        session = await service.get_session(db, slug, session_id, include_drafts=True)
        values = session_values(session, programme.festival.timezone)
        rows = len(session.co_producers) + BLANK_ROWS
        return _session_form(request, programme, values, rows, session=session)

    @post("/festivals/{slug:str}/sessions/{session_id:int}/edit", status_code=303)
    async def update_session(
        self, request: AnyRequest, db: DB, slug: FromPath[str], session_id: FromPath[int]
    ) -> Response[Any]:
        form = await request.form()
        try:
            festival = await service.get_festival(db, slug)
            patch = forms.session_patch(form, festival.timezone)
            await service.update_session(db, slug, session_id, patch)
        except FestivalError as error:
            programme = await service.programme(db, slug, include_drafts=True)
            session = await service.get_session(db, slug, session_id, include_drafts=True)
            return _session_form(
                request,
                programme,
                forms.typed(form),
                _rows_typed(form),
                session=session,
                error=error,
            )
        return _done(_home(slug), "session-saved")

    @get("/festivals/{slug:str}/sessions/{session_id:int}/delete")
    async def confirm_delete_session(
        self, request: AnyRequest, db: DB, slug: FromPath[str], session_id: FromPath[int]
    ) -> Template:
        return _page(request, "delete.html", **await _delete_session(db, slug, session_id))

    @post("/festivals/{slug:str}/sessions/{session_id:int}/delete", status_code=303)
    async def delete_session(
        self, request: AnyRequest, db: DB, slug: FromPath[str], session_id: FromPath[int]
    ) -> Response[Any]:
        try:
            await service.delete_session(db, slug, session_id)
        except FestivalError as error:
            context = await _delete_session(db, slug, session_id)
            return _page(request, "delete.html", error=error, **context)
        return _done(_home(slug), "session-deleted")
