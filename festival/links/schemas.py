"""Shapes of the links between clips, sessions and blog posts.

Each end of a link is shown by a small reference to the thing at the other end: enough to
name it and find it, never the whole record. ``ClipLinks``, ``SessionLinks`` and
``PostLinks`` are what one thing links to, as staff see it; ``SessionPublicLinks`` is what
a session's public page may show, after the publication gate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from festival.programme.schemas import Festival
from festival.timeline.schemas import LinkedPost

Kind = Literal["clip", "session", "post"]
#: slot: made from the clip's interview slot; staff: added by hand.
LinkSource = Literal["slot", "staff"]

#: What each kind is called in sentences.
KIND_WORDS: dict[Kind, str] = {"clip": "clip", "session": "session", "post": "blog post"}


class End(msgspec.Struct, frozen=True):
    """One end of a link: which kind of thing, and its id."""

    kind: Kind
    id: int


# --- references to the other end ---------------------------------------------------------


class LinkedClipRef(msgspec.Struct):
    id: int
    #: As the volunteer or staff named it; empty when nobody has yet.
    title: str

    @property
    def label(self) -> str:
        return f"{self.title or 'Untitled clip'} (clip {self.id})"


class SessionClipRef(LinkedClipRef):
    """A clip linked to a session, and whether the link came from the clip's slot."""

    source: LinkSource

    @property
    def from_slot(self) -> bool:
        return self.source == "slot"


class LinkedSessionRef(msgspec.Struct):
    id: int
    title: str
    starts_at: datetime


class ClipSessionRef(LinkedSessionRef):
    """A session linked to a clip, and whether the link came from the clip's slot."""

    source: LinkSource

    @property
    def from_slot(self) -> bool:
        return self.source == "slot"


class LinkedPostRef(msgspec.Struct):
    id: int
    title: str
    published_at: datetime


# --- what one thing links to ----------------------------------------------------------------


class ClipLinks(msgspec.Struct):
    clip: LinkedClipRef
    sessions: list[ClipSessionRef]
    posts: list[LinkedPostRef]


class SessionLinks(msgspec.Struct):
    session: LinkedSessionRef
    clips: list[SessionClipRef]
    posts: list[LinkedPostRef]


class PostLinks(msgspec.Struct):
    post: LinkedPostRef
    clips: list[LinkedClipRef]
    sessions: list[LinkedSessionRef]


# --- what the public sees on a session's page ---------------------------------------------


class PublicClipRef(msgspec.Struct):
    """A published interview as a session's page lists it."""

    id: int
    title: str
    url: str
    thumb_url: str | None


class SessionPublicLinks(msgspec.Struct):
    clips: list[PublicClipRef]
    posts: list[LinkedPost]


# --- what a staff links page offers to add --------------------------------------------------


class Candidates(msgspec.Struct):
    """Things of the same festival that could be linked and are not yet."""

    clips: list[LinkedClipRef] = []
    sessions: list[LinkedSessionRef] = []
    posts: list[LinkedPostRef] = []


class StaffLinksView(msgspec.Struct):
    """A staff links page: one thing's links (the one of clip, session or post that is
    set) and what else could be linked to it."""

    festival: Festival
    candidates: Candidates
    clip: ClipLinks | None = None
    session: SessionLinks | None = None
    post: PostLinks | None = None
