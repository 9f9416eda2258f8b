"""How fast `evaluate()` is on a typical and on a huge PR, as ratios to `json.loads` of the same snapshot.

    python -m bench.evaluation             # full run (about a minute)
    python -m bench.evaluation --quick     # short run (a few seconds of timing)
    python -m bench.evaluation --profile   # also print a cProfile of both evaluations

Shared machines are noisy, so every figure is reported twice: in absolute terms and as a ratio to
a baseline measured in the same process (json.loads of the same snapshot's JSON text, timed with
the same method before and after the measurements). Targets: a typical PR (20 files, 4 reviews,
6 checks, a 50-rule CODEOWNERS) at >= 5,000 evaluations per second on one core; a huge PR (3,000
files, a 1,000-rule CODEOWNERS) at <= 50 ms per evaluation.

Before timing, the bench checks that it measures the real thing: the verdict's `codeowners`
requirement must equal one recomputed from the `codeowners` package's own matcher
(`CodeOwners(text).matching_line(path)`, last matching line wins) for every changed path.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import gc
import importlib
import io
import json
import os
import platform
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from codeowners import CodeOwners

from changegate.core.evaluate import evaluate
from changegate.core.owners import OwnersIndex
from changegate.core.policy import Policy
from changegate.core.snapshot import Snapshot, parse_snapshot
from changegate.core.verdict import Verdict
from changegate.policy_source import DEFAULT_SOURCE, load_policy

ROOT = Path(__file__).resolve().parent.parent
AT = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC)
ORG = "octocat"  # the owner of the example repository (tests/builders.py: octocat/Hello-World)
SEED = 20261124

TYPICAL_TARGET_PER_SECOND = 5_000.0
HUGE_TARGET_SECONDS = 0.050


def _builders() -> ModuleType:
    """tests/builders.py: snapshots made of GitHub's own REST examples."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("tests.builders")


b = _builders()


# --------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    data: dict[str, Any]
    codeowners: str
    text: str = ""  # the snapshot as JSON text
    snapshot: Snapshot | None = None
    rules: int = 0
    paths: int = 0

    def __post_init__(self) -> None:
        self.data["codeowners"] = self.codeowners
        self.text = json.dumps(self.data)
        self.snapshot = parse_snapshot(json.loads(self.text))
        self.rules = len(CodeOwners(self.codeowners).paths)
        self.paths = sum(1 + bool(f.get("previous_filename")) for f in self.data["files"])

    @property
    def parsed(self) -> Snapshot:
        assert self.snapshot is not None
        return self.snapshot


def _team(slug: str) -> str:
    return f"@{ORG}/{slug}"


def _add_files(data: dict[str, Any], files: list[tuple[str, str | None]]) -> None:
    """Add changed files; the URLs of GitHub's example entry are rewritten to name the file."""
    for filename, previous in files:
        b.add_file(data, filename, status="renamed" if previous else "modified", previous=previous)
        entry = data["files"][-1]
        for key in ("blob_url", "raw_url", "contents_url"):
            entry[key] = entry[key].replace("file1.txt", filename)


def _add_teams(data: dict[str, Any], codeowners: str) -> None:
    """The members of every team that owns a changed path, as the fetcher would record them."""
    reference = CodeOwners(codeowners)
    for path in _changed_paths(data):
        for _kind, owner in reference.of(path):
            slug = owner.lstrip("@")
            if "/" in slug:
                team = slug.split("/", 1)[1]
                data["teams"].setdefault(slug, [f"{team}-lead", f"{team}-dev", f"{team}-oncall"])


def _changed_paths(data: dict[str, Any]) -> list[str]:
    paths: list[str] = []
    for entry in data["files"]:
        paths.append(entry["filename"])
        if entry.get("previous_filename"):
            paths.append(entry["previous_filename"])
    return paths


