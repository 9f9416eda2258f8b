"""What change a commit is, for the deploy gate: a declared emergency, or the pull request it
merged (from the commit subject) with its latest recorded verdict."""

from __future__ import annotations

import datetime as dt
import re

from changegate.core.emergency_rules import approvers_of, record_problem
from changegate.core.policy import ChangeType, Policy
from changegate.core.snapshot import Emergency
from changegate.services.deploy import Change
from changegate.services.ports import EmergencyRecords, Git, VerdictLookup

_PR = re.compile(r"\(#(\d+)\)\s*$|^Merge pull request #(\d+)")


def change_for(sha: str, *, policy: Policy, git: Git, verdicts: VerdictLookup, emergencies: EmergencyRecords,
               repository: str | None, teams: dict[str, list[str]], at: dt.datetime) -> Change:
    record = emergencies.find_emergency(repository or "", pr_number=None, sha=sha) if repository else None
    if record is not None:
        return _emergency(Emergency.model_validate(record), policy=policy, owner=(repository or "/").split("/")[0], teams=teams, at=at)
    subject = git.commit_subject(sha)
    match = _PR.search(subject)
    if match is None:
        return Change(ChangeType.STANDARD, f"direct push {sha[:7]}", f"{sha[:7]} ({subject!r}) was not merged from a pull request and no emergency covers it: open a PR, or declare an emergency")
    number = int(match.group(1) or match.group(2))
    verdict = verdicts.latest_verdict(pr_number=number, repository=repository)
    if verdict is None:
        where = f" in {repository}" if repository else " (set GITHUB_REPOSITORY if several repositories share the store)"
        return Change(ChangeType.STANDARD, f"#{number}", f"no recorded verdict for #{number}{where}: record one with `changegate check OWNER/REPO#{number}` or let the GitHub App evaluate it")
    change_type = ChangeType(verdict["change_type"])
    if verdict["state"] != "pass":
        missing = "; ".join(f"{r['id']}: {r['detail']}" for r in verdict["requirements"] if r["state"] != "satisfied")
        return Change(change_type, f"#{number}", f"#{number} ({change_type.value}) is {verdict['state']}, not pass: {missing}")
    return Change(change_type, f"#{number}")


def _emergency(record: Emergency, *, policy: Policy, owner: str, teams: dict[str, list[str]], at: dt.datetime) -> Change:
    rules = policy.types.of(ChangeType.EMERGENCY)
    found = record_problem(record, rules, approvers=approvers_of(policy, rules, owner=owner, teams=teams), authors={}, at=at)
    return Change(ChangeType.EMERGENCY, f"emergency {record.id}", None if found is None else f"emergency {record.id}: {found[1]}")
