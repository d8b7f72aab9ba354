"""Login is rate limited per client address (RATE_LIMIT_LOGIN): the envelope and Retry-After."""

from __future__ import annotations

from server.ops.limits import rate_limit_value
from tests.conftest import login_code


def _login(client, n: int, **kwargs):
    return client.post(
        "/api/v1/auth/wechat-login", json={"code": login_code(f"o_limit_{n}")}, **kwargs
    )


def test_the_eleventh_login_in_a_minute_is_refused(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMIT_LOGIN", "10/minute")
    for n in range(10):
        assert _login(client, n).status_code == 200
    refused = _login(client, 10)
    assert refused.status_code == 429
    body = refused.get_json()
    assert body["code"] == "rate_limited"
    assert body["status"] == 429
    assert body["message"]
    assert int(refused.headers["Retry-After"]) > 0
    # another address is not affected
    other = _login(client, 11, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 200


def test_the_limit_is_read_from_the_environment(app, client, monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_LOGIN", "2/minute")
    assert rate_limit_value("LOGIN") == "2/minute"
    statuses = [_login(client, n).status_code for n in range(3)]
    assert statuses == [200, 200, 429]


def test_defaults_outside_tests(app, monkeypatch):
    monkeypatch.delenv("RATE_LIMIT_LOGIN", raising=False)
    monkeypatch.setattr(app, "testing", False)
    assert rate_limit_value("LOGIN") == "10/minute"
    assert rate_limit_value("UPLOAD") == "60/minute"
    assert rate_limit_value("SOMETHING_NEW", "5/minute") == "5/minute"


def test_behind_nginx_the_forwarded_address_is_the_key(tmp_path, app, monkeypatch):
    """With TRUSTED_PROXIES=1 two clients behind the same proxy have separate limits."""
    from tests.ops.helpers import other_app, session_env

    env = session_env(app, tmp_path)
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    with other_app(app, env) as proxied:
        proxied.config["RATE_LIMIT_LOGIN"] = "1/minute"
        http = proxied.test_client()

        def login(n, forwarded):
            return http.post(
                "/api/v1/auth/wechat-login",
                json={"code": login_code(f"o_proxy_{n}")},
                headers={"X-Forwarded-For": forwarded},
            ).status_code

        assert login(1, "203.0.113.7") == 200
        assert login(2, "203.0.113.8") == 200
        assert login(3, "203.0.113.7") == 429


def test_the_limiters_request_hook_runs_only_under_app_wide_limits(app):
    """Limits declared on views are checked by their wrappers; Flask-Limiter's per-request
    hook (for default/application limits) is dropped while none is configured."""
    from flask import Flask

    from server import _check_limits_only_where_declared
    from server.extensions import limiter

    hook = limiter._check_request_limit
    assert hook not in app.before_request_funcs[None]
    for config, kept in (({}, False), ({"RATELIMIT_DEFAULT": "100/minute"}, True)):
        other = Flask("other")
        other.config.update(config)
        other.before_request(hook)
        _check_limits_only_where_declared(other)
        assert (hook in other.before_request_funcs[None]) is kept


def test_the_limiters_response_hooks_run_only_for_requests_that_checked_a_limit(
    app, client, monkeypatch
):
    """Flask-Limiter's after_request (headers, Retry-After) and teardown run for a request
    whose view checked a limit and are skipped for any other: run, they would make its
    per-request state, which is what they look for (`_LIMITER_STATE`)."""
    from flask.globals import request_ctx

    from server import _LIMITER_STATE, _when_limiter_consulted

    with client:  # keeps the request's context for a look after the response
        assert client.get("/healthz").status_code == 200
        assert not hasattr(request_ctx._get_current_object(), _LIMITER_STATE)
    monkeypatch.setitem(app.config, "RATE_LIMIT_LOGIN", "10/minute")
    with client:
        ok = _login(client, 1)
        assert hasattr(request_ctx._get_current_object(), _LIMITER_STATE)
    assert ok.status_code == 200
    assert ok.headers["X-RateLimit-Limit"] == "10"  # the after_request ran
    assert ok.headers["X-RateLimit-Remaining"] == "9"
    assert _when_limiter_consulted(len) is len  # any other hook is left as it is
