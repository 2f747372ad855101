"""A volunteer's own slots as a subscribable iCalendar feed."""

from __future__ import annotations

from urllib.parse import urlsplit

import icalendar

from festival.crew import service
from festival.crew.schemas import STATUS_WORDS, Slot
from festival.db.engine import Database
from festival.programme.schemas import Festival

PRODID = "-//Festival//Volunteer interview slots//EN"


def _event(
    festival: Festival, slot: Slot, volunteer_id: int, host: str, base_url: str
) -> icalendar.Event:
    event = icalendar.Event()
    held = next(a for a in slot.assignments if a.volunteer_id == volunteer_id)
    what = f"Interviews: {slot.session.title}" if slot.session else "Interviews"
    event.add("uid", f"slot-{slot.id}-volunteer-{volunteer_id}@{host}")
    event.add("dtstamp", slot.starts_at)
    event.add("summary", what)
    event.add("dtstart", slot.starts_at)
    event.add("dtend", slot.ends_at)
    event.add("location", slot.where)
    lines = [f"Your place: {STATUS_WORDS[held.status]}."]
    others = [a.volunteer_name for a in slot.live if a.volunteer_id != volunteer_id]
    if others:
        lines.append("Filming with: " + ", ".join(others) + ".")
    if slot.notes:
        lines.append(slot.notes)
    lines.append(f"Your slots: {base_url}/volunteer")
    event.add("description", "\n".join(lines))
    event.add("url", f"{base_url}/volunteer")
    event.add("status", "CONFIRMED" if held.status in ("accepted", "checked_in") else "TENTATIVE")
    return event


async def volunteer_feed(db: Database, secret: str, base_url: str, token: str) -> bytes:
    festival, row, slots = await service.calendar_slots(db, secret, token)
    host = urlsplit(base_url).hostname or "festival"
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{festival.name}: my interview slots")
    cal.add("x-wr-timezone", festival.timezone)
    for slot in slots:
        cal.add_component(_event(festival, slot, row.id, host, base_url))
    return bytes(cal.to_ical())
