"""The tus upload endpoint, the clips API and media files for owners and staff."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, head, patch, post, put, route
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Stream

from festival.auth import identity_of
from festival.clips import service
from festival.clips.schemas import Clip, ClipPatch, MyClips
from festival.clips.service import ClipServices, MediaFile
from festival.db.engine import Database
from festival.errors import FestivalError
from festival.problems import PROBLEM_JSON, problem_body
from festival.ranges import Unsatisfiable, parse_range
from festival.settings import Settings
from media.tus import TUS_VERSION, TusError, check_version, effective_method, upload_headers

AnyRequest = Request[Any, Any, Any]
CLIPS = NamedDependency[ClipServices]
DB = NamedDependency[Database]
SETTINGS = NamedDependency[Settings]
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
TUS = {"Tus-Resumable": TUS_VERSION}


def _tus_error(request: AnyRequest, exc: TusError) -> Response[bytes]:
    """tus refusals as problem details, with the headers the protocol asks for."""
    error = FestivalError(exc.reason, fix="See the tus 1.0.0 protocol, or start the upload again.")
    error.status = exc.status  # type: ignore[misc]
    error.title = "Upload refused"  # type: ignore[misc]
    return Response(
        problem_body(error, request.url.path),
        status_code=exc.status,
        media_type=PROBLEM_JSON,
        headers={**TUS, **dict(exc.headers)},
    )


def _festival_error(request: AnyRequest, exc: FestivalError) -> Response[bytes]:
    return Response(
        problem_body(exc, request.url.path),
        status_code=exc.status,
        media_type=PROBLEM_JSON,
        headers={**TUS, **exc.headers},
    )


def _tus_headers(request: AnyRequest) -> dict[str, str]:
    """The request's headers, once it has said it speaks tus 1.0.0 (else 412)."""
    headers = dict(request.headers)
    check_version(headers)
    return headers


def _has_body(request: AnyRequest) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip().lower() == (
        "application/offset+octet-stream"
    )


class UploadsController(Controller):
    """tus 1.0.0: core, creation, creation-with-upload, termination, checksum, expiration."""

    path = "/api/v1/uploads"
    tags = ["uploads"]
    security = BEARER
    exception_handlers = {TusError: _tus_error, FestivalError: _festival_error}
    request_max_body_size = None  # tus bodies are streamed to the store, never buffered

    @route(
        "",
        http_method=["POST", "OPTIONS"],
        summary="Create an upload (POST, with its first bytes if sent); discovery (OPTIONS)",
        status_code=201,
    )
    async def create(self, request: AnyRequest, clips: CLIPS, settings: SETTINGS) -> Response[None]:
        # One handler for both methods: the framework would otherwise answer OPTIONS
        # itself, without the tus discovery headers.
        if request.method == "OPTIONS":
            return Response(None, status_code=204, headers=clips.engine.options_headers())
        state = await service.start_upload(
            clips,
            identity_of(request),
            _tus_headers(request),
            request.stream() if _has_body(request) else None,
        )
        return Response(
            None,
            status_code=201,
            headers={
                **TUS,
                **upload_headers(state),
                "Location": f"{settings.base_url}/api/v1/uploads/{state.id}",
            },
        )

    @head("/{upload_id:str}", summary="How much of an upload has arrived")
    async def status(
        self, request: AnyRequest, clips: CLIPS, upload_id: FromPath[str]
    ) -> Response[None]:
        _tus_headers(request)
        state = await service.upload_status(clips, identity_of(request), upload_id)
        return Response(None, status_code=200, headers={**TUS, **upload_headers(state, head=True)})

    @patch("/{upload_id:str}", summary="Send the next bytes at Upload-Offset", status_code=204)
    async def append(
        self, request: AnyRequest, clips: CLIPS, upload_id: FromPath[str]
    ) -> Response[None]:
        state = await service.continue_upload(
            clips, identity_of(request), upload_id, _tus_headers(request), request.stream()
        )
        return Response(None, status_code=204, headers={**TUS, **upload_headers(state)})

    @delete("/{upload_id:str}", summary="Abandon an upload and delete its bytes")
    async def terminate(
        self, request: AnyRequest, clips: CLIPS, upload_id: FromPath[str]
    ) -> Response[None]:
        _tus_headers(request)
        await service.cancel_upload(clips, identity_of(request), upload_id)
        return Response(None, status_code=204, headers=TUS)

    @post(
        "/{upload_id:str}",
        summary="PATCH or DELETE for clients that can only POST (X-HTTP-Method-Override)",
        status_code=204,
    )
    async def override(
        self, request: AnyRequest, clips: CLIPS, upload_id: FromPath[str]
    ) -> Response[None]:
        headers = _tus_headers(request)
        method = effective_method("POST", headers)
        identity = identity_of(request)
        if method == "PATCH":
            state = await service.continue_upload(
                clips, identity, upload_id, headers, request.stream()
            )
            return Response(None, status_code=204, headers={**TUS, **upload_headers(state)})
        if method == "DELETE":
            await service.cancel_upload(clips, identity, upload_id)
            return Response(None, status_code=204, headers=TUS)
        raise TusError(405, "POST to an upload needs X-HTTP-Method-Override: PATCH or DELETE")


