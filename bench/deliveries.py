"""Durable webhook deliveries per second and acknowledgement latency, on SQLite and PostgreSQL.
Run: python -m bench.deliveries [--quick]

`changegate serve --no-worker` runs as its own process (uvicorn, 127.0.0.1, a free port) on a
fresh SQLite file, then on a fresh PostgreSQL database (made and migrated with `changegate db
upgrade`, dropped at the end). A separate load process (multiprocessing, spawn) drives it with
a small asyncio HTTP/1.1 client: N keep-alive connections, each sending its next request as soon
as the previous answer is read (closed loop), so at most N requests are in flight.

Each delivery is a real `pull_request` payload from @octokit/webhooks-examples (7 actions in
turn), signed by `tests.web.payloads.github_headers` with a fresh GUID as X-GitHub-Delivery.
Latency is measured by the client: from just before the request is written to the socket until
the whole response has been read. The baseline is `GET /healthz` (no body, no database) on the
same server process, driven the same way; the phases alternate baseline / deliveries, each is
warmed up first and repeated; the table shows the median of the repeats for each figure.

Afterwards the server is killed with SIGKILL (no shutdown code runs) and the inbox table must
hold exactly as many rows as there were 202 answers: every acknowledged delivery is durable.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

from sqlalchemy import create_engine, text
from tests.web.payloads import REAL_EVENTS, ROOT, body_of, example, github_headers
from tests.web.server import ChangegateProcess

from changegate.settings import normalise_database_url

SECRET = "It's a Secret to Everybody"  # GitHub's own example secret
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
TARGET_RATE = 300.0  # durable deliveries/s on SQLite
TARGET_P99_MS = 50.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- the load process -------------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    """One batch of requests: `kind` "healthz" or "deliveries"."""

    kind: str
    port: int
    requests: int
    connections: int


@dataclass
class Outcome:
    """What the client saw: per-request latencies (ms), statuses, wall time and its own CPU."""

    latencies_ms: list[float]
    statuses: dict[int, int]
    seconds: float
    client_cpu: float
    errors: list[str] = field(default_factory=list)


def _requests(phase: Phase, bodies: list[tuple[str, bytes]]) -> list[bytes]:
    """The raw HTTP/1.1 requests of a phase (built before timing starts)."""
    host = f"Host: 127.0.0.1:{phase.port}\r\n"
    if phase.kind == "healthz":
        return [f"GET /healthz HTTP/1.1\r\n{host}User-Agent: bench\r\n\r\n".encode()] * phase.requests
    built = []
    for index in range(phase.requests):
        event, body = bodies[index % len(bodies)]
        headers = github_headers(event, str(uuid.uuid4()), body, SECRET)
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        built.append(f"POST /webhooks/github HTTP/1.1\r\n{host}{lines}Content-Length: {len(body)}\r\n\r\n".encode() + body)
    return built


async def _drive(phase: Phase, requests: list[bytes]) -> Outcome:
    expected = 200 if phase.kind == "healthz" else 202
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    pending = iter(requests)

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", phase.port)
        try:
            for request in pending:
                started = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = None
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length is None:
                    raise RuntimeError(f"no Content-Length in {head[:200]!r}")
                answer = await reader.readexactly(length)
                latencies.append((time.perf_counter() - started) * 1000)
                status = int(head[9:12])
                statuses[status] += 1
                if status != expected and len(errors) < 5:
                    errors.append(f"{status}: {answer[:300]!r}")
                if b"connection: close" in head.lower():
                    raise RuntimeError("the server closed a keep-alive connection")
        finally:
            writer.close()

    cpu = time.process_time()
    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(connection() for _ in range(phase.connections))), timeout=300)
    seconds = time.perf_counter() - started
    return Outcome(latencies, dict(statuses), seconds, time.process_time() - cpu, errors)


def load_process(pipe: Connection, bodies: list[tuple[str, bytes]]) -> None:
    """The load generator's loop: run each Phase sent, answer its Outcome; None ends it."""
    while (phase := pipe.recv()) is not None:
        requests = _requests(phase, bodies)
        pipe.send(asyncio.run(_drive(phase, requests)))


