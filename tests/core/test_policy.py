"""Policy validation: every problem located at file:line:column with its key path."""

from __future__ import annotations

import datetime as dt

import pytest

from changegate.core.policy import ChangeType, Policy
from changegate.core.policy_check import policy_warnings
from changegate.errors import PolicyError
from changegate.policy_source import default_policy_text, parse_policy_text


def broken(*replacements: tuple[str, str]) -> str:
    text = default_policy_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def problems_of(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy_text(text, source="changegate.yml")
    return caught.value.problems


def line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


def test_default_policy_encodes_the_procedure(default_policy: Policy) -> None:
    types = default_policy.types
    assert types.standard.approvals is not None and types.standard.approvals.count == 1
    assert types.significant.approvals is not None and types.significant.approvals.count == 2
    assert types.significant.approvals.required_roles == ["security_lead"]
    assert types.emergency.verbal_approval is not None
    assert set(types.emergency.verbal_approval.roles) == {"isms_owner", "security_lead"}
    assert set(types.emergency.verbal_approval.channels) == {"slack", "phone", "in-person"}
    assert types.emergency.posthoc_pr is not None and types.emergency.posthoc_pr.within_hours == 24
    assert types.emergency.post_incident_review is not None and types.emergency.post_incident_review.required
    assert default_policy.windows[types.standard.window].always
    assert default_policy.windows[types.significant.window].hours[0].start == "09:00"
    assert default_policy.timezone == "Australia/Sydney"
    assert (types.standard.monitoring_minutes, types.significant.monitoring_minutes) == (30, 120)
    assert types.significant.staged_rollout and not types.standard.staged_rollout
    assert types.significant.description == ["what_why", "rollback_plan", "design_review"]
    assert default_policy.checks.required == ["lint", "test", "build"]
    assert default_policy.merge.method == "squash"
    assert default_policy.procedure.next_review == dt.date(2026, 11, 21)
    assert {rule.category for rule in default_policy.classification.rules} >= {"feature", "api", "infrastructure", "security"}


def test_overdue_review_warning(default_policy: Policy) -> None:
    assert policy_warnings(default_policy, today=dt.date(2026, 11, 20)) == []
    [warning] = policy_warnings(default_policy, today=dt.date(2026, 11, 24))
    assert "2026-11-21" in warning and "3 days ago" in warning


@pytest.mark.parametrize(("replacement", "needle", "message"), [
    (("count: 1}", "count: one}"), "count: one}", "valid integer"),
    (("  method: squash", "  method: squash\n  colour: red"), "colour: red", "unknown key 'colour'"),
    (("timezone: Australia/Sydney", "timezone: Australia/Sydnee"), "Australia/Sydnee", "unknown time zone"),
    (("    window: business_hours", "    window: bizhours"), "window: bizhours", "unknown window 'bizhours'"),
    (("required_roles: [security_lead]", "required_roles: [security_lad]"), "security_lad", "unknown role 'security_lad'"),
    (('start: "09:00"\n        end: "17:00"', 'start: "17:00"\n        end: "09:00"'), 'end: "09:00"', "inverted hours"),
    (('        end: "17:00"', '        end: "17:00"\n      - days: [fri]\n        start: "16:00"\n        end: "18:00"'), 'start: "16:00"', "overlap"),
    (("  subdivision: NSW", "  subdivision: XYZ"), "subdivision: XYZ", "unknown subdivision"),
    (("freezes: []", "freezes:\n  - {name: x, start: 2026-12-24T00:00:00, end: 2026-12-20T00:00:00}"), "name: x", "ends before it starts"),
    (("      title: '^feat(\\([^)]*\\))?!?:'", "      title: '^feat(('"), "title: '^feat(('", "invalid regular expression"),
])
def test_each_problem_is_located(replacement: tuple[str, str], needle: str, message: str) -> None:
    text = broken(replacement)
    problems = problems_of(text)
    matching = [p for p in problems if message in p]
    assert matching, problems
    line = line_of(text, needle)
    assert any(p.startswith(f"changegate.yml:{line}:") or p.startswith(f"changegate.yml:{line - 1}:") for p in matching), (line, matching)


def test_every_semantic_problem_is_reported_at_once() -> None:
    text = broken(("timezone: Australia/Sydney", "timezone: Mars/Base"), ("    window: business_hours", "    window: nope"), ("required_roles: [security_lead]", "required_roles: [nobody]"))
    assert len(problems_of(text)) == 3


def test_yaml_syntax_error_is_located() -> None:
    with pytest.raises(PolicyError, match=r"changegate.yml:\d+:\d+: not valid YAML"):
        parse_policy_text("types: [unclosed\n", source="changegate.yml")


def test_duplicate_keys_are_refused() -> None:
    problems = problems_of(broken(("timezone: Australia/Sydney", "timezone: Australia/Sydney\ntimezone: Australia/Brisbane")))
    assert any("duplicate key 'timezone'" in p for p in problems)


def test_emergency_cannot_be_a_type_label() -> None:
    problems = problems_of(broken(('"change:significant": significant', '"change:significant": significant\n    "hotfix": emergency')))
    assert any("emergency is declared, not labelled" in p for p in problems)


def test_brisbane_is_a_valid_fixed_aest_zone() -> None:
    loaded = parse_policy_text(broken(("timezone: Australia/Sydney", "timezone: Australia/Brisbane")), source="x.yml")
    assert loaded.policy.timezone == "Australia/Brisbane"
    assert loaded.policy.types.of(ChangeType.SIGNIFICANT).window == "business_hours"
