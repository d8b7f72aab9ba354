"""The in-app inbox, /me's unread count, subscription credits and WeChat's push events."""

from __future__ import annotations

import datetime as dt

from server import WECHAT_EVENT_HANDLERS, clock
from server.extensions import db
from server.notifications import events
from server.notifications.services import credit_count, notify
from tests.notifications.conftest import tpl


def _notify(user_id, n, **kw):
    out = []
    for i in range(n):
        out.append(notify(user_id, "report_status", title=f"消息{i}", body="正文", **kw))
    db.session.commit()
    return [row.id for row in out]


def test_inbox_lists_unread_first_and_paginates(client, login):
    rider, other = login("rider"), login("rider")
    base = dt.datetime(2024, 5, 1, 8, 0)
    ids = []
    for i in range(5):
        clock.freeze(base + dt.timedelta(minutes=i))
        ids += _notify(rider.user_id, 1)
    _notify(other.user_id, 2)
    clock.freeze(None)
    assert client.post(f"/api/v1/me/notifications/{ids[4]}/read", headers=rider).status_code == 200
    page1 = client.get("/api/v1/me/notifications?page_size=3", headers=rider).get_json()
    assert page1["total"] == 5
    assert [n["id"] for n in page1["items"]] == [ids[3], ids[2], ids[1]]
    assert all(not n["is_read"] for n in page1["items"])
    page2 = client.get("/api/v1/me/notifications?page_size=3&page=2", headers=rider).get_json()
    assert [n["id"] for n in page2["items"]] == [ids[0], ids[4]]
    assert page2["items"][1]["is_read"] and page2["items"][1]["read_at"].endswith("+08:00")
    unread = client.get("/api/v1/me/notifications?unread_only=true", headers=rider).get_json()
    assert unread["total"] == 4


def test_me_shows_the_unread_count_and_read_all_clears_it(client, login):
    rider = login("rider")
    _notify(rider.user_id, 3)
    me = client.get("/api/v1/me", headers=rider).get_json()
    assert me["extras"]["unread_notifications"] == 3
    response = client.post("/api/v1/me/notifications/read-all", headers=rider)
    assert response.get_json() == {"updated": 3, "unread_notifications": 0}
    me = client.get("/api/v1/me", headers=rider).get_json()
    assert me["extras"]["unread_notifications"] == 0


def test_reading_someone_elses_notification_is_404(client, login):
    rider, other = login("rider"), login("rider")
    [nid] = _notify(other.user_id, 1)
    response = client.post(f"/api/v1/me/notifications/{nid}/read", headers=rider)
    assert response.status_code == 404
    assert response.get_json()["code"] == "notification.not_found"
    assert client.get("/api/v1/me/notifications").status_code == 401


def test_subscriptions_report_adds_credits_and_ignores_unknown_templates(client, login):
    rider = login("rider")
    template_id = tpl("report_status")
    response = client.post(
        "/api/v1/me/subscriptions",
        json={"accepted": [template_id, template_id, "TPL_UNKNOWN"]},
        headers=rider,
    )
    body = response.get_json()
    assert response.status_code == 200
    assert body["ignored"] == ["TPL_UNKNOWN"]
    assert {"template_id": template_id, "count": 2} in body["credits"]
    assert body["templates"]["report_status"] == template_id
    listing = client.get("/api/v1/me/subscriptions", headers=rider).get_json()
    assert listing["credits"] == [{"template_id": template_id, "count": 2}]
    bad = client.post("/api/v1/me/subscriptions", json={"accepted": "x"}, headers=rider)
    assert bad.status_code == 422


def _push(event, openid, items):
    return {
        "ToUserName": "gh_123",
        "FromUserName": openid,
        "CreateTime": 1714112445,
        "MsgType": "event",
        "Event": event,
        "List": items,
    }


def test_handlers_are_registered():
    assert WECHAT_EVENT_HANDLERS["subscribe_msg_popup_event"] == [
        "server.notifications.events.on_popup"
    ]
    assert "subscribe_msg_change_event" in WECHAT_EVENT_HANDLERS
    assert "subscribe_msg_sent_event" in WECHAT_EVENT_HANDLERS