# -- the server and its database --------------------------------------------------------------


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def postgres_cpu(postmaster: int) -> float:
    """CPU seconds of the whole PostgreSQL server: the postmaster, its live children (backends,
    WAL writer, checkpointer...) and its exited children (cutime + cstime, so short-lived
    connections count too). Deltas of this are exact up to children not yet reaped."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        pid = int(stat.parent.name)
        if pid == postmaster:
            total += sum(int(f) for f in fields[11:15]) / CLOCK_TICKS
        elif int(fields[1]) == postmaster:
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


@dataclass
class Store:
    name: str
    url: str  # the server's CHANGEGATE_DATABASE_URL
    database: str | None = None  # PostgreSQL: the database's name

    def rows(self) -> int:
        engine = create_engine(normalise_database_url(self.url, setting=None))
        try:
            with engine.connect() as connection:
                return int(connection.execute(text("SELECT count(*) FROM deliveries")).scalar_one())
        finally:
            engine.dispose()

    def postmaster(self) -> int | None:
        """PostgreSQL: the postmaster's pid (the parent of a backend), if it runs on this machine."""
        if self.database is None:
            return None
        engine = create_engine(f"{PG_SERVER}/postgres")
        try:
            with engine.connect() as connection:
                backend = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
        finally:
            engine.dispose()
        try:
            return int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except FileNotFoundError:
            return None

    def sessions(self) -> int | None:
        """PostgreSQL: connections ever opened to this database (pg_stat_database.sessions)."""
        if self.database is None:
            return None
        engine = create_engine(f"{PG_SERVER}/postgres")
        try:
            with engine.connect() as connection:
                query = text("SELECT sessions FROM pg_stat_database WHERE datname = :name")
                return int(connection.execute(query, {"name": self.database}).scalar_one())
        finally:
            engine.dispose()


@contextmanager
def sqlite_store(directory: Path) -> Iterator[Store]:
    yield Store("SQLite", f"sqlite:///{directory / 'bench.db'}")


@contextmanager
def postgres_store(directory: Path) -> Iterator[Store]:
    name = f"changegate_bench_{secrets.token_hex(6)}"
    admin = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        store = Store("PostgreSQL", f"postgresql://postgres@127.0.0.1:5432/{name}", name)
        upgrade = subprocess.run(
            [sys.executable, "-m", "changegate", "db", "upgrade"], cwd=ROOT, capture_output=True,
            text=True, timeout=120, check=False,
            env={**os.environ, "CHANGEGATE_DATABASE_URL": store.url, "CHANGEGATE_HOME": str(directory)},
        )
        if upgrade.returncode != 0:
            raise RuntimeError(f"changegate db upgrade failed:\n{upgrade.stdout}{upgrade.stderr}")
        yield store
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- measuring --------------------------------------------------------------------------------


@dataclass
class Measured:
    """One measured (not warm-up) phase."""

    rate: float
    p50: float
    p99: float
    server_cpu_ms: float  # per request
    db_cpu_ms: float | None  # the whole PostgreSQL server, per request
    client_cpu_ms: float
    new_connections: int | None


