"""`changegate window` through the real entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from changegate.cli import main

DEFAULT_TEXT = (resources.files("changegate") / "data" / "default-policy.yml").read_text("utf-8")
FREEZE = (
    "freezes:\n"
    "  - name: year-end\n"
    "    start: 2026-12-24T00:00\n"
    "    end: 2027-01-05T00:00\n"
    "    reason: Holiday shutdown\n"
)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["window", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _no_policy_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in an empty directory, so the shipped default policy is the one found."""
    monkeypatch.chdir(tmp_path)


def test_closed_on_christmas_day_exits_1_and_says_when_it_opens(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "--type", "significant", "--at", "2026-12-25T10:00:00+11:00")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == (
        "significant: closed at 2026-12-25T10:00:00+11:00 (window business_hours)"
    )
    assert "Christmas Day (public holiday, AU/NSW)" in lines[1]
    assert "Next open: Tuesday 29 Dec 2026 09:00 AEDT." in lines[1]
    assert "next open: 2026-12-29T09:00:00+11:00" in lines


def test_open_in_business_hours_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "--type", "significant", "--at", "2026-11-30T23:30:00Z", "--format", "json"
    )
    assert code == 0
    document = json.loads(out)
    assert document == {
        "type": "significant",
        "window": "business_hours",
        "open": True,
        "next_open": None,
        "closes_at": "2026-12-01T17:00:00+11:00",
        "reason": document["reason"],
        "timezone": "Australia/Sydney",
        "at": "2026-12-01T10:30:00+11:00",
    }
    assert "Tuesday 1 Dec 2026 10:30 AEDT is within them" in document["reason"]


def test_closed_as_json_gives_next_open_in_the_policy_zone(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(
        capsys, "--type", "significant", "--at", "2026-04-02T17:00:00+11:00", "--format", "json"
    )
    assert code == 1
    document = json.loads(out)
    assert document["open"] is False
    assert document["next_open"] == "2026-04-07T09:00:00+10:00"  # after Easter, in AEST
    assert document["closes_at"] is None


@pytest.mark.parametrize("change_type", ["standard", "emergency"])
def test_standard_and_emergency_are_open_on_a_sunday_night(
    capsys: pytest.CaptureFixture[str], change_type: str
) -> None:
    code, out, _ = run(capsys, "--type", change_type, "--at", "2026-11-29T23:00:00+11:00")
    assert code == 0
    assert out.startswith(f"{change_type}: open at 2026-11-29T23:00:00+11:00")


def test_without_at_it_reads_the_clock(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--type", "emergency", "--format", "json")
    assert code == 0
    assert json.loads(out)["at"].endswith(("+10:00", "+11:00"))


def test_an_at_without_offset_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--type", "significant", "--at", "2026-12-01T10:00")
    assert code == 2
    assert out == ""
    assert "add Z" in err and "2026-12-01T10:00" in err


def test_an_unknown_type_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--type", "urgent")
    assert code == 2
    assert "urgent" in err


def test_a_freeze_in_the_policy_file_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policy = tmp_path / "frozen.yml"
    policy.write_text(DEFAULT_TEXT.replace("freezes: []\n", FREEZE), "utf-8")
    args = ["--at", "2026-12-24T10:00:00+11:00", "--policy", str(policy)]
    code, out, _ = run(capsys, "--type", "standard", *args)
    assert code == 1
    assert "freeze 'year-end' (Holiday shutdown)" in out
    assert "next open: 2027-01-05T00:00:00+11:00" in out
    code, out, _ = run(capsys, "--type", "emergency", *args)
    assert code == 0


def test_the_policy_in_the_working_directory_is_used_and_warnings_go_to_stderr(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = DEFAULT_TEXT.replace("next_review: 2026-11-21", "next_review: 2020-01-01")
    (tmp_path / "changegate.yml").write_text(text.replace("freezes: []\n", FREEZE), "utf-8")
    code, out, err = run(capsys, "--type", "standard", "--at", "2026-12-24T10:00:00+11:00")
    assert code == 1
    assert "year-end" in out
    assert "warning: " in err and "warning" not in out


def test_python_dash_m_changegate_window(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "changegate", "window", "--type", "significant",
         "--at", "2026-11-28T10:00:00+11:00", "--format", "json"],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60,
    )
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert document["next_open"] == "2026-11-30T09:00:00+11:00"
    assert "Saturday 28 Nov 2026 10:00 AEDT is outside them" in document["reason"]


def test_policy_from_standard_input(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "changegate", "window", "--type", "standard",
         "--at", "2026-12-24T10:00:00+11:00", "--policy", "-"],
        cwd=tmp_path, input=DEFAULT_TEXT.replace("freezes: []\n", FREEZE),
        capture_output=True, text=True, check=False, timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert "year-end" in result.stdout
