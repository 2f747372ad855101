"""Staff accounts: passwords, API tokens, browser sessions and the sign-in rate limit."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from festival.accounts import queries
from festival.accounts.schemas import Identity, NewSession, SignIn, StaffRow
from festival.db.engine import Database
from festival.errors import Invalid, TooManyRequests, Unauthorized

STAFF_TOKEN_PREFIX = "fst_"  # noqa: S105 (a label, not a secret)
_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email costs as long as a wrong
# password and response times do not reveal which staff accounts exist.
_DUMMY_HASH = _hasher.hash("not a real password")
MIN_PASSWORD = 10


def hash_token(token: str) -> str:
    """Tokens are random and long, so one SHA-256 is enough to keep them unusable at rest."""
    return hashlib.sha256(token.encode()).hexdigest()


def _subject(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value.lower()}".encode()).hexdigest()


def _identity(row: StaffRow, via: str) -> Identity:
    return Identity(kind="staff", id=row.id, email=row.email, name=row.name, via=via)  # type: ignore[arg-type]


async def create_or_update_staff(db: Database, email: str, password: str, name: str = "") -> int:
    """Create a staff account, or set a new password on an existing one."""
    if len(password) < MIN_PASSWORD:
        raise Invalid.field(
            "password", f"must be at least {MIN_PASSWORD} characters", fix="Choose a longer one."
        )
    if "@" not in email or len(email) > 320:
        raise Invalid.field("email", "must be an email address such as name@example.org")
    password_hash = await asyncio.to_thread(_hasher.hash, password)
    async with db.write() as conn:
        existing = await queries.staff_by_email(conn, email)
        if existing is None:
            return await queries.insert_staff(conn, email, name, password_hash)
        values: dict[str, object] = {"password_hash": password_hash}
        if name:
            values["name"] = name
        await queries.update_staff(conn, existing.id, **values)
        return existing.id


async def new_api_token(db: Database, email: str) -> str:
    token = STAFF_TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with db.write() as conn:
        account = await queries.staff_by_email(conn, email)
        if account is None:
            raise Invalid.field(
                "email", f"no staff account for {email}", fix="Create it with create-staff."
            )
        await queries.insert_api_token(conn, account.id, hash_token(token))
    return token


async def revoke_api_tokens(db: Database, email: str) -> int:
    """Stop every API token of a staff account working (a leaked or lost token); the
    account and its browser sessions stay. Returns how many tokens were stopped."""
    async with db.write() as conn:
        account = await queries.staff_by_email(conn, email)
        if account is None:
            raise Invalid.field(
                "email", f"no staff account for {email}", fix="Check the address with a colleague."
            )
        return await queries.revoke_api_tokens(conn, account.id, datetime.now(UTC))


async def sign_in(
    db: Database, form: SignIn, client: str, *, attempts: int, window: int, max_age: int
) -> tuple[Identity, NewSession]:
    """Check a password and open a browser session.

    Failures are counted per email and per client address over ``window`` seconds;
    past ``attempts`` the answer is 429 until the oldest failure ages out, whether or
    not the password is right, so guessing cannot go faster than the limit.
    """
    now = datetime.now(UTC)
    since = now - timedelta(seconds=window)
    subjects = [_subject("email", form.email), _subject("client", client)]
    async with db.read() as conn:
        failures = await queries.count_failures(conn, subjects, since)
        if failures >= attempts:
            oldest = await queries.oldest_failure(conn, subjects, since)
            wait = max(1, int((oldest + timedelta(seconds=window) - now).total_seconds()) + 1)
            raise TooManyRequests(
                "Too many wrong sign-in attempts for this account or device.",
                fix=f"Wait {wait // 60 + 1} minutes, then try again.",
                headers={"Retry-After": str(wait)},
            )
        account = await queries.staff_by_email(conn, form.email)
    stored = account.password_hash if account and account.password_hash else _DUMMY_HASH
    try:
        ok: bool = await asyncio.to_thread(_hasher.verify, stored, form.password)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or account is None:
        async with db.write() as conn:
            await queries.record_failures(conn, subjects, now)
        raise Unauthorized(
            "The email address or password is not right.",
            fix="Check both and try again. Ask another staff member to reset your password "
            "if you have forgotten it.",
        )
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(seconds=max_age)
    async with db.write() as conn:
        await queries.insert_web_session(conn, account.id, hash_token(token), expires)
        await queries.clear_failures(conn, subjects, since)
        await queries.delete_expired_sessions(conn, now)
    return _identity(account, "session"), NewSession(token=token, expires_at=expires)


async def sign_out(db: Database, session_token: str) -> None:
    async with db.write() as conn:
        await queries.delete_web_session(conn, hash_token(session_token))


async def identity_from_bearer(db: Database, token: str) -> Identity:
    """The identity behind an ``Authorization: Bearer`` token; an unknown token is 401."""
    async with db.read() as conn:
        if token.startswith(STAFF_TOKEN_PREFIX):
            row = await queries.staff_by_token(conn, hash_token(token))
            if row is not None:
                return _identity(row, "token")
    raise Unauthorized(
        "The bearer token is not known, or it has been revoked.",
        fix="Ask for a new token (festival api-token EMAIL) and send it as "
        "'Authorization: Bearer <token>'.",
        headers={"WWW-Authenticate": 'Bearer realm="festival"'},
    )


async def identity_from_session(db: Database, session_token: str) -> Identity | None:
    async with db.read() as conn:
        row = await queries.staff_by_session(conn, hash_token(session_token), datetime.now(UTC))
    return _identity(row, "session") if row else None


async def throttle(db: Database, kind: str, value: str, *, attempts: int, window: int) -> None:
    """Refuse with 429 once ``value`` (a client address, say) has failed ``attempts``
    times within ``window`` seconds at ``kind`` (a private link, a sign-in)."""
    now = datetime.now(UTC)
    since = now - timedelta(seconds=window)
    subjects = [_subject(kind, value)]
    async with db.read() as conn:
        if await queries.count_failures(conn, subjects, since) >= attempts:
            oldest = await queries.oldest_failure(conn, subjects, since)
            wait = max(1, int((oldest + timedelta(seconds=window) - now).total_seconds()) + 1)
            raise TooManyRequests(
                "Too many tries with links that do not work, from this device.",
                fix=f"Wait {wait // 60 + 1} minutes, then try your link again.",
                headers={"Retry-After": str(wait)},
            )


async def note_failure(db: Database, kind: str, value: str) -> None:
    async with db.write() as conn:
        await queries.record_failures(conn, [_subject(kind, value)], datetime.now(UTC))
