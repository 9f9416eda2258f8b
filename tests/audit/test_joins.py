"""`changegate audit` joined with the GitHub API (PRs the gate never recorded) and Cloudflare's
deployment log, against the GitHub and Cloudflare emulators and real git histories."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from changegate.adapters.store.deployments import DeploymentStore
from changegate.cli import main
from changegate.core.audit_model import Commit
from changegate.core.deploy_record import DeploymentRecord
from changegate.services.audit_sources import Fetched, PullEvidence
from changegate.wiring_audit_sources import CONCURRENCY, Progress
from tests import builders as b
from tests.audit.world import TUESDAY, World, make_world
from tests.cloudflare_emulator import CloudflareEmulator
from tests.deploy.harness import git
from tests.github_emulator import Emulator

BODY = b.GOOD_BODY


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    made = make_world(tmp_path, monkeypatch)
    yield made
    made.store.close()


@pytest.fixture
def github(github_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    monkeypatch.setenv("CHANGEGATE_GITHUB_API_URL", github_emulator.base_url)
    monkeypatch.setenv("CHANGEGATE_GITHUB_TOKEN", "test-token")
    return github_emulator


def merged_pr(github: Emulator, number: int, merged_as: str, *, approved: bool = True) -> None:
    """A PR squash-merged on GitHub as the commit `merged_as`: green checks, a what/why description, approved by hubot (or not)."""
    state = github.state
    pull = state.open_pull(b.REPO, number=number, title="Retry payment webhooks", body=BODY, author="octocat", files=("src/webhooks/payment.ts",))
    for name in ("lint", "test", "build"):
        state.add_check_run(b.REPO, pull.head_sha, name=name)
    if approved:
        state.submit_review(b.REPO, number, user="hubot")
    state.merge_pull(b.REPO, number, merge_commit_sha=merged_as)


def root(world: World) -> str:
    """The world's first commit, "Adopt changegate (#1)"."""
    return git(world.root, "rev-list", "--max-parents=0", "HEAD")


