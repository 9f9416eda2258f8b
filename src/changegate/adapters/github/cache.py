"""A bounded LRU store for gidgethub's conditional-request cache.

gidgethub keeps `url -> (etag, last_modified, data, next_url)` in any MutableMapping and sends
`If-None-Match` itself; a 304 then returns the stored body. This mapping bounds the entries and
their total size (least recently used out first; policy-bot's cache is likewise an LRU, 50 MB)
and stores each body as JSON text, so callers who modify a returned object never corrupt the
cache (each hit hands out a fresh copy).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from typing import Any

Entry = tuple[str | None, str | None, Any, str | None]


class ETagCache(MutableMapping[str, Entry]):
    def __init__(self, max_entries: int = 2000, *, max_bytes: int = 50_000_000) -> None:
        if max_entries < 1 or max_bytes < 1:
            raise ValueError("max_entries and max_bytes must be at least 1")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.size = 0  # characters of JSON held
        self._entries: OrderedDict[str, tuple[str | None, str | None, str, str | None]] = OrderedDict()

    def __getitem__(self, url: str) -> Entry:
        etag, last_modified, text, next_url = self._entries[url]
        self._entries.move_to_end(url)
        return etag, last_modified, json.loads(text), next_url

    def __setitem__(self, url: str, entry: Entry) -> None:
        etag, last_modified, data, next_url = entry
        text = json.dumps(data)
        if url in self._entries:
            del self[url]
        if len(text) > self.max_bytes:
            return  # too big to keep: the next request is simply unconditional
        self._entries[url] = (etag, last_modified, text, next_url)
        self.size += len(text)
        while len(self._entries) > self.max_entries or self.size > self.max_bytes:
            del self[next(iter(self._entries))]

    def __delitem__(self, url: str) -> None:
        self.size -= len(self._entries.pop(url)[2])

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"ETagCache({len(self)}/{self.max_entries} entries, {self.size:,}/{self.max_bytes:,} bytes)"
