"""What kind of change a first-parent commit is, from git alone. Pure."""

from __future__ import annotations

import re

from changegate.core.audit_model import Commit, Kind

_SQUASH = re.compile(r"\(#(\d+)\)\s*$")
_MERGE = re.compile(r"^Merge pull request #(\d+) ")
_REVERT = re.compile(r'^Revert "|^This reverts commit [0-9a-f]{7,40}', re.MULTILINE)
GITHUB_COMMITTERS = frozenset({"noreply@github.com"})


def kind_of(commit: Commit, *, committer_email: str, emergency_shas: frozenset[str] = frozenset()) -> tuple[Kind, int | None]:
    subject, body = commit.subject, commit.body
    squash = _SQUASH.search(subject) if "(#" in subject else None  # each regex only where its literal text is: a million commits
    pr = int(squash.group(1)) if squash else None
    if commit.sha in emergency_shas:
        return "emergency", pr
    if _reverts(subject) or _reverts(body):
        return "revert", pr
    if len(commit.parents) > 1:
        merge = _MERGE.match(subject)
        return ("merge_pr", int(merge.group(1))) if merge else ("direct_push", None)
    if squash:
        return "squash_pr", pr
    if committer_email in GITHUB_COMMITTERS and commit.author_email not in GITHUB_COMMITTERS:
        return "rebase_pr", None  # rebase-merged by GitHub; the PR number comes from GitHub
    return "direct_push", None


def _reverts(text: str) -> bool:
    return ('Revert "' in text or "This reverts commit " in text) and _REVERT.search(text) is not None
