"""Staff pages for the crew: volunteers, slots, coverage and proposals (server-rendered).

The same shape as the programme's staff pages: every page needs a staff identity (someone
not signed in is sent to sign in and brought back), forms post back with their CSRF token,
a change redirects (303) with ``?saved=<key>`` shown as a notice, and any
:class:`FestivalError` shows the page again with an error summary and that error's status.

Handlers make one service call for the change they stand for. Pages that show several
things (the coverage grid: the festival, its slots and its volunteers) read them through
the ``_*_view`` helpers here, which only arrange what the services return for a template.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from itertools import groupby
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from festival.auth import staff_only
from festival.crew import service, staff_forms
from festival.crew.schemas import (
    DEFAULT_COURSE,
    LIVE_STATUSES,
    STATUS_WORDS,
    BulkPreview,
    BulkSlotsIn,
    Slot,
    Volunteer,
    Window,
)
from festival.db.engine import Database
from festival.errors import FestivalError, Unauthorized
from festival.formatting import clock, local, long_date
from festival.programme import service as programme_service
from festival.programme.schemas import Festival, Programme, Session
from festival.programme.staff_pages import sign_in_first
from festival.settings import Settings

DB = NamedDependency[Database]
SETTINGS = NamedDependency[Settings]
AnyRequest = Request[Any, Any, Any]

#: ``?saved=`` keys and the notice each shows. Only these texts are ever shown.
SAVED = {
    "training-added": "The training has been recorded.",
    "training-removed": "The training record has been removed.",
    "suspended": "The volunteer has been suspended. Nobody can give them a slot until "
    "they are reinstated.",
    "reinstated": "The volunteer has been reinstated. They can be given slots again.",
    "links-withdrawn": "All their links have been withdrawn. Their invite link, their "
    "sign-in on any phone and their calendar link no longer work.",
    "slot-added": "The slot has been added.",
    "slot-saved": "The slot has been saved.",
    "slot-deleted": "The slot has been deleted.",
    "assigned": "The volunteer has been given the place. They will see it on their phone.",
    "unassigned": "The volunteer has been taken out of the slot.",
    "no-show": "The volunteer has been recorded as not coming.",
    "rules-saved": "The crew rules have been saved.",
    "proposal-applied": "The proposed assignments have been made. Volunteers will see "
    "their new slots on their phones.",
}
#: How each status's tag is described in the coverage grid's key.
STATUS_MEANINGS = {
    "unfilled": "Nobody has this place yet.",
    "assigned": "Given to a volunteer, who has not replied yet.",
    "accepted": "The volunteer has said they will come.",
    "checked_in": "The volunteer is there.",
    "no_show": "The volunteer did not come. The place is open again.",
    "declined": "The volunteer said they cannot come. The place is open again.",
}
POSITIONS = [
    ("before", "Before each session", "Catch people as they arrive."),
    ("during", "During each session", "The slot starts when the session starts."),
    ("after", "After each session", "Catch people as they leave."),
]
NO_VENUE = "No venue: meeting places"


def _home(slug: str) -> str:
    return f"/staff/festivals/{slug}"


def _done(
    path: str, key: str, query: Mapping[str, str] | None = None, anchor: str = ""
) -> Redirect:
    params = {**(query or {}), "saved": key}
    return Redirect(
        f"{path}?{urlencode(params)}" + (f"#{anchor}" if anchor else ""), status_code=303
    )


def _notice(request: AnyRequest) -> str | None:
    key = request.query_params.get("saved", "")
    if key == "slots-made":
        made = request.query_params.get("made", "")
        if made.isdigit() and len(made) < 7:
            count = int(made)
            return f"{count} interview slot{'s' if count != 1 else ''} made."
        return None
    return SAVED.get(key)


def _page(
    request: AnyRequest,
    template: str,
    *,
    error: FestivalError | None = None,
    labels: Mapping[str, str] | None = None,
    anchors: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> Template:
    """A crew staff page; with ``error``, shown with the error summary and its status."""
    view = staff_forms.error_view(error, labels or {}, anchors) if error else None
    context.setdefault("values", {})
    return Template(
        template if template.startswith("staff/") else f"staff/crew/{template}",
        context={
            "error": view,
            "errors": view.fields if view else {},
            "notice": _notice(request),
            "status_words": STATUS_WORDS,
            "span": span,
            "hours": hours,
            **context,
        },
        status_code=error.status if error else 200,
        headers={**(error.headers if error else {}), **(headers or {})} or None,
    )


# --- words for times ----------------------------------------------------------------------------


def span(starts_at: datetime, ends_at: datetime, timezone: str) -> str:
    """``Monday 1 July 2019, 09:00 to 17:00``, naming the end's day only when it differs."""
    start, end = local(starts_at, timezone), local(ends_at, timezone)
    if start.date() == end.date():
        return f"{long_date(start)}, {clock(start, timezone)} to {clock(end, timezone)}"
    return (
        f"{long_date(start)}, {clock(start, timezone)} to {long_date(end)}, {clock(end, timezone)}"
    )


