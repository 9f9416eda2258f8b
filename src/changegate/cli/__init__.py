"""The `changegate` command line. Thin: parse -> wiring -> service -> render -> exit code.

Exit codes: 0 success / pass / open; 1 pending, fail, closed or a broken ledger; 2 bad input
(any ChangegateError); 3 an unexpected internal error; 130 interrupted.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from collections.abc import Sequence

import click

from changegate import __version__
from changegate.errors import ChangegateError, PolicyError

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


# command -> (module under changegate.cli, attribute): modules are imported only for the command run,
# so `changegate audit` does not pay for the GitHub client, the web server or the deploy machinery.
COMMANDS = {
    "check": ("check", "command"), "snapshot": ("snapshot", "command"), "window": ("window", "command"), "policy": ("policy", "command"),
    "init": ("init", "command"), "db": ("db", "command"), "ledger": ("ledger", "command"), "serve": ("serve", "command"),
    "worker": ("worker", "command"), "audit": ("audit", "command"), "deploy": ("deploy", "deploy"), "deployments": ("deploy", "deployments"),
    "rollback": ("deploy", "rollback"), "record-release": ("deploy", "record_release"), "emergency": ("emergency", "emergency"),
    "pir": ("emergency", "pir"), "obligations": ("emergency", "obligations"), "remind": ("emergency", "remind"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:  # noqa: ARG002 - click's signature
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:  # noqa: ARG002 - click's signature
        if cmd_name not in COMMANDS:
            return None
        module, attribute = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(f"changegate.cli.{module}"), attribute)
        assert isinstance(command, click.Command) and command.name == cmd_name, cmd_name
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="changegate")
def cli() -> None:
    """Enforce the Change Management Procedure: classify, gate and evidence every change."""


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
