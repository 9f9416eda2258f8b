"""Credentials: a fixed token, or a GitHub App's installation tokens minted from a JWT.

App flow (GitHub docs "Authenticating as a GitHub App installation"): sign a JWT with the App's
private key (RS256; iat 60 s in the past for clock drift; exp at most 10 minutes ahead; iss the
App id), find the installation (configured, or GET /repos/{o}/{r}/installation, or GET
/orgs/{org}/installation for team lookups), then POST /app/installations/{id}/access_tokens.
Installation tokens are reused until `refresh_margin` seconds before their `expires_at`.
Secrets never appear in a repr.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from changegate.adapters.github.http import Transport, labelled
from changegate.errors import ChangegateError

JWT_BACKDATE = 60
JWT_LIFETIME = 9 * 60  # GitHub refuses exp more than 10 minutes ahead; keep a minute spare


class Credentials(Protocol):
    kind: str

    async def token(self, transport: Transport, *, owner: str, repo: str | None) -> str:
        """The token to send for a call on `owner` (and `repo`, "owner/name", when known)."""
        ...


class TokenAuth:
    """A personal access token, fine-grained token or Actions GITHUB_TOKEN."""

    kind = "token"

    def __init__(self, token: str) -> None:
        if not token.strip():
            raise ChangegateError("the GitHub token is empty: set CHANGEGATE_GITHUB_TOKEN or GITHUB_TOKEN")
        self._token = token.strip()

    def __repr__(self) -> str:
        return "TokenAuth(token=***)"

    async def token(self, transport: Transport, *, owner: str, repo: str | None) -> str:  # noqa: ARG002
        return self._token


def app_jwt_claims(app_id: str, *, now: float) -> dict[str, Any]:
    """The claims GitHub expects in an App JWT, issued at `now` (epoch seconds)."""
    issued = int(now) - JWT_BACKDATE
    return {"iat": issued, "exp": int(now) + JWT_LIFETIME, "iss": app_id}


@dataclass(frozen=True)
class InstallationToken:
    token: str
    expires_at: float  # epoch seconds

    def __repr__(self) -> str:
        return f"InstallationToken(token=***, expires_at={self.expires_at})"


class AppAuth:
    """A GitHub App. `installation_id` pins the installation; otherwise it is looked up per
    account (through `repo` when given, e.g. the repository changegate was started for)."""

    kind = "app"

    def __init__(
        self,
        *,
        app_id: str,
        private_key: str,
        installation_id: int | None = None,
        repo: str | None = None,
        clock: Callable[[], float],
        refresh_margin: float = 300.0,
    ) -> None:
        self.app_id = app_id
        self._key = _load_rsa_key(private_key)
        self.installation_id = installation_id
        self._hints = {repo.split("/")[0].lower(): repo} if repo else {}
        self._clock = clock
        self.refresh_margin = refresh_margin
        self._installations: dict[str, int] = {}
        self._tokens: dict[int, InstallationToken] = {}
        self._lock = asyncio.Lock()
        self.tokens_issued = 0

    def __repr__(self) -> str:
        return f"AppAuth(app_id={self.app_id!r}, installation_id={self.installation_id}, private_key=***)"

    def jwt(self) -> str:
        """A freshly signed App JWT."""
        return jwt.encode(app_jwt_claims(self.app_id, now=self._clock()), self._key, algorithm="RS256")

    async def token(self, transport: Transport, *, owner: str, repo: str | None) -> str:
        async with self._lock:
            installation = await self._installation(transport, owner=owner, repo=repo)
            cached = self._tokens.get(installation)
            if cached is None or self._clock() >= cached.expires_at - self.refresh_margin:
                cached = await self._issue(transport, installation)
                self._tokens[installation] = cached
            return cached.token

    async def _installation(self, transport: Transport, *, owner: str, repo: str | None) -> int:
        if self.installation_id is not None:
            return self.installation_id
        account = owner.lower()
        if account not in self._installations:
            via = repo or self._hints.get(account)
            if via:
                template, url_vars = "/repos/{owner}/{repo}/installation", dict(zip(("owner", "repo"), via.split("/", 1), strict=True))
            else:
                template, url_vars = "/orgs/{org}/installation", {"org": owner}
            with labelled(endpoint=f"GET {template}"):
                found = await transport.getitem(template, url_vars, jwt=self.jwt())
            self._installations[account] = int(found["id"])
        return self._installations[account]

    async def _issue(self, transport: Transport, installation: int) -> InstallationToken:
        template = "/app/installations/{installation_id}/access_tokens"
        with labelled(endpoint=f"POST {template}"):
            issued = await transport.post(
                template, {"installation_id": installation}, data=b"", jwt=self.jwt()
            )
        self.tokens_issued += 1
        expires = dt.datetime.fromisoformat(str(issued["expires_at"]).replace("Z", "+00:00"))
        return InstallationToken(str(issued["token"]), expires.timestamp())


def _load_rsa_key(pem: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    except (ValueError, TypeError) as error:
        raise ChangegateError(
            "the GitHub App private key cannot be loaded (not an unencrypted PEM key): "
            "use the .pem file GitHub generated for the App"
        ) from error
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ChangegateError("the GitHub App private key is not an RSA key: GitHub Apps sign with RS256")
    return key
