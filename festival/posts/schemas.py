"""Shapes of the festival blog's posts: imported from the blog's feed or added by staff.

``PostIn`` is what staff send to add a post, ``PostPatch`` what they send to change one
(fields left out stay as they are), ``Post`` what anyone may read. Where a post came from
(the feed's address, the entry's id) is staff business and stays out of ``Post``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from festival.errors import describe_pattern
from festival.programme.schemas import AwareDateTime, ShortText, Struct, Text, Url

PostSource = Literal["feed", "staff"]
Outcome = Literal["added", "updated", "unchanged"]

TITLE_LENGTH = 300
AUTHOR_LENGTH = 200
SUMMARY_LENGTH = 5000
URL_LENGTH = 2000

_TITLE = describe_pattern(
    r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$",
    "one line of text with no control characters",
)
Title = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=TITLE_LENGTH,
        pattern=_TITLE,
        description="One line of text, up to 300 characters",
    ),
]
FeedUrl = Annotated[
    str,
    # Emptiness and the scheme are judged by the import itself, in the same words as
    # any other address it cannot use.
    Meta(
        max_length=URL_LENGTH,
        description="The blog's Atom or RSS feed, an http:// or https:// address",
    ),
]


class PostIn(Struct):
    title: Title
    published_at: AwareDateTime
    author: ShortText = ""
    url: Url = ""
    summary: Text = ""


class PostPatch(Struct):
    title: Title | UnsetType = UNSET
    published_at: AwareDateTime | UnsetType = UNSET
    author: ShortText | UnsetType = UNSET
    url: Url | UnsetType = UNSET
    summary: Text | UnsetType = UNSET


class Post(msgspec.Struct):
    """A blog post as the public sees it."""

    id: int
    title: str
    author: str
    #: The post on the blog; empty when staff added it without an address.
    url: str
    #: Plain text; any HTML from the feed has been taken out.
    summary: str
    published_at: datetime
    #: ``feed``: imported from the blog's feed; ``staff``: added by hand.
    source: PostSource
    created_at: datetime
    updated_at: datetime


class FeedImportIn(Struct):
    url: FeedUrl


class ImportedPost(msgspec.Struct):
    outcome: Outcome
    post: Post


class ImportReport(msgspec.Struct):
    """What one import did. Importing the same feed again adds nothing."""

    feed_url: str
    #: The feed's own title, as the blog gives it.
    feed_title: str
    #: Entries in the feed.
    entries: int
    added: int
    updated: int
    unchanged: int
    #: The posts this import added or changed.
    posts: list[ImportedPost]
