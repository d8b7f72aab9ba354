"""Filing reports: routing, idempotency, duplicates, privacy, content security, feedback."""

from __future__ import annotations

import threading
import uuid

import pytest

from server.reports.models import Report, ReportEvent, WorkOrder
from server.reports.routing import route_point
from tests.reports.conftest import IN_A1, IN_A2, IN_B1, IN_C1, IN_S1_GAP, OUTSIDE


@pytest.mark.parametrize(
    ("where", "unit", "how"),
    [
        (IN_A1, "A1", "boundary"),
        (IN_A2, "A2", "boundary"),
        (IN_B1, "B1", "boundary"),
        (IN_C1, "C1", "boundary"),
        ((34.738, 113.63), "A", "boundary"),  # in community A, between its grids' boxes
    ],
)
def test_routing_to_the_smallest_unit_holding_the_point(units, where, unit, how):
    routed, method = route_point(*where)
    assert (routed.id, method) == (units[unit].id, how)


def test_routing_falls_back_to_nearest_community_then_street(units):
    routed, method = route_point(*IN_S1_GAP)
    assert method == "nearest" and routed.level == "community"
    assert routed.id in (units["A"].id, units["B"].id)
    routed, method = route_point(*OUTSIDE, home=units["C"])
    assert (routed.id, method) == (units["S2"].id, "street")


def test_report_outside_every_boundary_goes_to_the_street_queue(file_report, login, units, db):
    body = file_report(login("rider", "B"), where=OUTSIDE)
    report = db.session.get(Report, body["report"]["id"])
    assert report.routing == "street" and report.org_unit_id == units["S1"].id
    assert report.work_order.state == "received"


def test_validation_codes(client, login, cats):
    rider = login("rider")
    base = {"category_id": cats["dumping"].id, "description": "垃圾"}
    cases = [
        ({**base, "lat": None, "lng": None}, 422, "report.location_required"),
        (
            {**base, "lat": 34.73, "lng": 113.625, "photo_ids": list(range(1, 8))},
            422,
            "report.too_many_photos",
        ),
        (
            {"category_id": 999999, "lat": 34.73, "lng": 113.625, "description": "x"},
            404,
            "report.unknown_category",
        ),
        ({**base, "lat": 34.73, "lng": 113.625, "photo_ids": [987654]}, 404, "upload.not_found"),
        ({"lat": 1}, 422, "validation_error"),
    ]
    for body, status, code in cases:
        response = client.post("/api/v1/reports", json=body, headers=rider)
        assert (response.status_code, response.get_json()["code"]) == (status, code), body
    bad_key = {**rider, "Idempotency-Key": "no"}
    response = client.post(
        "/api/v1/reports", json={**base, "lat": 34.73, "lng": 113.62}, headers=bad_key
    )
    assert response.get_json()["code"] == "idempotency.invalid_key"
    assert Report.query.count() == 0


