"""`changegate deploy`, `rollback`, `deployments` and `record-release`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from changegate.core.deploy_record import DeploymentRecord
from changegate.errors import ChangegateError
from changegate.policy_source import load_policy

ENVIRONMENTS = click.Choice(["sandbox", "production"])
OK_STATES = {"verified", "released"}


@click.command("deploy")
@click.argument("service")
@click.option("--env", "environment", type=ENVIRONMENTS, help="Where to deploy.")
@click.option("--sha", help="The commit to deploy (it must be on the service's branch).")
@click.option("--resume", "resume_id", metavar="ID", help="Continue an interrupted deployment instead.")
@click.option("--repo", "repo_path", default=".", show_default=True, help="The git checkout (for the branch check and the revert).")
@click.option("--policy", "policy_path", metavar="FILE", help="Policy file (default: changegate.yml in --repo, then the shipped default).")
def deploy(service: str, environment: str | None, sha: str | None, resume_id: str | None, repo_path: str, policy_path: str | None) -> int:
    """Gate, deploy, verify, monitor and (if needed) roll back SERVICE.

    The gate: the commit is on main; its change passed (its latest recorded verdict) or a valid
    emergency covers it; the type's window is open; a significant change was verified in sandbox
    first. Exit 0 verified, 1 refused / rolled back / failed, 2 bad input.
    """
    from changegate.wiring_deploy import deployer_for

    loaded = load_policy(policy_path, root=Path(repo_path))
    with deployer_for(loaded.policy, repo_path=repo_path, progress=_progress) as (deployer, resolve_change):
        if resume_id is not None:
            if environment or sha:
                raise ChangegateError("--resume continues a recorded deployment: give it without --env and --sha")
            record = deployer.resume(resume_id)
        else:
            if environment is None or sha is None:
                raise ChangegateError("give --env and --sha (or --resume ID)")
            full = deployer.parts.git.resolve(sha)
            record = deployer.deploy(service, environment=environment, sha=full, change=resolve_change(full))
    _report(record)
    return 0 if record.state in OK_STATES else 1


def _progress(done: float, total: float, status: str) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    line = f"[{'#' * filled}{'.' * (width - filled)}] {_clock(done)} / {_clock(total)}  {status}"
    if sys.stderr.isatty():
        click.echo(f"\r{line[:150]:<150}", err=True, nl=False)
    else:
        click.echo(line, err=True)


def _clock(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes:02d}:{rest:02d}"


def _report(record: DeploymentRecord) -> None:
    click.echo(f"\n{record.id}: {record.service} {record.sha[:12]} -> {record.environment}: {record.state}")
    if record.version_id:
        click.echo(f"  version {record.version_id} (previous {record.previous_version_id or 'none'})")
    if record.rollout_steps:
        steps = "/".join(map(str, record.rollout_steps))
        click.echo(f"  gradual rollout {steps}%: step {record.rollout_step or 0} of {len(record.rollout_steps)} ({record.rollout_percent or 0}% of traffic)")
    if record.detail:
        click.echo(f"  {record.detail}")
    if record.state in {"deploying", "deployed", "monitoring", "rolling_back"}:
        click.echo(f"  resume with: changegate deploy {record.service} --resume {record.id}")


@click.command("deployments")
@click.argument("service")
@click.option("--env", "environment", type=ENVIRONMENTS, default="production", show_default=True)
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--policy", "policy_path", metavar="FILE")
def deployments(service: str, environment: str, output: str, policy_path: str | None) -> int:
    """Cloudflare's deployments of SERVICE joined with changegate's records; any deployment
    changegate did not make is marked."""
    from changegate.wiring_deploy import deployment_listing

    rows = deployment_listing(load_policy(policy_path).policy, service, environment=environment)
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        mark = "" if row["by_changegate"] else "  <-- not made by changegate"
        versions = ", ".join(f"{v['version_id'][:8]}@{v['percentage']:g}%" for v in row["versions"])
        click.echo(f"{row['created_on'][:19]}  {row['id'][:8]}  {versions:<28} {row.get('changegate_id') or '-':<17} {row.get('state') or '-':<12} {row.get('sha', '')[:7]}{mark}")
    return 0


@click.command("rollback")
@click.argument("service")
@click.option("--env", "environment", type=ENVIRONMENTS, default="production", show_default=True)
@click.option("--to", "version", metavar="VERSION", help="Version id (default: the previous version at 100%).")
@click.option("--force", is_flag=True, help="Force past changed secrets (API error 10220), if the policy allows it.")
@click.option("--policy", "policy_path", metavar="FILE")
def rollback(service: str, environment: str, version: str | None, force: bool, policy_path: str | None) -> int:
    """Roll SERVICE back to VERSION (or the previous 100% version) through the Cloudflare API."""
    from changegate.wiring_deploy import manual_rollback

    click.echo(manual_rollback(load_policy(policy_path).policy, service, environment=environment, version=version, force=force))
    return 0


@click.command("record-release")
@click.argument("service")
@click.option("--version", "app_version", required=True, help="The app version submitted.")
@click.option("--store", "app_store", type=click.Choice(["ios", "android"]), required=True)
@click.option("--sha", required=True, help="The commit the release was built from.")
@click.option("--policy", "policy_path", metavar="FILE")
def record_release(service: str, app_version: str, app_store: str, sha: str, policy_path: str | None) -> int:
    """Record an app-store submission of a mobile SERVICE as a deployment (the store's own
    review stays outside changegate), so the change log is complete."""
    from changegate.wiring_deploy import record_mobile_release

    record = record_mobile_release(load_policy(policy_path).policy, service, version=app_version, store=app_store, sha=sha)
    _report(record)
    return 0


commands = (deploy, deployments, rollback, record_release)
