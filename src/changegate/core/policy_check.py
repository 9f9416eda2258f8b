"""Validate a policy mapping: structure (pydantic) and meaning (cross-references). Pure.

Every problem carries the key path it is about, so the loader can point at file:line:column.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import holidays
import pathspec
from pydantic import ValidationError

from changegate.core.policy import WEEKDAYS, ChangeType, Policy, Window

Path = tuple[str | int, ...]
MEMBER = re.compile(r"^@(\{org\}|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(/[A-Za-z0-9_.-]+)?$")


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str

    @property
    def dotted(self) -> str:
        return ".".join(str(part) for part in self.path) or "(top level)"


class PolicyInvalid(Exception):
    """Raised by `parse_policy`; `problems` lists every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the policy")
        self.problems = problems


def parse_policy(data: Any) -> Policy:
    """Turn a loaded mapping into a Policy, or raise PolicyInvalid listing every problem."""
    if not isinstance(data, Mapping):
        raise PolicyInvalid([Problem((), "the policy must be a mapping of keys to values")])
    try:
        policy = Policy.model_validate(data)
    except ValidationError as error:
        problems = [_from_pydantic(item) for item in error.errors()]
        raise PolicyInvalid(problems + _semantic_despite(data, error)) from None
    problems = semantic_problems(policy)
    if problems:
        raise PolicyInvalid(problems)
    return policy


def _semantic_despite(data: Any, error: ValidationError) -> list[Problem]:
    """Report meaning problems too when the structure is broken: drop the broken keys (up to a
    few rounds) and check what remains, ignoring problems about what was dropped."""
    pruned = copy.deepcopy(data)
    dropped: list[Path] = []
    for _ in range(4):
        for path in sorted({_loc(item) for item in error.errors()}, reverse=True):
            dropped.append(path)
            _drop(pruned, path)
        try:
            policy = Policy.model_validate(pruned)
        except ValidationError as again:
            error = again
            continue
        return [p for p in semantic_problems(policy) if not any(_related(p.path, d) for d in dropped)]
    return []


def _loc(item: Any) -> Path:
    path: Path = tuple(part for part in item["loc"] if isinstance(part, str | int))
    return path[:-1] if item["type"] == "missing" else path


def _drop(data: Any, path: Path) -> None:
    for part in path[:-1]:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(data, dict):
        data.pop(path[-1], None) if path else None
    elif isinstance(data, list) and isinstance(path[-1], int) and path[-1] < len(data):
        del data[path[-1]]


def _related(path: Path, dropped: Path) -> bool:
    shorter = min(len(path), len(dropped))
    return path[:shorter] == dropped[:shorter]


def _from_pydantic(item: Any) -> Problem:
    path: Path = tuple(part for part in item["loc"] if isinstance(part, str | int))
    kind = item["type"]
    if kind == "extra_forbidden":
        return Problem(path, f"unknown key {path[-1]!r} (see `changegate policy schema`)")
    if kind == "missing":
        return Problem(path, f"required key {path[-1]!r} is missing")
    given = item.get("input")
    shown = "" if isinstance(given, Mapping | list) else f" (got {given!r})"
    return Problem(path, f"{item['msg']}{shown}")


def semantic_problems(policy: Policy) -> list[Problem]:
    problems: list[Problem] = []
    problems += _zone_problems(policy)
    problems += _role_problems(policy)
    problems += _type_problems(policy)
    for name, window in policy.windows.items():
        problems += _window_problems(("windows", name), window)
    for index, freeze in enumerate(policy.freezes):
        if _naive_as(freeze.end) <= _naive_as(freeze.start):
            problems.append(Problem(("freezes", index, "end"), "the freeze ends before it starts"))
    problems += _classification_problems(policy)
    problems += _service_problems(policy)
    return problems


def _service_problems(policy: Policy) -> list[Problem]:
    problems = []
    seen: set[str] = set()
    for index, service in enumerate(policy.services):
        base: Path = ("services", index)
        if service.name in seen:
            problems.append(Problem((*base, "name"), f"duplicate service {service.name!r}"))
        seen.add(service.name)
        if service.kind in {"rust-worker", "ts-worker"} and "production" not in service.scripts:
            problems.append(Problem((*base, "scripts"), "a Worker needs its production script name under scripts.production"))
        if service.kind == "command" and not service.deploy:
            problems.append(Problem((*base, "deploy"), "a command service needs a deploy command"))
        steps = service.rollout
        if steps and (steps[-1] != 100 or any(not 0 < s <= 100 for s in steps) or steps != sorted(set(steps))):
            problems.append(Problem((*base, "rollout"), f"rollout steps must rise strictly to 100 (got {steps})"))
    return problems


def _naive_as(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=None) if moment.tzinfo is None else moment.astimezone(dt.UTC).replace(tzinfo=None)


