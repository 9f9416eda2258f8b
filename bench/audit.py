"""`changegate audit` (git-only) over a generated repository with N first-parent commits, beside `git log`.
Run: python -m bench.audit [--commits N] [--quick] [--keep DIR] [--repeats R] [--profile]

The repository is generated once with `git fast-import` (the stream is written from Python) and cached under
`.cache/bench-audit-<N>/` (gitignored); a manifest beside it records the kinds generated, which the audit's
JSON must reproduce. `--keep DIR` puts (and keeps) the repository in DIR instead.

History on `main`, one commit a minute from 2020-01-01T00:00Z, deterministic (seeded):
  ~80% squash-merged PRs: "Subject (#123)", committer `GitHub <noreply@github.com>`, a "* ..." body;
  ~8%  merge commits "Merge pull request #N from org/branch": second parent = one side commit, itself
       branched from the previous commit on main;
  ~5%  direct pushes (author = committer, a developer);
  ~3%  reverts: 'Revert "<an earlier subject>"', body "This reverts commit <its real sha>.";
  ~4%  rebase-merged commits (committer noreply@github.com, a developer as author, no "(#N)");
  plus the root commit ("Initial commit", a direct push).
Each commit sets `CHANGELOG.md` to one of 16 blobs (the tree is reused), so generation is fast. Every
commit's sha is also computed in Python (needed for the revert bodies) and checked against `git rev-parse`.

Measured in the same run, alternated, several repeats, medians:
  git:   `git log --first-parent --format=<changegate's FIELDS> main > /dev/null`
  cold:  `changegate audit --repo R --branch main --format json -o F` with a fresh CHANGEGATE_HOME and a
         fresh SQLite CHANGEGATE_DATABASE_URL (nothing audited before);
  warm:  the same command again with the same home/database (the audit may be incremental).
Each is its own process; wall time from spawn to exit, CPU (user + system, it and its reaped children) from
`os.wait4`. Peak memory is sampled from /proc every 20 ms: the process's own VmHWM (its peak RSS; monotonic,
so only the last 20 ms could be missed) and largest RssAnon (heap, without mapped files), and the largest
*sum* of VmRSS (and of RssAnon) over its process tree (changegate and the `git log` it reads from run at the
same time). wait4's ru_maxrss is not used: Linux carries the parent's RSS into a forked child's
high-water mark, so it reports this benchmark's own size (after loading a large JSON) rather than the child's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from changegate.adapters.git_log import FIELDS

ROOT = Path(__file__).resolve().parents[1]
EPOCH = int(dt.datetime(2020, 1, 1, tzinfo=dt.UTC).timestamp())
GITHUB = ("GitHub", "noreply@github.com")
DEVELOPERS = [(f"Dev {n:02d}", f"dev{n:02d}@example.com") for n in range(40)]
BLOBS = [f"# Changelog\n\nrevision {k}\n".encode() for k in range(16)]
TARGET_RATIO = 2.0
TARGET_RSS_MB = 200.0
GENERATOR_VERSION = 1  # bump when the history changes, so the cache is rebuilt
VERBS = [
    "Add",
    "Fix",
    "Update",
    "Remove",
    "Refactor",
    "Improve",
    "Document",
    "Rename",
    "Speed up",
    "Test",
]
THINGS = [
    "login flow",
    "billing export",
    "rate limiter",
    "cache layer",
    "CSV parser",
    "search index",
    "API client",
    "retry policy",
    "audit log",
    "settings page",
    "webhook handler",
    "metrics",
    "feature flags",
    "session store",
]


# -- generation --------------------------------------------------------------------------------------------------


def _sha(kind: bytes, payload: bytes) -> bytes:
    return hashlib.sha1(b"%s %d\x00%s" % (kind, len(payload), payload)).digest()


BLOB_SHAS = [_sha(b"blob", blob) for blob in BLOBS]
TREE_SHAS = [_sha(b"tree", b"100644 CHANGELOG.md\x00" + blob).hex() for blob in BLOB_SHAS]


@dataclass
class Generated:
    commits: int
    kinds: dict[str, int]
    side_commits: int
    tip: str
    seconds: float


def _commit_object(
    tree: str,
    parents: list[str],
    author: tuple[str, str],
    committer: tuple[str, str],
    when: int,
    authored: int,
    message: bytes,
) -> tuple[bytes, bytes]:
    """(the sha hex as bytes, the `author`/`committer` lines for fast-import), computed like git does."""
    who = b"author %s <%s> %d +0000\ncommitter %s <%s> %d +0000\n" % (
        author[0].encode(),
        author[1].encode(),
        authored,
        committer[0].encode(),
        committer[1].encode(),
        when,
    )
    body = (
        b"tree %s\n" % tree.encode()
        + b"".join(b"parent %s\n" % p.encode() for p in parents)
        + who
        + b"\n"
        + message
    )
    return hashlib.sha1(b"commit %d\x00%s" % (len(body), body)).hexdigest().encode(), who


def generate(repo: Path, commits: int, *, seed: int = 20200101) -> Generated:
    """Build `repo` (a normal repository, `main` checked out) with `commits` first-parent commits on main."""
    started = time.perf_counter()
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    importer = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done", "--force"], cwd=repo, stdin=subprocess.PIPE
    )
    assert importer.stdin is not None
    out = importer.stdin
    rng = random.Random(seed)
    kinds: Counter[str] = Counter()
    for k, content in enumerate(BLOBS):
        out.write(b"blob\nmark :%d\ndata %d\n%s\n" % (k + 1, len(content), content))
    mark_base = 100
    subjects: list[bytes] = []  # a bounded window of recent (subject, sha) for reverts
    shas: list[bytes] = []
    tip = b""
    side_commits = 0
    pr = 1000
    chunk: list[bytes] = []
    for i in range(commits):
        when = EPOCH + 60 * i
        roll = rng.random()
        blob = i % len(BLOBS)
        parents = [tip.decode()] if tip else []
        merge_from: bytes | None = None
        if i == 0:
            kind, author, committer, subject, body, authored = (
                "direct_push",
                DEVELOPERS[0],
                DEVELOPERS[0],
                b"Initial commit",
                b"",
                when,
            )
        elif roll < 0.80:
            pr += 1
            kind, author, committer = "squash_pr", rng.choice(DEVELOPERS), GITHUB
            subject = b"%s %s (#%d)" % (rng.choice(VERBS).encode(), rng.choice(THINGS).encode(), pr)
            body = b"* %s\n\n* address review comments\n" % subject[: -(len(str(pr)) + 4)]
            authored = when - rng.randrange(600, 86400)
        elif roll < 0.88:
            pr += 1
            kind, author, committer = "merge_pr", GITHUB, GITHUB
            dev = rng.choice(DEVELOPERS)
            branch = f"{dev[1].split('@')[0]}/change-{pr}"
            side_subject = b"%s %s" % (rng.choice(VERBS).encode(), rng.choice(THINGS).encode())
            side_sha, side_who = _commit_object(
                TREE_SHAS[(blob + 7) % len(BLOBS)],
                parents,
                dev,
                dev,
                when - 30,
                when - 3600,
                side_subject + b"\n",
            )
            side_commits += 1
            chunk.append(
                b"commit refs/heads/side\nmark :%d\n%sdata %d\n%s\nfrom %s\nM 100644 :%d CHANGELOG.md\n\n"
                % (
                    mark_base + commits + side_commits,
                    side_who,
                    len(side_subject) + 1,
                    side_subject + b"\n",
                    b":%d" % (mark_base + i - 1),
                    (blob + 7) % len(BLOBS) + 1,
                )
            )
            merge_from = side_sha
            parents.append(side_sha.decode())
            subject = b"Merge pull request #%d from org/%s" % (pr, branch.encode())
            body = side_subject + b"\n"
            authored = when
        elif roll < 0.93:
            kind = "direct_push"
            author = committer = rng.choice(DEVELOPERS)
            subject = b"%s %s" % (rng.choice(VERBS).encode(), rng.choice(THINGS).encode())
            body, authored = b"", when
        elif roll < 0.96 and subjects:
            kind = "revert"
            author = rng.choice(DEVELOPERS)
            committer = rng.choice([GITHUB, author])
            j = rng.randrange(len(subjects))
            subject = b'Revert "%s"' % subjects[j]
            body = b"This reverts commit %s.\n" % shas[j]
            authored = when
        else:
            kind, author, committer = "rebase_pr", rng.choice(DEVELOPERS), GITHUB
            subject = b"%s %s" % (rng.choice(VERBS).encode(), rng.choice(THINGS).encode())
            body, authored = b"", when - rng.randrange(600, 86400)
        message = subject + b"\n" + (b"\n" + body if body else b"")
        sha, who = _commit_object(
            TREE_SHAS[blob], parents, author, committer, when, authored, message
        )
        kinds[kind] += 1
        chunk.append(
            b"commit refs/heads/main\nmark :%d\n%sdata %d\n%s\n%sM 100644 :%d CHANGELOG.md\n\n"
            % (
                mark_base + i,
                who,
                len(message),
                message,
                b"merge :%d\n" % (mark_base + commits + side_commits) if merge_from else b"",
                blob + 1,
            )
        )
        tip = sha
        if kind != "revert" and kind != "merge_pr":
            subjects.append(subject)
            shas.append(sha)
            if len(subjects) > 4096:
                del subjects[:2048], shas[:2048]
        if len(chunk) >= 2048:
            out.write(b"".join(chunk))
            chunk.clear()
    out.write(b"".join(chunk) + b"done\n")
    out.close()
    if importer.wait() != 0:
        raise SystemExit(f"git fast-import failed ({importer.returncode})")
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=repo, check=True)
    actual = subprocess.run(
        ["git", "rev-parse", "main"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()
    if actual != tip.decode():
        raise SystemExit(f"generator bug: main is {actual}, the computed sha is {tip.decode()}")
    return Generated(commits, dict(kinds), side_commits, actual, time.perf_counter() - started)


def cached_repo(commits: int, keep: Path | None) -> tuple[Path, Generated, bool]:
    """The repository (generated now, or reused when its manifest matches) and whether it was reused."""
    base = keep if keep is not None else ROOT / ".cache" / f"bench-audit-{commits}"
    repo, manifest = base / "repo", base / "manifest.json"
    if manifest.exists():
        data = json.loads(manifest.read_text())
        if (
            data.get("version") == GENERATOR_VERSION
            and data.get("commits") == commits
            and repo.exists()
        ):
            head = subprocess.run(
                ["git", "rev-parse", "main"], cwd=repo, capture_output=True, text=True
            ).stdout.strip()
            if head == data["tip"]:
                return (
                    repo,
                    Generated(
                        commits, data["kinds"], data["side_commits"], data["tip"], data["seconds"]
                    ),
                    True,
                )
    print(f"generating {commits:,} commits with git fast-import in {repo} ...", flush=True)
    generated = generate(repo, commits)
    manifest.write_text(
        json.dumps(
            {
                "version": GENERATOR_VERSION,
                "commits": commits,
                "kinds": generated.kinds,
                "side_commits": generated.side_commits,
                "tip": generated.tip,
                "seconds": generated.seconds,
            },
            indent=1,
        )
    )
    return repo, generated, False


# -- measurement -------------------------------------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    cpu: float  # user + system of the process and its reaped children (git log)
    own_hwm_mb: (
        float  # the process itself (not its children): VmHWM, sampled every 20 ms (monotonic)
    )
    own_anon_mb: float  # the process itself: the largest RssAnon seen (heap; excludes mapped files)
    tree_rss_mb: (
        float  # the largest sum of VmRSS over the process tree (it and git running at once)
    )
    tree_anon_mb: float  # the same, RssAnon only (git's RSS is mostly its mmapped pack)
    returncode: int
    stderr: str


def _status(pid: int) -> dict[bytes, int]:
    with open(f"/proc/{pid}/status", "rb") as f:
        return {
            k: int(v.split()[0])
            for k, _, v in (line.partition(b":") for line in f)
            if k in (b"VmRSS", b"VmHWM", b"RssAnon")
        }


def _tree(pid: int) -> list[int]:
    pids, stack = [], [pid]
    while stack:
        p = stack.pop()
        pids.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return pids


def run(command: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    with tempfile.TemporaryFile() as stderr:
        return _run(command, env=env, cwd=cwd, stderr=stderr)


def _run(command: list[str], *, env: dict[str, str] | None, cwd: Path | None, stderr: Any) -> Run:
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
    )
    peaks = {"own_hwm": 0, "own_anon": 0, "tree_rss": 0, "tree_anon": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            rss = anon = 0
            for p in _tree(process.pid):
                try:
                    status = _status(p)
                except (FileNotFoundError, ProcessLookupError, ValueError):
                    continue
                if not status:  # a zombie: nothing mapped any more
                    continue
                rss, anon = rss + status.get(b"VmRSS", 0), anon + status.get(b"RssAnon", 0)
                if p == process.pid:
                    peaks["own_hwm"] = max(peaks["own_hwm"], status.get(b"VmHWM", 0))
                    peaks["own_anon"] = max(peaks["own_anon"], status.get(b"RssAnon", 0))
            peaks["tree_rss"], peaks["tree_anon"] = (
                max(peaks["tree_rss"], rss),
                max(peaks["tree_anon"], anon),
            )

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr.seek(0)
    mb = {k: v / 1024 for k, v in peaks.items()}
    return Run(
        seconds,
        usage.ru_utime + usage.ru_stime,
        mb["own_hwm"],
        mb["own_anon"],
        mb["tree_rss"],
        mb["tree_anon"],
        process.returncode,
        stderr.read().decode("utf-8", "replace")[-4000:],
    )


def audit_command(prefix: list[str], repo: Path, out: Path) -> list[str]:
    return [
        *prefix,
        "audit",
        "--repo",
        str(repo),
        "--branch",
        "main",
        "--format",
        "json",
        "-o",
        str(out),
    ]


def fresh_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CHANGEGATE_") and k not in ("GITHUB_TOKEN", "GH_TOKEN")
    }
    home.mkdir(parents=True, exist_ok=True)
    env["CHANGEGATE_HOME"] = str(home)
    env["CHANGEGATE_DATABASE_URL"] = f"sqlite:///{home / 'changegate.db'}"
    return env


def wait_for_audit(limit: float) -> None:
    deadline = time.monotonic() + limit
    while True:
        done = subprocess.run(
            [sys.executable, "-m", "changegate", "audit", "--help"], capture_output=True, text=True
        )
        if done.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise SystemExit(
                f"`changegate audit --help` still fails after {limit:.0f} s:\n{done.stderr[-2000:]}"
            )
        print("waiting for `changegate audit` ...", flush=True)
        time.sleep(30)


# -- verification ------------------------------------------------------------------------------------------------


def verify(report: Path, generated: Generated) -> list[str]:
    """Problems with the audit's JSON (empty when it matches what was generated)."""
    problems: list[str] = []
    with report.open("rb") as f:
        data = json.load(f)
    changes = data.get("changes")
    if not isinstance(changes, list):
        return ["no `changes` list in the JSON"]
    if len(changes) != generated.commits:
        problems.append(
            f"{len(changes):,} changes, expected {generated.commits:,} (the first-parent commits)"
        )
    kinds = Counter(c.get("kind") for c in changes)
    if dict(kinds) != generated.kinds:
        problems.append(
            f"kinds {dict(sorted(kinds.items()))} != generated {dict(sorted(generated.kinds.items()))}"
        )
    if (
        changes
        and changes[0].get("sha") not in (generated.tip, None)
        and changes[-1].get("sha") != generated.tip
    ):
        problems.append(f"neither end of `changes` is main's tip {generated.tip}")
    return problems


