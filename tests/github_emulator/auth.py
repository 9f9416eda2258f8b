"""Who may call: configured tokens, installation tokens the emulator issued (they expire), and
GitHub App JWTs (RS256, checked with the App's public key) on the endpoints that take one."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterable, Mapping

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .state import GitHubState

# Endpoints GitHub answers only for an App's JWT.
JWT_PATHS = re.compile(r"^/app(/.*)?$|^/repos/[^/]+/[^/]+/installation$|^/(orgs|users)/[^/]+/installation$")


@functools.cache
def app_keypair() -> tuple[str, str]:
    """A test GitHub App's RSA key pair as PEM (private, public), made once per session."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


def app_jwt(app_id: int | str, private_key: str | None = None, *, now: float | None = None) -> str:
    """A JWT as GitHub wants it from an App: iat 60 s in the past, exp at most 10 minutes on."""
    issued = int(now if now is not None else time.time()) - 60
    payload = {"iat": issued, "exp": issued + 600, "iss": str(app_id)}
    return jwt.encode(payload, private_key or app_keypair()[0], algorithm="RS256")


class Authenticator:
    def __init__(self, state: GitHubState, tokens: Mapping[str, str] | Iterable[str], *,
                 app_id: int, app_public_key: str | None) -> None:
        self.state = state
        self.tokens = dict(tokens) if isinstance(tokens, Mapping) else dict.fromkeys(tokens, "octocat")
        self.app_id = app_id
        self.app_public_key = app_public_key or app_keypair()[1]

    def identify(self, path: str, header: str | None) -> tuple[str | None, str]:
        """(login of the caller or None when refused, GitHub's message for the refusal)."""
        scheme, _, credential = (header or "").partition(" ")
        if scheme.lower() not in ("bearer", "token") or not credential.strip():
            return None, "Requires authentication"
        credential = credential.strip()
        if JWT_PATHS.match(path):
            return self._jwt(credential)
        if credential in self.tokens:
            return self.tokens[credential], ""
        if self.state.token_valid(credential):
            return "changegate[bot]", ""
        return None, "Bad credentials"

    def _jwt(self, credential: str) -> tuple[str | None, str]:
        try:
            claims = jwt.decode(credential, self.app_public_key, algorithms=["RS256"],
                                options={"require": ["iat", "exp", "iss"]}, leeway=60)
        except jwt.PyJWTError as error:
            return None, f"A JSON web token could not be decoded ({error})"
        if str(claims["iss"]) != str(self.app_id):
            return None, f"Integration not found for iss {claims['iss']!r}"
        if claims["exp"] - claims["iat"] > 660:
            return None, "'Expiration time' claim ('exp') is too far in the future"
        return f"app/{self.app_id}", ""