TYPICAL_DIRECTORIES = (
    "services/payments", "services/payments/webhooks", "services/payments/refunds", "services/ledger",
    "services/ledger/reconciliation", "services/billing", "services/invoices", "services/accounts",
    "services/identity", "services/notifications", "services/search", "services/catalog", "services/orders",
    "services/shipping", "services/inventory", "services/pricing", "services/fraud", "services/reporting",
    "services/exports", "services/gateway", "libs/http", "libs/db", "libs/logging", "libs/metrics",
    "libs/config", "libs/testing", "web", "web/checkout", "web/admin", "web/design-system", "mobile/ios",
    "mobile/android", "tools", "scripts", "docs", "docs/runbooks", "config", "deploy", "e2e",
    "tests/fixtures", "vendor",
)


def typical_codeowners() -> str:
    lines = [
        "* @octocat/eng",
        "",
        "# File types",
        "*.md @octocat/docs",
        "*.proto @octocat/api-guild",
        "*.sql @octocat/dba",
        "*.tf @octocat/platform",
        "package.json @octocat/deps",
        "*.snap @octocat/frontend",
        "",
        "# Areas",
    ]
    for directory in TYPICAL_DIRECTORIES:
        lines.append(f"/{directory}/ {_team(directory.rsplit('/', 1)[-1])}")
    lines += ["", "# Cross-cutting", "/services/*/migrations/ @octocat/dba", "/.github/ @octocat/platform @octocat/eng-leads"]
    return "\n".join(lines) + "\n"


def typical() -> Scenario:
    codeowners = typical_codeowners()
    data = b.snapshot(title="Retry payment webhooks with backoff", files=())
    _add_files(data, [
        ("services/payments/src/retry.ts", None),
        ("services/payments/src/retry.test.ts", None),
        ("services/payments/src/client.ts", None),
        ("services/payments/src/__snapshots__/client.test.ts.snap", None),
        ("services/payments/webhooks/handler.ts", None),
        ("services/payments/webhooks/handler.test.ts", None),
        ("services/payments/webhooks/backoff.ts", "services/payments/webhooks/delay.ts"),
        ("services/payments/migrations/0042_webhook_attempts.sql", None),
        ("services/payments/README.md", None),
        ("services/ledger/src/events.ts", None),
        ("services/ledger/src/events.test.ts", None),
        ("services/ledger/reconciliation/match.ts", None),
        ("services/ledger/reconciliation/match.test.ts", None),
        ("libs/http/src/retry-policy.ts", None),
        ("libs/http/src/retry-policy.test.ts", None),
        ("web/checkout/src/PaymentStatus.tsx", None),
        ("web/checkout/src/PaymentStatus.test.tsx", None),
        ("web/checkout/package.json", None),
        ("docs/runbooks/payment-webhooks.md", None),
        ("CHANGELOG.md", None),
    ])
    assert len(data["files"]) == 20
    b.review(data, "payments-lead")                              # owner of /services/payments/, on head
    b.review(data, "checkout-lead", at="2026-11-21T02:00:00Z")   # owner of /web/checkout/, on head
    b.review(data, "ledger-lead", commit=b.OLD_HEAD)             # stale: approved before the last push
    b.review(data, "hubot", state="COMMENTED", at="2026-11-21T03:00:00Z")
    b.green(data, ("lint", "test", "build", "codeql", "coverage"))
    b.check_run(data, "e2e", conclusion=None, status="in_progress")
    data["check_runs"][4]["conclusion"] = "neutral"
    _add_teams(data, codeowners)
    return Scenario("typical", data, codeowners)


