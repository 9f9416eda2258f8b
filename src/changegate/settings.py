"""Typed settings read from the environment, and the one place database URLs are normalised.

`CHANGEGATE_DATABASE_URL` chooses the database. Unset (or empty), changegate uses an embedded
SQLite file in its data directory: `$CHANGEGATE_HOME`, else `$XDG_DATA_HOME/changegate`, else
`~/.local/share/changegate`, created on first use. Never print a URL without `redact_url`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

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


# -- GitHub ---------------------------------------------------------------------------------------

ENV_GITHUB_API_URL = "CHANGEGATE_GITHUB_API_URL"
ENV_GITHUB_TOKEN = "CHANGEGATE_GITHUB_TOKEN"
ENV_GITHUB_TOKEN_FALLBACK = "GITHUB_TOKEN"
ENV_GITHUB_APP_ID = "CHANGEGATE_GITHUB_APP_ID"
ENV_GITHUB_PRIVATE_KEY = "CHANGEGATE_GITHUB_PRIVATE_KEY"
ENV_GITHUB_PRIVATE_KEY_PATH = "CHANGEGATE_GITHUB_PRIVATE_KEY_PATH"
ENV_GITHUB_INSTALLATION_ID = "CHANGEGATE_GITHUB_INSTALLATION_ID"
ENV_GITHUB_MAX_RATE_LIMIT_WAIT = "CHANGEGATE_GITHUB_MAX_RATE_LIMIT_WAIT"
DEFAULT_GITHUB_API_URL = "https://api.github.com"
DEFAULT_GITHUB_MAX_RATE_LIMIT_WAIT = 60.0


@dataclass(frozen=True)
class GitHubSettings:
    """How to reach GitHub: a token, or a GitHub App (its id and private key). Secrets never
    appear in the repr."""

    api_url: str = DEFAULT_GITHUB_API_URL
    token: str | None = field(default=None, repr=False)
    app_id: str | None = None
    private_key: str | None = field(default=None, repr=False)
    installation_id: int | None = None
    max_rate_limit_wait: float = DEFAULT_GITHUB_MAX_RATE_LIMIT_WAIT

    @property
    def auth_kind(self) -> str:
        return "app" if self.app_id else "token"


def github_settings(environ: Mapping[str, str] | None = None) -> GitHubSettings:
    """Read the GitHub settings; errors name the missing or invalid variable (never its value
    when it is a secret)."""
    env = os.environ if environ is None else environ
    app_id = env.get(ENV_GITHUB_APP_ID, "").strip() or None
    token = env.get(ENV_GITHUB_TOKEN, "").strip() or None
    if app_id and token:
        raise SettingsError(
            f"both {ENV_GITHUB_TOKEN} and {ENV_GITHUB_APP_ID} are set: unset one of them "
            "(a token, or a GitHub App with its private key)"
        )
    if not app_id:
        token = token or env.get(ENV_GITHUB_TOKEN_FALLBACK, "").strip() or None
    if not (app_id or token):
        raise SettingsError(
            f"no GitHub credentials: set {ENV_GITHUB_TOKEN} (or {ENV_GITHUB_TOKEN_FALLBACK}) to a "
            f"token, or {ENV_GITHUB_APP_ID} and {ENV_GITHUB_PRIVATE_KEY} (or "
            f"{ENV_GITHUB_PRIVATE_KEY_PATH}) for a GitHub App"
        )
    return GitHubSettings(
        api_url=github_api_url(env),
        token=None if app_id else token,
        app_id=app_id,
        private_key=github_private_key(env) if app_id else None,
        installation_id=_github_installation_id(env),
        max_rate_limit_wait=_github_max_wait(env),
    )


def github_api_url(environ: Mapping[str, str] | None = None) -> str:
    """`CHANGEGATE_GITHUB_API_URL` without a trailing slash (GitHub Enterprise Server:
    https://HOST/api/v3), else https://api.github.com."""
    env = os.environ if environ is None else environ
    url = env.get(ENV_GITHUB_API_URL, "").strip().rstrip("/")
    if not url:
        return DEFAULT_GITHUB_API_URL
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise SettingsError(
            f"{ENV_GITHUB_API_URL}={redact_url(url)} is not an http(s) URL: use "
            f"{DEFAULT_GITHUB_API_URL} or https://HOST/api/v3 for GitHub Enterprise Server"
        )
    return url


def github_private_key(environ: Mapping[str, str] | None = None) -> str:
    """The App's PEM private key: `CHANGEGATE_GITHUB_PRIVATE_KEY` (PEM text; `\\n` escapes are
    accepted) or the file named by `CHANGEGATE_GITHUB_PRIVATE_KEY_PATH`."""
    env = os.environ if environ is None else environ
    text = env.get(ENV_GITHUB_PRIVATE_KEY, "").strip()
    setting = ENV_GITHUB_PRIVATE_KEY
    if not text:
        path_text = env.get(ENV_GITHUB_PRIVATE_KEY_PATH, "").strip()
        if not path_text:
            raise SettingsError(
                f"{ENV_GITHUB_APP_ID} is set but the App's private key is missing: set "
                f"{ENV_GITHUB_PRIVATE_KEY} to the PEM text or {ENV_GITHUB_PRIVATE_KEY_PATH} to its file"
            )
        setting = f"{ENV_GITHUB_PRIVATE_KEY_PATH}={path_text}"
        try:
            text = Path(path_text).expanduser().read_text("utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise SettingsError(f"{setting} cannot be read ({reason}): point it at the App's .pem file") from error
    if "\n" not in text:
        text = text.replace("\\n", "\n")
    if not (text.startswith("-----BEGIN") and "PRIVATE KEY-----" in text):
        raise SettingsError(
            f"{setting} does not hold a PEM private key (expected '-----BEGIN RSA PRIVATE KEY-----'): "
            "use the .pem file GitHub generated for the App"
        )
    return text + "\n"


def _github_installation_id(env: Mapping[str, str]) -> int | None:
    text = env.get(ENV_GITHUB_INSTALLATION_ID, "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise SettingsError(f"{ENV_GITHUB_INSTALLATION_ID}={text} is not a number: use the App installation's numeric id, or unset it to look it up")
    return int(text)


def _github_max_wait(env: Mapping[str, str]) -> float:
    text = env.get(ENV_GITHUB_MAX_RATE_LIMIT_WAIT, "").strip()
    if not text:
        return DEFAULT_GITHUB_MAX_RATE_LIMIT_WAIT
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise SettingsError(f"{ENV_GITHUB_MAX_RATE_LIMIT_WAIT}={text} is not a number of seconds >= 0: e.g. 60")
    return seconds


# -- Cloudflare and Slack -------------------------------------------------------------------------

ENV_CLOUDFLARE_API_TOKEN = "CLOUDFLARE_API_TOKEN"
ENV_CLOUDFLARE_ACCOUNT_ID = "CLOUDFLARE_ACCOUNT_ID"
ENV_CLOUDFLARE_API_BASE_URL = "CLOUDFLARE_API_BASE_URL"
ENV_WRANGLER = "CHANGEGATE_WRANGLER"  # the wrangler binary (what scripts/install-wrangler prints)
ENV_SLACK_WEBHOOK_URL = "CHANGEGATE_SLACK_WEBHOOK_URL"
DEFAULT_CLOUDFLARE_API_BASE_URL = "https://api.cloudflare.com/client/v4"


@dataclass(frozen=True)
class CloudflareSettings:
    """wrangler's own variables, so one set serves both. The token is not in the repr."""

    account_id: str
    token: str = field(repr=False)
    api_base_url: str = DEFAULT_CLOUDFLARE_API_BASE_URL


def cloudflare_settings(environ: Mapping[str, str] | None = None) -> CloudflareSettings:
    """CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_BASE_URL (default the
    public API; no trailing slash). Errors name the missing variables, never a value."""
    env = os.environ if environ is None else environ
    token, account_id = env.get(ENV_CLOUDFLARE_API_TOKEN, "").strip(), env.get(ENV_CLOUDFLARE_ACCOUNT_ID, "").strip()
    missing = [name for name, value in ((ENV_CLOUDFLARE_API_TOKEN, token), (ENV_CLOUDFLARE_ACCOUNT_ID, account_id)) if not value]
    if missing:
        raise SettingsError(f"{' and '.join(missing)} not set: set {ENV_CLOUDFLARE_API_TOKEN} to an API token with Workers Scripts: Edit "
                            f"and Account Analytics: Read, and {ENV_CLOUDFLARE_ACCOUNT_ID} to the account id")
    url = env.get(ENV_CLOUDFLARE_API_BASE_URL, "").strip().rstrip("/") or DEFAULT_CLOUDFLARE_API_BASE_URL
    if urlsplit(url).scheme not in ("https", "http") or not urlsplit(url).netloc:
        raise SettingsError(f"{ENV_CLOUDFLARE_API_BASE_URL}={redact_url(url)} is not an http(s) URL: use {DEFAULT_CLOUDFLARE_API_BASE_URL} or unset it")
    return CloudflareSettings(account_id=account_id, token=token, api_base_url=url)


def slack_webhook_url(environ: Mapping[str, str] | None = None) -> str | None:
    """CHANGEGATE_SLACK_WEBHOOK_URL (a secret: never print it), or None when unset."""
    url = (os.environ if environ is None else environ).get(ENV_SLACK_WEBHOOK_URL, "").strip()
    if url and (urlsplit(url).scheme not in ("https", "http") or not urlsplit(url).netloc):
        raise SettingsError(f"{ENV_SLACK_WEBHOOK_URL} is not an http(s) URL: use the incoming-webhook URL Slack gave you (https://hooks.slack.com/services/...)")
    return url or None
