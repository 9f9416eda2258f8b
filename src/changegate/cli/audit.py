"""`changegate audit`: the change log an auditor accepts, reconstructed and reconciled."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import IO

import click

from changegate.errors import ChangegateError

FORMATS = click.Choice(["text", "json", "markdown", "html", "csv", "oscal"])


@click.command("audit")
@click.option("--repo", "repo_path", default=".", show_default=True, help="The git repository.")
@click.option("--branch", default="main", show_default=True)
@click.option("--since", help="Only commits after this date (YYYY-MM-DD).")
@click.option("--until", help="Only commits before this date.")
@click.option("--github", "repository", metavar="OWNER/REPO", help="Join recorded PR evidence and emergency records of this repository (default: $GITHUB_REPOSITORY); with GitHub credentials, PRs without a recorded snapshot are fetched from the API.")
@click.option("--service", "services", multiple=True, help="Join changegate's deployments of these services (default: all recorded) and, with Cloudflare credentials, Cloudflare's deployment log of their production Workers.")
@click.option("--seed", default=0, show_default=True, help="Seed of the auditor's sample.")
@click.option("--format", "output", type=FORMATS, default="text", show_default=True)
@click.option("-o", "--output-file", "path", metavar="FILE", help="Write here (default: standard output).")
def command(repo_path: str, branch: str, since: str | None, until: str | None, repository: str | None, services: tuple[str, ...], seed: int, output: str, path: str | None) -> int:
    """Walk the first-parent history of BRANCH and derive one change per commit (squash, merge or
    rebase PR, direct push, revert, emergency), evaluated against the policy in force at that
    commit, joined with recorded evidence and deployments; findings, reconciliation, DORA."""
    from changegate.adapters.git_log import first_parent_commits
    from changegate.core.audit_model import AuditResult
    from changegate.services.audit import Auditor
    from changegate.wiring import open_store, utc_now
    from changegate.wiring_audit import PolicyTimeline, evidence_from, parse_day
    from changegate.wiring_audit_sources import open_joins

    repo = Path(repo_path)
    if not (repo / ".git").exists() and not (repo / "HEAD").exists():
        raise ChangegateError(f"{repo} is not a git repository: give --repo PATH")
    timeline = PolicyTimeline(repo, branch=branch)
    repository = repository or os.environ.get("GITHUB_REPOSITORY")
    with open_store() as store:
        evidence = evidence_from(store, repository=repository, services=services)
    joins = open_joins(evidence, repo=repo, branch=branch, repository=repository, services=services, since=parse_day(since, "--since"), until=parse_day(until, "--until"))
    auditor = Auditor(timeline.policy_at, evidence, now=utc_now(), seed=seed)
    sink: IO[str] = open(path, "w", encoding="utf-8") if path else sys.stdout  # noqa: SIM115 - closed below
    try:
        changes = []
        streaming = output == "json"
        if streaming:
            sink.write('{"changes": [')
        for count, (commit, committer) in enumerate(joins.commits(first_parent_commits(repo, branch=branch, since=parse_day(since, "--since"), until=parse_day(until, "--until")))):
            timeline.observe(commit.sha)
            change = auditor.feed(commit, committer)
            if streaming:
                sink.write(("," if count else "") + "\n" + json.dumps(change.as_dict()))
            else:
                changes.append(change)
            if count % 20000 == 0 and count and sys.stderr.isatty():
                click.echo(f"\r{count:,} commits audited", err=True, nl=False)
        reconciliation, summary, dora, weekly, sample = auditor.finish()
        summary["policy_warnings"] = timeline.warnings
        summary["evidence_warnings"] = joins.finish(summary)
        generated = {"tool": "changegate", "version": _version(), "generated_at": utc_now().isoformat(), "branch": branch, "repository": repository}
        if streaming:
            tail = {"reconciliation": reconciliation, "summary": summary, "dora": dora, "weekly": weekly, "sample": sample, "generated_by": generated}
            sink.write("\n], " + json.dumps(tail)[1:] + "\n")
        else:
            sink.write(_render(AuditResult(changes, reconciliation, summary, dora, weekly, sample, generated), output) + "\n")
    finally:
        joins.close()
        if path:
            sink.close()
    return 0


def _render(result: object, output: str) -> str:
    from changegate.core.audit_model import AuditResult

    assert isinstance(result, AuditResult)
    if output == "text":
        return _text(result)
    from changegate.reports.html import render_html
    from changegate.reports.oscal import render_oscal
    from changegate.reports.tables import render_csv, render_markdown
    from changegate.wiring import utc_now

    if output == "markdown":
        return render_markdown(result)
    if output == "csv":
        return render_csv(result)
    if output == "html":
        return render_html(result)
    return json.dumps(render_oscal(result, now=utc_now(), title="Change management (ISO/IEC 27001 A.8.32)"), indent=2)


def _text(result: object) -> str:
    from changegate.core.audit_model import FINDINGS, AuditResult

    assert isinstance(result, AuditResult)
    lines = [f"{result.summary['population']} changes: " + ", ".join(f"{n} {k}" for k, n in sorted(result.summary["kinds"].items())), "", "Findings:"]
    lines += [f"  {code:<22} {n:>5}  {FINDINGS[code]}" for code, n in sorted(result.summary["findings"].items())] or ["  none"]
    rec = result.reconciliation
    lines += ["", f"Reconciliation: {rec['deployments_matched']}/{rec['deployments_total']} production deployments matched to a change; "
              f"{len(rec['commits_without_pr_or_emergency'])} commit(s) without a PR or emergency; {len(rec['unlinked_deployments'])} unlinked deployment(s)"]
    lines += ["", "DORA: " + ", ".join(f"{k} {v}" for k, v in result.dora.items())]
    return "\n".join(lines)


def _version() -> str:
    from changegate import __version__

    return __version__
