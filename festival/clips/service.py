"""Clips from phones: tus uploads in, probed and made playable in the background.

An upload becomes a clip only when its last byte has arrived and been verified; until
then it is an upload, visible to its owner and staff. The clip's processing (probe,
poster, web rendition) runs as a job, so a restart in the middle simply runs it again.
A file that is not a playable video is refused with a reason the volunteer can read,
and nothing of it is kept.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import shutil
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from msgspec import UNSET

from festival.accounts.schemas import Identity
from festival.clips import queries
from festival.clips.schemas import (
    MEDIA_FILES,
    STATE_WORDS,
    Clip,
    ClipLine,
    ClipPatch,
    ClipRow,
    MyClips,
    Upload,
)
from festival.consent import service as consent_service
from festival.consent.mail import SEND_REVIEW_LINK, ReviewMail, not_configured
from festival.crew import service as crew
from festival.db.engine import Database
from festival.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
)
from festival.jobs import Jobs
from festival.programme import service as programme
from festival.timeline import queries as timeline_queries
from festival.timeline import search
from media import captions as captions_tools
from media.errors import MediaError
from media.posters import make_poster
from media.probe import probe
from media.renditions import make_web_rendition
from media.s3 import S3Store
from media.storage import LocalStore, Store
from media.tus import REQUIRED_METADATA, TusEngine, UploadState, check_creation, safe_filename

log = logging.getLogger("festival.clips")
PROCESS_CLIP = "process-clip"
EXPIRE_UPLOADS = "expire-uploads"
EXPIRY_INTERVAL = 15 * 60  # seconds between sweeps of abandoned uploads
MAX_CAPTIONS = 1024 * 1024


class DatabaseStates:
    """Upload states kept in the database, so uploads resume after a restart and on any
    instance that shares the database (a :class:`media.tus.StateStore`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, upload_id: str) -> UploadState | None:
        async with self.db.read() as conn:
            return await queries.upload_state(conn, upload_id)

    # One upload's own row, written by whoever holds that upload's lock: no rule spans
    # other rows, so these writes need not queue behind every other write in the service.
    async def put(self, state: UploadState) -> None:
        async with self.db.write(exclusive=False) as conn:
            await queries.save_upload_state(conn, state)

    async def delete(self, upload_id: str) -> None:
        async with self.db.write(exclusive=False) as conn:
            await queries.delete_upload_state(conn, upload_id)

    async def list_expired(self, now: datetime) -> Sequence[UploadState]:
        async with self.db.read() as conn:
            return await queries.expired_uploads(conn, now)


class ClipServices(msgspec.Struct):
    """What clip handling needs, built once in the app's lifespan."""

    db: Database
    store: Store
    engine: TusEngine
    jobs: Jobs
    work_dir: Path
    mail: ReviewMail | None = None  # sends interviewees their private link, if SMTP is set


# --- who owns what --------------------------------------------------------------------


def owner_of(identity: Identity) -> str:
    if identity.is_anonymous or identity.id is None:
        raise Unauthorized(
            "Only a signed-in volunteer or staff member can upload clips.",
            fix="Open your invite link first, or send your token as a bearer token.",
            headers={"WWW-Authenticate": 'Bearer realm="festival"'},
        )
    return f"{identity.kind}:{identity.id}"


def _sees_all(identity: Identity) -> bool:
    return identity.is_staff


def _visible_owner(identity: Identity) -> str | None:
    """The tus engine's owner filter: ``None`` lets staff see every upload."""
    owner = owner_of(identity)
    return None if _sees_all(identity) else owner


async def _festival_for(
    conn: Any, identity: Identity, metadata: Mapping[str, str], *, check_consent: bool = True
) -> int:
    """Which festival an upload belongs to, checking its optional slot."""
    festival_id: int | None = None
    if identity.is_volunteer:
        assert identity.id is not None
        festival_id = await crew.volunteer_festival(conn, identity.id)
    slot_text = metadata.get("slot", "")
    if slot_text:
        if not slot_text.isdigit() or len(slot_text) > 12:
            raise BadRequest.field("Upload-Metadata.slot", "must be a slot id (digits)")
        found = await crew.slot_festival_and_holders(conn, int(slot_text))
        if found is None:
            raise BadRequest.field("Upload-Metadata.slot", f"there is no slot {slot_text}")
        slot_festival, holders = found
        if identity.is_volunteer and (identity.id not in holders or slot_festival != festival_id):
            raise Forbidden(
                f"You do not hold a place in slot {slot_text}.",
                fix="Upload from one of your own slots, or without a slot.",
            )
        festival_id = slot_festival
    if festival_id is None:
        slug = metadata.get("festival", "")
        if not slug:
            raise BadRequest.field(
                "Upload-Metadata.festival",
                "is needed for a staff upload without a slot",
                fix="Send the festival's slug as 'festival' in Upload-Metadata, or a slot.",
            )
        festival_id = (await programme.require_festival(conn, slug)).id
    consent = metadata.get("consent", "")
    if consent and check_consent:
        await consent_service.check_upload_consent(conn, identity, festival_id, consent)
    return festival_id