def test_popup_event_adds_credits_but_not_twice_with_the_client_report(client, login):
    rider = login("rider")
    a, b = tpl("report_status"), tpl("redemption_created")
    popup = _push(
        "subscribe_msg_popup_event",
        rider.openid,
        [
            {"TemplateId": a, "SubscribeStatusString": "accept", "PopupScene": "0"},
            {"TemplateId": b, "SubscribeStatusString": "reject", "PopupScene": "0"},
        ],
    )
    assert events.on_popup(popup) == 1
    assert credit_count(rider.user_id, a) == 1 and credit_count(rider.user_id, b) == 0
    # the client reports the same accept: matched, not counted again
    client.post("/api/v1/me/subscriptions", json={"accepted": [a]}, headers=rider)
    assert credit_count(rider.user_id, a) == 1
    # a second accept, reported by the client first, then by WeChat: one more credit
    client.post("/api/v1/me/subscriptions", json={"accepted": [a]}, headers=rider)
    assert events.on_popup(popup) == 0
    assert credit_count(rider.user_id, a) == 2
    # XML form: one item is a dict
    xml_form = _push(
        "subscribe_msg_popup_event",
        rider.openid,
        {"TemplateId": b, "SubscribeStatusString": "accept", "PopupScene": "0"},
    )
    assert events.on_popup(xml_form) == 1
    assert credit_count(rider.user_id, b) == 1


def test_reports_far_apart_are_separate_accepts(client, login):
    rider = login("rider")
    a = tpl("report_status")
    clock.freeze(dt.datetime(2024, 5, 1, 8, 0))
    client.post("/api/v1/me/subscriptions", json={"accepted": [a]}, headers=rider)
    clock.freeze(dt.datetime(2024, 5, 1, 9, 0))  # an hour later: a new accept
    popup = _push(
        "subscribe_msg_popup_event",
        rider.openid,
        [{"TemplateId": a, "SubscribeStatusString": "accept"}],
    )
    assert events.on_popup(popup) == 1
    assert credit_count(rider.user_id, a) == 2


def test_change_event_reject_clears_credits(client, login):
    rider = login("rider")
    a = tpl("report_status")
    client.post("/api/v1/me/subscriptions", json={"accepted": [a, a]}, headers=rider)
    change = _push(
        "subscribe_msg_change_event",
        rider.openid,
        [{"TemplateId": a, "SubscribeStatusString": "reject"}],
    )
    assert events.on_change(change) == 1
    assert credit_count(rider.user_id, a) == 0


def test_sent_event_with_43101_clears_credits_and_notes_the_row(client, login):
    rider = login("rider")
    a = tpl("report_status")
    client.post("/api/v1/me/subscriptions", json={"accepted": [a, a]}, headers=rider)
    [nid] = _notify(rider.user_id, 1)
    from server.notifications.models import Notification

    db.session.get(Notification, nid).wechat_msgid = "1700827132819554304"
    db.session.commit()
    sent = _push(
        "subscribe_msg_sent_event",
        rider.openid,
        {
            "TemplateId": a,
            "MsgID": "1700827132819554304",
            "ErrorCode": "43101",
            "ErrorStatus": "fail",
        },
    )
    assert events.on_sent(sent) == 1
    assert credit_count(rider.user_id, a) == 0
    assert db.session.get(Notification, nid).last_error == "push 43101: fail"
    ok = _push("subscribe_msg_sent_event", rider.openid, [{"TemplateId": a, "ErrorCode": "0"}])
    assert events.on_sent(ok) == 0
    assert events.on_sent(_push("subscribe_msg_sent_event", "o_unknown", [])) == 0


def test_two_popups_in_one_second_both_count_and_a_resend_does_not(client, login):
    """Pushed through the callback: events carry no MsgId, so sender + time + event named
    them — two different popups in the same second were one, and a credit was lost."""
    from tests.wechat.test_callback import post_plain

    rider = login("rider")
    a, b = tpl("report_status"), tpl("redemption_created")
    first = _push(
        "subscribe_msg_popup_event",
        rider.openid,
        [{"TemplateId": a, "SubscribeStatusString": "accept"}],
    )
    second = _push(
        "subscribe_msg_popup_event",
        rider.openid,
        [{"TemplateId": b, "SubscribeStatusString": "accept"}],
    )
    for message in (first, second, first):  # the last: WeChat resending the first
        assert post_plain(client, message, as_json=True).get_data(as_text=True) == "success"
    assert (credit_count(rider.user_id, a), credit_count(rider.user_id, b)) == (1, 1)
