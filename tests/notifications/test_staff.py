"""Staff alerts: the on-duty staff of the unit, escalation when nobody has a credit; the
outbox admin."""

from __future__ import annotations

import datetime as dt

from server import clock
from server.extensions import db
from server.notifications.services import notify, notify_staff
from server.org.models import StaffBinding
from tests.notifications.conftest import rows, run_worker, sends


def _alert(unit_id, no="GD1"):
    created = notify_staff(
        unit_id,
        "work_order_new",
        title="新工单待接单",
        body="路灯不亮",
        data={"order_no": no},
        dedupe_key=f"wo:{no}",
    )
    db.session.commit()
    return sorted(n.user_id for n in created)


def test_grid_worker_with_a_credit_is_alerted_alone(login, units, credit):
    grid = login("grid_worker", "A1")
    login("community_admin", "A")
    credit(grid, "work_order_new")
    assert _alert(units["A1"].id) == [grid.user_id]


def test_nobody_with_a_credit_in_the_grid_alerts_the_next_level_up(login, units, credit, sandbox):
    grid = login("grid_worker", "A1")
    community = login("community_admin", "A")
    credit(community, "work_order_new")
    login("street_admin", "S1")
    unit_ids = {k: units[k].id for k in ("A1", "A", "S1")}
    assert _alert(unit_ids["A1"]) == sorted([grid.user_id, community.user_id])
    [escalated] = rows(community.user_id)
    assert "暂无可接收微信提醒的值班人员" in escalated.body
    assert escalated.data["escalated_from"] == unit_ids["A1"]
    run_worker()
    assert [c["body"]["touser"] for c in sends(sandbox)] == [community.openid]
    assert rows(grid.user_id)[0].status == "inbox"  # still in the grid worker's inbox


def test_escalation_stops_at_the_street(login, units):
    grid = login("grid_worker", "A1")
    community = login("community_admin", "A")
    street = login("street_admin", "S1")
    login("admin", "D")  # the district is above the street: never alerted
    assert _alert(units["A1"].id) == sorted([grid.user_id, community.user_id, street.user_id])


def test_off_duty_and_revoked_staff_are_skipped(login, units, credit):
    off, revoked = login("grid_worker", "A1"), login("grid_worker", "A1")
    on = login("grid_worker", "A1")
    credit(on, "work_order_new")
    db.session.query(StaffBinding).filter_by(user_id=off.user_id).update({"is_on_duty": False})
    db.session.query(StaffBinding).filter_by(user_id=revoked.user_id).update(
        {"revoked_at": clock.utcnow()}
    )
    db.session.commit()
    assert _alert(units["A1"].id) == [on.user_id]


def test_empty_grid_goes_up_even_for_kinds_without_a_template(login, units):
    community = login("community_admin", "A")
    created = notify_staff(units["A2"].id, "something_unconfigured", title="t", body="b")
    db.session.commit()
    assert [n.user_id for n in created] == [community.user_id]


def test_admin_sees_failed_and_stuck_notifications_and_can_retry(
    client, login, sandbox, credit, app, monkeypatch
):
    admin = login("admin", "D")
    rider = login("rider")
    credit(rider, "report_status", 2)
    sandbox.fault("/cgi-bin/message/subscribe/send", errcode=47003, times=1)
    failed = notify(rider.user_id, "report_status", title="失败的", body="b")
    stuck = notify(rider.user_id, "report_status", title="卡住的", body="b")
    db.session.commit()
    failed_id, stuck_id = failed.id, stuck.id
    from server.notifications.tasks import deliver

    assert deliver(failed_id) == "failed"
    # a worker claimed the other one and died
    from server.notifications.models import Notification

    row = db.session.get(Notification, stuck_id)
    row.status, row.claimed_at = "sending", clock.utcnow() - dt.timedelta(hours=1)
    db.session.commit()

    listing = client.get("/api/v1/admin/notifications", headers=admin).get_json()
    by_id = {n["id"]: n for n in listing["items"]}
    assert set(by_id) == {failed_id, stuck_id}
    assert by_id[failed_id]["status"] == "failed" and by_id[failed_id]["last_error"].startswith(
        "47003"
    )
    assert by_id[stuck_id]["stuck"] is True
    summary = client.get("/api/v1/admin/notifications/summary", headers=admin).get_json()
    assert summary == {"counts": {"failed": 1, "sending": 1}, "stuck": 1, "window_days": 7}

    response = client.post(f"/api/v1/admin/notifications/{failed_id}/retry", headers=admin)
    assert response.status_code == 200 and response.get_json()["status"] == "pending"
    run_worker()
    assert db.session.get(Notification, failed_id).status == "sent"
    again = client.post(f"/api/v1/admin/notifications/{failed_id}/retry", headers=admin)
    assert again.status_code == 409
    assert again.get_json()["code"] == "notification.not_retryable"


