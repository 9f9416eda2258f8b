"""The emulator's world: Workers (scripts), their versions and deployments, the knobs that make
the API refuse things, and the traffic model behind GraphQL analytics.

Thread-safe: every helper holds `lock`. Tests change the world only through these helpers.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .records import Call, Deployment, Script, Version, new_id, parse_time
from .traffic import TrafficModel

NOT_FOUND_SCRIPT = (10007, "This Worker does not exist on your account.")
NOT_FOUND_SERVICE = (10090, "workers.api.error.service_not_found")
DEPLOYABLE_VERSIONS = 100  # only the last 100 uploaded versions can be deployed


class ApiError(Exception):
    """An API refusal: HTTP `status`, Cloudflare error `code` and `message`."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{message} [code: {code}]")
        self.status, self.code, self.message = status, code, message


@dataclass
class Refusal:
    code: int
    message: str
    status: int = 400


class CloudflareState:
    def __init__(self, account_id: str = "acc", *, subdomain: str = "changegate-test") -> None:
        self.lock = threading.RLock()
        self.account_id = account_id
        self.workers_subdomain = subdomain
        self.clock_offset = dt.timedelta(0)
        self.scripts: dict[str, Script] = {}
        self.requests: list[Call] = []
        self.traffic = TrafficModel()
        self.changed_secrets: dict[tuple[str, str], list[str]] = {}
        self.refusals: dict[str, Refusal] = {}
        self._failures: list[tuple[int, str | None]] = []  # (status, path substring or None)

    # -- time and the request log -------------------------------------------------------------
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.clock_offset

    def advance(self, delta: dt.timedelta | float) -> None:
        """Move the emulator's clock forward (timestamps of new records, analytics "now")."""
        with self.lock:
            self.clock_offset += delta if isinstance(delta, dt.timedelta) else dt.timedelta(seconds=delta)

    def set_clock(self, moment: str | dt.datetime) -> None:
        """Make the emulator's clock read `moment` now (it keeps running from there). Set it
        before creating records: moving it backwards would put new records before old ones."""
        with self.lock:
            self.clock_offset = parse_time(moment) - dt.datetime.now(dt.UTC)

    def record(self, call: Call) -> None:
        with self.lock:
            self.requests.append(call)

    def calls(self, method: str | None = None, contains: str = "") -> list[Call]:
        """Logged requests, optionally only `method` ones whose path contains `contains`."""
        with self.lock:
            return [c for c in self.requests if (method is None or c.method == method) and contains in c.path]

    # -- scripts, versions, deployments ---------------------------------------------------------
    def add_script(self, name: str, *, last_deployed_from: str = "wrangler") -> Script:
        """Create a Worker (no versions yet) or return the existing one."""
        with self.lock:
            script = self.scripts.get(name)
            if script is None:
                now = self.now()
                script = self.scripts[name] = Script(name, new_id().replace("-", ""), now, now, last_deployed_from)
            return script

    def script(self, name: str, *, service: bool = False) -> Script:
        with self.lock:
            script = self.scripts.get(name)
            if script is None:
                code, message = NOT_FOUND_SERVICE if service else NOT_FOUND_SCRIPT
                raise ApiError(404, code, message)
            return script

    def add_version(self, script: str, *, message: str | None = None, tag: str | None = None,
                    source: str = "wrangler", modules: dict[str, str] | None = None, main_module: str = "index.js",
                    metadata: dict[str, Any] | None = None, triggered_by: str = "upload") -> str:
        """Upload a version (not deployed); creates the Worker if needed. Returns the version id."""
        with self.lock:
            record = self.add_script(script)
            metadata = dict(metadata or {})
            annotations = {"workers/triggered_by": triggered_by}
            annotations.update({k: str(v) for k, v in (metadata.get("annotations") or {}).items() if v is not None})
            if message is not None:
                annotations["workers/message"] = message
            if tag is not None:
                annotations["workers/tag"] = tag
            number = record.versions[-1].number + 1 if record.versions else 1
            source_text = modules or {main_module: f"export default {{ fetch() {{ return new Response('v{number}'); }} }};\n"}
            version = Version(new_id(), number, self.now(), source, annotations, metadata.get("main_module", main_module),
                              dict(source_text), metadata, metadata.get("compatibility_date") or "2025-01-01",
                              list(metadata.get("compatibility_flags") or []))
            record.versions.append(version)
            record.modified_on = version.created_on
            record.last_deployed_from = source
            return version.id

    def deploy(self, script: str, versions: Sequence[tuple[str, float]], *, message: str | None = None,
               source: str = "wrangler", force: bool = False, triggered_by: str = "deployment",
               extra_annotations: dict[str, str] | None = None) -> str:
        """Create a deployment exactly as POST .../deployments does (same validation, same knobs)."""
        with self.lock:
            record = self.script(script)
            self.check_deployment(record, versions, force=force)
            return self.append_deployment(record, versions, message=message, source=source,
                                          annotations={"workers/triggered_by": triggered_by, **(extra_annotations or {})})

    def append_deployment(self, script: Script, versions: Sequence[tuple[str, float]], *, message: str | None,
                          source: str, annotations: dict[str, str]) -> str:
        """Record a deployment without any checks (what a script upload with PUT does)."""
        with self.lock:
            annotations = dict(annotations)
            if message is not None:
                annotations["workers/message"] = message
            deployment = Deployment(new_id(), self.now(), [(vid, float(pct)) for vid, pct in versions], source, annotations)
            script.deployments.append(deployment)
            script.modified_on = deployment.created_on
            return deployment.id

    def check_deployment(self, script: Script, versions: Sequence[tuple[str, float]], *, force: bool) -> None:
        refusal = self.refusals.get(script.name)
        if refusal is not None:
            raise ApiError(refusal.status, refusal.code, refusal.message)
        if not 1 <= len(versions) <= 2:
            raise ApiError(400, 10001, f"a deployment needs 1 or 2 versions, got {len(versions)}")
        if len({vid for vid, _ in versions}) != len(versions):
            raise ApiError(400, 10001, "each version may appear only once in a deployment")
        for vid, pct in versions:
            if not isinstance(pct, int | float) or isinstance(pct, bool) or not 0.01 <= pct <= 100:
                raise ApiError(400, 10001, f"percentage of version {vid} must be between 0.01 and 100, got {pct!r}")
        if abs(sum(pct for _, pct in versions) - 100) > 1e-9:
            raise ApiError(400, 10001, "version percentages must add up to 100")
        deployable = {v.id for v in script.versions[-DEPLOYABLE_VERSIONS:]}
        for vid, _ in versions:
            if script.version(vid) is None:
                raise ApiError(404, 10239, f"version {vid} not found for Worker {script.name}")
            if vid not in deployable:
                raise ApiError(400, 10240, f"version {vid} is not among the last {DEPLOYABLE_VERSIONS} versions and cannot be deployed")
        if not force:
            for vid, _ in versions:
                names = self.changed_secrets.get((script.name, vid))
                if names:
                    raise ApiError(400, 10220, "The following secrets have changed: " + ", ".join(names))

    def current(self, script: str) -> Deployment | None:
        """The deployment serving traffic now (None: never deployed)."""
        with self.lock:
            return self.script(script).current()

    def deployments(self, script: str) -> list[Deployment]:
        """Deployments, newest first (as the API lists them)."""
        with self.lock:
            return list(reversed(self.script(script).deployments))

    def versions(self, script: str) -> list[Version]:
        """Versions, newest first (as the API lists them)."""
        with self.lock:
            return list(reversed(self.script(script).versions))

    def version(self, script: str, version_id: str) -> Version:
        with self.lock:
            version = self.script(script).version(version_id)
            if version is None:
                raise ApiError(404, 10239, f"version {version_id} not found for Worker {script}")
            return version

    # -- knobs --------------------------------------------------------------------------------
    def secrets_changed(self, script: str, version_id: str, names: Iterable[str]) -> None:
        """Deploying `version_id` without `?force=true` now answers 10220 naming `names`."""
        with self.lock:
            self.changed_secrets[(script, version_id)] = list(names)

    def refuse_deployments(self, script: str, *, code: int = 10215, status: int = 400,
                           message: str = "Cannot deploy: a Durable Object migration happened after this version") -> None:
        """Every POST .../deployments for `script` fails (even with force) until `allow_deployments`."""
        with self.lock:
            self.refusals[script] = Refusal(code, message, status)

    def allow_deployments(self, script: str) -> None:
        with self.lock:
            self.refusals.pop(script, None)

    def fail_next(self, count: int = 1, *, status: int = 500, path: str | None = None) -> None:
        """The next `count` requests (whose path contains `path`; None: any) answer a 5xx error."""
        with self.lock:
            self._failures.extend([(status, path)] * count)

    def take_failure(self, path: str) -> int | None:
        with self.lock:
            for index, (status, wanted) in enumerate(self._failures):
                if wanted is None or wanted in path:
                    del self._failures[index]
                    return status
            return None

    # -- traffic --------------------------------------------------------------------------------
    def set_traffic(self, script: str, *, requests_per_minute: float, error_rate: float,
                    version: str | None = None, start: str | dt.datetime | None = None) -> None:
        """From `start` (default: now) on, `script` gets this traffic. version=None: the whole
        Worker, split over the versions of whatever deployment is current at each moment;
        version=id: that version's own traffic, replacing its share of the script-wide traffic."""
        with self.lock:
            moment = self.now() if start is None else parse_time(start)
            self.traffic.set(script, version, moment, requests_per_minute, error_rate)

    def traffic_rows(self, script: str, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        with self.lock:
            record = self.scripts.get(script)
            history = [(d.created_on, d.versions) for d in record.deployments] if record else []
            return self.traffic.rows(script, start, min(end, self.now()), history)
