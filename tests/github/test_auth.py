"""App JWT claims and key handling, without the network."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from changegate.adapters.github.auth import AppAuth, TokenAuth, app_jwt_claims
from changegate.errors import ChangegateError

NOW = 1_700_000_000.0


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_claims_backdate_iat_and_expire_within_ten_minutes() -> None:
    claims = app_jwt_claims("123", now=NOW)
    assert claims == {"iat": int(NOW) - 60, "exp": int(NOW) + 540, "iss": "123"}
    assert claims["exp"] - NOW <= 600


def test_jwt_is_rs256_signed_with_the_app_key(rsa_key: rsa.RSAPrivateKey) -> None:
    auth = AppAuth(app_id="42", private_key=pem(rsa_key), clock=lambda: NOW)
    token = auth.jwt()
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(
        token, rsa_key.public_key(), algorithms=["RS256"], options={"verify_exp": False, "verify_iat": False}
    )
    assert claims == {"iat": int(NOW) - 60, "exp": int(NOW) + 540, "iss": "42"}


def test_reprs_hide_secrets(rsa_key: rsa.RSAPrivateKey) -> None:
    key = pem(rsa_key)
    auth = AppAuth(app_id="42", private_key=key, installation_id=7, clock=lambda: NOW)
    assert "PRIVATE" not in repr(auth) and "MII" not in repr(auth)
    assert "ghp_secret" not in repr(TokenAuth("ghp_secret"))


def test_bad_keys_are_refused_without_echoing_them() -> None:
    with pytest.raises(ChangegateError, match="cannot be loaded") as caught:
        AppAuth(app_id="1", private_key="-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n", clock=lambda: NOW)
    assert "nope" not in str(caught.value)
    with pytest.raises(ChangegateError, match="not an RSA key"):
        AppAuth(app_id="1", private_key=pem(ec.generate_private_key(ec.SECP256R1())), clock=lambda: NOW)
    with pytest.raises(ChangegateError, match="empty"):
        TokenAuth("  ")
