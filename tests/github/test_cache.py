"""The bounded ETag cache gidgethub stores conditional-request bodies in."""

from __future__ import annotations

import pytest

from changegate.adapters.github.cache import ETagCache


def test_least_recently_used_entry_goes_first() -> None:
    cache = ETagCache(max_entries=2)
    cache["a"] = ('"1"', None, {"n": 1}, None)
    cache["b"] = ('"2"', None, {"n": 2}, None)
    assert cache["a"][2] == {"n": 1}  # touch a: b is now the oldest
    cache["c"] = ('"3"', None, {"n": 3}, "https://x/next")
    assert sorted(cache) == ["a", "c"] and len(cache) == 2
    assert cache["c"] == ('"3"', None, {"n": 3}, "https://x/next")
    with pytest.raises(KeyError):
        cache["b"]
    assert repr(cache) == "ETagCache(2/2 entries, 16/50,000,000 bytes)"


def test_total_size_is_bounded_too() -> None:
    cache = ETagCache(max_bytes=30)
    cache["a"] = (None, None, "x" * 10, None)  # 12 characters of JSON
    cache["b"] = (None, None, "y" * 10, None)
    cache["a"] = (None, None, "z" * 10, None)  # replacing counts once
    assert cache.size == 24 and list(cache) == ["b", "a"]
    cache["c"] = (None, None, "w" * 10, None)
    assert list(cache) == ["a", "c"] and cache.size == 24
    cache["huge"] = (None, None, "h" * 40, None)  # bigger than the whole cache: not kept
    assert "huge" not in cache and cache.size == 24


def test_callers_cannot_corrupt_a_cached_body() -> None:
    cache = ETagCache()
    body = [{"login": "octocat"}]
    cache["u"] = ('"e"', None, body, None)
    body[0]["login"] = "changed"
    first = cache["u"][2]
    first.append("junk")
    assert cache["u"][2] == [{"login": "octocat"}]
    del cache["u"]
    assert "u" not in cache


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        ETagCache(0)
    with pytest.raises(ValueError):
        ETagCache(max_bytes=0)
