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


def test_what_orjson_cannot_write_the_standard_library_still_does(app):
    """An integer beyond 64 bits (in a stored JSON column, say) answers, not a 500."""
    import json

    with app.test_request_context():
        response = app.json.response({"big": 10**300, "name": "驿站"})
        assert json.loads(response.get_data()) == {"big": 10**300, "name": "驿站"}
        assert "驿站" in response.get_data(as_text=True)  # still UTF-8, not \u escapes
        assert json.loads(app.json.dumps([2**64])) == [2**64]


def test_json_answers_are_encoded_by_orjson_and_read_as_before(app):
    """Same JSON as Flask's standard-library provider, for everything our answers hold."""
    import datetime as dt
    import decimal
    import json
    import uuid
    from dataclasses import dataclass

    from flask.json.provider import DefaultJSONProvider

    from server.http import FastJSONProvider

    @dataclass
    class Point:
        lat: float
        lng: float

    sample = {
        "name": "小哥驿站（金水区）",
        "items": [1, 2.5, None, True, "a\u0000b", ("tuple", 1)],
        "when": dt.datetime(2026, 11, 22, 8, 30, tzinfo=dt.UTC),
        "day": dt.date(2026, 11, 22),
        "money": decimal.Decimal("12.50"),
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "point": Point(34.75, 113.62),
        7: "an int key",
    }
    assert isinstance(app.json, FastJSONProvider)
    standard = DefaultJSONProvider(app)
    standard.ensure_ascii, standard.sort_keys = False, False
    with app.test_request_context():
        ours, theirs = app.json.response(sample), standard.response(sample)
        assert json.loads(ours.get_data()) == json.loads(theirs.get_data())
        assert "小哥驿站".encode() in ours.get_data()  # UTF-8, not \\uXXXX
        assert ours.mimetype == "application/json"
        assert json.loads(app.json.dumps(sample)) == json.loads(standard.dumps(sample))
        assert app.json.dumps({"b": 1, "a": 2}) == '{"b":1,"a":2}'  # keys as built
        # json.dumps' own options still work (and mean what they mean there)
        assert app.json.dumps({"a": 1}, indent=2) == '{\n  "a": 1\n}'


def test_whether_a_function_is_a_coroutine_is_asked_once(app, monkeypatch):
    import inspect

    import server

    asked = []
    real = inspect.iscoroutinefunction
    monkeypatch.setattr(server.inspect, "iscoroutinefunction", lambda f: asked.append(f) or real(f))

    def hook():
        return None

    async def coroutine():
        return None

    monkeypatch.setattr(app, "async_to_sync", lambda func: ("wrapped", func))
    for _ in range(3):
        assert app.ensure_sync(hook) is hook
        assert app.ensure_sync(coroutine) == ("wrapped", coroutine)  # still made sync
    assert asked == [hook, coroutine]
