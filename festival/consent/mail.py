"""Emailing the interviewee their private link, when they gave an address.

The link is shown on the volunteer's phone as a QR code; the email is a copy the person
can keep. It is sent by a job (``send-review-link``), so a mail server that is down
delays the email and never the consent, and the job queue retries it.

Only the hash of a private link is kept in the database, so the job's payload must not
hold the link in plain text either: it holds the token *sealed* with the service's
secret key (encrypt-then-MAC, HMAC-SHA256 as both the key stream and the tag). Someone
who reads the database alone cannot use a queued link. The email address is not in the
payload: it is read from the consent when the job runs, so an address erased in the
meantime is never written to.

The message is plain text in our own words, with the link and nothing else personal:
not the person's name, not what they chose.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import smtplib
import ssl
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

import msgspec
from cryptography.fernet import Fernet, InvalidToken

from festival.accounts.service import hash_token
from festival.consent import queries
from festival.db.engine import Database
from festival.jobs import Jobs, Permanent
from festival.programme import service as programme
from festival.settings import Settings

log = logging.getLogger("festival.consent.mail")

SEND_REVIEW_LINK = "send-review-link"
SEND_ATTEMPTS = 8  # with the queue's doubling back-off: about four minutes of trying
SMTP_TIMEOUT = 30.0
_SEAL_CONTEXT = b"festival: sealed private link for a job payload"


# --- sealing the link in the job payload ------------------------------------------------


def _fernet(secret: str) -> Fernet:
    """A Fernet key (AES with an HMAC, from the cryptography library) derived from the
    service's secret key, kept apart from every other use of that secret."""
    key = hmac.new(secret.encode(), _SEAL_CONTEXT, hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str, text: str) -> str:
    """``text`` encrypted and authenticated with a key derived from ``secret``."""
    return _fernet(secret).encrypt(text.encode()).decode()


def unseal(secret: str, sealed: str) -> str:
    """The text :func:`seal` sealed; :class:`ValueError` if it was altered or the secret
    key has changed since."""
    try:
        return _fernet(secret).decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise ValueError("the sealed link was altered, or the secret key has changed") from None


# --- the mail server --------------------------------------------------------------------


class SmtpTarget(msgspec.Struct, frozen=True):
    """Where and how to send, read from ``FESTIVAL_SMTP_URL`` (checked by the settings)."""

    host: str
    port: int
    sender: str
    tls: Literal["none", "starttls", "implicit"] = "none"
    username: str = ""
    password: str = ""

    @classmethod
    def parse(cls, url: str, base_url: str) -> SmtpTarget:
        parts = urlsplit(url)
        options = {k: v[0] for k, v in parse_qs(parts.query).items()}
        implicit = parts.scheme == "smtps"
        starttls = options.get("starttls", "false").lower() in {"true", "1"}
        # Without from=, mail comes from "festival@" the service's own host name.
        sender = options.get("from") or f"festival@{urlsplit(base_url).hostname or 'localhost'}"
        return cls(
            host=parts.hostname or "",
            port=parts.port or (465 if implicit else 25),
            sender=sender,
            tls="implicit" if implicit else "starttls" if starttls else "none",
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
        )

    def deliver(self, message: EmailMessage) -> None:
        """Send one message (blocking: run it in a thread)."""
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.tls == "implicit":
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=SMTP_TIMEOUT, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT)
        with client:
            if self.tls == "starttls":
                client.starttls(context=context)
            if self.username:
                client.login(self.username, self.password)
            client.send_message(message)


class MailNotSent(Exception):
    """The mail server could not take the message this time; the job tries again.

    Its text names the failure, never the address, because job errors are stored."""


