"""The audit's extra joins: PR snapshots from the GitHub API for PRs the gate never recorded, and
Cloudflare's own deployment log against changegate's records.

PR evidence (`PullEvidence`): a recorded snapshot first, then one an earlier audit fetched (kept in
the store), then the API. The Auditor asks `snapshot_for(pr)` synchronously, commit by commit,
newest first. So that it rarely waits, `lookahead` reads the commit stream ahead of the Auditor
(at most `window` commits and `ahead` unconsumed fetches) and starts the fetch of every PR in that
window that has no evidence yet; `snapshot_for` then only waits for a fetch already under way. No
extra pass over the history; memory stays bounded by the window.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from changegate.core.audit_kinds import kind_of
from changegate.core.audit_model import Commit
from changegate.core.deploy_record import DeploymentRecord
from changegate.services.deploy_listing import join

RECORDED, FETCHED = "recorded snapshot", "GitHub API"
WINDOW = 5000  # commits read ahead of the Auditor at most
AHEAD = 64  # fetches started and not yet consumed at most (each holds one snapshot in memory)
EXAMPLES = 3
NOT_FOUND = "not_found"  # a stored answer "GitHub has no such PR" instead of a snapshot
Load = Callable[[int], Mapping[str, Any] | None]


@dataclass(frozen=True)
class Fetched:
    row_id: int  # of the stored copy: the PR's evidence version
    snapshot: dict[str, Any]


class PullEvidence:
    """`recorded` / `stored`: PR number -> newest row id of a recorded / an earlier fetched
    snapshot; `fetch(pr)` starts a fetch that stores what it got (None: no GitHub access, and
    `unavailable` says why)."""

    def __init__(self, *, recorded: dict[int, int], stored: dict[int, int], load_recorded: Load, load_stored: Load,
                 fetch: Callable[[int], Future[Fetched]] | None, unavailable: str = "", emergency_shas: frozenset[str] = frozenset()) -> None:
        self._recorded, self._stored = recorded, stored
        self._load_recorded, self._load_stored = load_recorded, load_stored
        self._fetch = fetch
        self.unavailable = unavailable
        self._emergency_shas = emergency_shas
        self._inflight: dict[int, Future[Fetched]] = {}
        self._last_failure: tuple[int, str] | None = None
        self.fetched = 0  # PRs fetched from the API in this run
        self.failed = 0
        self.failures: list[str] = []  # the first few, for the warning

    @property
    def can_fetch(self) -> bool:
        return self._fetch is not None

    def snapshot_for(self, pr: int) -> Mapping[str, Any] | None:
        if pr in self._recorded:
            return self._load_recorded(self._recorded[pr])
        if pr in self._stored:
            return self._absent(pr, self._load_stored(self._stored[pr]))
        future = self._inflight.pop(pr, None)
        if future is None:
            if self._fetch is None:
                return None
            future = self._fetch(pr)  # not prefetched (a caller without `lookahead`): fetch now
        try:
            fetched = future.result()
        except Exception as error:  # one PR's failure is that change's missing evidence
            self._failed(pr, str(error) or type(error).__name__)
            return None
        self._stored[pr] = fetched.row_id
        self.fetched += NOT_FOUND not in fetched.snapshot
        return self._absent(pr, fetched.snapshot)

    def _absent(self, pr: int, snapshot: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        """None, with the reason, when the stored answer is that GitHub has no such PR."""
        if snapshot is None or NOT_FOUND not in snapshot:
            return snapshot
        self._last_failure = (pr, f"GitHub has no pull request #{pr} (answered 404; remembered, not asked again): {snapshot[NOT_FOUND].get('message', '')}")
        return None

    def source_of(self, pr: int) -> str:
        """Where the PR's snapshot came from: "recorded snapshot" (the gate) or "GitHub API"."""
        return RECORDED if pr in self._recorded else FETCHED

    def missing_why(self, pr: int) -> str:
        """Why `snapshot_for(pr)` had nothing (asked right after it)."""
        if self._last_failure is not None and self._last_failure[0] == pr:
            return f"no recorded snapshot, and fetching it from the GitHub API failed: {self._last_failure[1]}"
        return "no recorded snapshot; not fetched from the GitHub API (see summary.evidence_warnings)"

    def evidence_version(self, pr: int) -> str:
        """A cheap key that changes when the PR's evidence can change: `recorded:<id>` (a newer
        verdict gets a new id), `api:<id>` (a fetched snapshot), `unfetched` (nothing yet; with
        GitHub access `snapshot_for` fetches it) or `none` (nothing, and no GitHub access). Only
        `recorded:*` and `api:*` name fixed evidence."""
        if pr in self._recorded:
            return f"recorded:{self._recorded[pr]}"
        if pr in self._stored:
            return f"api:{self._stored[pr]}"
        return "unfetched" if self._fetch is not None else "none"

    def prefetch(self, commit: Commit, committer: str) -> int | None:
        """Start fetching the PR `commit` names if it has no evidence yet; its number if started."""
        _kind, pr = kind_of(commit, committer_email=committer, emergency_shas=self._emergency_shas)
        if pr is None or self._fetch is None or pr in self._recorded or pr in self._stored or pr in self._inflight:
            return None
        self._inflight[pr] = self._fetch(pr)
        return pr

    def lookahead(self, commits: Iterable[tuple[Commit, str, bool]], *, window: int = WINDOW, ahead: int = AHEAD) -> Iterator[tuple[Commit, str, bool]]:
        """`commits`, unchanged and in order, read ahead so that fetches overlap the walk."""
        if self._fetch is None:
            yield from commits
            return
        source = iter(commits)
        buffer: deque[tuple[tuple[Commit, str, bool], int | None]] = deque()
        started = 0
        exhausted = False
        while True:
            while not exhausted and len(buffer) < window and started < ahead:
                item = next(source, None)
                if item is None:
                    exhausted = True
                    break
                pr = self.prefetch(item[0], item[1])
                started += pr is not None
                buffer.append((item, pr))
            if not buffer:
                return
            item, pr = buffer.popleft()
            yield item
            if pr is not None:
                started -= 1
                self._unclaimed(pr)

    def _unclaimed(self, pr: int) -> None:
        """The caller moved on without asking for `pr` (e.g. a cached change): drop the fetch, keep its row id."""
        future = self._inflight.pop(pr, None)
        if future is not None and future.done() and not future.cancelled() and future.exception() is None:
            self._stored[pr] = future.result().row_id

    def cancel(self) -> None:
        for future in self._inflight.values():
            future.cancel()
        self._inflight.clear()

    def _failed(self, pr: int, message: str) -> None:
        self._last_failure = (pr, message)
        self.failed += 1
        if len(self.failures) < EXAMPLES:
            self.failures.append(f"#{pr}: {message}")


