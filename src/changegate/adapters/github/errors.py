"""The GitHub adapter's errors: all ChangegateErrors, so the CLI reports them and exits 2."""

from __future__ import annotations

import http
import json
from collections.abc import Mapping
from typing import Any

from changegate.errors import ChangegateError

_HINTS = {
    401: "check the credentials: CHANGEGATE_GITHUB_TOKEN / GITHUB_TOKEN, or the App id and private key",
    403: "the token or GitHub App lacks a permission this call needs (or the resource is blocked)",
    404: "it does not exist, or these credentials cannot see it: is the GitHub App installed on the repository?",
    422: "GitHub rejected the request body",
}


class GitHubError(ChangegateError):
    """A GitHub API call failed: `status` (None for network errors), `method`, `url`,
    `operation` (the client method, e.g. "list_reviews") and GitHub's own `github_message`."""

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        method: str | None = None,
        url: str | None = None,
        status: int | None = None,
        github_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.operation = operation
        self.method = method
        self.url = url
        self.status = status
        self.github_message = github_message


class RateLimitError(GitHubError):
    """GitHub's rate limit is exhausted for longer than changegate is allowed to wait."""


class TruncatedError(ChangegateError):
    """GitHub returned an incomplete list (e.g. PR files stop at 3,000): fail closed."""


def response_error(
    *, operation: str, method: str, url: str, status: int, headers: Mapping[str, str], body: bytes
) -> GitHubError:
    """The error for a final non-2xx response, quoting GitHub's message and what to do."""
    github_message = _message(headers, body)
    phrase = _phrase(status)
    hint = _HINTS.get(status, "GitHub is failing; try again later" if status >= 500 else "")
    text = f"GitHub {operation}: {method} {url} returned {status} {phrase}"
    if github_message:
        text += f": {github_message}"
    if hint:
        text += f" ({hint})"
    return GitHubError(
        text, operation=operation, method=method, url=url, status=status, github_message=github_message
    )


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _message(headers: Mapping[str, str], body: bytes) -> str | None:
    if "json" not in headers.get("content-type", ""):
        text = body.decode("utf-8", "replace").strip()
        return text[:200] or None
    try:
        data: Any = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    message = str(data.get("message") or "")
    details = [_detail(error) for error in data.get("errors") or [] if _detail(error)]
    return "; ".join(filter(None, [message, *details])) or None


def _detail(error: Any) -> str:
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        return str(error.get("message") or " ".join(str(error.get(k, "")) for k in ("field", "code")).strip())
    return ""