EXTENSIONS = (".ts", ".ts", ".ts", ".tsx", ".py", ".py", ".go", ".go", ".json", ".yaml", ".md", ".sql", ".proto", ".snap", "_test.go", ".test.ts")
SUBDIRS = ("src", "src/handlers", "src/models", "internal", "api", "tests", "migrations", "config", "docs", "lib", "cmd", "pkg/util")
WORDS = (
    "payments", "ledger", "billing", "invoices", "accounts", "identity", "notifications", "search", "catalog",
    "orders", "shipping", "inventory", "pricing", "fraud", "reporting", "exports", "gateway", "checkout",
    "refunds", "payouts", "tax", "currency", "risk", "kyc", "onboarding", "support", "analytics", "audit",
)
MISC_TOPS = (
    "infra", "docs", "tools", "scripts", "config", "proto", "web", "mobile", "data", "ml", "platform", "sdk",
    "e2e", "deploy", "charts", "ops", "security", "schemas", "clients", "examples",
)
UNANCHORED = (
    "*.proto", "*.sql", "*.tf", "*.tfvars", "*.snap", "*.lock", "*.graphql", "*.md", "*.rst", "*.ipynb",
    "*.pb.go", "*_pb2.py", "*.min.js", "*.generated.ts", "*.gen.go", "*_test.go", "*.test.ts", "*.spec.ts",
    "*.sh", "*.bash", "*.ps1", "*.bat", "*.csv", "*.parquet", "*.avsc", "*.thrift", "*.wasm", "*.svg", "*.png",
    "*.jpg", "*.ico", "*.woff2", "*.ttf", "*.pem", "*.crt", "*.key", "*.env", "*.ini", "*.toml", "*.cfg",
    "*.xml", "*.gradle", "*.kts", "*.swift", "*.kt", "*.java", "*.scala", "*.rb", "*.php", "*.rs", "*.c",
    "*.h", "*.cpp", "*.hpp", "*.cs", "*.fs", "*.ex", "*.exs", "*.erl", "*.hs", "*.lua", "*.r", "*.jl",
    "*.dart", "*.vue", "*.svelte", "*.scss", "*.less", "*.css", "*.html", "*.jinja", "*.j2", "*.tpl",
    "*.mustache", "Dockerfile", "Makefile", "BUILD.bazel", "WORKSPACE", "OWNERS", "package.json",
    "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "go.mod", "go.sum", "requirements.txt",
    "pyproject.toml", "setup.cfg", "Cargo.toml", "Gemfile", ".eslintrc.json", ".prettierrc",
    "tsconfig.json", "jest.config.js", "generated/", "__snapshots__/", "fixtures/", "vendor/",
)


