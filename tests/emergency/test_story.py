"""The emergency story end to end: declare (verbal approval by phone) -> deploy at 03:00 on a Sunday
(real wrangler, workerd and the Cloudflare emulator) -> post-hoc PR opened, approved, squash-merged
-> linked from the git history -> PIR recorded -> nothing overdue. And its late twin."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from changegate.adapters.notify import SlackNotifier
from changegate.adapters.store.emergencies import EmergencyStore
from changegate.cli import main
from changegate.errors import ChangegateError
from changegate.policy_source import parse_policy_text
from changegate.services.emergency import declare, pir_template, record_pir, remind
from changegate.services.obligations import obligations
from changegate.wiring_emergency import link_emergency
from tests import builders as b
from tests.cloudflare_emulator import CloudflareEmulator
from tests.deploy.harness import SUNDAY_3AM, Rig, make_rig

FUTURE_REVIEW = "next_review: 2027-05-21"  # the story is about the emergency, not the procedure's own review


@pytest.fixture
def story(tmp_path: Path, cloudflare: CloudflareEmulator, wrangler_bin: Path, worker_dev: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    rig = make_rig(tmp_path, cloudflare, wrangler_bin)
    monkeypatch.setenv("CHANGEGATE_DATABASE_URL", f"sqlite:///{tmp_path / 'changegate.db'}")
    rig.base_time = SUNDAY_3AM
    with worker_dev(mode="healthy") as url:
        rig.endpoint = f"{url}/health"
        yield rig
    rig.close()


def run_story(rig: Rig, tmp_path: Path, *, opened_after: dt.timedelta, pir: bool) -> dt.datetime:
    deployer = rig.deployer()
    policy = parse_policy_text(rig.policy_text().replace("next_review: 2026-11-21", FUTURE_REVIEW), source="test").policy
    book = EmergencyStore(rig.store.engine)
    sha = rig.commit("hotfix: stop double charges")  # pushed straight to main
    record = declare(policy, book, rig.store, repository=b.REPO, service="api", incident="INC-1234", severity="P1", approved_by="sec-lead",
                     channel="phone", declared_by="oncall", reason="payments down", sha=sha, teams=rig.teams, now=rig.now())
    change = rig.change(deployer, sha)
    assert (change.ref, change.problem) == (f"emergency {record.id}", None)
    deployed = deployer.deploy("api", environment="production", sha=sha, change=change)
    assert deployed.state == "verified", deployed.detail
    assert deployed.deployed_at is not None
    # the post-hoc PR: opened `opened_after` the deploy, approved, squash-merged naming the emergency
    data = b.green(b.snapshot(title=f"fix: stop double charges ({record.id})", author="oncall",
                              created_at=(deployed.deployed_at + opened_after).isoformat().replace("+00:00", "Z")))
    b.review(data, "hubot", at=(deployed.deployed_at + opened_after + dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z"))
    rig.record_verdict(12, data)
    rig.commit(f"fix: stop double charges, documents {record.id} (#12)")
    assert "linked to #12" in link_emergency(record.id, pull_request=None, opened_at=None, approved_at=None, repo_path=rig.root, branch="main")
    stored = book.find_emergency(b.REPO, pr_number=12, sha=None)
    assert stored is not None and stored["deployed_at"] is not None  # the post-hoc PR's verdict can say "documents EMG-n, deployed …"
    data["emergency"] = stored
    verdict = rig.record_verdict(12, data)
    assert verdict == ("pass" if opened_after <= dt.timedelta(hours=24) else "fail")
    if pir:
        review = pir_template(policy, record.id).replace("<yes / no, and why>", "Yes: a contract test on the retry path would have caught it.")
        record_pir(book, rig.store, record.id, text=review, recorded_by="isms-owner", now=deployed.deployed_at + dt.timedelta(days=2))
    (tmp_path / "policy.yml").write_text(rig.policy_text().replace("next_review: 2026-11-21", FUTURE_REVIEW), "utf-8")
    return deployed.deployed_at


def listed(capsys: pytest.CaptureFixture[str], tmp_path: Path, at: dt.datetime, *flags: str) -> tuple[int, list[dict[str, Any]]]:
    code = main(["obligations", "--all", "--format", "json", "--at", at.isoformat(), "--policy", str(tmp_path / "policy.yml"), *flags])
    return code, json.loads(capsys.readouterr().out)


def test_the_emergency_story_leaves_nothing_overdue(story: Rig, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deployed_at = run_story(story, tmp_path, opened_after=dt.timedelta(hours=20), pir=True)
    code, items = listed(capsys, tmp_path, deployed_at + dt.timedelta(days=10))
    states = {item["kind"]: item["state"] for item in items}
    assert states == {"posthoc_pr": "met", "posthoc_review": "met", "pir": "met", "procedure_review": "open"}
    assert code == 0
    assert main(["obligations", "--overdue", "--at", (deployed_at + dt.timedelta(days=10)).isoformat(), "--policy", str(tmp_path / "policy.yml")]) == 0
    assert story.store.verify().ok


def test_the_late_story_is_reported_and_exits_1(story: Rig, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deployed_at = run_story(story, tmp_path, opened_after=dt.timedelta(hours=30), pir=False)
    code, items = listed(capsys, tmp_path, deployed_at + dt.timedelta(days=10))
    by_kind = {item["kind"]: item for item in items}
    assert (by_kind["posthoc_pr"]["state"], by_kind["posthoc_pr"]["code"]) == ("met_late", "LATE_POSTHOC_PR")
    assert (by_kind["pir"]["state"], by_kind["pir"]["code"]) == ("overdue", "MISSING_PIR")
    assert code == 1
    assert main(["obligations", "--overdue", "--at", (deployed_at + dt.timedelta(days=10)).isoformat(), "--policy", str(tmp_path / "policy.yml")]) == 1
    assert "MISSING_PIR" in capsys.readouterr().out


def test_the_procedures_own_overdue_review_is_an_obligation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CHANGEGATE_DATABASE_URL", f"sqlite:///{tmp_path / 'cg.db'}")
    monkeypatch.chdir(tmp_path)
    assert main(["obligations", "--at", "2026-11-24T00:00:00Z"]) == 1
    assert "OVERDUE   Sat 21 Nov 2026 23:59 AEDT Review of the Change Management Procedure" in capsys.readouterr().out


class Slack:
    """A loopback Slack incoming webhook that records every message."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        slack = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                slack.messages.append(json.loads(self.rfile.read(int(self.headers["Content-Length"])))["text"])
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:  # noqa: ARG002 - quiet
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T0/B0/x"


