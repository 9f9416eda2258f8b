"""Memoise derived data (compiled patterns, parsed CODEOWNERS) by the identity of its source. Pure."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class IdentityMemo(Generic[K, V]):
    """A small LRU keyed by object identity; it keeps the key alive so an id is never reused."""

    def __init__(self, build: Callable[[K], V], *, size: int = 32) -> None:
        self._build = build
        self._size = size
        self._items: OrderedDict[int, tuple[K, V]] = OrderedDict()

    def __call__(self, key: K) -> V:
        found = self._items.get(id(key))
        if found is not None and found[0] is key:
            self._items.move_to_end(id(key))
            return found[1]
        value = self._build(key)
        self._items[id(key)] = (key, value)
        if len(self._items) > self._size:
            self._items.popitem(last=False)
        return value