# --- tus ------------------------------------------------------------------------------


async def start_upload(
    services: ClipServices,
    identity: Identity,
    headers: Mapping[str, str],
    body: AsyncIterable[bytes] | None,
) -> UploadState:
    owner = owner_of(identity)
    # Check the metadata before a single byte is accepted.
    request = check_creation(headers, services.engine.max_size, REQUIRED_METADATA)
    async with services.db.read() as conn:
        await _festival_for(conn, identity, request.metadata)
    state = await services.engine.create(headers, owner, body)
    if state.completed:
        await _become_clip(services, state)
    return state


async def continue_upload(
    services: ClipServices,
    identity: Identity,
    upload_id: str,
    headers: Mapping[str, str],
    body: AsyncIterable[bytes],
) -> UploadState:
    state = await services.engine.patch(upload_id, headers, body, _visible_owner(identity))
    if state.completed:
        await _become_clip(services, state)
    return state


async def upload_status(services: ClipServices, identity: Identity, upload_id: str) -> UploadState:
    state = await services.engine.head(upload_id, _visible_owner(identity))
    if state.completed:
        # A crash after the last byte was recorded but before the clip was: the phone
        # sees a finished upload on HEAD and never sends again, so the clip is made here.
        await _become_clip(services, state)
    return state


async def cancel_upload(services: ClipServices, identity: Identity, upload_id: str) -> None:
    async with services.db.read() as conn:
        clip = await queries.clip_by_upload(conn, upload_id)
    if clip is not None:
        await services.engine.head(upload_id, _visible_owner(identity))  # 404 if not theirs
        raise Conflict(
            "This upload is finished and has become a clip.",
            fix=f"Delete the clip instead: DELETE /api/v1/clips/{clip.id}.",
        )
    await services.engine.terminate(upload_id, _visible_owner(identity))


def _identity_from_owner(owner: str) -> Identity:
    kind, _, number = owner.partition(":")
    return Identity(kind=kind, id=int(number))  # type: ignore[arg-type]


async def _become_clip(services: ClipServices, state: UploadState) -> int:
    """Record the finished upload as a clip (once) and queue its processing."""
    identity = _identity_from_owner(state.owner)
    async with services.db.write() as conn:
        existing = await queries.clip_by_upload(conn, state.id)
        processing = existing is None or existing.state == "processing"
        if existing is not None:
            clip_id = existing.id
        else:
            # The consent was checked when the upload began. Withdrawn since? The clip is
            # still kept (without it) so it shows in the queue and is swept like any
            # unconsented upload, rather than left as a file nobody can see.
            festival_id = await _festival_for(conn, identity, state.metadata, check_consent=False)
            slot = state.metadata.get("slot", "")
            filename = safe_filename(state.metadata.get("filename", ""))
            clip_id = await queries.insert_clip(
                conn,
                {
                    "festival_id": festival_id,
                    "upload_id": state.id,
                    "volunteer_id": identity.id if identity.is_volunteer else None,
                    "staff_id": identity.id if identity.is_staff else None,
                    "slot_id": int(slot) if slot else None,
                    "consent_ref": state.metadata.get("consent", ""),
                    "title": Path(filename).stem[:200],
                    "original_filename": filename[:255],
                    "content_type": state.metadata.get("filetype", "")[:100],
                    "original_key": services.engine.key_for(state.id),
                    "original_size": state.length,
                    "original_sha256": state.sha256 or "",
                    "state": "processing",
                },
            )
            await timeline_queries.place_clip(conn, clip_id)
            if state.metadata.get("consent"):
                await consent_service.link_on_upload(
                    conn, identity, clip_id, state.metadata["consent"]
                )
    if processing:
        # Queued again for a clip still processing: a crash may have come between the
        # clip's row and its job (the queue keeps one pending job per clip).
        await services.jobs.enqueue(PROCESS_CLIP, {"clip_id": clip_id})
    return clip_id


