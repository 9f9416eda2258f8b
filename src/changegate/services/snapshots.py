"""Assemble PR snapshots from the GitHub API, refreshing only what an event can have changed.

Files and commits are fixed for a head SHA; reviews change on review events; check runs and
statuses on check and status events. The policy and CODEOWNERS are read from the PR's *base*
branch (so a PR cannot weaken its own rules) and cached until a push to that branch; team
memberships are cached for `team_ttl`. A cached PR older than `max_age` is fetched in full, so a
missed webhook heals itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from changegate.core.owners import index_for
from changegate.core.policy import Policy
from changegate.core.snapshot import Emergency
from changegate.errors import ChangegateError
from changegate.policy_source import (
    DEFAULT_SOURCE,
    POLICY_LOCATIONS,
    LoadedPolicy,
    default_policy_text,
    parse_policy_text,
)
from changegate.services.ports import EmergencyRecords, GitHubAPI

CODEOWNERS_LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
PARTS = ("files", "commits", "reviews", "check_runs", "statuses")


@dataclass
class _Cached:
    head_sha: str
    fetched_at: dt.datetime
    parts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True)
class BaseFiles:
    policy: LoadedPolicy | None
    policy_error: ChangegateError | None
    codeowners: str | None


class SnapshotSource:
    def __init__(self, github: GitHubAPI, *, clock: Callable[[], dt.datetime], emergencies: EmergencyRecords | None = None,
                 team_ttl: dt.timedelta = dt.timedelta(minutes=5), max_age: dt.timedelta = dt.timedelta(minutes=10)) -> None:
        self.github = github
        self._clock = clock
        self._emergencies = emergencies
        self._team_ttl = team_ttl
        self._max_age = max_age
        self._pulls: dict[tuple[str, int], _Cached] = {}
        self._bases: dict[tuple[str, str], BaseFiles] = {}
        self._teams: dict[str, tuple[list[str] | None, dt.datetime]] = {}

    def forget_base(self, repo: str, ref: str) -> None:
        self._bases.pop((repo, ref), None)

    def forget_org_policy(self, org: str) -> None:
        for key in [key for key in self._bases if key[0].split("/")[0] == org]:
            del self._bases[key]

    def forget_teams(self) -> None:
        self._teams.clear()

    def forget_pull(self, repo: str, number: int) -> None:
        """Drop the cached parts of one PR (the audit fetches each PR once: memory stays flat)."""
        self._pulls.pop((repo, number), None)

    async def base_files(self, repo: str, ref: str) -> BaseFiles:
        found = self._bases.get((repo, ref))
        if found is None:
            found = self._bases[(repo, ref)] = await self._read_base(repo, ref)
        return found

    async def _read_base(self, repo: str, ref: str) -> BaseFiles:
        policy: LoadedPolicy | None = None
        error: ChangegateError | None = None
        try:
            policy = await self._policy(repo, ref)
        except ChangegateError as problem:
            error = problem
        codeowners = await self._first_file(repo, CODEOWNERS_LOCATIONS, ref=ref)
        return BaseFiles(policy, error, codeowners[1] if codeowners else None)

    async def _policy(self, repo: str, ref: str) -> LoadedPolicy:
        found = await self._first_file(repo, POLICY_LOCATIONS, ref=ref)
        if found is not None:
            return parse_policy_text(found[1], source=f"{repo}@{ref}:{found[0]}")
        org_repo = f"{repo.split('/')[0]}/.github"
        org = await self._first_file(org_repo, POLICY_LOCATIONS, ref="")
        if org is not None:
            return parse_policy_text(org[1], source=f"{org_repo}:{org[0]}")
        return parse_policy_text(default_policy_text(), source=DEFAULT_SOURCE)

    async def _first_file(self, repo: str, paths: Iterable[str], *, ref: str) -> tuple[str, str] | None:
        for path in paths:
            text = await self.github.get_file_text(repo, path, ref=ref)
            if text is not None:
                return path, text
        return None

    async def snapshot(self, repo: str, number: int, *, pull: dict[str, Any] | None = None, stale: Iterable[str] = PARTS) -> tuple[dict[str, Any], BaseFiles]:
        """The snapshot for PR `number`; `pull` is the PR object if the event carried it, and
        `stale` names the parts the event may have changed (the rest come from the cache)."""
        pull = pull if pull is not None else await self.github.get_pull(repo, number)
        head = pull["head"]["sha"]
        now = self._clock()
        cached = self._pulls.get((repo, number))
        if cached is None or now - cached.fetched_at > self._max_age:
            cached = self._pulls[(repo, number)] = _Cached(head, now)
            stale = PARTS
        elif cached.head_sha != head:  # a new head: everything but the reviews is new
            kept = {"reviews": cached.parts["reviews"]} if "reviews" in cached.parts else {}
            cached = self._pulls[(repo, number)] = _Cached(head, cached.fetched_at, kept)
            stale = set(stale) | {part for part in PARTS if part != "reviews"}
        for part in PARTS:
            if part in stale or part not in cached.parts:
                cached.parts[part] = await self._fetch(part, repo, number, head, changed_files=pull.get("changed_files"))
        base = await self.base_files(repo, pull["base"]["ref"])
        policy = base.policy.policy if base.policy else None
        teams = await self._team_members(self._teams_needed(policy, base.codeowners, cached.parts["files"], owner=repo.split("/")[0]))
        document = {"repository": repo, "pull_request": pull, **{p: list(cached.parts[p]) for p in PARTS},
                    "codeowners": base.codeowners, "teams": teams, "emergency": self._emergency(repo, number, head),
                    "fetched_at": now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")}
        return document, base

    async def _fetch(self, part: str, repo: str, number: int, head: str, *, changed_files: int | None) -> list[dict[str, Any]]:
        if part == "files":  # the client fails closed on a truncated list (GitHub lists at most 3,000)
            return await self.github.list_pull_files(repo, number, changed_files=changed_files)
        if part == "commits":
            return await self.github.list_pull_commits(repo, number)
        if part == "reviews":
            return await self.github.list_reviews(repo, number)
        if part == "check_runs":
            return await self.github.list_check_runs(repo, head)
        return await self.github.list_statuses(repo, head)

    def _teams_needed(self, policy: Policy | None, codeowners: str | None, files: list[dict[str, Any]], *, owner: str) -> set[str]:
        entries = [entry for members in (policy.roles.values() if policy else []) for entry in members]
        if codeowners:
            index = index_for(codeowners)
            for changed in files:
                for path in filter(None, (changed.get("filename"), changed.get("previous_filename"))):
                    rule = index.rule_for(path)
                    entries += list(rule.owners) if rule else []
        teams = {entry.replace("{org}", owner).lstrip("@") for entry in entries}
        return {team for team in teams if "/" in team}

    async def _team_members(self, teams: set[str]) -> dict[str, list[str]]:
        now = self._clock()
        found: dict[str, list[str]] = {}
        for team in sorted(teams):
            cached = self._teams.get(team)
            if cached is None or now - cached[1] > self._team_ttl:
                org, slug = team.split("/", 1)
                cached = self._teams[team] = (await self.github.list_team_members(org, slug), now)
            if cached[0] is not None:
                found[team] = cached[0]
        return found

    async def role_teams(self, policy: Policy, *, owner: str) -> dict[str, list[str]]:
        return await self._team_members(self._teams_needed(policy, None, [], owner=owner))

    def emergency_for_commit(self, repo: str, sha: str) -> Emergency | None:
        if self._emergencies is None:
            return None
        found = self._emergencies.find_emergency(repo, pr_number=None, sha=sha)
        return Emergency.model_validate(found) if found else None

    def _emergency(self, repo: str, number: int, head: str) -> dict[str, Any] | None:
        if self._emergencies is None:
            return None
        return self._emergencies.find_emergency(repo, pr_number=number, sha=head)
