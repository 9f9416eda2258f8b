"""A small Cloudflare Workers API client on httpx: deployments, versions, GraphQL analytics.

Our own client rather than the `cloudflare` SDK, which mis-reads exactly these endpoints
(reference/cloudflare.md §4). Every answer's envelope is checked (`success`, `errors`), GraphQL's
`errors` too (it answers HTTP 200 on errors). 5xx, 429 and network errors are retried a bounded
number of times; creating a deployment is retried too, because repeating it sets the same
versions at the same percentages. The token is sent only in the Authorization header and never
appears in a repr, log line or error.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from changegate import __version__
from changegate.core.verification import Traffic
from changegate.errors import ChangegateError
from changegate.settings import CloudflareSettings, cloudflare_settings

log = logging.getLogger("changegate.cloudflare")

SECRETS_CHANGED = 10220
WORKER_NOT_FOUND = (10007, 10090)
MESSAGE_LIMIT_BYTES = 100
_SECRETS_TEXT = "The following secrets have changed:"
_GRAPHQL_LIMIT = 10_000
TRAFFIC_QUERY = """
query GetWorkersAnalytics($accountTag: string, $datetimeStart: string, $datetimeEnd: string, $scriptName: string) {
  viewer { accounts(filter: {accountTag: $accountTag}) {
    workersInvocationsAdaptive(limit: %d, filter: {
        scriptName: $scriptName, datetime_geq: $datetimeStart, datetime_leq: $datetimeEnd }) {
      sum { requests errors subrequests }
      dimensions { scriptName status }
    } } } }
