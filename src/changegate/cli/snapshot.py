"""`changegate snapshot OWNER/REPO#N`: write a PR snapshot from the live GitHub API."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from changegate.services.live import fetch_snapshot, parse_target
from changegate.wiring import github_client, utc_now


@click.command("snapshot")
@click.argument("target", metavar="OWNER/REPO#N")
@click.option("-o", "--output", metavar="FILE", help="Write the snapshot here (default: standard output).")
def command(target: str, output: str | None) -> int:
    """Fetch everything a verdict depends on (docs/snapshot.md) from GitHub.

    Needs GITHUB_TOKEN (or a GitHub App: see docs/github.md). A pull request with more files
    than GitHub lists (3,000) fails closed.
    """
    parsed = parse_target(target)

    async def run() -> dict[str, object]:
        async with github_client(repo=parsed.repo) as github:
            document, _policy = await fetch_snapshot(github, parsed, clock=utc_now)
            return document

    text = json.dumps(asyncio.run(run()), indent=2, sort_keys=True) + "\n"
    if output:
        Path(output).write_text(text, "utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)
    return 0