def missing_warning(count: int, pulls: PullEvidence) -> str | None:
    """The one line the audit prints about changes whose PR had no evidence (None: there were none)."""
    if not count:
        return None
    text = f"{count} change(s) name a pull request with no usable evidence (NO_PR_EVIDENCE)"
    if not pulls.can_fetch:
        return f"{text}: no recorded snapshot, and {pulls.unavailable or 'the GitHub API was not asked'}"
    if pulls.failed:
        more = " ..." if pulls.failed > len(pulls.failures) else ""
        return f"{text}: the GitHub API fetch failed for {pulls.failed}: " + "; ".join(pulls.failures) + more
    return f"{text}: see each change's evidence"


def cloudflare_reconciliation(listings: list[tuple[str, str, list[dict[str, Any]]]], records: list[DeploymentRecord], *,
                              manual_rollbacks: Sequence[Mapping[str, Any]], since: dt.datetime | None, until: dt.datetime | None) -> tuple[list[dict[str, Any]], int, int]:
    """Cloudflare's deployments of each (service, production script) against changegate's records:
    (the unlinked ones, how many were listed, how many changegate explains). changegate's own
    deploys and rollbacks carry `changegate [rollback] dep-…` naming a record; a `changegate
    rollback` by hand is explained by its `deployment.manual_rollback` ledger event (script and
    version). Anything else (a dashboard edit, a manual `wrangler deploy`) is an UNLINKED_DEPLOY."""
    unlinked: list[dict[str, Any]] = []
    total = matched = 0
    rollbacks = [dict(event) for event in manual_rollbacks]
    for service, script, deployments in listings:
        inside = [d for d in deployments if _within(str(d.get("created_on", "")), since, until)]
        for row in join(inside, [r for r in records if r.service == service and r.environment == "production"]):
            total += 1
            if row["by_changegate"] or _manual_rollback(row, script, rollbacks):
                matched += 1
                continue
            unlinked.append({"id": row["id"], "service": service, "created_on": row["created_on"], "author_email": row["author_email"],
                             "source": row["source"], "message": row["message"], "versions": row["versions"], "origin": "cloudflare", "code": "UNLINKED_DEPLOY"})
    return unlinked, total, matched


def _manual_rollback(row: Mapping[str, Any], script: str, rollbacks: list[dict[str, Any]]) -> bool:
    if not str(row.get("message", "")).startswith("changegate rollback"):
        return False
    versions = [v["version_id"] for v in row.get("versions", []) if v.get("percentage") == 100]
    for event in rollbacks:
        if event.get("script") == script and event.get("version") in versions:
            rollbacks.remove(event)  # one event explains one deployment
            return True
    return False


def _within(created_on: str, since: dt.datetime | None, until: dt.datetime | None) -> bool:
    if since is None and until is None:
        return True
    try:
        moment = dt.datetime.fromisoformat(created_on)
    except ValueError:
        return True  # an unreadable time: keep it (fail closed: it may be unexplained)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return (since is None or moment >= since) and (until is None or moment <= until)
