"""Access tokens: the ES256 signing key, JWT issuing, and the JWKS that verifies them."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

log = logging.getLogger(__name__)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class PublicJwk:
    """One public key in JWK form (RFC 7517)."""

    kty: str
    crv: str
    x: str
    y: str
    kid: str
    alg: str = "ES256"
    use: str = "sig"


class SigningKey:
    """A P-256 private key and its public JWK; `kid` is the RFC 7638 thumbprint."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise ValueError("the JWT signing key must be an EC P-256 key (ES256)")
        self.private_key = private_key
        numbers = private_key.public_key().public_numbers()
        x = _b64url(numbers.x.to_bytes(32, "big"))
        y = _b64url(numbers.y.to_bytes(32, "big"))
        thumbprint_input = json.dumps(
            {"crv": "P-256", "kty": "EC", "x": x, "y": y}, separators=(",", ":"), sort_keys=True
        )
        kid = _b64url(hashlib.sha256(thumbprint_input.encode()).digest())
        self.public_jwk = PublicJwk(kty="EC", crv="P-256", x=x, y=y, kid=kid)

    @property
    def kid(self) -> str:
        return self.public_jwk.kid

    @classmethod
    def load_or_create(cls, path: Path, *, create: bool) -> SigningKey:
        """Loads the PEM key at `path`; creates it first (mode 0600) if allowed and missing.

        Creation is atomic (write a temp file, then hard-link it into place),
        so replicas starting together agree on one key.
        """
        if not path.exists():
            if not create:
                raise FileNotFoundError(f"JWT signing key {path} does not exist (and key creation is off)")
            path.parent.mkdir(parents=True, exist_ok=True)
            key = ec.generate_private_key(ec.SECP256R1())
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".jwt-key-")
            try:
                os.write(fd, pem)
                os.close(fd)
                try:
                    os.link(tmp, path)
                    log.info("created JWT signing key %s", path)
                except FileExistsError:
                    pass  # another replica won the race; use its key
            finally:
                os.unlink(tmp)
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path} is not an EC private key")
        return cls(loaded)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int


class KeySource(Protocol):
    """Where the keys come from: one key (SingleKey), or a rotating directory (svc_user.keyring.KeyRing)."""

    def signing_key(self, now: dt.datetime) -> SigningKey: ...

    def published(self, now: dt.datetime) -> list[PublicJwk]: ...


class SingleKey:
    """One key that signs and verifies forever (tests and tools)."""

    def __init__(self, key: SigningKey) -> None:
        self.key = key

    def signing_key(self, now: dt.datetime) -> SigningKey:
        return self.key

    def published(self, now: dt.datetime) -> list[PublicJwk]:
        return [self.key.public_jwk]


class TokenIssuer:
    """Signs access tokens for users, with the key current at the time of issue."""

    def __init__(self, keys: SigningKey | KeySource, *, issuer: str, audience: str, ttl_seconds: int) -> None:
        self.keys: KeySource = SingleKey(keys) if isinstance(keys, SigningKey) else keys
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds

    def issue(self, subject: str, now: dt.datetime, claims: dict[str, Any] | None = None) -> IssuedToken:
        payload = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(now.timestamp()) + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
            **(claims or {}),
        }
        key = self.keys.signing_key(now)
        token = jwt.encode(payload, key.private_key, algorithm="ES256", headers={"kid": key.kid})
        return IssuedToken(token, self.ttl_seconds)

    def jwks(self, now: dt.datetime | None = None) -> list[PublicJwk]:
        """Every key that may verify a live token."""
        return self.keys.published(now or dt.datetime.now(dt.UTC))
