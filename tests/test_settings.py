"""Settings come from FESTIVAL_* variables; mistakes stop start-up with the variable's name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from festival.settings import SettingsError, load_settings


def test_defaults_put_everything_in_the_data_directory(tmp_path: Path) -> None:
    settings = load_settings({"FESTIVAL_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path}/festival.db"
    assert settings.media_url == f"file://{tmp_path}/media"
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.timezone == "Europe/London"
    # The secret is generated once, kept private, and reused on the next start.
    secret_file = tmp_path / "secret_key"
    assert secret_file.stat().st_mode & 0o077 == 0
    assert load_settings({"FESTIVAL_DATA_DIR": str(tmp_path)}).secret_key == settings.secret_key


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "FESTIVAL_DATABSE_URL",
            "sqlite+aiosqlite:///x.db",
            "FESTIVAL_DATABSE_URL is not a setting",
        ),
        ("FESTIVAL_DATABASE_URL", "mysql://x", "FESTIVAL_DATABASE_URL: must start with"),
        ("FESTIVAL_MEDIA_URL", "ftp://x", "FESTIVAL_MEDIA_URL"),
        ("FESTIVAL_BASE_URL", "festival.example.org", "FESTIVAL_BASE_URL"),
        ("FESTIVAL_TIMEZONE", "Mars/Olympus", "FESTIVAL_TIMEZONE"),
        ("FESTIVAL_SESSION_MAX_AGE", "soon", "FESTIVAL_SESSION_MAX_AGE: must be a whole number"),
        ("FESTIVAL_SIGN_IN_ATTEMPTS", "0", "FESTIVAL_SIGN_IN_ATTEMPTS: must be between"),
        ("FESTIVAL_SECRET_KEY", "short", "FESTIVAL_SECRET_KEY: must be at least 32"),
        ("FESTIVAL_DEBUG", "maybe", "FESTIVAL_DEBUG"),
    ],
)
def test_a_bad_setting_names_the_variable(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({"FESTIVAL_DATA_DIR": str(tmp_path), name: value})


def test_other_variables_are_left_alone(tmp_path: Path) -> None:
    settings = load_settings({"FESTIVAL_DATA_DIR": str(tmp_path), "PATH": "/bin", "HOME": "/x"})
    assert settings.data_dir == tmp_path


def test_https_base_url_makes_cookies_secure(tmp_path: Path) -> None:
    env = {"FESTIVAL_DATA_DIR": str(tmp_path), "FESTIVAL_BASE_URL": "https://f.example.org/"}
    settings = load_settings(env)
    assert settings.base_url == "https://f.example.org"
    assert settings.secure_cookies


S3 = {
    "FESTIVAL_MEDIA_URL": "s3://festival-media/site/media",
    "FESTIVAL_S3_ENDPOINT": "http://127.0.0.1:8333/",
    "FESTIVAL_S3_ACCESS_KEY_ID": "key-id",
    "FESTIVAL_S3_SECRET_ACCESS_KEY": "secret",
}


def test_media_in_s3_reads_bucket_prefix_endpoint_and_keys(tmp_path: Path) -> None:
    settings = load_settings({"FESTIVAL_DATA_DIR": str(tmp_path), **S3})
    assert settings.media_in_s3
    assert settings.s3_bucket == "festival-media"
    assert settings.s3_prefix == "site/media"
    assert settings.s3_endpoint == "http://127.0.0.1:8333"
    assert settings.s3_region == "us-east-1"
    assert (settings.s3_access_key_id, settings.s3_secret_access_key) == ("key-id", "secret")
    # AWS itself: no endpoint, and no keys (the instance's role provides them).
    aws = load_settings(
        {
            "FESTIVAL_DATA_DIR": str(tmp_path),
            "FESTIVAL_MEDIA_URL": "s3://festival-media",
            "FESTIVAL_S3_REGION": "eu-west-2",
        }
    )
    assert (aws.s3_bucket, aws.s3_prefix, aws.s3_endpoint) == ("festival-media", "", "")
    assert aws.s3_region == "eu-west-2"
    assert not load_settings({"FESTIVAL_DATA_DIR": str(tmp_path)}).media_in_s3


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"FESTIVAL_MEDIA_URL": "s3://Festival_Media/x"}, "FESTIVAL_MEDIA_URL: 'Festival_Media'"),
        ({"FESTIVAL_MEDIA_URL": "s3://ab/x"}, "FESTIVAL_MEDIA_URL: 'ab' is not an S3 bucket"),
        ({"FESTIVAL_MEDIA_URL": "s3://a..b/x"}, "not an S3 bucket name"),
        ({"FESTIVAL_MEDIA_URL": "s3://192.168.1.10/x"}, "not an S3 bucket name"),
        ({"FESTIVAL_MEDIA_URL": "s3:///media"}, "not an S3 bucket name"),
        ({"FESTIVAL_MEDIA_URL": "s3://user@bucket/x"}, "FESTIVAL_MEDIA_URL: must be s3://"),
        ({"FESTIVAL_MEDIA_URL": "s3://bucket:9000/x"}, "FESTIVAL_MEDIA_URL: must be s3://"),
        ({"FESTIVAL_MEDIA_URL": "s3://bucket/x?y=1"}, "FESTIVAL_MEDIA_URL: must be s3://"),
        ({"FESTIVAL_MEDIA_URL": "s3://bucket/../x"}, "FESTIVAL_MEDIA_URL: the prefix"),
        ({"FESTIVAL_MEDIA_URL": "s3://bucket/a b"}, "FESTIVAL_MEDIA_URL: the prefix"),
        ({"FESTIVAL_S3_ENDPOINT": "127.0.0.1:8333"}, "FESTIVAL_S3_ENDPOINT: must be"),
        ({"FESTIVAL_S3_ENDPOINT": "ftp://store.example.org"}, "FESTIVAL_S3_ENDPOINT: must be"),
        ({"FESTIVAL_S3_ENDPOINT": "http://store:port"}, "FESTIVAL_S3_ENDPOINT: must be"),
        ({"FESTIVAL_S3_REGION": "eu west"}, "FESTIVAL_S3_REGION: 'eu west'"),
        ({"FESTIVAL_S3_SECRET_ACCESS_KEY": ""}, "FESTIVAL_S3_SECRET_ACCESS_KEY: set FESTIVAL_S3_"),
        ({"FESTIVAL_S3_ACCESS_KEY_ID": ""}, "FESTIVAL_S3_ACCESS_KEY_ID: set FESTIVAL_S3_"),
        (
            {"FESTIVAL_MEDIA_URL": "file:///srv/media"},
            "FESTIVAL_MEDIA_URL: FESTIVAL_S3_ENDPOINT, FESTIVAL_S3_ACCESS_KEY_ID, "
            "FESTIVAL_S3_SECRET_ACCESS_KEY only apply to media in S3",
        ),
    ],
)
def test_bad_s3_settings_name_the_variable(
    tmp_path: Path, changes: dict[str, str], message: str
) -> None:
    env = {"FESTIVAL_DATA_DIR": str(tmp_path), **S3, **changes}
    with pytest.raises(SettingsError, match=re.escape(message)):
        load_settings(env)
