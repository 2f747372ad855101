"""The private link by email, through a real SMTP server (aiosmtpd) on this machine.

The email is a job: a mail server that is down delays the email, never the consent, and
the job queue tries again. The job's payload holds the link sealed with the secret key,
and no address: someone who reads the database alone gets neither.

Consents are recorded through the service with ``mail=`` here, as the consent API does
once its route passes the mailer (``ReviewMail.of(settings, jobs)``).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from litestar import Litestar

from festival.accounts.schemas import Identity
from festival.clips import service as clip_service
from festival.consent import service
from festival.consent.mail import SEND_REVIEW_LINK, ReviewMail, seal, unseal
from festival.consent.schemas import ConsentIn
from festival.db.engine import Database
from festival.db.tables import jobs
from festival.settings import Settings, SettingsError, load_settings
from tests.conftest import NewDatabase, make_settings
from tests.consent.test_interviewee import text
from tests.crew.helpers import SLUG, Client, Crew

BASE = "http://festival.test"


class Inbox:
    """An aiosmtpd handler keeping what it receives; it can refuse addresses for good."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Envelope] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        raw = envelope.original_content or b""
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"


class MailServer:
    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.inbox = Inbox()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    server = MailServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(tmp_path: Path, new_database: NewDatabase, smtp: MailServer) -> Settings:
    data_dir = tmp_path / "var"
    return make_settings(
        data_dir,
        database_url=new_database(data_dir),
        smtp_url=f"smtp://127.0.0.1:{smtp.port}?from=festival@example.org",
    )


@pytest.fixture
async def crew(client: Client, staff_headers: dict[str, str]) -> Crew:
    return await Crew(client, staff_headers).setup()


@pytest.fixture
async def mail(app: Litestar, client: Client, settings: Settings) -> ReviewMail:
    """The mailer for this app's settings, its job registered through ``register_jobs``."""
    mailer = ReviewMail.of(settings, app.state.jobs)
    assert mailer is not None
    app.state.clips.mail = mailer
    clip_service.register_jobs(app.state.clips)
    return mailer


@pytest.fixture
async def witness(crew: Crew) -> Identity:
    volunteer = await crew.volunteer("ada@crew.test", name="Ada Lovelace")
    return Identity(kind="volunteer", id=volunteer["id"])


def _consent(**overrides: Any) -> ConsentIn:
    values: dict[str, Any] = {
        "scopes": ["timeline"],
        "credit": "chosen",
        "display_name": "Sam",
        "interviewee_name": "Samira Example",
        "contact_email": "samira@example.org",
        "form_version": 1,
        **overrides,
    }
    return ConsentIn(**values)


async def _payloads(db: Database) -> list[str]:
    async with db.read() as conn:
        rows = await conn.execute(sa.select(jobs.c.payload).where(jobs.c.kind == SEND_REVIEW_LINK))
        return [str(r.payload) for r in rows]


async def _job_states(db: Database) -> list[tuple[str, str]]:
    async with db.read() as conn:
        rows = await conn.execute(
            sa.select(jobs.c.state, jobs.c.last_error).where(jobs.c.kind == SEND_REVIEW_LINK)
        )
        return [(str(r.state), str(r.last_error or "")) for r in rows]


async def test_the_private_link_arrives_by_email(
    client: Client,
    app: Litestar,
    db: Database,
    smtp: MailServer,
    mail: ReviewMail,
    witness: Identity,
    staff_headers: dict[str, str],
) -> None:
    created = await service.record_consent(app.state.db, witness, SLUG, _consent(), BASE, mail=mail)
    token = created.review_url.rsplit("/", 1)[1]
    # Queued, sealed: neither the link nor the address is in the database in plain text.
    [payload] = await _payloads(db)
    assert token not in payload and "samira" not in payload
    assert smtp.inbox.messages == []

    await app.state.jobs.run_until_idle()
    [message] = smtp.inbox.messages
    assert message["To"] == "samira@example.org"
    assert message["From"] == "Now Festival <festival@example.org>"
    assert message["Subject"] == "Your interview at Now Festival: your private link"
    assert message.get_content_type() == "text/plain"
    body = message.get_content()
    assert created.review_url in body
    assert f"{BASE}/consent/{token}" in body
    # Our own words, and nothing personal beyond the link itself.
    assert "Your story belongs to you" in body
    for personal in ("Sam", "Samira", "Ada", "timeline"):
        assert personal not in body, personal
    # The link in the email opens their page.
    page = await client.get(f"/consent/{token}")
    assert page.status_code == 200
    assert "Your interview" in text(page.text)
    audit = await client.get(
        f"/api/v1/festivals/{SLUG}/audit?consent_id={created.consent.id}", headers=staff_headers
    )
    sent = [e for e in audit.json() if e["action"] == "review-link-emailed"]
    assert len(sent) == 1 and sent[0]["detail"] == {}