def test_reminders_are_sent_exactly_once_per_change_of_state(tmp_path: Path, default_policy: Any) -> None:
    from changegate.adapters.store.sql import SqlStore

    slack = Slack()
    store = SqlStore(f"sqlite:///{tmp_path / 'cg.db'}")
    book = EmergencyStore(store.engine)
    declared = dt.datetime(2026, 11, 22, 16, 0, tzinfo=dt.UTC)
    record = declare(default_policy, book, store, repository=b.REPO, service=None, incident="INC-9", severity="P2", approved_by="sec-lead",
                     channel="slack", declared_by="oncall", reason=None, sha=None, teams={"octocat/security-lead": ["sec-lead"]}, now=declared)
    notifier = SlackNotifier(slack.url)

    def run(at: dt.datetime) -> list[str]:
        found = obligations(default_policy, book.all(), store.iter_ledger(), now=at)
        return remind(found, list(store.iter_ledger()), notifier, store, lead=dt.timedelta(hours=4), now=at)

    first = run(declared + dt.timedelta(hours=21))  # post-hoc PR due in 3 h; the procedure review is overdue
    assert any("due soon: Post-hoc PR documenting" in m for m in first) and any("OVERDUE: Review of the Change Management" in m for m in first)
    assert run(declared + dt.timedelta(hours=22)) == []  # nothing changed state: nothing sent
    later = run(declared + dt.timedelta(hours=25))
    assert [m for m in later if record.id in m] == [f":alarm_clock: OVERDUE: Post-hoc PR documenting {record.id} (was due {(declared + dt.timedelta(hours=24)).isoformat()})"]
    assert run(declared + dt.timedelta(hours=26)) == []
    assert slack.messages == first + later
    slack.server.shutdown()
    slack.server.server_close()
    notifier_close = getattr(notifier, "close", None)
    if callable(notifier_close):
        notifier_close()
    store.close()


