"""The audit as CSV (one row per change, the auditor's change-log fields) and as Markdown."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from typing import Any

from changegate.core.audit_model import AuditResult, Change
from changegate.reports import common

CSV_FIELDS: tuple[str, ...] = (
    "change_id", "change_type", "kind", "sha", "pr", "author", "committed_at", "subject", "findings", "evidence",
    "emergency", "deployed_at", "lead_time_seconds", "deployments", "sources", "approved_by", "approved_before_merge", "merged_by", "checks",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # spreadsheet formula injection (OWASP "CSV Injection")


def _text(value: str | None) -> str:
    """A free-text cell: a leading formula character is neutralised with a quote, as OWASP advises."""
    if not value:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_row(change: Change, repo: str | None) -> dict[str, str]:
    data = change.as_dict()
    lead = data["lead_time_seconds"]
    return {
        "change_id": common.change_id(change, repo),
        "change_type": change.change_type or "",
        "kind": change.kind,
        "sha": change.sha,
        "pr": "" if change.pr is None else str(change.pr),
        "author": _text(change.author),
        "committed_at": data["committed_at"],
        "subject": _text(change.subject),
        "findings": ";".join(change.findings),
        "evidence": json.dumps(change.evidence, sort_keys=True, ensure_ascii=False) if change.evidence else "",
        "emergency": _text(change.emergency),
        "deployed_at": data["deployed_at"] or "",
        "lead_time_seconds": "" if lead is None else f"{lead:g}",
        "deployments": json.dumps(change.deployments, sort_keys=True, default=str) if change.deployments else "",
        "sources": ";".join(change.sources),
        **_review(change.review),
    }


def _review(review: Mapping[str, Any] | None) -> dict[str, str]:
    if review is None:
        return {"approved_by": "", "approved_before_merge": "", "merged_by": "", "checks": ""}
    before = review.get("approved_before_merge")
    return {"approved_by": _text(";".join(f"{a['by']}@{a['at'] or '?'}" for a in review.get("approvals", []))),
            "approved_before_merge": "" if before is None else str(bool(before)).lower(), "merged_by": _text(review.get("merged_by")),
            "checks": _text(";".join(f"{c['name']}={c['conclusion']}" for c in review.get("checks", [])))}


def render_csv(result: AuditResult) -> str:
    """One row per change, RFC 4180 (CRLF line ends, quoted where needed), header first."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    repo = common.repository(result)
    for change in result.changes:
        writer.writerow(csv_row(change, repo))
    return out.getvalue()


def md(value: Any) -> str:
    """Text safe inside a Markdown table cell: one line, no column breaks, no raw HTML."""
    text = value if isinstance(value, str) else common.fmt_value(value)
    text = " ".join(text.split())
    for raw, safe in (("\\", "\\\\"), ("|", "\\|"), ("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"),
                      ("`", "\\`"), ("*", "\\*"), ("_", "\\_"), ("[", "\\["), ("]", "\\]")):
        text = text.replace(raw, safe)
    return text or "—"


def _code(value: str) -> str:
    return f"`{value.replace('`', '')}`" if value else "—"


def _md_table(headers: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    """Cells are already Markdown-safe."""
    heads = list(headers)
    lines = ["| " + " | ".join(heads) + " |", "|" + "|".join("---" for _ in heads) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _kv(values: Mapping[str, Any]) -> list[str]:
    if not values:
        return ["None recorded.", ""]
    return _md_table(("Field", "Value"), ((md(str(k)), md(v)) for k, v in values.items()))


def render_markdown(result: AuditResult) -> str:
    repo = common.repository(result)
    with_exceptions = sum(1 for c in result.changes if common.exceptions_of(c))
    lines = [f"# Change management audit{f' — {md(repo)}' if repo else ''}", "",
             "Controls: ISO/IEC 27001:2022 A.8.32, SOC 2 CC8.1.", "",
             "## Summary", "",
             f"Population: **{len(result.changes)}** changes; **{with_exceptions}** with exceptions.", "",
             *_kv(result.summary), "## Findings", ""]
    counts = common.finding_counts(result)
    if counts:
        lines += _md_table(("Code", "Count", "Meaning"), (
            (_code(code), str(n), md(common.describe(code)))
            for code, n in counts.items()))
        lines += _md_table(("Change", "SHA", "Subject", "Findings", "Evidence"), (
            (md(common.change_id(c, repo)), _code(c.sha[:12]), md(c.subject), ", ".join(_code(f) for f in c.findings),
             md("; ".join(f"{code}: {c.evidence[code]}" for code in c.findings if code in c.evidence)))
            for c in result.changes if c.findings))
    else:
        lines += ["No findings.", ""]
    lines += ["## Reconciliation", ""]
    lines += _kv({k: v for k, v in result.reconciliation.items() if not isinstance(v, list | tuple)})
    for key, value in result.reconciliation.items():
        if isinstance(value, list | tuple):
            lines += [f"### {md(str(key))} ({len(value)})", ""]
            lines += [f"- {md(common.item_label(item))}" for item in value] or ["None."]
            lines.append("")
    lines += ["## DORA", "", *_kv(result.dora)]
    if result.weekly:
        lines += _md_table(("Week", *common.TYPES, "Exceptions", "Deploys"), (
            (md(str(row.get("week", "?"))), *(str(common.as_int(row.get(t))) for t in common.TYPES),
             str(common.as_int(row.get("exceptions"))), str(common.as_int(row.get("deploys"))))
            for row in result.weekly))
    lines += ["## Sample", "", *_kv(result.sample)]
    chosen = common.sampled_changes(result)
    if chosen:
        lines += _md_table(("Change", "SHA", "Type", "Subject", "Findings", "Deployed at"), (
            (md(common.change_id(c, repo)), _code(c.sha[:12]), md(c.change_type or "unknown"), md(c.subject),
             ", ".join(_code(f) for f in c.findings) or "none", md(common.fmt_time(c.deployed_at)))
            for c in chosen))
    return "\n".join(lines).rstrip("\n") + "\n"