async def test_no_address_or_no_mail_server_means_no_email(
    app: Litestar, db: Database, smtp: MailServer, mail: ReviewMail, witness: Identity
) -> None:
    await service.record_consent(
        app.state.db, witness, SLUG, _consent(contact_email=""), BASE, mail=mail
    )
    await service.record_consent(app.state.db, witness, SLUG, _consent(), BASE, mail=None)
    await app.state.jobs.run_until_idle()
    assert await _payloads(db) == []
    assert smtp.inbox.messages == []


async def test_a_mail_server_that_is_down_delays_the_email_not_the_consent(
    app: Litestar, db: Database, settings: Settings, smtp: MailServer, witness: Identity
) -> None:
    smtp.stop()
    mailer = ReviewMail.of(settings, app.state.jobs)
    assert mailer is not None
    app.state.clips.mail = mailer
    clip_service.register_jobs(app.state.clips)
    created = await service.record_consent(
        app.state.db, witness, SLUG, _consent(), BASE, mail=mailer
    )
    assert created.consent.state == "given"
    await app.state.jobs.run_until_idle()
    [(state, error)] = await _job_states(db)
    assert state == "queued" and "could not reach the mail server" in error
    assert "samira" not in error

    smtp.controller = Controller(smtp.inbox, hostname="127.0.0.1", port=smtp.port)
    smtp.start()
    await asyncio.sleep(2.2)  # the queue's first back-off is two seconds
    await app.state.jobs.run_until_idle()
    [message] = smtp.inbox.messages
    assert created.review_url in message.get_content()
    assert [s for s, _ in await _job_states(db)] == ["done"]


async def test_a_new_link_is_emailed_and_a_replaced_one_is_not(
    client: Client,
    app: Litestar,
    smtp: MailServer,
    mail: ReviewMail,
    witness: Identity,
) -> None:
    first = await service.record_consent(app.state.db, witness, SLUG, _consent(), BASE, mail=mail)
    staff = Identity(kind="staff", id=1)
    replaced = await service.new_link(app.state.db, staff, SLUG, first.consent.id, BASE, mail=mail)
    await app.state.jobs.run_until_idle()
    # The first email would carry a link that no longer works: only the new one is sent.
    [message] = smtp.inbox.messages
    body = message.get_content()
    assert replaced.review_url in body and first.review_url not in body


async def test_an_address_refused_for_good_ends_the_job_without_keeping_it(
    app: Litestar, db: Database, smtp: MailServer, mail: ReviewMail, witness: Identity
) -> None:
    smtp.inbox.refuse.add("nobody@example.org")
    await service.record_consent(
        app.state.db, witness, SLUG, _consent(contact_email="nobody@example.org"), BASE, mail=mail
    )
    await app.state.jobs.run_until_idle()
    [(state, error)] = await _job_states(db)
    assert state == "failed"
    assert "refused the address (550)" in error and "nobody" not in error
    assert smtp.inbox.messages == []


def test_sealed_links_open_only_with_the_same_secret() -> None:
    secret = "s" * 40
    sealed = seal(secret, "fct_abc")
    assert "fct_abc" not in sealed and sealed != seal(secret, "fct_abc")
    assert unseal(secret, sealed) == "fct_abc"
    with pytest.raises(ValueError, match="altered"):
        unseal("t" * 40, sealed)
    tampered = sealed[:30] + ("A" if sealed[30] != "A" else "B") + sealed[31:]
    with pytest.raises(ValueError):
        unseal(secret, tampered)


@pytest.mark.parametrize(
    "value",
    [
        "smtp://127.0.0.1:2525",
        "smtp://mail.example.org:587?from=festival@example.org&starttls=true",
        "smtps://user:secret@mail.example.org",
    ],
)
def test_good_smtp_urls_are_accepted(tmp_path: Path, value: str) -> None:
    env = {"FESTIVAL_DATA_DIR": str(tmp_path), "FESTIVAL_SMTP_URL": value}
    assert load_settings(env).smtp_url == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("mail.example.org", "must look like smtp://host"),
        ("http://mail.example.org", "must look like smtp://host"),
        ("smtp://", "must look like smtp://host"),
        ("smtp://mail.example.org:99999", "must look like smtp://host"),
        ("smtp://mail.example.org?from=not an address", "from= must be one email address"),
        ("smtp://mail.example.org?to=x@example.org", "the only options after ?"),
        ("smtp://mail.example.org?starttls=perhaps", "starttls= must be true or false"),
    ],
)
def test_a_bad_smtp_url_stops_start_up(tmp_path: Path, value: str, message: str) -> None:
    env = {"FESTIVAL_DATA_DIR": str(tmp_path), "FESTIVAL_SMTP_URL": value}
    with pytest.raises(SettingsError, match=f"FESTIVAL_SMTP_URL: {message}"):
        load_settings(env)