@dataclass
class StoreResult:
    store: str
    healthz: list[Measured]
    deliveries: list[Measured]
    accepted: int  # 202 answers, warm-ups included
    rows: int  # inbox rows after SIGKILL
    bad_statuses: dict[str, dict[int, int]]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class Bench:
    def __init__(self, pipe: Connection, *, requests: int, warmup: int, connections: int, repeats: int) -> None:
        self.pipe = pipe
        self.requests = requests
        self.warmup = warmup
        self.connections = connections
        self.repeats = repeats

    def run_phase(self, phase: Phase) -> Outcome:
        self.pipe.send(phase)
        outcome: Outcome = self.pipe.recv()
        return outcome

    def store(self, store: Store, directory: Path) -> StoreResult:
        log = directory / f"serve-{store.name.lower()}.log"
        env = {"CHANGEGATE_DATABASE_URL": store.url, "CHANGEGATE_WEBHOOK_SECRET": SECRET,
               "CHANGEGATE_HOME": str(directory)}
        server = ChangegateProcess(["serve", "--no-worker", "--port", "0"], env=env, log_path=log)
        results: dict[str, list[Measured]] = {"healthz": [], "deliveries": []}
        accepted = 0
        bad: dict[str, dict[int, int]] = {}
        try:
            port = int(server.wait_for_port().rsplit(":", 1)[1])
            pid = server.process.pid
            postmaster = store.postmaster()
            for repeat in range(self.repeats):
                for kind in ("healthz", "deliveries"):
                    warm = self.run_phase(Phase(kind, port, self.warmup, self.connections))
                    sessions = store.sessions()
                    db_cpu = postgres_cpu(postmaster) if postmaster else 0.0
                    cpu = process_cpu(pid)
                    outcome = self.run_phase(Phase(kind, port, self.requests, self.connections))
                    server_cpu = process_cpu(pid) - cpu
                    db_used = postgres_cpu(postmaster) - db_cpu if postmaster else None
                    after = store.sessions()
                    for seen in (warm, outcome):
                        if kind == "deliveries":
                            accepted += seen.statuses.get(202, 0)
                        expected = 200 if kind == "healthz" else 202
                        if set(seen.statuses) != {expected}:
                            counts = bad.setdefault(kind, {})
                            for status, count in seen.statuses.items():
                                counts[status] = counts.get(status, 0) + count
                            print(f"  unexpected answers ({kind}): {seen.statuses} {seen.errors}")
                    n = len(outcome.latencies_ms)
                    measured = Measured(
                        rate=n / outcome.seconds,
                        p50=percentile(outcome.latencies_ms, 0.50),
                        p99=percentile(outcome.latencies_ms, 0.99),
                        server_cpu_ms=server_cpu * 1000 / n,
                        db_cpu_ms=None if db_used is None else db_used * 1000 / n,
                        client_cpu_ms=outcome.client_cpu * 1000 / n,
                        new_connections=None if sessions is None or after is None else after - sessions,
                    )
                    results[kind].append(measured)
                    print(f"  {store.name} {kind:10} run {repeat + 1}: {measured.rate:8,.0f}/s  "
                          f"p50 {measured.p50:6.2f} ms  p99 {measured.p99:6.2f} ms  "
                          f"server CPU {measured.server_cpu_ms:.2f} ms/req"
                          + (f"  db CPU {measured.db_cpu_ms:.2f} ms/req" if measured.db_cpu_ms is not None else "")
                          + (f"  new db connections {measured.new_connections}" if measured.new_connections is not None else ""),
                          flush=True)
        finally:
            server.kill()  # SIGKILL: only what was committed survives
        rows = store.rows()
        return StoreResult(store.name, results["healthz"], results["deliveries"], accepted, rows, bad)


def median_of(runs: list[Measured], name: str) -> float:
    values: list[float] = [value for run in runs if (value := getattr(run, name)) is not None]
    return statistics.median(values)