def test_same_idempotency_key_same_report_one_row(client, login, cats, upload, db):
    rider = login("rider")
    key = uuid.uuid4().hex
    body = {
        "category_id": cats["dumping"].id,
        "description": "垃圾",
        "lat": IN_A2[0],
        "lng": IN_A2[1],
        "photo_ids": [upload(rider)],
    }
    headers = {**rider, "Idempotency-Key": key}
    first = client.post("/api/v1/reports", json=body, headers=headers)
    second = client.post("/api/v1/reports", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json()["report"]["id"] == second.get_json()["report"]["id"]
    assert db.session.query(Report).count() == 1
    assert db.session.query(WorkOrder).count() == 1


def test_concurrent_duplicates_with_the_same_key_make_one_row(app, login, cats, upload, db):
    rider = login("rider")
    key = uuid.uuid4().hex
    photo = upload(rider)
    body = {
        "category_id": cats["dumping"].id,
        "description": "垃圾",
        "lat": IN_A2[0],
        "lng": IN_A2[1],
        "photo_ids": [photo],
    }
    ids, statuses, errors = [], [], []
    barrier = threading.Barrier(4)

    def post():
        try:
            client = app.test_client()
            barrier.wait()
            response = client.post(
                "/api/v1/reports", json=body, headers={**rider, "Idempotency-Key": key}
            )
            statuses.append(response.status_code)
            ids.append(response.get_json().get("report", {}).get("id"))
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert statuses == [201] * 4, statuses
    assert len(set(ids)) == 1
    db.session.expire_all()
    assert db.session.query(Report).count() == 1
    assert db.session.query(WorkOrder).count() == 1


def test_duplicate_hints_and_plus_one(file_report, login, client, cats, db):
    first = file_report(login("rider"), where=IN_A2)["report"]
    # 30 m away, same category: hinted; another category or 300 m away: not
    near = (IN_A2[0] + 0.00027, IN_A2[1])
    second = file_report(login("rider"), where=near)
    assert [d["id"] for d in second["possible_duplicates"]] == [first["id"]]
    assert second["possible_duplicates"][0]["distance_m"] == pytest.approx(30, abs=2)
    other_cat = file_report(login("rider"), where=near, category="street_light")
    assert other_cat["possible_duplicates"] == []
    far = file_report(login("rider"), where=(IN_A2[0] + 0.0027, IN_A2[1]))
    assert far["possible_duplicates"] == []
    resident = login("resident")
    nearby = client.get(
        f"/api/v1/reports/nearby?category_id={cats['dumping'].id}&lat={near[0]}&lng={near[1]}",
        headers=resident,
    ).get_json()
    assert {d["id"] for d in nearby} == {first["id"], second["report"]["id"]}
    r = client.post(f"/api/v1/reports/{first['id']}/plus-one", headers=resident)
    assert r.status_code == 200 and r.get_json()["confirm_count"] == 1
    again = client.post(f"/api/v1/reports/{first['id']}/plus-one", headers=resident)
    assert (again.status_code, again.get_json()["code"]) == (409, "report.already_following")


def test_anonymous_hidden_from_citizens_visible_to_staff(file_report, login, client, team):
    reporter = login("resident", display_name="王阿姨")
    report = file_report(reporter, where=IN_A2, anonymous=True)["report"]
    other = login("resident")
    public = client.get(f"/api/v1/reports/{report['id']}", headers=other).get_json()
    assert public["reporter"] == {"anonymous": True, "name": "匿名", "role_name": "居民"}
    assert "王阿姨" not in str(public)
    assert "moderation" not in public and "feedback" not in public
    staff = client.get(f"/api/v1/reports/{report['id']}", headers=team["admin_a"]).get_json()
    assert staff["viewer"] == "staff"
    assert staff["reporter"]["id"] == reporter.user_id and staff["reporter"]["name"] == "王阿姨"
    assert staff["is_anonymous"] is True


def test_risky_text_is_held_from_everyone_but_staff(file_report, login, client, team, db):
    reporter = login("resident")
    body = file_report(reporter, where=IN_A2, description="这里有问题 [risky]")["report"]
    assert body["moderation"] == "risky"
    other = login("resident")
    response = client.get(f"/api/v1/reports/{body['id']}", headers=other)
    assert (response.status_code, response.get_json()["code"]) == (404, "report.not_found")
    assert client.get(f"/api/v1/reports/{body['id']}", headers=team["admin_a"]).status_code == 200
    # its photo: the public link is refused, the staff link works
    staff_view = client.get(f"/api/v1/reports/{body['id']}", headers=team["admin_a"]).get_json()
    photo_id = staff_view["photos"][0]["id"]
    from server.uploads.models import Upload
    from server.uploads.services import signed_url

    upload = db.session.get(Upload, photo_id)
    with client.application.test_request_context():
        public_url, staff_url = (
            signed_url(upload, "full", "public"),
            signed_url(upload, "full", "staff"),
        )
    assert client.get(public_url).status_code == 404
    with client.get(staff_url) as served:
        assert served.status_code == 200 and served.mimetype == "image/jpeg"


def test_review_text_is_flagged_and_not_public(file_report, login, client):
    body = file_report(login("resident"), where=IN_A2, description="请核实 [review]")["report"]
    assert body["moderation"] == "review"
    other = login("resident")
    assert client.get(f"/api/v1/reports/{body['id']}", headers=other).status_code == 404


def test_wechat_unavailable_accepts_the_report_pending_then_rechecks(
    file_report, login, client, sandbox, db
):
    from server.reports.tasks import recheck_pending_reports

    sandbox.fault("wxa/msg_sec_check", http_status=500, times=5)
    body = file_report(login("resident"), where=IN_A2)["report"]
    assert body["moderation"] == "pending" and body["status"] == "received"
    other = login("resident")
    assert client.get(f"/api/v1/reports/{body['id']}", headers=other).status_code == 404
    sandbox.clear_faults()
    assert recheck_pending_reports() == 1
    assert client.get(f"/api/v1/reports/{body['id']}", headers=other).status_code == 200


def test_the_recheck_after_an_outage_checks_the_address_too(file_report, login, client, sandbox):
    """Filed while WeChat was down, a report's address is checked later as at filing: it is
    shown to every citizen as the description is."""
    from server.reports.tasks import recheck_pending_reports

    sandbox.fault("wxa/msg_sec_check", http_status=500, times=5)
    body = file_report(
        login("resident"), where=IN_A2, description="路边有垃圾", address="[risky] 违规内容"
    )["report"]
    assert body["moderation"] == "pending"
    sandbox.clear_faults()
    assert recheck_pending_reports() == 1
    other = login("resident")
    assert client.get(f"/api/v1/reports/{body['id']}", headers=other).status_code == 404


def test_self_handled_clue_records_no_work_order(file_report, login, db, client):
    rider = login("rider")
    body = file_report(rider, where=IN_A2, self_handled=True)["report"]
    assert body["status"] == "self_handled"
    assert db.session.query(WorkOrder).count() == 0


def test_feedback_closes_or_reopens_once(order_in, client, db, act, team, upload):
    order_id, reporter = order_in("resolved")
    report_id = db.session.get(WorkOrder, order_id).report_id
    url = f"/api/v1/reports/{report_id}/feedback"
    bad = client.post(url, json={"stars": 6}, headers=reporter)
    assert bad.status_code == 422
    stranger = client.post(url, json={"stars": 5}, headers=team["street"])
    assert stranger.status_code == 404
    r = client.post(url, json={"stars": 1, "fixed": False, "comment": "还在"}, headers=reporter)
    assert r.status_code == 200 and r.get_json()["status"] == "in_progress"
    db.session.expire_all()
    order = db.session.get(WorkOrder, order_id)
    assert order.reopen_count == 1 and order.is_flagged and order.flag_reason == "not_fixed"
    act(
        team["worker_a1"],
        order_id,
        "resolve",
        note="再次清理",
        photo_ids=[upload(team["worker_a1"])],
    )
    r = client.post(url, json={"stars": 2, "fixed": False}, headers=reporter)
    assert r.get_json()["status"] == "closed"  # reopens only once; flagged to the street
    db.session.expire_all()
    assert db.session.get(WorkOrder, order_id).flag_reason == "not_fixed_again"
    again = client.post(url, json={"stars": 5}, headers=reporter)
    assert (again.status_code, again.get_json()["code"]) == (409, "report.feedback_given")


def test_feedback_before_resolution_is_409(order_in, client, db):
    order_id, reporter = order_in("in_progress")
    report_id = db.session.get(WorkOrder, order_id).report_id
    r = client.post(f"/api/v1/reports/{report_id}/feedback", json={"stars": 5}, headers=reporter)
    assert (r.status_code, r.get_json()["code"]) == (409, "report.feedback_not_open")


def test_comments_between_reporter_and_staff_not_public(order_in, client, db, team, login):
    order_id, reporter = order_in("accepted")
    report_id = db.session.get(WorkOrder, order_id).report_id
    url = f"/api/v1/reports/{report_id}/comments"
    assert client.post(url, json={"text": "垃圾还在增加"}, headers=reporter).status_code == 201
    assert (
        client.post(url, json={"text": "今天下午处理"}, headers=team["worker_a1"]).status_code
        == 201
    )
    other = login("resident")
    refused = client.post(url, json={"text": "我也看到了"}, headers=other)
    assert (refused.status_code, refused.get_json()["code"]) == (403, "report.comment_not_allowed")
    mine = client.get(f"/api/v1/reports/{report_id}", headers=reporter).get_json()
    assert [e["note"] for e in mine["timeline"] if e["action"] == "comment"] == [
        "垃圾还在增加",
        "今天下午处理",
    ]
    public = client.get(f"/api/v1/reports/{report_id}", headers=other).get_json()
    assert not [e for e in public["timeline"] if e["action"] == "comment"]
    risky = client.post(url, json={"text": "[risky] 内容"}, headers=reporter)
    assert risky.get_json()["code"] == "report.comment_risky"


def test_a_follower_cannot_post_into_the_reporters_thread(order_in, client, db, login):
    """'+1' followers do not read the reporter's thread with the staff, so they may not post
    into it either (they would never see their message, nor the answer)."""
    order_id, reporter = order_in("accepted")
    report_id = db.session.get(WorkOrder, order_id).report_id
    neighbour = login("resident")
    plus_one = client.post(f"/api/v1/reports/{report_id}/plus-one", headers=neighbour)
    assert plus_one.status_code == 200
    url = f"/api/v1/reports/{report_id}/comments"
    refused = client.post(url, json={"text": "今天又倒了一车"}, headers=neighbour)
    assert (refused.status_code, refused.get_json()["code"]) == (403, "report.comment_not_allowed")
    assert "反映人和处理人员" in refused.get_json()["message"]
    db.session.expire_all()
    assert not db.session.query(ReportEvent).filter_by(report_id=report_id, action="comment").all()
    assert client.post(url, json={"text": "垃圾还在"}, headers=reporter).status_code == 201


def test_my_reports_and_categories(file_report, login, client, units):
    rider = login("rider")
    file_report(rider, where=IN_A2)
    file_report(rider, where=IN_A2, category="street_light")
    page = client.get("/api/v1/me/reports", headers=rider).get_json()
    assert page["total"] == 2 and page["items"][0]["category"]["code"] == "street_light"
    cats = client.get(f"/api/v1/report-categories?lat={IN_A1[0]}&lng={IN_A1[1]}", headers=rider)
    names = [c["name"] for c in cats.get_json()]
    assert len(names) == 12 and names[0] == "垃圾倾倒" and names[-1] == "其他"
    fire = next(c for c in cats.get_json() if c["code"] == "fire_hazard")
    assert "119" in fire["hint"]


def test_report_submission_is_rate_limited(app, client, login, cats, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMIT_REPORT", "20/minute")
    rider = login("rider")
    body = {"category_id": cats["dumping"].id, "description": "垃圾", "lat": 34.73, "lng": 113.635}
    codes = [
        client.post("/api/v1/reports", json=body, headers=rider).status_code for _ in range(21)
    ]
    assert codes[:20] == [201] * 20
    last = client.post("/api/v1/reports", json=body, headers=rider)
    assert (last.status_code, last.get_json()["code"]) == (429, "rate_limited")