async def ensure_clip(services: ClipServices, state: UploadState) -> int:
    """The clip of a finished upload, made now if a crash came before it was (fsck)."""
    return await _become_clip(services, state)


async def import_file(
    services: ClipServices,
    source: Path,
    *,
    festival_id: int,
    volunteer_id: int | None,
    slot_id: int | None,
    title: str,
) -> int:
    """Take a video file already on this machine as a clip (the demo, staff imports):
    the same record and processing as an upload, without the upload."""
    digest = await asyncio.to_thread(_sha256, source)
    size = (await asyncio.to_thread(source.stat)).st_size
    key = services.engine.key_for(f"import-{digest[:32]}")
    await services.store.put_file(key, source)
    async with services.db.write() as conn:
        clip_id = await queries.insert_clip(
            conn,
            {
                "festival_id": festival_id,
                "upload_id": f"import-{digest[:32]}",
                "volunteer_id": volunteer_id,
                "slot_id": slot_id,
                "title": title[:200],
                "original_filename": safe_filename(source.name),
                "content_type": "video/mp4",
                "original_key": key,
                "original_size": size,
                "original_sha256": digest,
                "state": "processing",
            },
        )
        await timeline_queries.place_clip(conn, clip_id)
    await services.jobs.enqueue(PROCESS_CLIP, {"clip_id": clip_id})
    return clip_id


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


# --- processing -----------------------------------------------------------------------


def _keys(clip_id: int) -> dict[str, str]:
    return {
        "poster_key": f"clips/{clip_id}/poster.jpg",
        "thumb_key": f"clips/{clip_id}/thumb.jpg",
        "rendition_key": f"clips/{clip_id}/web.mp4",
        "captions_key": f"clips/{clip_id}/captions.vtt",
    }


SCRATCH_PREFIX = "clip-"


def _new_scratch(work_dir: Path) -> tuple[Path, int]:
    """A fresh scratch folder and the descriptor holding its lock. The lock tells a sweep
    that the folder is in use; a folder nobody holds was left by a killed worker."""
    work_dir.mkdir(parents=True, exist_ok=True)
    while True:
        folder = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=work_dir))
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:  # swept between making and locking it: make another
            continue
        fcntl.flock(fd, fcntl.LOCK_EX)  # a sweep holds it only while it removes the folder
        try:
            if os.path.samestat(os.fstat(fd), os.stat(folder)):
                return folder, fd
        except FileNotFoundError:
            pass
        os.close(fd)


def sweep_scratch(work_dir: Path, *, remove: bool = True) -> list[Path]:
    """Scratch folders whose worker died mid-way (kill -9 during a rendition): found and,
    by default, removed. Folders in use are locked by their worker and left alone."""
    if not work_dir.is_dir():
        return []
    found = []
    for folder in sorted(work_dir.iterdir()):
        if not folder.name.startswith(SCRATCH_PREFIX) or not folder.is_dir():
            continue
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            found.append(folder)
            if remove:
                shutil.rmtree(folder, ignore_errors=True)
        finally:
            os.close(fd)
    return found


@asynccontextmanager
async def _scratch(services: ClipServices) -> AsyncIterator[Path]:
    folder, fd = await asyncio.to_thread(_new_scratch, services.work_dir)
    try:
        yield folder
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)
        os.close(fd)


async def process_clip(services: ClipServices, clip_id: int) -> None:
    """Probe, poster and web rendition. Safe to run again after a crash part-way."""
    async with services.db.read() as conn:
        clip = await queries.clip_by_id(conn, clip_id)
    if clip is None or clip.state != "processing" or clip.original_key is None:
        return
    keys = _keys(clip_id)
    async with services.store.open_path(clip.original_key) as source, _scratch(services) as work:
        try:
            info = await asyncio.to_thread(probe, source)
            await asyncio.to_thread(
                make_poster, source, work / "poster.jpg", work / "thumb.jpg", probed=info
            )
            rendition = await asyncio.to_thread(
                make_web_rendition, source, work / "web.mp4", probed=info
            )
        except MediaError as error:
            await _refuse(services, clip, error.reason)
            return
        await services.store.put_file(keys["poster_key"], work / "poster.jpg", move=True)
        await services.store.put_file(keys["thumb_key"], work / "thumb.jpg", move=True)
        await services.store.put_file(keys["rendition_key"], work / "web.mp4", move=True)
    async with services.db.write() as conn:
        await queries.update_clip(
            conn,
            clip_id,
            {
                "state": "ready",
                "recorded_at": info.creation_time,
                "duration": info.duration,
                "width": info.width,
                "height": info.height,
                "video_codec": info.video_codec,
                "audio_codec": info.audio_codec or "",
                "poster_key": keys["poster_key"],
                "thumb_key": keys["thumb_key"],
                "rendition_key": keys["rendition_key"],
                "rendition_size": rendition.size,
            },
        )
        await timeline_queries.place_clip(conn, clip_id)


