"""Wiring for the audit's extra joins: PR snapshots from the GitHub API (fetched on a background
event loop, at most CONCURRENCY PRs at a time, each kept in the store) and Cloudflare's deployment
log. Credentials come only from the environment (the variables the rest of changegate reads);
without them the audit runs and says, once, what it could not join."""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import threading
import time
from collections.abc import Coroutine, Iterable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import IO, Any, TypeVar

from changegate.adapters.cloudflare import CloudflareAPIError, CloudflareClient
from changegate.adapters.git_log import file_at
from changegate.adapters.github.client import GitHubClient
from changegate.adapters.github.errors import GitHubError, RateLimitError
from changegate.adapters.github.factory import github_from_settings
from changegate.adapters.policy_timeline import default_policy
from changegate.adapters.store.audit_snapshots import AuditSnapshotStore, manual_rollbacks
from changegate.adapters.store.emergencies import EmergencyStore
from changegate.adapters.store.sql import SqlStore
from changegate.core.audit_model import Commit
from changegate.core.policy import Policy
from changegate.errors import ChangegateError
from changegate.policy_source import (
    POLICY_LOCATIONS,
    parse_policy_text,
)
from changegate.services.audit import Evidence
from changegate.services.audit_sources import (
    NOT_FOUND,
    Fetched,
    PullEvidence,
    cloudflare_reconciliation,
    missing_warning,
)
from changegate.services.snapshots import SnapshotSource
from changegate.settings import GitHubSettings, SettingsError, cloudflare_settings, github_settings
from changegate.wiring import utc_now

# GitHub asks for serial requests; its primary limit (5,000 requests an hour for a token, about 1.4 a
# second) bounds throughput anyway. A few PRs at a time hide latency without tripping secondary limits.
CONCURRENCY = 4
T = TypeVar("T")


