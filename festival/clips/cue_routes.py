"""Correcting caption words over the API: for staff and the volunteer who filmed a clip,
and for the person in it through their private link."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from festival.auth import identity_of
from festival.clips import cue_edits
from festival.clips.cue_edits import CueCorrections, Cues
from festival.clips.service import ClipServices
from festival.consent.routes import _guarded_token

AnyRequest = Request[Any, Any, Any]
CLIPS = NamedDependency[ClipServices]
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
PRIVATE = {"Cache-Control": "private, no-store"}


class CueController(Controller):
    """Caption words of one clip, for staff and the volunteer who filmed it."""

    path = "/api/v1/clips/{clip_id:int}/cues"
    tags = ["clips"]
    security = BEARER
    response_headers = PRIVATE

    @get("", summary="The clip's captions, numbered, with their times and words")
    async def cues(self, request: AnyRequest, clips: CLIPS, clip_id: FromPath[int]) -> Cues:
        return await cue_edits.cues_for(clips, identity_of(request), clip_id)

    @put("", summary="Correct the words of some captions (their times stay as they are)")
    async def correct(
        self,
        request: AnyRequest,
        clips: CLIPS,
        clip_id: FromPath[int],
        data: JSONBody[CueCorrections],
    ) -> Cues:
        return await cue_edits.correct(clips, identity_of(request), clip_id, data)


class IntervieweeCueController(Controller):
    """The person in a clip corrects its captions through their private link."""

    path = "/api/v1/consent/{token:str}/clips/{clip_id:int}/cues"
    tags = ["consent"]
    response_headers = PRIVATE

    @get("", summary="My clip's captions, numbered, with their times and words")
    async def cues(
        self, request: AnyRequest, clips: CLIPS, token: FromPath[str], clip_id: FromPath[int]
    ) -> Cues:
        await _guarded_token(request, clips.db, token)
        return await cue_edits.interviewee_cues(clips, token, clip_id)

    @put("", summary="Correct the words of my clip's captions")
    async def correct(
        self,
        request: AnyRequest,
        clips: CLIPS,
        token: FromPath[str],
        clip_id: FromPath[int],
        data: JSONBody[CueCorrections],
    ) -> Cues:
        await _guarded_token(request, clips.db, token)
        return await cue_edits.interviewee_correct(clips, token, clip_id, data)
