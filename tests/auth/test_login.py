"""WeChat login: success, bad and reused codes, WeChat down, and what the sandbox saw."""

from __future__ import annotations

import logging

from server.auth.models import User
from tests.conftest import login_code


def test_login_creates_user_and_returns_token(client, db, sandbox):
    response = client.post("/api/v1/auth/wechat-login", json={"code": "sandbox:o_new_rider:1"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["is_new"] is True
    assert body["token"]
    assert body["user"]["role"] == "resident"
    user = db.session.get(User, body["user"]["id"])
    assert user.openid == "o_new_rider"
    assert user.unionid  # the sandbox sends one, as WeChat does for bound apps

    again = client.post("/api/v1/auth/wechat-login", json={"code": "sandbox:o_new_rider:2"})
    assert again.status_code == 200
    assert again.get_json()["is_new"] is False
    assert again.get_json()["user"]["id"] == user.id


def test_login_calls_code2session_with_official_parameters(client, sandbox, app):
    client.post("/api/v1/auth/wechat-login", json={"code": "sandbox:o_official:1"})
    calls = sandbox.calls(path="/sns/jscode2session")
    assert len(calls) == 1
    args = calls[0]["args"]
    assert args["appid"] == app.config["WECHAT_APPID"]
    assert args["js_code"] == "sandbox:o_official:1"
    assert args["grant_type"] == "authorization_code"
    assert args["secret"] == "***"  # recorded redacted


def test_bad_code_is_401_and_creates_nothing(client, db):
    response = client.post("/api/v1/auth/wechat-login", json={"code": "not-a-code"})
    assert response.status_code == 401
    assert response.get_json()["code"] == "auth.invalid_code"
    assert db.session.query(User).count() == 0


def test_reused_code_is_401(client):
    code = login_code("o_reuse")
    assert client.post("/api/v1/auth/wechat-login", json={"code": code}).status_code == 200
    response = client.post("/api/v1/auth/wechat-login", json={"code": code})
    assert response.status_code == 401
    assert response.get_json()["code"] == "auth.invalid_code"


def test_wechat_busy_or_down_is_503_and_writes_nothing(client, db, sandbox):
    sandbox.fault("/sns/jscode2session", errcode=-1, times=1)
    response = client.post("/api/v1/auth/wechat-login", json={"code": login_code("o_busy")})
    assert response.status_code == 503
    assert response.get_json()["code"] == "wechat.unavailable"
    sandbox.fault("/sns/jscode2session", http_status=502, times=1)
    response = client.post("/api/v1/auth/wechat-login", json={"code": login_code("o_busy")})
    assert response.status_code == 503
    assert db.session.query(User).count() == 0


def test_wechat_unreachable_is_503(client, app, db):
    original = app.config["WECHAT_API_BASE_URL"]
    app.config["WECHAT_API_BASE_URL"] = "http://127.0.0.1:9/"  # nothing listens on port 9
    app.extensions.pop("wechat_client", None)
    try:
        response = client.post("/api/v1/auth/wechat-login", json={"code": login_code("o_x")})
    finally:
        app.config["WECHAT_API_BASE_URL"] = original
        app.extensions.pop("wechat_client", None)
    assert response.status_code == 503
    assert response.get_json()["code"] == "wechat.unavailable"
    assert db.session.query(User).count() == 0


def test_missing_code_is_422_with_field_errors(client):
    response = client.post("/api/v1/auth/wechat-login", json={})
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "validation_error"
    assert "code" in body["details"]["errors"]["json"]


def test_session_key_never_in_responses_or_logs(client, db, caplog, sandbox):
    caplog.set_level(logging.DEBUG)
    response = client.post("/api/v1/auth/wechat-login", json={"code": login_code("o_secret")})
    body = response.get_data(as_text=True)
    user = db.session.query(User).filter_by(openid="o_secret").one()
    from server.auth.crypto import decrypt

    session_key = decrypt(user.session_key_enc)
    assert session_key and len(session_key) >= 16
    assert session_key not in body
    assert "session_key" not in body
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {response.json['token']}"})
    assert session_key not in me.get_data(as_text=True)
    assert session_key not in caplog.text
    assert user.session_key_enc != session_key  # encrypted at rest


def test_a_deactivated_account_is_refused_at_login_and_nothing_changes(client, login):
    """Not a 200 with a token every request then refuses (the mini-program would loop)."""
    from server.auth.models import User
    from server.extensions import db
    from tests.conftest import login_code

    auth = login("rider")
    user = db.session.get(User, auth.user_id)
    user.is_active = False
    db.session.commit()
    before = user.last_login_at
    response = client.post("/api/v1/auth/wechat-login", json={"code": login_code(auth.openid)})
    body = response.get_json()
    assert response.status_code == 403, body
    assert (body["code"], body["message"]) == (
        "auth.account_disabled",
        "该账号已停用，如有疑问请联系社区工作人员",
    )
    db.session.expire_all()
    assert db.session.get(User, auth.user_id).last_login_at == before
