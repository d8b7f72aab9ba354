"""Signed bearer tokens: HS256, expiring, revocable through the user's token version."""

from __future__ import annotations

import datetime as dt
import functools

import jwt
from flask import current_app

from server.clock import utcnow

ALGORITHM = "HS256"


def _audience() -> str:
    return "fengchao-" + current_app.config["FENGCHAO_ENV"]


def issue_token(user_id: int, token_version: int) -> tuple[str, dt.datetime]:
    """A token for the user and when it expires (UTC)."""
    now = utcnow()
    expires = now + dt.timedelta(seconds=current_app.config["TOKEN_TTL_SECONDS"])
    claims = {
        "sub": str(user_id),
        "ver": token_version,
        "iat": int(now.replace(tzinfo=dt.UTC).timestamp()),
        "exp": int(expires.replace(tzinfo=dt.UTC).timestamp()),
        "iss": "fengchao",
        "aud": _audience(),
    }
    return jwt.encode(claims, current_app.config["SECRET_KEY"], algorithm=ALGORITHM), expires


class TokenInvalid(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# Tokens whose signature and claims were checked, per process (a rider's mini-program sends
# the same token with every request for days): PyJWT's decode is ≈35–80 µs of pure Python.
# The expiry is checked on every use, against our clock, and revocation (the user's token
# version, active flag) on every request by the guards; the key and audience are part of
# the cache's key. Invalid tokens are not remembered: each is checked again. Bounded: LRU.
VERIFIED_TOKENS_CACHED = 4096


@functools.lru_cache(maxsize=VERIFIED_TOKENS_CACHED)
def _verified(token: str, key: str, audience: str) -> tuple[int, int, float]:
    """(user_id, token_version, expires at, POSIX seconds) of a well-signed token."""
    claims = jwt.decode(
        token,
        key,
        algorithms=[ALGORITHM],
        audience=audience,
        issuer="fengchao",
        options={
            "require": ["sub", "ver", "exp", "iat"],
            # exp is checked by the caller against our clock (which tests can move)
            "verify_exp": False,
            "verify_iat": False,
        },
    )
    return int(claims["sub"]), int(claims["ver"]), float(claims["exp"])


def decode_token(token: str) -> tuple[int, int]:
    """(user_id, token_version) from a token, or TokenInvalid('expired'|'invalid')."""
    try:
        user_id, version, expires = _verified(token, current_app.config["SECRET_KEY"], _audience())
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        raise TokenInvalid("invalid") from exc
    if expires <= utcnow().replace(tzinfo=dt.UTC).timestamp():  # our clock, every use
        raise TokenInvalid("expired")
    return user_id, version
