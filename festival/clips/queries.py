"""SQL for uploads in progress (the tus states) and clips."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from festival.clips.schemas import ClipRow
from festival.db.tables import clips, uploads
from media.tus import UploadState


def _state(row: Any) -> UploadState:
    return UploadState(
        id=row.id,
        owner=row.owner,
        length=row.length,
        offset=row.offset,
        metadata=msgspec.json.decode(row.metadata),
        metadata_header=row.metadata_header,
        created_at=row.created_at,
        expires_at=row.expires_at,
        completed=row.completed,
        sha256=row.sha256,
    )


async def upload_state(conn: AsyncConnection, upload_id: str) -> UploadState | None:
    row = (await conn.execute(sa.select(uploads).where(uploads.c.id == upload_id))).first()
    return _state(row) if row else None


async def save_upload_state(conn: AsyncConnection, state: UploadState) -> None:
    values = {
        "owner": state.owner,
        "length": state.length,
        "offset": state.offset,
        "metadata": msgspec.json.encode(state.metadata).decode(),
        "metadata_header": state.metadata_header,
        "created_at": state.created_at,
        "expires_at": state.expires_at,
        "completed": state.completed,
        "sha256": state.sha256,
    }
    updated = await conn.execute(
        sa.update(uploads).where(uploads.c.id == state.id).values(**values)
    )
    if updated.rowcount == 0:
        await conn.execute(sa.insert(uploads).values(id=state.id, **values))


async def delete_upload_state(conn: AsyncConnection, upload_id: str) -> None:
    await conn.execute(sa.delete(uploads).where(uploads.c.id == upload_id))


async def expired_uploads(conn: AsyncConnection, now: datetime) -> list[UploadState]:
    rows = await conn.execute(
        sa.select(uploads).where(uploads.c.completed.is_(False), uploads.c.expires_at <= now)
    )
    return [_state(r) for r in rows]


async def all_uploads(conn: AsyncConnection) -> list[UploadState]:
    """Every upload state, finished or not (for festival fsck)."""
    return [_state(r) for r in await conn.execute(sa.select(uploads).order_by(uploads.c.id))]


async def open_uploads(conn: AsyncConnection, owner: str, now: datetime) -> list[UploadState]:
    rows = await conn.execute(
        sa.select(uploads)
        .where(
            uploads.c.owner == owner,
            uploads.c.completed.is_(False),
            uploads.c.expires_at > now,
        )
        .order_by(uploads.c.created_at)
    )
    return [_state(r) for r in rows]


async def insert_clip(conn: AsyncConnection, values: dict[str, Any]) -> int:
    result = await conn.execute(sa.insert(clips).values(**values).returning(clips.c.id))
    return int(result.scalar_one())


async def clip_by_id(conn: AsyncConnection, clip_id: int) -> ClipRow | None:
    row = (await conn.execute(sa.select(clips).where(clips.c.id == clip_id))).first()
    return msgspec.convert(row, ClipRow, from_attributes=True) if row else None


async def clip_by_upload(conn: AsyncConnection, upload_id: str) -> ClipRow | None:
    row = (await conn.execute(sa.select(clips).where(clips.c.upload_id == upload_id))).first()
    return msgspec.convert(row, ClipRow, from_attributes=True) if row else None


async def list_clips(
    conn: AsyncConnection,
    *,
    festival_id: int | None = None,
    volunteer_id: int | None = None,
    slot_id: int | None = None,
) -> list[ClipRow]:
    query = sa.select(clips).order_by(clips.c.created_at.desc(), clips.c.id.desc())
    if festival_id is not None:
        query = query.where(clips.c.festival_id == festival_id)
    if volunteer_id is not None:
        query = query.where(clips.c.volunteer_id == volunteer_id)
    if slot_id is not None:
        query = query.where(clips.c.slot_id == slot_id)
    return [msgspec.convert(r, ClipRow, from_attributes=True) for r in await conn.execute(query)]


async def update_clip(conn: AsyncConnection, clip_id: int, values: dict[str, Any]) -> None:
    await conn.execute(sa.update(clips).where(clips.c.id == clip_id).values(**values))


async def delete_clip(conn: AsyncConnection, clip_id: int) -> None:
    await conn.execute(sa.delete(clips).where(clips.c.id == clip_id))
