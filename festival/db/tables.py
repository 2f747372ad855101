"""Every table of the service, as SQLAlchemy Core metadata.

Times are stored as UTC ISO 8601 text through :class:`UTCDateTime`, so SQLite and
PostgreSQL sort and compare them the same way and nothing naive slips in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = sa.MetaData(naming_convention=NAMING)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """An aware datetime kept as UTC; reads come back aware in UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("UTCDateTime needs an aware datetime")
        result = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return result.replace(tzinfo=None)
        return result

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)


def _created() -> sa.Column[datetime]:
    return sa.Column("created_at", UTCDateTime, nullable=False, default=_now)


def _updated() -> sa.Column[datetime]:
    return sa.Column("updated_at", UTCDateTime, nullable=False, default=_now, onupdate=_now)


def _festival_ref() -> sa.Column[int]:
    """The festival a row belongs to; it goes when the festival goes."""
    return sa.Column(
        "festival_id",
        sa.Integer,
        sa.ForeignKey("festivals.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


# --- identity -------------------------------------------------------------------------

staff = sa.Table(
    "staff",
    metadata,
    _id(),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("password_hash", sa.String(200), nullable=True),
    _created(),
    _updated(),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    _id(),
    sa.Column(
        "staff_id", sa.Integer, sa.ForeignKey("staff.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("label", sa.String(200), nullable=False, server_default=""),
    _created(),
    sa.Column("last_used_at", UTCDateTime, nullable=True),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
)

web_sessions = sa.Table(
    "web_sessions",
    metadata,
    _id(),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    # A browser session belongs to a staff member or to a volunteer, never both.
    sa.Column("staff_id", sa.Integer, sa.ForeignKey("staff.id", ondelete="CASCADE"), nullable=True),
    sa.Column(
        "volunteer_id",
        sa.Integer,
        sa.ForeignKey("volunteers.id", ondelete="CASCADE"),
        nullable=True,
    ),
    _created(),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)

sign_in_failures = sa.Table(
    "sign_in_failures",
    metadata,
    _id(),
    # A hash of the lower-cased email, so the table holds no address in the clear.
    sa.Column("subject_hash", sa.String(64), nullable=False, index=True),
    sa.Column("at", UTCDateTime, nullable=False, default=_now),
)

# --- programme ------------------------------------------------------------------------

festivals = sa.Table(
    "festivals",
    metadata,
    _id(),
    sa.Column("slug", sa.String(80), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("ends_on", sa.Date, nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    _created(),
    _updated(),
)

venues = sa.Table(
    "venues",
    metadata,
    _id(),
    _festival_ref(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("address", sa.Text, nullable=False, server_default=""),
    sa.Column("online", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("directions", sa.Text, nullable=False, server_default=""),
    _created(),
    _updated(),
    sa.UniqueConstraint("festival_id", "name", name="venue_name"),
)

rooms = sa.Table(
    "rooms",
    metadata,
    _id(),
    sa.Column(
        "venue_id",
        sa.Integer,
        sa.ForeignKey("venues.id", ondelete="RESTRICT"),
        nullable=False,
        index=True,
    ),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("capacity", sa.Integer, nullable=True),
    sa.Column("join_url", sa.String(2000), nullable=False, server_default=""),
    sa.Column("step_free", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("hearing_loop", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("bsl_interpretation", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("quiet_room", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("access_notes", sa.Text, nullable=False, server_default=""),
    _created(),
    _updated(),
    sa.UniqueConstraint("venue_id", "name", name="room_name"),
)

people = sa.Table(
    "people",
    metadata,
    _id(),
    _festival_ref(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("organisation", sa.String(200), nullable=False, server_default=""),
    _created(),
    _updated(),
)

sessions = sa.Table(
    "sessions",
    metadata,
    _id(),
    _festival_ref(),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("summary", sa.Text, nullable=False, server_default=""),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("track", sa.String(100), nullable=False, server_default=""),
    sa.Column(
        "room_id", sa.Integer, sa.ForeignKey("rooms.id", ondelete="RESTRICT"), nullable=False
    ),
    sa.Column("starts_at", UTCDateTime, nullable=False),
    sa.Column("ends_at", UTCDateTime, nullable=False),
    sa.Column("language", sa.String(35), nullable=False, server_default="en"),
    sa.Column("access_notes", sa.Text, nullable=False, server_default=""),
    sa.Column("do_not_film", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("status", sa.String(20), nullable=False, server_default="draft"),
    _created(),
    _updated(),
    sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    sa.Index("ix_sessions_room_time", "room_id", "starts_at"),
    sa.Index("ix_sessions_festival_time", "festival_id", "starts_at"),
)

session_co_producers = sa.Table(
    "session_co_producers",
    metadata,
    sa.Column(
        "session_id",
        sa.Integer,
        sa.ForeignKey("sessions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "person_id",
        sa.Integer,
        sa.ForeignKey("people.id", ondelete="RESTRICT"),
        primary_key=True,
        index=True,
    ),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("position", sa.Integer, nullable=False, server_default="0"),
)


# --- crew: volunteer interviewers -----------------------------------------------------

festival_crew_rules = sa.Table(
    "festival_crew_rules",
    metadata,
    sa.Column(
        "festival_id",
        sa.Integer,
        sa.ForeignKey("festivals.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("self_signup", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("leave_cutoff_minutes", sa.Integer, nullable=False, server_default="120"),
    sa.Column("travel_buffer_minutes", sa.Integer, nullable=False, server_default="15"),
    _updated(),
)

volunteers = sa.Table(
    "volunteers",
    metadata,
    _id(),
    _festival_ref(),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("pronouns", sa.String(50), nullable=False, server_default=""),
    sa.Column("phone", sa.String(50), nullable=False, server_default=""),
    sa.Column("access_needs", sa.Text, nullable=False, server_default=""),
    sa.Column("suspended_at", UTCDateTime, nullable=True),
    sa.Column("suspended_reason", sa.Text, nullable=False, server_default=""),
    # Bumped to revoke the calendar feed link, which is derived from it (see crew.tokens).
    sa.Column("feed_version", sa.Integer, nullable=False, server_default="1"),
    _created(),
    _updated(),
    sa.UniqueConstraint("festival_id", "email", name="volunteer_email"),
)

volunteer_tokens = sa.Table(
    "volunteer_tokens",
    metadata,
    _id(),
    sa.Column(
        "volunteer_id",
        sa.Integer,
        sa.ForeignKey("volunteers.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    _created(),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("last_used_at", UTCDateTime, nullable=True),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
)

trainings = sa.Table(
    "trainings",
    metadata,
    _id(),
    sa.Column(
        "volunteer_id",
        sa.Integer,
        sa.ForeignKey("volunteers.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("course", sa.String(200), nullable=False),
    sa.Column("trained_on", sa.Date, nullable=False),
    sa.Column("trainer", sa.String(200), nullable=False),
    _created(),
)

availability = sa.Table(
    "availability",
    metadata,
    _id(),
    sa.Column(
        "volunteer_id",
        sa.Integer,
        sa.ForeignKey("volunteers.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("starts_at", UTCDateTime, nullable=False),
    sa.Column("ends_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
)

slots = sa.Table(
    "slots",
    metadata,
    _id(),
    _festival_ref(),
    sa.Column(
        "session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="SET NULL"), nullable=True
    ),
    sa.Column("room_id", sa.Integer, sa.ForeignKey("rooms.id", ondelete="SET NULL"), nullable=True),
    sa.Column("place", sa.String(200), nullable=False, server_default=""),
    sa.Column("starts_at", UTCDateTime, nullable=False),
    sa.Column("ends_at", UTCDateTime, nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False, server_default="1"),
    sa.Column("notes", sa.Text, nullable=False, server_default=""),
    _created(),
    _updated(),
    sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    sa.CheckConstraint("capacity >= 1", name="capacity_positive"),
    sa.Index("ix_slots_festival_time", "festival_id", "starts_at"),
)

assignments = sa.Table(
    "assignments",
    metadata,
    _id(),
    sa.Column(
        "slot_id",
        sa.Integer,
        sa.ForeignKey("slots.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column(
        "volunteer_id",
        sa.Integer,
        sa.ForeignKey("volunteers.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # assigned -> accepted -> checked_in; declined and no_show end it.
    sa.Column("status", sa.String(20), nullable=False, server_default="assigned"),
    sa.Column("source", sa.String(20), nullable=False, server_default="staff"),
    sa.Column("decline_reason", sa.Text, nullable=False, server_default=""),
    sa.Column("checked_in_at", UTCDateTime, nullable=True),
    _created(),
    _updated(),
    sa.UniqueConstraint("slot_id", "volunteer_id", name="assignment_once"),
)

slot_preferences = sa.Table(
    "slot_preferences",
    metadata,
    sa.Column(
        "volunteer_id",
        sa.Integer,
        sa.ForeignKey("volunteers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "slot_id", sa.Integer, sa.ForeignKey("slots.id", ondelete="CASCADE"), primary_key=True
    ),
)

proposals = sa.Table(
    "proposals",
    metadata,
    _id(),
    _festival_ref(),
    # The proposal as JSON: the assignments it would make and why places stay unfilled.
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    _created(),
    sa.Column("applied_at", UTCDateTime, nullable=True),
)


# --- background jobs ------------------------------------------------------------------

jobs = sa.Table(
    "jobs",
    metadata,
    _id(),
    sa.Column("kind", sa.String(50), nullable=False),
    sa.Column("payload", sa.Text, nullable=False, server_default="{}"),
    # queued -> running -> done, or back to queued after a failure until attempts run out.
    sa.Column("state", sa.String(20), nullable=False, server_default="queued"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("max_attempts", sa.Integer, nullable=False, server_default="5"),
    sa.Column("run_after", UTCDateTime, nullable=False, default=_now),
    sa.Column("locked_by", sa.String(100), nullable=True),
    sa.Column("locked_until", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    _created(),
    _updated(),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Index("ix_jobs_ready", "state", "run_after"),
)


# --- clips: uploads from phones and what is made of them --------------------------------

uploads = sa.Table(
    "uploads",
    metadata,
    # The tus upload id: random, so the upload's URL cannot be guessed.
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(50), nullable=False, index=True),
    sa.Column("length", sa.BigInteger, nullable=False),
    sa.Column("offset", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("metadata", sa.Text, nullable=False, server_default="{}"),
    sa.Column("metadata_header", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
    sa.Column("completed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("sha256", sa.String(64), nullable=True),
)

clips = sa.Table(
    "clips",
    metadata,
    _id(),
    _festival_ref(),
    sa.Column("upload_id", sa.String(64), nullable=False, unique=True),
    sa.Column(
        "volunteer_id",
        sa.Integer,
        sa.ForeignKey("volunteers.id", ondelete="SET NULL"),
        nullable=True,
        index=True,
    ),
    sa.Column(
        "staff_id", sa.Integer, sa.ForeignKey("staff.id", ondelete="SET NULL"), nullable=True
    ),
    sa.Column("slot_id", sa.Integer, sa.ForeignKey("slots.id", ondelete="SET NULL"), nullable=True),
    sa.Column("consent_ref", sa.String(64), nullable=False, server_default=""),
    sa.Column("title", sa.String(200), nullable=False, server_default=""),
    sa.Column("original_filename", sa.String(255), nullable=False, server_default=""),
    sa.Column("content_type", sa.String(100), nullable=False, server_default=""),
    sa.Column("original_key", sa.String(300), nullable=True),
    sa.Column("original_size", sa.BigInteger, nullable=False),
    sa.Column("original_sha256", sa.String(64), nullable=False),
    # processing -> ready, or failed with a reason the volunteer can read.
    sa.Column("state", sa.String(20), nullable=False, server_default="processing"),
    sa.Column("failure_reason", sa.Text, nullable=False, server_default=""),
    sa.Column("recorded_at", UTCDateTime, nullable=True),
    sa.Column("duration", sa.Float, nullable=True),
    sa.Column("width", sa.Integer, nullable=True),
    sa.Column("height", sa.Integer, nullable=True),
    sa.Column("video_codec", sa.String(50), nullable=False, server_default=""),
    sa.Column("audio_codec", sa.String(50), nullable=False, server_default=""),
    sa.Column("poster_key", sa.String(300), nullable=True),
    sa.Column("thumb_key", sa.String(300), nullable=True),
    sa.Column("rendition_key", sa.String(300), nullable=True),
    sa.Column("rendition_size", sa.BigInteger, nullable=True),
    sa.Column("captions_key", sa.String(300), nullable=True),
    # Where the clip sits on the timeline: when it was filmed, else its slot's start, else
    # when it arrived.
    sa.Column("timeline_at", UTCDateTime, nullable=True),
    # Publication: staff publish from the review queue; withdrawal ends it for good.
    sa.Column("published_at", UTCDateTime, nullable=True),
    sa.Column("withdrawn_at", UTCDateTime, nullable=True),
    sa.Column("purged_at", UTCDateTime, nullable=True),
    _created(),
    _updated(),
    sa.Index("ix_clips_timeline", "festival_id", "timeline_at", "id"),
    # Never reuse a deleted clip's id: the audit log names clips by id.
    sqlite_autoincrement=True,
)


# --- consent: the person filmed holds the power over their story ------------------------

publication_rules = sa.Table(
    "publication_rules",
    metadata,
    sa.Column(
        "festival_id",
        sa.Integer,
        sa.ForeignKey("festivals.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("require_review", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("require_captions", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("unconsented_days", sa.Integer, nullable=False, server_default="30"),
    _updated(),
)

consents = sa.Table(
    "consents",
    metadata,
    _id(),
    _festival_ref(),
    # Exactly what the interviewee read: the form's version, which wording, and its text.
    sa.Column("form_version", sa.Integer, nullable=False),
    sa.Column("form_variant", sa.String(20), nullable=False),
    sa.Column("form_text", sa.Text, nullable=False),
    sa.Column("interviewee_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("display_name", sa.String(200), nullable=False, server_default=""),
    sa.Column("contact_email", sa.String(320), nullable=False, server_default=""),
    sa.Column("contact_phone", sa.String(50), nullable=False, server_default=""),
    sa.Column("scope_timeline", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("scope_blog", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("scope_social", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("scope_training", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("scope_research", sa.Boolean, nullable=False, server_default=sa.false()),
    # name | chosen | anonymous
    sa.Column("credit", sa.String(20), nullable=False, server_default="anonymous"),
    sa.Column("licence", sa.String(50), nullable=False, server_default="all-rights-reserved"),
    sa.Column("expires_on", sa.Date, nullable=True),
    # ticked on the phone, or spoken on camera at a time into the clip
    sa.Column("method", sa.String(20), nullable=False, server_default="ticked"),
    sa.Column("spoken_at_seconds", sa.Float, nullable=True),
    sa.Column(
        "witness_volunteer_id",
        sa.Integer,
        sa.ForeignKey("volunteers.id", ondelete="SET NULL"),
        nullable=True,
    ),
    sa.Column(
        "witness_staff_id",
        sa.Integer,
        sa.ForeignKey("staff.id", ondelete="SET NULL"),
        nullable=True,
    ),
    sa.Column("given_at", UTCDateTime, nullable=False),
    sa.Column("approved_at", UTCDateTime, nullable=True),
    sa.Column("withdrawn_at", UTCDateTime, nullable=True),
    sa.Column("withdrawn_by", sa.String(20), nullable=False, server_default=""),
    sa.Column("token_hash", sa.String(64), nullable=True, unique=True),
    sa.Column("token_revoked_at", UTCDateTime, nullable=True),
    sa.Column("erased_at", UTCDateTime, nullable=True),
    _created(),
    _updated(),
    # Never reuse a consent's id: the audit log names consents by id.
    sqlite_autoincrement=True,
)

clip_consents = sa.Table(
    "clip_consents",
    metadata,
    sa.Column(
        "clip_id", sa.Integer, sa.ForeignKey("clips.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "consent_id",
        sa.Integer,
        sa.ForeignKey("consents.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    sa.Column("linked_at", UTCDateTime, nullable=False, default=_now),
)

# Append-only: rows are inserted, never updated or deleted, and hold ids, never names.
audit_events = sa.Table(
    "audit_events",
    metadata,
    _id(),
    sa.Column("at", UTCDateTime, nullable=False, default=_now),
    sa.Column("festival_id", sa.Integer, nullable=True, index=True),
    sa.Column("actor", sa.String(50), nullable=False),
    sa.Column("action", sa.String(50), nullable=False),
    sa.Column("clip_id", sa.Integer, nullable=True, index=True),
    sa.Column("consent_id", sa.Integer, nullable=True, index=True),
    sa.Column("detail", sa.Text, nullable=False, server_default="{}"),
)


# --- the blog and what links to what ----------------------------------------------------

posts = sa.Table(
    "posts",
    metadata,
    _id(),
    _festival_ref(),
    # The feed entry's id (Atom id or RSS guid); empty for posts staff add by hand.
    sa.Column("entry_id", sa.String(500), nullable=False, server_default=""),
    sa.Column("feed_url", sa.String(2000), nullable=False, server_default=""),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("author", sa.String(300), nullable=False, server_default=""),
    sa.Column("url", sa.String(2000), nullable=False, server_default=""),
    sa.Column("summary", sa.Text, nullable=False, server_default=""),
    sa.Column("published_at", UTCDateTime, nullable=False),
    # feed | staff: where the post came from; a hand edit to a feed post keeps "feed".
    sa.Column("source", sa.String(10), nullable=False, server_default="staff"),
    _created(),
    _updated(),
    sa.Index("ix_posts_festival_published", "festival_id", "published_at"),
)
# One row per feed entry: importing again updates it instead of adding another. Hand-made
# posts have no entry id, so the index leaves them out.
sa.Index(
    "uq_posts_festival_entry",
    posts.c.festival_id,
    posts.c.entry_id,
    unique=True,
    sqlite_where=posts.c.entry_id != "",
    postgresql_where=posts.c.entry_id != "",
)

clip_sessions = sa.Table(
    "clip_sessions",
    metadata,
    sa.Column(
        "clip_id", sa.Integer, sa.ForeignKey("clips.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "session_id",
        sa.Integer,
        sa.ForeignKey("sessions.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    # slot: made from the clip's interview slot; staff: added by hand.
    sa.Column("source", sa.String(10), nullable=False, server_default="staff"),
)

clip_posts = sa.Table(
    "clip_posts",
    metadata,
    sa.Column(
        "clip_id", sa.Integer, sa.ForeignKey("clips.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column(
        "post_id",
        sa.Integer,
        sa.ForeignKey("posts.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

session_posts = sa.Table(
    "session_posts",
    metadata,
    sa.Column(
        "session_id",
        sa.Integer,
        sa.ForeignKey("sessions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "post_id",
        sa.Integer,
        sa.ForeignKey("posts.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)

#: Tables the database holds that the metadata does not describe: the full-text index
#: of published clips (an SQLite FTS5 table and its shadow tables).
SEARCH_TABLE = "clip_search"


def described(name: str | None, type_: str, parent_names: object) -> bool:
    """For Alembic: leave the search index out of schema comparisons."""
    return not (type_ == "table" and name is not None and name.startswith(SEARCH_TABLE))


# One row, counting changes to anything the public can see. Database triggers (made by
# migration 0008) bump it on every insert, update or delete in the tables below, whoever
# writes (any app instance, the command line), so a cached public page can be checked
# with one tiny read and is never served after a withdrawal.
public_changes = sa.Table(
    "public_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
    sa.CheckConstraint("id = 1", name="one_row"),
)
PUBLIC_TABLES = (
    "festivals",
    "venues",
    "rooms",
    "sessions",
    "people",
    "session_co_producers",
    "volunteers",
    "slots",
    "clips",
    "consents",
    "clip_consents",
    "publication_rules",
    "posts",
    "clip_sessions",
    "clip_posts",
    "session_posts",
)
