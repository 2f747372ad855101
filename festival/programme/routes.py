"""The programme's JSON API and its machine-readable exports."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from festival.auth import identity_of, staff_only
from festival.db.engine import Database
from festival.programme import exports, service
from festival.programme.schemas import (
    Festival,
    FestivalIn,
    FestivalPatch,
    Person,
    PersonIn,
    PersonPatch,
    Room,
    RoomIn,
    RoomPatch,
    Session,
    SessionIn,
    SessionPatch,
    Venue,
    VenueIn,
    VenuePatch,
)
from festival.settings import Settings

DB = NamedDependency[Database]
STAFF = [staff_only]
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


class ProgrammeController(Controller):
    """Festivals, venues, rooms, co-producers and sessions. Reads are public (drafts only
    for staff); every change needs staff."""

    path = "/api/v1/festivals"
    tags = ["programme"]

    @get("", summary="List festivals")
    async def list_festivals(self, db: DB) -> list[Festival]:
        return await service.list_festivals(db)

    @post("", summary="Create a festival", guards=STAFF, security=BEARER)
    async def create_festival(self, db: DB, data: JSONBody[FestivalIn]) -> Festival:
        return await service.create_festival(db, data)

    @get("/{slug:str}", summary="One festival")
    async def get_festival(self, db: DB, slug: FromPath[str]) -> Festival:
        return await service.get_festival(db, slug)

    @patch("/{slug:str}", summary="Change a festival", guards=STAFF, security=BEARER)
    async def update_festival(
        self, db: DB, slug: FromPath[str], data: JSONBody[FestivalPatch]
    ) -> Festival:
        return await service.update_festival(db, slug, data)

    @delete(
        "/{slug:str}", summary="Delete a festival and its programme", guards=STAFF, security=BEARER
    )
    async def delete_festival(self, db: DB, slug: FromPath[str]) -> None:
        await service.delete_festival(db, slug)

    # venues

    @get("/{slug:str}/venues", summary="Venues with their rooms")
    async def list_venues(self, db: DB, slug: FromPath[str]) -> list[Venue]:
        return await service.list_venues(db, slug)

    @post("/{slug:str}/venues", summary="Add a venue", guards=STAFF, security=BEARER)
    async def create_venue(self, db: DB, slug: FromPath[str], data: JSONBody[VenueIn]) -> Venue:
        return await service.create_venue(db, slug, data)

    @get("/{slug:str}/venues/{venue_id:int}", summary="One venue")
    async def get_venue(self, db: DB, slug: FromPath[str], venue_id: FromPath[int]) -> Venue:
        return await service.get_venue(db, slug, venue_id)

    @patch(
        "/{slug:str}/venues/{venue_id:int}", summary="Change a venue", guards=STAFF, security=BEARER
    )
    async def update_venue(
        self, db: DB, slug: FromPath[str], venue_id: FromPath[int], data: JSONBody[VenuePatch]
    ) -> Venue:
        return await service.update_venue(db, slug, venue_id, data)

    @delete(
        "/{slug:str}/venues/{venue_id:int}",
        summary="Delete an unused venue",
        guards=STAFF,
        security=BEARER,
    )
    async def delete_venue(self, db: DB, slug: FromPath[str], venue_id: FromPath[int]) -> None:
        await service.delete_venue(db, slug, venue_id)

    # rooms

    @get("/{slug:str}/rooms", summary="Rooms, online rooms included")
    async def list_rooms(self, db: DB, slug: FromPath[str]) -> list[Room]:
        return await service.list_rooms(db, slug)

    @post("/{slug:str}/rooms", summary="Add a room to a venue", guards=STAFF, security=BEARER)
    async def create_room(self, db: DB, slug: FromPath[str], data: JSONBody[RoomIn]) -> Room:
        return await service.create_room(db, slug, data)

    @get("/{slug:str}/rooms/{room_id:int}", summary="One room")
    async def get_room(self, db: DB, slug: FromPath[str], room_id: FromPath[int]) -> Room:
        return await service.get_room(db, slug, room_id)

    @patch(
        "/{slug:str}/rooms/{room_id:int}", summary="Change a room", guards=STAFF, security=BEARER
    )
    async def update_room(
        self, db: DB, slug: FromPath[str], room_id: FromPath[int], data: JSONBody[RoomPatch]
    ) -> Room:
        return await service.update_room(db, slug, room_id, data)

    @delete(
        "/{slug:str}/rooms/{room_id:int}",
        summary="Delete an unused room",
        guards=STAFF,
        security=BEARER,
    )
    async def delete_room(self, db: DB, slug: FromPath[str], room_id: FromPath[int]) -> None:
        await service.delete_room(db, slug, room_id)

    # people

    @get("/{slug:str}/people", summary="Co-producers")
    async def list_people(self, db: DB, slug: FromPath[str]) -> list[Person]:
        return await service.list_people(db, slug)

    @post("/{slug:str}/people", summary="Add a co-producer", guards=STAFF, security=BEARER)
    async def create_person(self, db: DB, slug: FromPath[str], data: JSONBody[PersonIn]) -> Person:
        return await service.create_person(db, slug, data)

    @get("/{slug:str}/people/{person_id:int}", summary="One co-producer")
    async def get_person(self, db: DB, slug: FromPath[str], person_id: FromPath[int]) -> Person:
        return await service.get_person(db, slug, person_id)

    @patch(
        "/{slug:str}/people/{person_id:int}",
        summary="Change a co-producer",
        guards=STAFF,
        security=BEARER,
    )
    async def update_person(
        self, db: DB, slug: FromPath[str], person_id: FromPath[int], data: JSONBody[PersonPatch]
    ) -> Person:
        return await service.update_person(db, slug, person_id, data)

    @delete(
        "/{slug:str}/people/{person_id:int}",
        summary="Remove a co-producer",
        guards=STAFF,
        security=BEARER,
    )
    async def delete_person(self, db: DB, slug: FromPath[str], person_id: FromPath[int]) -> None:
        await service.delete_person(db, slug, person_id)

    # sessions

    @get("/{slug:str}/sessions", summary="Sessions in programme order; drafts for staff only")
    async def list_sessions(
        self, request: Request[Any, Any, Any], db: DB, slug: FromPath[str]
    ) -> list[Session]:
        return await service.list_sessions(db, slug, include_drafts=identity_of(request).is_staff)

    @post(
        "/{slug:str}/sessions",
        summary="Add a session (refused on a clash)",
        guards=STAFF,
        security=BEARER,
    )
    async def create_session(
        self, db: DB, slug: FromPath[str], data: JSONBody[SessionIn]
    ) -> Session:
        return await service.create_session(db, slug, data)

    @get("/{slug:str}/sessions/{session_id:int}", summary="One session")
    async def get_session(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        slug: FromPath[str],
        session_id: FromPath[int],
    ) -> Session:
        return await service.get_session(
            db, slug, session_id, include_drafts=identity_of(request).is_staff
        )

    @patch(
        "/{slug:str}/sessions/{session_id:int}",
        summary="Change a session",
        guards=STAFF,
        security=BEARER,
    )
    async def update_session(
        self, db: DB, slug: FromPath[str], session_id: FromPath[int], data: JSONBody[SessionPatch]
    ) -> Session:
        return await service.update_session(db, slug, session_id, data)

    @delete(
        "/{slug:str}/sessions/{session_id:int}",
        summary="Delete a session",
        guards=STAFF,
        security=BEARER,
    )
    async def delete_session(self, db: DB, slug: FromPath[str], session_id: FromPath[int]) -> None:
        await service.delete_session(db, slug, session_id)


class ProgrammeExports(Controller):
    """The public programme in formats calendar and schedule apps read."""

    path = "/festivals/{slug:str}"
    tags = ["exports"]

    @get("/programme.ics", summary="iCalendar (RFC 5545)", media_type="text/calendar")
    async def ical(
        self, db: DB, settings: NamedDependency[Settings], slug: FromPath[str]
    ) -> Response[bytes]:
        body = exports.to_ical(await service.programme(db, slug), settings.base_url)
        return Response(
            body,
            media_type="text/calendar; charset=utf-8",
            headers={"Content-Disposition": f'inline; filename="{slug}.ics"'},
        )

    @get("/programme.xml", summary="frab schedule XML", media_type="application/xml")
    async def frab_xml(
        self, db: DB, settings: NamedDependency[Settings], slug: FromPath[str]
    ) -> Response[bytes]:
        body = exports.to_frab_xml(await service.programme(db, slug), settings.base_url)
        return Response(body, media_type="application/xml; charset=utf-8")

    @get("/programme.json", summary="frab schedule JSON", media_type="application/json")
    async def frab_json(
        self, db: DB, settings: NamedDependency[Settings], slug: FromPath[str]
    ) -> Response[bytes]:
        body = exports.to_frab_json(await service.programme(db, slug), settings.base_url)
        return Response(body, media_type="application/json")
