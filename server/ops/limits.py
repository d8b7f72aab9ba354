"""Rate-limit values from settings, for `@limiter.limit(rate_limit("LOGIN"))`.

Each limit is read per request from the app config key `RATE_LIMIT_<NAME>`, which comes from
the environment variable of the same name (see .env.example), so an operator changes a limit
by setting it and restarting. The value is Flask-Limiter's notation: "10/minute",
"30/minute;300/hour".

The test suite logs many users in from one address (127.0.0.1), so under TESTING the
defaults are lifted unless the variable or config key is set explicitly.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from flask import current_app

# name -> production default. Domains add theirs here (one line) or pass a default.
DEFAULTS: dict[str, str] = {
    "LOGIN": "10/minute",
    "UPLOAD": "60/minute",
    "REPORT": "10/minute",
    "CALLBACK": "600/minute",
    # per user: each phone lookup is billed by WeChat, and a rider binds a phone once
    "PHONE": "5/minute;20/day",
    # per user: redeeming staff invitation codes (a person has one or two, ever)
    "STAFF_BINDING": "10/minute;50/day",
}
TESTING_LIMIT = "10000/minute"


def rate_limit_value(name: str, default: str | None = None) -> str:
    """The limit `RATE_LIMIT_<NAME>` in force now (config, then environment, then default)."""
    key = f"RATE_LIMIT_{name.upper()}"
    explicit = current_app.config.get(key) or os.environ.get(key)
    if explicit:
        return explicit
    if current_app.testing:
        return TESTING_LIMIT
    return default or DEFAULTS.get(name.upper()) or "60/minute"


def rate_limit(name: str, default: str | None = None) -> Callable[[], str]:
    """A callable limit for `limiter.limit(...)`, read on every request."""

    def _value() -> str:
        return rate_limit_value(name, default)

    _value.__name__ = f"rate_limit_{name.lower()}"
    return _value
