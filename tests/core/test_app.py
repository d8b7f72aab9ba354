"""What the app factory sets up for every request, beyond the domains."""

from __future__ import annotations

import pytest
from flask import session
from flask.sessions import NullSession
from redis.utils import HIREDIS_AVAILABLE


def test_no_cookie_sessions(app, client, login):
    """Bearer tokens only: no request opens, or answers with, a cookie session."""
    headers = login("rider")
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    with app.test_request_context("/api/v1/me"):
        assert isinstance(session, NullSession)
        with pytest.raises(RuntimeError):
            session["user_id"] = 1  # nothing can be stored in a cookie by mistake


def test_redis_replies_are_parsed_by_hiredis():
    """GEO searches and pipelines answer with many small items: parsed in C (bench/README.md)."""
    assert HIREDIS_AVAILABLE
