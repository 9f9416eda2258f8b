"""A Verdict as the body of the `changegate` check run on the PR's head commit. Pure.

Conclusions: pass -> success, pending -> action_required, fail -> failure. An invalid policy
gives a failing check run that says what to fix (fail closed).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from changegate.core.explain import as_markdown, title
from changegate.core.verdict import Overall, State, Verdict

CHECK_NAME = "changegate"
CONCLUSION = {Overall.PASS: "success", Overall.PENDING: "action_required", Overall.FAIL: "failure"}
MAX_TEXT = 65_000  # GitHub's limit on output.summary and output.text is 65,535 characters


def check_run_body(verdict: Verdict, *, completed_at: dt.datetime, details_url: str | None = None) -> dict[str, Any]:
    outstanding = [r for r in verdict.requirements if r.state is not State.SATISFIED]
    summary_lines = [f"- **{r.id}**: {r.detail}" for r in outstanding] or ["Every requirement of the procedure is met."]
    body: dict[str, Any] = {
        "name": CHECK_NAME,
        "head_sha": verdict.head_sha,
        "status": "completed",
        "conclusion": CONCLUSION[verdict.state],
        "completed_at": _iso(completed_at),
        "external_id": f"{verdict.repository}#{verdict.pull_request}",
        "output": {
            "title": title(verdict)[:250],
            "summary": _clip("\n".join(summary_lines)),
            "text": _clip(as_markdown(verdict)),
        },
    }
    if details_url:
        body["details_url"] = details_url
    return body


def policy_error_body(*, head_sha: str, source: str, problems: list[str], message: str, completed_at: dt.datetime) -> dict[str, Any]:
    listed = "\n".join(f"- `{problem}`" for problem in problems) or f"- {message}"
    summary = f"The change policy could not be read, so nothing can pass (fail closed). Fix these problems on the base branch and push:\n\n{listed}"
    return _failure(head_sha, f"Invalid policy in {source}", summary, completed_at)


def error_body(*, head_sha: str, message: str, completed_at: dt.datetime) -> dict[str, Any]:
    """A failing check run for data changegate could not trust (e.g. a truncated file list)."""
    return _failure(head_sha, "changegate could not evaluate this change", f"{message}\n\nNothing passes on incomplete data (fail closed).", completed_at)


def _failure(head_sha: str, title_text: str, summary: str, completed_at: dt.datetime) -> dict[str, Any]:
    return {
        "name": CHECK_NAME,
        "head_sha": head_sha,
        "status": "completed",
        "conclusion": "failure",
        "completed_at": _iso(completed_at),
        "output": {"title": title_text[:250], "summary": _clip(summary)},
    }


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 40] + "\n\n… (truncated; see changegate)"
