"""The audit's stored chunks on SQLite and PostgreSQL: nothing is visible before publish, an
interrupted or losing audit leaves nothing behind, and a rewrite replaces a chunk in place."""

from __future__ import annotations

import datetime as dt

import pytest

from changegate.adapters.store.audit_cache import AuditCache, Chunk, Scope
from changegate.adapters.store.sql import SqlStore
from changegate.errors import ChangegateError

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


def _chunk(run: int, seq: int, *shas: str) -> Chunk:
    return Chunk(run, seq, [s * 40 for s in shas], [f'{{"sha": "{s * 40}"}}' for s in shas], {"tally": {"population": len(shas)}, "seed": 0})


def _cache(store: SqlStore, fmt: str = "v1") -> AuditCache:
    return AuditCache(store.engine, description='{"repo": "/r", "branch": "main"}', format=fmt)


def _published(cache: AuditCache) -> tuple[Scope, list[list[str]]]:
    scope = cache.load(now=NOW)
    return scope, [[s[0] for s in chunk.shas] for chunk in cache.chunks(scope)]


def test_chunks_are_read_newest_first_only_once_published(store: SqlStore) -> None:
    cache = _cache(store)
    first = cache.load(now=NOW)
    assert (first.head_sha, first.run) == ("", 0)
    cache.append(first, _chunk(first.mine, 0, "c", "b"))
    cache.append(first, _chunk(first.mine, 1, "a"))
    assert list(cache.chunks(cache.load(now=NOW))) == []  # not yet published: invisible
    cache.publish(first, head_sha="c" * 40, commits=3, now=NOW)

    second = cache.load(now=NOW)
    assert second.head_sha == "c" * 40 and second.mine > first.mine
    cache.append(second, _chunk(second.mine, 0, "e", "d"))
    cache.publish(second, head_sha="e" * 40, commits=5, now=NOW)
    scope, order = _published(cache)
    assert order == [["e", "d"], ["c", "b"], ["a"]] and scope.commits == 5
    assert [list(c.lines) for c in cache.chunks(scope)][0] == ['{"sha": "' + "e" * 40 + '"}', '{"sha": "' + "d" * 40 + '"}']


def test_an_interrupted_audit_leaves_nothing_and_a_rewrite_replaces_in_place(store: SqlStore) -> None:
    cache = _cache(store)
    first = cache.load(now=NOW)
    cache.append(first, _chunk(first.mine, 0, "b", "a"))
    cache.publish(first, head_sha="b" * 40, commits=2, now=NOW)

    crashed = cache.load(now=NOW)  # appends, then dies without publish or discard
    cache.append(crashed, _chunk(crashed.mine, 0, "x"))

    third = cache.load(now=NOW)
    stored = list(cache.chunks(third))[0]
    cache.rewrite(third, Chunk(stored.run, stored.seq, stored.shas, ['{"changed": true}', '{"changed": true}'], stored.meta))
    cache.append(third, _chunk(third.mine, 0, "c"))
    cache.publish(third, head_sha="c" * 40, commits=3, now=NOW)
    scope, order = _published(cache)
    assert order == [["c"], ["b", "a"]]  # the crashed run's chunk is gone
    assert list(list(cache.chunks(scope))[1].lines) == ['{"changed": true}', '{"changed": true}']


def test_of_two_concurrent_audits_the_second_to_publish_loses_cleanly(store: SqlStore) -> None:
    cache, other = _cache(store), _cache(store)
    base = cache.load(now=NOW)
    cache.append(base, _chunk(base.mine, 0, "a"))
    cache.publish(base, head_sha="a" * 40, commits=1, now=NOW)

    one, two = cache.load(now=NOW), other.load(now=NOW)
    assert one.mine != two.mine
    cache.append(one, _chunk(one.mine, 0, "b"))
    other.append(two, _chunk(two.mine, 0, "b"))
    other.rewrite(two, Chunk(base.mine, 0, ["a" * 40], ['{"lost": true}'], {}))
    cache.publish(one, head_sha="b" * 40, commits=2, now=NOW)
    with pytest.raises(ChangegateError, match="published its results first"):
        other.publish(two, head_sha="b" * 40, commits=2, now=NOW)
    scope, order = _published(cache)
    assert order == [["b"], ["a"]] and scope.run == one.mine
    assert [list(c.lines) for c in cache.chunks(scope)][1] == [_chunk(0, 0, "a").lines[0]]  # the loser's rewrite was not applied


def test_full_and_another_version_start_over(store: SqlStore) -> None:
    cache = _cache(store)
    first = cache.load(now=NOW)
    cache.append(first, _chunk(first.mine, 0, "a"))
    cache.publish(first, head_sha="a" * 40, commits=1, now=NOW)

    upgraded = _cache(store, fmt="v2").load(now=NOW)
    assert upgraded.head_sha == ""  # never trust another version's results
    again = cache.load(now=NOW, full=True)
    assert again.head_sha == ""
    cache.append(again, _chunk(again.mine, 0, "b", "a"))
    cache.publish(again, head_sha="b" * 40, commits=2, now=NOW)
    assert _published(cache)[1] == [["b", "a"]]  # the old chunks are replaced, not added to


def test_stored_lines_come_back_exactly_in_small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    import zlib

    from changegate.adapters.store.audit_cache import StoredLines

    lines = [f'{{"subject": "Fix ünïcode ✓ {n}", "n": {n}}}' for n in range(500)] + ["", "last"]
    monkeypatch.setattr(StoredLines, "PIECE", 7)  # pieces end inside lines and inside multi-byte characters
    stored = StoredLines(zlib.compress("\n".join(lines).encode(), 1))
    assert list(stored) == lines and list(stored) == lines  # and again: each iteration decompresses afresh
    assert list(StoredLines(zlib.compress(b""))) == []