def _zone_problems(policy: Policy) -> list[Problem]:
    problems = []
    try:
        zoneinfo.ZoneInfo(policy.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        problems.append(Problem(("timezone",), f"unknown time zone {policy.timezone!r}: use an IANA name such as Australia/Sydney or Australia/Brisbane"))
    supported = holidays.list_supported_countries()
    country = policy.holidays.country
    if country not in supported:
        problems.append(Problem(("holidays", "country"), f"unknown holiday country {country!r}: use an ISO 3166 code such as AU"))
    elif policy.holidays.subdivision and policy.holidays.subdivision not in supported[country]:
        choices = ", ".join(supported[country])
        problems.append(Problem(("holidays", "subdivision"), f"unknown subdivision {policy.holidays.subdivision!r} of {country}: choose one of {choices}"))
    return problems


def _role_problems(policy: Policy) -> list[Problem]:
    problems = []
    for role, members in policy.roles.items():
        if not members:
            problems.append(Problem(("roles", role), f"role {role!r} has no members"))
        for index, member in enumerate(members):
            if not MEMBER.match(member):
                problems.append(Problem(("roles", role, index), f"{member!r} is not '@login' or '@org/team-slug'"))
    return problems


def _type_problems(policy: Policy) -> list[Problem]:
    problems = []
    for change_type in ChangeType:
        rules = policy.types.of(change_type)
        base: Path = ("types", change_type.value)
        if rules.window not in policy.windows:
            problems.append(Problem((*base, "window"), f"unknown window {rules.window!r}: define it under `windows` (have: {', '.join(policy.windows) or 'none'})"))
        roles: list[tuple[Path, str]] = []
        if rules.approvals is not None:
            roles += [((*base, "approvals", "required_roles", i), r) for i, r in enumerate(rules.approvals.required_roles)]
            if len(rules.approvals.required_roles) > max(rules.approvals.count, 0) and rules.approvals.count:
                problems.append(Problem((*base, "approvals", "count"), "fewer approvals than required roles"))
        if rules.verbal_approval is not None:
            roles += [((*base, "verbal_approval", "roles", i), r) for i, r in enumerate(rules.verbal_approval.roles)]
        for path, role in roles:
            if role not in policy.roles:
                problems.append(Problem(path, f"unknown role {role!r}: define it under `roles` (have: {', '.join(policy.roles) or 'none'})"))
        if change_type is ChangeType.EMERGENCY and rules.verbal_approval is None:
            problems.append(Problem((*base, "verbal_approval"), "the emergency type needs a verbal_approval section"))
        if change_type is not ChangeType.EMERGENCY and rules.approvals is None:
            problems.append(Problem((*base, "approvals"), f"the {change_type.value} type needs an approvals section"))
    return problems


def _window_problems(base: Path, window: Window) -> list[Problem]:
    if window.always and window.hours:
        return [Problem((*base, "hours"), "a window is either `always: true` or has `hours`, not both")]
    if not window.always and not window.hours:
        return [Problem(base, "the window is never open: give `always: true` or `hours`")]
    problems = []
    for index, hours in enumerate(window.hours):
        if hours.end_minute <= hours.start_minute:
            problems.append(Problem((*base, "hours", index, "end"), f"inverted hours: end {hours.end} is not after start {hours.start}"))
    for day in WEEKDAYS:
        spans = sorted((h.start_minute, h.end_minute, i) for i, h in enumerate(window.hours) if day in h.days)
        for (_, end, _), (start, _, later) in zip(spans, spans[1:], strict=False):
            if start < end:
                problems.append(Problem((*base, "hours", later), f"hours overlap another range on {day}"))
    return problems


def _classification_problems(policy: Policy) -> list[Problem]:
    problems = []
    seen: set[str] = set()
    for index, rule in enumerate(policy.classification.rules):
        base: Path = ("classification", "rules", index)
        if rule.id in seen:
            problems.append(Problem((*base, "id"), f"duplicate rule id {rule.id!r}"))
        seen.add(rule.id)
        if not (rule.paths or rule.labels or rule.title):
            problems.append(Problem(base, "the rule has no matcher: give paths, labels or title"))
        if rule.title is not None:
            try:
                re.compile(rule.title)
            except re.error as error:
                problems.append(Problem((*base, "title"), f"invalid regular expression: {error}"))
        for number, pattern in enumerate(rule.paths):
            try:
                pathspec.GitIgnoreSpec.from_lines([pattern])
            except (ValueError, TypeError) as error:
                problems.append(Problem((*base, "paths", number), f"invalid path pattern: {error}"))
    for label, change_type in policy.classification.type_labels.items():
        if change_type is ChangeType.EMERGENCY:
            problems.append(Problem(("classification", "type_labels", label), "emergency is declared, not labelled: list the label under emergency_labels"))
    return problems


def policy_warnings(policy: Policy, *, today: dt.date) -> list[str]:
    """Warnings that do not make the policy invalid (e.g. the procedure's review is overdue)."""
    warnings = []
    due = policy.procedure.next_review
    if due < today:
        days = (today - due).days
        warnings.append(
            f"the procedure's next review was due on {due.isoformat()} ({days} day{'s' if days != 1 else ''} ago): "
            f"the {policy.procedure.owner} should review it and update procedure.next_review"
        )
    return warnings
