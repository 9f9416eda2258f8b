"""Evaluation: one case per sentence of the procedure that a PR verdict enforces."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from changegate.core.evaluate import evaluate
from changegate.core.policy import ChangeType, Policy
from changegate.core.snapshot import parse_snapshot
from changegate.core.verdict import Overall, State, Verdict
from tests import builders as b

AT = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)


def verdict_of(data: dict[str, Any], policy: Policy) -> Verdict:
    return evaluate(parse_snapshot(data), policy, at=AT)


def _std(mutate: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = b.standard_pass()
    mutate(data)
    return data


def _set(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return apply


CASES: list[tuple[str, Callable[[], dict[str, Any]], ChangeType, Overall, dict[str, State]]] = [
    # "At least 1 approved review required"
    ("standard: one approval, green checks", b.standard_pass, ChangeType.STANDARD, Overall.PASS, {"approvals.count": State.SATISFIED}),
    ("standard: no approval", lambda: b.green(b.snapshot()), ChangeType.STANDARD, Overall.PENDING, {"approvals.count": State.PENDING}),
    # approvals count from the current head only
    ("approval before the last push", lambda: _with_review(b.green(b.snapshot()), "hubot", commit=b.OLD_HEAD), ChangeType.STANDARD, Overall.PENDING, {"approvals.count": State.PENDING}),
    # separation of duties: the author and commit authors don't count
    ("author approves own PR", lambda: _with_review(b.green(b.snapshot()), b.AUTHOR), ChangeType.STANDARD, Overall.PENDING, {"approvals.count": State.PENDING}),
    ("commit author approves", lambda: _commit_author_approves(), ChangeType.STANDARD, Overall.PENDING, {"approvals.count": State.PENDING}),
    ("bot approval doesn't count", lambda: _with_review(b.green(b.snapshot()), "dependabot[bot]", kind="Bot"), ChangeType.STANDARD, Overall.PENDING, {"approvals.count": State.PENDING}),
    # latest review wins; changes requested blocks until approved or dismissed
    ("changes requested blocks", lambda: _with_review(b.standard_pass(), "monalisa", state="CHANGES_REQUESTED"), ChangeType.STANDARD, Overall.FAIL, {"approvals.changes_requested": State.FAILED}),
    ("changes requested then approved", lambda: _with_review(_with_review(b.standard_pass(), "monalisa", state="CHANGES_REQUESTED"), "monalisa", at="2026-11-22T00:00:00Z"), ChangeType.STANDARD, Overall.PASS, {"approvals.changes_requested": State.SATISFIED}),
    ("changes requested then dismissed", lambda: _with_review(_with_review(b.standard_pass(), "monalisa", state="CHANGES_REQUESTED"), "monalisa", state="DISMISSED", at="2026-11-22T00:00:00Z"), ChangeType.STANDARD, Overall.PASS, {}),
    ("approval then changes requested", lambda: _with_review(b.standard_pass(), "hubot", state="CHANGES_REQUESTED", at="2026-11-22T00:00:00Z"), ChangeType.STANDARD, Overall.FAIL, {"approvals.count": State.PENDING}),
    ("a later comment does not undo an approval", lambda: _with_review(b.standard_pass(), "hubot", state="COMMENTED", at="2026-11-22T00:00:00Z"), ChangeType.STANDARD, Overall.PASS, {}),
    # "Automated CI must pass (lint, test, build)"
    ("failed required check", lambda: _failed_check(), ChangeType.STANDARD, Overall.FAIL, {"checks.required": State.FAILED}),
    ("missing required check", lambda: _missing_check(), ChangeType.STANDARD, Overall.PENDING, {"checks.required": State.PENDING}),
    ("running required check", lambda: _running_check(), ChangeType.STANDARD, Overall.PENDING, {"checks.required": State.PENDING}),
    ("check on another commit doesn't count", lambda: _old_sha_check(), ChangeType.STANDARD, Overall.PENDING, {"checks.required": State.PENDING}),
    ("commit statuses count as checks", lambda: _statuses_only(), ChangeType.STANDARD, Overall.PASS, {"checks.required": State.SATISFIED}),
    ("failed commit status", lambda: _statuses_only(test_state="error"), ChangeType.STANDARD, Overall.FAIL, {"checks.required": State.FAILED}),
    # "Open a Pull Request with description of what and why"
    ("no description", lambda: _std(_set(("pull_request", "body"), None)), ChangeType.STANDARD, Overall.PENDING, {"description.what_why": State.PENDING}),
    ("description without why", lambda: _std(_set(("pull_request", "body"), "## What\nAdds retries to the webhook handler.")), ChangeType.STANDARD, Overall.PENDING, {"description.what_why": State.PENDING}),
    ("label-style description", lambda: _std(_set(("pull_request", "body"), "What: adds retries to webhooks\nWhy: upstream 503s drop events")), ChangeType.STANDARD, Overall.PASS, {"description.what_why": State.SATISFIED}),
    # Significant: "2 reviewers required on PR, one of whom must be the Security Lead"
    ("workflow change, no Security Lead", lambda: b.significant(security_approves=False), ChangeType.SIGNIFICANT, Overall.PENDING, {"approvals.security_lead": State.PENDING, "approvals.count": State.SATISFIED}),
    ("workflow change, Security Lead via team", b.significant, ChangeType.SIGNIFICANT, Overall.PASS, {"approvals.security_lead": State.SATISFIED}),
    ("Security Lead team membership unknown", lambda: _no_teams(b.significant()), ChangeType.SIGNIFICANT, Overall.PENDING, {"approvals.security_lead": State.PENDING}),
    ("significant with one approval", lambda: _only_security(), ChangeType.SIGNIFICANT, Overall.PENDING, {"approvals.count": State.PENDING}),
    # "Rollback plan documented in PR description"; "Design review before implementation"
    ("significant without rollback plan or design review", lambda: _sig_body(b.GOOD_BODY), ChangeType.SIGNIFICANT, Overall.PENDING, {"description.rollback_plan": State.PENDING, "design_review": State.PENDING}),
    # "CODEOWNERS rules apply"
    ("code owner's approval missing", lambda: _owned("/src/webhooks/ @octocat/payments"), ChangeType.STANDARD, Overall.PENDING, {"codeowners": State.PENDING}),
    ("code owner approved", lambda: _owned("/src/webhooks/ @hubot"), ChangeType.STANDARD, Overall.PASS, {"codeowners": State.SATISFIED}),
    ("last matching CODEOWNERS line wins", lambda: _owned("/src/ @hubot\n*.ts @monalisa"), ChangeType.STANDARD, Overall.PENDING, {"codeowners": State.PENDING}),
    ("unowned file needs no owner", lambda: _owned("/docs/ @monalisa"), ChangeType.STANDARD, Overall.PASS, {"codeowners": State.SATISFIED}),
    # Emergency: "Verbal approval from ISMS Owner or Security Lead"
    ("emergency label, no record", lambda: _emergency(None), ChangeType.EMERGENCY, Overall.FAIL, {"emergency.verbal_approval": State.FAILED}),
    ("emergency with a phone approval, post-hoc reviewed", lambda: _emergency(b.emergency_record()), ChangeType.EMERGENCY, Overall.PASS, {"emergency.verbal_approval": State.SATISFIED, "emergency.posthoc_pr": State.SATISFIED}),
    ("emergency approved by someone outside the roles", lambda: _emergency(b.emergency_record(approved_by="hubot")), ChangeType.EMERGENCY, Overall.FAIL, {"emergency.verbal_approval": State.FAILED}),
    ("emergency self-approved", lambda: _emergency(b.emergency_record(declared_by="sec-lead")), ChangeType.EMERGENCY, Overall.FAIL, {"emergency.verbal_approval": State.FAILED}),
    ("emergency via email is not a channel", lambda: _emergency({**b.emergency_record(), "channel": None}), ChangeType.EMERGENCY, Overall.FAIL, {"emergency.verbal_approval": State.FAILED}),
    # "Post-hoc PR created within 24 hours"
    ("post-hoc PR opened 25 hours after deploy", lambda: _emergency(b.emergency_record(), created="2026-11-23T17:00:00Z"), ChangeType.EMERGENCY, Overall.FAIL, {"emergency.posthoc_pr": State.FAILED}),
    ("post-hoc PR opened 23 hours after deploy", lambda: _emergency(b.emergency_record(), created="2026-11-23T15:00:00Z"), ChangeType.EMERGENCY, Overall.PASS, {"emergency.posthoc_pr": State.SATISFIED}),
    # labels raise, never lower
    ("label raises standard to significant", lambda: _labelled("change:significant"), ChangeType.SIGNIFICANT, Overall.PENDING, {}),
    ("label cannot lower significant", lambda: _labelled_significant("change:standard"), ChangeType.SIGNIFICANT, Overall.PASS, {}),
    ("draft PR is pending", lambda: _std(_set(("pull_request", "draft"), True)), ChangeType.STANDARD, Overall.PENDING, {"pull_request.ready": State.PENDING}),
]


def _with_review(data: dict[str, Any], login: str, **kwargs: Any) -> dict[str, Any]:
    b.review(data, login, **kwargs)
    return data


def _commit_author_approves() -> dict[str, Any]:
    data = b.green(b.snapshot())
    extra = dict(data["commits"][0])
    extra["author"] = {**extra["author"], "login": "pair-programmer"}
    data["commits"].append(extra)
    b.review(data, "pair-programmer")
    return data


def _failed_check() -> dict[str, Any]:
    data = b.snapshot()
    b.check_run(data, "lint")
    b.check_run(data, "test", conclusion="failure")
    b.check_run(data, "build")
    b.review(data, "hubot")
    return data


def _missing_check() -> dict[str, Any]:
    data = b.green(b.snapshot(), ("lint", "test"))
    b.review(data, "hubot")
    return data


def _running_check() -> dict[str, Any]:
    data = b.green(b.snapshot(), ("lint", "test"))
    b.check_run(data, "build", status="in_progress", conclusion=None)
    b.review(data, "hubot")
    return data


def _old_sha_check() -> dict[str, Any]:
    data = b.green(b.snapshot(), ("lint", "test"))
    b.check_run(data, "build", sha=b.OLD_HEAD)
    b.review(data, "hubot")
    return data


def _statuses_only(test_state: str = "success") -> dict[str, Any]:
    data = b.snapshot()
    b.commit_status(data, "lint")
    b.commit_status(data, "test", test_state)
    b.commit_status(data, "build")
    b.review(data, "hubot")
    return data


def _no_teams(data: dict[str, Any]) -> dict[str, Any]:
    data["teams"] = {}
    return data


def _only_security() -> dict[str, Any]:
    data = b.significant()
    data["reviews"] = [r for r in data["reviews"] if r["user"]["login"] == "sec-lead"]
    return data


def _sig_body(body: str) -> dict[str, Any]:
    data = b.significant()
    data["pull_request"]["body"] = body
    return data


def _owned(codeowners: str) -> dict[str, Any]:
    data = b.standard_pass()
    data["codeowners"] = codeowners
    return data


def _emergency(record: dict[str, Any] | None, created: str = "2026-11-23T12:00:00Z") -> dict[str, Any]:
    data = b.green(b.snapshot(title="fix: stop double charges", labels=("emergency",), author="oncall", created_at=created))
    data["emergency"] = record
    b.review(data, "hubot")
    return data


def _labelled(label: str) -> dict[str, Any]:
    data = b.standard_pass()
    data["pull_request"]["labels"] = [{**b.EXAMPLES["pull_request"]["labels"][0], "name": label}]
    return data


def _labelled_significant(label: str) -> dict[str, Any]:
    data = b.significant()
    data["pull_request"]["labels"] = [{**b.EXAMPLES["pull_request"]["labels"][0], "name": label}]
    return data


@pytest.mark.parametrize(("name", "build", "change_type", "overall", "states"), CASES, ids=[case[0] for case in CASES])
def test_procedure_case(default_policy: Policy, name: str, build: Callable[[], dict[str, Any]], change_type: ChangeType, overall: Overall, states: dict[str, State]) -> None:
    verdict = verdict_of(build(), default_policy)
    assert verdict.change_type is change_type, name
    assert verdict.state is overall, [r.as_dict() for r in verdict.requirements]
    for requirement_id, state in states.items():
        found = verdict.requirement(requirement_id)
        assert found is not None, requirement_id
        assert found.state is state, found.detail


def test_explanations_name_who_can_act(default_policy: Policy) -> None:
    verdict = verdict_of(b.significant(security_approves=False), default_policy)
    security = verdict.requirement("approvals.security_lead")
    assert security is not None and "@octocat/security-lead: sec-lead" in security.detail
    stale = verdict_of(_with_review(b.green(b.snapshot()), "hubot", commit=b.OLD_HEAD), default_policy)
    count = stale.requirement("approvals.count")
    assert count is not None and "before the last push" in count.detail and "hubot" in count.detail


def test_type_reasons_name_the_files(default_policy: Policy) -> None:
    data = b.significant()
    b.add_file(data, "api/openapi.yaml")
    verdict = verdict_of(data, default_policy)
    rules = {reason.rule: reason for reason in verdict.type_reasons}
    assert rules["infrastructure"].files == (".github/workflows/deploy.yml",)
    assert rules["api-schema"].files == ("api/openapi.yaml",)


def test_overdue_procedure_review_is_a_warning(default_policy: Policy) -> None:
    verdict = verdict_of(b.standard_pass(), default_policy)
    assert any("2026-11-21" in warning for warning in verdict.warnings)
    early = evaluate(parse_snapshot(b.standard_pass()), default_policy, at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    assert not early.warnings


def test_naive_time_is_refused(default_policy: Policy) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(parse_snapshot(b.standard_pass()), default_policy, at=dt.datetime(2026, 11, 24))
