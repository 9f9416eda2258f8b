"""Typed settings read from the environment, and the one place database URLs are normalised.

`CHANGEGATE_DATABASE_URL` chooses the database. Unset (or empty), changegate uses an embedded
SQLite file in its data directory: `$CHANGEGATE_HOME`, else `$XDG_DATA_HOME/changegate`, else
`~/.local/share/changegate`, created on first use. Never print a URL without `redact_url`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from changegate.errors import ChangegateError

ENV_DATABASE_URL = "CHANGEGATE_DATABASE_URL"
ENV_HOME = "CHANGEGATE_HOME"
ENV_XDG_DATA_HOME = "XDG_DATA_HOME"
DATABASE_FILENAME = "changegate.db"

_POSTGRES_PREFIXES = ("postgres://", "postgresql://", "postgresql+psycopg://")
_SUPPORTED = "sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DBNAME"


class SettingsError(ChangegateError):
    """A setting holds a value changegate cannot use; the message names the setting and value."""


@dataclass(frozen=True)
class Settings:
    """Everything changegate reads from its environment, validated."""

    database_url: str
    data_dir: Path

    @property
    def redacted_database_url(self) -> str:
        return redact_url(self.database_url)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting (the data directory is created if missing)."""
    env = os.environ if environ is None else environ
    return Settings(database_url=database_url(env), data_dir=data_dir(env))


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The directory for changegate's own files, created on first use."""
    env = os.environ if environ is None else environ
    setting, path = _data_dir_choice(env)
    if path.exists() and not path.is_dir():
        raise SettingsError(f"{setting}={path} is not a directory: point it at a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SettingsError(
            f"{setting}={path} cannot be created ({error.strerror}): "
            f"set {ENV_HOME} to a writable directory"
        ) from error
    return path


def _data_dir_choice(env: Mapping[str, str]) -> tuple[str, Path]:
    home = env.get(ENV_HOME, "").strip()
    if home:
        return ENV_HOME, Path(home).expanduser().absolute()
    xdg = env.get(ENV_XDG_DATA_HOME, "").strip()
    if xdg and Path(xdg).is_absolute():  # the XDG spec says to ignore relative paths
        return ENV_XDG_DATA_HOME, Path(xdg) / "changegate"
    return "the default data directory", Path.home() / ".local" / "share" / "changegate"


def database_url(environ: Mapping[str, str] | None = None) -> str:
    """`CHANGEGATE_DATABASE_URL` (normalised), else the embedded SQLite file in the data dir."""
    env = os.environ if environ is None else environ
    configured = env.get(ENV_DATABASE_URL, "").strip()
    if configured:
        return normalise_database_url(configured, setting=ENV_DATABASE_URL)
    return f"sqlite:///{data_dir(env) / DATABASE_FILENAME}"


def normalise_database_url(url: str, *, setting: str | None = ENV_DATABASE_URL) -> str:
    """Accept `sqlite:`, `postgres://`, `postgresql://` and `postgresql+psycopg://` URLs.

    PostgreSQL URLs are rewritten to the psycopg 3 driver; anything else is refused with an
    error naming `setting` (None: a URL given directly) and the redacted value.
    """
    text = url.strip()
    named = f"{setting}={redact_url(text)}" if setting else f"database URL {redact_url(text)}"
    if text.startswith("sqlite:"):
        if not (text == "sqlite://" or text.startswith("sqlite:///")):
            raise SettingsError(
                f"{named} is not a valid SQLite URL: use sqlite:///relative/path.db or "
                "sqlite:////absolute/path.db"
            )
        return text
    for prefix in _POSTGRES_PREFIXES:
        if text.startswith(prefix):
            if not text[len(prefix) :]:
                raise SettingsError(f"{named} names no database: use {_SUPPORTED}")
            return "postgresql+psycopg://" + text[len(prefix) :]
    raise SettingsError(f"{named} is not supported: use {_SUPPORTED}")


_PASSWORD_PARAM = re.compile(r"(?i)((?:^|[?&;\s])password=)[^&;\s]*")


def redact_url(url: str) -> str:
    """The URL with any password replaced by `***` (in the user info and in query parameters).

    Works on malformed URLs too: when unsure where the password ends, it hides more, not less.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return _PASSWORD_PARAM.sub(r"\1***", url)
    query_at = rest.find("?")
    at = rest.rfind("@", 0, query_at if query_at >= 0 else len(rest))
    if at >= 0:
        user, colon, _password = rest[:at].partition(":")
        rest = f"{user}{':***' if colon else ''}{rest[at:]}"
    return scheme + sep + _PASSWORD_PARAM.sub(r"\1***", rest)


def redact_text(text: str, url: str) -> str:
    """`text` (e.g. a driver's error message) with the password of `url` replaced by `***`."""
    scheme, sep, rest = url.partition("://")
    if sep:
        query_at = rest.find("?")
        at = rest.rfind("@", 0, query_at if query_at >= 0 else len(rest))
        _user, colon, password = rest[:at].partition(":") if at >= 0 else ("", "", "")
        if colon and password:
            text = text.replace(password, "***")
    return text.replace(url, redact_url(url))
