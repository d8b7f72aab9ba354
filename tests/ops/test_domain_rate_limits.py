"""Rate limits on check-in, uploads, report submission and the WeChat callback: 429
`rate_limited` in the standard envelope with Retry-After, limits read from RATE_LIMIT_<NAME>."""

from __future__ import annotations

import datetime as dt
import io
import uuid

from server import clock
from server.reports.models import WeChatInbound
from server.stations.services import scene_of
from tests.factories import jpeg_bytes, make_categories, make_station
from tests.wechat.test_callback import URL, _query, _xml, text


def _limited(response) -> None:
    body = response.get_json()
    assert response.status_code == 429, body
    assert body["code"] == "rate_limited" and body["status"] == 429 and body["message"]
    assert int(response.headers["Retry-After"]) > 0


def test_check_in_has_one_limit_per_rider_with_retry_after(app, client, login, units, monkeypatch):
    """One limiter on check-in (the service's, counted in Redis): 429 with Retry-After."""
    clock.freeze(dt.datetime(2026, 11, 18, 4, 0, 15))  # a Wednesday noon in Shanghai
    monkeypatch.setitem(app.config, "CHECKIN_RATE_PER_MINUTE", 2)
    station = make_station(units["A"], name="淮北街小哥驿站")
    body = {"scene": scene_of(station), "lat": station.lat, "lng": station.lng, "accuracy": 10}
    rider = login("rider")
    assert client.post("/api/v1/checkins", json=body, headers=rider).status_code == 201
    again = client.post("/api/v1/checkins", json=body, headers=rider)
    assert again.get_json()["code"] == "checkin.already_checked_in"
    refused = client.post("/api/v1/checkins", json=body, headers=rider)
    assert (refused.status_code, refused.get_json()["code"]) == (429, "checkin.rate_limited")
    assert refused.headers["Retry-After"] == "45"  # the rest of this minute
    # per rider: another rider is not affected
    assert client.post("/api/v1/checkins", json=body, headers=login("rider")).status_code == 201


def test_check_in_domain_refusal_still_applies(app, client, login, units, monkeypatch):
    clock.freeze(dt.datetime(2026, 11, 18, 4, 0))
    monkeypatch.setitem(app.config, "CHECKIN_RATE_PER_MINUTE", 1)
    station = make_station(units["A"], name="淮北街小哥驿站")
    body = {"scene": scene_of(station), "lat": station.lat, "lng": station.lng, "accuracy": 10}
    rider = login("rider")
    assert client.post("/api/v1/checkins", json=body, headers=rider).status_code == 201
    refused = client.post("/api/v1/checkins", json=body, headers=rider)
    assert (refused.status_code, refused.get_json()["code"]) == (429, "checkin.rate_limited")


def _upload(client, auth):
    return client.post(
        "/api/v1/uploads",
        data={"file": (io.BytesIO(jpeg_bytes(size=(8, 8))), "p.jpg")},
        headers=auth,
        content_type="multipart/form-data",
    )


def test_upload_limit_from_settings(app, client, login, monkeypatch):
    monkeypatch.setenv("RATE_LIMIT_UPLOAD", "2/minute")
    rider = login("rider")
    assert [_upload(client, rider).status_code for _ in range(2)] == [201, 201]
    _limited(_upload(client, rider))


def test_report_limit_is_shared_by_filing_and_draft_submission(
    app, client, login, units, monkeypatch
):
    monkeypatch.setitem(app.config, "RATE_LIMIT_REPORT", "2/minute")
    cats = make_categories(units["S1"])
    rider = login("rider")
    body = {"category_id": cats["dumping"].id, "description": "垃圾", "lat": 34.73, "lng": 113.635}

    def file():
        headers = {**rider, "Idempotency-Key": uuid.uuid4().hex}
        return client.post("/api/v1/reports", json=body, headers=headers)

    assert [file().status_code for _ in range(2)] == [201, 201]
    _limited(file())
    _limited(client.post("/api/v1/reports/1/submit", json=body, headers=rider))


def _push(client, message, address="101.226.103.1"):
    return client.post(
        URL,
        query_string=_query(),
        data=_xml(message).encode(),
        environ_base={"REMOTE_ADDR": address},
    )


def test_callback_limit_per_address_lets_wechat_retries_through(
    app, client, sandbox, db, monkeypatch
):
    monkeypatch.setitem(app.config, "RATE_LIMIT_CALLBACK", "4/minute")
    openid = f"o_wx_{uuid.uuid4().hex[:8]}"
    sandbox.add_user(openid)
    message = text(openid, "路灯不亮了")
    # WeChat's push and its retries (same MsgId) pass and make one inbound message
    assert [_push(client, message).status_code for _ in range(3)] == [200, 200, 200]
    assert db.session.query(WeChatInbound).count() == 1
    assert _push(client, text(openid, "还有一处")).status_code == 200
    _limited(_push(client, text(openid, "刷屏")))
    # another address has its own budget
    assert _push(client, text(openid, "另一台服务器"), address="101.226.103.2").status_code == 200


def test_phone_binding_and_staff_binding_are_limited_per_user(app, client, login, monkeypatch):
    """Each phone lookup is billed by WeChat; an invitation code is redeemed once or twice in
    a person's life: both limited per user, from settings."""
    monkeypatch.setitem(app.config, "RATE_LIMIT_PHONE", "2/minute")
    monkeypatch.setitem(app.config, "RATE_LIMIT_STAFF_BINDING", "2/minute")
    rider, other = login("rider"), login("rider")
    for url, body in (
        ("/api/v1/me/phone", {"code": "bad"}),
        ("/api/v1/me/staff-binding", {"code": "AAAA-BBBB-CCCC"}),
    ):
        answers = [client.post(url, json=body, headers=rider).status_code for _ in range(2)]
        assert 429 not in answers and 500 not in answers
        _limited(client.post(url, json=body, headers=rider))
        assert client.post(url, json=body, headers=other).status_code != 429  # per user
