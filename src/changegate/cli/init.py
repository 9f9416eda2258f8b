"""`changegate init`: write the default policy into a repository for editing."""

from __future__ import annotations

from pathlib import Path

import click

from changegate.errors import ChangegateError
from changegate.policy_source import default_policy_text, find_policy_file


@click.command("init")
@click.option("--dir", "directory", default=".", show_default=True, type=click.Path(file_okay=False), help="Repository root to write changegate.yml into.")
@click.option("--force", is_flag=True, help="Overwrite an existing policy file.")
def command(directory: str, force: bool) -> int:
    """Write the default policy (the whole procedure) to changegate.yml for editing."""
    root = Path(directory)
    existing = find_policy_file(root)
    if existing is not None and not force:
        raise ChangegateError(f"{existing} already exists: edit it, or pass --force to replace it with the default")
    target = existing or root / "changegate.yml"
    root.mkdir(parents=True, exist_ok=True)
    target.write_text(default_policy_text(), "utf-8")
    click.echo(f"wrote {target}: edit the roles (ISMS Owner, Security Lead) and check it with `changegate policy validate`")
    return 0
