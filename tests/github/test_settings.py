"""GitHub settings from the environment: clear errors naming the variable, secrets hidden."""

from __future__ import annotations

from pathlib import Path

import pytest

from changegate.settings import SettingsError, github_settings

KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----"


def test_token_from_changegate_variable_or_github_token() -> None:
    settings = github_settings({"GITHUB_TOKEN": "ghs_x"})
    assert (settings.token, settings.auth_kind, settings.api_url) == ("ghs_x", "token", "https://api.github.com")
    assert github_settings({"GITHUB_TOKEN": "a", "CHANGEGATE_GITHUB_TOKEN": "b"}).token == "b"
    assert "ghs_x" not in repr(settings)


def test_api_url_for_enterprise_server_loses_its_trailing_slash() -> None:
    env = {"GITHUB_TOKEN": "t", "CHANGEGATE_GITHUB_API_URL": "https://ghe.example.com/api/v3/"}
    assert github_settings(env).api_url == "https://ghe.example.com/api/v3"
    with pytest.raises(SettingsError, match="CHANGEGATE_GITHUB_API_URL=ghe.example.com is not an http"):
        github_settings({"GITHUB_TOKEN": "t", "CHANGEGATE_GITHUB_API_URL": "ghe.example.com"})


def test_app_key_from_text_with_escaped_newlines_or_from_a_file(tmp_path: Path) -> None:
    env = {"CHANGEGATE_GITHUB_APP_ID": "12", "CHANGEGATE_GITHUB_PRIVATE_KEY": KEY.replace("\n", "\\n"),
           "GITHUB_TOKEN": "ignored for an App", "CHANGEGATE_GITHUB_INSTALLATION_ID": "99"}
    settings = github_settings(env)
    assert (settings.auth_kind, settings.private_key, settings.installation_id) == ("app", KEY + "\n", 99)
    assert settings.token is None and "MIIabc" not in repr(settings)
    (tmp_path / "app.pem").write_text(KEY)
    env = {"CHANGEGATE_GITHUB_APP_ID": "12", "CHANGEGATE_GITHUB_PRIVATE_KEY_PATH": str(tmp_path / "app.pem")}
    assert github_settings(env).private_key == KEY + "\n"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no GitHub credentials: set CHANGEGATE_GITHUB_TOKEN"),
        ({"CHANGEGATE_GITHUB_APP_ID": "1"}, "private key is missing: set CHANGEGATE_GITHUB_PRIVATE_KEY"),
        ({"CHANGEGATE_GITHUB_APP_ID": "1", "CHANGEGATE_GITHUB_TOKEN": "t"}, "both CHANGEGATE_GITHUB_TOKEN and"),
        ({"CHANGEGATE_GITHUB_APP_ID": "1", "CHANGEGATE_GITHUB_PRIVATE_KEY": "secret-junk"}, "does not hold a PEM"),
        ({"CHANGEGATE_GITHUB_APP_ID": "1", "CHANGEGATE_GITHUB_PRIVATE_KEY_PATH": "/nonexistent.pem"},
         "CHANGEGATE_GITHUB_PRIVATE_KEY_PATH=/nonexistent.pem cannot be read"),
        ({"GITHUB_TOKEN": "t", "CHANGEGATE_GITHUB_INSTALLATION_ID": "abc"}, "CHANGEGATE_GITHUB_INSTALLATION_ID=abc"),
        ({"GITHUB_TOKEN": "t", "CHANGEGATE_GITHUB_MAX_RATE_LIMIT_WAIT": "-1"}, "CHANGEGATE_GITHUB_MAX_RATE_LIMIT_WAIT=-1"),
    ],
)
def test_errors_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message) as caught:
        github_settings(env)
    assert "secret-junk" not in str(caught.value)
