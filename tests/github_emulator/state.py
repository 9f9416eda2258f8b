"""The emulator's world: repositories, pull requests, reviews, checks, statuses, teams, apps.

Plain records guarded by one lock; the server reads them, tests change them through the
helpers below (never by poking the records from another thread without `state.lock`).
Rendering records as GitHub JSON lives in render.py.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections import Counter
from collections.abc import Iterable
from typing import Any

from .records import (
    Call,
    CheckRun,
    Commit,
    FileSpec,
    Installation,
    IssuedToken,
    PullRequest,
    Repo,
    Review,
    Status,
    git_sha,
    utc,
)


class GitHubState:
    """Everything the emulator knows. Thread-safe: every helper holds `lock`."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._ids = itertools.count(1000)
        self.clock_offset = dt.timedelta(0)
        self.repos: dict[str, Repo] = {}
        self.pulls: dict[tuple[str, int], PullRequest] = {}
        self.reviews: list[Review] = []
        self.check_runs: dict[int, CheckRun] = {}
        self.statuses: list[Status] = []
        self.teams: dict[str, list[str]] = {}
        self.installations: dict[int, Installation] = {}
        self.tokens: dict[str, IssuedToken] = {}
        self.protection_rule_reviews: list[dict[str, Any]] = []
        self.requests: list[Call] = []

    # -- time, ids, request log -------------------------------------------------------------
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC).replace(microsecond=0) + self.clock_offset

    def advance(self, delta: dt.timedelta | float) -> None:
        """Move the emulator's clock (token expiry, default timestamps) forward."""
        with self.lock:
            self.clock_offset += delta if isinstance(delta, dt.timedelta) else dt.timedelta(seconds=delta)

    def next_id(self) -> int:
        with self.lock:
            return next(self._ids)

    @property
    def calls(self) -> int:
        with self.lock:
            return len(self.requests)

    def path_counts(self) -> Counter[str]:
        with self.lock:
            return Counter(call.path for call in self.requests)

    def record(self, call: Call) -> None:
        with self.lock:
            self.requests.append(call)

    # -- repositories and files -------------------------------------------------------------
    def add_repo(self, full_name: str, *, default_branch: str = "main", private: bool = False,
                 installation_id: int | None = None) -> Repo:
        """Create a repository (or update an existing one's settings) with its default branch."""
        with self.lock:
            repo = self.repos.get(full_name)
            if repo is None:
                owner, name = full_name.split("/")
                repo = self.repos[full_name] = Repo(owner, name, self.next_id())
            repo.default_branch, repo.private = default_branch, private
            repo.installation_id = installation_id or repo.installation_id
            repo.branches.setdefault(default_branch, git_sha(full_name, default_branch, "root"))
            repo.files.setdefault(default_branch, {})
            return repo

    def set_branch(self, repo: str, branch: str, sha: str | None = None) -> str:
        """Point a branch at `sha` (default: a new sha); returns the sha."""
        with self.lock:
            record = self.repo(repo)
            record.branches[branch] = sha or git_sha(repo, branch, self.next_id())
            return record.branches[branch]

    def repo(self, full_name: str) -> Repo:
        with self.lock:
            return self.repos.get(full_name) or self.add_repo(full_name)

    def set_file(self, repo: str, path: str, content: str | bytes | None, *, ref: str | None = None) -> None:
        """Put (or with None remove) a file on a branch (default branch) or at a commit sha."""
        with self.lock:
            record = self.repo(repo)
            tree = record.files.setdefault(ref or record.default_branch, {})
            if content is None:
                tree.pop(path.strip("/"), None)
            else:
                tree[path.strip("/")] = content.encode() if isinstance(content, str) else content

    def file(self, repo: str, path: str, *, ref: str | None = None) -> bytes | None:
        with self.lock:
            record = self.repos.get(repo)
            if record is None:
                return None
            ref = ref or record.default_branch
            for name, sha in record.branches.items():
                if sha == ref and ref not in record.files:
                    ref = name
            return record.files.get(ref, {}).get(path.strip("/"))

    # -- pull requests -----------------------------------------------------------------------
    def open_pull(self, repo: str, *, number: int | None = None, title: str = "Amazing new feature",
                  body: str | None = "Please pull these awesome changes in!", author: str = "octocat",
                  base: str | None = None, head: str | None = None, files: Iterable[FileSpec] = ("README.md",),
                  commits: int = 1, draft: bool = False, labels: Iterable[str] = (),
                  created_at: str | dt.datetime | None = None) -> PullRequest:
        with self.lock:
            record = self.repo(repo)
            number = number or 1 + max((n for (r, n) in self.pulls if r == repo), default=0)
            when = utc(created_at, self.now())
            base = base or record.default_branch
            base_sha = record.branches.setdefault(base, git_sha(repo, base, "root"))
            pull = PullRequest(repo, number, self.next_id(), title, body, author, base, head or f"feature-{number}",
                               base_sha, base_sha, when, when, draft, list(labels))
            self.pulls[(repo, number)] = pull
            for index in range(commits):
                self._add_commit(pull, f"Commit {index + 1} of #{number}", author, when)
            pull.files = [self._file_entry(pull, spec) for spec in files]
            return pull

    def pull(self, repo: str, number: int) -> PullRequest:
        with self.lock:
            return self.pulls[(repo, number)]

    def push(self, repo: str, number: int, *, files: Iterable[FileSpec] | None = None,
             message: str = "Update", author: str | None = None, when: str | dt.datetime | None = None) -> str:
        """A new commit on the PR's head branch; `files` (if given) replaces the PR's file list.
        Returns the new head sha."""
        with self.lock:
            pull = self.pull(repo, number)
            commit = self._add_commit(pull, message, author or pull.author, utc(when, self.now()))
            if files is not None:
                pull.files = [self._file_entry(pull, spec) for spec in files]
            return commit.sha

    def _add_commit(self, pull: PullRequest, message: str, author: str, when: dt.datetime) -> Commit:
        sha = git_sha(pull.repo, pull.number, len(pull.commits), message, self.next_id())
        commit = Commit(sha, message, author, when, [pull.head_sha])
        pull.commits.append(commit)
        pull.head_sha = sha
        pull.updated_at = max(pull.updated_at, when)
        self.repos[pull.repo].branches[pull.head] = sha
        return commit

    def _file_entry(self, pull: PullRequest, spec: FileSpec) -> dict[str, Any]:
        entry: dict[str, Any] = {"filename": spec} if isinstance(spec, str) else dict(spec)
        entry.setdefault("status", "modified")
        entry.setdefault("additions", 1)
        entry.setdefault("deletions", 1 if entry["status"] != "added" else 0)
        entry.setdefault("changes", entry["additions"] + entry["deletions"])
        entry.setdefault("sha", git_sha(pull.repo, entry["filename"], pull.head_sha))
        return entry

    def merge_pull(self, repo: str, number: int, *, merged_by: str = "octocat",
                   merged_at: str | dt.datetime | None = None, merge_commit_sha: str | None = None) -> str:
        """Squash-merge: the PR is closed and merged; the base branch moves to the merge commit."""
        with self.lock:
            pull = self.pull(repo, number)
            pull.merged, pull.state, pull.merged_by = True, "closed", merged_by
            pull.merged_at = pull.closed_at = pull.updated_at = utc(merged_at, self.now())
            pull.merge_commit_sha = merge_commit_sha or git_sha(repo, number, "merge", pull.head_sha)
            self.repos[repo].branches[pull.base] = pull.merge_commit_sha
            return pull.merge_commit_sha

    def close_pull(self, repo: str, number: int) -> None:
        with self.lock:
            pull = self.pull(repo, number)
            pull.state, pull.closed_at = "closed", self.now()

    # -- reviews -------------------------------------------------------------------------------
    def submit_review(self, repo: str, number: int, *, user: str, state: str = "APPROVED",
                      commit_id: str | None = None, body: str = "",
                      submitted_at: str | dt.datetime | None = None) -> Review:
        with self.lock:
            pull = self.pull(repo, number)
            review = Review(self.next_id(), repo, number, user, state.upper(), commit_id or pull.head_sha,
                            body, utc(submitted_at, self.now()))
            self.reviews.append(review)
            return review

    def dismiss_review(self, repo: str, number: int, review_id: int) -> Review:
        with self.lock:
            review = next(r for r in self.reviews if (r.repo, r.number, r.id) == (repo, number, review_id))
            review.state = "DISMISSED"
            return review

    def reviews_for(self, repo: str, number: int) -> list[Review]:
        with self.lock:
            return [r for r in self.reviews if (r.repo, r.number) == (repo, number)]

    # -- check runs and statuses -------------------------------------------------------------
    def add_check_run(self, repo: str, sha: str, *, name: str, status: str = "completed",
                      conclusion: str | None = "success", app_slug: str = "github-actions",
                      started_at: str | dt.datetime | None = None, details_url: str | None = None,
                      output: dict[str, Any] | None = None, external_id: str = "") -> CheckRun:
        with self.lock:
            self.repo(repo)
            when = utc(started_at, self.now())
            done = status == "completed"
            run = CheckRun(self.next_id(), repo, sha, name, status, conclusion if done else None, when,
                           when if done else None, app_slug, details_url, external_id, dict(output or {}))
            self.check_runs[run.id] = run
            return run

    def complete_check_run(self, check_run_id: int, *, conclusion: str = "success",
                           completed_at: str | dt.datetime | None = None) -> CheckRun:
        with self.lock:
            run = self.check_runs[check_run_id]
            run.status, run.conclusion = "completed", conclusion
            run.completed_at = utc(completed_at, self.now())
            return run

    def check_runs_for(self, repo: str, sha: str) -> list[CheckRun]:
        with self.lock:
            return [run for run in self.check_runs.values() if (run.repo, run.head_sha) == (repo, sha)]

    def add_status(self, repo: str, sha: str, *, context: str, state: str = "success",
                   description: str | None = None, target_url: str | None = None, creator: str = "octocat",
                   created_at: str | dt.datetime | None = None) -> Status:
        with self.lock:
            self.repo(repo)
            status = Status(self.next_id(), repo, sha, context, state, description, target_url, creator,
                            utc(created_at, self.now()))
            self.statuses.append(status)
            return status

    def statuses_for(self, repo: str, sha: str) -> list[Status]:
        """Latest status per context, newest first (what the combined status lists)."""
        with self.lock:
            latest: dict[str, Status] = {}
            for status in self.statuses:
                if (status.repo, status.sha) == (repo, sha):
                    latest[status.context] = status
            return sorted(latest.values(), key=lambda s: s.id, reverse=True)

    # -- teams ---------------------------------------------------------------------------------
    def add_team_members(self, org: str, team_slug: str, logins: Iterable[str] = ()) -> None:
        """Create the team `org/team_slug` if needed and add members (an empty team is allowed)."""
        with self.lock:
            members = self.teams.setdefault(f"{org}/{team_slug}", [])
            members.extend(login for login in logins if login not in members)

    def team_members(self, org: str, team_slug: str) -> list[str] | None:
        with self.lock:
            members = self.teams.get(f"{org}/{team_slug}")
            return None if members is None else list(members)

    # -- GitHub App installations ------------------------------------------------------------
    def add_installation(self, account: str, *, installation_id: int | None = None, app_id: int = 1,
                         repositories: Iterable[str] = ()) -> Installation:
        with self.lock:
            installation = Installation(installation_id or self.next_id(), account, app_id, list(repositories))
            self.installations[installation.id] = installation
            for full_name in installation.repositories:
                self.repo(full_name).installation_id = installation.id
            return installation

    def issue_token(self, installation_id: int, *, ttl: dt.timedelta = dt.timedelta(hours=1)) -> IssuedToken:
        with self.lock:
            token = "ghs_" + git_sha("token", installation_id, self.next_id())[:36]
            issued = IssuedToken(token, installation_id, self.now() + ttl)
            self.tokens[token] = issued
            return issued

    def token_valid(self, token: str) -> bool:
        with self.lock:
            issued = self.tokens.get(token)
            return issued is not None and issued.expires_at > self.now()

    def record_protection_rule_review(self, repo: str, run_id: int, body: Any) -> None:
        with self.lock:
            self.protection_rule_reviews.append({"repo": repo, "run_id": run_id, "body": body})
