"""Incremental audits: a repeated audit reads git only for new commits, audits again exactly the
chunks whose evidence changed, and always says what a full audit would say."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from changegate.cli import main
from changegate.wiring_audit_run import is_ancestor
from tests import builders as b
from tests.audit.test_audit import _approved_by, _failed
from tests.audit.world import TUESDAY, World, make_world
from tests.deploy.harness import git


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setattr("changegate.wiring_audit_run.CHUNK", 3)  # several chunks from a short history
    made = make_world(tmp_path, monkeypatch)
    yield made  # type: ignore[misc]
    made.store.close()


def audit(world: World, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    assert main(["audit", "--repo", str(world.root), "--github", b.REPO, "--format", "json", *extra]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def same_as_full(world: World, capsys: pytest.CaptureFixture[str], incremental: dict[str, Any]) -> None:
    full = audit(world, capsys, "--full")
    assert full["summary"]["incremental"]["reused_commits"] == 0
    for result in (incremental, full):
        result.pop("generated_by")
        result["summary"].pop("incremental")
        result["summary"]["policy_warnings"] = [w for w in result["summary"]["policy_warnings"] if "history rewritten" not in w]
    assert incremental == full


def history(world: World, count: int) -> list[str]:
    return [world.commit(f"Change number {n} (#{100 + n})") for n in range(count)]


def test_a_repeated_audit_reads_only_the_new_commits(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    history(world, 7)
    first = audit(world, capsys)
    assert first["summary"]["incremental"] == {"new_commits": 8, "reused_commits": 0, "reaudited_commits": 0, "stored": True}
    again = audit(world, capsys)
    assert again["summary"]["incremental"] == {"new_commits": 0, "reused_commits": 8, "reaudited_commits": 0, "stored": True}
    newer = history(world, 2)
    third = audit(world, capsys)
    assert third["summary"]["incremental"] == {"new_commits": 2, "reused_commits": 8, "reaudited_commits": 0, "stored": True}
    assert [c["sha"] for c in third["changes"][:2]] == newer[::-1]
    assert len(third["sample"]["ids"]) == 10  # min(25, population)
    same_as_full(world, capsys, third)


def test_changed_evidence_is_audited_again(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    shas = history(world, 7)
    audit(world, capsys)
    world.snapshot(103, _failed())  # PR #103 (shas[3]) gets recorded evidence after the first audit
    result = audit(world, capsys)
    assert result["summary"]["incremental"]["reaudited_commits"] == 3  # its chunk only
    row = next(c for c in result["changes"] if c["sha"] == shas[3])
    assert "CI_NOT_GREEN" in row["findings"] and "recorded snapshot" in row["sources"]
    same_as_full(world, capsys, result)

    world.snapshot(103, _approved_by("carol"))  # newer evidence for the same PR: green this time
    fixed = audit(world, capsys)
    assert fixed["summary"]["incremental"]["reaudited_commits"] == 3
    assert "CI_NOT_GREEN" not in next(c for c in fixed["changes"] if c["sha"] == shas[3])["findings"]


def test_a_later_deployment_or_emergency_is_seen(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    shas = history(world, 7)
    direct = world.commit("hotfix straight on main")
    audit(world, capsys)
    world.deploy(shas[1], at=TUESDAY)
    world.emergency(direct)
    result = audit(world, capsys)
    assert result["summary"]["incremental"]["new_commits"] == 0 and result["summary"]["incremental"]["reaudited_commits"] > 0
    assert next(c for c in result["changes"] if c["sha"] == direct)["kind"] == "emergency"
    assert next(c for c in result["changes"] if c["sha"] == shas[1])["deployments"]
    same_as_full(world, capsys, result)


def test_rewritten_history_is_audited_in_full(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    shas = history(world, 5)
    audit(world, capsys)
    git(world.root, "reset", "-q", "--hard", shas[2])
    world.commit("Another change (#200)")
    assert not is_ancestor(world.root, shas[4], "main")
    result = audit(world, capsys)
    assert result["summary"]["incremental"]["reused_commits"] == 0 and result["summary"]["population"] == 5
    assert any("history rewritten" in w for w in result["summary"]["policy_warnings"])
    assert shas[4] not in {c["sha"] for c in result["changes"]}
    same_as_full(world, capsys, result)


def test_a_failed_audit_stores_nothing(world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    history(world, 7)

    def broken(*_args: Any, **_kwargs: Any) -> str:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr("changegate.reports.tables.render_csv", broken)
    assert main(["audit", "--repo", str(world.root), "--github", b.REPO, "--format", "csv"]) != 0
    assert "the disk is full" in capsys.readouterr().err
    monkeypatch.undo()
    monkeypatch.setattr("changegate.wiring_audit_run.CHUNK", 3)
    assert audit(world, capsys)["summary"]["incremental"]["new_commits"] == 8


def test_other_formats_render_reused_changes(world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    history(world, 4)
    world.deploy(world.commit("Deployed change (#300)"), at=TUESDAY)
    assert main(["audit", "--repo", str(world.root), "--github", b.REPO, "--format", "csv", "-o", str(tmp_path / "first.csv")]) == 0
    assert main(["audit", "--repo", str(world.root), "--github", b.REPO, "--format", "csv", "-o", str(tmp_path / "again.csv")]) == 0
    assert (tmp_path / "again.csv").read_text("utf-8") == (tmp_path / "first.csv").read_text("utf-8")
    assert main(["audit", "--repo", str(world.root), "--github", b.REPO]) == 0
    assert "6 reused from the store" in capsys.readouterr().out


def test_invalid_policies_in_reused_chunks_are_still_reported(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    (world.root / "changegate.yml").write_text("version: 1\ntypes: [not, a, mapping]\n", "utf-8")
    world.commit("Break the policy (#50)")
    older = history(world, 4)
    (world.root / "changegate.yml").write_text("version: 1\nprocedure: {}\n", "utf-8")
    world.commit("Break it differently (#51)")
    first = audit(world, capsys)
    assert len(first["summary"]["policy_warnings"]) == 2
    history(world, 4)
    result = audit(world, capsys)
    assert result["summary"]["incremental"]["reused_commits"] == first["summary"]["population"]
    assert len(result["summary"]["policy_warnings"]) == 2 and older[-1][:12] in result["summary"]["policy_warnings"][1]  # met only in a reused chunk
    same_as_full(world, capsys, result)  # the newer one is named where a full audit first meets it
