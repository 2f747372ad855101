"""Shapes of clips: what volunteers upload and what is made of it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec
from msgspec import UNSET, UnsetType

from festival.programme.schemas import Id, ShortText

ClipState = Literal["processing", "ready", "failed"]
STATE_WORDS = {
    "uploading": "Uploading",
    "processing": "Getting it ready to play",
    "ready": "Ready",
    "failed": "Could not be used",
}
MEDIA_FILES = {
    # name in the URL -> (column holding the key, content type)
    "original": ("original_key", None),
    "web.mp4": ("rendition_key", "video/mp4"),
    "poster.jpg": ("poster_key", "image/jpeg"),
    "thumb.jpg": ("thumb_key", "image/jpeg"),
    "captions.vtt": ("captions_key", "text/vtt; charset=utf-8"),
}


class ClipRow(msgspec.Struct):
    id: int
    festival_id: int
    upload_id: str
    volunteer_id: int | None
    staff_id: int | None
    slot_id: int | None
    consent_ref: str
    title: str
    original_filename: str
    content_type: str
    original_key: str | None
    original_size: int
    original_sha256: str
    state: ClipState
    failure_reason: str
    recorded_at: datetime | None
    duration: float | None
    width: int | None
    height: int | None
    video_codec: str
    audio_codec: str
    poster_key: str | None
    thumb_key: str | None
    rendition_key: str | None
    rendition_size: int | None
    captions_key: str | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None = None
    withdrawn_at: datetime | None = None
    purged_at: datetime | None = None
    timeline_at: datetime | None = None


class Clip(msgspec.Struct):
    """A clip as its owner and staff see it."""

    id: int
    festival_id: int
    title: str
    state: ClipState
    state_words: str
    failure_reason: str
    slot_id: int | None
    volunteer_id: int | None
    consent_ref: str
    original_filename: str
    original_size: int
    original_sha256: str
    recorded_at: datetime | None
    duration: float | None
    width: int | None
    height: int | None
    video_codec: str
    audio_codec: str
    video_url: str | None
    poster_url: str | None
    thumb_url: str | None
    captions_url: str | None
    original_url: str | None
    created_at: datetime
    published: bool = False
    withdrawn: bool = False
    # Ownership: the story belongs to the people in it; the volunteer co-produced it;
    # the festival publishes it under the scopes they granted.
    owners: str = ""
    filmed_by: str = ""
    publisher: str = ""


class ClipPatch(msgspec.Struct, forbid_unknown_fields=True):
    title: ShortText | UnsetType = UNSET
    slot_id: Id | UnsetType | None = UNSET


class Upload(msgspec.Struct):
    """An upload still arriving, as its owner's phone lists it."""

    id: str
    filename: str
    length: int
    offset: int
    expires_at: datetime
    url: str


class MyClips(msgspec.Struct):
    uploads: list[Upload]
    clips: list[Clip]


class ClipLine(msgspec.Struct):
    """One clip in the staff list: who filmed it and when."""

    clip: Clip
    filmed_by: str
    slot_starts_at: datetime | None
    session_title: str
