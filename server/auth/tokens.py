"""Signed bearer tokens: HS256, expiring, revocable through the user's token version."""

from __future__ import annotations

import datetime as dt

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


def decode_token(token: str) -> tuple[int, int]:
    """(user_id, token_version) from a token, or TokenInvalid('expired'|'invalid')."""
    now = utcnow().replace(tzinfo=dt.UTC).timestamp()
    try:
        claims = jwt.decode(
            token,
            current_app.config["SECRET_KEY"],
            algorithms=[ALGORITHM],
            audience=_audience(),
            issuer="fengchao",
            options={
                "require": ["sub", "ver", "exp", "iat"],
                # exp is checked below against our clock (which tests can move), not here
                "verify_exp": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise TokenInvalid("invalid") from exc
    if claims["exp"] <= now:  # checked against our clock, which tests can move
        raise TokenInvalid("expired")
    try:
        return int(claims["sub"]), int(claims["ver"])
    except (TypeError, ValueError) as exc:
        raise TokenInvalid("invalid") from exc
