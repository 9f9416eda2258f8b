"""Stream the first-parent history of a branch from the real `git`, with bounded memory.

One `git log` walk gives each commit and whether it changed the policy file (relative to its first
parent): `--sparse` lists every commit despite the pathspec, and `--name-only` follows a record with
the policy paths it touched. A record is `\\x1e` + the fields (NUL-separated) + NUL + that list, so
the text after the record's last NUL is blank or names a policy path. Commit messages cannot hold a
NUL, but they can hold `\\x1e`: a piece with too few NULs is glued to the next one again.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import cast

from changegate.core.audit_model import Commit
from changegate.errors import ChangegateError
from changegate.policy_source import POLICY_LOCATIONS

FIELDS = "%H%x00%P%x00%an%x00%ae%x00%aI%x00%cI%x00%ce%x00%s%x00%b%x1e"  # the benchmark's baseline format
RECORD = "%x1e" + FIELDS.removesuffix("%x1e") + "%x00"  # then git's "\n", then the touched policy paths
CHUNK = 1 << 16
_PARTS = 10  # 9 fields and the touched paths
fromisoformat = dt.datetime.fromisoformat


def log_command(branch: str, *, since: dt.datetime | None = None, until: dt.datetime | None = None) -> list[str]:
    """`git log` over BRANCH's first parents, every commit listed with the policy paths it changed."""
    command = ["git", "-c", "log.showSignature=false", "log", "--first-parent", "--diff-merges=first-parent", "--root", "--sparse", "--name-only",
               "--no-renames", f"--format={RECORD}", branch]
    if since is not None:
        command.append(f"--since={since.isoformat()}")
    if until is not None:
        command.append(f"--until={until.isoformat()}")
    return [*command, "--", *POLICY_LOCATIONS]


def first_parent_commits(repo: Path, *, branch: str, since: dt.datetime | None = None, until: dt.datetime | None = None,
                         stop_at: str | None = None) -> Iterator[tuple[Commit, str, bool]]:
    """(commit, committer email, touched_policy), newest first; stops before `stop_at` (an already-audited
    sha). `touched_policy`: the commit changed a policy file relative to its first parent (the root: added one).
    A branch that is not a commit fails here, at the call, before anything is read."""
    verify_commit(repo, branch)
    return _walk(repo, branch, log_command(branch, since=since, until=until), stop_at)


def verify_commit(repo: Path, branch: str) -> None:
    done = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{branch}^{{commit}}"], cwd=repo, capture_output=True, check=False)
    if done.returncode != 0:
        raise ChangegateError(f"{branch!r} is not a branch or commit in {repo}: check --branch (`git branch -a` lists them)")


def _walk(repo: Path, branch: str, command: list[str], stop_at: str | None) -> Iterator[tuple[Commit, str, bool]]:
    process = subprocess.Popen(command, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert process.stdout is not None
    try:
        stdout = cast(io.BufferedReader, process.stdout)
        # read1: what is there, not a full 64 KiB, so git and Python overlap
        for commit, committer, touched in parse_records(iter(functools.partial(stdout.read1, CHUNK), b"")):
            if commit.sha == stop_at:
                return
            yield commit, committer, touched
    finally:
        process.stdout.close()
        process.kill() if process.poll() is None else None
        error = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
        if process.stderr:
            process.stderr.close()
        code = process.wait()
        if code not in (0, -9) and error:
            raise ChangegateError(f"git log --first-parent {branch} in {repo} failed: {error.strip()}")


def parse_records(chunks: Iterable[bytes]) -> Iterator[tuple[Commit, str, bool]]:
    """(commit, committer email, touched_policy) from `git log --format=RECORD --name-only` output, cut anywhere."""
    carry = ""
    for text in _texts(chunks):
        for raw in text.split("\x1e"):
            if carry:
                raw, carry = carry + "\x1e" + raw, ""
            parts = raw.split("\x00")
            if len(parts) == _PARTS:
                sha, parents, name, email, authored, committed, committer, subject, body, paths = parts
            elif len(parts) < _PARTS:  # a \x1e inside a subject or body, or the nothing before the first record
                carry = raw
                continue
            else:  # a NUL in a message: not from `git commit`, which refuses one
                sha, parents, name, email, authored, committed, committer, subject, *rest, paths = parts
                body = "\x00".join(rest)
            yield (Commit.of(sha, (parents,) if len(parents) == 40 else tuple(parents.split()), name, email, fromisoformat(authored),
                             fromisoformat(committed), subject, body, committed), committer, paths != "\n" and bool(paths.strip()))
    if carry:
        raise ChangegateError("git log's output ended inside a commit record")


def _texts(chunks: Iterable[bytes]) -> Iterator[str]:
    """The stream, decoded, in pieces cut at a \x1e (dropped): split(S) == split(S[:cut]) + split(S[cut + 1:]).
    An ASCII \x1e is never inside a UTF-8 sequence, so decoding pieces decodes each record the same."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        cut = buffer.rfind(b"\x1e")  # what follows may still grow (a record's paths come last)
        if cut >= 0:
            yield buffer[:cut].decode("utf-8", "replace")
            buffer = buffer[cut + 1:]
    yield buffer.decode("utf-8", "replace")


def file_at(repo: Path, sha: str, path: str) -> str | None:
    done = subprocess.run(["git", "show", f"{sha}:{path}"], cwd=repo, capture_output=True, check=False)
    return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else None
