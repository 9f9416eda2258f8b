"""Settings from the environment, URL normalisation and password redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from changegate.settings import (
    SettingsError,
    data_dir,
    database_url,
    load_settings,
    normalise_database_url,
    redact_text,
    redact_url,
)


def test_the_database_url_setting_wins(tmp_path: Path) -> None:
    env = {"CHANGEGATE_DATABASE_URL": "postgres://u:p@db:5432/cg", "CHANGEGATE_HOME": str(tmp_path)}
    assert database_url(env) == "postgresql+psycopg://u:p@db:5432/cg"


def test_the_default_is_an_sqlite_file_in_changegate_home(tmp_path: Path) -> None:
    home = tmp_path / "home" / "nested"
    assert database_url({"CHANGEGATE_HOME": str(home)}) == f"sqlite:///{home}/changegate.db"
    assert home.is_dir()  # created on first use


def test_xdg_data_home_then_the_home_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert data_dir({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path / "changegate"
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert data_dir({"XDG_DATA_HOME": "relative/ignored"}) == tmp_path / "user" / ".local" / "share" / "changegate"
    assert data_dir({}) == tmp_path / "user" / ".local" / "share" / "changegate"


def test_an_empty_url_setting_means_the_default(tmp_path: Path) -> None:
    settings = load_settings({"CHANGEGATE_DATABASE_URL": "  ", "CHANGEGATE_HOME": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path}/changegate.db"
    assert settings.data_dir == tmp_path


def test_a_home_that_is_a_file_is_refused_by_name(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SettingsError, match=f"CHANGEGATE_HOME={blocker} is not a directory"):
        database_url({"CHANGEGATE_HOME": str(blocker)})


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://h/db", "postgresql+psycopg://h/db"),
        ("postgresql://u@h:5433/db?sslmode=require", "postgresql+psycopg://u@h:5433/db?sslmode=require"),
        ("postgresql+psycopg://h/db", "postgresql+psycopg://h/db"),
        ("sqlite:///relative.db", "sqlite:///relative.db"),
        ("sqlite:////abs/path.db", "sqlite:////abs/path.db"),
        ("sqlite://", "sqlite://"),
    ],
)
def test_urls_are_normalised_to_psycopg(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected


@pytest.mark.parametrize("bad", ["mysql://root:hunter2@db/cg", "postgresql+psycopg2://u:hunter2@h/db", "sqlite:relative", "nonsense"])
def test_unsupported_urls_name_the_setting_and_hide_the_password(bad: str) -> None:
    with pytest.raises(SettingsError) as raised:
        database_url({"CHANGEGATE_DATABASE_URL": bad})
    message = str(raised.value)
    assert message.startswith("CHANGEGATE_DATABASE_URL=")
    assert "hunter2" not in message


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("postgresql://alice:s3cr%40t@db:5432/cg", "postgresql://alice:***@db:5432/cg"),
        ("postgresql://alice:p@ss@db/cg", "postgresql://alice:***@db/cg"),
        ("postgresql://alice@db/cg", "postgresql://alice@db/cg"),
        ("postgresql://db/cg?user=a&password=hunter2&sslmode=require", "postgresql://db/cg?user=a&password=***&sslmode=require"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
        ("host=db password=hunter2 user=a", "host=db password=*** user=a"),
    ],
)
def test_redaction_hides_passwords(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


def test_redact_text_scrubs_a_password_from_a_driver_message() -> None:
    url = "postgresql+psycopg://alice:hunter2@db/cg"
    message = f"could not connect with {url}: password hunter2 rejected"
    assert redact_text(message, url) == "could not connect with postgresql+psycopg://alice:***@db/cg: password *** rejected"
