"""Stream the first-parent history of a branch from the real `git`, with bounded memory."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import cast

from changegate.core.audit_model import Commit
from changegate.errors import ChangegateError

FIELDS = "%H%x00%P%x00%an%x00%ae%x00%aI%x00%cI%x00%ce%x00%s%x00%b%x1e"
CHUNK = 1 << 16


def first_parent_commits(repo: Path, *, branch: str, since: dt.datetime | None = None, until: dt.datetime | None = None,
                         stop_at: str | None = None) -> Iterator[tuple[Commit, str]]:
    """(commit, committer email), newest first; stops before `stop_at` (an already-audited sha)."""
    command = ["git", "log", "--first-parent", f"--format={FIELDS}", branch]
    if since is not None:
        command.append(f"--since={since.isoformat()}")
    if until is not None:
        command.append(f"--until={until.isoformat()}")
    process = subprocess.Popen(command, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert process.stdout is not None
    try:
        buffer = b""
        stdout = cast(io.BufferedReader, process.stdout)
        while chunk := stdout.read1(CHUNK):  # what is there, not a full 64 KiB: git and Python overlap
            buffer += chunk
            *records, buffer = buffer.split(b"\x1e")
            for raw in records:
                commit, committer = _parse(raw)
                if commit.sha == stop_at:
                    return
                yield commit, committer
        if buffer.strip():
            commit, committer = _parse(buffer)
            if commit.sha != stop_at:
                yield commit, committer
    finally:
        process.stdout.close()
        process.kill() if process.poll() is None else None
        error = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
        if process.stderr:
            process.stderr.close()
        code = process.wait()
        if code not in (0, -9) and error:
            raise ChangegateError(f"git log --first-parent {branch} in {repo} failed: {error.strip()}")


def _parse(raw: bytes) -> tuple[Commit, str]:
    parts = raw.lstrip(b"\n").decode("utf-8", "replace").split("\x00")
    sha, parents, name, email, authored, committed, committer, subject, body = (parts + [""] * 9)[:9]
    return Commit(sha, tuple(parents.split()), name, email, dt.datetime.fromisoformat(authored), dt.datetime.fromisoformat(committed), subject, body), committer


def file_at(repo: Path, sha: str, path: str) -> str | None:
    done = subprocess.run(["git", "show", f"{sha}:{path}"], cwd=repo, capture_output=True, check=False)
    return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else None
