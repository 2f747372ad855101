"""``festival fsck [--repair]``: find (and mend) where the database and the media store
disagree.

The database is the record of what exists; the store holds the bytes. A crash between
the two writes of one change (a row deleted, then its files) or damage to either side
leaves them out of step. Each kind of difference has a safe repair:

* a file no row refers to (an orphan) is deleted, unless it is younger than ``grace``,
  since a live server writes a file a moment before the row that names it;
* a temporary file or scratch folder whose writer died is deleted (a live writer holds a
  lock on its own, so they are told apart exactly);
* an unfinished upload whose bytes are gone loses its row (the phone then starts again);
  one whose file is shorter than the offset acknowledged has its offset lowered to the
  bytes there (the phone asks HEAD and resends the rest); one past expiry is removed;
* a finished upload with no clip (a crash between the two) becomes its clip;
* a clip whose poster, thumbnail or web video is missing is made again from its
  original; with the original gone too, it is marked failed with the reason;
* a clip whose captions file is missing loses the captions (staff can add them again);
* a withdrawn clip whose media still exists has its purge queued;
* a clip still processing with no job to process it is queued again;
* search entries of clips that are gone or withdrawn are dropped, and clips missing
  from the index are indexed.

Media under ``shared/`` (the one video load-test clips all play) belongs to no single
clip and is never deleted here. Repairs that are work for the job queue (processing,
purging) are queued and then run before fsck returns, so the store is right when it says
so; a server running at the same time may take some of them, which is just as good.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial

import msgspec

from festival.clips import queries as clip_queries
from festival.clips import service as clip_service
from festival.clips.schemas import ClipRow
from festival.clips.service import PROCESS_CLIP, ClipServices
from festival.consent import service as consent_service
from festival.db import job_queries
from festival.jobs import Jobs
from festival.timeline import queries as timeline_queries
from festival.timeline import search
from media.s3 import S3Store
from media.storage import LocalStore
from media.tus import UploadState

#: Never deleted by fsck: media shared by many clips (see festival.demo.synthetic).
SHARED_PREFIX = "shared/"
#: Orphans younger than this are left alone: a running server may be about to record them.
GRACE = timedelta(minutes=10)
LOST_ORIGINAL = (
    "The original file was lost from the media store, so this clip cannot be made "
    "ready to play. Please upload it again."
)
_DERIVED = (("poster_key", "poster"), ("thumb_key", "thumbnail"), ("rendition_key", "web video"))


class Finding(msgspec.Struct):
    """One difference: what is wrong, and what the repair did (or would do)."""

    problem: str
    repair: str
    repaired: bool = False

    def line(self) -> str:
        if self.repaired:
            return f"{self.problem} Repaired: {self.repair}."
        return f"{self.problem} With --repair: {self.repair}."


class Report(msgspec.Struct):
    findings: list[Finding]
    jobs_run: int = 0

    @property
    def clean(self) -> bool:
        return all(f.repaired for f in self.findings)


class _Check:
    """One run of fsck: gathers findings, and repairs as it goes when asked."""

    def __init__(self, services: ClipServices, *, repair: bool, grace: timedelta) -> None:
        self.services = services
        self.repair = repair
        self.grace = grace
        self.findings: list[Finding] = []
        self.queued: set[str] = set()

    async def found(
        self, problem: str, repair: str, fix: Callable[[], Awaitable[object]] | None = None
    ) -> None:
        finding = Finding(problem=problem, repair=repair)
        if self.repair and fix is not None:
            await fix()
            finding.repaired = True
        self.findings.append(finding)

    async def queue(self, kind: str, clip_id: int) -> None:
        await self.services.jobs.enqueue(kind, {"clip_id": clip_id})
        self.queued.add(kind)


async def fsck(services: ClipServices, *, repair: bool = False, grace: timedelta = GRACE) -> Report:
    """Compare the database with the media store; with ``repair``, mend what is safe."""
    check = _Check(services, repair=repair, grace=grace)
    async with services.db.read() as conn:
        clips = await clip_queries.list_clips(conn)
        uploads = await clip_queries.all_uploads(conn)
        indexed = set(await timeline_queries.search_ids(conn))
        queued_processing = {
            int(msgspec.json.decode(p)["clip_id"])
            for p in await job_queries.pending_payloads(conn, PROCESS_CLIP)
        }
    keys = {key async for key in services.store.list()}
    referenced: set[str] = set()
    await _leftovers(check)
    await _uploads(check, uploads, {c.upload_id for c in clips}, keys, referenced)
    for clip in clips:
        await _clip(check, clip, keys, referenced, queued_processing)
    await _orphans(check, keys, referenced, {c.id for c in clips if c.state == "processing"})
    await _search(check, clips, indexed)
    jobs_run = await _run_queued(services, check.queued) if repair and check.queued else 0
    return Report(findings=check.findings, jobs_run=jobs_run)


async def _leftovers(check: _Check) -> None:
    services = check.services
    remove = check.repair
    for folder in await asyncio.to_thread(
        clip_service.sweep_scratch, services.work_dir, remove=remove
    ):
        check.findings.append(
            Finding(
                problem=f"The scratch folder {folder} was left by a stopped process.",
                repair="deleted it",
                repaired=remove,
            )
        )
    if isinstance(services.store, LocalStore | S3Store):
        for path in await services.store.sweep_temporaries(remove=remove):
            check.findings.append(
                Finding(
                    problem=f"The media store holds {path}, a file a stopped process left "
                    "half-written.",
                    repair="deleted it",
                    repaired=remove,
                )
            )


async def _uploads(
    check: _Check,
    uploads: list[UploadState],
    upload_ids_with_clips: set[str],
    keys: set[str],
    referenced: set[str],
) -> None:
    services = check.services
    engine = services.engine
    now = datetime.now(UTC)
    for state in uploads:
        key = engine.key_for(state.id)
        if state.completed:
            if state.id in upload_ids_with_clips:
                continue  # its bytes are the clip's original, checked with the clip
            if key in keys:
                referenced.add(key)

                await check.found(
                    f"Upload {state.id} finished but has no clip.",
                    "made its clip and queued its processing",
                    partial(clip_service.ensure_clip, services, state),
                )
                check.queued.add(PROCESS_CLIP)
            else:
                await check.found(
                    f"Upload {state.id} finished, but it has no clip and its file {key} "
                    "is missing.",
                    "removed the upload's record",
                    partial(services.engine.states.delete, state.id),
                )
            continue
        if key not in keys:
            await check.found(
                f"Upload {state.id} is unfinished and its file {key} is missing.",
                "removed the upload's record, so the phone starts it again",
                partial(services.engine.states.delete, state.id),
            )
            continue
        referenced.add(key)
        if state.expires_at <= now:
            await check.found(
                f"Upload {state.id} expired at {state.expires_at:%Y-%m-%d %H:%M} UTC but "
                f"still holds {key}.",
                "removed the upload and its bytes",
                partial(services.engine.expire, now),
            )
            continue
        size = await services.store.size(key)
        if size is not None and size < state.offset:
            lowered = msgspec.structs.replace(state, offset=size)
            await check.found(
                f"Upload {state.id} acknowledged {state.offset} bytes but its file holds "
                f"only {size}.",
                f"lowered its offset to {size}, so the phone resends the rest",
                partial(services.engine.states.put, lowered),
            )


async def _clip(
    check: _Check,
    clip: ClipRow,
    keys: set[str],
    referenced: set[str],
    queued_processing: set[int],
) -> None:
    services = check.services
    named = {
        column: getattr(clip, column)
        for column in ("original_key", "poster_key", "thumb_key", "rendition_key", "captions_key")
        if getattr(clip, column)
    }
    referenced.update(named.values())
    if clip.withdrawn_at is not None:
        left = sorted(
            k
            for k in keys
            if (k in named.values() or k.startswith(f"clips/{clip.id}/"))
            and not k.startswith(SHARED_PREFIX)
        )
        if left:
            await check.found(
                f"Clip {clip.id} was withdrawn but its media still exists: {', '.join(left)}.",
                "queued its media to be deleted",
                lambda: check.queue(consent_service.PURGE_MEDIA, clip.id),
            )
        return
    missing = {column: key for column, key in named.items() if key not in keys}
    original_gone = "original_key" in missing
    derived_gone = [word for column, word in _DERIVED if column in missing]
    if original_gone and (derived_gone or clip.state == "processing"):
        await check.found(
            f"Clip {clip.id}'s original {missing['original_key']} is missing"
            + (f", and so is its {', '.join(derived_gone)}." if derived_gone else "."),
            "marked it failed, with the reason for the volunteer",
            lambda: _mark_failed(services, clip),
        )
        return
    if original_gone:
        # Still playable from its web video: only the download of the original is lost.
        await check.found(
            f"Clip {clip.id}'s original {missing['original_key']} is missing; it still "
            "plays from its web video.",
            "cleared the original's record",
            lambda: _update(services, clip.id, {"original_key": None}),
        )
    if derived_gone:
        await check.found(
            f"Clip {clip.id}'s {', '.join(derived_gone)} "
            f"{'is' if len(derived_gone) == 1 else 'are'} missing.",
            "queued it to be made again from the original",
            lambda: _remake(check, clip),
        )
    elif clip.state == "processing" and clip.id not in queued_processing:
        await check.found(
            f"Clip {clip.id} is waiting to be processed but no job is queued for it.",
            "queued its processing",
            lambda: check.queue(PROCESS_CLIP, clip.id),
        )
    if "captions_key" in missing:
        await check.found(
            f"Clip {clip.id}'s captions {missing['captions_key']} are missing.",
            "cleared them from the clip and its search entry; add them again from the clip's page",
            lambda: _drop_captions(services, clip.id),
        )


async def _update(services: ClipServices, clip_id: int, values: dict[str, object]) -> None:
    async with services.db.write() as conn:
        await clip_queries.update_clip(conn, clip_id, values)
        await timeline_queries.place_clip(conn, clip_id)


async def _mark_failed(services: ClipServices, clip: ClipRow) -> None:
    await services.store.delete_prefix(f"clips/{clip.id}")
    await _update(
        services,
        clip.id,
        {
            "state": "failed",
            "failure_reason": LOST_ORIGINAL,
            "original_key": None,
            "poster_key": None,
            "thumb_key": None,
            "rendition_key": None,
            "rendition_size": None,
        },
    )


async def _remake(check: _Check, clip: ClipRow) -> None:
    await _update(
        check.services,
        clip.id,
        {"state": "processing", "poster_key": None, "thumb_key": None, "rendition_key": None},
    )
    await check.queue(PROCESS_CLIP, clip.id)


async def _drop_captions(services: ClipServices, clip_id: int) -> None:
    async with services.db.write() as conn:
        await clip_queries.update_clip(conn, clip_id, {"captions_key": None})
        await search.index_clip(conn, clip_id, "")


async def _orphans(
    check: _Check, keys: set[str], referenced: set[str], processing: set[int]
) -> None:
    services = check.services
    cutoff = datetime.now(UTC) - check.grace
    for key in sorted(keys - referenced):
        if key.startswith(SHARED_PREFIX):
            continue
        parts = key.split("/")
        # A clip being processed writes its files a moment before recording them.
        if parts[0] == "clips" and parts[1].isdigit() and int(parts[1]) in processing:
            continue
        if not await _older_than(services, key, cutoff):
            continue
        await check.found(
            f"The media store holds {key}, which no clip or upload refers to.",
            "deleted it",
            partial(services.store.delete, key),
        )


async def _older_than(services: ClipServices, key: str, cutoff: datetime) -> bool:
    if isinstance(services.store, S3Store):
        modified = await services.store.modified_at(key)
        return modified is not None and modified <= cutoff
    if not isinstance(services.store, LocalStore):
        return True
    path = services.store.path_for(key)
    try:
        changed = (await asyncio.to_thread(path.stat)).st_mtime
    except FileNotFoundError:
        return False
    return datetime.fromtimestamp(changed, UTC) <= cutoff


async def _search(check: _Check, clips: list[ClipRow], indexed: set[int]) -> None:
    services = check.services
    listed = {c.id for c in clips if c.withdrawn_at is None}
    for clip_id in sorted(indexed - listed):
        await check.found(
            f"The search index has an entry for clip {clip_id}, which is gone or withdrawn.",
            "dropped the entry",
            partial(_unindex, services, clip_id),
        )
    async with services.db.read() as conn:
        behind = await search.needs_rebuild(conn)
    if behind:
        await check.found(
            "Some consented clips are missing from the search index.",
            "rebuilt the index",
            lambda: search.reindex_all(services),
        )


async def _unindex(services: ClipServices, clip_id: int) -> None:
    async with services.db.write() as conn:
        await search.unindex(conn, clip_id)


async def _run_queued(services: ClipServices, kinds: set[str]) -> int:
    """Run the queued repair work now (only the kinds fsck queued), so the store is right
    when fsck returns."""
    runner = Jobs(services.db, lease=services.jobs.lease)
    for kind in kinds:
        runner.register(kind, services.jobs.handlers[kind])
    ran = 0
    while await runner.run_one():
        ran += 1
    return ran