def table(results: list[StoreResult], connections: int) -> list[str]:
    lines = [
        f"| route ({connections} connections) | deliveries/s | p50 | p99 | rate vs /healthz | p50 vs /healthz | p99 vs /healthz | server CPU per request | durable (rows = 202s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        base_rate, base_p50, base_p99 = (median_of(result.healthz, n) for n in ("rate", "p50", "p99"))
        rate, p50, p99 = (median_of(result.deliveries, n) for n in ("rate", "p50", "p99"))
        base_cpu, cpu = median_of(result.healthz, "server_cpu_ms"), median_of(result.deliveries, "server_cpu_ms")
        durable = "yes" if result.rows == result.accepted and not result.bad_statuses else "NO"
        lines.append(f"| {result.store}: GET /healthz (baseline) | {base_rate:,.0f} | {base_p50:.2f} ms | "
                     f"{base_p99:.2f} ms | 1.00 | 1.00 | 1.00 | {base_cpu:.2f} ms | |")
        lines.append(f"| {result.store}: POST /webhooks/github | {rate:,.0f} | {p50:.2f} ms | {p99:.2f} ms | "
                     f"{rate / base_rate:.2f} | {p50 / base_p50:.1f}x | {p99 / base_p99:.1f}x | {cpu:.2f} ms | "
                     f"{durable} ({result.rows:,} = {result.accepted:,}) |")
    return lines


def details(results: list[StoreResult]) -> list[str]:
    lines = ["| run | deliveries/s | p50 | p99 | server CPU/req | PostgreSQL server CPU/req | load client CPU/req | new db connections |",
             "|---|---|---|---|---|---|---|---|"]
    for result in results:
        for kind, runs in (("/healthz", result.healthz), ("deliveries", result.deliveries)):
            for number, run in enumerate(runs, 1):
                db = "-" if run.db_cpu_ms is None else f"{run.db_cpu_ms:.2f} ms"
                conns = "-" if run.new_connections is None else str(run.new_connections)
                lines.append(f"| {result.store} {kind} {number} | {run.rate:,.0f} | {run.p50:.2f} ms | {run.p99:.2f} ms | "
                             f"{run.server_cpu_ms:.2f} ms | {db} | {run.client_cpu_ms:.3f} ms | {conns} |")
    return lines


def machine() -> str:
    return (f"{platform.machine()}, `nproc` {os.cpu_count()}, CPython {platform.python_version()}, "
            f"SQLite {sqlite3.sqlite_version}, PostgreSQL {postgres_version()}")


def postgres_version() -> str:
    engine = create_engine(f"{PG_SERVER}/postgres")
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar_one()).split()[0]
    except Exception:  # noqa: BLE001 - only for the report
        return "unavailable"
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer requests per phase (~40 s)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections")
    parser.add_argument("--requests", type=int, help="requests per measured phase (default 3000, --quick 600)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--stores", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    args = parser.parse_args()
    requests = args.requests or (600 if args.quick else 3000)
    warmup = max(100, requests // 10)

    bodies = [("pull_request", body_of(example("pull_request", action))) for action in REAL_EVENTS["pull_request"]]
    print(f"{len(bodies)} real pull_request payloads, {min(len(b) for _, b in bodies):,}-{max(len(b) for _, b in bodies):,} bytes; "
          f"{requests} requests per phase after {warmup} warm-up, {args.connections} connections, {args.repeats} repeats", flush=True)
    started = time.monotonic()
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    client = context.Process(target=load_process, args=(theirs, bodies), name="bench-load", daemon=True)
    client.start()
    bench = Bench(ours, requests=requests, warmup=warmup, connections=args.connections, repeats=args.repeats)
    results: list[StoreResult] = []
    makers = {"sqlite": sqlite_store, "postgresql": postgres_store}
    try:
        with tempfile.TemporaryDirectory(prefix="changegate-bench-") as temp:
            for key in args.stores.split(","):
                directory = Path(temp) / key
                directory.mkdir()
                with makers[key](directory) as store:
                    results.append(bench.store(store, directory))
    finally:
        ours.send(None)
        client.join(timeout=10)
    elapsed = time.monotonic() - started

    lines = table(results, args.connections)
    print()
    print("\n".join(lines))
    print()
    print("\n".join(details(results)))
    sqlite = next((r for r in results if r.store == "SQLite"), None)
    verdict = "not measured"
    if sqlite is not None:
        rate, p99 = median_of(sqlite.deliveries, "rate"), median_of(sqlite.deliveries, "p99")
        met = rate >= TARGET_RATE and p99 < TARGET_P99_MS and sqlite.rows == sqlite.accepted
        verdict = (f"{'met' if met else 'NOT met'}: {rate:,.0f} durable deliveries/s (target >= {TARGET_RATE:.0f}), "
                   f"p99 {p99:.1f} ms (target < {TARGET_P99_MS:.0f} ms)")
    for result in results:
        if result.rows != result.accepted or result.bad_statuses:
            print(f"DURABILITY CHECK FAILED on {result.store}: {result.rows} rows, {result.accepted} answered 202, "
                  f"unexpected answers {result.bad_statuses}")
    print(f"\nSQLite target {verdict}.")
    command = " ".join(["python -m bench.deliveries", *sys.argv[1:]])
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"`{command}`, {stamp}, {machine()}; whole run {elapsed:.0f} s")
    if any(r.rows != r.accepted or r.bad_statuses for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