def huge_codeowners(rng: random.Random) -> tuple[str, list[str]]:
    """A 1,000-rule CODEOWNERS: the catch-all on line 1, ~90% anchored directories grouped by area
    (mostly under services/, libs/ and apps/), ~10% unanchored globs spread evenly through the file.
    Returns the text and the owned directories (to put changed files in)."""
    directories: list[str] = []
    for top, count in (("services", 130), ("libs", 60), ("apps", 30)):
        for index in range(count):
            directories.append(f"{top}/{WORDS[index % len(WORDS)]}-{index:03d}")
    for top in MISC_TOPS:
        directories += [f"{top}/{WORDS[index]}" for index in range(4)]
    anchored: list[str] = []
    for directory in directories:
        anchored.append(f"/{directory}/ {_team(directory.split('/')[-1])}")
        for sub in rng.sample(("api", "migrations", "internal", "config", "docs"), 2):
            anchored.append(f"/{directory}/{sub}/ {_team(directory.split('/')[-1] + '-' + sub)}")
    del anchored[999 - len(UNANCHORED) - 4:]
    anchored[0:0] = [
        "/services/*/migrations/ @octocat/dba",
        "/libs/**/schema/ @octocat/data",
        "**/secrets/ @octocat/security",
        "/apps/*/config/ @octocat/release",
    ]
    globs = [f"{pattern} {_team('lang-' + str(index))}" for index, pattern in enumerate(UNANCHORED)]
    body: list[str] = []
    every = max(1, len(anchored) // len(globs))
    for index, line in enumerate(anchored):
        body.append(line)
        if index % every == every - 1 and globs:
            body.append(globs.pop(0))
    body += globs
    lines = ["* @octocat/eng", "# Generated for changegate's benchmark: areas, then globs spread among them"]
    lines += body
    text = "\n".join(lines) + "\n"
    assert len(CodeOwners(text).paths) == 1000
    return text, directories


def huge() -> Scenario:
    rng = random.Random(SEED)
    codeowners, directories = huge_codeowners(rng)
    files: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    touched = rng.sample(directories, 240)  # a large refactor spread over many areas
    while len(files) < 3000:
        directory = rng.choice(touched)
        sub = rng.choice(SUBDIRS)
        name = f"{directory}/{sub}/{rng.choice(WORDS)}_{rng.randrange(1000)}{rng.choice(EXTENSIONS)}"
        if name in seen:
            continue
        seen.add(name)
        previous = None
        if rng.random() < 0.03:
            previous = name.replace(f"/{sub}/", "/old/", 1)
        files.append((name, previous))
    data = b.snapshot(title="refactor: move every service to the shared HTTP client", files=())
    _add_files(data, files)
    owners = sorted({line.split()[1].split("/", 1)[1] for line in codeowners.splitlines() if line.startswith("/")})
    for index, team in enumerate(rng.sample(owners, 12)):  # leads of 12 areas approve the head
        b.review(data, f"{team}-lead", at=f"2026-11-21T{index:02d}:00:00Z")
    b.review(data, "sec-lead", at="2026-11-21T13:00:00Z")
    b.review(data, "infra-lead", commit=b.OLD_HEAD, at="2026-11-21T14:00:00Z")
    b.review(data, "hubot", state="COMMENTED", at="2026-11-21T15:00:00Z")
    b.green(data, ("lint", "test", "build", "codeql", "coverage"))
    b.check_run(data, "e2e", conclusion=None, status="in_progress")
    _add_teams(data, codeowners)
    return Scenario("huge", data, codeowners)


# --------------------------------------------------------------------------------------------
# Correctness: the verdict's codeowners requirement against the codeowners package's matcher
# --------------------------------------------------------------------------------------------


def _approvers(data: dict[str, Any]) -> set[str]:
    """Independent of changegate.core.approvals: latest decisive review per human non-author, on head."""
    authors = {data["pull_request"]["user"]["login"].lower()}
    authors |= {c["author"]["login"].lower() for c in data["commits"] if c.get("author")}
    latest: dict[str, dict[str, Any]] = {}
    for item in sorted(data["reviews"], key=lambda r: (r["submitted_at"], r["id"])):
        if item["state"] in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            latest[item["user"]["login"].lower()] = item
    return {
        login for login, item in latest.items()
        if item["state"] == "APPROVED" and item["commit_id"] == b.HEAD and login not in authors and item["user"]["type"] != "Bot"
    }


def check_codeowners(scenario: Scenario, verdict: Verdict, *, sample: int | None) -> int:
    """Recompute the codeowners requirement from `CodeOwners(text)` and compare it with the verdict.
    Every path counts towards the totals; `sample` limits the per-path cross-check of the index."""
    reference = CodeOwners(scenario.codeowners)
    teams = {name.lower(): {m.lower() for m in members} for name, members in scenario.data["teams"].items()}
    approved = _approvers(scenario.data)
    owned = 0
    waiting: dict[int, tuple[str, list[str], list[str]]] = {}
    for path in _changed_paths(scenario.data):
        owners, line, pattern, _section = reference.matching_line(path)
        if not owners:
            continue
        assert line is not None and pattern is not None
        owned += 1
        names = [owner for _kind, owner in owners]
        members: set[str] = set()
        for name in names:
            slug = name.lstrip("@").lower()
            members |= teams.get(slug, set()) if "/" in slug else {slug}
        if not members & approved:
            waiting.setdefault(line, (pattern, names, []))[2].append(path)
    requirement = verdict.requirement("codeowners")
    assert requirement is not None, "the verdict has no codeowners requirement"
    evidence = requirement.evidence
    expected = {str(line): {"pattern": pattern, "owners": names, "files": files[:10]} for line, (pattern, names, files) in waiting.items()}
    assert evidence["owned_files"] == owned, (evidence["owned_files"], owned)
    assert evidence["unapproved"] == expected, "codeowners evidence differs from the codeowners package"
    pending = sum(len(files) for _p, _n, files in waiting.values())
    assert (requirement.state.value == "satisfied") == (pending == 0)
    if pending:
        assert requirement.detail.startswith(f"{pending} owned file(s)"), requirement.detail
    index = OwnersIndex(scenario.codeowners)
    paths = _changed_paths(scenario.data)
    if sample is not None and sample < len(paths):
        paths = random.Random(SEED).sample(paths, sample)
    for path in paths:
        rule = index.rule_for(path)
        owners, line, _pattern, _section = reference.matching_line(path)
        assert (rule.line if rule else None) == line, (path, rule, line)
        assert list(rule.owners if rule else ()) == [owner for _kind, owner in owners], path
    return owned


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


@dataclass
class Timing:
    """Seconds per call: one value per repeat (loop timing) or per call (call timing)."""

    samples: list[float] = field(default_factory=list)
    loops: int = 1

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, max(0, -(-95 * len(ordered) // 100) - 1))]  # nearest rank

    def __add__(self, other: Timing) -> Timing:
        return Timing(self.samples + other.samples, self.loops)


@contextlib.contextmanager
def _collector(enabled: bool) -> Iterator[None]:
    """Like timeit, keep the cyclic garbage collector out of the timed code (unless `enabled`)."""
    was = gc.isenabled()
    gc.collect()
    if not enabled:
        gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def loop_timing(fn: Callable[[], object], *, min_time: float, repeats: int, gc_enabled: bool = False) -> Timing:
    """timeit-style: warm up, calibrate a loop count so one repeat takes >= min_time, then repeat."""
    with _collector(gc_enabled):
        for _ in range(3):
            fn()
        number = 1
        while True:
            start = time.perf_counter()
            for _ in range(number):
                fn()
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
            number = max(number * 2, int(number * min_time / max(elapsed, 1e-9)))
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples.append((time.perf_counter() - start) / number)
    return Timing(samples, number)


def call_timing(fn: Callable[[], object], *, runs: int, warmup: int = 2, gc_enabled: bool = False) -> Timing:
    """Time each call separately (for slow calls, to get a distribution: median and p95)."""
    with _collector(gc_enabled):
        for _ in range(warmup):
            fn()
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
    return Timing(samples)


@dataclass(frozen=True)
class Settings:
    min_time: float
    repeats: int
    huge_runs: int
    first_calls: int
    check_sample: int | None


FULL = Settings(min_time=0.25, repeats=9, huge_runs=40, first_calls=7, check_sample=None)
QUICK = Settings(min_time=0.05, repeats=3, huge_runs=8, first_calls=3, check_sample=300)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms" if seconds < 0.01 else f"{seconds * 1e3:.1f} ms"


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs"


@dataclass
class Row:
    name: str
    timing: Timing
    baseline: Timing | None
    unit: Callable[[float], str]
    target: str = ""
    met: bool | None = None
    show_p95: bool = False

    def cells(self) -> list[str]:
        median = self.timing.median
        ratio = "1.00 (baseline)" if self.baseline is None else f"{median / self.baseline.median:.2f}x"
        p95 = self.unit(self.timing.p95) if self.show_p95 else "-"
        met = "" if self.met is None else ("yes" if self.met else "NO")
        return [self.name, self.unit(median), p95, f"{1 / median:,.0f}/s", ratio, self.target, met]


HEADER = ["measurement", "median", "p95", "rate", "ratio to json.loads", "target", "met"]


def table(rows: list[Row]) -> str:
    cells = [HEADER] + [row.cells() for row in rows]
    widths = [max(len(line[col]) for line in cells) for col in range(len(HEADER))]
    out = []
    for number, line in enumerate(cells):
        out.append("| " + " | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) + " |")
        if number == 0:
            out.append("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(out)


def _default_policy() -> Policy:
    with tempfile.TemporaryDirectory() as empty:  # no changegate.yml here: the shipped default
        loaded = load_policy(None, root=Path(empty))
    assert loaded.source == DEFAULT_SOURCE
    return loaded.policy


def _source_state() -> str:
    """The commit measured, and whether src/ had uncommitted changes (others edit it concurrently)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    changed = len(dirty.splitlines())
    return f"commit {head}" + (f" + {changed} uncommitted change(s) under src/" if changed else " (src/ clean)")


def _profile(label: str, fn: Callable[[], object], calls: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        fn()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime")
    stats.print_stats(18)
    print(f"\n--- cProfile: {label}, {calls} call(s), sorted by own time ---")
    print(out.getvalue().split("\n", 3)[-1].strip("\n"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.evaluation", description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a short run (fewer repeats, sampled correctness check)")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of each evaluation")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL

    started = dt.datetime.now(dt.UTC)
    print(f"changegate evaluation bench ({'quick' if args.quick else 'full'}) {started:%Y-%m-%d %H:%M UTC}")
    print(f"python {platform.python_version()} ({platform.python_implementation()}), {platform.machine()}, nproc {os.cpu_count()}, "
          f"sched affinity {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'}")

    print(f"source: {_source_state()}")
    policy = _default_policy()
    typ, big = typical(), huge()
    for scenario in (typ, big):
        print(f"{scenario.name}: {len(scenario.data['files'])} files ({scenario.paths} paths), {len(scenario.data['reviews'])} reviews, "
              f"{len(scenario.data['check_runs'])} checks, {scenario.rules}-rule CODEOWNERS, {len(scenario.data['teams'])} teams, "
              f"JSON {len(scenario.text) / 1024:,.0f} KiB")

    # Correctness first: the verdicts are what we mean to measure.
    for scenario in (typ, big):
        verdict = evaluate(scenario.parsed, policy, at=AT)
        again = evaluate(parse_snapshot(json.loads(scenario.text)), policy, at=AT)
        assert verdict.as_dict() == again.as_dict(), f"{scenario.name}: evaluation is not deterministic"
        owned = check_codeowners(scenario, verdict, sample=settings.check_sample)
        codeowners = verdict.requirement("codeowners")
        assert codeowners is not None
        print(f"check {scenario.name}: {verdict.change_type.value}, {verdict.state.value}; codeowners {codeowners.state.value}, "
              f"{owned} owned path(s), {len(codeowners.evidence['unapproved'])} rule(s) waiting (matches the codeowners package)")

    def typical_evaluate() -> Verdict:
        return evaluate(typ.parsed, policy, at=AT)

    def typical_from_json() -> Verdict:
        return evaluate(parse_snapshot(json.loads(typ.text)), policy, at=AT)

    def typical_parse() -> Snapshot:
        return parse_snapshot(json.loads(typ.text))

    def huge_evaluate() -> Verdict:
        return evaluate(big.parsed, policy, at=AT)

    def huge_from_json() -> Verdict:
        return evaluate(parse_snapshot(json.loads(big.text)), policy, at=AT)

    fresh = iter(range(1_000_000))
    first_seconds: list[float] = []

    def huge_first_call() -> Verdict:
        # A CODEOWNERS text never seen before (a unique trailing comment), so it is parsed again.
        snapshot = big.parsed.model_copy(update={"codeowners": big.codeowners + f"# fresh {next(fresh)}\n"})
        start = time.perf_counter()
        verdict = evaluate(snapshot, policy, at=AT)
        first_seconds.append(time.perf_counter() - start)
        return verdict

    def typical_loads() -> object:
        return json.loads(typ.text)

    def huge_loads() -> object:
        return json.loads(big.text)

    def loops(fn: Callable[[], object]) -> Timing:
        return loop_timing(fn, min_time=settings.min_time, repeats=settings.repeats)

    def calls(fn: Callable[[], object], runs: int = settings.huge_runs) -> Timing:
        return call_timing(fn, runs=runs)

    base_typ, base_big = loops(typical_loads), calls(huge_loads)
    t_eval = loops(typical_evaluate)
    t_parse = loops(typical_parse)
    t_json = loops(typical_from_json)
    h_eval = calls(huge_evaluate)
    h_json = calls(huge_from_json, max(3, settings.huge_runs // 2))
    h_gc = call_timing(huge_evaluate, runs=max(3, settings.huge_runs // 2), gc_enabled=True)
    with _collector(False):
        for _ in range(settings.first_calls):
            huge_first_call()
    h_first = Timing(first_seconds)
    h_index = call_timing(lambda: OwnersIndex(big.codeowners + "\n"), runs=settings.first_calls, warmup=1)
    base_typ_after, base_big_after = loops(typical_loads), calls(huge_loads)
    base_typ_all, base_big_all = base_typ + base_typ_after, base_big + base_big_after

    typical_ok = 1 / t_eval.median >= TYPICAL_TARGET_PER_SECOND
    huge_ok = h_eval.median <= HUGE_TARGET_SECONDS
    huge_p95_ok = h_eval.p95 <= HUGE_TARGET_SECONDS
    rows = [
        Row("typical: json.loads (baseline)", base_typ_all, None, _us),
        Row("typical: evaluate (parsed snapshot)", t_eval, base_typ_all, _us, ">= 5,000/s", typical_ok),
        Row("typical: json.loads + parse_snapshot", t_parse, base_typ_all, _us),
        Row("typical: json.loads + parse + evaluate", t_json, base_typ_all, _us, "(>= 5,000/s)", 1 / t_json.median >= TYPICAL_TARGET_PER_SECOND),
        Row("huge: json.loads (baseline)", base_big_all, None, _ms, show_p95=True),
        Row("huge: evaluate (parsed, CODEOWNERS cached)", h_eval, base_big_all, _ms, "<= 50 ms", huge_ok and huge_p95_ok, show_p95=True),
        Row("huge: evaluate, garbage collector on", h_gc, base_big_all, _ms, show_p95=True),
        Row("huge: json.loads + parse + evaluate", h_json, base_big_all, _ms, "(<= 50 ms)", h_json.median <= HUGE_TARGET_SECONDS, show_p95=True),
        Row("huge: first evaluate of a new CODEOWNERS", h_first, base_big_all, _ms, show_p95=True),
        Row("huge: OwnersIndex(1,000 rules) alone", h_index, base_big_all, _ms, show_p95=True),
    ]
    print()
    print(table(rows))
    print()
    drift_typ = base_typ_after.median / base_typ.median - 1
    drift_big = base_big_after.median / base_big.median - 1
    print(f"loops: typical {t_eval.loops} calls x {settings.repeats} repeats (evaluate); huge {settings.huge_runs} timed calls; "
          f"first call {settings.first_calls} fresh CODEOWNERS texts; garbage collector off while timing (as timeit) except where noted")
    print(f"baseline drift (after vs before): typical {drift_typ:+.1%}, huge {drift_big:+.1%}  (noise indicator)")
    print(f"targets: typical evaluate {1 / t_eval.median:,.0f}/s {'>=' if typical_ok else '<'} 5,000/s -> {'met' if typical_ok else 'NOT met'}; "
          f"huge evaluate median {_ms(h_eval.median)}, p95 {_ms(h_eval.p95)} vs 50 ms -> {'met' if huge_ok and huge_p95_ok else 'NOT met'}")
    elapsed = (dt.datetime.now(dt.UTC) - started).total_seconds()
    print(f"elapsed {elapsed:.0f} s")

    if args.profile:
        _profile("typical evaluate", typical_evaluate, 2000)
        _profile("huge evaluate (CODEOWNERS cached)", huge_evaluate, 10)
        _profile("huge first evaluate (new CODEOWNERS)", huge_first_call, 3)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
