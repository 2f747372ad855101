"""Settings come from FESTIVAL_* variables; mistakes stop start-up with the variable's name."""

from __future__ import annotations

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
