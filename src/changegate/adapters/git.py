"""The real `git` binary on one repository: ancestry checks and automatic reverts.

`is_on_branch` fetches nothing: it asks whether the commit is an ancestor of the local branch
or of a remote-tracking copy of it (`origin/<branch>`: CI checkouts often have only that). A
commit or branch git does not know is an error, not a quiet "no".

`revert` never touches the user's checkout: it fetches `<remote> <branch>`, adds a detached
temporary worktree at the fetched tip, runs `git revert --no-edit` (`-m 1` for a merge commit),
appends the given message to git's own ("Revert ..., This reverts commit ..."), pushes
`HEAD:refs/heads/<branch>` without force, and removes the worktree whatever happens. When the
repository has no committer identity, "changegate <changegate@localhost>" is used.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from changegate.errors import ChangegateError

log = logging.getLogger("changegate.git")

DEFAULT_IDENTITY = ("changegate", "changegate@localhost")
# Variables that would point git at another repository than the one we name.
_REPO_BINDING = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR", "GIT_NAMESPACE")


class GitError(ChangegateError):
    """A git command failed; the message names the command, the repository and what to do."""


class GitRepo:
    """`path`: a working tree (or bare repository). `remotes`: remote-tracking copies of the
    branch that `is_on_branch` also accepts."""

    def __init__(self, path: Path | str, *, git: str = "git", remotes: Sequence[str] = ("origin",), timeout: float = 300.0) -> None:
        self.path = Path(path)
        self.git = git
        self.remotes = tuple(remotes)
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"GitRepo({str(self.path)!r})"

    # -- questions -------------------------------------------------------------------------------

    def resolve(self, ref: str) -> str:
        """The full commit sha `ref` names."""
        done = self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        if done.returncode != 0:
            raise GitError(f"{ref!r} is not a commit in {self.path}: fetch it (git fetch) or check the sha")
        return done.stdout.strip()

    def commit_subject(self, sha: str) -> str:
        return self._git("log", "-1", "--format=%s", self.resolve(sha)).stdout.strip()

    def is_on_branch(self, sha: str, *, branch: str) -> bool:
        """Whether `sha` is reachable from `branch` or `<remote>/<branch>` (nothing fetched)."""
        commit = self.resolve(sha)
        refs = [f"refs/heads/{branch}", *(f"refs/remotes/{remote}/{branch}" for remote in self.remotes)]
        present = [ref for ref in refs if self._git("rev-parse", "--verify", "--quiet", ref, check=False).returncode == 0]
        if not present:
            raise GitError(f"no branch {branch!r} in {self.path} (looked for {', '.join(refs)}): fetch it, e.g. git fetch origin {branch}")
        for ref in present:
            done = self._git("merge-base", "--is-ancestor", commit, ref, check=False)
            if done.returncode == 0:
                return True
            if done.returncode != 1:
                raise GitError(f"git merge-base --is-ancestor {commit[:12]} {ref} failed in {self.path}: {one_line(done.stderr)}")
        return False

    def is_merge(self, sha: str) -> bool:
        return len(self._git("rev-list", "--parents", "-n", "1", sha).stdout.split()) > 2

    # -- revert ----------------------------------------------------------------------------------

    def revert(self, sha: str, *, remote: str, branch: str, message: str) -> str:
        """Revert `sha` on `remote`'s `branch` and push; the new commit's sha. A conflict or a
        rejected push leaves nothing behind and raises: a human must revert."""
        self._git("fetch", "--quiet", remote, f"refs/heads/{branch}", what=f"fetch {branch} from {remote}")
        tip = self.resolve("FETCH_HEAD")
        commit = self.resolve(sha)
        if self._git("merge-base", "--is-ancestor", commit, tip, check=False).returncode != 0:
            raise GitError(f"commit {commit[:12]} is not on {remote}/{branch}: nothing to revert there; a human must check what was deployed")
        with tempfile.TemporaryDirectory(prefix="changegate-revert-") as scratch:
            tree = Path(scratch) / "worktree"
            self._git("worktree", "add", "--detach", "--quiet", str(tree), tip, what="add a temporary worktree")
            try:
                return self._revert_in(tree, commit, remote=remote, branch=branch, message=message)
            finally:
                self._git("worktree", "remove", "--force", str(tree), check=False)
                self._git("worktree", "prune", check=False)

    def _revert_in(self, tree: Path, commit: str, *, remote: str, branch: str, message: str) -> str:
        merge = ["-m", "1"] if self.is_merge(commit) else []
        done = self._git("revert", "--no-edit", *merge, commit, cwd=tree, check=False, identity=True)
        if done.returncode != 0:
            self._git("revert", "--abort", cwd=tree, check=False)
            raise GitError(f"git revert {commit[:12]} on {remote}/{branch} failed ({one_line(done.stdout + done.stderr)}); "
                           f"the revert was aborted and nothing was pushed: a human must revert {commit[:12]} by hand")
        body = self._git("log", "-1", "--format=%B", cwd=tree).stdout.rstrip()
        self._git("commit", "--amend", "--quiet", "--no-verify", "-F", "-", cwd=tree, input=f"{body}\n\n{message}\n", identity=True)
        new = self._git("rev-parse", "HEAD", cwd=tree).stdout.strip()
        pushed = self._git("push", "--quiet", remote, f"HEAD:refs/heads/{branch}", cwd=tree, check=False)
        if pushed.returncode != 0:
            raise GitError(f"git push {remote} {branch} of the revert of {commit[:12]} was rejected ({one_line(pushed.stderr)}): "
                           f"nothing was pushed; a human must revert {commit[:12]} (the branch may have moved or be protected)")
        log.info("reverted %s on %s/%s as %s", commit[:12], remote, branch, new[:12])
        return new

    # -- running git -----------------------------------------------------------------------------

    def _env(self, identity: bool) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _REPO_BINDING}
        env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C")
        if identity and self._git("config", "--get", "user.email", check=False).returncode != 0:
            name, email = DEFAULT_IDENTITY
            for role in ("AUTHOR", "COMMITTER"):
                env.setdefault(f"GIT_{role}_NAME", name)
                env.setdefault(f"GIT_{role}_EMAIL", email)
        return env

    def _git(self, *args: str, cwd: Path | None = None, check: bool = True, input: str | None = None,
             identity: bool = False, what: str | None = None) -> subprocess.CompletedProcess[str]:
        command = [self.git, *args]
        try:
            done = subprocess.run(command, cwd=cwd or self.path, env=self._env(identity), input=input, text=True,
                                  stdin=None if input is not None else subprocess.DEVNULL,
                                  capture_output=True, timeout=self.timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise GitError(f"git {' '.join(args[:2])} could not run in {self.path}: {error}") from error
        if check and done.returncode != 0:
            raise GitError(f"git {what or ' '.join(args[:3])} failed in {self.path} (exit {done.returncode}): {one_line(done.stderr)}")
        return done


_CREDENTIALS = re.compile(r"(://)[^/@\s]+@")


def one_line(output: str, *, lines: int = 3) -> str:
    """The last few lines of git's output (hints left out), joined, credentials in URLs masked."""
    kept = [line.strip() for line in output.splitlines() if line.strip() and not line.startswith("hint:")][-lines:]
    return _CREDENTIALS.sub(r"\1***@", "; ".join(kept))
