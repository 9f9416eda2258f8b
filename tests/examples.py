"""The example snapshots in examples/snapshots/, built from GitHub's REST examples.

Regenerate with `python -m tests.examples`; tests/cli/test_check_cli.py fails if they drift.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests import builders as b

FOLDER = Path(__file__).parent.parent / "examples" / "snapshots"


def _stale() -> dict[str, Any]:
    data = b.green(b.snapshot())
    b.review(data, "hubot", commit=b.OLD_HEAD)
    return data


def _self_approved() -> dict[str, Any]:
    data = b.green(b.snapshot())
    b.review(data, b.AUTHOR)
    return data


def _failed_check() -> dict[str, Any]:
    data = b.green(b.snapshot(), ("lint", "build"))
    b.check_run(data, "test", conclusion="failure")
    b.review(data, "hubot")
    return data


def _codeowners_missing() -> dict[str, Any]:
    data = b.standard_pass()
    data["codeowners"] = "* @octocat/engineering\n/src/webhooks/ @octocat/payments\n"
    data["teams"]["octocat/payments"] = ["monalisa"]
    return data


def _emergency_no_record() -> dict[str, Any]:
    data = b.green(b.snapshot(title="fix: stop double charges", labels=("emergency",), author="oncall"))
    b.review(data, "hubot")
    return data


EXAMPLES: dict[str, Callable[[], dict[str, Any]]] = {
    "standard-pass": b.standard_pass,
    "standard-stale-approval": _stale,
    "standard-self-approval": _self_approved,
    "significant-no-security-lead": lambda: b.significant(security_approves=False),
    "significant-pass": b.significant,
    "failed-check": _failed_check,
    "codeowners-missing": _codeowners_missing,
    "emergency-no-record": _emergency_no_record,
}


def render(name: str) -> str:
    return json.dumps(EXAMPLES[name](), indent=2, sort_keys=True) + "\n"


def main() -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    for name in EXAMPLES:
        (FOLDER / f"{name}.json").write_text(render(name), "utf-8")


if __name__ == "__main__":
    main()