class ClipsController(Controller):
    """Clips for their owner (the volunteer who filmed) and for staff."""

    path = "/api/v1"
    tags = ["clips"]
    security = BEARER

    @get("/clips", summary="Clips I may see (staff: all, with filters)")
    async def list_clips(
        self,
        request: AnyRequest,
        db: DB,
        festival: FromQuery[str | None] = None,
        slot_id: FromQuery[int | None] = None,
    ) -> list[Clip]:
        return await service.list_clips(
            db, identity_of(request), festival=festival, slot_id=slot_id
        )

    @get("/my-clips", summary="My uploads in progress and my clips")
    async def my_clips(self, request: AnyRequest, db: DB, settings: SETTINGS) -> MyClips:
        return await service.my_clips(db, identity_of(request), settings.base_url)

    @get("/clips/{clip_id:int}", summary="One clip")
    async def get_clip(self, request: AnyRequest, db: DB, clip_id: FromPath[int]) -> Clip:
        return await service.get_clip(db, identity_of(request), clip_id)

    @patch("/clips/{clip_id:int}", summary="Change a clip's title or slot")
    async def update_clip(
        self, request: AnyRequest, db: DB, clip_id: FromPath[int], data: JSONBody[ClipPatch]
    ) -> Clip:
        return await service.update_clip(db, identity_of(request), clip_id, data)

    @delete("/clips/{clip_id:int}", summary="Delete a clip and all its files")
    async def delete_clip(self, request: AnyRequest, clips: CLIPS, clip_id: FromPath[int]) -> None:
        await service.delete_clip(clips, identity_of(request), clip_id)

    @put(
        "/clips/{clip_id:int}/captions",
        summary="Attach captions: WebVTT or SRT as the request body",
        request_max_body_size=2 * 1024 * 1024,
    )
    async def captions(self, request: AnyRequest, clips: CLIPS, clip_id: FromPath[int]) -> Clip:
        return await service.attach_captions(
            clips, identity_of(request), clip_id, await request.body()
        )


class MediaFiles(Controller):
    """A clip's files with range requests, for its owner and staff."""

    path = "/media/clips"
    tags = ["clips"]

    @get("/{clip_id:int}/{name:str}", summary="A clip's file (video, poster, captions)")
    async def file(
        self, request: AnyRequest, clips: CLIPS, clip_id: FromPath[int], name: FromPath[str]
    ) -> Response[Any]:
        found = await service.media_file(clips, identity_of(request), clip_id, name)
        return serve_media(request, clips, found, clip_id, name)


def serve_media(
    request: AnyRequest, clips: ClipServices, found: MediaFile, clip_id: int, name: str
) -> Response[Any]:
    """A stored file with range requests and the right caching for who may see it."""
    headers = {
        "Accept-Ranges": "bytes",
        # Unpublished: only its owner and staff see it, so never cached anywhere shared.
        # Published: caches may keep it but must ask again each time, so a withdrawal
        # stops them serving it at once.
        "Cache-Control": "public, no-cache" if found.public else "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if name == "original":
        headers["Content-Disposition"] = f'attachment; filename="clip-{clip_id}-original"'
    try:
        wanted = parse_range(request.headers.get("range"), found.size)
    except Unsatisfiable:
        return Response(
            b"", status_code=416, headers={**headers, "Content-Range": f"bytes */{found.size}"}
        )
    if wanted is None:
        return Stream(
            clips.store.read_range(found.key),
            media_type=found.content_type,
            headers={**headers, "Content-Length": str(found.size)},
        )
    return Stream(
        clips.store.read_range(found.key, wanted.start, wanted.end),
        status_code=206,
        media_type=found.content_type,
        headers={
            **headers,
            "Content-Length": str(wanted.length),
            "Content-Range": f"bytes {wanted.start}-{wanted.end - 1}/{found.size}",
        },
    )
