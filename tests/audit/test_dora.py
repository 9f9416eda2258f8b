"""DORA metrics from a real history and changegate's deployment records: change failure rate per
production deployment (rolled back, or followed by a revert or an emergency change within the
window), time to restore, lead time, deployment frequency."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from changegate.cli import main
from tests import builders as b
from tests.audit.world import World, make_world

# World commits land at 2026-11-01T00:MM:00Z, one a minute.
DAY_BEFORE = dt.datetime(2026, 10, 31, 20, 0, tzinfo=dt.UTC)  # 4 h before the revert below
DAYS_BEFORE = dt.datetime(2026, 10, 28, 20, 0, tzinfo=dt.UTC)  # 76 h before it


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    made = make_world(tmp_path, monkeypatch)
    yield made  # type: ignore[misc]
    made.store.close()


def dora(world: World, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    import json

    assert main(["audit", "--repo", str(world.root), "--github", b.REPO, "--format", "json", *extra]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)["dora"]
    return result


def test_a_revert_within_the_window_fails_the_deployment_before_it(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    early = world.commit("Early change (#2)")
    shipped = world.commit("Retry payment webhooks (#7)")
    world.commit('Revert "Retry payment webhooks (#7)"', body=f"This reverts commit {shipped}.")
    fixed = world.commit("Retry payment webhooks, again (#9)")
    world.deploy(early, at=DAYS_BEFORE)  # 76 h before the revert: outside the default 24 h
    world.deploy(shipped, at=DAY_BEFORE)  # 4 h before it: failed
    world.deploy(fixed, at=DAY_BEFORE + dt.timedelta(hours=6))  # restores, 6 h after the failed one went live
    result = dora(world, capsys)
    assert (result["deployments"], result["failed_deployments"], result["change_failure_rate"]) == (3, 1, 0.333)
    assert result["time_to_restore_median_minutes"] == 360.0 and result["change_failure_window_hours"] == 24.0
    wide = dora(world, capsys, "--failure-window", "96")
    assert wide["failed_deployments"] == 2 and wide["change_failure_window_hours"] == 96.0  # the 76 h-old deployment too


def test_rollbacks_and_emergencies_count_and_a_clean_history_has_none(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    first = world.commit("Add a cache (#2)")
    second = world.commit("Tune the cache (#3)")
    world.deploy(first, at=DAY_BEFORE)
    world.deploy(second, at=DAY_BEFORE + dt.timedelta(hours=1))
    clean = dora(world, capsys)
    assert (clean["failed_deployments"], clean["change_failure_rate"], clean["time_to_restore_median_minutes"]) == (0, 0.0, None)

    world.deploy(second, state="rolled_back", at=DAY_BEFORE + dt.timedelta(hours=2), minutes=12)  # restored by its rollback in 12 min
    hotfix = world.commit("hotfix the cache on main")
    world.emergency(hotfix)  # an emergency change 4 h after the first deployment went live
    result = dora(world, capsys)
    assert (result["deployments"], result["failed_deployments"]) == (3, 3)
    assert result["time_to_restore_median_minutes"] == 12.0  # the only restore on record: no deployment after the emergency fix
