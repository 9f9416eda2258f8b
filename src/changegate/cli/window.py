"""`changegate window`: may a change type deploy now (or at --at), and when is the next window?"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import click

from changegate.cli.common import parse_instant
from changegate.core.policy import ChangeType
from changegate.core.window_decision import WindowDecision, decide
from changegate.policy_source import load_policy


@click.command("window")
@click.option("--type", "type_name", required=True, type=click.Choice([t.value for t in ChangeType]), help="The change type.")
@click.option("--at", "at_text", metavar="RFC3339", help="Decide at this instant, with an offset (default: now).")
@click.option("--policy", "policy_path", metavar="FILE", help="Policy file; default: changegate.yml, then .github/changegate.yml, then the shipped default; - for standard input.")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def command(type_name: str, at_text: str | None, policy_path: str | None, output: str) -> int:
    """Say whether the deployment window of a change type is open, and when it next opens.

    Exit code: 0 open, 1 closed, 2 bad input.
    """
    at = parse_instant(at_text)
    if at_text is None:
        at = at.replace(microsecond=0)
    loaded = load_policy(policy_path)
    for warning in loaded.warnings:
        click.echo(f"{loaded.source}: warning: {warning}", err=True)
    zone = ZoneInfo(loaded.policy.timezone)
    decision = decide(loaded.policy, ChangeType(type_name), at)
    if output == "json":
        click.echo(json.dumps(as_json(decision, at=at, zone=zone), indent=2))
    else:
        click.echo(as_text(decision, at=at, zone=zone))
    return 0 if decision.open else 1


def as_json(decision: WindowDecision, *, at: dt.datetime, zone: ZoneInfo) -> dict[str, object]:
    """The decision as a JSON object; instants are RFC 3339 in the policy's time zone."""
    return {
        "type": decision.change_type.value,
        "window": decision.window,
        "open": decision.open,
        "next_open": rfc3339(decision.next_open, zone),
        "closes_at": rfc3339(decision.closes_at, zone),
        "reason": decision.reason,
        "timezone": zone.key,
        "at": rfc3339(at, zone),
    }


def as_text(decision: WindowDecision, *, at: dt.datetime, zone: ZoneInfo) -> str:
    state = "open" if decision.open else "closed"
    lines = [
        f"{decision.change_type.value}: {state} at {rfc3339(at, zone)} (window {decision.window})",
        decision.reason,
    ]
    if decision.closes_at is not None:
        lines.append(f"closes at: {rfc3339(decision.closes_at, zone)}")
    if decision.next_open is not None:
        lines.append(f"next open: {rfc3339(decision.next_open, zone)}")
    return "\n".join(lines)


def rfc3339(instant: dt.datetime | None, zone: ZoneInfo) -> str | None:
    return None if instant is None else instant.astimezone(zone).isoformat()
