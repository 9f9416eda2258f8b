"""One renderer for a Verdict: text for terminals, Markdown for check runs and comments, JSON. Pure."""

from __future__ import annotations

import json
from typing import Any

from changegate.core.verdict import Overall, State, Verdict

MARK = {State.SATISFIED: "ok", State.PENDING: "..", State.FAILED: "XX"}
EMOJI = {State.SATISFIED: "✅", State.PENDING: "⏳", State.FAILED: "❌"}
HEADLINE = {Overall.PASS: "passes", Overall.PENDING: "is pending", Overall.FAIL: "fails"}


def title(verdict: Verdict) -> str:
    """'Significant change: pending (2 of 7 requirements outstanding)'."""
    open_items = sum(1 for r in verdict.requirements if r.state is not State.SATISFIED)
    tail = f" ({open_items} of {len(verdict.requirements)} requirements outstanding)" if open_items else ""
    return f"{verdict.change_type.value.title()} change: {verdict.state.value}{tail}"


def as_text(verdict: Verdict) -> str:
    lines = [f"{verdict.repository}#{verdict.pull_request} at {verdict.head_sha[:7]}: {title(verdict)}", "", "Why this type:"]
    lines += [f"  - {reason.detail}" for reason in verdict.type_reasons]
    lines += ["", "Requirements:"]
    width = max((len(r.id) for r in verdict.requirements), default=0)
    lines += [f"  [{MARK[r.state]}] {r.id.ljust(width)}  {r.detail}" for r in verdict.requirements]
    if verdict.after_merge:
        lines += ["", "After merge:"] + [f"  - {step}" for step in verdict.after_merge]
    if verdict.deploy_window is not None:
        lines += ["", f"Deploy window now: {verdict.deploy_window.reason}"]
    if verdict.warnings:
        lines += [""] + [f"warning: {warning}" for warning in verdict.warnings]
    return "\n".join(lines)


def as_markdown(verdict: Verdict) -> str:
    lines = [f"### {title(verdict)}", "", f"This {verdict.change_type.value} change {HEADLINE[verdict.state]} the Change Management Procedure at `{verdict.head_sha[:7]}`.", "", "**Why this type**", ""]
    lines += [f"- {_md(reason.detail)}" for reason in verdict.type_reasons]
    lines += ["", "| | Requirement | Status |", "|---|---|---|"]
    lines += [f"| {EMOJI[r.state]} | `{r.id}` | {_md(r.detail)} |" for r in verdict.requirements]
    if verdict.after_merge:
        lines += ["", "**After merge**", ""] + [f"- {_md(step)}" for step in verdict.after_merge]
    if verdict.deploy_window is not None:
        lines += ["", f"**Deploy window now:** {_md(verdict.deploy_window.reason)}"]
    if verdict.warnings:
        lines += [""] + [f"> **Warning:** {_md(warning)}" for warning in verdict.warnings]
    return "\n".join(lines)


def as_json(verdict: Verdict, **extra: Any) -> str:
    return json.dumps({**verdict.as_dict(), **extra}, indent=2, sort_keys=False)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
