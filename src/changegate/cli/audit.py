"""`changegate audit`: the change log an auditor accepts, reconstructed and reconciled."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import IO

import click

from changegate.errors import ChangegateError

AUDIT_FORMAT = 4  # bump when what the audit derives from the same inputs changes: stored results are then recomputed
FORMATS = click.Choice(["text", "json", "markdown", "html", "csv", "oscal"])


@click.command("audit")
@click.option("--repo", "repo_path", default=".", show_default=True, help="The git repository.")
@click.option("--branch", default="main", show_default=True)
@click.option("--since", help="Only commits after this date (YYYY-MM-DD).")
@click.option("--until", help="Only commits before this date.")
@click.option("--github", "repository", metavar="OWNER/REPO", help="Join recorded PR evidence and emergency records of this repository (default: $GITHUB_REPOSITORY); with GitHub credentials, PRs without a recorded snapshot are fetched from the API.")
@click.option("--service", "services", multiple=True, help="Join changegate's deployments of these services (default: all recorded) and, with Cloudflare credentials, Cloudflare's deployment log of their production Workers.")
@click.option("--seed", default=0, show_default=True, help="Seed of the auditor's sample.")
@click.option("--failure-window", "failure_window", type=click.FloatRange(min=0), default=24.0, show_default=True, metavar="HOURS",
              help="DORA: a production deployment followed within HOURS by a revert or an emergency change counts as a failed change.")
@click.option("--full", is_flag=True, help="Audit the whole history again instead of reusing the results stored by earlier audits.")
@click.option("--format", "output", type=FORMATS, default="text", show_default=True)
@click.option("-o", "--output-file", "path", metavar="FILE", help="Write here (default: standard output).")
def command(repo_path: str, branch: str, since: str | None, until: str | None, repository: str | None, services: tuple[str, ...], seed: int, failure_window: float, full: bool,
            output: str, path: str | None) -> int:
    """Walk the first-parent history of BRANCH and derive one change per commit (squash, merge or
    rebase PR, direct push, revert, emergency), evaluated against the policy in force at that
    commit, joined with recorded evidence and deployments; findings, reconciliation, DORA.

    Results are kept in the store: a repeated audit of the same branch reads git only for the new
    commits and reuses stored results wherever their evidence is unchanged (not with --since/--until)."""
    from changegate.adapters.git_log import verify_commit
    from changegate.adapters.policy_timeline import default_policy
    from changegate.adapters.store.audit_cache import AuditCache
    from changegate.core.audit_model import AuditResult, Change
    from changegate.services.audit import Auditor
    from changegate.wiring import open_store, utc_now
    from changegate.wiring_audit import evidence_from, parse_day
    from changegate.wiring_audit_run import change_from_dict, is_ancestor, run_audit
    from changegate.wiring_audit_sources import open_joins

    repo = Path(repo_path)
    if not (repo / ".git").exists() and not (repo / "HEAD").exists():
        raise ChangegateError(f"{repo} is not a git repository: give --repo PATH")
    verify_commit(repo, branch)  # before anything is written
    github = repository or os.environ.get("GITHUB_REPOSITORY")
    first, last = parse_day(since, "--since"), parse_day(until, "--until")
    with open_store() as store:
        evidence = evidence_from(store, repository=github, services=services)
        joins = open_joins(store, evidence, repo=repo, branch=branch, repository=github, services=services, since=first, until=last)
        auditor = Auditor(lambda _sha: default_policy(), evidence, now=utc_now(), seed=seed, failure_window=dt.timedelta(hours=failure_window))
        cache, scope, warnings = None, None, []
        if first is None and last is None:
            described = json.dumps({"repo": str(repo.resolve()), "branch": branch, "repository": github, "services": sorted(services)})
            cache = AuditCache(store.engine, description=described, format=f"{_version()}/{AUDIT_FORMAT}")
            scope = cache.load(now=utc_now(), full=full)
            if scope.head_sha and not is_ancestor(repo, scope.head_sha, branch):
                warnings.append(f"{branch} no longer contains {scope.head_sha[:12]}, the head audited last (history rewritten): audited in full")
                scope = AuditCache.restart(scope)
        sink: IO[str] = open(path, "w", encoding="utf-8") if path else sys.stdout  # noqa: SIM115 - closed below
        changes: list[Change] = []
        streaming, written, pending = output == "json", [0], list[str]()

        def flush() -> None:
            if pending:
                sink.write(("," if written[0] else "") + "\n" + ",\n".join(pending))
                written[0] += len(pending)
                pending.clear()

        def emit(line: str, change: Change | None) -> None:
            if streaming:
                pending.append(line)  # written a thousand at a time
                if len(pending) >= 1000:
                    flush()
            elif output != "text":  # the text summary needs no population in memory
                changes.append(change or change_from_dict(json.loads(line)))

        def progress(count: int) -> None:
            if sys.stderr.isatty():
                click.echo(f"\r{count:,} commits audited", err=True, nl=False)

        try:
            if streaming:
                sink.write('{"changes": [')
            newest, stats = run_audit(repo, branch=branch, auditor=auditor, emit=emit, cache=cache, scope=scope, since=first, until=last, progress=progress,
                                      read_ahead=joins.commits)
            flush()
            reconciliation, summary, dora, weekly, sample = auditor.finish()
            summary["policy_warnings"] = warnings + stats.warnings
            summary["evidence_warnings"] = joins.finish(summary)
            summary["incremental"] = stats.as_dict()
            generated = {"tool": "changegate", "version": _version(), "generated_at": utc_now().isoformat(), "branch": branch, "repository": github}
            if streaming:
                tail = {"reconciliation": reconciliation, "summary": summary, "dora": dora, "weekly": weekly, "sample": sample, "generated_by": generated}
                sink.write("\n], " + json.dumps(tail)[1:] + "\n")
            else:
                sink.write(_render(AuditResult(changes, reconciliation, summary, dora, weekly, sample, generated), output) + "\n")
            if cache is not None and scope is not None:
                cache.publish(scope, head_sha=newest, commits=summary["population"], now=utc_now())
        except BaseException:
            if cache is not None and scope is not None:
                cache.discard(scope)
            raise
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
    done = result.summary.get("incremental", {})
    if done.get("stored"):
        lines += ["", f"Incremental: {done['new_commits']} new commit(s) audited, {done['reaudited_commits']} audited again (evidence changed), "
                  f"{done['reused_commits']} reused from the store"]
    return "\n".join(lines)


def _version() -> str:
    from changegate import __version__

    return __version__
