"""`changegate audit` on real git histories: the JSON contract, and every finding code produced
by a scenario and absent from its compliant twin."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from changegate.cli import main
from tests import builders as b
from tests.audit.world import SATURDAY, World, make_world


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    made = make_world(tmp_path, monkeypatch)
    yield made  # type: ignore[misc]
    made.store.close()


def test_the_json_contract(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    squash = world.commit("Retry payment webhooks (#7)")
    merge = world.commit("Merge pull request #8 from octocat/feature", merge=True)
    direct = world.commit("quick fix on main")
    revert = world.commit('Revert "Retry payment webhooks (#7)"', body=f"This reverts commit {squash}.")
    result = world.audit(capsys)
    assert set(result) >= {"changes", "reconciliation", "summary"}
    rows = {c["sha"]: c for c in result["changes"]}
    assert [(rows[s]["kind"], rows[s]["pr"]) for s in (squash, merge, direct, revert)] == [("squash_pr", 7), ("merge_pr", 8), ("direct_push", None), ("revert", None)]
    for row in result["changes"]:
        assert set(row) >= {"sha", "kind", "pr", "change_type", "findings"} and isinstance(row["findings"], list)
    assert result["summary"]["population"] == 5 and result["reconciliation"]["commits_without_pr_or_emergency"] == [direct]


def pr(data: dict[str, Any], number: int = 7, subject: str = "Retry payment webhooks") -> Callable[[World], str]:
    def build(world: World) -> str:
        world.snapshot(number, data)
        return world.commit(f"{subject} (#{number})")
    return build


def _failed() -> dict[str, Any]:
    data = b.green(b.snapshot(), ("lint", "build"))
    b.check_run(data, "test", conclusion="failure")
    b.review(data, "hubot")
    return data


def _approved_by(login: str, commit: str = b.HEAD) -> dict[str, Any]:
    data = b.green(b.snapshot())
    b.review(data, login, commit=commit)
    return data


def _with(data: dict[str, Any], **changes: Any) -> dict[str, Any]:
    for key, value in changes.items():
        if key == "body":
            data["pull_request"]["body"] = value
        else:
            data[key] = value
    return data


def direct(world: World) -> str:
    return world.commit("quick fix on main")


def merged(world: World) -> str:
    world.snapshot(7, b.standard_pass())
    return world.commit("Merge pull request #7 from octocat/feature", merge=True)


def deployed(state: str = "verified", at: dt.datetime | None = None, sandbox: bool = True, minutes: float = 120, significant: bool = True) -> Callable[[World], str]:
    def build(world: World) -> str:
        data = b.significant() if significant else b.standard_pass()
        sha = pr(data, 9, "ci: cache builds")(world)
        if sandbox:
            world.deploy(sha, environment="sandbox", change_type="significant" if significant else "standard")
        world.deploy(sha, state=state, at=at or dt.datetime(2026, 11, 17, 1, 0, tzinfo=dt.UTC), minutes=minutes, change_type="significant" if significant else "standard")
        return sha
    return build


def emergency(**changes: Any) -> Callable[[World], str]:
    def build(world: World) -> str:
        sha = world.commit("hotfix: stop double charges")
        world.emergency(sha, **changes)
        return sha
    return build


def emergency_linked(hours: float, pir: bool = True) -> Callable[[World], str]:
    def build(world: World) -> str:
        sha = emergency()(world)
        opened = dt.datetime(2026, 11, 10, 16, 0, tzinfo=dt.UTC) + dt.timedelta(hours=hours)
        world.event("emergency.linked", "EMG-7", {"emergency": "EMG-7", "pull_request": 12, "opened_at": opened.isoformat(), "approved_at": opened.isoformat()})
        if pir:
            world.event("pir.recorded", "EMG-7", {"emergency": "EMG-7", "recorded_at": "2026-11-12T00:00:00+00:00"})
        return sha
    return build


def unlinked(inside: bool) -> Callable[[World], str]:
    def build(world: World) -> str:
        sha = world.commit("Retry payment webhooks (#7)")
        world.snapshot(7, b.standard_pass())
        world.deploy(sha if inside else "f" * 40, change_type="standard")
        world.deploy(sha, change_type="standard")  # the change itself is deployed either way
        return sha
    return build


def undeployed(latest: bool) -> Callable[[World], str]:
    def build(world: World) -> str:
        first = pr(b.standard_pass(), 7)(world)
        world.deploy(first, change_type="standard")
        sha = pr(b.standard_pass(), 8)(world)
        if latest:
            world.deploy(sha, change_type="standard")
        return sha
    return build


def every_pr_recorded(world: World) -> str:
    world.snapshot(1, b.standard_pass())  # the world's first commit, "Adopt changegate (#1)", names a PR too
    return pr(b.standard_pass())(world)


CASES: dict[str, tuple[Callable[[World], str], Callable[[World], str]]] = {
    "DIRECT_PUSH": (direct, pr(b.standard_pass())),
    "NO_APPROVAL": (pr(b.green(b.snapshot())), pr(b.standard_pass())),
    "SELF_APPROVAL": (pr(_approved_by(b.AUTHOR)), pr(b.standard_pass())),
    "STALE_APPROVAL": (pr(_approved_by("hubot", b.OLD_HEAD)), pr(b.standard_pass())),
    "MISSING_SECURITY_LEAD": (pr(b.significant(security_approves=False)), pr(b.significant())),
    "CODEOWNERS_UNAPPROVED": (pr(_with(b.standard_pass(), codeowners="/src/ @monalisa")), pr(_with(b.standard_pass(), codeowners="/src/ @hubot"))),
    "CI_NOT_GREEN": (pr(_failed()), pr(b.standard_pass())),
    "NOT_SQUASHED": (merged, pr(b.standard_pass())),
    "MISSING_WHAT_WHY": (pr(_with(b.standard_pass(), body=None)), pr(b.standard_pass())),
    "MISSING_ROLLBACK_PLAN": (pr(_with(b.significant(), body=b.GOOD_BODY + "\n## Design review\nReviewed in docs/design/0042.md by the platform team.\n")), pr(b.significant())),
    "MISSING_DESIGN_REVIEW": (pr(_with(b.significant(), body=b.GOOD_BODY + "\n## Rollback plan\nwrangler rollback to the previous version.\n")), pr(b.significant())),
    "OUTSIDE_WINDOW": (deployed(at=SATURDAY), deployed()),
    "NOT_STAGED": (deployed(sandbox=False), deployed()),
    "NO_VERIFICATION": (deployed(state="deployed"), deployed()),
    "SHORT_MONITORING": (deployed(minutes=30), deployed(minutes=120)),
    "EMERGENCY_NO_APPROVAL": (emergency(approved_by="hubot"), emergency_linked(10)),
    "LATE_POSTHOC_PR": (emergency_linked(30), emergency_linked(10)),
    "MISSING_POSTHOC_PR": (emergency(), emergency_linked(10)),
    "MISSING_PIR": (emergency_linked(10, pir=False), emergency_linked(10)),
    "UNLINKED_DEPLOY": (unlinked(inside=False), unlinked(inside=True)),
    "UNDEPLOYED_CHANGE": (undeployed(latest=False), undeployed(latest=True)),
    "NO_PR_EVIDENCE": (lambda world: world.commit("Retry payment webhooks (#7)"), every_pr_recorded),  # no snapshot recorded, no GitHub access
}


def test_every_finding_code_has_a_case_and_a_twin() -> None:
    from changegate.core.audit_model import FINDINGS

    assert set(CASES) == set(FINDINGS)


def findings(world: World, capsys: pytest.CaptureFixture[str], build: Callable[[World], str]) -> tuple[list[str], dict[str, Any]]:
    sha = build(world)
    result = world.audit(capsys)
    [row] = [c for c in result["changes"] if c["sha"] == sha]
    return row["findings"], result


@pytest.mark.parametrize("code", sorted(CASES))
def test_each_finding_and_its_compliant_twin(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    violation, twin = CASES[code]
    bad_world = make_world(tmp_path / "bad", monkeypatch)
    found, result = findings(bad_world, capsys, violation)
    if code == "UNLINKED_DEPLOY":
        assert [d["code"] for d in result["reconciliation"]["unlinked_deployments"]] == ["UNLINKED_DEPLOY"]
        assert result["summary"]["findings"]["UNLINKED_DEPLOY"] == 1
    else:
        assert code in found, (found, result["changes"][0].get("evidence"))
    bad_world.store.close()
    good_world = make_world(tmp_path / "good", monkeypatch)
    found, result = findings(good_world, capsys, twin)
    assert code not in found and code not in result["summary"]["findings"], found
    good_world.store.close()


def test_real_audit_output_as_oscal_html_and_csv(world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from trestle.oscal.assessment_results import AssessmentResults

    from changegate.cli import main

    pr(b.standard_pass())(world)
    direct(world)
    oscal = tmp_path / "ar.json"
    assert main(["audit", "--repo", str(world.root), "--github", b.REPO, "--format", "oscal", "-o", str(oscal)]) == 0
    model = AssessmentResults.oscal_read(oscal)
    assert model is not None and "DIRECT_PUSH" in oscal.read_text("utf-8")
    html = tmp_path / "report.html"
    assert main(["audit", "--repo", str(world.root), "--format", "html", "-o", str(html)]) == 0
    text = html.read_text("utf-8")
    assert text.count("<svg") >= 4 and "DIRECT_PUSH" in text and "http" not in text.split("<body", 1)[0].replace("http-equiv", "")
    assert main(["audit", "--repo", str(world.root), "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("change_id,")


def test_a_change_through_a_pr_carries_its_review_record(world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = b.standard_pass()
    b.review(data, "octocat-friend", state="CHANGES_REQUESTED")
    sha = pr(data, 7)(world)
    direct_sha = direct(world)
    result = world.audit(capsys)
    rows = {c["sha"]: c for c in result["changes"]}
    review = rows[sha]["review"]
    head = data["pull_request"]["head"]["sha"]
    approvers = sorted({r["user"]["login"] for r in data["reviews"] if r["state"] == "APPROVED"})
    assert [a["by"] for a in review["approvals"]] == approvers and all(a["on_head"] == (a["commit"] == head) for a in review["approvals"])
    assert review["changes_requested"] == ["octocat-friend"] and review["head_sha"] == head and review["author"] == data["pull_request"]["user"]["login"]
    assert {c["name"] for c in review["checks"]} == {c["name"] for c in data["check_runs"] if c["head_sha"] == head}
    assert rows[direct_sha]["review"] is None
    assert main(["audit", "--repo", str(world.root), "--github", b.REPO, "--format", "csv", "-o", str(tmp_path / "log.csv")]) == 0
    import csv

    with (tmp_path / "log.csv").open(encoding="utf-8", newline="") as handle:
        table = {row["sha"]: row for row in csv.DictReader(handle)}
    assert table[sha]["approved_by"].split(";")[0].startswith(approvers[0] + "@") and "=success" in table[sha]["checks"]
    assert table[direct_sha]["approved_by"] == "" and table[direct_sha]["checks"] == ""
