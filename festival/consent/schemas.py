"""Shapes of consent: what the person filmed agrees to, and what they can change."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from festival.errors import describe_pattern
from festival.programme.schemas import Id, ShortText

Scope = Literal["timeline", "blog", "social", "training", "research"]
SCOPES: dict[Scope, str] = {
    "timeline": "The festival's public timeline of interviews",
    "blog": "Posts on the festival blog",
    "social": "The festival's social media",
    "training": "Training festival staff and volunteers (not public)",
    "research": "Research and evaluation of the festival",
}
EASY_SCOPES: dict[Scope, str] = {
    "timeline": "On the festival website",
    "blog": "In stories on the festival blog",
    "social": "On social media",
    "training": "To train volunteers",
    "research": "For research about the festival",
}
Credit = Literal["name", "chosen", "anonymous"]
CREDITS: dict[Credit, str] = {
    "name": "Use my name",
    "chosen": "Use a name I choose",
    "anonymous": "Do not name me",
}
Licence = Literal["all-rights-reserved", "CC-BY-4.0", "CC-BY-NC-4.0", "CC-BY-NC-ND-4.0"]
LICENCES: dict[Licence, str] = {
    "all-rights-reserved": "You keep all rights; the festival may use it only as you chose",
    "CC-BY-4.0": "Creative Commons Attribution 4.0",
    "CC-BY-NC-4.0": "Creative Commons Attribution-NonCommercial 4.0",
    "CC-BY-NC-ND-4.0": "Creative Commons Attribution-NonCommercial-NoDerivatives 4.0",
}
Phone = Annotated[str, Meta(max_length=50, pattern=r"^[0-9+() \-]*$")]
OptionalEmail = Annotated[
    str,
    Meta(
        max_length=320,
        pattern=describe_pattern(
            r"^(|[^@\s]+@[^@\s]+)$", "an email address such as name@example.org, or empty"
        ),
    ),
]
Scopes = Annotated[list[Scope], Meta(max_length=5)]


class Struct(msgspec.Struct, forbid_unknown_fields=True):
    pass


class ConsentIn(Struct):
    """What is captured on the volunteer's phone, as the interviewee chose it."""

    scopes: Scopes
    credit: Credit
    form_version: Id
    form_variant: Literal["easy-read", "plain"] = "easy-read"
    interviewee_name: ShortText = ""
    display_name: ShortText = ""
    contact_email: OptionalEmail = ""
    contact_phone: Phone = ""
    licence: Licence = "all-rights-reserved"
    expires_on: date | None = None
    method: Literal["ticked", "spoken"] = "ticked"
    spoken_at_seconds: Annotated[float, Meta(ge=0, le=6 * 3600)] | None = None
    clip_id: Id | None = None


class ConsentChange(Struct):
    """What the interviewee may change later through their private link."""

    scopes: Scopes | UnsetType = UNSET
    credit: Credit | UnsetType = UNSET
    display_name: ShortText | UnsetType = UNSET
    licence: Licence | UnsetType = UNSET
    expires_on: date | UnsetType | None = UNSET


class LinkIn(Struct):
    consent_id: Id


class PublicationRules(msgspec.Struct):
    require_review: bool = True
    require_captions: bool = True
    unconsented_days: int = 30


class PublicationRulesPatch(Struct):
    require_review: bool | UnsetType = UNSET
    require_captions: bool | UnsetType = UNSET
    unconsented_days: Annotated[int, Meta(ge=1, le=365)] | UnsetType = UNSET


class ConsentRow(msgspec.Struct):
    id: int
    festival_id: int
    form_version: int
    form_variant: str
    form_text: str
    interviewee_name: str
    display_name: str
    contact_email: str
    contact_phone: str
    scope_timeline: bool
    scope_blog: bool
    scope_social: bool
    scope_training: bool
    scope_research: bool
    credit: Credit
    licence: Licence
    expires_on: date | None
    method: str
    spoken_at_seconds: float | None
    witness_volunteer_id: int | None
    witness_staff_id: int | None
    given_at: datetime
    approved_at: datetime | None
    withdrawn_at: datetime | None
    withdrawn_by: str
    token_revoked_at: datetime | None
    erased_at: datetime | None

    @property
    def scopes(self) -> list[Scope]:
        return [s for s in SCOPES if getattr(self, f"scope_{s}")]


class Consent(msgspec.Struct):
    """A consent as staff and the witness see it (contact details are for staff only)."""

    id: int
    state: Literal["given", "approved", "withdrawn", "expired"]
    scopes: list[Scope]
    credit: Credit
    credit_line: str
    licence: Licence
    expires_on: date | None
    method: str
    spoken_at_seconds: float | None
    form_version: int
    form_variant: str
    given_at: datetime
    approved_at: datetime | None
    withdrawn_at: datetime | None
    withdrawn_by: str
    clip_ids: list[int]
    has_contact: bool


class ConsentCreated(msgspec.Struct):
    """A new consent and its private link, shown once (only its hash is kept)."""

    consent: Consent
    review_url: str
    qr_svg: str


class ReviewClip(msgspec.Struct):
    id: int
    title: str
    state: str
    video_url: str | None
    poster_url: str | None
    captions_url: str | None
    published: bool


class Review(msgspec.Struct):
    """What the interviewee's private page shows."""

    consent: Consent
    display_name: str
    festival_name: str
    clips: list[ReviewClip]
    token: str


class QueueItem(msgspec.Struct):
    """A clip in the staff review queue, with why it cannot be published yet."""

    clip_id: int
    title: str
    state: str
    published: bool
    withdrawn: bool
    consents: list[Consent]
    blockers: list[str]
    delete_after: datetime | None


class AuditEvent(msgspec.Struct):
    id: int
    at: datetime
    actor: str
    action: str
    clip_id: int | None
    consent_id: int | None
    detail: dict[str, object]
