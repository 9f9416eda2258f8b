"""The gradual rollout's arithmetic and the record's rollout fields."""

from __future__ import annotations

import datetime as dt

import pytest

from changegate.core.deploy_record import DeploymentRecord
from changegate.core.rollout import decode, encode, reached, share, split, step_minutes


def test_earlier_steps_share_the_time_and_the_last_step_gets_all_of_it() -> None:
    assert [step_minutes(120, [10, 50, 100], step) for step in (1, 2, 3)] == [40, 40, 120]
    assert step_minutes(30, [100], 1) == 30


def test_a_split_pairs_the_new_version_with_the_previous_one_until_100() -> None:
    assert split("new", "old", 10) == [("new", 10.0), ("old", 90.0)]
    assert split("new", "old", 100) == [("new", 100.0)]


@pytest.mark.parametrize(("percent", "step"), [(0, 0), (10, 1), (50, 2), (100, 3), (25, None)])
def test_the_step_reached_is_read_from_the_live_percentage(percent: float, step: int | None) -> None:
    assert reached((10, 50, 100), percent) == step


def test_share_reads_a_deployment_as_the_api_returns_it() -> None:
    deployment = {"versions": [{"version_id": "new", "percentage": 50}, {"version_id": "old", "percentage": 50.0}]}
    assert (share(deployment, "new"), share(deployment, "old"), share(deployment, "other"), share(None, "new")) == (50, 50, 0, 0)


def test_the_record_stores_the_steps_as_text_and_reads_them_back() -> None:
    at = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
    record = DeploymentRecord(id="dep-0123456789ab", service="api", environment="production", sha="a" * 40, state="monitoring",
                              started_at=at, updated_at=at, rollout_steps=(10, 50, 100), rollout_step=2)
    row = record.row()
    assert (row["rollout_steps"], row["rollout_step"]) == ("10,50,100", 2)
    back = DeploymentRecord.from_row(dict(row))
    assert (back.rollout_steps, back.rollout_step, back.rollout_percent) == ((10, 50, 100), 2, 50)
    assert record.event()["rollout_steps"] == [10, 50, 100]
    plain = DeploymentRecord.from_row({**row, "rollout_steps": None, "rollout_step": None})
    assert (plain.rollout_steps, plain.rollout_percent, encode(()), decode(None)) == ((), None, None, ())