async def _refuse(services: ClipServices, clip: ClipRow, reason: str) -> None:
    """Not a playable video: keep the reason for the volunteer and nothing of the file."""
    await services.store.delete_prefix(f"clips/{clip.id}")
    if clip.original_key:
        await services.store.delete(clip.original_key)
    async with services.db.write() as conn:
        await queries.update_clip(
            conn,
            clip.id,
            {"state": "failed", "failure_reason": reason, "original_key": None},
        )
        await queries.delete_upload_state(conn, clip.upload_id)


async def expire_uploads(services: ClipServices) -> list[str]:
    removed = await services.engine.expire(datetime.now(UTC))
    if removed:
        log.info("removed %d abandoned uploads", len(removed))
    # The same sweep clears what a killed process left half-made (this job runs at start).
    swept = len(await asyncio.to_thread(sweep_scratch, services.work_dir))
    if isinstance(services.store, LocalStore | S3Store):
        swept += len(await services.store.sweep_temporaries())
    if swept:
        log.info("removed %d things a stopped process left part-made", swept)
    return removed


def register_jobs(services: ClipServices) -> None:
    mail = services.mail

    async def run_process(payload: dict[str, Any]) -> None:
        await process_clip(services, int(payload["clip_id"]))

    async def run_expiry(payload: dict[str, Any]) -> None:
        await expire_uploads(services)
        await services.jobs.enqueue(EXPIRE_UPLOADS, {}, delay=EXPIRY_INTERVAL, again=True)

    async def run_purge(payload: dict[str, Any]) -> None:
        await consent_service.purge_media(services.db, services.store, int(payload["clip_id"]))

    async def run_sweep(payload: dict[str, Any]) -> None:
        async def delete(clip_id: int) -> None:
            await delete_clip(services, Identity(kind="staff", id=0), clip_id)

        await consent_service.sweep(services.db, services.jobs, delete)
        await services.jobs.enqueue(
            consent_service.SWEEP, {}, delay=consent_service.SWEEP_INTERVAL, again=True
        )

    services.jobs.register(PROCESS_CLIP, run_process)
    services.jobs.register(EXPIRE_UPLOADS, run_expiry)
    services.jobs.register(consent_service.PURGE_MEDIA, run_purge)
    services.jobs.register(consent_service.SWEEP, run_sweep)
    services.jobs.register(SEND_REVIEW_LINK, mail.send if mail else not_configured)

    async def run_reindex(payload: dict[str, Any]) -> None:
        await search.reindex_all(services)

    services.jobs.register(search.REINDEX, run_reindex)


# --- clips for owners and staff --------------------------------------------------------


def _url(clip: ClipRow, name: str, column: str) -> str | None:
    return f"/media/clips/{clip.id}/{name}" if getattr(clip, column) else None


def view(clip: ClipRow) -> Clip:
    return Clip(
        id=clip.id,
        festival_id=clip.festival_id,
        title=clip.title,
        state=clip.state,
        state_words=STATE_WORDS[clip.state],
        failure_reason=clip.failure_reason,
        slot_id=clip.slot_id,
        volunteer_id=clip.volunteer_id,
        consent_ref=clip.consent_ref,
        original_filename=clip.original_filename,
        original_size=clip.original_size,
        original_sha256=clip.original_sha256,
        recorded_at=clip.recorded_at,
        duration=clip.duration,
        width=clip.width,
        height=clip.height,
        video_codec=clip.video_codec,
        audio_codec=clip.audio_codec,
        video_url=_url(clip, "web.mp4", "rendition_key"),
        poster_url=_url(clip, "poster.jpg", "poster_key"),
        thumb_url=_url(clip, "thumb.jpg", "thumb_key"),
        captions_url=_url(clip, "captions.vtt", "captions_key"),
        original_url=_url(clip, "original", "original_key"),
        created_at=clip.created_at,
        published=clip.published_at is not None,
        withdrawn=clip.withdrawn_at is not None,
    )


