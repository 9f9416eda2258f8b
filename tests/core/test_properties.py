"""Property tests for evaluation: monotone in approvals and checks; stale approvals never count."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from changegate.core.evaluate import evaluate
from changegate.core.policy import Policy
from changegate.core.snapshot import parse_snapshot
from changegate.core.verdict import Overall
from tests import builders as b
from tests.conftest import DEFAULT_POLICY_FILE

AT = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)
RANK = {Overall.FAIL: 0, Overall.PENDING: 1, Overall.PASS: 2}
LOGINS = ["hubot", "monalisa", "sec-lead", "isms-owner", b.AUTHOR, "dependabot[bot]"]
STATES = ["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED"]
CONCLUSIONS = ["success", "failure", "neutral", "cancelled", None]

_POLICY: list[Policy] = []


def policy() -> Policy:
    if not _POLICY:
        import yaml

        from changegate.core.policy_check import parse_policy

        _POLICY.append(parse_policy(yaml.safe_load(DEFAULT_POLICY_FILE.read_text("utf-8"))))
    return _POLICY[0]


review_st = st.tuples(st.sampled_from(LOGINS), st.sampled_from(STATES), st.sampled_from([b.HEAD, b.OLD_HEAD]), st.integers(0, 100))
check_st = st.tuples(st.sampled_from(["lint", "test", "build", "docs"]), st.sampled_from(CONCLUSIONS))
file_st = st.sampled_from(["src/app.ts", ".github/workflows/ci.yml", "src/auth/login.ts", "docs/readme.md", "api/openapi.yaml"])


Spec = tuple[list[str], str | None, list[tuple[str, str, str, int]], list[tuple[str, str | None]], str | None]

specs = st.tuples(
    st.lists(file_st, min_size=1, max_size=3, unique=True),
    st.sampled_from([b.GOOD_BODY, b.SIGNIFICANT_BODY, None]),
    st.lists(review_st, max_size=6),
    st.lists(check_st, max_size=5),
    st.sampled_from([None, "* @monalisa", "/src/ @octocat/security-lead", "*.md @hubot"]),
)


def build(spec: Spec) -> dict[str, Any]:
    files, body, reviews, checks, codeowners = spec
    data = b.snapshot(files=tuple(files), body=body)
    for login, state, commit, minute in reviews:
        b.review(data, login, state=state, commit=commit, at=f"2026-11-21T00:{minute % 60:02d}:00Z")
    for name, conclusion in checks:
        b.check_run(data, name, conclusion=conclusion, status="completed" if conclusion else "in_progress")
    data["codeowners"] = codeowners
    return data


def state_of(data: dict[str, Any]) -> Overall:
    return evaluate(parse_snapshot(data), policy(), at=AT).state


@settings(max_examples=150, deadline=None)
@given(specs, st.sampled_from([login for login in LOGINS if login != b.AUTHOR]))
def test_adding_an_approval_never_lowers_the_state(spec: Spec, login: str) -> None:
    data = build(spec)
    before = state_of(data)
    b.review(data, login, at="2026-11-23T00:00:00Z")
    assert RANK[state_of(data)] >= RANK[before]


@settings(max_examples=150, deadline=None)
@given(specs, st.sampled_from(LOGINS))
def test_a_stale_approval_never_counts(spec: Spec, login: str) -> None:
    data = build(spec)
    before = evaluate(parse_snapshot(data), policy(), at=AT)
    b.review(data, login, commit=b.OLD_HEAD, at="2026-11-23T00:00:00Z")
    after = evaluate(parse_snapshot(data), policy(), at=AT)
    counted_before = before.requirement("approvals.count")
    counted_after = after.requirement("approvals.count")
    assert counted_before is not None and counted_after is not None
    assert login not in counted_after.evidence["approved_by"]
    assert set(counted_after.evidence["approved_by"]) <= set(counted_before.evidence["approved_by"])


@settings(max_examples=150, deadline=None)
@given(specs, st.sampled_from(["lint", "test", "build"]))
def test_removing_a_required_check_never_raises_the_state(spec: Spec, name: str) -> None:
    data = build(spec)
    """A missing required check is pending, so once removed it can never pass; removing a check
    that had passed never raises the state. (Removing a *failed* check moves fail to pending:
    nothing is failing any more, but nothing has passed either.)"""
    before = state_of(data)
    removed = [run for run in data["check_runs"] if run["name"] == name]
    data["check_runs"] = [run for run in data["check_runs"] if run["name"] != name]
    after = state_of(data)
    assert after is not Overall.PASS
    if all(run["conclusion"] == "success" for run in removed):
        assert RANK[after] <= RANK[before]
