"""`changegate policy validate|show|schema`."""

from __future__ import annotations

import json

import click

from changegate.core.policy import ChangeType, Policy
from changegate.core.roles import role_title
from changegate.policy_source import LoadedPolicy, load_policy


@click.group("policy")
def command() -> None:
    """Validate, show or describe the policy (changegate.yml)."""


@command.command("validate")
@click.argument("file", required=False, metavar="[FILE]")
def validate(file: str | None) -> int:
    """Check a policy file; print every problem as file:line:column and exit 2 if any.

    Without FILE: changegate.yml, then .github/changegate.yml, then the shipped default.
    """
    loaded = load_policy(file)
    _warn(loaded)
    policy = loaded.policy
    click.echo(f"{loaded.source}: valid ({len(ChangeType)} change types, {len(policy.windows)} windows, {len(policy.roles)} roles, {len(policy.classification.rules)} classification rules)")
    return 0


@command.command("show")
@click.option("--policy", "file", metavar="FILE", help="Policy file (default: as for validate).")
def show(file: str | None) -> int:
    """Print the change types, approvals, windows and monitoring as a table."""
    loaded = load_policy(file)
    click.echo(render_table(loaded.policy, source=loaded.source))
    _warn(loaded)
    return 0


@command.command("schema")
def schema() -> int:
    """Print the JSON Schema of changegate.yml (for editors)."""
    document = Policy.model_json_schema()
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "changegate policy (changegate.yml)"
    click.echo(json.dumps(document, indent=2))
    return 0


def _warn(loaded: LoadedPolicy) -> None:
    for warning in loaded.warnings:
        click.echo(f"{loaded.source}: warning: {warning}", err=True)


def render_table(policy: Policy, *, source: str) -> str:
    rows = [("Type", "Definition", "Approval", "Window", "Staged", "Monitor")]
    for change_type in ChangeType:
        rules = policy.types.of(change_type)
        window = policy.windows.get(rules.window)
        rows.append((
            change_type.value.title(),
            rules.definition,
            _approval_text(policy, change_type),
            (window.description if window and window.description else rules.window),
            "yes" if rules.staged_rollout else "no",
            f"{rules.monitoring_minutes} min",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"{policy.procedure.title} ({source})", f"Owner: {policy.procedure.owner}; last updated {policy.procedure.last_updated}; next review {policy.procedure.next_review}", f"Time zone: {policy.timezone}; public holidays: {policy.holidays.country}{'/' + policy.holidays.subdivision if policy.holidays.subdivision else ''}", ""]
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    lines += ["", "Roles:"] + [f"  {role_title(role)}: {', '.join(members)}" for role, members in policy.roles.items()]
    lines += ["", f"Required checks: {', '.join(policy.checks.required)}; merge method: {policy.merge.method}"]
    if policy.freezes:
        lines += ["", "Freezes:"] + [f"  {f.name}: {f.start.isoformat()} to {f.end.isoformat()} ({', '.join(f.types)})" for f in policy.freezes]
    return "\n".join(lines)


def _approval_text(policy: Policy, change_type: ChangeType) -> str:
    rules = policy.types.of(change_type)
    if rules.verbal_approval is not None:
        who = " or ".join(role_title(role) for role in rules.verbal_approval.roles)
        text = f"verbal approval by {who}"
        if rules.posthoc_pr is not None:
            text += f", post-hoc PR within {rules.posthoc_pr.within_hours:g}h"
        return text
    if rules.approvals is None:
        return "none"
    text = f"{rules.approvals.count} reviewer{'s' if rules.approvals.count != 1 else ''}"
    if rules.approvals.required_roles:
        text += " incl. " + ", ".join(role_title(role) for role in rules.approvals.required_roles)
    return text
