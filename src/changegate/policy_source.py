"""Find, read and validate `changegate.yml`, pointing every problem at file:line:column."""

from __future__ import annotations

import datetime as dt
import hashlib
import sys
import zoneinfo
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from changegate.core.policy import Policy
from changegate.core.policy_check import PolicyInvalid, Problem, parse_policy, policy_warnings
from changegate.errors import ChangegateError, PolicyError

POLICY_LOCATIONS = ("changegate.yml", ".github/changegate.yml")
DEFAULT_SOURCE = "<default policy>"

Position = tuple[int, int]


@dataclass(frozen=True)
class LoadedPolicy:
    policy: Policy
    source: str
    text: str
    sha256: str
    warnings: list[str] = field(default_factory=list)


def default_policy_text() -> str:
    return resources.files("changegate").joinpath("data/default-policy.yml").read_text("utf-8")


def find_policy_file(root: Path) -> Path | None:
    """The policy file in a repository: the root first, then `.github/`."""
    for relative in POLICY_LOCATIONS:
        candidate = root / relative
        if candidate.is_file():
            return candidate
    return None


def load_policy(path: str | None, *, root: Path | None = None, today: dt.date | None = None) -> LoadedPolicy:
    """Load FILE ('-' is standard input); with no FILE, look in `root` (default: the cwd),
    then fall back to the policy shipped with changegate. `warnings` are as of `today`
    (default: today in the policy's time zone)."""
    loaded = _load(path, root=root)
    if today is None:
        today = dt.datetime.now(zoneinfo.ZoneInfo(loaded.policy.timezone)).date()
    return LoadedPolicy(loaded.policy, loaded.source, loaded.text, loaded.sha256, policy_warnings(loaded.policy, today=today))


def _load(path: str | None, *, root: Path | None) -> LoadedPolicy:
    if path == "-":
        return parse_policy_text(sys.stdin.read(), source="<stdin>")
    if path is not None:
        file = Path(path)
        try:
            text = file.read_text("utf-8")
        except FileNotFoundError:
            raise ChangegateError(f"policy file {path} does not exist: check the path, or omit --policy to use {' or '.join(POLICY_LOCATIONS)}") from None
        except (OSError, UnicodeDecodeError) as error:
            raise ChangegateError(f"cannot read policy file {path}: {error}") from None
        return parse_policy_text(text, source=str(path))
    found = find_policy_file(root or Path.cwd())
    if found is not None:
        return _load(str(found), root=None)
    return parse_policy_text(default_policy_text(), source=DEFAULT_SOURCE)


def parse_policy_text(text: str, *, source: str) -> LoadedPolicy:
    """Parse YAML text into a validated policy or raise PolicyError with every problem located."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise PolicyError(f"{where}: not valid YAML: {error.problem}") from None
    positions: dict[tuple[str | int, ...], Position] = {}
    duplicates: list[Problem] = []
    if node is not None:
        _walk(node, (), positions, duplicates)
    try:
        if duplicates:
            raise PolicyInvalid(duplicates)
        policy = parse_policy(data)
    except PolicyInvalid as invalid:
        lines = [_locate(problem, source, positions) for problem in invalid.problems]
        raise PolicyError(f"{source}: invalid policy ({len(lines)} problem(s)); fix them and run `changegate policy validate`", lines) from None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return LoadedPolicy(policy=policy, source=source, text=text, sha256=digest)


def _walk(node: yaml.Node, path: tuple[str | int, ...], positions: dict[tuple[str | int, ...], Position], duplicates: list[Problem]) -> None:
    positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            if key in seen:
                duplicates.append(Problem(child, f"duplicate key {key!r}"))
            seen.add(key)
            positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _walk(value_node, child, positions, duplicates)
            positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), positions, duplicates)


def _locate(problem: Problem, source: str, positions: dict[tuple[str | int, ...], Position]) -> str:
    path = problem.path
    while path not in positions and path:
        path = path[:-1]
    line, column = positions.get(path, (1, 1))
    return f"{source}:{line}:{column}: {problem.dotted}: {problem.message}"


def as_data(loaded: LoadedPolicy) -> Any:
    return yaml.safe_load(loaded.text)
