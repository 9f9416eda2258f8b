"""Build PR snapshots from GitHub's own REST examples (tests/data/github-rest-examples.json).

Every object starts as a deep copy of the official example for its endpoint; a scenario changes
only the fields it is about (logins, SHAs, states, times), so the shapes stay GitHub's.
"""

from __future__ import annotations

import copy
import json
import zlib
from pathlib import Path
from typing import Any

EXAMPLES = json.loads((Path(__file__).parent / "data" / "github-rest-examples.json").read_text())["examples"]

REPO = "octocat/Hello-World"
AUTHOR = "octocat"
HEAD = "6dcb09b5b57875f334f61aebed695e2e4193db5e"  # the example PR's head SHA
OLD_HEAD = "ecdd80bb57125d7ba9641ffaa4d7d2c19d3f3091"  # the example review's commit
SECURITY_TEAM = "octocat/security-lead"
ISMS_TEAM = "octocat/isms-owner"

GOOD_BODY = """## What
Adds retry with backoff to the payment webhook handler.

## Why
Transient 503s from the upstream provider drop webhook deliveries.
"""

SIGNIFICANT_BODY = GOOD_BODY + """
## Rollback plan
`wrangler rollback` to the previous version; if that fails, revert the merge commit.

## Design review
Reviewed in docs/design/0042-webhook-retries.md (approved by the platform team).
"""


def _user(login: str, *, kind: str = "User") -> dict[str, Any]:
    user = copy.deepcopy(EXAMPLES["pull_request"]["user"])
    user.update(login=login, type=kind, id=zlib.crc32(login.encode()) % 10_000_000,
                url=f"https://api.github.com/users/{login}", html_url=f"https://github.com/{login}")
    return user


def snapshot(*, title: str = "Retry payment webhooks", body: str | None = GOOD_BODY, author: str = AUTHOR,
             files: tuple[str, ...] = ("src/webhooks/payment.ts",), labels: tuple[str, ...] = (),
             created_at: str = "2026-11-20T00:00:00Z", draft: bool = False) -> dict[str, Any]:
    pr = copy.deepcopy(EXAMPLES["pull_request"])
    pr.update(title=title, body=body, user=_user(author), draft=draft, created_at=created_at, updated_at=created_at)
    label_template = EXAMPLES["pull_request"]["labels"][0]
    pr["labels"] = [{**copy.deepcopy(label_template), "name": name, "id": index + 1} for index, name in enumerate(labels)]
    commit = copy.deepcopy(EXAMPLES["commits"][0])
    commit["author"] = _user(author)
    commit["committer"] = _user(author)
    data: dict[str, Any] = {
        "repository": REPO,
        "pull_request": pr,
        "files": [],
        "reviews": [],
        "commits": [commit],
        "check_runs": [],
        "statuses": [],
        "codeowners": None,
        "teams": {SECURITY_TEAM: ["sec-lead"], ISMS_TEAM: ["isms-owner"]},
        "emergency": None,
        "fetched_at": "2026-11-24T00:00:00Z",
    }
    for name in files:
        add_file(data, name)
    return data


def add_file(data: dict[str, Any], filename: str, *, status: str = "modified", previous: str | None = None) -> None:
    entry = copy.deepcopy(EXAMPLES["files"][0])
    entry.update(filename=filename, status=status)
    if previous is not None:
        entry["previous_filename"] = previous
    data["files"].append(entry)


def review(data: dict[str, Any], login: str, *, state: str = "APPROVED", commit: str = HEAD,
           at: str = "2026-11-21T00:00:00Z", kind: str = "User") -> None:
    item = copy.deepcopy(EXAMPLES["reviews"][0])
    item.update(id=len(data["reviews"]) + 100, user=_user(login, kind=kind), state=state, commit_id=commit, submitted_at=at)
    data["reviews"].append(item)


def check_run(data: dict[str, Any], name: str, *, conclusion: str | None = "success", status: str = "completed",
              sha: str = HEAD, started: str = "2026-11-20T01:00:00Z") -> None:
    item = copy.deepcopy(EXAMPLES["check_runs"]["check_runs"][0])
    item.update(id=len(data["check_runs"]) + 1, name=name, head_sha=sha, status=status, conclusion=conclusion,
                started_at=started, completed_at=started if status == "completed" else None)
    data["check_runs"].append(item)


def commit_status(data: dict[str, Any], context: str, state: str = "success") -> None:
    item = copy.deepcopy(EXAMPLES["combined_status"]["statuses"][0])
    item.update(context=context, state=state, id=len(data["statuses"]) + 1)
    data["statuses"].append(item)


def green(data: dict[str, Any], names: tuple[str, ...] = ("lint", "test", "build")) -> dict[str, Any]:
    for name in names:
        check_run(data, name)
    return data


def emergency_record(*, approved_by: str | None = "sec-lead", channel: str | None = "phone",
                     declared_by: str = "oncall", deployed_at: str | None = "2026-11-22T16:00:00Z") -> dict[str, Any]:
    return {
        "id": "EMG-7", "incident": "INC-1234", "severity": "P1", "reason": "payments down",
        "declared_by": declared_by, "declared_at": "2026-11-22T15:50:00Z",
        "approved_by": approved_by, "channel": channel,
        "approved_at": "2026-11-22T15:55:00Z" if approved_by else None,
        "deployed_at": deployed_at, "pull_request": None,
    }


def standard_pass() -> dict[str, Any]:
    data = green(snapshot())
    review(data, "hubot")
    return data


def significant(*, security_approves: bool = True) -> dict[str, Any]:
    data = green(snapshot(title="ci: cache wrangler builds", body=SIGNIFICANT_BODY, files=(".github/workflows/deploy.yml",)))
    review(data, "hubot")
    review(data, "sec-lead" if security_approves else "monalisa")
    return data
