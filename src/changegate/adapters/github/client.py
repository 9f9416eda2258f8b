"""`GitHubClient`: changegate's GitHub REST calls (the `services.ports.GitHubAPI` port).

Every list is fetched whole (Link rel="next", 100 per page); every GET is conditional (ETag),
so re-reading unchanged data costs a 304 that GitHub does not charge to the rate limit. A pull
request's file list stops at 3,000 files on GitHub's side: when it is (or may be) cut short,
`list_pull_files` raises `TruncatedError` instead of returning a partial list (fail closed).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import random
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import httpx

from changegate.adapters.github.auth import Credentials
from changegate.adapters.github.cache import ETagCache
from changegate.adapters.github.errors import GitHubError, TruncatedError
from changegate.adapters.github.http import Sleep, Transport, counters, labelled
from changegate.adapters.github.retry import RetryPolicy
from changegate.errors import ChangegateError

DEFAULT_API_URL = "https://api.github.com"
PER_PAGE = 100
MAX_PULL_FILES = 3000  # GitHub's documented cap on GET /repos/{o}/{r}/pulls/{n}/files
_PULL = "/repos/{owner}/{repo}/pulls/{number}"


class GitHubClient:
    """Async GitHub REST client; use as `async with GitHubClient(...) as gh:`.

    `http`: an httpx.AsyncClient to use (the caller closes it); by default the client makes and
    closes its own. `sleep`, `clock` and `jitter` are injectable for tests.
    """

    def __init__(
        self,
        auth: Credentials,
        *,
        base_url: str = DEFAULT_API_URL,
        http: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
        cache_entries: int = 2000,
        cache_bytes: int = 50_000_000,
        timeout: float = 30.0,
        requester: str = "changegate",
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.auth = auth
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout, follow_redirects=True)
        self.transport = Transport(
            self._http, base_url=base_url.rstrip("/"), requester=requester,
            policy=retry or RetryPolicy(), cache=ETagCache(cache_entries, max_bytes=cache_bytes),
            sleep=sleep, clock=clock, jitter=jitter,
        )

    def __repr__(self) -> str:
        return f"GitHubClient(base_url={self.base_url!r}, auth={self.auth!r}, calls={self.calls})"

    @property
    def base_url(self) -> str:
        return str(self.transport.base_url)

    @property
    def calls(self) -> int:
        """Every HTTP request made (retries, 304 revalidations and token requests included)."""
        return self.transport.calls

    @property
    def not_modified(self) -> int:
        return self.transport.not_modified

    @property
    def rate_limit_remaining(self) -> int | None:
        return self.transport.rate_limit_remaining

    @property
    def calls_by_endpoint(self) -> dict[str, int]:
        return dict(self.transport.calls_by_endpoint)

    def counters(self) -> dict[str, Any]:
        return counters(self.transport)

    async def __aenter__(self) -> GitHubClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # -- the port --------------------------------------------------------------------------------
    async def get_pull(self, repo: str, number: int) -> dict[str, Any]:
        return dict(await self._get("get_pull", repo, _PULL, number=number))

    async def list_pull_files(
        self, repo: str, number: int, *, changed_files: int | None = None
    ) -> list[dict[str, Any]]:
        """All files of the PR. `changed_files` (the PR object's count) saves a GET of the PR."""
        if changed_files is None:
            changed_files = int((await self.get_pull(repo, number)).get("changed_files", 0))
        files = await self._pages("list_pull_files", repo, _PULL + "/files", number=number)
        if len(files) >= MAX_PULL_FILES or len(files) < changed_files:
            listed = f"{len(files):,} of the {changed_files:,}" if changed_files > len(files) else f"{len(files):,}"
            raise TruncatedError(
                f"GitHub listed {listed} files changed by {repo}#{number} (its API returns at most "
                f"{MAX_PULL_FILES:,}), so the file list may be truncated and no verdict can be trusted: "
                "split the pull request, or have it reviewed by hand"
            )
        return files

    async def list_reviews(self, repo: str, number: int) -> list[dict[str, Any]]:
        return await self._pages("list_reviews", repo, _PULL + "/reviews", number=number)

    async def list_pull_commits(self, repo: str, number: int) -> list[dict[str, Any]]:
        return await self._pages("list_pull_commits", repo, _PULL + "/commits", number=number)

    async def list_check_runs(self, repo: str, sha: str) -> list[dict[str, Any]]:
        return await self._pages(
            "list_check_runs", repo, "/repos/{owner}/{repo}/commits/{ref}/check-runs",
            key="check_runs", ref=sha,
        )

    async def list_statuses(self, repo: str, sha: str) -> list[dict[str, Any]]:
        return await self._pages(
            "list_statuses", repo, "/repos/{owner}/{repo}/commits/{ref}/status", key="statuses", ref=sha
        )

    async def get_file_text(self, repo: str, path: str, *, ref: str) -> str | None:
        """The file's text at `ref` (a branch, tag or sha; "" for the default branch), None if
        it does not exist."""
        template = "/repos/{owner}/{repo}/contents/{+path}{?ref}"
        refs = {"ref": ref} if ref else {}
        try:
            found = await self._get("get_file_text", repo, template, path=path.lstrip("/"), **refs)
        except GitHubError as error:
            if error.status == 404:
                return None
            raise
        return _decode_file(found, f"{repo}:{path}@{ref}")

    async def list_team_members(self, org: str, team_slug: str) -> list[str] | None:
        template = "/orgs/{org}/teams/{team_slug}/members"
        try:
            members = await self._pages(
                "list_team_members", None, template, owner=org, org=org, team_slug=team_slug
            )
        except GitHubError as error:
            if error.status == 404:
                return None
            raise
        return [str(member["login"]) for member in members]

    async def list_open_pulls(self, repo: str, *, base: str | None = None) -> list[dict[str, Any]]:
        extra = {"base": base} if base else {}
        return await self._pages(
            "list_open_pulls", repo, "/repos/{owner}/{repo}/pulls", query="state,base", state="open", **extra
        )

    async def pulls_for_commit(self, repo: str, sha: str) -> list[dict[str, Any]]:
        return await self._pages("pulls_for_commit", repo, "/repos/{owner}/{repo}/commits/{sha}/pulls", sha=sha)

    async def create_check_run(self, repo: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return dict(await self._send("create_check_run", "POST", repo, "/repos/{owner}/{repo}/check-runs", body))

    async def update_check_run(self, repo: str, check_run_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        template = "/repos/{owner}/{repo}/check-runs/{check_run_id}"
        return dict(await self._send("update_check_run", "PATCH", repo, template, body, check_run_id=check_run_id))

    async def review_deployment_protection_rule(self, repo: str, run_id: int, body: Mapping[str, Any]) -> None:
        template = "/repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule"
        await self._send("review_deployment_protection_rule", "POST", repo, template, body, run_id=run_id)

    # -- plumbing --------------------------------------------------------------------------------
    async def _get(self, operation: str, repo: str, template: str, **url_vars: Any) -> Any:
        owner, url_vars = _repo_vars(repo, url_vars)
        with labelled(endpoint=f"GET {template}", operation=operation):
            token = await self.auth.token(self.transport, owner=owner, repo=repo)
            return await self.transport.getitem(template, url_vars, oauth_token=token)

    async def _pages(
        self, operation: str, repo: str | None, template: str, *, key: str | None = None,
        query: str = "", **url_vars: Any,
    ) -> list[Any]:
        owner, url_vars = _repo_vars(repo, url_vars)
        url = f"{template}{{?{query + ',' if query else ''}per_page}}"
        with labelled(endpoint=f"GET {template}", operation=operation):
            token = await self.auth.token(self.transport, owner=owner, repo=repo)
            pages = self.transport.getiter(
                url, {**url_vars, "per_page": PER_PAGE}, oauth_token=token, iterable_key=key
            )
            return [item async for item in pages]

    async def _send(
        self, operation: str, method: str, repo: str, template: str, body: Mapping[str, Any], **url_vars: Any
    ) -> Any:
        owner, url_vars = _repo_vars(repo, url_vars)
        send = self.transport.post if method == "POST" else self.transport.patch
        with labelled(endpoint=f"{method} {template}", operation=operation):
            token = await self.auth.token(self.transport, owner=owner, repo=repo)
            result = await send(template, url_vars, data=dict(body), oauth_token=token)
        return {} if result is None else result


def _repo_vars(repo: str | None, url_vars: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The account that owns the call, and the URL variables with `owner`/`repo` filled in."""
    if repo is None:
        return str(url_vars.pop("owner")), url_vars
    owner, slash, name = repo.partition("/")
    if not (owner and slash and name) or "/" in name:
        raise ChangegateError(f"{repo!r} is not a repository name: use OWNER/NAME, e.g. octo-org/service")
    return owner, {**url_vars, "owner": owner, "repo": name}


def _decode_file(found: Any, where: str) -> str:
    if not isinstance(found, dict) or found.get("type", "file") != "file":
        raise ChangegateError(f"{where} is not a file (GitHub returned a {_kind(found)}): name a file")
    if found.get("encoding") != "base64":
        raise ChangegateError(f"{where} is too large for GitHub's contents API (encoding {found.get('encoding')!r}): keep it under 1 MB")
    try:
        return base64.b64decode(str(found.get("content", ""))).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise ChangegateError(f"{where} is not UTF-8 text: {error}") from error


def _kind(found: Any) -> str:
    return "directory listing" if isinstance(found, list) else str(found.get("type", "non-file")) if isinstance(found, dict) else "non-file"