def hours(value: float) -> str:
    """``1.5 hours``; ``1 hour``."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{text} hour{'' if text == '1' else 's'}"


def _day_of(slot: Slot | Session, timezone: str) -> date:
    return local(slot.starts_at, timezone).date()


def _by_day(slots: Sequence[Slot], timezone: str) -> list[tuple[date, list[Slot]]]:
    return [(day, list(items)) for day, items in groupby(slots, key=lambda s: _day_of(s, timezone))]


def _session_groups(programme: Programme) -> list[tuple[str, list[tuple[int, str]]]]:
    """Sessions for a select, grouped by day: ``10:00 to 11:00: Opening``."""
    tz = programme.festival.timezone
    return [
        (
            long_date(day),
            [
                (s.id, f"{clock(s.starts_at, tz)} to {clock(s.ends_at, tz)}: {s.title}")
                for s in items
            ],
        )
        for day, items in groupby(programme.sessions, key=lambda s: _day_of(s, tz))
    ]


def _room_groups(programme: Programme) -> list[tuple[str, list[tuple[int, str]]]]:
    return [
        (venue.name, [(room.id, room.name) for room in venue.rooms])
        for venue in programme.venues
        if venue.rooms
    ]


def _day_options(festival: Festival) -> list[tuple[str, str]]:
    return [(day.isoformat(), long_date(day)) for day in festival.days]


# --- volunteers ---------------------------------------------------------------------------------


class VolunteerSlot(msgspec.Struct):
    slot: Slot
    status: str


async def _volunteer_view(db: Database, slug: str, volunteer_id: int) -> dict[str, Any]:
    festival = await programme_service.get_festival(db, slug)
    volunteer = await service.get_volunteer(db, slug, volunteer_id)
    availability = await service.availability_of(db, slug, volunteer_id)
    theirs = [
        VolunteerSlot(slot=slot, status=held.status)
        for slot in await service.list_slots(db, slug)
        for held in slot.assignments
        if held.volunteer_id == volunteer_id
    ]
    return {
        "festival": festival,
        "volunteer": volunteer,
        "windows": availability.windows,
        "their_slots": theirs,
    }


async def _volunteers_view(db: Database, slug: str) -> dict[str, Any]:
    return {
        "festival": await programme_service.get_festival(db, slug),
        "volunteers": await service.list_volunteers(db, slug),
    }


def _windows_text(windows: Sequence[Window], timezone: str) -> list[str]:
    return [span(w.starts_at, w.ends_at, timezone) for w in windows]


# --- slots --------------------------------------------------------------------------------------


async def _slots_view(db: Database, slug: str) -> dict[str, Any]:
    festival = await programme_service.get_festival(db, slug)
    slots = await service.list_slots(db, slug)
    return {"festival": festival, "days": _by_day(slots, festival.timezone)}


async def _slot_form_view(db: Database, slug: str) -> dict[str, Any]:
    programme = await programme_service.programme(db, slug, include_drafts=True)
    return {
        "festival": programme.festival,
        "session_groups": _session_groups(programme),
        "room_groups": _room_groups(programme),
        "day_options": _day_options(programme.festival),
    }


def _slot_name(slot: Slot, timezone: str) -> str:
    what = f", {slot.session.title}" if slot.session else ""
    return f"{span(slot.starts_at, slot.ends_at, timezone)}, {slot.where}{what}"


async def _delete_slot_view(db: Database, slug: str, slot_id: int) -> dict[str, Any]:
    festival = await programme_service.get_festival(db, slug)
    slot = await service.get_slot(db, slug, slot_id)
    live = len(slot.live)
    return {
        "festival": festival,
        "thing": "slot",
        "name": _slot_name(slot, festival.timezone),
        "warning": (
            f"{live} volunteer{'s' if live != 1 else ''} will lose their place in it. "
            if live
            else ""
        )
        + "A slot where someone has checked in cannot be deleted.",
        "back": f"{_home(slug)}/slots",
    }


class PlannedSlot(msgspec.Struct):
    starts_at: datetime
    ends_at: datetime
    session: str
    where: str
    capacity: int


async def _preview_view(db: Database, slug: str, preview: BulkPreview) -> dict[str, Any]:
    programme = await programme_service.programme(db, slug, include_drafts=True)
    tz = programme.festival.timezone
    sessions = {s.id: s.title for s in programme.sessions}
    rooms = {room.id: room.label for room in programme.rooms}
    planned = [
        PlannedSlot(
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            session=sessions.get(s.session_id or 0, ""),
            where=rooms.get(s.room_id or 0, s.place),
            capacity=s.capacity,
        )
        for s in preview.slots
    ]
    return {
        "festival": programme.festival,
        "preview": preview,
        "days": [
            (day, list(items))
            for day, items in groupby(planned, key=lambda p: local(p.starts_at, tz).date())
        ],
    }


# --- coverage -----------------------------------------------------------------------------------


class Filters(msgspec.Struct):
    """The coverage grid's day and filters, as chosen in its links and GET form."""

    day: date
    venue: int | None = None
    session: int | None = None

    def query(self) -> dict[str, str]:
        query = {"day": self.day.isoformat()}
        if self.venue is not None:
            query["venue"] = str(self.venue)
        if self.session is not None:
            query["session"] = str(self.session)
        return query


