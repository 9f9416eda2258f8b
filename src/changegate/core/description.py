"""The PR description: what and why; for significant changes a rollback plan and a design review. Pure.

A section is a Markdown heading (`## Why`), a bold line (`**Why**`) or a label line (`Why: ...`)
whose name is one of the policy's headings, followed by at least `min_chars` of text (HTML
comments, as left by PR templates, don't count).
"""

from __future__ import annotations

import re

from changegate.core.policy import DescriptionPart, DescriptionSettings, Section
from changegate.core.verdict import Requirement, State

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_ATX = re.compile(r"^\s{0,3}#{1,6}\s+(?P<name>.+?)\s*#*\s*$")
_BOLD = re.compile(r"^\s*(\*\*|__)(?P<name>[^*_]+?)\s*:?\s*(\*\*|__)\s*:?\s*(?P<rest>.*)$")
_LABEL = re.compile(r"^\s*(?P<name>[A-Za-z][A-Za-z /&-]{1,40}?)\s*:\s*(?P<rest>.*)$")


def sections(body: str | None, *, labels: frozenset[str] = frozenset()) -> dict[str, str]:
    """Section name (lower case, punctuation folded) -> its text. A `Name: text` line starts a
    section only when Name is one of `labels` (so prose and URLs are not mistaken for headings)."""
    found: dict[str, str] = {}
    current: str | None = None
    for line in _COMMENT.sub("", body or "").splitlines():
        heading = _heading(line, labels)
        if heading is not None:
            current, rest = heading
            found[current] = found.get(current, "") + rest
        elif current is not None:
            found[current] += "\n" + line
    return {name: text.strip() for name, text in found.items()}


def _heading(line: str, labels: frozenset[str]) -> tuple[str, str] | None:
    for pattern in (_ATX, _BOLD, _LABEL):
        match = pattern.match(line)
        if match and (pattern is not _LABEL or _normal(match["name"]) in labels):
            return _normal(match["name"]), match.groupdict().get("rest") or ""
    return None


def _normal(name: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", name.lower()).split())


def _find(found: dict[str, str], section: Section) -> str | None:
    for name, text in found.items():
        for heading in section.headings:
            wanted = _normal(heading)
            if (name == wanted or name.startswith(wanted + " ")) and len(text) >= section.min_chars:
                return name
    return None


def description_requirements(body: str | None, settings: DescriptionSettings, parts: list[DescriptionPart], *, author: str) -> list[Requirement]:
    labels = frozenset(_normal(h) for name in ("what", "why", "rollback_plan", "design_review") for h in getattr(settings, name).headings)
    found = sections(body, labels=labels)
    results = []
    for part in parts:
        if part == "what_why":
            what, why = _find(found, settings.what), _find(found, settings.why)
            missing = [name for name, hit in (("what", what), ("why", why)) if hit is None]
            evidence = {"what": what, "why": why}
            if missing:
                wanted = " and ".join(f"a '{getattr(settings, name).headings[0].title()}' section" for name in missing)
                results.append(Requirement("description.what_why", State.PENDING, f"The PR description needs {wanted} ({author} edits the description)", evidence))
            else:
                results.append(Requirement("description.what_why", State.SATISFIED, "The description says what and why", evidence))
        else:
            results.append(_single(found, part, getattr(settings, part), author=author))
    return results


_IDS = {"rollback_plan": "description.rollback_plan", "design_review": "design_review"}
_NAMES = {"rollback_plan": "a rollback plan", "design_review": "a design review reference (a brief written description of the approach, or a link to it)"}


def _single(found: dict[str, str], part: DescriptionPart, section: Section, *, author: str) -> Requirement:
    hit = _find(found, section)
    if hit is not None:
        return Requirement(_IDS[part], State.SATISFIED, f"The description has {_NAMES[part].split(' (')[0]} ('{hit}')", {"section": hit, "text": found[hit][:500]})
    heading = section.headings[0].title()
    return Requirement(_IDS[part], State.PENDING, f"The description needs {_NAMES[part]} under a '{heading}' heading ({author} edits the description)", {"section": None})
