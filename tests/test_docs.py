"""Every command, policy key and requirement id is documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from changegate.cli import cli
from changegate.core.policy import Policy

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text("utf-8")
POLICY_DOC = (ROOT / "docs" / "policy.md").read_text("utf-8")


def commands(group: click.Group) -> dict[str, click.Command]:
    """Every subcommand, also of the lazily loading top-level group."""
    context = click.Context(group)
    found = {name: group.get_command(context, name) for name in group.list_commands(context)}
    assert all(found.values())
    return {name: command for name, command in found.items() if command is not None}


def command_paths(group: click.Group, prefix: str = "changegate") -> list[str]:
    paths = []
    for name, command in commands(group).items():
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            paths += command_paths(command, path)
        else:
            paths.append(path)
    return paths


def test_every_command_is_in_the_readme() -> None:
    for path in command_paths(cli):
        assert f"`{path}" in README or f"{path} " in README, f"{path} is not documented in README.md"


def test_every_command_has_help() -> None:
    for name, command in commands(cli).items():
        assert command.help or command.short_help, name


def policy_keys(schema: dict[str, Any], defs: dict[str, Any]) -> set[str]:
    keys: set[str] = set()
    stack = [schema]
    seen: set[str] = set()
    while stack:
        node = stack.pop()
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                stack.append(defs[name])
            continue
        for key, child in node.get("properties", {}).items():
            keys.add(key)
            stack.append(child)
        for combinator in ("anyOf", "allOf", "oneOf"):
            stack += node.get(combinator, [])
        for nested in ("items", "additionalProperties"):
            if isinstance(node.get(nested), dict):
                stack.append(node[nested])
    return keys


def test_every_policy_key_is_in_the_reference() -> None:
    schema = Policy.model_json_schema()
    for key in policy_keys(schema, schema.get("$defs", {})):
        assert f"`{key}`" in POLICY_DOC, f"policy key {key!r} is not documented in docs/policy.md"


def test_every_requirement_id_is_documented() -> None:
    doc = (ROOT / "docs" / "requirements.md").read_text("utf-8")
    sources = "\n".join(path.read_text("utf-8") for path in (ROOT / "src" / "changegate" / "core").glob("*.py"))
    import re

    for requirement_id in set(re.findall(r'Requirement\(\s*"([a-z_.]+)"', sources)):
        assert f"`{requirement_id}`" in doc, requirement_id
