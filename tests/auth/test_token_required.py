"""`token_required`: a hot view checks the token up front and reads the caller's principal
record in its own first Redis round trip (server/auth/guards.py)."""

from __future__ import annotations

import pytest

from server.auth import guards
from server.errors import Unauthorized
from server.extensions import get_redis


def _view(accept: bool):
    @guards.token_required
    def view():
        claims = guards.token_claims()
        if accept:
            claims.accept(get_redis().get(claims.principal_key()))
        return "ok"

    return view


def test_a_view_that_answers_without_accepting_a_principal_is_refused(app, login):
    auth = login("rider")
    with (
        app.test_request_context(headers=auth),
        pytest.raises(RuntimeError, match="without accepting a principal"),
    ):
        _view(accept=False)()
    with app.test_request_context(headers=auth):
        assert _view(accept=True)() == "ok"
        assert guards.current_principal().id == auth.user_id  # as login_required leaves it


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "auth.required"),
        ({"Authorization": "Bearer not-a-token"}, "auth.token_invalid"),
    ],
)
def test_the_token_is_checked_before_the_view_runs(app, headers, code):
    ran = []

    @guards.token_required
    def view():
        ran.append(1)

    with app.test_request_context(headers=headers), pytest.raises(Unauthorized) as refused:
        view()
    assert refused.value.code == code and ran == []


def test_a_revoked_token_is_refused_when_the_record_is_accepted(app, client, login):
    auth = login("rider")
    assert client.post("/api/v1/auth/logout", headers=auth).status_code == 204
    with app.test_request_context(headers=auth), pytest.raises(Unauthorized) as refused:
        _view(accept=True)()
    assert refused.value.code == "auth.token_revoked"


def test_a_record_missing_from_redis_is_read_from_the_database(app, login):
    auth = login("rider")
    get_redis().flushdb()
    with app.test_request_context(headers=auth):
        assert _view(accept=True)() == "ok"
    assert get_redis().exists(f"auth:p:{auth.user_id}")  # filled as `get` fills it
