"""The policy in force at each commit of a first-parent walk, without a history walk of its own.

The walk (`git_log.first_parent_commits`) says which commits changed a policy file relative to their
first parent. The policy at a commit is the first of POLICY_LOCATIONS in that commit's tree, else the
shipped default; so it is read at the first commit observed, and again at the commit after (older
than) one that changed the file, or after a gap in the first-parent chain. Everything is cached by
blob id: an unchanged file is parsed once, and an invalid one warns once.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from changegate.core.audit_model import Commit
from changegate.core.policy import Policy
from changegate.errors import ChangegateError
from changegate.policy_source import POLICY_LOCATIONS, default_policy_text, parse_policy_text


@functools.cache
def default_policy() -> Policy:
    return parse_policy_text(default_policy_text(), source="<default policy>").policy


class PolicyTimeline:
    """`observe` must see every commit of the walk, in order, newest first; `policy_at` and `key` then
    describe the policy in force at the most recently observed commit."""

    def __init__(self, repo: Path) -> None:
        self._repo = repo
        self._policies: dict[str, Policy] = {}  # blob id -> policy ("" -> the default)
        self._key = ""
        self._current: Policy | None = None
        self._reload = True  # read the policy at the next observed commit
        self._expected: str | None = None  # the first parent of the last observed commit
        self.invalid: dict[str, str] = {}  # blob id -> the warning, for each invalid policy met

    @property
    def warnings(self) -> list[str]:
        return list(self.invalid.values())

    def observe(self, commit: Commit, touched_policy: bool) -> None:
        if self._reload or commit.sha != self._expected:  # the first commit, after a change, or after a gap
            self._key, path = self._blob_at(commit.sha)
            self._current = self._policy(self._key, where=commit.sha[:12], source=f"{commit.sha[:12]}:{path}")
        self._reload = touched_policy  # the next (older) commit may see another file
        self._expected = commit.parents[0] if commit.parents else None

    def policy_at(self, _sha: str) -> Policy:
        """The policy in force at the last observed commit (the argument is ignored: `Auditor` passes one)."""
        return self._current if self._current is not None else default_policy()

    @property
    def key(self) -> str:
        """The blob id of the policy file in force at the last observed commit; "" when there is none.
        (An empty or invalid file has a key too; `policy_for_key` gives the default for it.)"""
        return self._key

    def policy_for_key(self, key: str) -> Policy:
        """The policy of a blob id that `key` gave earlier ("" -> the shipped default)."""
        return self._policy(key, where=f"blob {key[:12]}", source=f"blob {key[:12]}")

    def _policy(self, key: str, *, where: str, source: str) -> Policy:
        if key not in self._policies:
            self._policies[key] = self._parse(key, where=where, source=source) if key else default_policy()
        return self._policies[key]

    def _parse(self, key: str, *, where: str, source: str) -> Policy:
        done = subprocess.run(["git", "cat-file", "blob", key], cwd=self._repo, capture_output=True, check=False)
        if done.returncode != 0:
            raise ChangegateError(f"git cat-file blob {key} in {self._repo} failed: {done.stderr.decode('utf-8', 'replace').strip()}")
        text = done.stdout.decode("utf-8", "replace")
        if not text:
            return default_policy()
        try:
            return parse_policy_text(text, source=source).policy
        except ChangegateError as error:
            self.invalid[key] = f"the policy at {where} is invalid, so the default policy was applied there: {error}"
            return default_policy()

    def _blob_at(self, sha: str) -> tuple[str, str]:
        """(blob id, path) of the policy file in the tree of `sha`; ("", "") when there is none."""
        done = subprocess.run(["git", "ls-tree", "-z", sha, "--", *POLICY_LOCATIONS], cwd=self._repo, capture_output=True, check=False)
        if done.returncode != 0:
            raise ChangegateError(f"git ls-tree {sha} in {self._repo} failed: {done.stderr.decode('utf-8', 'replace').strip()}")
        blobs: dict[str, str] = {}
        for entry in done.stdout.decode("utf-8", "replace").split("\x00"):
            meta, _, path = entry.partition("\t")
            if meta.split(" ")[1:2] == ["blob"]:
                blobs[path] = meta.split(" ")[2]
        return next(((blobs[path], path) for path in POLICY_LOCATIONS if path in blobs), ("", ""))