@pytest.mark.parametrize(("approved_by", "declared_by", "severity", "via", "message"), [
    ("oncall", "oncall", "P1", "phone", "is not the ISMS Owner or Security Lead"),
    ("sec-lead", "sec-lead", "P1", "phone", "cannot approve their own emergency"),
    ("sec-lead", "oncall", "P3", "phone", "P3 is not an emergency under the procedure"),
    ("sec-lead", "oncall", "P1", "email", "--via email is not accepted"),
    ("someone", "oncall", "P1", "phone", "membership of @octocat/isms-owner, @octocat/security-lead is unknown"),
])
def test_declarations_the_procedure_refuses(tmp_path: Path, default_policy: Any, approved_by: str, declared_by: str, severity: str, via: str, message: str) -> None:
    from changegate.adapters.store.sql import SqlStore

    store = SqlStore(f"sqlite:///{tmp_path / 'cg.db'}")
    teams = {} if approved_by == "someone" else {"octocat/security-lead": ["sec-lead"], "octocat/isms-owner": ["isms-owner"]}
    with pytest.raises(ChangegateError, match=message):
        declare(default_policy, EmergencyStore(store.engine), store, repository=b.REPO, service=None, incident="INC-1", severity=severity,
                approved_by=approved_by, channel=via, declared_by=declared_by, reason=None, sha=None, teams=teams, now=dt.datetime(2026, 11, 22, tzinfo=dt.UTC))
    store.close()


def test_the_approver_role_through_a_team(tmp_path: Path, default_policy: Any) -> None:
    from changegate.adapters.store.sql import SqlStore

    store = SqlStore(f"sqlite:///{tmp_path / 'cg.db'}")
    record = declare(default_policy, EmergencyStore(store.engine), store, repository=b.REPO, service=None, incident="INC-1", severity="P2",
                     approved_by="Isms-Owner", channel="in-person", declared_by="oncall", reason=None, sha=None,
                     teams={"octocat/isms-owner": ["isms-owner"]}, now=dt.datetime(2026, 11, 22, tzinfo=dt.UTC))
    assert record.id == "EMG-1" and [e.kind for e in store.iter_ledger()] == ["emergency.declared"]
    store.close()


def test_declare_and_pir_through_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from changegate.policy_source import default_policy_text

    monkeypatch.setenv("CHANGEGATE_DATABASE_URL", f"sqlite:///{tmp_path / 'cg.db'}")
    for name in ("GITHUB_TOKEN", "CHANGEGATE_GITHUB_TOKEN", "CHANGEGATE_GITHUB_APP_ID"):
        monkeypatch.delenv(name, raising=False)
    policy = tmp_path / "changegate.yml"
    policy.write_text(default_policy_text().replace('security_lead: ["@{org}/security-lead"]', 'security_lead: ["@sec-lead"]'), "utf-8")
    base = ["emergency", "declare", "--incident", "INC-7", "--approved-by", "sec-lead", "--via", "phone", "--repo", b.REPO, "--policy", str(policy)]
    assert main([*base, "--severity", "P3", "--declared-by", "oncall"]) == 2
    assert "P3 is not an emergency" in capsys.readouterr().err
    assert main([*base, "--severity", "P1", "--declared-by", "sec-lead"]) == 2
    assert "cannot approve their own emergency" in capsys.readouterr().err
    assert main([*base, "--severity", "P1", "--declared-by", "oncall"]) == 0
    assert capsys.readouterr().out.startswith("EMG-1: INC-7 (P1) approved by sec-lead via phone")
    assert main(["pir", "template", "EMG-1", "--policy", str(policy)]) == 0
    template = capsys.readouterr().out
    (tmp_path / "pir.md").write_text(template, "utf-8")
    assert main(["pir", "record", "EMG-1", "--file", str(tmp_path / "pir.md")]) == 2  # the question is not answered yet
    (tmp_path / "pir.md").write_text(template.replace("<yes / no, and why>", "No: the upstream outage could not be foreseen."), "utf-8")
    assert main(["pir", "record", "EMG-1", "--file", str(tmp_path / "pir.md")]) == 0
