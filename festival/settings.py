"""Service settings, read once from ``FESTIVAL_*`` environment variables.

Settings are a frozen Struct handed to :func:`festival.app.create_app`; nothing reads the
environment anywhere else. An unknown ``FESTIVAL_*`` variable, or a value that does not
parse, stops start-up with a message naming the variable, so a typo in a deployment is
caught at once rather than silently ignored.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from media.storage import check_prefix

PREFIX = "FESTIVAL_"


class SettingsError(ValueError):
    """A setting is unknown or malformed; the message names the variable."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    data_dir: Path
    database_url: str
    media_url: str
    base_url: str
    secret_key: str
    timezone: str = "Europe/London"
    session_max_age: int = 60 * 60 * 12
    sign_in_attempts: int = 5
    sign_in_window: int = 15 * 60
    max_body_size: int = 1024 * 1024
    tus_max_size: int = 4 * 1024**3
    upload_ttl_hours: int = 48
    # How long a job stays claimed by a worker that stopped sending heartbeats (it died)
    # before another worker takes it again.
    job_lease_seconds: int = 60
    run_jobs: bool = True
    debug: bool = False
    smtp_url: str = ""
    # The S3 API of an s3:// media store: its address (empty for AWS itself), region and
    # keys (both empty to use AWS's credential chain: environment, instance role).
    s3_endpoint: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def media_root(self) -> Path:
        """The local folder of a ``file://`` media store."""
        return Path(urlsplit(self.media_url).path)

    @property
    def media_in_s3(self) -> bool:
        return self.media_url.startswith("s3://")

    @property
    def s3_bucket(self) -> str:
        """The bucket of an ``s3://bucket/prefix`` media store."""
        return urlsplit(self.media_url).netloc

    @property
    def s3_prefix(self) -> str:
        """The folder in the bucket of an ``s3://`` media store ("" for all of it)."""
        return urlsplit(self.media_url).path.strip("/")


_INT_FIELDS = {
    "session_max_age": (60, 60 * 60 * 24 * 90),
    "sign_in_attempts": (1, 1000),
    "sign_in_window": (1, 60 * 60 * 24),
    "max_body_size": (1024, 1024 * 1024 * 1024),
    "tus_max_size": (1024, 1024**4),
    "upload_ttl_hours": (1, 24 * 30),
    "job_lease_seconds": (1, 60 * 60),
}
_BOOL_FIELDS = ("debug", "run_jobs")
_KNOWN = {
    "data_dir",
    "database_url",
    "media_url",
    "base_url",
    "secret_key",
    "timezone",
    "smtp_url",
    "s3_endpoint",
    "s3_region",
    "s3_access_key_id",
    "s3_secret_access_key",
    *_BOOL_FIELDS,
    *_INT_FIELDS,
}


def _fail(name: str, message: str) -> SettingsError:
    return SettingsError(f"{PREFIX}{name.upper()}: {message}")


_SMTP_FORM = "smtp://host[:port] or smtps://host[:port], optionally user:password@ before the host"
_SMTP_OPTIONS = {"from", "starttls"}
_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+$")


