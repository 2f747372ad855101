"""Shapes of staff accounts, sign-in and tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from festival.errors import describe_pattern

Email = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=320,
        pattern=describe_pattern(r"^[^@\s]+@[^@\s]+$", "an email address such as name@example.org"),
    ),
]


class StaffRow(msgspec.Struct):
    id: int
    email: str
    name: str
    password_hash: str | None


class Identity(msgspec.Struct, frozen=True):
    """Who is making a request. Built by the auth middleware, read by guards and services."""

    kind: Literal["anonymous", "staff", "volunteer"] = "anonymous"
    id: int | None = None
    email: str = ""
    name: str = ""
    via: Literal["none", "session", "token"] = "none"
    festival_id: int | None = None  # a volunteer serves one festival

    @property
    def is_volunteer(self) -> bool:
        return self.kind == "volunteer"

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    @property
    def is_anonymous(self) -> bool:
        return self.kind == "anonymous"


ANONYMOUS = Identity()


class SignIn(msgspec.Struct):
    email: Email
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class NewSession(msgspec.Struct):
    """A signed-in browser session; ``token`` goes in the cookie and is never stored."""

    token: str
    expires_at: datetime


class Me(msgspec.Struct):
    kind: str
    id: int | None
    email: str
    name: str
