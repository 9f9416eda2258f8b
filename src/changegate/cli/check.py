"""`changegate check`: the verdict for a pull request snapshot."""

from __future__ import annotations

import datetime as dt

import click

from changegate.cli.common import parse_instant, read_json
from changegate.core.explain import as_json, as_markdown, as_text
from changegate.core.verdict import Overall
from changegate.policy_source import load_policy
from changegate.services.check import check_snapshot, record


@click.command("check")
@click.option("--snapshot", "snapshot_path", required=True, metavar="FILE", help="PR snapshot JSON (docs/snapshot.md); - for standard input.")
@click.option("--policy", "policy_path", metavar="FILE", help="Policy file; default: changegate.yml, then .github/changegate.yml, then the shipped default.")
@click.option("--at", "at_text", metavar="RFC3339", help="Evaluate at this instant (default: now).")
@click.option("--format", "output", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--record", "do_record", is_flag=True, help="Store the verdict, its snapshot, the policy hash and changegate's version as evidence.")
def command(snapshot_path: str, policy_path: str | None, at_text: str | None, output: str, do_record: bool) -> int:
    """Classify a pull request and list what the procedure still requires of it.

    Exit code: 0 pass, 1 pending or fail, 2 bad input.
    """
    at = parse_instant(at_text)
    data = read_json(snapshot_path, what="snapshot")
    loaded = load_policy(policy_path)
    verdict = check_snapshot(data, loaded, at=at, source=snapshot_path)
    extra: dict[str, object] = {"policy": {"source": loaded.source, "sha256": loaded.sha256}}
    if do_record:
        from changegate.wiring import open_store

        with open_store() as store:
            verdict_id = record(store, verdict, data, loaded, recorded_at=dt.datetime.now(dt.UTC))
        extra["recorded"] = {"verdict_id": verdict_id, "database": store.redacted_url}
    if output == "json":
        click.echo(as_json(verdict, **extra))
    elif output == "markdown":
        click.echo(as_markdown(verdict))
    else:
        click.echo(as_text(verdict))
        if do_record:
            click.echo(f"\nrecorded as verdict {verdict_id} in {store.redacted_url}")
    return 0 if verdict.state is Overall.PASS else 1
