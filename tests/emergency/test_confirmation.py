"""`verbal_approval.confirm_within_hours`: the approver confirms under their own identity in time,
or the approval no longer stands (verdict, audit) and `changegate obligations` shows it overdue."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from changegate.core.emergency_rules import approvers_of, record_problem
from changegate.core.obligations import EmergencyFacts, emergency_obligations
from changegate.core.policy import ChangeType, Policy
from changegate.core.snapshot import Emergency
from changegate.core.verdict import State
from changegate.policy_source import default_policy_text, parse_policy_text
from tests import builders as b

APPROVED = dt.datetime(2026, 11, 22, 15, 55, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def policy() -> Policy:
    text = default_policy_text().replace("      allow_self_approval: false\n", "      allow_self_approval: false\n      confirm_within_hours: 4\n", 1)
    text = text.replace('security_lead: ["@{org}/security-lead"]', 'security_lead: ["@sec-lead"]')
    loaded = parse_policy_text(text, source="test").policy
    assert loaded.types.of(ChangeType.EMERGENCY).verbal_approval.confirm_within_hours == 4  # type: ignore[union-attr]
    return loaded


def problem(policy: Policy, confirmed: dt.timedelta | None, *, now: dt.timedelta) -> tuple[State, str] | None:
    record = Emergency.model_validate({**b.emergency_record(), "confirmed_at": (APPROVED + confirmed).isoformat() if confirmed is not None else None})
    rules = policy.types.of(ChangeType.EMERGENCY)
    return record_problem(record, rules, approvers=approvers_of(policy, rules, owner="octocat", teams={}), authors={}, at=APPROVED + now)


def test_an_approval_stands_until_its_confirmation_is_due(policy: Policy) -> None:
    assert problem(policy, None, now=dt.timedelta(hours=3, minutes=59)) is None  # not confirmed yet, not due yet
    assert problem(policy, dt.timedelta(hours=3, minutes=59), now=dt.timedelta(days=3)) is None  # confirmed in time
    late = problem(policy, None, now=dt.timedelta(hours=4, minutes=1))
    assert late is not None and late[0] is State.FAILED and "not confirmed within 4 h" in late[1] and "changegate emergency confirm EMG-7" in late[1]
    confirmed_late = problem(policy, dt.timedelta(hours=5), now=dt.timedelta(days=3))
    assert confirmed_late is not None and confirmed_late[0] is State.FAILED and "5.0 h after giving it" in confirmed_late[1]


def test_without_the_setting_nothing_is_asked(default_policy: Policy) -> None:
    record = Emergency.model_validate(b.emergency_record())
    rules = default_policy.types.of(ChangeType.EMERGENCY)
    assert rules.verbal_approval is not None and rules.verbal_approval.confirm_within_hours is None
    facts = EmergencyFacts("EMG-7", declared_at=APPROVED, approved_at=APPROVED)
    assert [o for o in emergency_obligations(default_policy, facts, now=APPROVED + dt.timedelta(days=9)) if o.kind == "confirmation"] == []
    assert record.confirmed_at is None


def test_the_confirmation_is_an_obligation_with_its_due_time(policy: Policy) -> None:
    def state(confirmed: dt.timedelta | None, now: dt.timedelta) -> str:
        facts = EmergencyFacts("EMG-7", declared_at=APPROVED, approved_at=APPROVED, confirmed_at=APPROVED + confirmed if confirmed is not None else None)
        [item] = [o for o in emergency_obligations(policy, facts, now=APPROVED + now) if o.kind == "confirmation"]
        assert item.due == APPROVED + dt.timedelta(hours=4)
        return item.state

    assert state(None, dt.timedelta(hours=1)) == "open"
    assert state(None, dt.timedelta(hours=5)) == "overdue"
    assert state(dt.timedelta(hours=2), dt.timedelta(hours=5)) == "met"
    assert state(dt.timedelta(hours=6), dt.timedelta(hours=7)) == "met_late"


def test_declare_confirm_and_the_obligation_through_the_store(policy: Policy, tmp_path: Path) -> None:
    from changegate.adapters.store.emergencies import EmergencyStore
    from changegate.adapters.store.sql import SqlStore
    from changegate.services.emergency import confirm, declare
    from changegate.services.obligations import obligations

    with SqlStore(f"sqlite:///{tmp_path / 'c.db'}") as store:
        book = EmergencyStore(store.engine)
        record = declare(policy, book, store, repository=b.REPO, service=None, incident="INC-9", severity="P1", approved_by="sec-lead", channel="phone",
                         declared_by="oncall", reason="payments down", sha=None, teams={}, now=APPROVED)

        def confirmation(now: dt.datetime) -> str:
            [item] = [o for o in obligations(policy, book.all(), store.iter_ledger(), now=now) if o.kind == "confirmation"]
            return item.state

        assert confirmation(APPROVED + dt.timedelta(hours=1)) == "open"
        assert confirmation(APPROVED + dt.timedelta(hours=5)) == "overdue"
        message = confirm(book, store, record.id, login="sec-lead", policy=policy, now=APPROVED + dt.timedelta(hours=2))
        assert "later than" not in message
        assert confirmation(APPROVED + dt.timedelta(hours=5)) == "met"
        row = book.get(record.id) or {}
        assert Emergency.model_validate({k: v for k, v in row.items() if k in Emergency.model_fields}).confirmed_at is not None
