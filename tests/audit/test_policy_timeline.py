"""The policy in force per commit, from the main walk's touched flags (no second history walk), checked
against the policy file read at each commit with `git show`; and the walk's parsing of odd messages."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest

from changegate.adapters.git_log import first_parent_commits, log_command, parse_records
from changegate.adapters.policy_timeline import PolicyTimeline, default_policy
from changegate.core.audit_model import Commit
from changegate.core.policy import Policy
from changegate.errors import ChangegateError
from changegate.policy_source import POLICY_LOCATIONS, default_policy_text, parse_policy_text

ROOT, GITHUB = POLICY_LOCATIONS
INVALID = "version: 2\nwindows: []\n"


def policy(zone: str) -> str:
    return default_policy_text().replace("timezone: Australia/Sydney", f"timezone: {zone}")


class Repo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.clock = 0
        root.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, date: int | None = None) -> str:
        when = f"2026-11-01T{(date if date is not None else self.clock) // 60:02d}:{(date if date is not None else self.clock) % 60:02d}:00+00:00"
        env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
               "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
        return subprocess.run(["git", *args], cwd=self.root, env=env, check=True, capture_output=True).stdout.decode("utf-8", "replace").strip()

    def commit(self, subject: str, files: dict[str, str | None] | None = None, *, date: int | None = None) -> str:
        self.clock += 1
        for path, text in (files or {}).items():
            if text is None:
                self.git("rm", "-q", path)
            else:
                (self.root / path).parent.mkdir(parents=True, exist_ok=True)
                (self.root / path).write_text(text, "utf-8")
                self.git("add", path)
        (self.root / f"work-{self.clock}.txt").write_text(subject, "utf-8")  # one file each: merges never conflict
        self.git("add", f"work-{self.clock}.txt")
        self.git("commit", "-q", "-m", subject, date=date)
        return self.git("rev-parse", "HEAD")

    def merge(self, subject: str, side: dict[str, str | None], main: dict[str, str | None] | None = None) -> str:
        branch = f"side-{self.clock}"
        self.git("checkout", "-q", "-b", branch)
        self.commit(f"work on {branch}", side)
        self.git("checkout", "-q", "main")
        self.commit("meanwhile on main", main)
        self.clock += 1
        self.git("merge", "-q", "--no-ff", branch, "-m", subject)
        return self.git("rev-parse", "HEAD")

    def expected(self, sha: str) -> tuple[str, Policy]:
        """(blob id, policy) of the policy file at `sha`, read the plain way."""
        for path in POLICY_LOCATIONS:
            shown = subprocess.run(["git", "show", f"{sha}:{path}"], cwd=self.root, capture_output=True, text=True, check=False)
            if shown.returncode == 0:
                blob = self.git("rev-parse", f"{sha}:{path}")
                try:
                    return blob, parse_policy_text(shown.stdout, source=path).policy if shown.stdout else default_policy()
                except ChangegateError:
                    return blob, default_policy()
        return "", default_policy()

    def touched(self, sha: str) -> bool:
        """Did `sha` change a policy file relative to its first parent (the root: add one)?"""
        parents = self.git("log", "-1", "--format=%P", sha).split()
        against = parents[0] if parents else self.git("hash-object", "-t", "tree", "/dev/null")
        return bool(self.git("diff", "--name-only", against, sha, "--", *POLICY_LOCATIONS))


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "repo")


def audit(repo: Repo, **options: dt.datetime) -> tuple[PolicyTimeline, list[tuple[str, bool, str, Policy]]]:
    """Walk like `changegate audit`: (sha, touched, key, policy in force) per commit."""
    timeline = PolicyTimeline(repo.root)
    seen = []
    for commit, _committer, touched in first_parent_commits(repo.root, branch="main", **options):
        timeline.observe(commit, touched)
        seen.append((commit.sha, touched, timeline.key, timeline.policy_at(commit.sha)))
    return timeline, seen


def check(repo: Repo, seen: list[tuple[str, bool, str, Policy]], timeline: PolicyTimeline) -> None:
    for sha, touched, key, found in seen:
        blob, wanted = repo.expected(sha)
        assert touched == repo.touched(sha), sha
        assert key == blob, sha
        assert found == wanted, (sha, found.timezone, wanted.timezone)
        assert timeline.policy_for_key(key) == wanted, sha  # random access to an older commit's policy


def test_the_policy_in_force_at_every_commit(repo: Repo) -> None:
    shas = {"root": repo.commit("root adds the policy", {ROOT: policy("Europe/Berlin")})}
    shas["plain"] = repo.commit("no policy change")
    shas["changed"] = repo.commit("change it", {ROOT: policy("Asia/Tokyo")})
    shas["moved"] = repo.commit("move it", {ROOT: None, GITHUB: policy("Asia/Tokyo")})
    shas["github changed"] = repo.commit("change it in .github", {GITHUB: policy("America/New_York")})
    shas["root added"] = repo.commit("a root file wins", {ROOT: policy("Europe/London")})
    shas["root deleted"] = repo.commit(".github again", {ROOT: None})
    shas["deleted"] = repo.commit("no policy at all", {GITHUB: None})
    shas["invalid"] = repo.commit("break it", {ROOT: INVALID})
    shas["still invalid"] = repo.commit("still broken")
    shas["fixed"] = repo.commit("fix it", {ROOT: policy("UTC")})
    shas["invalid again"] = repo.commit("break it the same way", {ROOT: INVALID})
    shas["other invalid"] = repo.commit("break it another way", {ROOT: INVALID + "extra: 1\n"})
    shas["emptied"] = repo.commit("empty file", {ROOT: ""})
    shas["tip"] = repo.commit("restore", {ROOT: policy("Pacific/Auckland")})
    timeline, seen = audit(repo)
    assert [s for s, *_ in seen] == list(reversed(shas.values()))
    check(repo, seen, timeline)
    zones = {name: found.timezone for name, (_sha, _t, _k, found) in zip(reversed(shas), seen, strict=True)}
    assert zones == {"tip": "Pacific/Auckland", "emptied": "Australia/Sydney", "other invalid": "Australia/Sydney", "invalid again": "Australia/Sydney",
                     "fixed": "UTC", "still invalid": "Australia/Sydney", "invalid": "Australia/Sydney", "deleted": "Australia/Sydney",
                     "root deleted": "America/New_York", "root added": "Europe/London", "github changed": "America/New_York", "moved": "Asia/Tokyo",
                     "changed": "Asia/Tokyo", "plain": "Europe/Berlin", "root": "Europe/Berlin"}
    assert [t for _s, t, _k, _p in seen] == [True, True, True, True, True, False, True, True, True, True, True, True, True, False, True]
    # one warning per invalid blob (two distinct ones), however often it is in force
    assert len(timeline.warnings) == 2 and all("is invalid, so the default policy was applied there" in w for w in timeline.warnings)
    assert shas["other invalid"][:12] in timeline.warnings[0] and shas["invalid again"][:12] in timeline.warnings[1]  # newest first


def test_a_merge_counts_only_relative_to_its_first_parent(repo: Repo) -> None:
    repo.commit("root without a policy")
    brought = repo.merge("Merge pull request #1 from o/policy", side={ROOT: policy("Asia/Tokyo")})
    unrelated = repo.merge("Merge pull request #2 from o/work", side={"other.txt": "x"})
    same = repo.merge("Merge pull request #3 from o/same", side={ROOT: policy("UTC")}, main={ROOT: policy("UTC")})
    theirs = repo.merge("Merge pull request #4 from o/github", side={GITHUB: policy("Europe/Berlin")})
    timeline, seen = audit(repo)
    check(repo, seen, timeline)
    flags = {sha: touched for sha, touched, _k, _p in seen}
    assert (flags[brought], flags[unrelated], flags[same], flags[theirs]) == (True, False, False, True)
    assert all(len(repo.git("log", "-1", "--format=%P", sha).split()) == 2 for sha in (brought, unrelated, same, theirs))
    assert len(seen) == 9  # the side commits are not on the first-parent walk; "meanwhile on main" are
    zones = {sha: p.timezone for sha, _t, _k, p in seen}
    assert (zones[brought], zones[same], zones[theirs]) == ("Asia/Tokyo", "UTC", "UTC")  # #4 adds .github/, the root file wins


def test_a_root_commit_without_a_policy_then_one_added(repo: Repo) -> None:
    root = repo.commit("root")
    added = repo.commit("adopt changegate", {GITHUB: policy("Asia/Tokyo")})
    timeline, seen = audit(repo)
    check(repo, seen, timeline)
    assert [(s, t, k == "") for s, t, k, _p in seen] == [(added, True, False), (root, False, True)]
    assert timeline.warnings == []


def test_a_gap_in_the_walk_rereads_the_policy(repo: Repo) -> None:
    """`--until` skips a commit with a later date in the middle of the chain; the policy it changed is
    not carried over to its parent."""
    oldest = repo.commit("A", {ROOT: policy("Asia/Tokyo")}, date=1)
    repo.commit("B, dated later", {ROOT: policy("UTC")}, date=50)
    tip = repo.commit("C", date=3)
    timeline, seen = audit(repo, until=dt.datetime(2026, 11, 1, 0, 10, tzinfo=dt.UTC))
    assert [s for s, *_ in seen] == [tip, oldest]
    check(repo, seen, timeline)
    assert [p.timezone for *_x, p in seen] == ["UTC", "Asia/Tokyo"]


def test_no_history_walk_and_policy_for_key(repo: Repo) -> None:
    timeline = PolicyTimeline(repo.root / "not-a-repository")  # constructing it runs nothing
    assert timeline.key == "" and timeline.policy_at("any") == default_policy() and timeline.policy_for_key("") == default_policy()
    repo.commit("adopt", {ROOT: policy("UTC")})
    blob = repo.git("rev-parse", f"HEAD:{ROOT}")
    fresh = PolicyTimeline(repo.root)
    assert fresh.policy_for_key(blob).timezone == "UTC" and fresh.policy_for_key(blob) is fresh.policy_for_key(blob)
    repo.commit("break", {ROOT: INVALID})
    broken = repo.git("rev-parse", f"HEAD:{ROOT}")
    assert fresh.policy_for_key(broken) == default_policy() and fresh.policy_for_key(broken) == default_policy()
    assert len(fresh.warnings) == 1 and broken[:12] in fresh.warnings[0]


ODD_MESSAGES = [
    "plain subject",
    "subject\n\nbody line one\n\nbody after a blank line\n\n\nand two",
    "subject only, empty body\n\n",
    "mentions the policy\n\nchangegate.yml\n.github/changegate.yml\n",
    "record separators \x1e in the subject\n\nand \x1e\x1e in the body\x1e",
    "unicode: Größe 变更 ✓\n\n\tindented\n    # not a comment with verbatim cleanup\n",
    "\n\nleading blank lines\n\nbody\n",
    "trailing spaces   \n\nbody with trailing blank lines\n\n\n\n",
]


def test_first_parent_commits_parses_odd_messages(repo: Repo) -> None:
    made = []
    for n, message in enumerate(ODD_MESSAGES):
        (repo.root / "f.txt").write_text(str(n), "utf-8")
        files = ["f.txt"] + ([ROOT] if n in (0, 4) else [])
        if n in (0, 4):
            (repo.root / ROOT).write_text(policy("UTC") + f"# {n}\n", "utf-8")
        repo.git("add", *files)
        repo.git("commit", "-q", "--allow-empty-message", "--cleanup=verbatim", "-m", message)
        made.append(repo.git("rev-parse", "HEAD"))
    # `git commit` would re-encode a message that is not UTF-8 (as Latin-1): write the object itself
    head, tree = repo.git("rev-parse", "HEAD"), repo.git("rev-parse", "HEAD^{tree}")
    raw = (f"tree {tree}\nparent {head}\nauthor t <t@example.com> 1790000000 +0000\ncommitter t <t@example.com> 1790000000 +0000\n\n".encode()
           + b"caf\xe9 in Latin-1\n\nnot UTF-8: \xff\xfe \xe9\x1e\xa9 \xe4\xb8\n")
    made.append(subprocess.run(["git", "hash-object", "-t", "commit", "-w", "--stdin"], cwd=repo.root, input=raw, capture_output=True, check=True).stdout.decode().strip())
    repo.git("update-ref", "refs/heads/main", made[-1])
    repo.git("commit", "-q", "--allow-empty", "--allow-empty-message", "--cleanup=verbatim", "-m", "")
    made.append(repo.git("rev-parse", "HEAD"))
    walked = list(first_parent_commits(repo.root, branch="main"))
    assert [c.sha for c, _e, _t in walked] == list(reversed(made))
    for commit, committer, touched in walked:
        raw = subprocess.run(["git", "log", "-1", "--format=%s%x00%b%x00%ae%x00%P", commit.sha], cwd=repo.root, capture_output=True, check=True).stdout
        subject, body, email, parents = raw.decode("utf-8", "replace").split("\x00")
        assert (commit.subject, commit.body, commit.author_email, committer) == (subject, body, email, "t@example.com")
        assert commit.parents == tuple(parents.split()) and touched == repo.touched(commit.sha)
    assert [t for _c, _e, t in walked] == [False, False, False, False, False, True, False, False, False, True]
    assert "\ufffd" in walked[1][0].subject and "\x1e" in walked[-5][0].subject and walked[-5][0].body.count("\x1e") == 3
    # the same records however git's output is cut into reads (a cut may fall inside a body's \x1e or a UTF-8 character)
    stream = subprocess.run(log_command("main"), cwd=repo.root, capture_output=True, check=True).stdout
    assert list(parse_records([stream])) == walked
    for cut in range(len(stream) + 1):
        assert list(parse_records([stream[:cut], stream[cut:]])) == walked, cut
    for size in (1, 2, 3, 7, 64):
        assert list(parse_records(stream[i:i + size] for i in range(0, len(stream), size))) == walked, size
    with pytest.raises(ChangegateError, match="ended inside a commit record"):
        list(parse_records([stream[:-40]]))


def test_commit_of_is_commit() -> None:
    when = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    fields = ("a" * 40, ("b" * 40,), "Dev", "dev@example.com", when, when, "Subject (#1)", "body\n")
    fast, plain = Commit.of(*fields), Commit(*fields)
    assert fast == plain and hash(fast) == hash(plain) and repr(fast) == repr(plain) and type(fast) is Commit
    with pytest.raises(AttributeError):
        fast.sha = "c" * 40  # type: ignore[misc]  # still frozen


def test_stop_at_and_a_bad_branch(repo: Repo) -> None:
    first = repo.commit("one", {ROOT: policy("UTC")})
    second = repo.commit("two")
    third = repo.commit("three", {ROOT: policy("Asia/Tokyo")})
    assert [(c.sha, t) for c, _e, t in first_parent_commits(repo.root, branch="main", stop_at=first)] == [(third, True), (second, False)]
    with pytest.raises(ChangegateError, match="not a branch or commit"):
        first_parent_commits(repo.root, branch="no-such-branch")  # at the call, before anything is written


def test_user_config_does_not_hide_the_root_commits_policy(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    root = repo.commit("root adds the policy", {ROOT: policy("UTC")})
    for n, (key, value) in enumerate({"log.showRoot": "false", "diff.renames": "copies", "log.showSignature": "true"}.items()):
        monkeypatch.setenv(f"GIT_CONFIG_KEY_{n}", key)
        monkeypatch.setenv(f"GIT_CONFIG_VALUE_{n}", value)
    monkeypatch.setenv("GIT_CONFIG_COUNT", "3")
    assert [(c.sha, t) for c, _e, t in first_parent_commits(repo.root, branch="main")] == [(root, True)]