# -- main --------------------------------------------------------------------------------------------------------


def _median(runs: list[Run], attr: str) -> float:
    return float(statistics.median(getattr(r, attr) for r in runs))


def machine() -> str:
    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    return f"{platform.machine()} ({cpu}), nproc {os.cpu_count()}, {platform.python_implementation()} {platform.python_version()}, {git}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.audit", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--commits", type=int, default=None, help="first-parent commits (default 1,000,000)"
    )
    parser.add_argument("--quick", action="store_true", help="100,000 commits, 2 repeats")
    parser.add_argument(
        "--keep", type=Path, default=None, help="generate (and keep) the repository in DIR"
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="repeats of each measurement (default 3, quick 2)"
    )
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument(
        "--wait",
        type=float,
        default=25 * 60,
        help="seconds to wait for `changegate audit` to exist",
    )
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="skip loading the JSON report (~370 bytes a change)",
    )
    parser.add_argument(
        "--changegate",
        default=f"{sys.executable} -m changegate",
        help="the command that runs changegate (default: this python -m changegate); e.g. a patched entry point",
    )
    args = parser.parse_args(argv)
    commits = args.commits or (100_000 if args.quick else 1_000_000)
    repeats = args.repeats or (2 if args.quick else 3)
    prefix = args.changegate.split()

    print(f"machine: {machine()}", flush=True)
    repo, generated, reused = cached_repo(commits, args.keep.resolve() if args.keep else None)
    print(
        f"repository: {repo} ({'cached' if reused else 'generated'} in {generated.seconds:.1f} s); "
        f"{generated.commits:,} first-parent commits + {generated.side_commits:,} side commits; kinds {generated.kinds}",
        flush=True,
    )
    if args.generate_only:
        return 0
    git_cmd = ["git", "log", "--first-parent", f"--format={FIELDS}", "main"]
    wait_for_audit(args.wait)

    git_runs: list[Run] = []
    cold_runs: list[Run] = []
    warm_runs: list[Run] = []
    problems: list[str] = []
    out_bytes = 0
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        run(git_cmd, cwd=repo)  # warm the page cache once, untimed
        for r in range(repeats):
            git_runs.append(run(git_cmd, cwd=repo))
            home, out = Path(tmp) / f"home-{r}", Path(tmp) / f"audit-{r}.json"
            env = fresh_env(home)
            for label, runs in (("cold", cold_runs), ("warm", warm_runs)):
                result = run(audit_command(prefix, repo, out), env=env)
                runs.append(result)
                if result.returncode != 0:
                    print(
                        f"{label} changegate audit failed ({result.returncode}):\n{result.stderr}",
                        flush=True,
                    )
                    return 1
                if r == 0:
                    out_bytes = max(out_bytes, out.stat().st_size)
                    if not args.no_verify:
                        found = verify(out, generated)
                        print(f"verify ({label}):", found if found else "OK", flush=True)
                        problems += [f"{label}: {p}" for p in found]
                out.unlink(missing_ok=True)
            shutil.rmtree(home)
            print(
                f"repeat {r + 1}/{repeats}: git {git_runs[-1].seconds:.2f} s; cold {cold_runs[-1].seconds:.2f} s "
                f"(own peak {cold_runs[-1].own_hwm_mb:.0f} MB); warm {warm_runs[-1].seconds:.2f} s",
                flush=True,
            )
        git_runs.append(run(git_cmd, cwd=repo))  # bracket: git once more after the audits

    g, c, w = (_median(x, "seconds") for x in (git_runs, cold_runs, warm_runs))
    rows = [
        ("git log --first-parent (baseline)", git_runs),
        ("changegate audit, cold (fresh database)", cold_runs),
        ("changegate audit, warm (same database again)", warm_runs),
    ]
    print()
    print(
        f"N = {commits:,} first-parent commits; changegate: {repeats} repeats each, git: {len(git_runs)}; medians; "
        f"JSON report {out_bytes / 1e6:.0f} MB; command prefix: {' '.join(prefix)}"
    )
    print(
        "| measurement | wall, median | min .. max | CPU, median | ratio to git | peak RSS: the process itself (its heap) "
        "| peak RSS, process tree sum (heap) |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, runs in rows:
        print(
            f"| {name} | {_median(runs, 'seconds'):.2f} s | {min(r.seconds for r in runs):.2f} .. {max(r.seconds for r in runs):.2f} s "
            f"| {_median(runs, 'cpu'):.2f} s | {_median(runs, 'seconds') / g:.2f}x "
            f"| {max(r.own_hwm_mb for r in runs):.0f} MB ({max(r.own_anon_mb for r in runs):.0f} MB) "
            f"| {max(r.tree_rss_mb for r in runs):.0f} MB ({max(r.tree_anon_mb for r in runs):.0f} MB) |"
        )
    own = max(r.own_hwm_mb for r in cold_runs + warm_runs)
    print()
    print(
        f"time target (cold <= {TARGET_RATIO:.0f}x git): {'met' if c / g <= TARGET_RATIO else 'MISSED'} ({c / g:.2f}x); warm {w / g:.2f}x"
    )
    print(
        f"memory target (changegate <= {TARGET_RSS_MB:.0f} MB): {'met' if own <= TARGET_RSS_MB else 'MISSED'} ({own:.0f} MB peak RSS of the changegate process)"
    )
    if problems:
        print("VERIFY PROBLEMS:", *problems, sep="\n  ")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
