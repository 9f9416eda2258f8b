"""`changegate ledger verify|list`: check and read the tamper-evident ledger."""

from __future__ import annotations

import json
from collections.abc import Iterable

import click

from changegate.core.ledger import ChainReport, LedgerEntry, format_timestamp
from changegate.wiring import open_store

FORMATS = click.Choice(["text", "json"])


@click.group("ledger")
def command() -> None:
    """Verify or list the append-only, hash-chained ledger of changes."""


@command.command("verify")
@click.option("--format", "output", type=FORMATS, default="text", show_default=True)
def verify(output: str) -> int:
    """Re-hash every entry and cross-check every stored verdict; exit 1 if anything is broken.

    Names the first broken entry: its seq, kind, subject and what is wrong.
    """
    with open_store() as store:
        report = store.verify()
        where = store.redacted_url
    if output == "json":
        click.echo(json.dumps({"database": where, **report.to_json()}, indent=2))
    else:
        click.echo(render_report(report, database=where))
    return 0 if report.ok else 1


def render_report(report: ChainReport, *, database: str) -> str:
    """The verification outcome as text: one line when intact, the problems when not."""
    counted = f"{report.entries} entries, {report.evidence_rows} verdicts cross-checked"
    if report.ok:
        return (
            f"ledger intact: {counted}; head seq {report.last_seq} {report.last_hash} ({database})"
        )
    first = report.first
    assert first is not None
    lines = [f"ledger BROKEN at seq {first.seq}{_about(first.kind, first.subject)}: {first.detail}"]
    if len(report.problems) > 1 or report.more_problems:
        more = " (and more)" if report.more_problems else ""
        lines.append(f"{len(report.problems)} problems{more}:")
        lines += [
            f"  seq {p.seq}{_about(p.kind, p.subject)}: {p.reason}: {p.detail}"
            for p in report.problems
        ]
    lines.append(f"checked {counted} ({database})")
    return "\n".join(lines)


def _about(kind: str | None, subject: str | None) -> str:
    parts = [part for part in (kind, subject) if part]
    return f" ({' '.join(parts)})" if parts else ""


@command.command("list")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="Show the last N entries (0: all).",
)
@click.option("--format", "output", type=FORMATS, default="text", show_default=True)
def list_entries(limit: int, output: str) -> int:
    """Print the most recent ledger entries, oldest first."""
    with open_store() as store:
        entries = store.iter_ledger() if limit == 0 else iter(store.tail(limit))
        if output == "json":
            _echo_json(entries)
        else:
            empty = True
            for entry in entries:
                click.echo(render_entry(entry))
                empty = False
            if empty:
                click.echo(f"the ledger is empty ({store.redacted_url})")
    return 0


def render_entry(entry: LedgerEntry) -> str:
    return f"{entry.seq:>6}  {format_timestamp(entry.recorded_at)}  {entry.kind:<20}  {entry.subject}  {entry.hash[:12]}"


def _echo_json(entries: Iterable[LedgerEntry]) -> None:
    click.echo("[", nl=False)
    for index, entry in enumerate(entries):
        click.echo(("," if index else "") + "\n  " + json.dumps(entry.to_json()), nl=False)
    click.echo("\n]")
