"""Logs never hold secrets, WeChat session keys, tokens or full phone numbers.

A busy flow (logins, phone binding, reports, staff work, the WeChat callback, refusals and
bad tokens) runs with every logger at DEBUG; then the captured text is scanned.
"""

from __future__ import annotations

import logging

from server.auth.crypto import decrypt
from server.auth.models import User
from tests.hardening.helpers import file_report
from tests.log_scan import describe, find_leaks
from tests.wechat.test_callback import post_plain, text

PHONE = "13812345678"


def test_captured_logs_hold_no_secrets(app, client, db, units, login, caplog, sandbox):
    caplog.set_level(logging.DEBUG)
    rider, admin = login("rider"), login("community_admin", "A")
    tokens = [rider["Authorization"].split()[1], admin["Authorization"].split()[1]]
    bound = client.post(
        "/api/v1/me/phone", json={"code": f"sandbox-phone:{PHONE}:1"}, headers=rider
    )
    assert bound.status_code == 200
    file_report(client, units, rider, "楼道堆放杂物，联系电话 13912345678")
    client.get("/api/v1/work-orders", headers=admin)
    client.get("/api/v1/me", headers={"Authorization": "Bearer " + tokens[0] + "x"})
    client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-jwt"})
    client.post("/api/v1/me/phone", json={"code": "sandbox-phone:13700001111:bad"}, headers=rider)
    client.get("/api/v1/admin/stations", headers=rider)  # a refusal
    sandbox.add_user("o_cb_user")
    post_plain(client, text("o_cb_user", "电话 13600001111 路灯不亮"))
    client.post("/api/v1/auth/logout", headers=rider)

    logged = caplog.text
    secrets = {
        "SECRET_KEY": app.config["SECRET_KEY"],
        "PHONE_ENCRYPTION_KEY": app.config["PHONE_ENCRYPTION_KEY"],
        "WECHAT_SECRET": app.config["WECHAT_SECRET"],
    }
    assert all(secrets.values())
    for number, token in enumerate(tokens):
        secrets[f"token {number}"] = token
        secrets[f"token {number} (start)"] = token[:40]
    for user in db.session.query(User).all():
        if user.session_key_enc:
            secrets[f"user {user.id}'s session_key"] = decrypt(user.session_key_enc)
    leaks = find_leaks(logged, secrets)
    assert not leaks, "\n" + describe(leaks)
