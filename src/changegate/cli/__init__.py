"""The `changegate` command line. Thin: parse -> wiring -> service -> render -> exit code.

Exit codes: 0 success / pass / open; 1 pending, fail, closed or a broken ledger; 2 bad input
(any ChangegateError); 3 an unexpected internal error; 130 interrupted.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence

import click

from changegate import __version__
from changegate.errors import ChangegateError, PolicyError

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="changegate")
def cli() -> None:
    """Enforce the Change Management Procedure: classify, gate and evidence every change."""


def _register() -> None:
    from changegate.cli import (
        audit,
        check,
        db,
        deploy,
        emergency,
        init,
        ledger,
        policy,
        serve,
        snapshot,
        window,
        worker,
    )

    for module in (check, snapshot, window, policy, init, db, ledger, serve, worker, audit):
        cli.add_command(module.command)
    for command in (*deploy.commands, *emergency.commands):
        cli.add_command(command)


_register()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and map every outcome to an exit code (one top-level handler)."""
    try:
        result = cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except PolicyError as error:
        click.echo(f"changegate: {error}", err=True)
        for problem in error.problems:
            click.echo(f"  {problem}", err=True)
        return EXIT_BAD_INPUT
    except ChangegateError as error:
        click.echo(f"changegate: {error}", err=True)
        return EXIT_BAD_INPUT
    except click.exceptions.Abort:
        click.echo("changegate: interrupted", err=True)
        return 130
    except click.ClickException as error:
        error.show()
        return EXIT_BAD_INPUT
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except Exception:  # noqa: BLE001 - the one top-level handler for the unexpected
        click.echo("changegate: internal error (please report it with this trace):", err=True)
        traceback.print_exc(file=sys.stderr)
        return EXIT_INTERNAL
    return int(result or 0)