def _may_see(identity: Identity, clip: ClipRow) -> bool:
    return identity.is_staff or (identity.is_volunteer and clip.volunteer_id == identity.id)


async def _clip(conn: Any, identity: Identity, clip_id: int) -> ClipRow:
    clip = await queries.clip_by_id(conn, clip_id)
    # Someone else's clip is "not found", not "forbidden": its existence stays private.
    if clip is None or not _may_see(identity, clip):
        raise NotFound(f"There is no clip {clip_id} that you can see.")
    return clip


async def _views(conn: Any, rows: Sequence[ClipRow]) -> list[Clip]:
    """Clips with their ownership lines filled in."""
    from festival.consent import queries as consent_queries

    consents = await consent_queries.consents_of_clips(conn, [r.id for r in rows])
    festivals: dict[int, str] = {}
    volunteers: dict[int, str] = {}
    result = []
    for row in rows:
        if row.festival_id not in festivals:
            festivals[row.festival_id] = (
                await programme.festival_by_id(conn, row.festival_id)
            ).name
        if row.volunteer_id is not None and row.volunteer_id not in volunteers:
            volunteers[row.volunteer_id] = await crew.volunteer_name(conn, row.volunteer_id)
        clip = view(row)
        clip.owners = consent_service.owners_credit(consents[row.id]) if consents[row.id] else ""
        clip.filmed_by = (
            volunteers[row.volunteer_id] if row.volunteer_id is not None else "The festival team"
        )
        clip.publisher = festivals[row.festival_id]
        result.append(clip)
    return result


async def get_clip(db: Database, identity: Identity, clip_id: int) -> Clip:
    owner_of(identity)
    async with db.read() as conn:
        return (await _views(conn, [await _clip(conn, identity, clip_id)]))[0]


async def list_clips(
    db: Database,
    identity: Identity,
    *,
    festival: str | None = None,
    slot_id: int | None = None,
) -> list[Clip]:
    owner_of(identity)
    async with db.read() as conn:
        festival_id = (await programme.require_festival(conn, festival)).id if festival else None
        rows = await queries.list_clips(
            conn,
            festival_id=festival_id,
            volunteer_id=None if identity.is_staff else identity.id,
            slot_id=slot_id,
        )
        return await _views(conn, rows)


async def my_clips(db: Database, identity: Identity, base_url: str) -> MyClips:
    owner = owner_of(identity)
    async with db.read() as conn:
        pending = await queries.open_uploads(conn, owner, datetime.now(UTC))
        rows = await queries.list_clips(
            conn, volunteer_id=identity.id if identity.is_volunteer else None
        )
    if identity.is_staff:
        rows = [r for r in rows if r.staff_id == identity.id]
    return MyClips(
        uploads=[
            Upload(
                id=u.id,
                filename=safe_filename(u.metadata.get("filename", "")),
                length=u.length,
                offset=u.offset,
                expires_at=u.expires_at,
                url=f"{base_url}/api/v1/uploads/{u.id}",
            )
            for u in pending
        ],
        clips=[view(r) for r in rows],
    )


async def update_clip(db: Database, identity: Identity, clip_id: int, patch: ClipPatch) -> Clip:
    owner_of(identity)
    async with db.write() as conn:
        clip = await _clip(conn, identity, clip_id)
        values: dict[str, Any] = {}
        if patch.title is not UNSET:
            values["title"] = patch.title
        if patch.slot_id is not UNSET:
            if patch.slot_id is not None:
                found = await crew.slot_festival_and_holders(conn, patch.slot_id)
                if found is None or found[0] != clip.festival_id:
                    raise Invalid.field("slot_id", f"this festival has no slot {patch.slot_id}")
                if identity.is_volunteer and identity.id not in found[1]:
                    raise Forbidden(f"You do not hold a place in slot {patch.slot_id}.")
            values["slot_id"] = patch.slot_id
        if values:
            await queries.update_clip(conn, clip_id, values)
            await timeline_queries.place_clip(conn, clip_id)
            await search.index_clip(conn, clip_id)
        fresh = await queries.clip_by_id(conn, clip_id)
        assert fresh is not None
        return view(fresh)


async def delete_clip(services: ClipServices, identity: Identity, clip_id: int) -> None:
    owner_of(identity)
    async with services.db.write() as conn:
        clip = await _clip(conn, identity, clip_id)
        await queries.delete_clip(conn, clip.id)
        await queries.delete_upload_state(conn, clip.upload_id)
        await search.unindex(conn, clip.id)
    # The row goes first: a crash between leaves orphan files for fsck, never a clip
    # whose media is missing.
    await services.store.delete_prefix(f"clips/{clip.id}")
    if clip.original_key:
        await services.store.delete(clip.original_key)


