"""One `changegate audit` run: new commits from git; older commits from the chunks stored by earlier
runs when nothing they depend on has changed, else audited again from git.

A stored chunk is reused when its PRs' evidence versions, its deployments, the seed and what newer
commits carry into it (their earliest production deployment) are all unchanged and it holds no
emergency (an emergency's obligations depend on the time of the audit). Its JSON lines are then
emitted as stored and its tally is added up, so a repeated audit does work in proportion to the new
commits and the chunks whose evidence changed, not to the length of the history.
"""

from __future__ import annotations

import datetime as dt
import queue
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from changegate.adapters.git_log import first_parent_commits
from changegate.adapters.policy_timeline import PolicyTimeline
from changegate.adapters.store.audit_cache import AuditCache, Chunk, Scope
from changegate.core.audit_model import Change, Commit
from changegate.errors import ChangegateError
from changegate.services.audit import Auditor
from changegate.services.audit_tally import Tally

CHUNK = 10_000
Walked = tuple[Commit, str, bool]  # a commit, its committer's email, whether it changed the policy file
Emit = Callable[[str, Change | None], None]  # a change's JSON line, and the Change when it was computed in this run


@dataclass
class Stats:
    new_commits: int = 0
    reused_commits: int = 0
    reaudited_commits: int = 0
    stored: bool = False
    invalid: dict[str, str] = field(default_factory=dict)  # policy blob -> warning, first met first

    @property
    def warnings(self) -> list[str]:
        return list(self.invalid.values())

    def met(self, invalid: dict[str, str]) -> None:
        for blob, text in invalid.items():
            self.invalid.setdefault(blob, text)

    def as_dict(self) -> dict[str, Any]:
        return {"new_commits": self.new_commits, "reused_commits": self.reused_commits, "reaudited_commits": self.reaudited_commits, "stored": self.stored}


class _Chunker:
    """Cuts the changes fed to the auditor into chunks, with what each was computed from."""

    def __init__(self, auditor: Auditor, timeline: PolicyTimeline, *, run: int, seq: int = 0, size: int | None = None) -> None:
        self._auditor, self._timeline, self._run, self._seq, self._size = auditor, timeline, run, seq, size or CHUNK
        self._start()

    def _start(self) -> None:
        self._context = self._auditor.context()
        self._known = set(self._timeline.invalid)
        self._shas: list[str] = []
        self._lines: list[str] = []
        self._prs: list[int | None] = []

    def add(self, change: Change, line: str) -> Chunk | None:
        self._shas.append(change.sha)
        self._lines.append(line)
        self._prs.append(change.pr)
        return self.cut() if len(self._shas) >= self._size else None

    def cut(self) -> Chunk | None:
        if not self._shas:
            return None
        tally, version = self._auditor.cut(), self._auditor.evidence_version
        prs: dict[str, list[int]] = {}  # evidence version -> the PRs that had it (most share "none" or "unfetched")
        for pr in set(self._prs):
            if pr is not None:
                prs.setdefault(version(pr), []).append(pr)
        meta = {"tally": tally.as_dict(), "context": self._context, "carried": self._auditor.carried, "seed": self._auditor.seed,
                "prs": prs, "emergency": bool(tally.kinds.get("emergency")),
                "deploys": self._auditor.deploy_signature(self._shas),
                "warnings": {blob: text for blob, text in self._timeline.invalid.items() if blob not in self._known}}  # invalid policies first met here
        chunk = Chunk(self._run, self._seq, self._shas, self._lines, meta)
        self._seq += 1
        self._start()
        return chunk


