"""SQL for consents, their links to clips, publication rules and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from festival.consent.schemas import AuditEvent, ConsentRow, PublicationRules, Scope
from festival.db.tables import audit_events, clip_consents, clips, consents, publication_rules

_consent_columns = [
    c for c in consents.c if c.name not in ("token_hash", "created_at", "updated_at")
]


def _row(row: Any) -> ConsentRow:
    return msgspec.convert(row, ConsentRow, from_attributes=True)


async def insert_consent(conn: AsyncConnection, values: dict[str, Any]) -> int:
    result = await conn.execute(sa.insert(consents).values(**values).returning(consents.c.id))
    return int(result.scalar_one())


async def consent_by_id(conn: AsyncConnection, consent_id: int) -> ConsentRow | None:
    row = (
        await conn.execute(sa.select(*_consent_columns).where(consents.c.id == consent_id))
    ).first()
    return _row(row) if row else None


async def consent_by_token(conn: AsyncConnection, token_hash: str) -> ConsentRow | None:
    row = (
        await conn.execute(
            sa.select(*_consent_columns).where(
                consents.c.token_hash == token_hash, consents.c.token_revoked_at.is_(None)
            )
        )
    ).first()
    return _row(row) if row else None


async def update_consent(conn: AsyncConnection, consent_id: int, values: dict[str, Any]) -> None:
    await conn.execute(sa.update(consents).where(consents.c.id == consent_id).values(**values))


async def festival_consents(conn: AsyncConnection, festival_id: int) -> list[ConsentRow]:
    rows = await conn.execute(
        sa.select(*_consent_columns)
        .where(consents.c.festival_id == festival_id)
        .order_by(consents.c.given_at.desc())
    )
    return [_row(r) for r in rows]


async def witnessed_consents(
    conn: AsyncConnection, *, volunteer_id: int | None = None, staff_id: int | None = None
) -> list[ConsentRow]:
    """Consents one volunteer (or one staff member) witnessed, newest first."""
    if volunteer_id is not None:
        witness = consents.c.witness_volunteer_id == volunteer_id
    elif staff_id is not None:
        witness = consents.c.witness_staff_id == staff_id
    else:
        return []
    rows = await conn.execute(
        sa.select(*_consent_columns)
        .where(witness)
        .order_by(consents.c.given_at.desc(), consents.c.id.desc())
    )
    return [_row(r) for r in rows]


async def expiring(conn: AsyncConnection, today: date) -> list[ConsentRow]:
    """Live consents whose end date has passed."""
    rows = await conn.execute(
        sa.select(*_consent_columns).where(
            consents.c.withdrawn_at.is_(None),
            consents.c.expires_on.is_not(None),
            consents.c.expires_on < today,
        )
    )
    return [_row(r) for r in rows]


async def link(conn: AsyncConnection, clip_id: int, consent_id: int, at: datetime) -> bool:
    exists = (
        await conn.execute(
            sa.select(clip_consents.c.clip_id).where(
                clip_consents.c.clip_id == clip_id, clip_consents.c.consent_id == consent_id
            )
        )
    ).first()
    if exists:
        return False
    await conn.execute(
        sa.insert(clip_consents).values(clip_id=clip_id, consent_id=consent_id, linked_at=at)
    )
    return True


async def consents_of_clips(
    conn: AsyncConnection, clip_ids: Sequence[int]
) -> dict[int, list[ConsentRow]]:
    result: dict[int, list[ConsentRow]] = {c: [] for c in clip_ids}
    if not clip_ids:
        return result
    rows = await conn.execute(
        sa.select(clip_consents.c.clip_id, *_consent_columns)
        .join(consents, consents.c.id == clip_consents.c.consent_id)
        .where(clip_consents.c.clip_id.in_(list(clip_ids)))
        .order_by(consents.c.id)
    )
    for r in rows:
        result[r.clip_id].append(_row(r))
    return result


async def clips_of_consents(
    conn: AsyncConnection, consent_ids: Sequence[int]
) -> dict[int, list[int]]:
    result: dict[int, list[int]] = {c: [] for c in consent_ids}
    if not consent_ids:
        return result
    rows = await conn.execute(
        sa.select(clip_consents.c.consent_id, clip_consents.c.clip_id)
        .where(clip_consents.c.consent_id.in_(list(consent_ids)))
        .order_by(clip_consents.c.clip_id)
    )
    for r in rows:
        result[r.consent_id].append(r.clip_id)
    return result


async def unconsented_clips(conn: AsyncConnection, before: datetime) -> list[tuple[int, int]]:
    """(clip id, festival id) of clips made before ``before`` with no consent linked."""
    linked = sa.select(clip_consents.c.clip_id)
    rows = await conn.execute(
        sa.select(clips.c.id, clips.c.festival_id).where(
            clips.c.created_at < before,
            clips.c.id.not_in(linked),
            clips.c.withdrawn_at.is_(None),
        )
    )
    return [(r.id, r.festival_id) for r in rows]


async def rules(conn: AsyncConnection, festival_id: int) -> PublicationRules:
    row = (
        await conn.execute(
            sa.select(
                publication_rules.c.require_review,
                publication_rules.c.require_captions,
                publication_rules.c.unconsented_days,
            ).where(publication_rules.c.festival_id == festival_id)
        )
    ).first()
    return (
        msgspec.convert(row, PublicationRules, from_attributes=True) if row else PublicationRules()
    )


async def save_rules(conn: AsyncConnection, festival_id: int, value: PublicationRules) -> None:
    values = msgspec.structs.asdict(value)
    done = await conn.execute(
        sa.update(publication_rules)
        .where(publication_rules.c.festival_id == festival_id)
        .values(**values)
    )
    if done.rowcount == 0:
        await conn.execute(sa.insert(publication_rules).values(festival_id=festival_id, **values))


async def record(
    conn: AsyncConnection,
    *,
    actor: str,
    action: str,
    festival_id: int | None,
    clip_id: int | None = None,
    consent_id: int | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime,
) -> None:
    await conn.execute(
        sa.insert(audit_events).values(
            at=at,
            actor=actor,
            action=action,
            festival_id=festival_id,
            clip_id=clip_id,
            consent_id=consent_id,
            detail=msgspec.json.encode(detail or {}).decode(),
        )
    )


async def audit_log(
    conn: AsyncConnection,
    festival_id: int,
    *,
    consent_id: int | None = None,
    clip_id: int | None = None,
    limit: int = 500,
) -> list[AuditEvent]:
    query = (
        sa.select(audit_events)
        .where(audit_events.c.festival_id == festival_id)
        .order_by(audit_events.c.id.desc())
        .limit(limit)
    )
    if consent_id is not None:
        query = query.where(audit_events.c.consent_id == consent_id)
    if clip_id is not None:
        query = query.where(audit_events.c.clip_id == clip_id)
    return [
        AuditEvent(
            id=r.id,
            at=r.at,
            actor=r.actor,
            action=r.action,
            clip_id=r.clip_id,
            consent_id=r.consent_id,
            detail=msgspec.json.decode(r.detail),
        )
        for r in await conn.execute(query)
    ]


def publicly_visible(scope: Scope, today: date) -> sa.ColumnElement[bool]:
    """The publication gate in SQL, for listing many clips at once.

    It must agree with :func:`festival.consent.service.is_public` clip for clip (a
    property test holds them together): published, never withdrawn, ready, captioned when
    the festival requires it, at least one consent, and every consent live, covering
    ``scope`` and approved when the festival requires review.
    """
    # Written against the consent's own festival (always the clip's): this sits two
    # queries deep, where a reference to the outer clips row would not be correlated.
    require_review = sa.func.coalesce(
        sa.select(publication_rules.c.require_review)
        .where(publication_rules.c.festival_id == consents.c.festival_id)
        .scalar_subquery(),
        sa.true(),
    )
    require_captions = sa.func.coalesce(
        sa.select(publication_rules.c.require_captions)
        .where(publication_rules.c.festival_id == clips.c.festival_id)
        .scalar_subquery(),
        sa.true(),
    )
    linked = sa.select(clip_consents.c.clip_id).where(clip_consents.c.clip_id == clips.c.id)
    refusing = (
        sa.select(clip_consents.c.clip_id)
        .join(consents, consents.c.id == clip_consents.c.consent_id)
        .where(
            clip_consents.c.clip_id == clips.c.id,
            sa.or_(
                consents.c.withdrawn_at.is_not(None),
                sa.and_(consents.c.expires_on.is_not(None), consents.c.expires_on < today),
                consents.c[f"scope_{scope}"] == sa.false(),
                sa.and_(require_review == sa.true(), consents.c.approved_at.is_(None)),
            ),
        )
    )
    return sa.and_(
        clips.c.published_at.is_not(None),
        clips.c.withdrawn_at.is_(None),
        clips.c.state == "ready",
        sa.or_(require_captions == sa.false(), clips.c.captions_key.is_not(None)),
        sa.exists(linked),
        ~sa.exists(refusing),
    )
