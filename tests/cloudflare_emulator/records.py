"""The emulator's records (scripts, versions, deployments, request log) and their JSON shapes,
exactly as Cloudflare's API answers them (see /work/shared/reference/cloudflare.md §1)."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

AUTHOR_EMAIL = "ci@example.com"
AUTHOR_ID = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"


def iso(moment: dt.datetime) -> str:
    """Cloudflare's timestamp format: microseconds and a `Z`, e.g. 2026-11-24T05:51:43.154970Z."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str | dt.datetime) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    else:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp without a timezone: {value!r}")
    return moment.astimezone(dt.UTC)


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Version:
    id: str
    number: int
    created_on: dt.datetime
    source: str = "wrangler"
    annotations: dict[str, str] = field(default_factory=dict)
    main_module: str = "index.js"
    modules: dict[str, str] = field(default_factory=dict)  # module name -> text
    metadata: dict[str, Any] = field(default_factory=dict)  # the upload's `metadata` part
    compatibility_date: str = "2025-01-01"
    compatibility_flags: list[str] = field(default_factory=list)

    @property
    def etag(self) -> str:
        return hashlib.sha256(f"{self.id}:{sorted(self.modules.items())}".encode()).hexdigest()

    @property
    def message(self) -> str | None:
        return self.annotations.get("workers/message")

    @property
    def tag(self) -> str | None:
        return self.annotations.get("workers/tag")

    def bindings(self) -> list[dict[str, Any]]:
        """Bindings as the API lists them: secret values are never echoed."""
        out = []
        for binding in self.metadata.get("bindings") or []:
            shown = {k: v for k, v in binding.items() if not (binding.get("type") == "secret_text" and k == "text")}
            out.append(shown)
        return out

    def render(self, *, full: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "number": self.number,
            "metadata": {"created_on": iso(self.created_on), "modified_on": iso(self.created_on),
                         "source": self.source, "author_id": AUTHOR_ID, "author_email": AUTHOR_EMAIL,
                         "hasPreview": False},
            "annotations": dict(self.annotations),
        }
        if full:
            body["resources"] = {
                "bindings": self.bindings(),
                "script": {"etag": self.etag, "handlers": ["fetch"], "last_deployed_from": self.source},
                "script_runtime": {"compatibility_date": self.compatibility_date,
                                   "compatibility_flags": list(self.compatibility_flags),
                                   "usage_model": "standard", "limits": {}},
            }
        return body


@dataclass
class Deployment:
    id: str
    created_on: dt.datetime
    versions: list[tuple[str, float]]  # (version id, percentage)
    source: str = "wrangler"
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def message(self) -> str | None:
        return self.annotations.get("workers/message")

    def render(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_on": iso(self.created_on),
            "source": self.source,
            "strategy": "percentage",
            "author_email": AUTHOR_EMAIL,
            "annotations": dict(self.annotations),
            "versions": [{"version_id": vid, "percentage": _number(pct)} for vid, pct in self.versions],
        }


@dataclass
class Script:
    name: str
    tag: str
    created_on: dt.datetime
    modified_on: dt.datetime
    last_deployed_from: str = "wrangler"
    versions: list[Version] = field(default_factory=list)  # oldest first
    deployments: list[Deployment] = field(default_factory=list)  # oldest first
    settings: dict[str, Any] = field(default_factory=lambda: {
        "logpush": False, "tail_consumers": None, "observability": {"enabled": False}, "tags": []})
    subdomain: dict[str, bool] = field(default_factory=lambda: {"enabled": True, "previews_enabled": True})

    def version(self, version_id: str) -> Version | None:
        return next((v for v in self.versions if v.id == version_id), None)

    def current(self) -> Deployment | None:
        return self.deployments[-1] if self.deployments else None

    def render_script(self) -> dict[str, Any]:
        latest = self.versions[-1] if self.versions else None
        return {
            "id": self.name, "tag": self.tag, "tags": list(self.settings.get("tags") or []),
            "etag": latest.etag if latest else "", "handlers": ["fetch"],
            "created_on": iso(self.created_on), "modified_on": iso(self.modified_on),
            "usage_model": "standard", "compatibility_date": latest.compatibility_date if latest else None,
            "compatibility_flags": list(latest.compatibility_flags) if latest else [],
            "last_deployed_from": self.last_deployed_from, "migration_tag": None,
            "has_assets": False, "has_modules": True, "logpush": bool(self.settings.get("logpush")),
            "placement_mode": None,
        }

    def render_service(self) -> dict[str, Any]:
        return {
            "id": self.name, "created_on": iso(self.created_on), "modified_on": iso(self.modified_on),
            "default_environment": {"environment": "production", "created_on": iso(self.created_on),
                                    "modified_on": iso(self.modified_on), "script": self.render_script()},
            "environments": [{"environment": "production", "created_on": iso(self.created_on),
                              "modified_on": iso(self.modified_on)}],
        }


@dataclass
class Call:
    """One request the emulator received (after it answered)."""

    method: str
    path: str
    query: str
    status: int
    body: Any = None  # parsed JSON body (multipart uploads: the `metadata` part), else None
    user_agent: str = ""
    known: bool = True  # False: no emulated route matched (answered success:true, result:{})


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
