"""Structured logs: one JSON object per line, through the standard logging module.

Fields passed with `extra=` become keys of the object. Nothing secret is ever logged by
changegate's web code (it logs delivery ids, events and outcomes, never headers or bodies);
as a second line of defence the formatter drops any field whose name looks secret
(`signature`, `token`, `secret`, `authorization`, `password`, `cookie`) and replaces every
registered secret value (`JsonFormatter.redact`) wherever it appears.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}
_SECRET_NAME = re.compile(r"(?i)signature|token|secret|authorization|password|cookie")
REDACTED = "[redacted]"


class JsonFormatter(logging.Formatter):
    """Formats a record as a JSON line: time, level, logger, message, extra fields, exception."""

    def __init__(self, *, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def redact(self, *secrets: str) -> None:
        """Never print these values (e.g. the webhook secret), in any field."""
        self._secrets += tuple(s for s in secrets if s)

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key in _STANDARD or key.startswith("_"):
                continue
            entry[key] = REDACTED if _SECRET_NAME.search(key) else value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        line = json.dumps(entry, default=str, ensure_ascii=False)
        for secret in self._secrets:  # as it appears inside a JSON string
            line = line.replace(json.dumps(secret, ensure_ascii=False)[1:-1], REDACTED)
        return line


def configure_logging(*, level: int = logging.INFO, secrets: tuple[str, ...] = ()) -> JsonFormatter:
    """Send changegate's and uvicorn's logs to stderr as JSON lines (replacing their handlers)."""
    formatter = JsonFormatter(secrets=secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        named = logging.getLogger(name)
        named.handlers.clear()
        named.propagate = True
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))  # its per-step chatter
    return formatter
