"""GET/PATCH /me and phone binding."""

from __future__ import annotations

import logging

from server.auth.crypto import decrypt
from server.auth.models import User


def test_register_as_rider_with_community(client, login, units, db):
    auth = login("resident")
    response = client.patch(
        "/api/v1/me",
        json={
            "role": "rider",
            "platform": "eleme",
            "community_id": units["B"].id,
            "display_name": "王师傅",
            "is_party_member": True,
        },
        headers=auth,
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["role"] == "rider"
    assert body["platform"] == "eleme"
    assert body["community_id"] == units["B"].id
    assert body["registered_at"].endswith("+08:00")
    assert body["is_party_member"] is True
    me = client.get("/api/v1/me", headers=auth).get_json()
    assert me["display_name"] == "王师傅"


def test_staff_roles_cannot_be_chosen(client, login, db):
    auth = login("rider")
    response = client.patch("/api/v1/me", json={"role": "admin"}, headers=auth)
    assert response.status_code == 422
    assert "role" in response.get_json()["details"]["errors"]["json"]
    assert db.session.get(User, auth.user_id).citizen_role == "rider"


def test_community_must_be_a_community(client, login, units, db):
    auth = login("rider")
    for bad in (units["S1"].id, units["A1"].id, 987654):
        response = client.patch("/api/v1/me", json={"community_id": bad}, headers=auth)
        assert response.status_code == 422
        assert response.get_json()["code"] == "me.invalid_community"
    assert db.session.get(User, auth.user_id).community_id == units["A"].id


def test_bad_values_are_refused_and_change_nothing(client, login, db):
    auth = login("rider")
    for patch in (
        {"platform": "uber"},
        {"display_name": ""},
        {"display_name": "x" * 33},
        {"avatar_url": "javascript:alert(1)"},
        {"community_id": "abc"},
    ):
        response = client.patch("/api/v1/me", json=patch, headers=auth)
        assert response.status_code == 422, patch
        assert response.get_json()["code"] == "validation_error"
    user = db.session.get(User, auth.user_id)
    assert user.platform == "meituan"
    assert user.display_name == "测试rider"


def test_phone_bound_encrypted_and_only_masked(client, login, db, sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    auth = login("rider")
    response = client.post(
        "/api/v1/me/phone", json={"code": "sandbox-phone:13812341234:1"}, headers=auth
    )
    assert response.status_code == 200
    assert response.get_json() == {"phone": "138****1234"}
    me = client.get("/api/v1/me", headers=auth)
    assert me.get_json()["phone"] == "138****1234"
    assert "13812341234" not in me.get_data(as_text=True)
    user = db.session.get(User, auth.user_id)
    assert "13812341234" not in user.phone_enc
    assert decrypt(user.phone_enc) == "13812341234"
    assert "13812341234" not in caplog.text
    calls = sandbox.calls(path="/wxa/business/getuserphonenumber")
    assert calls and calls[0]["body"] == {"code": "sandbox-phone:13812341234:1"}


def test_phone_code_reused_or_invalid(client, login, db):
    auth = login("rider")
    code = "sandbox-phone:13900001111:x"
    assert client.post("/api/v1/me/phone", json={"code": code}, headers=auth).status_code == 200
    again = client.post("/api/v1/me/phone", json={"code": code}, headers=auth)
    assert again.status_code == 400
    assert again.get_json()["code"] == "phone.invalid_code"
    bad = client.post("/api/v1/me/phone", json={"code": "nope"}, headers=auth)
    assert bad.get_json()["code"] == "phone.invalid_code"


def test_phone_when_wechat_down(client, login, sandbox, db):
    auth = login("rider")
    sandbox.fault("/wxa/business/getuserphonenumber", errcode=-1, times=1)
    response = client.post(
        "/api/v1/me/phone", json={"code": "sandbox-phone:13800000000:1"}, headers=auth
    )
    assert response.status_code == 503
    assert response.get_json()["code"] == "wechat.unavailable"
    assert db.session.get(User, auth.user_id).phone_enc is None
