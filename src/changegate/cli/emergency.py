"""`changegate emergency declare|confirm|link`, `pir template|record`, `obligations`, `remind`."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import zoneinfo
from pathlib import Path

import click

from changegate.cli.common import parse_instant
from changegate.errors import ChangegateError
from changegate.policy_source import load_policy


def _repository(value: str | None) -> str:
    repository = value or os.environ.get("GITHUB_REPOSITORY")
    if not repository or "/" not in repository:
        raise ChangegateError("give --repo OWNER/NAME (or set GITHUB_REPOSITORY)")
    return repository


def _actor(value: str | None) -> str:
    return value or os.environ.get("CHANGEGATE_ACTOR") or os.environ.get("GITHUB_ACTOR") or getpass.getuser()


@click.group("emergency")
def emergency() -> None:
    """Emergency changes: the verbal approval on record, confirmed, linked to its post-hoc PR."""


@emergency.command("declare")
@click.option("--service", help="The service being fixed.")
@click.option("--incident", required=True, help="The incident id (e.g. INC-1234).")
@click.option("--severity", required=True, help="P1 or P2 (P3 and below are not emergencies).")
@click.option("--approved-by", "approved_by", required=True, help="Login of the ISMS Owner or Security Lead who approved.")
@click.option("--via", "channel", required=True, help="slack, phone or in-person.")
@click.option("--reason", help="Why this is an emergency.")
@click.option("--sha", help="The commit of the fix (lets the deploy gate allow it at once).")
@click.option("--repo", "repository", help="OWNER/NAME (default: $GITHUB_REPOSITORY).")
@click.option("--declared-by", "declared_by", help="Who declares (default: $CHANGEGATE_ACTOR, $GITHUB_ACTOR, the OS user).")
@click.option("--policy", "policy_path", metavar="FILE")
def declare(service: str | None, incident: str, severity: str, approved_by: str, channel: str, reason: str | None, sha: str | None,
            repository: str | None, declared_by: str | None, policy_path: str | None) -> int:
    """Record an emergency and who approved it, how and when."""
    from changegate.services.emergency import declare as run
    from changegate.wiring import emergency_store, open_store, utc_now
    from changegate.wiring_deploy import role_teams

    policy = load_policy(policy_path).policy
    repo = _repository(repository)
    with open_store() as store:
        record = run(policy, emergency_store(store), store, repository=repo, service=service, incident=incident, severity=severity, approved_by=approved_by,
                     channel=channel, declared_by=_actor(declared_by), reason=reason, sha=sha, teams=role_teams(policy, repo), now=utc_now())
    click.echo(f"{record.id}: {incident} ({record.severity}) approved by {approved_by} via {channel}; a post-hoc PR is due within 24 hours of the deploy")
    return 0


@emergency.command("confirm")
@click.argument("emergency_id", metavar="ID")
@click.option("--as", "login", help="Your login (default: the GitHub token's user; without a token, $CHANGEGATE_ACTOR).")
@click.option("--policy", "policy_path", metavar="FILE")
def confirm(emergency_id: str, login: str | None, policy_path: str | None) -> int:
    """The approver confirms the verbal approval under their own identity."""
    from changegate.services.emergency import confirm as run
    from changegate.wiring import emergency_store, github_login, open_store, utc_now

    identity = github_login() or login or os.environ.get("CHANGEGATE_ACTOR")
    if identity is None:
        raise ChangegateError("cannot tell who you are: set GITHUB_TOKEN (your own token) so changegate can check it")
    if login and identity.lower() != login.lower():
        raise ChangegateError(f"--as {login} but the GitHub token belongs to {identity}")
    with open_store() as store:
        click.echo(run(emergency_store(store), store, emergency_id, login=identity, policy=load_policy(policy_path).policy, now=utc_now()))
    return 0


@emergency.command("link")
@click.argument("emergency_id", metavar="ID")
@click.option("--pr", "pull_request", type=int, help="The post-hoc PR number (default: found in the git history).")
@click.option("--opened-at", help="When the PR was opened (default: from its recorded verdict).")
@click.option("--approved-at", help="When it was approved after the fact.")
@click.option("--repo-path", default=".", show_default=True, help="The git checkout to search for a PR naming the emergency.")
@click.option("--branch", default="main", show_default=True)
def link(emergency_id: str, pull_request: int | None, opened_at: str | None, approved_at: str | None, repo_path: str, branch: str) -> int:
    """Link an emergency to its post-hoc PR (automatic: a merged PR whose commit names the id)."""
    from changegate.wiring_emergency import link_emergency

    click.echo(link_emergency(emergency_id, pull_request=pull_request, opened_at=parse_instant(opened_at, option="--opened-at") if opened_at else None,
                              approved_at=parse_instant(approved_at, option="--approved-at") if approved_at else None, repo_path=Path(repo_path), branch=branch))
    return 0


@click.group("pir")
def pir() -> None:
    """Post-incident reviews: could the emergency have been prevented?"""


@pir.command("template")
@click.argument("emergency_id", metavar="ID")
@click.option("--policy", "policy_path", metavar="FILE")
def pir_template(emergency_id: str, policy_path: str | None) -> int:
    """Print a Markdown template for the review."""
    from changegate.services.emergency import pir_template as template

    click.echo(template(load_policy(policy_path).policy, emergency_id))
    return 0


@pir.command("record")
@click.argument("emergency_id", metavar="ID")
@click.option("--file", "path", required=True, metavar="FILE", help="The review (Markdown); - for standard input.")
def pir_record(emergency_id: str, path: str) -> int:
    """Record the review (stored in the ledger with its hash)."""
    import sys

    from changegate.services.emergency import record_pir
    from changegate.wiring import emergency_store, open_store, utc_now

    text = sys.stdin.read() if path == "-" else Path(path).read_text("utf-8")
    with open_store() as store:
        record_pir(emergency_store(store), store, emergency_id, text=text, recorded_by=_actor(None), now=utc_now())
    click.echo(f"post-incident review of {emergency_id} recorded")
    return 0


@click.command("obligations")
@click.option("--overdue", "only_overdue", is_flag=True, help="List only overdue obligations.")
@click.option("--all", "show_all", is_flag=True, help="Include obligations already met.")
@click.option("--at", "at_text", metavar="RFC3339", help="As of this instant (default: now).")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--policy", "policy_path", metavar="FILE")
def obligations(only_overdue: bool, show_all: bool, at_text: str | None, output: str, policy_path: str | None) -> int:
    """Open and overdue obligations (post-hoc PRs, reviews, PIRs, investigations, the procedure's
    own review); exit 1 when any is overdue (for a scheduled CI job)."""
    from changegate.wiring_emergency import current_obligations

    policy = load_policy(policy_path).policy
    found = current_obligations(policy, now=parse_instant(at_text))
    overdue = any(item.overdue for item in found)
    shown = [o for o in found if (o.overdue if only_overdue else show_all or o.state in {"open", "overdue"})]
    tz = zoneinfo.ZoneInfo(policy.timezone)
    if output == "json":
        click.echo(json.dumps([{"id": o.id, "kind": o.kind, "subject": o.subject, "title": o.title, "state": o.state, "code": o.code, "detail": o.detail,
                                "due": o.due.astimezone(tz).isoformat() if o.due else None, "met_at": o.met_at.astimezone(tz).isoformat() if o.met_at else None} for o in shown], indent=2))
    else:
        for o in shown:
            due = o.due.astimezone(tz).strftime("%a %d %b %Y %H:%M %Z") if o.due else "no due date"
            click.echo(f"{o.state.upper():<9} {due:<26} {o.title}" + (f"  [{o.code}]" if o.code else ""))
        if not shown:
            click.echo("no obligations" + (" overdue" if only_overdue else " open"))
    return 1 if overdue else 0


@click.command("remind")
@click.option("--lead-hours", default=4.0, show_default=True, help="Remind this long before an obligation is due.")
@click.option("--policy", "policy_path", metavar="FILE")
def remind(lead_hours: float, policy_path: str | None) -> int:
    """Send Slack reminders before obligations fall due and alerts when overdue, once per
    obligation per change of state (run it from cron or a scheduled workflow)."""
    from changegate.wiring_emergency import send_reminders

    sent = send_reminders(load_policy(policy_path).policy, lead=dt.timedelta(hours=lead_hours))
    click.echo(f"{len(sent)} reminder(s) sent")
    return 0


commands = (emergency, pir, obligations, remind)