async def attach_captions(
    services: ClipServices, identity: Identity, clip_id: int, data: bytes
) -> Clip:
    owner_of(identity)
    async with services.db.read() as conn:
        await _clip(conn, identity, clip_id)
    return await save_captions(services, clip_id, data)


async def save_captions(services: ClipServices, clip_id: int, data: bytes) -> Clip:
    """Check captions against the clip and store them as WebVTT."""
    if len(data) > MAX_CAPTIONS:
        raise PayloadTooLarge(
            "Captions files may be at most 1 MB.", fix="Check that this is a captions file."
        )
    async with services.db.read() as conn:
        clip = await queries.clip_by_id(conn, clip_id)
    if clip is None:
        raise NotFound(f"There is no clip {clip_id}.")
    if clip.withdrawn_at is not None:
        raise Conflict(
            "Consent for this clip was withdrawn and its files deleted.",
            fix="There is nothing to caption any more.",
        )
    if clip.state != "ready":
        raise Conflict(
            "Captions can be added once the clip is ready.",
            fix="Wait until the clip has finished processing.",
        )
    try:
        vtt = await asyncio.to_thread(captions_tools.parse_captions, data, duration=clip.duration)
    except MediaError as error:
        raise Invalid.field("captions", error.reason, fix="Send WebVTT or SRT captions.") from None
    key = _keys(clip_id)["captions_key"]
    async with services.store.open_write(key) as writer:
        await writer.write(vtt.encode())
    words = "\n".join(captions_tools.transcript(vtt))
    async with services.db.write() as conn:
        await queries.update_clip(conn, clip_id, {"captions_key": key})
        await search.index_clip(conn, clip_id, words)
        fresh = await queries.clip_by_id(conn, clip_id)
    assert fresh is not None
    return view(fresh)


class MediaFile(msgspec.Struct):
    key: str
    content_type: str
    size: int
    filename: str
    public: bool = False


async def media_file(
    services: ClipServices, identity: Identity, clip_id: int, name: str
) -> MediaFile:
    """A clip's file for its owner or staff (public access arrives with consent)."""
    if name not in MEDIA_FILES:
        raise NotFound(f"Clips have no file called {name!r}.")
    public = False
    if name != "original":
        try:
            clip = await consent_service.public_clip(services.db, clip_id)
            public = True
        except NotFound:
            public = False
    if not public:
        if identity.is_anonymous:
            raise NotFound(f"There is no clip {clip_id} that you can see.")
        async with services.db.read() as conn:
            clip = await _clip(conn, identity, clip_id)
    return await media_of(services, clip, name, public=public)


async def media_of(services: ClipServices, clip: ClipRow, name: str, *, public: bool) -> MediaFile:
    """The stored file ``name`` of a clip the caller may see."""
    if name not in MEDIA_FILES:
        raise NotFound(f"Clips have no file called {name!r}.")
    column, content_type = MEDIA_FILES[name]
    key = getattr(clip, column)
    if not key:
        raise NotFound(f"Clip {clip.id} has no {name} yet.", fix="Wait until it is ready.")
    size = await services.store.size(key)
    if size is None:
        raise NotFound(f"Clip {clip.id} has no {name}.")
    return MediaFile(
        key=key,
        # The original is served as bytes to download, never with the type the uploader
        # claimed: a claimed text/html must not turn our origin into a page of theirs.
        content_type=content_type or "application/octet-stream",
        size=size,
        filename=clip.original_filename if name == "original" else name,
        public=public,
    )


async def festival_clips(db: Database, identity: Identity, slug: str) -> list[ClipLine]:
    """Every clip of a festival for the staff list, newest first."""
    clips = await list_clips(db, identity, festival=slug)
    volunteers = {v.id: v.name for v in await crew.list_volunteers(db, slug)}
    slots = {s.id: s for s in await crew.list_slots(db, slug)}
    lines = []
    for clip in clips:
        slot = slots.get(clip.slot_id) if clip.slot_id else None
        lines.append(
            ClipLine(
                clip=clip,
                filmed_by=volunteers.get(clip.volunteer_id, "Festival staff")
                if clip.volunteer_id
                else "Festival staff",
                slot_starts_at=slot.starts_at if slot else None,
                session_title=slot.session.title if slot and slot.session else "",
            )
        )
    return lines
