"""The audit's JSON line for commits walked from real git: git's own `%cI` text stands in for
`committed_at.isoformat()`, so it must be exactly that in every time zone."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from changegate.adapters.git_log import first_parent_commits
from changegate.core.audit_kinds import kind_of
from changegate.core.audit_model import Change

DATES = ["2026-11-01T00:00:00+00:00", "2026-11-01T09:30:00+09:30", "2026-03-08T01:59:59-08:00", "1999-12-31T23:59:59+14:00",
         "2026-06-15T12:00:00-03:30", "2026-11-01T00:00:00+05:45"]


def test_walked_commits_serialise_exactly_as_json_dumps(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    for n, when in enumerate(DATES):
        env = {**os.environ, "GIT_AUTHOR_NAME": "Zoë \"Q\" Ünïcode", "GIT_AUTHOR_EMAIL": "z@example.com", "GIT_COMMITTER_NAME": "c",
               "GIT_COMMITTER_EMAIL": "c@example.com", "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
        subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", f"Change \\ \"{n}\" ✓ (#{n + 1})"], cwd=tmp_path, env=env, check=True)
    walked = list(first_parent_commits(tmp_path, branch="main"))
    assert len(walked) == len(DATES)
    for (commit, committer, _touched), when in zip(walked, reversed(DATES), strict=True):
        assert commit.committed_iso == when == commit.committed_at.isoformat()
        change = Change.of(commit, *kind_of(commit, committer_email=committer))
        change.add("NO_PR_EVIDENCE", "#1: none")
        assert change.to_json() == json.dumps(change.as_dict())
