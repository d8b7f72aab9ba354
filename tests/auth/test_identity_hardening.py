"""What a person can make the app store or show about themselves, and WeChat's URL check:
from a second review of auth and WeChat."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid

import pytest

from server.auth.crypto import mask_phone
from server.auth.models import User


def _name_of(db, user_id):
    db.session.expire_all()
    return db.session.get(User, user_id).display_name


@pytest.mark.parametrize(
    "content_type", ["application/merge-patch+json", "application/vnd.api+json"]
)
def test_nul_in_a_json_body_sent_as_another_json_type_is_refused(client, login, db, content_type):
    """The JSON parser takes application/*+json too; the door check looked at
    application/json only (on PostgreSQL a NUL is a 500, on SQLite it was stored)."""
    auth = login("rider")
    response = client.patch(
        "/api/v1/me",
        data=json.dumps({"display_name": "a\u0000b"}),
        headers={**auth, "Content-Type": content_type},
    )
    assert (response.status_code, response.get_json()["code"]) == (400, "invalid_characters")
    assert _name_of(db, auth.user_id) == "测试rider"


@pytest.mark.parametrize(
    ("phone", "shown"),
    [
        ("13812341234", "138****1234"),
        ("912345678", "9****5678"),
        ("51234567", "****4567"),  # Hong Kong / Macau: eight digits
        ("1234567", "****567"),
        ("1234", "****"),
    ],
)
def test_a_phone_number_is_shown_with_four_digits_hidden_at_least(phone, shown):
    assert mask_phone(phone) == shown
    assert len(re.findall(r"\d", shown)) <= max(len(phone) - 4, 0)


def test_a_foreign_number_bound_from_wechat_is_masked_so(client, login, db, monkeypatch):
    from server.wechat import api as wx

    monkeypatch.setattr(
        wx,
        "get_phone_number",
        lambda _client, _code: {
            "phoneNumber": "+85251234567",
            "purePhoneNumber": "51234567",
            "countryCode": "852",
        },
    )
    auth = login("rider")
    response = client.post("/api/v1/me/phone", json={"code": "any-code"}, headers=auth)
    assert response.get_json()["phone"] == "****4567"


@pytest.mark.parametrize(
    "name", ["\u200b", "\ufeff", "\u200b\u200b\u200b", "a\nb", "a\x07b", "a\u202ebc", "a\u0085b"]
)
def test_invisible_or_control_characters_are_no_display_name(client, login, db, name):
    auth = login("rider")
    response = client.patch("/api/v1/me", json={"display_name": name}, headers=auth)
    assert response.status_code == 422, response.get_json()
    assert _name_of(db, auth.user_id) == "测试rider"


def test_invisible_characters_around_a_name_are_dropped(client, login, db):
    auth = login("rider")
    response = client.patch(
        "/api/v1/me", json={"display_name": "\u200b王小二\ufeff "}, headers=auth
    )
    assert response.status_code == 200, response.get_json()
    assert _name_of(db, auth.user_id) == "王小二"


@pytest.mark.parametrize(
    "name", ["社区工作人员", "系统管理员", "街道指挥中心", "网格员 李", "官方客服"]
)
def test_a_citizen_cannot_take_a_staff_title_as_name(client, login, db, name):
    auth = login("rider")
    response = client.patch("/api/v1/me", json={"display_name": name}, headers=auth)
    assert (response.status_code, response.get_json()["code"]) == (422, "me.reserved_name")
    assert _name_of(db, auth.user_id) == "测试rider"


def test_staff_may_use_their_title(client, login, db):
    auth = login("grid_worker", "A1")
    response = client.patch("/api/v1/me", json={"display_name": "网格员小李"}, headers=auth)
    assert response.status_code == 200, response.get_json()
    assert _name_of(db, auth.user_id) == "网格员小李"


def _url_check(app, at: float, signature: str | None = None) -> dict:
    nonce = uuid.uuid4().hex[:10]
    token = app.config["WECHAT_TOKEN"]
    parts = sorted([token, str(int(at)), nonce])
    signed = hashlib.sha1("".join(parts).encode()).hexdigest()  # noqa: S324 (WeChat's)
    return {"timestamp": str(int(at)), "nonce": nonce, "signature": signature or signed}


def test_a_stale_signed_url_check_is_refused(app, client):
    """A signed query seen in a log would make this domain echo any text, for ever."""
    stale = _url_check(app, time.time() - 86400)
    response = client.get(
        "/wechat/callback", query_string={**stale, "echostr": "请拨打 400 领补贴"}
    )
    assert response.status_code == 403
    fresh = _url_check(app, time.time())
    response = client.get("/wechat/callback", query_string={**fresh, "echostr": "12345"})
    assert (response.status_code, response.get_data(as_text=True)) == (200, "12345")


def test_the_callback_signature_is_compared_in_constant_time(app, client, monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    query = _url_check(app, time.time(), signature="0" * 40)
    assert client.get("/wechat/callback", query_string={**query, "echostr": "1"}).status_code == 403
    assert calls
