"""Bearer tokens: expiry, revocation (logout, unbinding), tampering, other environments."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest

from server import clock


def test_me_needs_a_token(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.get_json()["code"] == "auth.required"


def test_token_expires(client, login, app):
    auth = login("rider")
    assert client.get("/api/v1/me", headers=auth).status_code == 200
    ttl = app.config["TOKEN_TTL_SECONDS"]
    clock.freeze(clock.utcnow() + dt.timedelta(seconds=ttl + 1))
    response = client.get("/api/v1/me", headers=auth)
    assert response.status_code == 401
    assert response.get_json()["code"] == "auth.token_expired"


def test_logout_revokes_every_token(client, login):
    auth = login("rider")
    second = client.post(
        "/api/v1/auth/wechat-login", json={"code": f"sandbox:{auth.openid}:again"}
    ).get_json()["token"]
    assert client.post("/api/v1/auth/logout", headers=auth).status_code == 204
    for headers in (auth, {"Authorization": f"Bearer {second}"}):
        response = client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["code"] == "auth.token_revoked"
    fresh = client.post(
        "/api/v1/auth/wechat-login", json={"code": f"sandbox:{auth.openid}:third"}
    ).get_json()["token"]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_tampered_and_foreign_tokens_are_refused(client, login, app):
    auth = login("rider")
    token = auth["Authorization"].split()[1]
    claims = _claims(token)
    forged_sub = jwt.encode(
        {**claims, "sub": "999"}, "another-secret-that-is-long-enough-for-hs256", algorithm="HS256"
    )
    other_env = jwt.encode(
        {**claims, "aud": "fengchao-production"}, app.config["SECRET_KEY"], algorithm="HS256"
    )
    none_alg = jwt.encode(claims, key=None, algorithm="none")
    head, body, sig = token.split(".")
    flipped = ".".join([head, body, sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB")])
    for bad in (forged_sub, other_env, none_alg, flipped, "garbage", token + "x"):
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401, bad
        assert response.get_json()["code"] == "auth.token_invalid"


def test_non_bearer_scheme_is_not_a_login(client, login):
    auth = login("rider")
    token = auth["Authorization"].split()[1]
    response = client.get("/api/v1/me", headers={"Authorization": f"Basic {token}"})
    assert response.status_code == 401
    assert response.get_json()["code"] == "auth.required"


def test_a_tokens_signature_is_checked_once_per_process_and_its_expiry_every_time(
    client, login, app, monkeypatch
):
    """A verified token is remembered (its rider sends it with every request); its expiry
    is still checked on each use, another key or environment does not find it, and an
    invalid token is checked again each time."""
    from server.auth import tokens

    auth = login("rider")
    token = auth["Authorization"].split()[1]
    decoded = []
    real_decode = jwt.decode

    def counting(*args, **kwargs):
        decoded.append(args[0])
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(tokens.jwt, "decode", counting)
    for _ in range(3):
        assert client.get("/api/v1/me", headers=auth).status_code == 200
    assert decoded.count(token) <= 1  # the login's own first use may have been the one
    with app.test_request_context():
        expected = tokens.decode_token(token)
        assert decoded.count(token) <= 1
        monkeypatch.setitem(app.config, "SECRET_KEY", "another-secret-that-is-long-enough-x")
        with pytest.raises(tokens.TokenInvalid) as refused:
            tokens.decode_token(token)
        assert refused.value.reason == "invalid"
        monkeypatch.undo()
        monkeypatch.setattr(tokens.jwt, "decode", counting)
        assert tokens.decode_token(token) == expected
        before = len(decoded)
        for _ in range(2):
            with pytest.raises(tokens.TokenInvalid):
                tokens.decode_token("garbage")
        assert decoded[before:] == ["garbage", "garbage"]  # not remembered
    ttl = app.config["TOKEN_TTL_SECONDS"]
    clock.freeze(clock.utcnow() + dt.timedelta(seconds=ttl + 1))
    response = client.get("/api/v1/me", headers=auth)
    assert response.get_json()["code"] == "auth.token_expired"