def _check_smtp_url(url: str) -> str:
    """The mail server that sends interviewees their private link (optional):
    ``smtp://host:port?from=festival@example.org``; ``&starttls=true`` or ``smtps://``
    for TLS."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _fail("smtp_url", f"must look like {_SMTP_FORM}") from None
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname or parts.path not in {"", "/"}:
        raise _fail("smtp_url", f"must look like {_SMTP_FORM}")
    if port == 0:
        raise _fail("smtp_url", "the port must be between 1 and 65535")
    try:
        options = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise _fail("smtp_url", "the part after ? must be like from=festival@example.org") from None
    unknown = set(options) - _SMTP_OPTIONS
    if unknown or any(len(v) > 1 for v in options.values()):
        raise _fail("smtp_url", "the only options after ? are from= and starttls=, each once")
    sender = options.get("from", [""])[0]
    if sender and not _ADDRESS.match(sender):
        raise _fail("smtp_url", "from= must be one email address, like festival@example.org")
    if options.get("starttls", ["false"])[0].lower() not in {"true", "false", "1", "0"}:
        raise _fail("smtp_url", "starttls= must be true or false")
    return url


_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP_ADDRESS = re.compile(r"\d+\.\d+\.\d+\.\d+")
_REGION = re.compile(r"[A-Za-z0-9_-]{1,64}")
_S3_SETTINGS = ("s3_endpoint", "s3_region", "s3_access_key_id", "s3_secret_access_key")


def _check_media_url(url: str) -> str:
    """``file:///absolute/path`` or ``s3://bucket/prefix``, with a bucket name S3 accepts
    and a prefix made of the same safe segments as object keys."""
    if url.startswith("file:///"):
        return url
    if not url.startswith("s3://"):
        raise _fail("media_url", "must be file:///absolute/path or s3://bucket/prefix")
    parts = urlsplit(url)
    bucket = parts.netloc
    if parts.query or parts.fragment or "@" in bucket or ":" in bucket:
        raise _fail("media_url", "must be s3://bucket/prefix, with no user, port, ? or #")
    if (
        not _BUCKET.fullmatch(bucket)
        or ".." in bucket
        or _IP_ADDRESS.fullmatch(bucket)
        or bucket.startswith(("xn--", "sthree-"))
        or bucket.endswith(("-s3alias", "--ol-s3"))
    ):
        raise _fail(
            "media_url",
            f"{bucket!r} is not an S3 bucket name: 3 to 63 lowercase letters, digits, dots "
            "and hyphens, starting and ending with a letter or digit",
        )
    try:
        check_prefix(parts.path.strip("/"))
    except ValueError as error:
        raise _fail("media_url", f"the prefix after the bucket is not usable: {error}") from None
    return url


def _check_s3(raw: Mapping[str, str], media_url: str) -> dict[str, str]:
    """The S3 settings, checked: only with an s3:// media URL, an http(s) endpoint, and
    the two keys together or not at all."""
    given = {name: raw[name] for name in _S3_SETTINGS if raw.get(name)}
    if not media_url.startswith("s3://"):
        if given:
            names = ", ".join(PREFIX + name.upper() for name in given)
            raise _fail(
                "media_url",
                f"{names} only apply to media in S3: set FESTIVAL_MEDIA_URL=s3://bucket/prefix "
                "or remove them",
            )
        return {}
    endpoint = given.get("s3_endpoint", "").rstrip("/")
    if endpoint:
        try:
            parts = urlsplit(endpoint)
            parts.port  # noqa: B018  (raises ValueError for a bad port)
        except ValueError:
            raise _fail(
                "s3_endpoint", "must be http://host[:port] or https://host[:port]"
            ) from None
        if (
            parts.scheme not in {"http", "https"}
            or not parts.hostname
            or parts.query
            or parts.fragment
            or parts.username
        ):
            raise _fail(
                "s3_endpoint",
                "must be the S3 API's address, http://host[:port] or https://host[:port] "
                "(leave it empty for AWS)",
            )
        given["s3_endpoint"] = endpoint
    region = given.get("s3_region", "us-east-1")
    if not _REGION.fullmatch(region):
        raise _fail("s3_region", f"{region!r} is not a region name such as us-east-1")
    if bool(given.get("s3_access_key_id")) != bool(given.get("s3_secret_access_key")):
        missing = "s3_secret_access_key" if given.get("s3_access_key_id") else "s3_access_key_id"
        raise _fail(
            missing,
            "set FESTIVAL_S3_ACCESS_KEY_ID and FESTIVAL_S3_SECRET_ACCESS_KEY together, or "
            "neither to use AWS's own credentials (environment, instance role)",
        )
    return given


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``environ`` (the process environment by default).

    A missing secret key is generated once and kept in the data directory, so sessions
    survive restarts without anyone having to invent one.
    """
    env = os.environ if environ is None else environ
    raw: dict[str, str] = {}
    for key, value in env.items():
        if not key.startswith(PREFIX):
            continue
        name = key[len(PREFIX) :].lower()
        if name not in _KNOWN:
            known = ", ".join(sorted(PREFIX + k.upper() for k in _KNOWN))
            raise SettingsError(f"{key} is not a setting this service knows. Known: {known}.")
        raw[name] = value.strip()

    data_dir = Path(raw.get("data_dir") or "./var").expanduser().resolve()
    values: dict[str, object] = {"data_dir": data_dir}

    database_url = raw.get("database_url") or f"sqlite+aiosqlite:///{data_dir / 'festival.db'}"
    if not database_url.startswith(("sqlite+aiosqlite:///", "postgresql+asyncpg://")):
        raise _fail(
            "database_url",
            "must start with sqlite+aiosqlite:/// or postgresql+asyncpg://",
        )
    values["database_url"] = database_url

    media_url = _check_media_url(raw.get("media_url") or f"file://{data_dir / 'media'}")
    values["media_url"] = media_url
    values.update(_check_s3(raw, media_url))

    base_url = (raw.get("base_url") or "http://127.0.0.1:8000").rstrip("/")
    parts = urlsplit(base_url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise _fail("base_url", "must be an absolute http:// or https:// address")
    values["base_url"] = base_url

    timezone = raw.get("timezone") or "Europe/London"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail(
            "timezone", f"{timezone!r} is not an IANA time zone such as Europe/London"
        ) from None
    values["timezone"] = timezone

    if raw.get("smtp_url"):
        values["smtp_url"] = _check_smtp_url(raw["smtp_url"])

    for name, (low, high) in _INT_FIELDS.items():
        if name not in raw:
            continue
        try:
            number = int(raw[name])
        except ValueError:
            raise _fail(name, f"must be a whole number, not {raw[name]!r}") from None
        if not low <= number <= high:
            raise _fail(name, f"must be between {low} and {high}")
        values[name] = number

    for name in _BOOL_FIELDS:
        if name in raw:
            if raw[name].lower() not in {"0", "1", "true", "false", "yes", "no"}:
                raise _fail(name, "must be true or false")
            values[name] = raw[name].lower() in {"1", "true", "yes"}

    secret = raw.get("secret_key") or _stored_secret(data_dir)
    if len(secret) < 32:
        raise _fail("secret_key", "must be at least 32 characters")
    values["secret_key"] = secret
    return Settings(**values)  # type: ignore[arg-type]


def _stored_secret(data_dir: Path) -> str:
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return secret
