"""The audit as an OSCAL assessment-results document for ISO/IEC 27001:2022 A.8.32.

One result for the audit period; one observation summarising the population and one per change with
findings (method TEST); one finding for the control and one per finding code, each with
`satisfied`/`not-satisfied`. changegate's own facts (SHA, PR, codes) are props in the changegate
namespace. UUIDs are uuid5 over the content, so rerunning on the same data gives the same document
(apart from `last-modified` and `collected`, which are `now`). An observation's UUID depends on its
change's SHA only, as OSCAL asks ("consistently used to identify the same subject across revisions").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from typing import Any

from changegate.core.audit_model import FINDINGS, AuditResult, Change
from changegate.reports import common

CONTROL_ID = "a.8.32"
CONTROL_TITLE = "ISO/IEC 27001:2022 A.8.32 Change management"
OSCAL_VERSION = "1.2.1"
NS = "urn:changegate:ns:oscal"  # changegate's property namespace (a name, never fetched)
UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, NS)


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(UUID_NAMESPACE, "\x1f".join(parts)))


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _line(text: str) -> str:
    """OSCAL titles and prop values are one line, with no leading or trailing blanks."""
    return " ".join(text.split())


def _prop(name: str, value: Any) -> dict[str, str]:
    return {"name": name, "ns": NS, "value": _line(str(value))}


def _props(pairs: list[tuple[str, Any]]) -> list[dict[str, str]]:
    return [_prop(name, value) for name, value in pairs if value is not None and _line(str(value))]


def _iso(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"OSCAL needs time zones; got the naive datetime {moment.isoformat()}")
    return moment.isoformat()


def _period(result: AuditResult, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    moments = [m for c in result.changes for m in (c.first_commit_at, c.committed_at, c.deployed_at) if m]
    return (min(moments), max(moments)) if moments else (now, now)


def _with_findings(result: AuditResult) -> list[Change]:
    return [c for c in result.changes if c.findings]


def _change_observation(change: Change, repo: str | None, now: dt.datetime) -> dict[str, Any]:
    ident = common.change_id(change, repo)
    lines = [f"{code}: {common.describe(code)}." for code in change.findings]
    evidence = [{"description": f"{code}: {change.evidence[code]}", **({"href": change.evidence[code]}
                 if change.evidence[code].startswith(("https://", "http://")) else {})}
                for code in change.findings if change.evidence.get(code, "").strip()]
    observation: dict[str, Any] = {
        "uuid": _uuid("observation", change.sha),
        "title": _line(f"{ident}: {change.subject}") or ident,
        "description": f"Change {ident} (commit {change.sha}, {change.kind}) has findings:\n" + "\n".join(lines),
        "props": _props([("change-id", ident), ("sha", change.sha), ("pr", change.pr), ("kind", change.kind),
                         ("change-type", change.change_type or "unknown"), ("author", change.author),
                         ("emergency", change.emergency),
                         ("deployed-at", change.deployed_at.isoformat() if change.deployed_at else None),
                         *(("finding-code", code) for code in change.findings)]),
        "methods": ["TEST"],
        "types": ["finding"],
        "collected": _iso(now),
    }
    if evidence:
        observation["relevant-evidence"] = evidence
    return observation


def _population_observation(result: AuditResult, digest: str, now: dt.datetime) -> dict[str, Any]:
    with_exceptions = sum(1 for c in result.changes if common.exceptions_of(c))
    unlinked = common.unlinked_deployments(result)
    counts = common.finding_counts(result)
    text = [f"The population: {len(result.changes)} changes on the audited branch, each reconciled to its pull "
            f"request, approvals, checks and production deployments; {with_exceptions} have exceptions; "
            f"{len(unlinked)} production deployments are explained by no change."]
    text += [f"{code}: {n}" for code, n in counts.items()]
    return {
        "uuid": _uuid("population", digest),
        "title": "Population of production changes",
        "description": "\n".join(text),
        "props": _props([("population", len(result.changes)), ("changes-with-exceptions", with_exceptions),
                         ("unlinked-deployments", len(unlinked)),
                         *((f"summary-{k}", common.fmt_value(v)) for k, v in result.summary.items()
                           if isinstance(v, str | int | float) and _token(f"summary-{k}"))]),
        "methods": ["TEST"],
        "collected": _iso(now),
    }


def _token(name: str) -> bool:
    return (name[:1].isalpha() or name[:1] == "_") and all(ch.isalnum() or ch in "._-" for ch in name) and name.isascii()


def _finding(digest: str, code: str, occurrences: int, changes: list[Change], observations: list[str]) -> dict[str, Any]:
    """The check `code` over the population; `observations` support it (the population's first)."""
    failed = bool(occurrences) and code not in common.INFORMATIONAL
    detail = f"{occurrences} occurrence(s)" if occurrences else "No occurrence in the population"
    if changes:
        detail += ": " + ", ".join(c.sha[:12] for c in changes)
    return {
        "uuid": _uuid("finding", digest, code),
        "title": f"{code}: {common.describe(code)}",
        "description": f"Check {code} ({common.describe(code)}) over the population. {detail}.",
        "props": _props([("finding-code", code), ("occurrences", occurrences),
                         ("informational", "true" if code in common.INFORMATIONAL else None)]),
        "target": {"type": "objective-id", "target-id": f"{CONTROL_ID}.{code.lower()}",
                   "title": f"{CONTROL_ID} {code}", "status": _status(not failed)},
        "related-observations": [{"observation-uuid": u} for u in observations],
    }


def _status(satisfied: bool) -> dict[str, str]:
    return {"state": "satisfied", "reason": "pass"} if satisfied else {"state": "not-satisfied", "reason": "fail"}


def render_oscal(result: AuditResult, *, now: dt.datetime, title: str) -> dict[str, Any]:
    """An OSCAL assessment-results document (as JSON-ready data) for control a.8.32."""
    content = {k: v for k, v in result.as_dict().items() if k != "generated_by"}  # not run-dependent
    digest = _digest(content)
    repo = common.repository(result)
    start, end = _period(result, now)
    population = _population_observation(result, digest, now)
    by_sha = {c.sha: _change_observation(c, repo, now) for c in _with_findings(result)}
    observations = [population, *by_sha.values()]
    counts = common.finding_counts(result)
    codes = list(FINDINGS) + sorted(set(counts) - set(FINDINGS))
    per_code = []
    for code in codes:
        changes = [c for c in result.changes if code in c.findings]
        per_code.append(_finding(digest, code, counts[code], changes,
                                 [population["uuid"], *(by_sha[c.sha]["uuid"] for c in changes)]))
    failing = [code for code in codes if counts[code] and code not in common.INFORMATIONAL]
    control = {
        "uuid": _uuid("finding", digest, CONTROL_ID),
        "title": CONTROL_TITLE,
        "description": (f"Not satisfied: {len(failing)} check(s) failed ({', '.join(failing)})." if failing
                        else "Satisfied: every change in the population passed every check."),
        "target": {"type": "statement-id", "target-id": f"{CONTROL_ID}_smt", "title": CONTROL_TITLE,
                   "status": _status(not failing)},
        "related-observations": [{"observation-uuid": o["uuid"]} for o in observations],
    }
    plan = _uuid("plan", NS)
    generated = [(f"generated-by-{k}", common.fmt_value(v)) for k, v in result.generated_by.items()
                 if isinstance(v, str | int | float) and _token(f"generated-by-{k}")]
    return {"assessment-results": {
        "uuid": _uuid("assessment-results", digest, title),
        "metadata": {"title": _line(title) or "changegate audit", "last-modified": _iso(now),
                     "version": _line(str(result.generated_by.get("version", ""))) or "1", "oscal-version": OSCAL_VERSION,
                     **({"props": _props(generated)} if _props(generated) else {})},
        "import-ap": {"href": f"#{plan}"},
        "results": [{
            "uuid": _uuid("result", digest),
            "title": f"Change management audit {start.date().isoformat()} to {end.date().isoformat()}"
                     + (f" ({repo})" if repo else ""),
            "description": "Every production change in the period, reconstructed from git, GitHub and the deployment "
                           "records by changegate and tested against the change management procedure.",
            "start": _iso(start), "end": _iso(end),
            "reviewed-controls": {"control-selections": [{"include-controls": [{"control-id": CONTROL_ID}]}]},
            "observations": observations,
            "findings": [control, *per_code],
        }],
        "back-matter": {"resources": [{
            "uuid": plan, "title": "changegate change management procedure (the assessment plan)",
            "description": "No separate OSCAL assessment plan: the checks are changegate's policy, applied to every change.",
        }]},
    }}
