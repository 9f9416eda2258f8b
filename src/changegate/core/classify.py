"""Classify a change as Standard, Significant or Emergency, with the rules that decided it. Pure.

Significant: a new feature, an API change, an infrastructure change or a security-sensitive change
(rules in `classification.rules`). Emergency: only when declared (an emergency label or record).
Standard: everything else. A label may raise the inferred type, never lower it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pathspec
from pathspec.util import normalize_file

from changegate.core.memo import IdentityMemo
from changegate.core.policy import ChangeType, ClassificationRule, Policy
from changegate.core.policy import Classification as ClassificationPolicy
from changegate.core.snapshot import Snapshot
from changegate.core.verdict import TypeReason

MAX_LISTED_FILES = 20


@dataclass(frozen=True)
class Classification:
    change_type: ChangeType
    reasons: tuple[TypeReason, ...]
    warnings: tuple[str, ...] = ()


class PathMatcher:
    """gitignore-style path patterns (pathspec's semantics). When no pattern is negated, they
    are joined into one regular expression, so each path costs one C-level match."""

    def __init__(self, patterns: list[str]) -> None:
        self._spec = pathspec.GitIgnoreSpec.from_lines(patterns)
        compiled = [getattr(p, "regex", None) for p in self._spec.patterns if p.include is not None]
        simple = all(p.include for p in self._spec.patterns if p.include is not None) and all(isinstance(r, re.Pattern) for r in compiled)
        self._joined = re.compile("|".join(f"(?:{r.pattern})" for r in compiled if r is not None).replace("(?P<ps_d>", "(?:")) if simple and compiled else None

    def match_files(self, paths: list[str]) -> list[str]:
        if self._joined is None:
            return list(self._spec.match_files(paths))
        match = self._joined.match
        return [path for path in paths if match(normalize_file(path))]


@dataclass(frozen=True)
class _CompiledRule:
    rule: ClassificationRule
    spec: PathMatcher | None
    title: re.Pattern[str] | None


def _compile_rules(section: ClassificationPolicy) -> tuple[_CompiledRule, ...]:
    return tuple(
        _CompiledRule(
            rule=rule,
            spec=PathMatcher(rule.paths) if rule.paths else None,
            title=re.compile(rule.title, re.IGNORECASE) if rule.title else None,
        )
        for rule in section.rules
    )


_compile = IdentityMemo(_compile_rules)


def changed_paths(snapshot: Snapshot) -> list[str]:
    """Every path a change touches: each file, and the old name of a renamed file."""
    paths = []
    for changed in snapshot.files:
        paths.append(changed.filename)
        if changed.previous_filename:
            paths.append(changed.previous_filename)
    return paths


def classify(snapshot: Snapshot, policy: Policy) -> Classification:
    labels = snapshot.labels
    paths = changed_paths(snapshot)
    reasons = [r for c in _compile(policy.classification) if (r := _fire(c, snapshot.pull_request.title, labels, paths))]
    inferred = max((r.change_type for r in reasons), key=lambda t: t.rank, default=ChangeType.STANDARD)
    if not reasons:
        reasons.append(TypeReason("routine", "routine", ChangeType.STANDARD, "No significant-change rule matched: a routine change"))
    emergency = _emergency_reasons(snapshot, policy)
    if emergency:
        return Classification(ChangeType.EMERGENCY, (*emergency, *reasons))
    raised, warnings = _label_types(labels, policy, inferred)
    if raised is not None:
        return Classification(raised.change_type, (raised, *reasons), warnings)
    return Classification(inferred, tuple(reasons), warnings)


def _fire(compiled: _CompiledRule, title: str, labels: list[str], paths: list[str]) -> TypeReason | None:
    rule = compiled.rule
    hit_labels = tuple(label for label in labels if label in rule.labels)
    hit_files = tuple(compiled.spec.match_files(paths)) if compiled.spec else ()
    hit_title = bool(compiled.title and compiled.title.search(title))
    if not (hit_labels or hit_files or hit_title):
        return None
    evidence = []
    if hit_title:
        evidence.append(f"title {title!r}")
    if hit_labels:
        evidence.append("label " + ", ".join(repr(label) for label in hit_labels))
    if hit_files:
        shown = ", ".join(hit_files[:3]) + (f" and {len(hit_files) - 3} more" if len(hit_files) > 3 else "")
        evidence.append(f"{len(hit_files)} file(s): {shown}")
    detail = f"{rule.reason}: {'; '.join(evidence)}"
    return TypeReason(rule.id, rule.category, rule.type, detail, hit_files[:MAX_LISTED_FILES], hit_labels)


def _emergency_reasons(snapshot: Snapshot, policy: Policy) -> list[TypeReason]:
    reasons = []
    labels = tuple(label for label in snapshot.labels if label in policy.classification.emergency_labels)
    if labels:
        detail = f"Declared an emergency by label {', '.join(repr(label) for label in labels)}"
        reasons.append(TypeReason("emergency-label", "emergency", ChangeType.EMERGENCY, detail, labels=labels))
    record = snapshot.emergency
    if record is not None:
        detail = f"Emergency {record.id} declared by {record.declared_by} for incident {record.incident} ({record.severity})"
        reasons.append(TypeReason("emergency-record", "emergency", ChangeType.EMERGENCY, detail))
    return reasons


def _label_types(labels: list[str], policy: Policy, inferred: ChangeType) -> tuple[TypeReason | None, tuple[str, ...]]:
    raised: TypeReason | None = None
    warnings = []
    for label in labels:
        wanted = policy.classification.type_labels.get(label)
        if wanted is None:
            continue
        if wanted.rank < inferred.rank:
            warnings.append(f"label {label!r} ignored: the rules make this change {inferred.value}, and a label may raise the type, never lower it")
        elif wanted.rank > inferred.rank and (raised is None or wanted.rank > raised.change_type.rank):
            raised = TypeReason("type-label", "label", wanted, f"Label {label!r} raises the type to {wanted.value}", labels=(label,))
    return raised, tuple(warnings)
