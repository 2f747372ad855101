"""The crew's JSON API: volunteers, training, availability, slots, assignments, proposals."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from festival.auth import identity_of, staff_only, volunteer_only
from festival.crew import calendar, service
from festival.crew.schemas import (
    AssignIn,
    Assignment,
    Availability,
    AvailabilityIn,
    BulkPreview,
    BulkSlotsIn,
    CalendarLink,
    CrewRules,
    CrewRulesPatch,
    DeclineIn,
    Invitation,
    InviteIn,
    MyDay,
    PreferencesIn,
    ProfileIn,
    ProposalView,
    Slot,
    SlotIn,
    SlotPatch,
    TrainingIn,
    Volunteer,
    VolunteerPatch,
)
from festival.db.engine import Database
from festival.settings import Settings

DB = NamedDependency[Database]
SETTINGS = NamedDependency[Settings]
AnyRequest = Request[Any, Any, Any]
STAFF = [staff_only]
VOLUNTEER = [volunteer_only]
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


class CrewController(Controller):
    """Staff manage volunteers, slots and assignments."""

    path = "/api/v1/festivals/{slug:str}"
    tags = ["crew"]
    guards = STAFF
    security = BEARER

    @get("/crew-rules", summary="Self sign-up, leaving cut-off and travel buffer")
    async def get_rules(self, db: DB, slug: FromPath[str]) -> CrewRules:
        return await service.get_rules(db, slug)

    @patch("/crew-rules", summary="Change the crew rules")
    async def update_rules(
        self, db: DB, slug: FromPath[str], data: JSONBody[CrewRulesPatch]
    ) -> CrewRules:
        return await service.update_rules(db, slug, data)

    @get("/volunteers", summary="Volunteers with training and counts")
    async def list_volunteers(self, db: DB, slug: FromPath[str]) -> list[Volunteer]:
        return await service.list_volunteers(db, slug)

    @post("/volunteers", summary="Invite a volunteer: the link is shown once")
    async def invite(
        self, db: DB, settings: SETTINGS, slug: FromPath[str], data: JSONBody[InviteIn]
    ) -> Invitation:
        return await service.invite(db, slug, data, settings.base_url)

    @get("/volunteers/{volunteer_id:int}", summary="One volunteer")
    async def get_volunteer(
        self, db: DB, slug: FromPath[str], volunteer_id: FromPath[int]
    ) -> Volunteer:
        return await service.get_volunteer(db, slug, volunteer_id)

    @patch("/volunteers/{volunteer_id:int}", summary="Rename, suspend or reinstate")
    async def update_volunteer(
        self,
        db: DB,
        slug: FromPath[str],
        volunteer_id: FromPath[int],
        data: JSONBody[VolunteerPatch],
    ) -> Volunteer:
        return await service.update_volunteer(db, slug, volunteer_id, data)

    @post("/volunteers/{volunteer_id:int}/training", summary="Record training")
    async def add_training(
        self, db: DB, slug: FromPath[str], volunteer_id: FromPath[int], data: JSONBody[TrainingIn]
    ) -> Volunteer:
        return await service.add_training(db, slug, volunteer_id, data)

    @delete(
        "/volunteers/{volunteer_id:int}/training/{training_id:int}",
        summary="Remove a training record",
    )
    async def remove_training(
        self,
        db: DB,
        slug: FromPath[str],
        volunteer_id: FromPath[int],
        training_id: FromPath[int],
    ) -> None:
        await service.remove_training(db, slug, volunteer_id, training_id)

    @post(
        "/volunteers/{volunteer_id:int}/revoke",
        summary="End every link and token of a volunteer",
        status_code=204,
    )
    async def revoke(self, db: DB, slug: FromPath[str], volunteer_id: FromPath[int]) -> None:
        await service.revoke_access(db, slug, volunteer_id)

    @get("/volunteers/{volunteer_id:int}/availability", summary="When a volunteer is free")
    async def get_availability(
        self, db: DB, slug: FromPath[str], volunteer_id: FromPath[int]
    ) -> Availability:
        return await service.availability_of(db, slug, volunteer_id)

    @put("/volunteers/{volunteer_id:int}/availability", summary="Set availability for them")
    async def set_availability(
        self,
        db: DB,
        slug: FromPath[str],
        volunteer_id: FromPath[int],
        data: JSONBody[AvailabilityIn],
    ) -> Availability:
        return await service.set_availability_for(db, slug, volunteer_id, data)

    @get("/slots", summary="Interview slots with their assignments")
    async def list_slots(
        self,
        db: DB,
        slug: FromPath[str],
        session_id: FromQuery[int | None] = None,
        venue_id: FromQuery[int | None] = None,
    ) -> list[Slot]:
        return await service.list_slots(db, slug, session_id=session_id, venue_id=venue_id)

    @post("/slots", summary="Add an interview slot")
    async def create_slot(self, db: DB, slug: FromPath[str], data: JSONBody[SlotIn]) -> Slot:
        return await service.create_slot(db, slug, data)

    @post("/slots/bulk", summary="Preview (apply=false) or make slots around sessions")
    async def bulk_slots(
        self, db: DB, slug: FromPath[str], data: JSONBody[BulkSlotsIn]
    ) -> BulkPreview:
        return await service.bulk_slots(db, slug, data)

    @get("/slots/{slot_id:int}", summary="One slot")
    async def get_slot(self, db: DB, slug: FromPath[str], slot_id: FromPath[int]) -> Slot:
        return await service.get_slot(db, slug, slot_id)

    @patch("/slots/{slot_id:int}", summary="Change a slot")
    async def update_slot(
        self, db: DB, slug: FromPath[str], slot_id: FromPath[int], data: JSONBody[SlotPatch]
    ) -> Slot:
        return await service.update_slot(db, slug, slot_id, data)

    @delete("/slots/{slot_id:int}", summary="Delete a slot")
    async def delete_slot(self, db: DB, slug: FromPath[str], slot_id: FromPath[int]) -> None:
        await service.delete_slot(db, slug, slot_id)

    @post("/slots/{slot_id:int}/assignments", summary="Assign a volunteer (hard rules apply)")
    async def assign(
        self, db: DB, slug: FromPath[str], slot_id: FromPath[int], data: JSONBody[AssignIn]
    ) -> Slot:
        return await service.assign(db, slug, slot_id, data)

    @delete("/slots/{slot_id:int}/assignments/{volunteer_id:int}", summary="Unassign")
    async def unassign(
        self, db: DB, slug: FromPath[str], slot_id: FromPath[int], volunteer_id: FromPath[int]
    ) -> None:
        await service.unassign(db, slug, slot_id, volunteer_id)

    @post(
        "/slots/{slot_id:int}/assignments/{volunteer_id:int}/no-show",
        summary="Record that a volunteer did not come",
    )
    async def no_show(
        self, db: DB, slug: FromPath[str], slot_id: FromPath[int], volunteer_id: FromPath[int]
    ) -> Slot:
        return await service.mark_no_show(db, slug, slot_id, volunteer_id)

    @post("/proposals", summary="Propose assignments for every unfilled place")
    async def propose(self, db: DB, slug: FromPath[str]) -> ProposalView:
        return await service.propose(db, slug)

    @get("/proposals/{proposal_id:int}", summary="A proposal")
    async def get_proposal(
        self, db: DB, slug: FromPath[str], proposal_id: FromPath[int]
    ) -> ProposalView:
        return await service.get_proposal(db, slug, proposal_id)

    @post("/proposals/{proposal_id:int}/apply", summary="Make the proposed assignments")
    async def apply_proposal(
        self, db: DB, slug: FromPath[str], proposal_id: FromPath[int]
    ) -> ProposalView:
        return await service.apply_proposal(db, slug, proposal_id)


class VolunteerController(Controller):
    """A volunteer's own view and actions, with their invite token or session."""

    path = "/api/v1/volunteer"
    tags = ["volunteer"]
    guards = VOLUNTEER
    security = BEARER

    @get("/me", summary="My profile")
    async def me(self, request: AnyRequest, db: DB) -> Volunteer:
        return await service.my_profile(db, identity_of(request))

    @patch("/me", summary="Change my name, pronouns, phone or access needs")
    async def update_me(self, request: AnyRequest, db: DB, data: JSONBody[ProfileIn]) -> Volunteer:
        return await service.update_profile(db, identity_of(request), data)

    @get("/availability", summary="When I am free")
    async def availability(self, request: AnyRequest, db: DB) -> Availability:
        return await service.get_availability(db, identity_of(request))

    @put("/availability", summary="Say when I am free (replaces what was there)")
    async def set_availability(
        self, request: AnyRequest, db: DB, data: JSONBody[AvailabilityIn]
    ) -> Availability:
        return await service.set_availability(db, identity_of(request), data)

    @put("/preferences", summary="Slots I would like")
    async def set_preferences(
        self, request: AnyRequest, db: DB, data: JSONBody[PreferencesIn]
    ) -> list[int]:
        return await service.set_preferences(db, identity_of(request), data)

    @get("/day", summary="My next slot first, then the rest")
    async def day(self, request: AnyRequest, db: DB, settings: SETTINGS) -> MyDay:
        return await service.my_day(
            db, identity_of(request), settings.base_url, settings.secret_key
        )

    @post("/assignments/{assignment_id:int}/accept", summary="Accept a slot", status_code=200)
    async def accept(self, request: AnyRequest, db: DB, assignment_id: FromPath[int]) -> Assignment:
        return await service.accept(db, identity_of(request), assignment_id)

    @post(
        "/assignments/{assignment_id:int}/decline",
        summary="Decline, with a reason",
        status_code=200,
    )
    async def decline(
        self, request: AnyRequest, db: DB, assignment_id: FromPath[int], data: JSONBody[DeclineIn]
    ) -> Assignment:
        return await service.decline(db, identity_of(request), assignment_id, data)

    @post("/assignments/{assignment_id:int}/check-in", summary="I am here", status_code=200)
    async def check_in(
        self, request: AnyRequest, db: DB, assignment_id: FromPath[int]
    ) -> Assignment:
        return await service.check_in(db, identity_of(request), assignment_id)

    @post("/slots/{slot_id:int}/sign-up", summary="Take an open slot (if the festival allows)")
    async def sign_up(self, request: AnyRequest, db: DB, slot_id: FromPath[int]) -> Assignment:
        return await service.sign_up(db, identity_of(request), slot_id)

    @delete("/slots/{slot_id:int}/sign-up", summary="Leave a slot before the cut-off")
    async def leave(self, request: AnyRequest, db: DB, slot_id: FromPath[int]) -> None:
        await service.leave(db, identity_of(request), slot_id)

    @post("/calendar-link", summary="Replace my calendar link (the old one stops working)")
    async def new_calendar_link(
        self, request: AnyRequest, db: DB, settings: SETTINGS
    ) -> CalendarLink:
        url = await service.new_calendar_link(
            db, identity_of(request), settings.base_url, settings.secret_key
        )
        return CalendarLink(url=url)


class VolunteerCalendar(Controller):
    path = "/volunteers/calendar"
    tags = ["volunteer"]

    @get("/{token:str}", summary="A volunteer's slots as iCalendar (token ends in .ics)")
    async def feed(self, db: DB, settings: SETTINGS, token: FromPath[str]) -> Response[bytes]:
        body = await calendar.volunteer_feed(
            db, settings.secret_key, settings.base_url, token.removesuffix(".ics")
        )
        return Response(
            body,
            media_type="text/calendar; charset=utf-8",
            headers={"Cache-Control": "private, max-age=300"},
        )