class _Writer:
    """Stores chunks from a thread of its own: compressing and inserting (both release the GIL) overlap the walk."""

    def __init__(self, cache: AuditCache | None, scope: Scope | None) -> None:
        self._cache, self._scope = cache, scope
        self._queue: queue.Queue[Chunk | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="audit-store", daemon=True) if cache is not None else None
        if self._thread is not None:
            self._thread.start()

    def _run(self) -> None:
        assert self._cache is not None and self._scope is not None
        while (chunk := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._cache.append(self._scope, chunk)
                except BaseException as error:  # noqa: BLE001 - handed to the walk's thread in close()
                    self._error = error

    def put(self, chunk: Chunk | None) -> None:
        if chunk is not None and self._thread is not None:
            self._queue.put(chunk)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error


def run_audit(repo: Path, *, branch: str, auditor: Auditor, emit: Emit, cache: AuditCache | None = None, scope: Scope | None = None,
              since: Any = None, until: Any = None, progress: Callable[[int], None] = lambda _n: None,
              read_ahead: Callable[[Iterator[Walked]], Iterator[Walked]] = lambda walk: walk) -> tuple[str, Stats]:
    """Audit the branch; returns the newest sha audited and what was reused. With a cache, the new chunks
    are stored as they are cut and rewritten chunks are kept for `AuditCache.publish`."""
    stats = Stats(stored=cache is not None)
    head = scope.head_sha if scope is not None else ""
    newest = head
    timeline = PolicyTimeline(repo)
    auditor.policy_at = timeline.policy_at
    chunker = _Chunker(auditor, timeline, run=scope.mine if scope else 0)
    writer = _Writer(cache, scope)
    try:
        for commit, committer, touched in read_ahead(first_parent_commits(repo, branch=branch, since=since, until=until, stop_at=head or None)):
            if not stats.new_commits:
                newest = commit.sha
            timeline.observe(commit, touched)
            change = auditor.feed(commit, committer)
            line = change.to_json()
            emit(line, change)
            writer.put(chunker.add(change, line))
            stats.new_commits += 1
            if stats.new_commits % 20000 == 0:
                progress(stats.new_commits)
        writer.put(chunker.cut())
    finally:
        writer.close()
    stats.met(timeline.invalid)
    if cache is None or scope is None or not head:
        return newest, stats
    for chunk in cache.chunks(scope):
        meta = chunk.meta
        if meta["context"] == auditor.context() and meta["seed"] == auditor.seed and not auditor.stale(chunk.shas, meta["prs"], emergency=meta["emergency"], deploys=meta["deploys"]):
            for line in chunk.lines:
                emit(line, None)
            auditor.reuse(Tally.from_dict(meta["tally"]), carried=meta["carried"])
            stats.met(meta["warnings"])
            stats.reused_commits += len(chunk.shas)
        else:
            cache.rewrite(scope, _reaudit(repo, chunk, auditor, emit, stats))
            stats.reaudited_commits += len(chunk.shas)
        progress(stats.new_commits + stats.reused_commits + stats.reaudited_commits)
    return newest, stats


def _reaudit(repo: Path, stored: Chunk, auditor: Auditor, emit: Emit, stats: Stats) -> Chunk:
    timeline = PolicyTimeline(repo)
    auditor.policy_at = timeline.policy_at
    chunker = _Chunker(auditor, timeline, run=stored.run, seq=stored.seq, size=len(stored.shas) + 1)
    walk = first_parent_commits(repo, branch=stored.shas[0])
    for expected, (commit, committer, touched) in zip(stored.shas, walk, strict=False):
        if commit.sha != expected:
            raise ChangegateError(f"the stored audit expected {expected[:12]} where git has {commit.sha[:12]}: run `changegate audit --full`")
        timeline.observe(commit, touched)
        change = auditor.feed(commit, committer)
        line = change.to_json()
        emit(line, change)
        chunker.add(change, line)
    del walk  # closes the generator: git is stopped
    stats.met(timeline.invalid)
    chunk = chunker.cut()
    if chunk is None or len(chunk.shas) != len(stored.shas):
        raise ChangegateError(f"the stored audit has {len(stored.shas)} commits from {stored.shas[0][:12]}, git fewer: run `changegate audit --full`")
    return chunk


def is_ancestor(repo: Path, sha: str, branch: str) -> bool:
    done = subprocess.run(["git", "merge-base", "--is-ancestor", sha, branch], cwd=repo, capture_output=True, check=False)
    return done.returncode == 0


def change_from_dict(data: dict[str, Any]) -> Change:
    """A stored change's JSON line back as a Change (for the reports that need the population)."""
    deployed = dt.datetime.fromisoformat(data["deployed_at"]) if data.get("deployed_at") else None
    lead = data.get("lead_time_seconds")
    return Change(sha=data["sha"], kind=data["kind"], pr=data["pr"], change_type=data["change_type"], committed_at=dt.datetime.fromisoformat(data["committed_at"]),
                  author=data["author"], subject=data["subject"], findings=list(data["findings"]), evidence=dict(data["evidence"]), emergency=data.get("emergency"),
                  deployments=list(data["deployments"]), first_commit_at=deployed - dt.timedelta(seconds=lead) if deployed is not None and lead is not None else None,
                  deployed_at=deployed, sources=list(data["sources"]), review=data.get("review"))
