"""`changegate check`: the verdict for a pull request snapshot."""

from __future__ import annotations

import asyncio
import datetime as dt

import click

from changegate.cli.common import parse_instant, read_json
from changegate.core.explain import as_json, as_markdown, as_text
from changegate.core.verdict import Overall, Verdict
from changegate.errors import ChangegateError
from changegate.policy_source import load_policy
from changegate.services.check import check_snapshot, record


@click.command("check")
@click.argument("target", required=False, metavar="[OWNER/REPO#N]")
@click.option("--snapshot", "snapshot_path", metavar="FILE", help="PR snapshot JSON (docs/snapshot.md); - for standard input.")
@click.option("--github-event", "event_path", metavar="FILE", help="GitHub Actions mode: the event file ($GITHUB_EVENT_PATH); needs GITHUB_TOKEN.")
@click.option("--publish/--no-publish", default=None, help="Live modes: publish the `changegate` check run (default: on with --github-event).")
@click.option("--policy", "policy_path", metavar="FILE", help="Policy file; default: changegate.yml, then .github/changegate.yml, then the shipped default.")
@click.option("--at", "at_text", metavar="RFC3339", help="Evaluate at this instant (default: now).")
@click.option("--format", "output", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
@click.option("--record", "do_record", is_flag=True, help="Store the verdict, its snapshot, the policy hash and changegate's version as evidence.")
def command(target: str | None, snapshot_path: str | None, event_path: str | None, publish: bool | None, policy_path: str | None, at_text: str | None, output: str, do_record: bool) -> int:
    """Classify a pull request and list what the procedure still requires of it.

    Give one of: --snapshot FILE (offline), OWNER/REPO#N (live, policy from the base branch) or
    --github-event FILE (GitHub Actions). Exit code: 0 pass, 1 pending or fail, 2 bad input.
    """
    if sum(x is not None for x in (target, snapshot_path, event_path)) != 1:
        raise ChangegateError("give exactly one of --snapshot FILE, OWNER/REPO#N or --github-event FILE")
    if snapshot_path is None:
        if policy_path or at_text or do_record:
            raise ChangegateError("--policy, --at and --record go with --snapshot; live checks read the policy from the base branch, now")
        verdict = run_live(target, event_path, publish=publish if publish is not None else event_path is not None)
        click.echo(render(verdict, output, {}))
        return 0 if verdict.state is Overall.PASS else 1
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
    text = render(verdict, output, extra)
    if do_record and output == "text":
        text += f"\n\nrecorded as verdict {extra['recorded']['verdict_id']} in {store.redacted_url}"  # type: ignore[index]
    click.echo(text)
    return 0 if verdict.state is Overall.PASS else 1


def render(verdict: Verdict, output: str, extra: dict[str, object]) -> str:
    if output == "json":
        return as_json(verdict, **extra)
    if output == "markdown":
        return as_markdown(verdict)
    return as_text(verdict)


def run_live(target: str | None, event_path: str | None, *, publish: bool) -> Verdict:
    from changegate.services.live import check_live, parse_target, target_from_event
    from changegate.wiring import github_client, utc_now

    if event_path is not None:
        parsed = target_from_event(read_json(event_path, what="event"), source=event_path)
    else:
        assert target is not None
        parsed = parse_target(target)

    async def run() -> Verdict:
        async with github_client(repo=parsed.repo) as github:
            return await check_live(github, parsed, clock=utc_now, publish=publish)

    return asyncio.run(run())
