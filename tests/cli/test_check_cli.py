"""`changegate check`, `policy` and `init` through the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from changegate.cli import main
from tests import examples

ROOT = Path(__file__).parent.parent.parent
SNAPSHOTS = ROOT / "examples" / "snapshots"
AT = "2026-11-24T01:00:00Z"


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    code = main(["check", *args, "--format", "json", "--at", AT])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(("name", "change_type", "state", "code"), [
    ("standard-pass", "standard", "pass", 0),
    ("standard-stale-approval", "standard", "pending", 1),
    ("standard-self-approval", "standard", "pending", 1),
    ("significant-no-security-lead", "significant", "pending", 1),
    ("significant-pass", "significant", "pass", 0),
    ("failed-check", "standard", "fail", 1),
    ("codeowners-missing", "standard", "pending", 1),
    ("emergency-no-record", "emergency", "fail", 1),
])
def test_example_verdicts(capsys: pytest.CaptureFixture[str], name: str, change_type: str, state: str, code: int) -> None:
    exit_code, verdict = run_json(capsys, "--snapshot", str(SNAPSHOTS / f"{name}.json"))
    assert (verdict["change_type"], verdict["state"], exit_code) == (change_type, state, code)
    assert {"change_type", "state", "type_reasons", "requirements", "warnings"} <= set(verdict)
    for requirement in verdict["requirements"]:  # type: ignore[attr-defined]
        assert {"id", "state", "detail"} <= set(requirement)


def test_examples_are_up_to_date() -> None:
    for name in examples.EXAMPLES:
        assert (SNAPSHOTS / f"{name}.json").read_text("utf-8") == examples.render(name), f"run `python -m tests.examples` ({name})"


def test_snapshot_from_stdin_through_the_console_entry(tmp_path: Path) -> None:
    text = (SNAPSHOTS / "significant-pass.json").read_text("utf-8")
    done = subprocess.run([sys.executable, "-m", "changegate", "check", "--snapshot", "-", "--at", AT, "--format", "markdown"],
                          input=text, capture_output=True, text=True, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("### Significant change: pass")
    assert "| ✅ | `approvals.security_lead` |" in done.stdout


def test_text_output_explains(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--snapshot", str(SNAPSHOTS / "significant-no-security-lead.json"), "--at", AT])
    out = capsys.readouterr()
    assert code == 1
    assert "Significant change: pending" in out.out
    assert ".github/workflows/deploy.yml" in out.out
    assert "Security Lead (@octocat/security-lead: sec-lead)" in out.out
    assert "warning: the procedure's next review was due on 2026-11-21" in out.out


@pytest.mark.parametrize(("args", "message"), [
    (["--snapshot", "missing.json"], "snapshot file missing.json does not exist"),
    (["--snapshot", str(SNAPSHOTS / "standard-pass.json"), "--at", "2026-11-24T09:00"], "has no UTC offset"),
    (["--snapshot", str(SNAPSHOTS / "standard-pass.json"), "--at", "tuesday"], "not an RFC 3339 time"),
    (["--snapshot", str(SNAPSHOTS / "standard-pass.json"), "--policy", "nope.yml"], "policy file nope.yml does not exist"),
])
def test_bad_input_exits_2(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert main(["check", *args]) == 2
    assert message in capsys.readouterr().err


def test_malformed_snapshot_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads((SNAPSHOTS / "standard-pass.json").read_text("utf-8"))
    del data["pull_request"]["head"]["sha"]
    data["reviews"][0]["state"] = 7
    data["colour"] = "red"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), "utf-8")
    assert main(["check", "--snapshot", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "pull_request.head.sha: required key is missing" in err
    assert "reviews.0.state" in err
    assert "colour: unknown key" in err
    (tmp_path / "broken.json").write_text("{\n  \"repository\": ,\n}", "utf-8")
    assert main(["check", "--snapshot", str(tmp_path / "broken.json")]) == 2
    assert "broken.json:2:17: snapshot is not valid JSON" in capsys.readouterr().err


def test_policy_validate_default_warns_about_overdue_review(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["policy", "validate"]) == 0
    out = capsys.readouterr()
    assert "<default policy>: valid" in out.out
    assert "next review was due on 2026-11-21" in out.err


def test_policy_validate_broken_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from changegate.policy_source import default_policy_text

    bad = tmp_path / "changegate.yml"
    bad.write_text(default_policy_text().replace("window: business_hours", "window: office").replace("count: 1}", "count: -1}"), "utf-8")
    assert main(["policy", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    lines = [line.strip() for line in err.splitlines() if line.strip().startswith(str(bad) + ":")]
    assert len(lines) == 2, err  # the structural problem does not hide the semantic one
    assert lines[0].startswith(f"{bad}:48:17: types.standard.approvals.count: Input should be greater than or equal to 0")
    assert lines[1].startswith(f"{bad}:56:5: types.significant.window: unknown window 'office'")


def test_init_writes_then_refuses_to_overwrite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    assert (tmp_path / "changegate.yml").is_file()
    assert main(["init"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["policy", "validate"]) == 0
    assert "changegate.yml: valid" in capsys.readouterr().out


def test_policy_show_and_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "show"]) == 0
    out = capsys.readouterr().out
    assert "Significant" in out and "2 reviewers incl. Security Lead" in out and "120 min" in out
    assert "verbal approval by ISMS Owner or Security Lead" in out
    assert main(["policy", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "types" in schema["properties"] and "windows" in schema["properties"]


def test_a_repository_policy_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from changegate.policy_source import default_policy_text

    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "changegate.yml").write_text(default_policy_text().replace("approvals: {count: 1}", "approvals: {count: 2}"), "utf-8")
    monkeypatch.chdir(tmp_path)
    code, verdict = run_json(capsys, "--snapshot", str(SNAPSHOTS / "standard-pass.json"))
    assert (code, verdict["state"]) == (1, "pending")
    assert verdict["policy"]["source"].endswith(".github/changegate.yml")  # type: ignore[index]
