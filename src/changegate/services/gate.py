"""The GitHub gate: a webhook delivery in, a re-evaluated check run (or a deployment review) out.

Decide first (core), then act (publish through the port). Processing is idempotent: the same
delivery re-evaluates the same PR and re-publishes the same check run, so at-least-once delivery
from the inbox is exactly-once in effect.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from changegate.core.checkrun import CHECK_NAME, check_run_body, error_body, policy_error_body
from changegate.core.evaluate import evaluate
from changegate.core.snapshot import SnapshotInvalid, parse_snapshot
from changegate.core.verdict import Verdict
from changegate.errors import ChangegateError, PolicyError
from changegate.policy_source import POLICY_LOCATIONS
from changegate.services.deployments import review_deployment
from changegate.services.ports import EventLog, VerdictRecorder
from changegate.services.snapshots import CODEOWNERS_LOCATIONS, PARTS, SnapshotSource

log = logging.getLogger("changegate.gate")

PULL_ACTIONS = {"opened", "reopened", "synchronize", "edited", "labeled", "unlabeled", "ready_for_review", "closed"}
# A push cannot add a review, and the approvals it makes stale no longer count (they name the old
# head); a dismissal on push arrives as its own pull_request_review event. So synchronize leaves
# the reviews cached.
NEW_HEAD = tuple(part for part in PARTS if part != "reviews")
STALE_BY_ACTION = {"synchronize": NEW_HEAD, "opened": PARTS, "reopened": PARTS, "ready_for_review": PARTS}
_QUEUE_REF = re.compile(r"/pr-(\d+)-[0-9a-f]+$")


class Gate:
    def __init__(self, source: SnapshotSource, *, clock: Callable[[], dt.datetime], recorder: VerdictRecorder | None = None,
                 events: EventLog | None = None, default_branches: dict[str, str] | None = None) -> None:
        self.source = source
        self.github = source.github
        self._clock = clock
        self._recorder = recorder
        self.events = events
        self._default_branches = default_branches or {}
        self._published: dict[tuple[str, str], tuple[int, str]] = {}  # (repo, head) -> (check run id, body key)
        self.last_problem: ChangegateError | None = None  # why the last evaluate_pull returned None

    def now(self) -> dt.datetime:
        return self._clock()

    def default_branch(self, repo: str) -> str:
        return self._default_branches.get(repo, "main")

    async def process(self, event: str, action: str | None, payload: dict[str, Any], delivery_id: str) -> None:
        repository = payload.get("repository", {})
        repo = repository.get("full_name")
        if repo and repository.get("default_branch"):
            self._default_branches[repo] = repository["default_branch"]
        log.info("processing", extra={"event": event, "action": action, "delivery": delivery_id, "repository": repo})
        if event == "pull_request" and action in PULL_ACTIONS:
            pull = payload["pull_request"]
            await self.evaluate_pull(repo, pull["number"], pull=pull, stale=STALE_BY_ACTION.get(action or "", ()))
        elif event == "pull_request_review" and action in {"submitted", "dismissed", "edited"}:
            await self.evaluate_pull(repo, payload["pull_request"]["number"], pull=payload["pull_request"], stale=("reviews",))
        elif event in {"check_run", "check_suite"} and action == "completed":
            await self._by_commit(repo, payload[event]["head_sha"], stale=("check_runs",), pulls=payload[event].get("pull_requests", []))
        elif event == "status":
            await self._by_commit(repo, payload["sha"], stale=("statuses",), pulls=[])
        elif event == "push":
            await self._push(repo, payload)
        elif event == "merge_group" and action == "checks_requested":
            await self._merge_group(repo, payload["merge_group"])
        elif event == "deployment_protection_rule" and action == "requested":
            await review_deployment(self, repo, payload)
        elif event in {"membership", "team"}:
            self.source.forget_teams()
        else:
            log.info("ignored", extra={"event": event, "action": action, "delivery": delivery_id})

    async def evaluate_pull(self, repo: str, number: int, *, pull: dict[str, Any] | None = None, stale: Iterable[str] = PARTS, publish_sha: str | None = None) -> Verdict | None:
        """Re-evaluate PR `number` and publish its check run; None if it could not be evaluated."""
        now = self._clock()
        try:
            document, base = await self.source.snapshot(repo, number, pull=pull, stale=stale)
        except ChangegateError as problem:
            head = (pull or {}).get("head", {}).get("sha")
            if head:
                await self._publish(repo, error_body(head_sha=head, message=str(problem), completed_at=now))
            raise
        head = publish_sha or document["pull_request"]["head"]["sha"]
        if base.policy is None:
            error = self.last_problem = base.policy_error
            problems = error.problems if isinstance(error, PolicyError) else []
            await self._publish(repo, policy_error_body(head_sha=head, source=f"{repo}@{document['pull_request']['base']['ref']}", problems=problems, message=str(error), completed_at=now))
            return None
        try:
            verdict = evaluate(parse_snapshot(document), base.policy.policy, at=now)
        except SnapshotInvalid as invalid:
            self.last_problem = ChangegateError("GitHub returned data changegate cannot read: " + "; ".join(invalid.problems[:5]))
            await self._publish(repo, error_body(head_sha=head, message="GitHub returned data changegate cannot read: " + "; ".join(invalid.problems[:5]), completed_at=now))
            return None
        if await self._publish(repo, {**check_run_body(verdict, completed_at=now), "head_sha": head}) and self._recorder is not None:
            self._recorder.record_verdict(repository=repo, pr_number=number, head_sha=verdict.head_sha, change_type=verdict.change_type.value, state=verdict.state.value,
                                          verdict=verdict.as_dict(), snapshot=document, policy_sha256=base.policy.sha256, changegate_version=_version(), recorded_at=now)
        return verdict

    async def _publish(self, repo: str, body: dict[str, Any]) -> bool:
        """Create or update the check run; skip the call when nothing changed. True if sent."""
        key = repr({k: v for k, v in body.items() if k != "completed_at"})
        head = body["head_sha"]
        known = self._published.get((repo, head))
        if known is not None and known[1] == key:
            return False
        check_id = known[0] if known else self._existing_check(repo, head)
        if check_id is None:
            created = await self.github.create_check_run(repo, body)
            check_id = int(created["id"])
        else:
            await self.github.update_check_run(repo, check_id, {k: v for k, v in body.items() if k != "head_sha"})
        self._published[(repo, head)] = (check_id, key)
        return True

    def _existing_check(self, repo: str, head: str) -> int | None:
        for pull_key, cached in self.source._pulls.items():  # noqa: SLF001 - the cache already holds the list
            if pull_key[0] == repo and cached.head_sha == head:
                for run in cached.parts.get("check_runs", []):
                    if run.get("name") == CHECK_NAME:
                        return int(run["id"])
        return None

    async def _by_commit(self, repo: str, sha: str, *, stale: Iterable[str], pulls: list[dict[str, Any]]) -> None:
        numbers = [p["number"] for p in pulls] or [p["number"] for p in await self.github.pulls_for_commit(repo, sha) if p.get("state") == "open"]
        for number in numbers:
            await self.evaluate_pull(repo, number, stale=stale)

    async def _push(self, repo: str, payload: dict[str, Any]) -> None:
        ref = payload.get("ref", "")
        if not ref.startswith("refs/heads/"):
            return
        branch = ref.removeprefix("refs/heads/")
        touched = {path for commit in payload.get("commits", []) for key in ("added", "modified", "removed") for path in commit.get(key, [])}
        watched = set(POLICY_LOCATIONS) | set(CODEOWNERS_LOCATIONS)
        if repo.endswith("/.github") and touched & set(POLICY_LOCATIONS):
            self.source.forget_org_policy(repo.split("/")[0])
            return
        if not touched & watched and not payload.get("forced"):
            return
        self.source.forget_base(repo, branch)
        for pull in await self.github.list_open_pulls(repo, base=branch):
            await self.evaluate_pull(repo, pull["number"], pull=pull, stale=())

    async def _merge_group(self, repo: str, group: dict[str, Any]) -> None:
        match = _QUEUE_REF.search(group.get("head_ref", ""))
        if match is None:
            log.warning("merge group without a PR number", extra={"head_ref": group.get("head_ref")})
            return
        await self.evaluate_pull(repo, int(match.group(1)), publish_sha=group["head_sha"])


def _version() -> str:
    from changegate import __version__

    return __version__
