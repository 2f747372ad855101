"""SQL for staff accounts, API tokens, browser sessions and sign-in failures."""

from __future__ import annotations

from datetime import datetime

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from festival.accounts.schemas import StaffRow
from festival.db.tables import UTCDateTime, api_tokens, sign_in_failures, staff, web_sessions


async def staff_by_email(conn: AsyncConnection, email: str) -> StaffRow | None:
    row = (
        await conn.execute(
            sa.select(staff.c.id, staff.c.email, staff.c.name, staff.c.password_hash).where(
                sa.func.lower(staff.c.email) == email.lower()
            )
        )
    ).first()
    return msgspec.convert(row, StaffRow, from_attributes=True) if row else None


async def insert_staff(conn: AsyncConnection, email: str, name: str, password_hash: str) -> int:
    result = await conn.execute(
        sa.insert(staff)
        .values(email=email, name=name, password_hash=password_hash)
        .returning(staff.c.id)
    )
    return int(result.scalar_one())


async def update_staff(conn: AsyncConnection, staff_id: int, **values: object) -> None:
    await conn.execute(sa.update(staff).where(staff.c.id == staff_id).values(**values))


async def insert_api_token(conn: AsyncConnection, staff_id: int, token_hash: str) -> None:
    await conn.execute(sa.insert(api_tokens).values(staff_id=staff_id, token_hash=token_hash))


async def revoke_api_tokens(conn: AsyncConnection, staff_id: int, now: datetime) -> int:
    result = await conn.execute(
        sa.update(api_tokens)
        .where(api_tokens.c.staff_id == staff_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount)


async def staff_by_token(conn: AsyncConnection, token_hash: str) -> StaffRow | None:
    row = (
        await conn.execute(
            sa.select(staff.c.id, staff.c.email, staff.c.name, staff.c.password_hash)
            .join(api_tokens, api_tokens.c.staff_id == staff.c.id)
            .where(api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None))
        )
    ).first()
    return msgspec.convert(row, StaffRow, from_attributes=True) if row else None


async def insert_web_session(
    conn: AsyncConnection, staff_id: int, token_hash: str, expires_at: datetime
) -> None:
    await conn.execute(
        sa.insert(web_sessions).values(
            staff_id=staff_id, token_hash=token_hash, expires_at=expires_at
        )
    )


async def staff_by_session(
    conn: AsyncConnection, token_hash: str, now: datetime
) -> StaffRow | None:
    row = (
        await conn.execute(
            sa.select(staff.c.id, staff.c.email, staff.c.name, staff.c.password_hash)
            .join(web_sessions, web_sessions.c.staff_id == staff.c.id)
            .where(web_sessions.c.token_hash == token_hash, web_sessions.c.expires_at > now)
        )
    ).first()
    return msgspec.convert(row, StaffRow, from_attributes=True) if row else None


async def delete_web_session(conn: AsyncConnection, token_hash: str) -> None:
    await conn.execute(sa.delete(web_sessions).where(web_sessions.c.token_hash == token_hash))


async def delete_expired_sessions(conn: AsyncConnection, now: datetime) -> None:
    await conn.execute(sa.delete(web_sessions).where(web_sessions.c.expires_at <= now))


async def count_failures(conn: AsyncConnection, subjects: list[str], since: datetime) -> int:
    """Recent failures of the most-failed subject (an account or a client address)."""
    result = await conn.execute(
        sa.select(sa.func.count())
        .select_from(sign_in_failures)
        .where(sign_in_failures.c.subject_hash.in_(subjects), sign_in_failures.c.at > since)
        .group_by(sign_in_failures.c.subject_hash)
    )
    return max((int(n) for n in result.scalars()), default=0)


async def oldest_failure(conn: AsyncConnection, subjects: list[str], since: datetime) -> datetime:
    result = await conn.execute(
        sa.select(sa.func.min(sign_in_failures.c.at, type_=UTCDateTime)).where(
            sign_in_failures.c.subject_hash.in_(subjects), sign_in_failures.c.at > since
        )
    )
    value = result.scalar_one()
    assert value is not None
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


async def record_failures(conn: AsyncConnection, subjects: list[str], at: datetime) -> None:
    await conn.execute(
        sa.insert(sign_in_failures), [{"subject_hash": s, "at": at} for s in subjects]
    )


async def clear_failures(conn: AsyncConnection, subjects: list[str], before: datetime) -> None:
    await conn.execute(
        sa.delete(sign_in_failures).where(
            sa.or_(
                sign_in_failures.c.subject_hash.in_(subjects),
                sign_in_failures.c.at <= before,
            )
        )
    )
