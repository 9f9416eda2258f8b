"""CODEOWNERS: every changed file that has owners needs an approval from one of them. Pure.

Parsing and pattern semantics are the `codeowners` package's (GitHub's rules: last match wins).
Matching is indexed: rules anchored under a literal first directory are only tried against
files in that directory, so a 1,000-rule file does not cost 1,000 regex searches per path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from codeowners import CodeOwners

_WILD = re.compile(r"[*?\[\\]")


@dataclass(frozen=True)
class OwnerRule:
    priority: int  # 0 is the last line of the file: it wins
    line: int
    pattern: str
    owners: tuple[str, ...]
    regex: re.Pattern[str]


class OwnersIndex:
    def __init__(self, text: str) -> None:
        parsed = CodeOwners(text)
        self.rules: list[OwnerRule] = []
        self._by_top: dict[str, list[OwnerRule]] = {}
        self._everywhere: list[OwnerRule] = []
        for priority, (regex, pattern, owners, line, _section) in enumerate(parsed.paths):
            rule = OwnerRule(priority, line, pattern, tuple(owner for _kind, owner in owners), regex)
            self.rules.append(rule)
            top = _anchored_top(pattern)
            if top is None:
                self._everywhere.append(rule)
            else:
                self._by_top.setdefault(top, []).append(rule)

    def rule_for(self, path: str) -> OwnerRule | None:
        """The winning rule for `path` (GitHub: the last matching line), or None."""
        candidates = self._by_top.get(path.split("/", 1)[0], [])
        subject = path.replace(" ", "/" * 20)  # the codeowners package's escaping of spaces
        for rule in _merge(candidates, self._everywhere):
            if rule.regex.search(subject):
                return rule
        return None


def _anchored_top(pattern: str) -> str | None:
    slash = pattern.find("/")
    anchored = slash > -1 and slash != len(pattern) - 1
    if not anchored:
        return None
    top = pattern.strip("/").split("/", 1)[0]
    return None if _WILD.search(top) else top


def _merge(first: list[OwnerRule], second: list[OwnerRule]) -> Iterable[OwnerRule]:
    i = j = 0
    while i < len(first) or j < len(second):
        if j >= len(second) or (i < len(first) and first[i].priority < second[j].priority):
            yield first[i]
            i += 1
        else:
            yield second[j]
            j += 1


_by_text: dict[str, OwnersIndex] = {}


def index_for(text: str) -> OwnersIndex:
    """Parse once per distinct CODEOWNERS text (bounded cache)."""
    found = _by_text.get(text)
    if found is None:
        if len(_by_text) >= 16:
            _by_text.pop(next(iter(_by_text)))
        found = _by_text[text] = OwnersIndex(text)
    return found
