"""Signed user tokens (JWT) for ``AUTH_MODE=token``, used by the gateway and the notifier.

A token's ``sub`` is the user id; ``exp`` is required. HS256 with a shared secret, or RS256/ES256
with a public key for verification (the private key stays with whoever mints tokens).

Mint one for an operator or a test::

    python -m shared.auth mint --user alice --ttl 3600
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import jwt

from shared.config import Settings, load_settings

LEEWAY_SECONDS = 5
MAX_TOKEN_LEN = 4096


class AuthError(Exception):
    """The token is missing, malformed, forged, expired or for someone else."""


@dataclass(frozen=True)
class Identity:
    user_id: str
    expires_at: float


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        self.algorithm = settings.auth_algorithm
        self.issuer = settings.auth_issuer
        if settings.auth_public_key_file:
            self.key: str | bytes = Path(settings.auth_public_key_file).read_bytes()
        else:
            self.key = settings.auth_secret

    def verify(self, token: str | None) -> Identity:
        if not token:
            raise AuthError("a token is required")
        if len(token) > MAX_TOKEN_LEN:
            raise AuthError("token too long")
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=[self.algorithm],  # never "none", never a different family
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["sub", "exp", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("token expired") from exc
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid token: {exc}") from exc
        sub = claims["sub"]
        if not isinstance(sub, str) or not sub:
            raise AuthError("token subject must be a user id")
        return Identity(user_id=sub, expires_at=float(claims["exp"]))


def bearer(header_value: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None when absent or empty."""
    if not header_value:
        return None
    scheme, _, token = header_value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def mint(settings: Settings, user_id: str, ttl_seconds: int = 3600) -> str:
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + ttl_seconds, "iss": settings.auth_issuer}
    if settings.auth_algorithm == "HS256":
        key: str | bytes = settings.auth_secret
    else:
        if not settings.auth_private_key_file:
            raise AuthError("AUTH_PRIVATE_KEY_FILE is needed to mint asymmetric tokens")
        key = Path(settings.auth_private_key_file).read_bytes()
    if not key:
        raise AuthError("no signing key configured (AUTH_SECRET or AUTH_PRIVATE_KEY_FILE)")
    return jwt.encode(claims, key, algorithm=settings.auth_algorithm)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.auth", description="Mint user tokens.")
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("mint", help="print a signed token for a user")
    m.add_argument("--user", required=True)
    m.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    args = parser.parse_args()
    print(mint(load_settings(), args.user, args.ttl))


if __name__ == "__main__":
    main()
