"""Audit results kept in the store, per audited branch, so a repeated audit processes only new commits.

Each audit takes a fresh run number and appends the commits it walked in chunks (newest first: `seq` 0
is the newest chunk of that run), committed as it goes; rewrites of older chunks whose inputs changed
wait for the publish. Nothing is visible until `publish` moves the scope's head and published run in
one compare-and-set; the same transaction deletes the rows of runs that never got published (an
interrupted audit, or a concurrent one that lost), so every row at or below the published run is
published. Older runs hold older commits, so `ORDER BY run DESC, seq` is the branch newest first.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Engine, and_, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from changegate.adapters.store.tables import audit_chunks, audit_scopes
from changegate.errors import ChangegateError


@dataclass(frozen=True)
class Scope:
    id: int
    head_sha: str  # "" when nothing is published
    run: int  # the published run
    commits: int
    format: str
    mine: int  # the run number this audit writes


@dataclass
class Chunk:
    run: int
    seq: int
    shas: list[str]  # newest first
    lines: Iterable[str]  # one JSON object per change, same order (stored chunks: decompressed as read)
    meta: dict[str, Any]


class StoredLines:
    """A stored chunk's lines, decompressed a piece at a time on each iteration: no 5 MB strings, whose
    freed memory the allocator tends to keep (a warm audit of 1M commits peaked at 237 MB with them)."""

    PIECE = 1 << 18

    def __init__(self, blob: bytes) -> None:
        self._blob = blob

    def __iter__(self) -> Iterator[str]:
        inflate, decode = zlib.decompressobj(), codecs.getincrementaldecoder("utf-8")()
        data, rest = self._blob, ""
        while data:
            text = rest + decode.decode(inflate.decompress(data, self.PIECE))
            data = inflate.unconsumed_tail
            *lines, rest = text.split("\n")
            yield from lines
        rest += decode.decode(inflate.flush(), final=True)
        if rest:
            yield rest


def scope_key(description: str) -> str:
    return hashlib.sha256(description.encode()).hexdigest()


class AuditCache:
    def __init__(self, engine: Engine, *, description: str, format: str) -> None:
        self._engine = engine
        self._description = description
        self._key = scope_key(description)
        self._format = format
        self._updates: list[dict[str, Any]] = []

    def load(self, *, now: dt.datetime, full: bool = False) -> Scope:
        """The scope as last published (created empty the first time), with a run number for this audit.
        Results of another changegate version (`format`) are never trusted: the audit starts over, as with `full`."""
        try:
            with self._engine.begin() as connection:
                if connection.execute(select(audit_scopes.c.id).where(audit_scopes.c.scope == self._key)).first() is None:
                    connection.execute(insert(audit_scopes).values(scope=self._key, description=self._description, format=self._format, head_sha="",
                                                                   run=0, next_run=0, commits=0, updated_at=now))
        except IntegrityError:
            pass  # another audit of this branch created it at the same moment
        with self._engine.begin() as connection:
            connection.execute(update(audit_scopes).where(audit_scopes.c.scope == self._key).values(next_run=audit_scopes.c.next_run + 1))
            row = connection.execute(select(audit_scopes).where(audit_scopes.c.scope == self._key)).mappings().one()
        scope = Scope(int(row["id"]), row["head_sha"], int(row["run"]), int(row["commits"]), row["format"], int(row["next_run"]))
        if full or (scope.format != self._format and scope.run):
            return self.restart(replace(scope, format=self._format))
        return scope

    @staticmethod
    def restart(scope: Scope) -> Scope:
        """Audit everything again (history rewritten under the stored head): publish replaces all chunks."""
        return replace(scope, head_sha="", commits=0)

    def chunks(self, scope: Scope) -> Iterator[Chunk]:
        """The published chunks, newest commits first, read one at a time (a driver may buffer a whole
        result set: SQLite's did, 114 MB for 1M commits, so each chunk is its own query)."""
        table = audit_chunks
        mine = and_(table.c.scope_id == scope.id, table.c.run <= scope.run)
        with self._engine.connect() as connection:
            keys = connection.execute(select(table.c.run, table.c.seq).where(mine).order_by(table.c.run.desc(), table.c.seq)).all()
        for run, seq in keys:
            with self._engine.connect() as connection:
                row = connection.execute(select(table.c.shas, table.c.lines, table.c.meta)
                                         .where(and_(table.c.scope_id == scope.id, table.c.run == run, table.c.seq == seq))).one()
            shas, lines, meta = row
            yield Chunk(run, seq, [shas[i:i + 40] for i in range(0, len(shas), 40)], StoredLines(lines), json.loads(meta))

    def append(self, scope: Scope, chunk: Chunk) -> None:
        with self._engine.begin() as connection:
            connection.execute(insert(audit_chunks), [{"scope_id": scope.id, **_row(chunk)}])

    def rewrite(self, scope: Scope, chunk: Chunk) -> None:
        """A stored chunk audited again because its inputs changed: written when the run is published."""
        self._updates.append({"b_scope": scope.id, "b_run": chunk.run, "b_seq": chunk.seq, **_row(chunk)})

    def publish(self, scope: Scope, *, head_sha: str, commits: int, now: dt.datetime) -> None:
        """Make this run's rows (and rewrites) the scope's results, unless another audit published first."""
        with self._engine.begin() as connection:
            moved = connection.execute(update(audit_scopes).where(and_(audit_scopes.c.id == scope.id, audit_scopes.c.run == scope.run))
                                       .values(head_sha=head_sha, run=scope.mine, commits=commits, format=self._format, updated_at=now))
            if moved.rowcount == 1:
                table = audit_chunks
                stale = table.c.run != scope.mine
                if scope.head_sha:  # incremental: keep the published runs, drop unpublished leftovers
                    stale = and_(stale, table.c.run > scope.run)
                connection.execute(delete(table).where(and_(table.c.scope_id == scope.id, stale)))
                if self._updates:
                    statement = (update(table).where(and_(table.c.scope_id == bindparam("b_scope"), table.c.run == bindparam("b_run"), table.c.seq == bindparam("b_seq")))
                                 .values(count=bindparam("count"), shas=bindparam("shas"), lines=bindparam("lines"), meta=bindparam("meta")))
                    connection.execute(statement, self._updates)
        self._updates = []
        if moved.rowcount != 1:
            self.discard(scope)
            raise ChangegateError("another audit of this branch published its results first; they are kept and this run's are discarded (run it again)")

    def discard(self, scope: Scope) -> None:
        """This run's chunks, when the audit failed or lost the race."""
        self._updates = []
        with self._engine.begin() as connection:
            connection.execute(delete(audit_chunks).where(and_(audit_chunks.c.scope_id == scope.id, audit_chunks.c.run == scope.mine)))


def _row(chunk: Chunk) -> dict[str, Any]:
    return {"run": chunk.run, "seq": chunk.seq, "count": len(chunk.shas), "shas": "".join(chunk.shas),
            "lines": zlib.compress("\n".join(chunk.lines).encode(), 1), "meta": json.dumps(chunk.meta, separators=(",", ":"))}