class Progress:
    """One line on stderr, rewritten in place, only when stderr is a terminal."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._last = 0.0
        self._shown = False

    def __call__(self, text: str) -> None:
        now = time.monotonic()
        if self._tty and now - self._last >= 0.2:
            self._stream.write(f"\r{text[:150]:<150}")
            self._stream.flush()
            self._last, self._shown = now, True

    def end(self) -> None:
        if self._shown:
            self._stream.write("\n")
            self._shown = False


class ApiFetcher:
    """Fetches PR snapshots with `SnapshotSource` on its own event loop thread and stores each one.
    A rate limit GitHub will not lift soon, or refused credentials, stop further fetches (they fail
    at once, naming the cause); the client itself waits out short rate limits and retries."""

    def __init__(self, settings: GitHubSettings, *, repository: str, snapshots: AuditSnapshotStore, emergencies: EmergencyStore, progress: Progress) -> None:
        self._repository = repository
        self._snapshots = snapshots
        self._progress = progress
        self._stopped: str | None = None
        self.done = self.failed = 0
        self._access = bool(snapshots.fetched_index(repository))  # a PR of this repository was fetched before: a 404 means "no such PR"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="changegate-audit-github", daemon=True)
        self._thread.start()
        self._client: GitHubClient = self._run(self._open(settings))
        self._source = SnapshotSource(self._client, clock=utc_now, emergencies=emergencies)
        self._slots = asyncio.Semaphore(CONCURRENCY)

    async def _open(self, settings: GitHubSettings) -> GitHubClient:
        return github_from_settings(settings, repo=self._repository)

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def fetch(self, pr: int) -> Future[Fetched]:
        return asyncio.run_coroutine_threadsafe(self._fetch(pr), self._loop)

    async def _fetch(self, pr: int) -> Fetched:
        async with self._slots:
            try:
                return await self._fetch_one(pr)
            finally:
                self._source.forget_pull(self._repository, pr)  # fetched once per audit: keep memory flat
                self._show()

    async def _fetch_one(self, pr: int) -> Fetched:
        if self._stopped is not None:
            self.failed += 1
            raise ChangegateError(f"not fetched: {self._stopped}")
        try:
            document, _base = await self._source.snapshot(self._repository, pr)
        except Exception as error:
            if isinstance(error, GitHubError) and error.status == 404 and (self._access or self.done):
                # GitHub has no such PR (access is proven by another fetch): remembered, so later audits do not ask again
                gone = {NOT_FOUND: {"status": 404, "message": str(error)}}
                return Fetched(self._snapshots.save(repository=self._repository, pr_number=pr, snapshot=gone, fetched_at=utc_now()), gone)
            self.failed += 1
            if isinstance(error, RateLimitError) or (isinstance(error, GitHubError) and error.status in (401, 403)):
                self._stopped = f"the GitHub API join stopped after #{pr}: {error}"
            raise
        row_id = self._snapshots.save(repository=self._repository, pr_number=pr, snapshot=document, fetched_at=utc_now())
        self.done += 1
        return Fetched(row_id, document)

    def _show(self) -> None:
        remaining = self._client.rate_limit_remaining
        self._progress(f"GitHub API: {self.done} PR snapshot(s) fetched, {self.failed} failed"
                       + (f"; rate limit remaining {remaining:,}" if remaining is not None else ""))

    async def _shutdown(self) -> None:
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._client.aclose()

    def close(self) -> None:
        try:
            self._run(self._shutdown())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()


class AuditJoins:
    """What `changegate audit` joins beyond `evidence_from`: use `commits` around the walk, then
    `finish(summary)` (the warnings, printed once) and `close`."""

    def __init__(self, pulls: PullEvidence, fetcher: ApiFetcher | None, warnings: list[str], progress: Progress) -> None:
        self.pulls = pulls  # pulls.evidence_version(pr): the key for incremental audits
        self._fetcher = fetcher
        self._warnings = warnings
        self._progress = progress

    def commits(self, commits: Iterable[tuple[Commit, str, bool]]) -> Iterator[tuple[Commit, str, bool]]:
        return self.pulls.lookahead(commits)

    def finish(self, summary: dict[str, Any], *, stream: IO[str] | None = None) -> list[str]:
        self._progress.end()
        warnings = list(self._warnings)
        line = missing_warning(int(summary.get("findings", {}).get("NO_PR_EVIDENCE", 0)), self.pulls)
        if line:
            warnings.append(line)
        out = stream or sys.stderr
        if self.pulls.fetched:
            out.write(f"changegate audit: {self.pulls.fetched} PR snapshot(s) fetched from the GitHub API and kept for the next audit\n")
        for warning in warnings:
            out.write(f"warning: {warning}\n")
        return warnings

    def close(self) -> None:
        self.pulls.cancel()
        try:
            if self._fetcher is not None:
                self._fetcher.close()
        finally:
            self._progress.end()


def open_joins(store: SqlStore, evidence: Evidence, *, repo: Path, branch: str, repository: str | None, services: tuple[str, ...],
               since: dt.datetime | None, until: dt.datetime | None) -> AuditJoins:
    """Extend `evidence` with PR snapshots (recorded, stored, or fetched from the GitHub API) and,
    for `services`, Cloudflare's deployment log; returns the joins to wrap the walk with (the caller
    keeps `store` open until `AuditJoins.close`)."""
    progress = Progress(sys.stderr)
    fetcher: ApiFetcher | None = None
    try:
        snapshots = AuditSnapshotStore(store.engine)
        fetcher, why = _fetcher(store, snapshots, repository, progress)
        pulls = PullEvidence(recorded=snapshots.recorded_index(repository), stored=snapshots.fetched_index(repository) if repository else {},
                             load_recorded=snapshots.load_recorded, load_stored=snapshots.load_fetched, fetch=fetcher.fetch if fetcher else None,
                             unavailable=why, emergency_shas=frozenset(evidence.emergencies))
        evidence.snapshot_for, evidence.source_of, evidence.missing_why = pulls.snapshot_for, pulls.source_of, pulls.missing_why
        evidence.snapshot_version = pulls.evidence_version
        warnings: list[str] = []
        if services:
            evidence.external = _cloudflare(store, evidence, _policy_at(repo, branch, warnings), services, since=since, until=until, warnings=warnings)
    except BaseException:
        if fetcher is not None:
            fetcher.close()
        raise
    return AuditJoins(pulls, fetcher, warnings, progress)


def _fetcher(store: SqlStore, snapshots: AuditSnapshotStore, repository: str | None, progress: Progress) -> tuple[ApiFetcher | None, str]:
    if not repository:
        return None, "no repository to fetch it from (give --github OWNER/REPO, or set GITHUB_REPOSITORY)"
    try:
        settings = github_settings()
    except SettingsError as error:
        return None, f"it was not fetched from the GitHub API: {error}"
    return ApiFetcher(settings, repository=repository, snapshots=snapshots, emergencies=EmergencyStore(store.engine), progress=progress), ""


def _policy_at(repo: Path, branch: str, warnings: list[str]) -> Policy | None:
    """The policy at the tip of `branch` (its `services` name the Worker scripts)."""
    for path in POLICY_LOCATIONS:
        text = file_at(repo, branch, path)
        if text is not None:
            try:
                return parse_policy_text(text, source=f"{branch}:{path}").policy
            except ChangegateError as error:
                warnings.append(f"the policy at {branch} is invalid, so its services (and their Worker scripts) are unknown: {error}")
                return None
    return default_policy()


def _cloudflare(store: SqlStore, evidence: Evidence, policy: Policy | None, services: tuple[str, ...], *, since: dt.datetime | None,
                until: dt.datetime | None, warnings: list[str]) -> dict[str, Any]:
    counts: dict[str, Any] = {"cloudflare_deployments_total": None, "cloudflare_deployments_matched": None}
    try:
        settings = cloudflare_settings()
    except SettingsError as error:
        warnings.append(f"Cloudflare's deployment log was not joined, so deployments made outside changegate are unknown: {error}")
        return counts
    listings = []
    with CloudflareClient(settings) as client:
        for name in services:
            service = policy.service(name) if policy else None
            script = service.scripts.get("production") if service else None
            if not script:
                warnings.append(f"service {name!r} has no production Worker script in the policy at the branch tip (services[].scripts.production): its Cloudflare deployment log was not joined")
                continue
            try:
                listings.append((name, script, client.list_deployments(script)))
            except CloudflareAPIError as error:
                warnings.append(f"Cloudflare's deployment log of {name} ({script}) could not be read, so deployments made outside changegate are unknown: {error}")
    if not listings:
        return counts
    unlinked, total, matched = cloudflare_reconciliation(listings, evidence.deployments, manual_rollbacks=manual_rollbacks(store.engine), since=since, until=until)
    return {"unlinked_deployments": unlinked, "cloudflare_deployments_total": total, "cloudflare_deployments_matched": matched}
