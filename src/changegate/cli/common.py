"""Option parsing shared by the commands: instants, JSON input files, output formats."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from changegate.errors import ChangegateError


def parse_instant(value: str | None, *, option: str = "--at") -> dt.datetime:
    """An RFC 3339 instant with an offset; None means now (the CLI is where the clock is read)."""
    if value is None:
        return dt.datetime.now(dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise ChangegateError(f"{option} {value!r} is not an RFC 3339 time: use e.g. 2026-11-24T09:00:00+11:00 or 2026-11-23T22:00:00Z") from None
    if moment.tzinfo is None:
        raise ChangegateError(f"{option} {value!r} has no UTC offset: add Z or an offset such as +11:00")
    return moment


def read_json(path: str, *, what: str) -> Any:
    """Read a JSON document from FILE, or standard input for '-'."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text("utf-8")
    except FileNotFoundError:
        raise ChangegateError(f"{what} file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ChangegateError(f"cannot read {what} file {path}: {error}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        source = "<stdin>" if path == "-" else path
        raise ChangegateError(f"{source}:{error.lineno}:{error.colno}: {what} is not valid JSON: {error.msg}") from None
