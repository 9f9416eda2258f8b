"""CODEOWNERS: every changed file that has owners needs an approval from one of them. Pure.

Parsing and pattern semantics are the `codeowners` package's (GitHub's rules: last match wins).
Matching is indexed (a trie of literal directory prefixes plus a required literal per rule), so a
1,000-rule file does not cost 1,000 regex searches per path.
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass

from codeowners import CodeOwners

_WILD = re.compile(r"[*?\[\\]")
_LITERAL_RUN = re.compile(r"[^*?\[\]\\/]+")
_CHAR_CLASS = re.compile(r"\[[^\]]*\]")
_SPACE_MASK = "/" * 20


@dataclass(frozen=True)
class OwnerRule:
    priority: int  # 0 is the last line of the file: it wins
    line: int
    pattern: str
    owners: tuple[str, ...]
    regex: re.Pattern[str]


class _Node:
    __slots__ = ("children", "rules", "merged")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.rules: list[OwnerRule] = []
        self.merged: list[tuple[int, str, OwnerRule]] = []


class OwnersIndex:
    """Rules in a trie keyed by their leading literal directories. Each node holds its own and
    its ancestors' rules in priority order, each with a literal the path must contain, so a path
    tries only the rules that could match it."""

    def __init__(self, text: str) -> None:
        parsed = CodeOwners(text)
        self.rules: list[OwnerRule] = []
        self._root = _Node()
        for priority, (regex, pattern, owners, line, _section) in enumerate(parsed.paths):
            rule = OwnerRule(priority, line, pattern, tuple(owner for _kind, owner in owners), regex)
            self.rules.append(rule)
            node = self._root
            for segment in _literal_prefix(pattern):
                node = node.children.setdefault(segment, _Node())
            node.rules.append(rule)
        self._fill(self._root, [])

    def _fill(self, node: _Node, inherited: list[tuple[int, str, OwnerRule]]) -> None:
        own = [(rule.priority, _required_literal(rule.pattern), rule) for rule in node.rules]
        node.merged = list(heapq.merge(inherited, own)) if own else inherited
        for child in node.children.values():
            self._fill(child, node.merged)

    def rule_for(self, path: str) -> OwnerRule | None:
        """The winning rule for `path` (GitHub: the last matching line), or None."""
        subject = path.replace(" ", _SPACE_MASK)  # the codeowners package's escaping of spaces
        node = self._root
        for segment in subject.split("/"):
            child = node.children.get(segment)
            if child is None:
                break
            node = child
        for _priority, must, rule in node.merged:
            if must in subject and rule.regex.search(subject):
                return rule
        return None


def _literal_prefix(pattern: str) -> tuple[str, ...]:
    """The leading literal directories of an anchored pattern: a matching path starts with them."""
    slash = pattern.find("/")
    if not (slash > -1 and slash != len(pattern) - 1):
        return ()
    prefix = []
    for segment in pattern.strip("/").split("/"):
        if _WILD.search(segment):
            break
        prefix.append(segment)
    return tuple(prefix)


def _required_literal(pattern: str) -> str:
    """A literal every matching path contains ('' when a backslash makes that unsure)."""
    if "\\" in pattern:
        return ""
    runs = _LITERAL_RUN.findall(_CHAR_CLASS.sub("*", pattern))
    return max(runs, key=len, default="")


_by_text: dict[str, OwnersIndex] = {}


def index_for(text: str) -> OwnersIndex:
    """Parse once per distinct CODEOWNERS text (bounded cache)."""
    found = _by_text.get(text)
    if found is None:
        if len(_by_text) >= 16:
            _by_text.pop(next(iter(_by_text)))
        found = _by_text[text] = OwnersIndex(text)
    return found
