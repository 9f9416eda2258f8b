"""GitRepo with real git: a bare remote, a clone, squash and merge reverts, a conflict."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from changegate.adapters.git import GitError, GitRepo

ENV = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_SYSTEM": "/dev/null"}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True, env={**_base_env(), **ENV})
    return done.stdout.strip()


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}


def commit_file(repo: Path, name: str, text: str, message: str) -> str:
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@dataclass
class Setup:
    remote: Path
    clone: Path
    other: Path  # a second clone, standing for the rest of the team

    def remote_log(self) -> list[str]:
        return git(self.remote, "log", "--format=%s", "main").splitlines()


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Setup:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    remote, clone, other = tmp_path / "remote.git", tmp_path / "clone", tmp_path / "other"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    for repo in (clone, other):
        git(tmp_path, "clone", "-q", str(remote), str(repo))
        git(repo, "config", "user.name", "Dev")
        git(repo, "config", "user.email", "dev@example.com")
    git(clone, "checkout", "-q", "-b", "main")
    commit_file(clone, "app.txt", "v1\n", "initial")
    git(clone, "push", "-q", "origin", "main")
    git(other, "pull", "-q", "origin", "main")
    return Setup(remote, clone, other)


def test_is_on_branch_local_and_remote_tracking(setup: Setup) -> None:
    repo = GitRepo(setup.clone)
    head = git(setup.clone, "rev-parse", "HEAD")
    assert repo.is_on_branch(head, branch="main")
    git(setup.clone, "checkout", "-q", "-b", "feature")
    feature = commit_file(setup.clone, "f.txt", "x\n", "feature work")
    assert not repo.is_on_branch(feature, branch="main")
    git(setup.clone, "branch", "-q", "-D", "main")  # CI checkouts often have only origin/main
    assert repo.is_on_branch(head, branch="main")
    assert not repo.is_on_branch(feature, branch="main")


def test_unknown_commits_and_branches_are_errors(setup: Setup) -> None:
    repo = GitRepo(setup.clone)
    with pytest.raises(GitError, match="is not a commit"):
        repo.is_on_branch("0" * 40, branch="main")
    with pytest.raises(GitError, match="no branch 'release'"):
        repo.is_on_branch("HEAD", branch="release")


def test_resolve_and_subject(setup: Setup) -> None:
    repo = GitRepo(setup.clone)
    sha = repo.resolve("HEAD")
    assert len(sha) == 40 and repo.resolve(sha[:10]) == sha
    assert repo.commit_subject(sha[:10]) == "initial"


def test_revert_a_squash_commit_and_push(setup: Setup) -> None:
    bad = commit_file(setup.other, "app.txt", "v2 broken\n", "feat: v2 (#12)")
    git(setup.other, "push", "-q", "origin", "main")
    git(setup.clone, "fetch", "-q")  # the user's checkout stays on the old commit, untouched
    before = git(setup.clone, "rev-parse", "HEAD")
    (setup.clone / "local.txt").write_text("uncommitted work")

    new = GitRepo(setup.clone).revert(bad, remote="origin", branch="main", message="changegate: revert after a failed rollback (d-1)")

    assert git(setup.remote, "rev-parse", "main") == new
    assert setup.remote_log()[:2] == ['Revert "feat: v2 (#12)"', "feat: v2 (#12)"]
    body = git(setup.remote, "log", "-1", "--format=%B", "main")
    assert f"This reverts commit {bad}." in body and body.endswith("changegate: revert after a failed rollback (d-1)")
    assert git(setup.remote, "show", "main:app.txt") == "v1"
    assert git(setup.clone, "rev-parse", "HEAD") == before
    assert (setup.clone / "local.txt").read_text() == "uncommitted work"
    assert git(setup.clone, "worktree", "list").count("\n") == 0  # the temporary worktree is gone


def test_revert_a_merge_commit_with_mainline_1(setup: Setup) -> None:
    git(setup.other, "checkout", "-q", "-b", "topic")
    commit_file(setup.other, "topic.txt", "topic\n", "topic work")
    git(setup.other, "checkout", "-q", "main")
    commit_file(setup.other, "app.txt", "v1 main\n", "main moves on")
    git(setup.other, "merge", "-q", "--no-ff", "-m", "Merge pull request #7 from topic", "topic")
    merge = git(setup.other, "rev-parse", "HEAD")
    git(setup.other, "push", "-q", "origin", "main")

    new = GitRepo(setup.clone).revert(merge, remote="origin", branch="main", message="changegate: revert")

    assert git(setup.remote, "rev-parse", "main") == new
    assert "topic.txt" not in git(setup.remote, "ls-tree", "--name-only", "main").split()
    assert git(setup.remote, "show", "main:app.txt") == "v1 main"


def test_a_conflicting_revert_is_aborted_and_nothing_is_pushed(setup: Setup) -> None:
    bad = commit_file(setup.other, "app.txt", "v2\n", "feat: v2")
    commit_file(setup.other, "app.txt", "v3 builds on v2\n", "feat: v3")
    git(setup.other, "push", "-q", "origin", "main")
    tip = git(setup.remote, "rev-parse", "main")

    with pytest.raises(GitError, match="a human must revert") as raised:
        GitRepo(setup.clone).revert(bad, remote="origin", branch="main", message="changegate: revert")

    assert "CONFLICT (content): Merge conflict in app.txt" in str(raised.value)
    assert "aborted and nothing was pushed" in str(raised.value) and "hint:" not in str(raised.value)
    assert git(setup.remote, "rev-parse", "main") == tip
    assert git(setup.clone, "worktree", "list").count("\n") == 0
    assert git(setup.clone, "status", "--porcelain") == ""


def test_reverting_a_commit_not_on_the_branch_is_refused(setup: Setup) -> None:
    git(setup.clone, "checkout", "-q", "-b", "feature")
    feature = commit_file(setup.clone, "f.txt", "x\n", "feature work")
    with pytest.raises(GitError, match="is not on origin/main"):
        GitRepo(setup.clone).revert(feature, remote="origin", branch="main", message="m")


def test_a_rejected_push_is_an_error(setup: Setup) -> None:
    bad = commit_file(setup.other, "app.txt", "v2\n", "feat: v2")
    git(setup.other, "push", "-q", "origin", "main")
    hook = setup.remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(GitError, match="rejected .*a human must revert"):
        GitRepo(setup.clone).revert(bad, remote="origin", branch="main", message="m")
    assert git(setup.remote, "rev-parse", "main") == bad


def test_a_repository_without_identity_still_commits(setup: Setup) -> None:
    bad = commit_file(setup.other, "app.txt", "v2\n", "feat: v2")
    git(setup.other, "push", "-q", "origin", "main")
    git(setup.clone, "config", "--unset", "user.email")
    git(setup.clone, "config", "--unset", "user.name")
    new = GitRepo(setup.clone).revert(bad, remote="origin", branch="main", message="m")
    assert git(setup.remote, "log", "-1", "--format=%an <%ae>", new) == "changegate <changegate@localhost>"
