"""The domain counters are fed where the events happen: WeChat errors leaving the client,
check-ins and reports once committed (replays and refused actions are not counted twice)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from server import clock
from server.ops import metrics
from server.stations.services import scene_of
from server.wechat import api, get_client
from server.wechat.errors import WeChatError
from tests.factories import make_categories, make_station

SEND = "/cgi-bin/message/custom/send"


def _wechat_errors() -> dict[tuple[str, ...], float]:
    return metrics.WECHAT_API_ERRORS.read()


def _count(counter, **labels) -> float:
    return counter.labels(**labels)._value.get()


def test_wechat_errors_are_counted_once_where_they_leave_the_client(app, sandbox):
    client = get_client()
    api.code_to_session(client, "sandbox:o_metrics:1")
    with pytest.raises(WeChatError):
        api.code_to_session(client, "sandbox:o_metrics:1")  # a used code: 40029
    assert _wechat_errors() == {("/sns/jscode2session", "40029"): 1.0}

    sandbox.fault("/sns/jscode2session", http_status=503)
    with pytest.raises(WeChatError):
        api.code_to_session(client, "sandbox:o_metrics:2")
    assert _wechat_errors()[("/sns/jscode2session", "network")] == 1.0


def test_a_token_refresh_that_recovers_is_not_an_error_and_a_failed_one_counts_once(app, sandbox):
    client = get_client()
    openid = api.code_to_session(client, "sandbox:o_metrics_t:1")["openid"]
    api.send_custom_text(client, openid, "一")
    sandbox.fault(SEND, errcode=40001)  # rejected once, refreshed, retried: fine
    api.send_custom_text(client, openid, "二")
    assert _wechat_errors() == {}
    sandbox.fault(SEND, errcode=40001, times=100)
    with pytest.raises(WeChatError):
        api.send_custom_text(client, openid, "三")
    assert _wechat_errors() == {(SEND, "40001"): 1.0}


def test_check_ins_are_counted_after_commit(client, login, units):
    clock.freeze(dt.datetime(2026, 11, 18, 4, 0))  # Wednesday noon in Shanghai
    station = make_station(units["A"], name="淮北街小哥驿站")
    ok = _count(metrics.CHECKINS, outcome="ok")
    far = _count(metrics.CHECKINS, outcome="checkin.out_of_range")
    rider = {**login("rider"), "Idempotency-Key": uuid.uuid4().hex}
    body = {"scene": scene_of(station), "lat": station.lat, "lng": station.lng, "accuracy": 10}
    assert client.post("/api/v1/checkins", json=body, headers=rider).status_code == 201
    replay = client.post("/api/v1/checkins", json=body, headers=rider)  # same key: a replay
    assert replay.status_code == 201 and replay.get_json()["replayed"]
    away = {**body, "lat": station.lat + 0.05}
    refused = client.post("/api/v1/checkins", json=away, headers=login("rider"))
    assert refused.get_json()["code"] == "checkin.out_of_range"
    assert _count(metrics.CHECKINS, outcome="ok") - ok == 1
    assert _count(metrics.CHECKINS, outcome="checkin.out_of_range") - far == 1


def test_reports_and_transitions_are_counted_after_commit(client, login, units):
    cats = make_categories(units["S1"])
    submitted = _count(metrics.REPORTS, event="submitted")
    dispatched = _count(metrics.REPORTS, event="dispatch")
    closed = _count(metrics.REPORTS, event="close")
    rider = {**login("rider"), "Idempotency-Key": uuid.uuid4().hex}
    body = {"category_id": cats["dumping"].id, "description": "垃圾", "lat": 34.73, "lng": 113.635}
    filed = client.post("/api/v1/reports", json=body, headers=rider)
    assert filed.status_code == 201
    assert client.post("/api/v1/reports", json=body, headers=rider).status_code == 201  # replay
    assert _count(metrics.REPORTS, event="submitted") - submitted == 1

    admin = login("community_admin", "A")
    report_id = filed.get_json()["report"]["id"]
    order_id = client.get(f"/api/v1/reports/{report_id}", headers=admin).get_json()["work_order_id"]
    worker = login("grid_worker", "A1")
    url = f"/api/v1/work-orders/{order_id}"
    assert client.post(f"{url}/close", json={}, headers=admin).status_code == 409
    done = client.post(f"{url}/dispatch", json={"assignee_id": worker.user_id}, headers=admin)
    assert done.status_code == 200
    assert _count(metrics.REPORTS, event="dispatch") - dispatched == 1
    assert _count(metrics.REPORTS, event="close") - closed == 0
