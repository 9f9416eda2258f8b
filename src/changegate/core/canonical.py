"""Canonical forms for hashing: JSON with sorted keys, UTC timestamps, SHA-256 hex. Pure."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def _jsonable(value: object) -> object:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable: {value!r}")


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text (not \\u escapes); NaN and infinity refused."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_jsonable,
    )


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds: the one spelling of a time that goes into a hash."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"timestamp {moment.isoformat()} must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