def _number(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and 0 < len(text) < 16 else None


def _filters(festival: Festival, day: str, venue: str, session: str) -> Filters:
    """The day asked for if it is one of the festival's; else today, if the festival is
    on; else its first day. Filters that are not whole numbers are ignored."""
    try:
        chosen: date | None = date.fromisoformat(day)
    except ValueError:
        chosen = None
    if chosen not in festival.days:
        today = local(datetime.now(UTC), festival.timezone).date()
        chosen = today if today in festival.days else festival.starts_on
    assert chosen is not None
    return Filters(day=chosen, venue=_number(venue), session=_number(session))


class Place(msgspec.Struct):
    """One cell of the grid: a place in a slot, open or held, or an earlier holder."""

    status: str
    number: int | None = None  # places that count towards capacity are numbered
    volunteer_id: int | None = None
    volunteer_name: str = ""
    reason: str = ""
    can_unassign: bool = False
    can_mark_no_show: bool = False
    error: str = ""
    selected: str = ""


class Row(msgspec.Struct):
    slot: Slot
    places: list[Place]
    holders: list[int]

    @property
    def filled(self) -> int:
        return len(self.slot.live)


class VenueRows(msgspec.Struct):
    name: str
    rows: list[Row]


def _places(slot: Slot, names: Mapping[int, str], now: datetime) -> list[Place]:
    started = slot.starts_at <= now
    places: list[Place] = []
    for held in slot.live:
        places.append(
            Place(
                status=held.status,
                number=len(places) + 1,
                volunteer_id=held.volunteer_id,
                volunteer_name=names.get(held.volunteer_id, held.volunteer_name),
                can_unassign=held.status != "checked_in",
                can_mark_no_show=started and held.status != "checked_in",
            )
        )
    for _ in range(slot.open_places):
        places.append(Place(status="unfilled", number=len(places) + 1))
    for held in slot.assignments:
        if held.status not in LIVE_STATUSES:
            places.append(
                Place(
                    status=held.status,
                    volunteer_id=held.volunteer_id,
                    volunteer_name=names.get(held.volunteer_id, held.volunteer_name),
                    reason=held.decline_reason,
                )
            )
    return places


async def _coverage_view(
    db: Database,
    slug: str,
    day: str,
    venue: str,
    session: str,
) -> dict[str, Any]:
    programme = await programme_service.programme(db, slug, include_drafts=True)
    festival = programme.festival
    tz = festival.timezone
    filters = _filters(festival, day, venue, session)
    slots = await service.list_slots(db, slug, session_id=filters.session, venue_id=filters.venue)
    volunteers = await service.list_volunteers(db, slug)
    names = {v.id: v.name for v in volunteers}
    now = datetime.now(UTC)
    groups: dict[int | None, list[Row]] = {}
    for slot in slots:
        if _day_of(slot, tz) != filters.day:
            continue
        groups.setdefault(slot.venue_id, []).append(
            Row(
                slot=slot,
                places=_places(slot, names, now),
                holders=[a.volunteer_id for a in slot.live],
            )
        )
    venue_names = {v.id: v.name for v in programme.venues}
    order = [v.id for v in programme.venues if v.id in groups]
    venues = [VenueRows(name=venue_names[v], rows=groups[v]) for v in order]
    if None in groups:
        venues.append(VenueRows(name=NO_VENUE, rows=groups[None]))
    rows = [row for group in venues for row in group.rows]
    return {
        "festival": festival,
        "filters": filters,
        "filter_query": urlencode(filters.query()),
        "venues": venues,
        "places_wanted": sum(r.slot.capacity for r in rows),
        "places_filled": sum(r.filled for r in rows),
        "volunteers": volunteers,
        "venue_options": [(v.id, v.name) for v in programme.venues],
        "session_options": [
            (s.id, f"{clock(s.starts_at, tz)}: {s.title}")
            for s in programme.sessions
            if _day_of(s, tz) == filters.day
        ],
        "values": {
            "venue": "" if filters.venue is None else str(filters.venue),
            "session": "" if filters.session is None else str(filters.session),
        },
        "meanings": STATUS_MEANINGS,
        "volunteer_label": _volunteer_label,
    }


def _volunteer_label(volunteer: Volunteer) -> str:
    """A volunteer as an option: their name, and why they cannot be given a place."""
    if volunteer.suspended:
        return f"{volunteer.name} (suspended)"
    if not volunteer.trained:
        return f"{volunteer.name} (no training recorded)"
    return volunteer.name


async def _coverage_page(
    request: AnyRequest,
    db: Database,
    slug: str,
    filters: tuple[str, str, str],
    *,
    error: FestivalError | None = None,
    slot_id: int | None = None,
    chosen: str = "",
) -> Template:
    """The grid; with ``error``, the place that was being changed shows it."""
    context = await _coverage_view(db, slug, *filters)
    anchors: dict[str, str] = {}
    labels: Mapping[str, str] = {}
    if error is not None and slot_id is not None:
        for group in context["venues"]:
            for row in group.rows:
                if row.slot.id != slot_id:
                    continue
                open_place = next((p for p in row.places if p.status == "unfilled"), None)
                if open_place is not None:
                    anchors["volunteer_id"] = f"assign-{slot_id}-{open_place.number}"
                    labels = staff_forms.ASSIGN_LABELS
                    view = staff_forms.error_view(error, labels, anchors)
                    open_place.error = view.fields.get("volunteer_id", "")
                    open_place.selected = chosen
    return _page(request, "coverage.html", error=error, labels=labels, anchors=anchors, **context)


# --- proposals ----------------------------------------------------------------------------------


class ProposedSlot(msgspec.Struct):
    label: str
    names: list[str]


class ProposedGap(msgspec.Struct):
    label: str
    places: int
    reason: str


def _slot_label(slots: Mapping[int, Slot], slot_id: int, fallback: str, timezone: str) -> str:
    """``Monday 1 July 2019, 10:00 to 10:15, N1 (Opening)``; the service's own label for a
    slot deleted since the proposal was made."""
    slot = slots.get(slot_id)
    if slot is None:
        return fallback[:1].upper() + fallback[1:]
    what = f" ({slot.session.title})" if slot.session else ""
    return f"{span(slot.starts_at, slot.ends_at, timezone)}, {slot.where}{what}"


async def _proposal_page(
    request: AnyRequest,
    db: Database,
    slug: str,
    proposal_id: int,
    error: FestivalError | None = None,
) -> Template:
    festival = await programme_service.get_festival(db, slug)
    proposal = await service.get_proposal(db, slug, proposal_id)
    slots = {s.id: s for s in await service.list_slots(db, slug)}
    tz = festival.timezone
    proposed: dict[int, ProposedSlot] = {}
    for p in proposal.placements:
        label = _slot_label(slots, p.slot_id, p.slot_label, tz)
        proposed.setdefault(p.slot_id, ProposedSlot(label=label, names=[]))
        proposed[p.slot_id].names.append(p.volunteer_name)
    gaps = [
        ProposedGap(
            label=_slot_label(slots, g.slot_id, g.slot_label, tz), places=g.places, reason=g.reason
        )
        for g in proposal.unfilled
    ]
    return _page(
        request,
        "proposal.html",
        error=error,
        festival=festival,
        proposal=proposal,
        # The stored proposal carries id 0 (it is encoded before its row exists), so the
        # page names it by the id in its own address.
        proposal_id=proposal_id,
        proposed=list(proposed.values()),
        gaps=gaps,
    )


# --- pages shown again with an error ------------------------------------------------------------


async def _volunteer_page(
    request: AnyRequest,
    db: Database,
    slug: str,
    volunteer_id: int,
    *,
    error: FestivalError | None = None,
    labels: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
) -> Template:
    view = await _volunteer_view(db, slug, volunteer_id)
    return _page(
        request,
        "volunteer.html",
        error=error,
        labels=labels,
        values={"course": DEFAULT_COURSE, **(values or {})},
        windows_text=_windows_text(view["windows"], view["festival"].timezone),
        **view,
    )


async def _bulk_again(
    request: AnyRequest, db: Database, slug: str, error: FestivalError, form: Mapping[str, Any]
) -> Template:
    values: dict[str, Any] = staff_forms.typed(form)
    values["include_breaks"] = "include_breaks" in form
    return _page(
        request,
        "bulk_form.html",
        error=error,
        labels=staff_forms.BULK_LABELS,
        anchors={"position": "position-before"},
        festival=await programme_service.get_festival(db, slug),
        positions=POSITIONS,
        values=values,
    )


# --- the controller -----------------------------------------------------------------------------


class StaffCrewPages(Controller):
    path = "/staff/festivals/{slug:str}"
    include_in_schema = False
    guards = [staff_only]
    exception_handlers = {Unauthorized: sign_in_first}

    # --- volunteers ---------------------------------------------------------------------------

    @get("/volunteers")
    async def volunteers(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Template:
        return _page(request, "volunteers.html", **await _volunteers_view(db, slug))

    @post("/volunteers", status_code=200)
    async def invite(
        self, request: AnyRequest, db: DB, settings: SETTINGS, slug: FromPath[str]
    ) -> Template:
        """The invite link is shown on this one response and never again: only its hash
        is kept. The page must not be cached."""
        form = await request.form()
        try:
            invitation = await service.invite(
                db, slug, staff_forms.invite_in(form), settings.base_url
            )
        except FestivalError as error:
            return _page(
                request,
                "volunteers.html",
                error=error,
                labels=staff_forms.INVITE_LABELS,
                values=staff_forms.typed(form),
                **await _volunteers_view(db, slug),
            )
        festival = await programme_service.get_festival(db, slug)
        return _page(
            request,
            "invited.html",
            headers={"Cache-Control": "no-store"},
            festival=festival,
            invitation=invitation,
        )

    @get("/volunteers/{volunteer_id:int}")
    async def volunteer(
        self, request: AnyRequest, db: DB, slug: FromPath[str], volunteer_id: FromPath[int]
    ) -> Template:
        return await _volunteer_page(request, db, slug, volunteer_id)

    @post("/volunteers/{volunteer_id:int}/training", status_code=303)
    async def add_training(
        self, request: AnyRequest, db: DB, slug: FromPath[str], volunteer_id: FromPath[int]
    ) -> Response[Any]:
        form = await request.form()
        try:
            await service.add_training(db, slug, volunteer_id, staff_forms.training_in(form))
        except FestivalError as error:
            return await _volunteer_page(
                request,
                db,
                slug,
                volunteer_id,
                error=error,
                labels=staff_forms.TRAINING_LABELS,
                values=staff_forms.typed(form),
            )
        return _done(
            f"{_home(slug)}/volunteers/{volunteer_id}", "training-added", anchor="training"
        )

    @post("/volunteers/{volunteer_id:int}/training/{training_id:int}/remove", status_code=303)
    async def remove_training(
        self,
        request: AnyRequest,
        db: DB,
        slug: FromPath[str],
        volunteer_id: FromPath[int],
        training_id: FromPath[int],
    ) -> Response[Any]:
        try:
            await service.remove_training(db, slug, volunteer_id, training_id)
        except FestivalError as error:
            return await _volunteer_page(request, db, slug, volunteer_id, error=error)
        return _done(
            f"{_home(slug)}/volunteers/{volunteer_id}", "training-removed", anchor="training"
        )

    @post("/volunteers/{volunteer_id:int}/suspend", status_code=303)
    async def suspend(
        self, request: AnyRequest, db: DB, slug: FromPath[str], volunteer_id: FromPath[int]
    ) -> Response[Any]:
        form = await request.form()
        try:
            await service.update_volunteer(db, slug, volunteer_id, staff_forms.suspension(form))
        except FestivalError as error:
            return await _volunteer_page(
                request,
                db,
                slug,
                volunteer_id,
                error=error,
                labels=staff_forms.SUSPEND_LABELS,
                values=staff_forms.typed(form),
            )
        return _done(f"{_home(slug)}/volunteers/{volunteer_id}", "suspended")

    @post("/volunteers/{volunteer_id:int}/reinstate", status_code=303)
    async def reinstate(
        self, request: AnyRequest, db: DB, slug: FromPath[str], volunteer_id: FromPath[int]
    ) -> Response[Any]:
        try:
            await service.update_volunteer(db, slug, volunteer_id, staff_forms.REINSTATE)
        except FestivalError as error:
            return await _volunteer_page(request, db, slug, volunteer_id, error=error)
        return _done(f"{_home(slug)}/volunteers/{volunteer_id}", "reinstated")

    @get("/volunteers/{volunteer_id:int}/revoke")
    async def confirm_revoke(
        self, request: AnyRequest, db: DB, slug: FromPath[str], volunteer_id: FromPath[int]
    ) -> Template:
        festival = await programme_service.get_festival(db, slug)
        volunteer = await service.get_volunteer(db, slug, volunteer_id)
        return _page(request, "revoke.html", festival=festival, volunteer=volunteer)

    @post("/volunteers/{volunteer_id:int}/revoke", status_code=303)
    async def revoke(
        self, request: AnyRequest, db: DB, slug: FromPath[str], volunteer_id: FromPath[int]
    ) -> Response[Any]:
        try:
            await service.revoke_access(db, slug, volunteer_id)
        except FestivalError as error:
            festival = await programme_service.get_festival(db, slug)
            volunteer = await service.get_volunteer(db, slug, volunteer_id)
            return _page(
                request, "revoke.html", error=error, festival=festival, volunteer=volunteer
            )
        return _done(f"{_home(slug)}/volunteers/{volunteer_id}", "links-withdrawn")

    # --- slots --------------------------------------------------------------------------------

    @get("/slots")
    async def slots(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Template:
        return _page(request, "slots.html", **await _slots_view(db, slug))

    @get("/slots/new")
    async def new_slot(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Template:
        view = await _slot_form_view(db, slug)
        festival: Festival = view["festival"]
        today = local(datetime.now(UTC), festival.timezone).date()
        day = today if today in festival.days else festival.starts_on
        return _page(
            request, "slot_form.html", values={"capacity": "1", "day": day.isoformat()}, **view
        )

    @post("/slots/new", status_code=303)
    async def create_slot(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Response[Any]:
        form = await request.form()
        try:
            festival = await programme_service.get_festival(db, slug)
            await service.create_slot(db, slug, staff_forms.slot_in(form, festival.timezone))
        except FestivalError as error:
            return _page(
                request,
                "slot_form.html",
                error=error,
                labels=staff_forms.SLOT_LABELS,
                values=staff_forms.typed(form),
                **await _slot_form_view(db, slug),
            )
        return _done(f"{_home(slug)}/slots", "slot-added")

    @get("/slots/{slot_id:int}/edit")
    async def edit_slot(
        self, request: AnyRequest, db: DB, slug: FromPath[str], slot_id: FromPath[int]
    ) -> Template:
        view = await _slot_form_view(db, slug)
        slot = await service.get_slot(db, slug, slot_id)
        return _page(
            request,
            "slot_form.html",
            slot=slot,
            values=staff_forms.slot_values(slot, view["festival"].timezone),
            **view,
        )

    @post("/slots/{slot_id:int}/edit", status_code=303)
    async def update_slot(
        self, request: AnyRequest, db: DB, slug: FromPath[str], slot_id: FromPath[int]
    ) -> Response[Any]:
        form = await request.form()
        try:
            festival = await programme_service.get_festival(db, slug)
            patch = staff_forms.slot_patch(form, festival.timezone)
            await service.update_slot(db, slug, slot_id, patch)
        except FestivalError as error:
            return _page(
                request,
                "slot_form.html",
                error=error,
                labels=staff_forms.SLOT_LABELS,
                slot=await service.get_slot(db, slug, slot_id),
                values=staff_forms.typed(form),
                **await _slot_form_view(db, slug),
            )
        return _done(f"{_home(slug)}/slots", "slot-saved")

    @get("/slots/{slot_id:int}/delete")
    async def confirm_delete_slot(
        self, request: AnyRequest, db: DB, slug: FromPath[str], slot_id: FromPath[int]
    ) -> Template:
        return _page(request, "staff/delete.html", **await _delete_slot_view(db, slug, slot_id))

    @post("/slots/{slot_id:int}/delete", status_code=303)
    async def delete_slot(
        self, request: AnyRequest, db: DB, slug: FromPath[str], slot_id: FromPath[int]
    ) -> Response[Any]:
        try:
            await service.delete_slot(db, slug, slot_id)
        except FestivalError as error:
            context = await _delete_slot_view(db, slug, slot_id)
            return _page(request, "staff/delete.html", error=error, **context)
        return _done(f"{_home(slug)}/slots", "slot-deleted")

    @get("/slots/bulk")
    async def bulk_form(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Template:
        festival = await programme_service.get_festival(db, slug)
        return _page(
            request,
            "bulk_form.html",
            festival=festival,
            positions=POSITIONS,
            values=dict(staff_forms.BULK_DEFAULTS),
        )

    @post("/slots/bulk", status_code=200)
    async def bulk_preview(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Template:
        """What "Make slots from the programme" would make. Nothing is saved yet."""
        form = await request.form()
        try:
            data: BulkSlotsIn = staff_forms.bulk_in(form, apply=False)
            preview = await service.bulk_slots(db, slug, data)
        except FestivalError as error:
            return await _bulk_again(request, db, slug, error, form)
        return _page(
            request,
            "bulk_preview.html",
            values=staff_forms.bulk_values(data),
            **await _preview_view(db, slug, preview),
        )

    @post("/slots/bulk/apply", status_code=303)
    async def bulk_apply(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Response[Any]:
        form = await request.form()
        try:
            made = await service.bulk_slots(db, slug, staff_forms.bulk_in(form, apply=True))
        except FestivalError as error:
            return await _bulk_again(request, db, slug, error, form)
        return _done(f"{_home(slug)}/slots", "slots-made", {"made": str(made.created)})

    # --- coverage -----------------------------------------------------------------------------

    @get("/coverage")
    async def coverage(
        self,
        request: AnyRequest,
        db: DB,
        slug: FromPath[str],
        day: FromQuery[str] = "",
        venue: FromQuery[str] = "",
        session: FromQuery[str] = "",
    ) -> Template:
        return await _coverage_page(request, db, slug, (day, venue, session))

    @post("/coverage/slots/{slot_id:int}/assign", status_code=303)
    async def assign(
        self,
        request: AnyRequest,
        db: DB,
        slug: FromPath[str],
        slot_id: FromPath[int],
        day: FromQuery[str] = "",
        venue: FromQuery[str] = "",
        session: FromQuery[str] = "",
    ) -> Response[Any]:
        form = await request.form()
        try:
            await service.assign(db, slug, slot_id, staff_forms.assign_in(form))
        except FestivalError as error:
            return await _coverage_page(
                request,
                db,
                slug,
                (day, venue, session),
                error=error,
                slot_id=slot_id,
                chosen=str(form.get("volunteer_id") or ""),
            )
        return _back_to_grid(slug, "assigned", slot_id, day, venue, session)

    @post("/coverage/slots/{slot_id:int}/unassign/{volunteer_id:int}", status_code=303)
    async def unassign(
        self,
        request: AnyRequest,
        db: DB,
        slug: FromPath[str],
        slot_id: FromPath[int],
        volunteer_id: FromPath[int],
        day: FromQuery[str] = "",
        venue: FromQuery[str] = "",
        session: FromQuery[str] = "",
    ) -> Response[Any]:
        try:
            await service.unassign(db, slug, slot_id, volunteer_id)
        except FestivalError as error:
            return await _coverage_page(request, db, slug, (day, venue, session), error=error)
        return _back_to_grid(slug, "unassigned", slot_id, day, venue, session)

    @post("/coverage/slots/{slot_id:int}/no-show/{volunteer_id:int}", status_code=303)
    async def no_show(
        self,
        request: AnyRequest,
        db: DB,
        slug: FromPath[str],
        slot_id: FromPath[int],
        volunteer_id: FromPath[int],
        day: FromQuery[str] = "",
        venue: FromQuery[str] = "",
        session: FromQuery[str] = "",
    ) -> Response[Any]:
        try:
            await service.mark_no_show(db, slug, slot_id, volunteer_id)
        except FestivalError as error:
            return await _coverage_page(request, db, slug, (day, venue, session), error=error)
        return _back_to_grid(slug, "no-show", slot_id, day, venue, session)

    # --- proposals ----------------------------------------------------------------------------

    @get("/proposal")
    async def proposal_start(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Template:
        festival = await programme_service.get_festival(db, slug)
        return _page(request, "propose.html", festival=festival)

    @post("/proposal", status_code=303)
    async def propose(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Response[Any]:
        try:
            proposal = await service.propose(db, slug)
        except FestivalError as error:
            festival = await programme_service.get_festival(db, slug)
            return _page(request, "propose.html", error=error, festival=festival)
        return Redirect(f"{_home(slug)}/proposals/{proposal.id}", status_code=303)

    @get("/proposals/{proposal_id:int}")
    async def proposal(
        self, request: AnyRequest, db: DB, slug: FromPath[str], proposal_id: FromPath[int]
    ) -> Template:
        return await _proposal_page(request, db, slug, proposal_id)

    @post("/proposals/{proposal_id:int}/apply", status_code=303)
    async def apply_proposal(
        self, request: AnyRequest, db: DB, slug: FromPath[str], proposal_id: FromPath[int]
    ) -> Response[Any]:
        try:
            await service.apply_proposal(db, slug, proposal_id)
        except FestivalError as error:
            return await _proposal_page(request, db, slug, proposal_id, error)
        return _done(f"{_home(slug)}/proposals/{proposal_id}", "proposal-applied")

    # --- rules --------------------------------------------------------------------------------

    @get("/crew-rules")
    async def rules(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Template:
        festival = await programme_service.get_festival(db, slug)
        rules = await service.get_rules(db, slug)
        values = {
            "self_signup": rules.self_signup,
            "leave_cutoff_minutes": str(rules.leave_cutoff_minutes),
            "travel_buffer_minutes": str(rules.travel_buffer_minutes),
        }
        return _page(request, "rules.html", festival=festival, values=values)

    @post("/crew-rules", status_code=303)
    async def update_rules(self, request: AnyRequest, db: DB, slug: FromPath[str]) -> Response[Any]:
        form = await request.form()
        try:
            await service.update_rules(db, slug, staff_forms.rules_patch(form))
        except FestivalError as error:
            values: dict[str, Any] = staff_forms.typed(form)
            values["self_signup"] = "self_signup" in form
            return _page(
                request,
                "rules.html",
                error=error,
                labels=staff_forms.RULES_LABELS,
                festival=await programme_service.get_festival(db, slug),
                values=values,
            )
        return _done(f"{_home(slug)}/crew-rules", "rules-saved")


def _back_to_grid(
    slug: str, key: str, slot_id: int, day: str, venue: str, session: str
) -> Redirect:
    """Back to the same day and filters, scrolled to the slot that changed."""
    query = {k: v for k, v in (("day", day), ("venue", venue), ("session", session)) if v}
    return _done(f"{_home(slug)}/coverage", key, query, anchor=f"slot-{slot_id}")