def _refusal(error: smtplib.SMTPException) -> Exception:
    """An SMTP failure in words safe to keep: permanent (5xx) ends the job."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        if codes and all(code >= 500 for code in codes):
            return Permanent(f"the mail server refused the address ({codes[0]})")
        return MailNotSent(f"the mail server refused the address for now ({codes[0]})")
    code = getattr(error, "smtp_code", None)
    if (
        isinstance(code, int)
        and code >= 500
        and not isinstance(error, smtplib.SMTPAuthenticationError)
    ):
        return Permanent(f"the mail server refused the message ({code})")
    return MailNotSent(f"{type(error).__name__} ({code})" if code else type(error).__name__)


# --- the message --------------------------------------------------------------------------


def message_text(festival_name: str, link: str) -> str:
    return f"""Hello,

Thank you for sharing your story at {festival_name}.

This is your private link to your interview:

{link}

On that page you can:

- watch your interview, before anyone else sees it
- tell us it is fine to share
- change where it may be shown, how you are named, or when it should end
- take your consent back, at any time and without giving a reason

Your story belongs to you. Nothing is shown anywhere you did not choose.

Please keep this link to yourself: whoever has it can make these choices.
If you lose it, or think someone else has it, ask the festival team for a
new one and the old link will stop working.

You are getting this email because you gave this address when you were
interviewed. It is used only to send you this link.

With thanks,
The {festival_name} team
"""


def compose(target: SmtpTarget, to: str, festival_name: str, link: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = Address(display_name=festival_name, addr_spec=target.sender)
    message["To"] = to
    message["Subject"] = f"Your interview at {festival_name}: your private link"
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=target.sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(message_text(festival_name, link))
    return message


# --- the job ------------------------------------------------------------------------------


class ReviewMail:
    """Queues and sends private-link emails for one running service."""

    def __init__(
        self, db: Database, jobs: Jobs, target: SmtpTarget, base_url: str, secret: str
    ) -> None:
        self.db = db
        self.jobs = jobs
        self.target = target
        self.base_url = base_url
        self._secret = secret

    @classmethod
    def of(cls, settings: Settings, jobs: Jobs) -> ReviewMail | None:
        """The mailer for ``settings``, or ``None`` when no SMTP server is configured."""
        if not settings.smtp_url:
            return None
        target = SmtpTarget.parse(settings.smtp_url, settings.base_url)
        return cls(jobs.db, jobs, target, settings.base_url, settings.secret_key)

    async def enqueue(self, consent_id: int, token: str) -> None:
        """Queue the email. Never raises: a consent must not fail because of its email."""
        try:
            await self.jobs.enqueue(
                SEND_REVIEW_LINK,
                {"consent_id": consent_id, "link": seal(self._secret, token)},
                max_attempts=SEND_ATTEMPTS,
            )
        except Exception:
            log.exception("could not queue the private-link email for consent %s", consent_id)

    async def send(self, payload: dict[str, Any]) -> None:
        """The job: send the link, if it is still the consent's link and it has an address."""
        consent_id = int(payload["consent_id"])
        try:
            token = unseal(self._secret, str(payload["link"]))
        except ValueError as error:
            raise Permanent(str(error)) from None
        async with self.db.read() as conn:
            consent = await queries.consent_by_token(conn, hash_token(token))
            if consent is None or consent.id != consent_id or not consent.contact_email:
                # The link was replaced or revoked, or the address erased: nothing to send.
                log.info("private-link email for consent %s no longer needed", consent_id)
                return
            festival = await programme.festival_by_id(conn, consent.festival_id)
        message = compose(
            self.target, consent.contact_email, festival.name, f"{self.base_url}/consent/{token}"
        )
        try:
            await asyncio.to_thread(self.target.deliver, message)
        except smtplib.SMTPException as error:
            raise _refusal(error) from None
        except OSError as error:  # refused, unreachable, timed out, TLS failed
            raise MailNotSent(f"could not reach the mail server: {type(error).__name__}") from None
        async with self.db.write() as conn:
            await queries.record(
                conn,
                actor="system",
                action="review-link-emailed",
                festival_id=consent.festival_id,
                consent_id=consent.id,
                at=datetime.now(UTC),
            )


async def not_configured(payload: dict[str, Any]) -> None:
    """The job when no SMTP server is configured (it was, when the job was queued)."""
    raise Permanent("no mail server is configured (FESTIVAL_SMTP_URL), so nothing was sent")