def audit(world: World, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[dict[str, Any], str]:
    assert main(["audit", "--repo", str(world.root), "--github", b.REPO, "--format", "json", *extra]) == 0
    captured = capsys.readouterr()
    result: dict[str, Any] = json.loads(captured.out)
    return result, captured.err


def row(result: dict[str, Any], sha: str) -> dict[str, Any]:
    [found] = [c for c in result["changes"] if c["sha"] == sha]
    return found


def test_prs_without_a_recorded_snapshot_are_judged_from_the_api_and_kept(world: World, github: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    world.snapshot(9, b.standard_pass())  # recorded by the gate: never fetched
    unapproved, twin, recorded = (world.commit(f"Retry payment webhooks (#{n})") for n in (7, 8, 9))
    merged_pr(github, 1, root(world))
    merged_pr(github, 7, unapproved, approved=False)
    merged_pr(github, 8, twin)

    result, err = audit(world, capsys)
    assert "NO_APPROVAL" in row(result, unapproved)["findings"] and "GitHub API" in row(result, unapproved)["sources"]
    assert row(result, twin)["findings"] == [] and row(result, twin)["sources"] == ["git", "GitHub API"]
    assert row(result, twin)["change_type"] == "standard"
    assert row(result, recorded)["sources"] == ["git", "recorded snapshot"] and row(result, recorded)["findings"] == []
    assert "NO_PR_EVIDENCE" not in result["summary"]["findings"] and result["summary"]["evidence_warnings"] == []
    assert "3 PR snapshot(s) fetched from the GitHub API" in err
    paths = github.state.path_counts()
    assert paths[f"/repos/{b.REPO}/pulls/7"] == 1 and f"/repos/{b.REPO}/pulls/9" not in paths

    calls = github.calls
    again, err = audit(world, capsys)  # everything fetched was kept: no API call at all
    assert github.calls == calls and "fetched" not in err
    assert [c["findings"] for c in again["changes"]] == [c["findings"] for c in result["changes"]]
    assert row(again, unapproved)["sources"] == ["git", "GitHub API"]


def test_evidence_of_a_pr_merged_as_another_commit_is_not_used(world: World, github: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    genuine = world.commit("Retry payment webhooks (#7)")
    borrowed = world.commit("Sneak in a change (#7)")  # claims the approved PR #7 in its subject
    merged_pr(github, 1, root(world))
    merged_pr(github, 7, genuine)
    result, _ = audit(world, capsys)
    assert row(result, genuine)["findings"] == [] and row(result, genuine)["sources"] == ["git", "GitHub API"]
    found = row(result, borrowed)
    assert found["findings"] == ["NO_PR_EVIDENCE"] and f"merged as {genuine[:12]}" in found["evidence"]["NO_PR_EVIDENCE"]
    assert found["change_type"] is None and found["sources"] == ["git"]


def test_without_credentials_the_audit_warns_once_and_fails_closed(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.commit("Retry payment webhooks (#7)")
    world.snapshot(8, b.standard_pass())
    world.commit("Retry payment webhooks (#8)")

    result, err = audit(world, capsys)
    assert result["summary"]["findings"]["NO_PR_EVIDENCE"] == 2  # #1 and #7; #8 was recorded
    [warning] = result["summary"]["evidence_warnings"]
    assert warning.startswith("2 change(s) name a pull request with no usable evidence") and "no GitHub credentials" in warning
    assert err.count("warning:") == 1 and warning in err
    assert "no recorded snapshot" in result["changes"][1]["evidence"]["NO_PR_EVIDENCE"]


def test_one_failing_fetch_is_that_changes_missing_evidence(world: World, github: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    shas = [world.commit(f"Retry payment webhooks (#{n})") for n in (7, 8, 9)]
    merged_pr(github, 7, shas[0], approved=False)
    merged_pr(github, 8, shas[1])
    merged_pr(github, 9, shas[2])
    github.knobs.fail_next(4, path=f"/repos/{b.REPO}/pulls/8", status=502)  # every retry fails too

    result, err = audit(world, capsys)
    failed = row(result, shas[1])
    assert failed["findings"] == ["NO_PR_EVIDENCE"] and "502" in failed["evidence"]["NO_PR_EVIDENCE"] and failed["change_type"] is None
    assert "NO_PR_EVIDENCE" not in row(result, shas[0])["findings"] and "NO_APPROVAL" in row(result, shas[0])["findings"]
    assert row(result, shas[2])["findings"] == []
    adopt = result["changes"][-1]  # "Adopt changegate (#1)": no such PR on GitHub
    assert adopt["pr"] == 1 and "404" in adopt["evidence"]["NO_PR_EVIDENCE"]
    assert result["summary"]["findings"]["NO_PR_EVIDENCE"] == 2 and "GitHub API fetch failed for 2" in err

    again, _ = audit(world, capsys)  # failures are not kept: the next audit asks again
    assert again["summary"]["incremental"]["reaudited_commits"] == again["summary"]["population"]  # its stored chunk is not trusted
    adopt = again["changes"][-1]  # no such PR on GitHub: with access proven by the other fetches, the 404 is remembered
    assert "GitHub has no pull request #1" in adopt["evidence"]["NO_PR_EVIDENCE"] and adopt["findings"] == ["NO_PR_EVIDENCE"]
    asked = github.state.path_counts()[f"/repos/{b.REPO}/pulls/1"]
    third, _ = audit(world, capsys)
    assert github.state.path_counts()[f"/repos/{b.REPO}/pulls/1"] == asked  # not asked again
    assert third["summary"]["incremental"]["reaudited_commits"] == 0 and third["changes"][-1]["evidence"] == adopt["evidence"]
    assert row(again, shas[1])["findings"] == [] and row(again, shas[1])["sources"] == ["git", "GitHub API"]


def record(world: World, sha: str, ident: str) -> None:
    DeploymentStore(world.store.engine).create(DeploymentRecord(
        id=ident, service="api", environment="production", sha=sha, state="verified", started_at=TUESDAY, updated_at=TUESDAY + dt.timedelta(hours=2),
        change_type="standard", deployed_at=TUESDAY, monitor_until=TUESDAY + dt.timedelta(minutes=30), version_id="v"))


@pytest.mark.parametrize("manual", [True, False])
def test_cloudflare_deployments_outside_changegate_are_unlinked(manual: bool, world: World, cloudflare: CloudflareEmulator, capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in cloudflare.env().items():
        monkeypatch.setenv(name, value)
    world.snapshot(7, b.standard_pass())
    sha = world.commit("Retry payment webhooks (#7)")
    record(world, sha, "dep-0123456789ab")
    first = cloudflare.add_version("api", message="changegate dep-0123456789ab")
    cloudflare.deploy("api", [(first, 100)], message=f"changegate dep-0123456789ab: {sha[:12]}")
    second = cloudflare.add_version("api")
    cloudflare.deploy("api", [(second, 100)], message="changegate rollback (manual)")  # `changegate rollback`: in the ledger
    world.event("deployment.manual_rollback", "api/production", {"script": "api", "version": second, "forced": False})
    if manual:
        third = cloudflare.add_version("api", source="dash")
        cloudflare.deploy("api", [(third, 100)], message="hotfix from the dashboard", source="dash")

    result, _ = audit(world, capsys, "--service", "api")
    rec = result["reconciliation"]
    assert (rec["deployments_matched"], rec["deployments_total"]) == (1, 1)  # changegate's own record, as before
    if manual:
        [unlinked] = rec["unlinked_deployments"]
        assert unlinked["origin"] == "cloudflare" and unlinked["code"] == "UNLINKED_DEPLOY" and unlinked["service"] == "api"
        assert unlinked["message"] == "hotfix from the dashboard" and unlinked["versions"] == [{"version_id": third, "percentage": 100.0}]
        assert set(unlinked) >= {"id", "created_on", "author_email", "source"} and unlinked["source"] == "dash"
        assert result["summary"]["findings"]["UNLINKED_DEPLOY"] == 1
        assert (rec["cloudflare_deployments_total"], rec["cloudflare_deployments_matched"]) == (3, 2)
    else:
        assert rec["unlinked_deployments"] == [] and "UNLINKED_DEPLOY" not in result["summary"]["findings"]
        assert (rec["cloudflare_deployments_total"], rec["cloudflare_deployments_matched"]) == (2, 2)
    assert result["summary"]["evidence_warnings"] == [] or all("Cloudflare" not in w for w in result["summary"]["evidence_warnings"])


def test_without_cloudflare_credentials_the_log_is_not_joined_and_says_so(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    result, err = audit(world, capsys, "--service", "api")
    rec = result["reconciliation"]
    assert rec["cloudflare_deployments_total"] is None and rec["unlinked_deployments"] == []
    assert any("CLOUDFLARE_API_TOKEN" in w for w in result["summary"]["evidence_warnings"]) and "Cloudflare's deployment log was not joined" in err


def commit(sha: str, subject: str) -> tuple[Commit, str]:
    at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    return Commit(sha, ("p",), "t", "t@example.com", at, at, subject), "noreply@github.com"


def test_lookahead_starts_fetches_ahead_of_the_walk_within_its_bounds() -> None:
    started: list[int] = []
    futures: dict[int, Future[Fetched]] = {}

    def fetch(pr: int) -> Future[Fetched]:
        started.append(pr)
        futures[pr] = Future()
        futures[pr].set_result(Fetched(100 + pr, {"pr": pr}))
        return futures[pr]

    pulls = PullEvidence(recorded={3: 41}, stored={4: 42}, load_recorded=lambda i: {"row": i}, load_stored=lambda i: {"row": i}, fetch=fetch)
    history = [commit(f"{n:040x}", f"change (#{n})") for n in range(10, 0, -1)] + [commit("a" * 40, "direct push")]
    walked = []
    for item in pulls.lookahead(history, window=4, ahead=2):
        walked.append(item)
        assert len(started) - len(walked) <= 2 and len(started) <= len(walked) + 4  # never more than `ahead` unconsumed
        number = int(item[0].subject.split("#")[1].rstrip(")")) if "#" in item[0].subject else None
        if number is not None:
            assert pulls.snapshot_for(number) is not None
    assert walked == history  # unchanged, in order
    assert sorted(started) == [1, 2, 5, 6, 7, 8, 9, 10]  # not #3 (recorded) nor #4 (fetched before)
    assert [pulls.evidence_version(n) for n in (3, 4, 5)] == ["recorded:41", "api:42", "api:105"]
    assert pulls.source_of(3) == "recorded snapshot" and pulls.source_of(5) == "GitHub API"
    skipping = PullEvidence(recorded={}, stored={}, load_recorded=dict, load_stored=dict, fetch=fetch)
    assert list(skipping.lookahead(history[:2])) == history[:2]  # a caller that never asks (a cached change)
    assert skipping.evidence_version(10) == "api:110"  # the fetch is dropped from memory, its stored row kept
    assert PullEvidence(recorded={}, stored={}, load_recorded=dict, load_stored=dict, fetch=None).evidence_version(5) == "none"
    assert PullEvidence(recorded={}, stored={}, load_recorded=dict, load_stored=dict, fetch=fetch).evidence_version(99) == "unfetched"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_fetch_progress_is_shown_only_on_a_terminal() -> None:
    terminal, pipe = Terminal(), io.StringIO()
    for stream in (terminal, pipe):
        progress = Progress(stream)
        progress("GitHub API: 1 PR snapshot(s) fetched, 0 failed")
        progress.end()
    assert terminal.getvalue().startswith("\rGitHub API: 1 PR snapshot(s) fetched") and terminal.getvalue().endswith("\n")
    assert pipe.getvalue() == ""


def test_an_exhausted_rate_limit_stops_the_fetches_and_the_audit_finishes(world: World, github: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    for number in (7, 8, 9, 10, 11, 12):
        merged_pr(github, number, world.commit(f"Retry payment webhooks (#{number})"))
    github.knobs.set_rate_limit(remaining=0, reset_in=3600)  # longer than changegate may wait
    before = github.calls

    result, err = audit(world, capsys)
    assert github.calls - before <= CONCURRENCY  # the fetches already under way; the rest are not sent
    assert result["summary"]["findings"]["NO_PR_EVIDENCE"] == 7 and "rate limit" in err
    assert all(c["findings"] == ["NO_PR_EVIDENCE"] for c in result["changes"])


def test_a_404_without_proven_access_is_not_remembered(world: World, github: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    result, _ = audit(world, capsys)  # only "Adopt changegate (#1)", which GitHub does not know: maybe no access at all
    assert result["changes"][-1]["findings"] == ["NO_PR_EVIDENCE"]
    audit(world, capsys)
    assert github.state.path_counts()[f"/repos/{b.REPO}/pulls/1"] == 2  # asked again: a 404 can also mean "not allowed to see it"