def test_outbox_admin_is_for_system_admins_only(client, login):
    street = login("street_admin", "S1")
    rider = login("rider")
    for auth, code in ((street, "auth.role_too_low"), (rider, "auth.staff_only")):
        response = client.get("/api/v1/admin/notifications", headers=auth)
        assert response.status_code == 403
        assert response.get_json()["code"] == code


def test_staff_can_send_themselves_a_test_notification(client, login, credit, sandbox):
    grid = login("grid_worker", "A1")
    rider = login("rider")
    credit(grid, "report_status")
    response = client.post(
        "/api/v1/admin/notifications/test", json={"kind": "report_status"}, headers=grid
    )
    assert response.status_code == 201
    run_worker()
    [call] = sends(sandbox)
    assert call["body"]["touser"] == grid.openid and call["errcode"] == 0
    assert (
        client.post("/api/v1/admin/notifications/test", json={}, headers=rider).status_code == 403
    )


def test_staff_following_the_official_account_get_a_template_message(
    app, login, sandbox, monkeypatch
):
    """With an official account configured, a staff member found through the unionid gets a
    template message (no subscription credit needed)."""
    import json

    from server.auth.models import User
    from server.notifications.channels import record_oa_follower

    monkeypatch.setitem(app.config, "WECHAT_OA_APPID", app.config["WECHAT_APPID"])
    monkeypatch.setitem(app.config, "WECHAT_OA_SECRET", app.config["WECHAT_SECRET"])
    spec = {"work_order_new": {"template_id": "OA_TPL_1", "fields": {"thing1": "category"}}}
    monkeypatch.setitem(app.config, "WECHAT_OA_TEMPLATES_JSON", json.dumps(spec))
    app.extensions.pop("wechat_oa_client", None)
    grid = login("grid_worker", "A1")
    user = db.session.get(User, grid.user_id)
    user.unionid = "union-grid-1"
    record_oa_follower("union-grid-1", "oa_openid_grid_1")
    db.session.commit()
    created = notify_staff(
        db.session.get(StaffBinding, _binding_id(grid.user_id)).org_unit_id,
        "work_order_new",
        title="新工单",
        body="b",
        page="pages/workorder/detail?id=3",
        data={"category": "路灯"},
    )
    db.session.commit()
    assert [n.user_id for n in created] == [grid.user_id]  # reachable: no escalation
    from server.notifications.tasks import deliver

    deliver(created[0].id)
    [call] = sandbox.calls("/cgi-bin/message/template/send")
    assert call["body"]["touser"] == "oa_openid_grid_1"
    assert call["body"]["template_id"] == "OA_TPL_1"
    assert call["body"]["data"] == {"thing1": {"value": "路灯"}}
    assert call["body"]["miniprogram"]["pagepath"] == "pages/workorder/detail?id=3"
    assert sends(sandbox) == []
    app.extensions.pop("wechat_oa_client", None)


def _binding_id(user_id):
    return db.session.query(StaffBinding.id).filter_by(user_id=user_id).scalar()
