"""Live checks: a PR named on the command line, or the PR an Actions event file is about."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from changegate.core.evaluate import evaluate
from changegate.core.snapshot import parse_snapshot
from changegate.core.verdict import Verdict
from changegate.errors import ChangegateError
from changegate.policy_source import LoadedPolicy
from changegate.services.gate import Gate
from changegate.services.ports import EmergencyRecords, GitHubAPI
from changegate.services.snapshots import SnapshotSource

_TARGET = re.compile(r"^(?P<repo>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)#(?P<number>\d+)$")
_QUEUE_REF = re.compile(r"/pr-(\d+)-[0-9a-f]+$")


@dataclass(frozen=True)
class Target:
    repo: str
    number: int
    publish_sha: str | None = None


def parse_target(text: str) -> Target:
    match = _TARGET.match(text)
    if match is None:
        raise ChangegateError(f"{text!r} is not OWNER/REPO#NUMBER (e.g. octocat/Hello-World#1347)")
    return Target(match["repo"], int(match["number"]))


def target_from_event(event: dict[str, Any], *, source: str) -> Target:
    """The PR an Actions event is about: pull_request*, merge_group, or check events with one PR."""
    repo = event.get("repository", {}).get("full_name")
    if not repo:
        raise ChangegateError(f"{source}: the event has no repository.full_name; is this a GitHub Actions event file?")
    if "pull_request" in event:
        return Target(repo, int(event["pull_request"]["number"]))
    if "merge_group" in event:
        match = _QUEUE_REF.search(event["merge_group"].get("head_ref", ""))
        if match:
            return Target(repo, int(match.group(1)), publish_sha=event["merge_group"]["head_sha"])
    for key in ("check_run", "check_suite"):
        pulls = event.get(key, {}).get("pull_requests") or []
        if len(pulls) == 1:
            return Target(repo, int(pulls[0]["number"]))
    raise ChangegateError(f"{source}: the event is not about one pull request (run changegate on pull_request, pull_request_review or merge_group events)")


async def fetch_snapshot(github: GitHubAPI, target: Target, *, clock: Callable[[], dt.datetime], emergencies: EmergencyRecords | None = None) -> tuple[dict[str, Any], LoadedPolicy]:
    source = SnapshotSource(github, clock=clock, emergencies=emergencies)
    document, base = await source.snapshot(target.repo, target.number)
    if base.policy is None:
        raise base.policy_error or ChangegateError("the policy could not be read")
    return document, base.policy


async def check_live(github: GitHubAPI, target: Target, *, clock: Callable[[], dt.datetime], publish: bool, emergencies: EmergencyRecords | None = None) -> Verdict:
    """The verdict for a live PR; with `publish`, also the `changegate` check run."""
    if not publish:
        document, loaded = await fetch_snapshot(github, target, clock=clock, emergencies=emergencies)
        return evaluate(parse_snapshot(document), loaded.policy, at=clock())
    gate = Gate(SnapshotSource(github, clock=clock, emergencies=emergencies), clock=clock)
    verdict = await gate.evaluate_pull(target.repo, target.number, publish_sha=target.publish_sha)
    if verdict is None:
        raise gate.last_problem or ChangegateError(f"{target.repo}#{target.number} could not be evaluated")
    return verdict
