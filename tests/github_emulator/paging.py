"""GitHub's pagination: `per_page` (default 30, at most 100), `page` (from 1), and an RFC 5988
`Link` header with rel="prev"/"next"/"first"/"last" where they apply."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

T = TypeVar("T")


def page_args(query: Mapping[str, str]) -> tuple[int, int]:
    """(per_page, page), clamped as GitHub does: per_page 1..100, page >= 1."""
    try:
        per_page = int(query.get("per_page", 30))
        page = int(query.get("page", 1))
    except ValueError:
        per_page, page = 30, 1
    return min(max(per_page, 1), 100), max(page, 1)


def paginate(items: Sequence[T], query: Mapping[str, str], base_url: str, *,
             cap: int | None = None) -> tuple[list[T], dict[str, str]]:
    """One page of `items` (only the first `cap` are ever listed) and the headers announcing it."""
    listed = list(items[:cap] if cap is not None else items)
    per_page, page = page_args(query)
    chunk = listed[(page - 1) * per_page: page * per_page]
    last = max((len(listed) + per_page - 1) // per_page, 1)
    return chunk, link_header(query, base_url, page, last)


def link_header(query: Mapping[str, str], base_url: str, page: int, last: int) -> dict[str, str]:
    def url(number: int) -> str:
        params: dict[str, Any] = {**query, "page": number}
        return f"<{base_url}?{urlencode(params)}>"

    links = []
    if page > 1:
        links += [f'{url(min(page - 1, last))}; rel="prev"']
    if page < last:
        links += [f'{url(page + 1)}; rel="next"', f'{url(last)}; rel="last"']
    if page > 1:
        links += [f'{url(1)}; rel="first"']
    return {"link": ", ".join(links)} if links else {}