""" % _GRAPHQL_LIMIT  # noqa: UP031 (the braces make str.format awkward)


class CloudflareAPIError(ChangegateError):
    """The Cloudflare API refused a request or could not be reached. `codes`: the API's error
    codes (first one also as `code`); `status`: the HTTP status (None: no answer);
    `changed_secrets`: for 10220, the secret names parsed from the message."""

    def __init__(self, message: str, *, codes: tuple[int, ...] = (), status: int | None = None) -> None:
        super().__init__(message)
        self.codes = codes
        self.status = status
        self.changed_secrets: tuple[str, ...] = ()

    @property
    def code(self) -> int | None:
        return self.codes[0] if self.codes else None

    @property
    def secrets_changed(self) -> bool:
        return SECRETS_CHANGED in self.codes

    @property
    def worker_not_found(self) -> bool:
        return any(code in WORKER_NOT_FOUND for code in self.codes)


@dataclass(frozen=True)
class Retry:
    """`attempts` counts the first try; waits are `backoff * 2**n` seconds, at most `cap`."""

    attempts: int = 4
    backoff: float = 0.5
    cap: float = 8.0

    def delay(self, attempt: int) -> float:
        return float(min(self.cap, self.backoff * 2 ** (attempt - 1)))


def truncate_message(message: str, limit: int = MESSAGE_LIMIT_BYTES) -> str:
    """`message` cut to at most `limit` UTF-8 bytes, never inside a character."""
    return message.encode("utf-8")[:limit].decode("utf-8", "ignore")


def changed_secrets(text: str) -> tuple[str, ...]:
    """The names in "... The following secrets have changed: A, B" (wrangler's parsing)."""
    at = text.find(_SECRETS_TEXT)
    if at < 0:
        return ()
    tail = re.sub(r"\s*\[code: \d+\]\s*$", "", text[at + len(_SECRETS_TEXT):]).strip().rstrip(".")
    return tuple(name.strip() for name in tail.split(",") if name.strip())


def percentage(value: float) -> int | float:
    """100.0 is sent as 100, as wrangler does."""
    return int(value) if float(value).is_integer() else value


class CloudflareClient:
    """One account's Workers API. Use `CloudflareClient.from_env()`; close it (or use `with`)."""

    def __init__(
        self,
        settings: CloudflareSettings,
        *,
        client: httpx.Client | None = None,
        retry: Retry = Retry(),
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
    ) -> None:
        self.settings = settings
        self.retry = retry
        self._sleep = sleep
        self._owns_client = client is None
        self._http = client or httpx.Client(timeout=timeout)
        self._headers = {"Authorization": f"Bearer {settings.token}", "User-Agent": f"changegate/{__version__}"}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> CloudflareClient:
        """Settings from CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_BASE_URL."""
        return cls(cloudflare_settings(environ), **options)

    def __repr__(self) -> str:
        return f"CloudflareClient(account_id={self.settings.account_id!r}, api_base_url={self.settings.api_base_url!r})"

    def close(self) -> None:
        if self._owns_client:
            self._http.close()

    def __enter__(self) -> CloudflareClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- deployments and versions ----------------------------------------------------------------

    def list_deployments(self, script: str) -> list[dict[str, Any]]:
        """The script's deployments, newest first (the first one serves traffic now)."""
        result = self._call("GET", self._script_path(script, "deployments"))
        deployments = result.get("deployments") if isinstance(result, dict) else None
        if not isinstance(deployments, list):
            raise CloudflareAPIError(f"Cloudflare API: the deployments of {script} came without result.deployments: is CLOUDFLARE_API_BASE_URL the Workers API (.../client/v4)?")
        return [d for d in deployments if isinstance(d, dict)]

    def get_version(self, script: str, version_id: str) -> dict[str, Any]:
        result = self._call("GET", self._script_path(script, f"versions/{quote(version_id, safe='')}"))
        return result if isinstance(result, dict) else {}

    def create_deployment(
        self, script: str, *, versions: list[tuple[str, float]], message: str, force: bool = False
    ) -> dict[str, Any]:
        """Deploy `versions` ([(version id, percentage)], one or two, adding up to 100): a
        rollback, a split or a promotion. `force` deploys past changed secrets (10220)."""
        check_split(versions)
        body = {
            "strategy": "percentage",
            "versions": [{"version_id": vid, "percentage": percentage(p)} for vid, p in versions],
            "annotations": {"workers/message": truncate_message(message)},
        }
        params = {"force": "true"} if force else None
        result = self._call("POST", self._script_path(script, "deployments"), json=body, params=params)
        return result if isinstance(result, dict) else {}

    def current_version(self, script: str) -> str | None:
        """The version at 100% in the newest deployment; None when the newest deployment is a
        split, or the Worker has no deployment (or does not exist yet)."""
        deployments = self._deployments_or_none(script)
        return full_version(deployments[0]) if deployments else None

    def previous_full_version(self, script: str) -> str | None:
        """The rollback target, by `wrangler rollback`'s rule: deployments newest first (by
        `created_on`), drop the current one, the first with a version at exactly 100%."""
        deployments = sorted(self._deployments_or_none(script) or [], key=lambda d: str(d.get("created_on", "")), reverse=True)
        return next((v for v in map(full_version, deployments[1:]) if v), None)

    def _deployments_or_none(self, script: str) -> list[dict[str, Any]] | None:
        try:
            return self.list_deployments(script)
        except CloudflareAPIError as error:
            if error.worker_not_found:
                return None
            raise

    # -- analytics -------------------------------------------------------------------------------

    def traffic(self, script: str, *, start: dt.datetime, end: dt.datetime) -> Traffic:
        """Σrequests and Σerrors of `workersInvocationsAdaptive` for `script` in [start, end]
        (naive datetimes are taken as UTC). Errors are invocation failures, not 5xx answers."""
        variables = {"accountTag": self.settings.account_id, "scriptName": script,
                     "datetimeStart": graphql_time(start), "datetimeEnd": graphql_time(end)}
        response = self._send("POST", f"{self.settings.api_base_url}/graphql", json={"query": TRAFFIC_QUERY, "variables": variables})
        return parse_traffic(response, script=script)

    # -- HTTP ------------------------------------------------------------------------------------

    def _script_path(self, script: str, rest: str) -> str:
        account = quote(self.settings.account_id, safe="")
        return f"/accounts/{account}/workers/scripts/{quote(script, safe='')}/{rest}"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, self.settings.api_base_url + path, **kwargs)
        return parse_envelope(response, method=method, path=path)

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        shown = f"{method} {url.removeprefix(self.settings.api_base_url) or url}"
        for attempt in range(1, self.retry.attempts + 1):
            last = attempt == self.retry.attempts
            try:
                response = self._http.request(method, url, headers=self._headers, **kwargs)
            except httpx.TransportError as error:
                if last:
                    raise CloudflareAPIError(f"Cloudflare API {shown} failed after {attempt} attempt(s): {type(error).__name__}: {error}; check CLOUDFLARE_API_BASE_URL ({self.settings.api_base_url}) and the network") from error
                log.warning("Cloudflare API %s: %s, retrying", shown, type(error).__name__)
            else:
                if (response.status_code < 500 and response.status_code != 429) or last:
                    return response
                log.warning("Cloudflare API %s: HTTP %d, retrying", shown, response.status_code)
            self._sleep(self.retry.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover


def check_split(versions: list[tuple[str, float]]) -> None:
    total = sum(p for _, p in versions)
    if not 1 <= len(versions) <= 2 or abs(total - 100) > 1e-9 or any(not 0 < p <= 100 for _, p in versions):
        shown = ", ".join(f"{vid}@{p:g}%" for vid, p in versions) or "none"
        raise ChangegateError(f"a deployment needs one or two versions whose percentages add up to 100, got {shown}: check the service's rollout steps")


def full_version(deployment: Mapping[str, Any]) -> str | None:
    versions = deployment.get("versions")
    for version in versions if isinstance(versions, list) else []:
        if isinstance(version, dict) and version.get("percentage") == 100 and isinstance(version.get("version_id"), str):
            return str(version["version_id"])
    return None


def graphql_time(moment: dt.datetime) -> str:
    utc = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def parse_envelope(response: httpx.Response, *, method: str, path: str) -> Any:
    """`result` of a successful envelope, else a CloudflareAPIError with the API's codes."""
    body = _json(response)
    if isinstance(body, dict) and body.get("success") is True and response.is_success:
        return body.get("result")
    errors = [e for e in (body.get("errors") or []) if isinstance(e, dict)] if isinstance(body, dict) else []
    codes = tuple(int(e["code"]) for e in errors if isinstance(e.get("code"), int))
    text = "; ".join(f"{e.get('message', '')} [code: {e.get('code')}]" for e in errors) or (
        f"{response.text[:200]!r}" if body is None else "success is false and no errors given")
    error = CloudflareAPIError(f"Cloudflare API {method} {path} failed (HTTP {response.status_code}): {text}{_hint(codes, response.status_code)}",
                               codes=codes, status=response.status_code)
    error.changed_secrets = changed_secrets(" ".join(str(e.get("message", "")) for e in errors))
    raise error


def _hint(codes: tuple[int, ...], status: int) -> str:
    if any(code in WORKER_NOT_FOUND for code in codes):
        return " (the Worker does not exist: check the script name in the service's `scripts`)"
    if SECRETS_CHANGED in codes:
        return " (secrets changed since that version: deploying it needs force)"
    if status in (401, 403):
        return " (check that CLOUDFLARE_API_TOKEN is valid and may edit Workers and read analytics, and CLOUDFLARE_ACCOUNT_ID)"
    return ""


def parse_traffic(response: httpx.Response, *, script: str) -> Traffic:
    """Sum `workersInvocationsAdaptive` rows; any GraphQL error or odd shape raises (fail closed)."""
    body = _json(response)
    where = f"Cloudflare GraphQL analytics for {script}"
    if not isinstance(body, dict):
        raise CloudflareAPIError(f"{where}: HTTP {response.status_code}, not JSON: {response.text[:200]!r}", status=response.status_code)
    if body.get("errors"):
        messages = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in body["errors"])
        raise CloudflareAPIError(f"{where}: {messages} (the token needs Account Analytics: Read)", status=response.status_code)
    if not response.is_success:
        raise CloudflareAPIError(f"{where}: HTTP {response.status_code}", status=response.status_code)
    try:
        accounts = body["data"]["viewer"]["accounts"]
        rows = accounts[0]["workersInvocationsAdaptive"]
        requests = sum(int(row["sum"]["requests"]) for row in rows)
        errors = sum(int(row["sum"]["errors"]) for row in rows)
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise CloudflareAPIError(f"{where}: unexpected answer shape ({type(error).__name__}: {error}); is CLOUDFLARE_ACCOUNT_ID the right account?",
                                 status=response.status_code) from error
    if len(rows) >= _GRAPHQL_LIMIT:
        raise CloudflareAPIError(f"{where}: {len(rows)} rows, the query limit: the sums would be incomplete")
    return Traffic(requests=requests, errors=errors)
