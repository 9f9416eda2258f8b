"""The GitHub adapter: an async REST client on gidgethub + httpx (see `http.py` for why)."""

from changegate.adapters.github.auth import AppAuth, Credentials, TokenAuth, app_jwt_claims
from changegate.adapters.github.client import MAX_PULL_FILES, GitHubClient
from changegate.adapters.github.errors import GitHubError, RateLimitError, TruncatedError
from changegate.adapters.github.factory import github_from_env, github_from_settings
from changegate.adapters.github.retry import RetryPolicy

__all__ = [
    "MAX_PULL_FILES",
    "AppAuth",
    "Credentials",
    "GitHubClient",
    "GitHubError",
    "RateLimitError",
    "RetryPolicy",
    "TokenAuth",
    "TruncatedError",
    "app_jwt_claims",
    "github_from_env",
    "github_from_settings",
]
