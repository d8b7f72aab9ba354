"""QR attendance: sign-in/out with location and time windows, automatic sign-out, points once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from server import clock
from server.activities import tasks
from server.activities.models import Activity, Enrolment
from server.points.models import LedgerEntry
from server.points.services import set_rule
from server.stations.scenes import make_scene
from tests.activities.helpers import END, START, enrolled, make_activity, run_threads, scan

BEFORE = START - dt.timedelta(days=1)


def ledger(db, user_id):
    return db.session.execute(
        select(
            LedgerEntry.delta, LedgerEntry.source_type, LedgerEntry.source_id, LedgerEntry.rule
        ).where(LedgerEntry.user_id == user_id)
    ).all()


def test_sign_in_then_out_credits_hours_and_points_once(client, db, units, login):
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], points=30)
    rider = enrolled(client, login, activity)

    clock.freeze(START - dt.timedelta(minutes=10))
    response = scan(client, rider, activity)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["action"] == "signed_in"
    assert body["service_minutes"] is None

    clock.freeze(START + dt.timedelta(minutes=95))
    body = scan(client, rider, activity).get_json()
    assert body["action"] == "signed_out"
    assert body["sign_out_method"] == "scan"
    # Counted from the start (not the early sign-in) to the sign-out.
    assert body["service_minutes"] == 95
    assert body["points_awarded"] == 30
    assert ledger(db, rider.user_id) == [(30, "activity", str(activity.id), None)]

    again = scan(client, rider, activity)
    assert (again.status_code, again.get_json()["code"]) == (
        409,
        "attendance.already_signed_out",
    )
    hours = client.get("/api/v1/me/service-hours", headers=rider).get_json()
    assert hours["total_minutes"] == 95
    assert hours["years"] == [{"year": 2026, "minutes": 95, "hours": 1.58, "activity_count": 1}]
    assert hours["items"][0]["title"] == activity.title
    assert ledger(db, rider.user_id) == [(30, "activity", str(activity.id), None)]


def test_hours_are_capped_by_the_activity_service_hours(client, db, units, login):
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], service_hours=1.5)
    rider = enrolled(client, login, activity)
    clock.freeze(START)
    scan(client, rider, activity)
    clock.freeze(END - dt.timedelta(minutes=1))
    body = scan(client, rider, activity).get_json()
    assert body["service_minutes"] == 90
    # No own points: the `activity_attendance` earning rule decides (20 by default).
    assert body["points_awarded"] == 20
    assert ledger(db, rider.user_id)[0][3] == "activity_attendance"


def test_too_soon_to_sign_out(client, units, login):
    clock.freeze(BEFORE)
    activity = make_activity(units["A"])
    rider = enrolled(client, login, activity)
    clock.freeze(START)
    scan(client, rider, activity)
    clock.freeze(START + dt.timedelta(minutes=3))
    response = scan(client, rider, activity)
    assert (response.status_code, response.get_json()["code"]) == (
        409,
        "attendance.already_signed_in",
    )


def test_location_and_time_windows(client, units, login):
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], radius_m=200)
    rider = enrolled(client, login, activity)

    clock.freeze(START - dt.timedelta(minutes=31))
    response = scan(client, rider, activity)
    assert (response.status_code, response.get_json()["code"]) == (400, "attendance.too_early")
    assert "opens_at" in response.get_json()["details"]

    clock.freeze(START - dt.timedelta(minutes=29))
    far = scan(client, rider, activity, lat=activity.lat + 0.01)  # ~1.1 km north
    assert (far.status_code, far.get_json()["code"]) == (400, "attendance.out_of_range")
    assert 1000 < far.get_json()["details"]["distance_m"] < 1200
    # 250 m away with a 60 m accuracy: within 200 m + the accuracy allowance.
    near = scan(client, rider, activity, lat=activity.lat + 0.00225, accuracy=60)
    assert near.status_code == 200
    assert near.get_json()["action"] == "signed_in"

    late = enrolled(client, login, activity)
    clock.freeze(END + dt.timedelta(minutes=1))
    response = scan(client, late, activity)
    assert (response.status_code, response.get_json()["code"]) == (409, "attendance.closed")


def test_refusals_for_codes_and_people(client, units, login):
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], capacity=1)
    first = enrolled(client, login, activity)
    waiting = login("rider")
    client.post(f"/api/v1/activities/{activity.id}/enrolments", headers=waiting)
    stranger = login("rider")
    clock.freeze(START)

    def code(response):
        return response.status_code, response.get_json()["code"]

    assert code(scan(client, stranger, activity)) == (403, "attendance.not_enrolled")
    assert code(scan(client, waiting, activity)) == (403, "attendance.waitlisted")
    assert code(scan(client, first, activity, scene="garbage")) == (400, "scene.invalid")
    station_code = make_scene("s", activity.id, activity.qr_secret)
    assert code(scan(client, first, activity, scene=station_code)) == (
        400,
        "attendance.not_activity_code",
    )
    old_scene = make_scene("a", activity.id, activity.qr_secret)
    staff = login("community_admin", "A")
    rotated = client.post(
        f"/api/v1/admin/activities/{activity.id}/qr-secret/rotate", headers=staff
    ).get_json()
    assert rotated["qr_scene"] != old_scene
    assert code(scan(client, first, activity, scene=old_scene)) == (
        400,
        "attendance.code_expired",
    )
    # URL-encoded, as options.scene arrives in the page.
    encoded = rotated["qr_scene"].replace(".", "%2E")
    assert scan(client, first, activity, scene=encoded).status_code == 200


def test_concurrent_duplicate_scans_sign_in_once_and_award_once(app, client, db, units, login):
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], points=25)
    rider = enrolled(client, login, activity)

    clock.freeze(START)
    results = run_threads(app, [lambda c: scan(c, rider, activity) for _ in range(8)])
    outcomes = sorted(r.get_json().get("action") or r.get_json()["code"] for r in results)
    assert outcomes == ["attendance.already_signed_in"] * 7 + ["signed_in"]

    clock.freeze(START + dt.timedelta(minutes=60))
    results = run_threads(app, [lambda c: scan(c, rider, activity) for _ in range(8)])
    outcomes = sorted(r.get_json().get("action") or r.get_json()["code"] for r in results)
    assert outcomes == ["attendance.already_signed_out"] * 7 + ["signed_out"]
    db.session.expire_all()
    assert ledger(db, rider.user_id) == [(25, "activity", str(activity.id), None)]
    stored = db.session.execute(
        select(Enrolment).where(Enrolment.user_id == rider.user_id)
    ).scalar_one()
    assert (stored.service_minutes, stored.points_awarded) == (60, 25)


def test_automatic_sign_out_at_the_end(app, client, db, units, login):
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], points=10)
    forgetful = enrolled(client, login, activity)
    absent = enrolled(client, login, activity)
    clock.freeze(START + dt.timedelta(minutes=30))
    scan(client, forgetful, activity)

    clock.freeze(END - dt.timedelta(minutes=5))
    assert tasks.auto_sign_out() == 0  # not over yet

    clock.freeze(END + dt.timedelta(minutes=2))
    # Several scheduler nodes at once: one sign-out, one award.
    results = run_threads(app, [lambda c: tasks.auto_sign_out() for _ in range(4)])
    assert sorted(results) == [0, 0, 0, 1]
    db.session.expire_all()
    row = db.session.execute(
        select(Enrolment).where(Enrolment.user_id == forgetful.user_id)
    ).scalar_one()
    assert row.sign_out_method == "auto"
    assert row.signed_out_at == END
    assert row.service_minutes == 90  # from sign-in to the scheduled end
    assert ledger(db, forgetful.user_id) == [(10, "activity", str(activity.id), None)]
    assert ledger(db, absent.user_id) == []
    detail = client.get(f"/api/v1/activities/{activity.id}").get_json()
    assert detail["status"] == "finished"


def test_late_scan_signs_out_at_the_end(client, db, units, login):
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], points=10)
    rider = enrolled(client, login, activity)
    clock.freeze(START)
    scan(client, rider, activity)
    clock.freeze(END + dt.timedelta(hours=3))
    body = scan(client, rider, activity, lat=34.0).get_json()  # anywhere: it is over
    assert (body["action"], body["sign_out_method"], body["service_minutes"]) == (
        "signed_out",
        "auto",
        120,
    )


def test_staff_confirm_attendance(client, db, units, login):
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], points=15)
    came = enrolled(client, login, activity)
    scanned = enrolled(client, login, activity)
    staff = login("grid_worker", "A")
    early = client.post(
        f"/api/v1/admin/activities/{activity.id}/attendance",
        json={"enrolment_ids": [1]},
        headers=staff,
    )
    assert (early.status_code, early.get_json()["code"]) == (409, "attendance.not_started")
    clock.freeze(START + dt.timedelta(minutes=20))
    scan(client, scanned, activity)
    clock.freeze(END + dt.timedelta(minutes=10))
    ids = dict(
        db.session.execute(
            select(Enrolment.user_id, Enrolment.id).where(Enrolment.activity_id == activity.id)
        ).all()
    )
    response = client.post(
        f"/api/v1/admin/activities/{activity.id}/attendance",
        json={"enrolment_ids": [ids[came.user_id], ids[scanned.user_id], 999]},
        headers=staff,
    )
    items = response.get_json()["items"]
    # `came` never scanned: credited the full time; `scanned` signed in late: until the end.
    assert [i["outcome"] for i in items] == ["confirmed", "confirmed", "not_enrolled"]
    assert [items[0]["service_minutes"], items[1]["service_minutes"]] == [120, 100]
    again = client.post(
        f"/api/v1/admin/activities/{activity.id}/attendance",
        json={"enrolment_ids": [ids[came.user_id]]},
        headers=staff,
    )
    assert again.get_json()["items"][0]["outcome"] == "already_signed_out"
    count = db.session.execute(
        select(func.count()).select_from(LedgerEntry).where(LedgerEntry.source_type == "activity")
    ).scalar_one()
    assert count == 2

    grid_below = login("grid_worker", "A1")  # a grid's worker does not see the community's
    response = client.post(
        f"/api/v1/admin/activities/{activity.id}/attendance",
        json={"enrolment_ids": [ids[came.user_id]]},
        headers=grid_below,
    )
    assert response.status_code == 404
    other = login("grid_worker", "B")
    response = client.post(
        f"/api/v1/admin/activities/{activity.id}/attendance",
        json={"enrolment_ids": [ids[came.user_id]]},
        headers=other,
    )
    assert (response.status_code, response.get_json()["code"]) == (404, "activity.not_found")


def test_points_awarded_is_what_the_ledger_got_when_the_daily_cap_cuts_it(client, db, units, login):
    set_rule(units["A"].id, "activity_attendance", 25, 40)  # 25 a time, at most 40 a day
    db.session.commit()
    clock.freeze(BEFORE)
    morning = make_activity(units["A"])
    noon = make_activity(
        units["A"],
        starts_at=START + dt.timedelta(hours=3),
        ends_at=START + dt.timedelta(hours=5),
    )
    rider = login("rider")
    for activity in (morning, noon):
        response = client.post(f"/api/v1/activities/{activity.id}/enrolments", headers=rider)
        assert response.get_json()["status"] == "enrolled"
    answers = []
    for activity in (morning, noon):
        clock.freeze(activity.starts_at)
        assert scan(client, rider, activity).get_json()["action"] == "signed_in"
        clock.freeze(activity.starts_at + dt.timedelta(minutes=60))
        answers.append(scan(client, rider, activity).get_json())
    assert [(a["action"], a["points_awarded"]) for a in answers] == [
        ("signed_out", 25),
        ("signed_out", 15),  # the cap left 15 of the 25
    ]
    assert [delta for delta, *_ in ledger(db, rider.user_id)] == [25, 15]
    stored = db.session.execute(
        select(Enrolment.activity_id, Enrolment.points_awarded)
        .where(Enrolment.user_id == rider.user_id)
        .order_by(Enrolment.activity_id)
    ).all()
    assert stored == [(morning.id, 25), (noon.id, 15)]
    hours = client.get("/api/v1/me/service-hours", headers=rider).get_json()
    assert sorted(item["points_awarded"] for item in hours["items"]) == [15, 25]


def test_cancelled_while_running_signs_out_unpaid_at_the_cancellation(client, db, units, login):
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], points=30)
    rider = enrolled(client, login, activity)
    clock.freeze(START + dt.timedelta(minutes=5))
    assert scan(client, rider, activity).get_json()["action"] == "signed_in"
    admin = login("community_admin", "A")
    cancelled_at = START + dt.timedelta(minutes=40)
    clock.freeze(cancelled_at)
    response = client.post(
        f"/api/v1/admin/activities/{activity.id}/cancel",
        json={"reason": "暴雨预警，活动取消"},
        headers=admin,
    )
    assert response.get_json()["status"] == "cancelled"
    row = db.session.execute(
        select(Enrolment).where(Enrolment.user_id == rider.user_id)
    ).scalar_one()
    # Closed by the cancellation itself: no time, no points.
    assert (row.signed_out_at, row.service_minutes, row.points_awarded, row.sign_out_method) == (
        cancelled_at,
        0,
        0,
        "auto",
    )
    clock.freeze(END + dt.timedelta(minutes=5))
    assert tasks.auto_sign_out() == 0  # nothing left for the end-of-activity job
    assert ledger(db, rider.user_id) == []
    hours = client.get("/api/v1/me/service-hours", headers=rider).get_json()
    assert (hours["total_minutes"], hours["activity_count"]) == (0, 0)
    certificate = client.get(
        "/api/v1/me/service-hours/certificate?from=2026-01-01&to=2026-12-31", headers=rider
    )
    assert (certificate.status_code, certificate.get_json()["code"]) == (
        404,
        "certificate.no_hours",
    )


def test_a_sign_in_left_open_on_a_cancelled_activity_is_closed_unpaid(client, db, units, login):
    """A sign-in that raced the cancellation (or one left from before this rule): the job
    closes it at the cancellation, before the scheduled end, never paying the full time."""
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], points=30)
    rider = enrolled(client, login, activity)
    cancelled_at = START + dt.timedelta(minutes=10)
    db.session.execute(
        update(Activity)
        .where(Activity.id == activity.id)
        .values(status="cancelled", cancelled_at=cancelled_at)
    )
    db.session.execute(
        update(Enrolment)
        .where(Enrolment.user_id == rider.user_id)
        .values(signed_in_at=START + dt.timedelta(minutes=15))  # after the cancellation
    )
    db.session.commit()
    clock.freeze(START + dt.timedelta(minutes=20))
    assert tasks.auto_sign_out() == 1
    db.session.expire_all()
    row = db.session.execute(
        select(Enrolment).where(Enrolment.user_id == rider.user_id)
    ).scalar_one()
    assert (row.signed_out_at, row.service_minutes, row.points_awarded) == (
        START + dt.timedelta(minutes=15),  # never before its own sign-in
        0,
        0,
    )
    clock.freeze(END + dt.timedelta(minutes=5))
    assert tasks.auto_sign_out() == 0
    assert ledger(db, rider.user_id) == []
    hours = client.get("/api/v1/me/service-hours", headers=rider).get_json()
    assert hours["total_minutes"] == 0


def test_a_second_scan_before_the_start_is_a_repeat_sign_in(client, db, units, login):
    """Early on site (sign-in opens 30 min before), a second scan 15 min later (its first
    answer lost, or staff asked everyone to scan) is not a sign-out with 0 minutes, unpaid."""
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], points=30)
    rider = enrolled(client, login, activity)
    clock.freeze(START - dt.timedelta(minutes=30))
    assert scan(client, rider, activity).get_json()["action"] == "signed_in"
    for at in (START - dt.timedelta(minutes=15), START + dt.timedelta(minutes=5)):
        clock.freeze(at)
        response = scan(client, rider, activity)
        assert (response.status_code, response.get_json()["code"]) == (
            409,
            "attendance.already_signed_in",
        ), response.get_json()
        assert response.get_json()["message"] == "您已签到成功；活动结束离开时再扫码签退"
    clock.freeze(END + dt.timedelta(minutes=5))
    assert tasks.auto_sign_out() == 1
    row = db.session.execute(
        select(Enrolment).where(Enrolment.user_id == rider.user_id)
    ).scalar_one()
    assert (row.signed_out_at, row.service_minutes, row.points_awarded) == (END, 120, 30)
    assert ledger(db, rider.user_id) == [(30, "activity", str(activity.id), None)]


def test_the_stay_before_a_sign_out_counts_from_the_start(client, db, units, login):
    """Signed in early, scanned again just after the start: not out with 2 minutes and the
    full points; from 10 minutes of the activity's own time on, the scan signs out."""
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], points=30)
    rider = enrolled(client, login, activity)
    clock.freeze(START - dt.timedelta(minutes=20))
    scan(client, rider, activity)
    clock.freeze(START + dt.timedelta(minutes=2))
    response = scan(client, rider, activity)
    assert (response.status_code, response.get_json()["code"]) == (
        409,
        "attendance.already_signed_in",
    )
    assert ledger(db, rider.user_id) == []
    clock.freeze(START + dt.timedelta(minutes=10))
    body = scan(client, rider, activity).get_json()
    assert (body["action"], body["service_minutes"], body["points_awarded"]) == (
        "signed_out",
        10,
        30,
    )


def test_staff_confirm_mends_a_sign_out_before_the_start(client, db, units, login):
    """`repeat` scanned twice before the start and never again (signed out at the end by the
    confirmation); `mended` was signed out by such a second scan under the earlier rule,
    with no time and no points: the confirmation reopens and credits it, once."""
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], points=30)
    repeat = enrolled(client, login, activity)
    mended = enrolled(client, login, activity)
    clock.freeze(START - dt.timedelta(minutes=30))
    scan(client, repeat, activity)
    clock.freeze(START - dt.timedelta(minutes=15))
    assert scan(client, repeat, activity).status_code == 409
    db.session.execute(
        update(Enrolment)
        .where(Enrolment.user_id == mended.user_id)
        .values(
            signed_in_at=START - dt.timedelta(minutes=30),
            signed_out_at=START - dt.timedelta(minutes=15),
            service_minutes=0,
            points_awarded=0,
            sign_out_method="scan",
        )
    )
    db.session.commit()
    clock.freeze(END + dt.timedelta(minutes=10))
    ids = dict(
        db.session.execute(
            select(Enrolment.user_id, Enrolment.id).where(Enrolment.activity_id == activity.id)
        ).all()
    )
    staff = login("grid_worker", "A")
    path = f"/api/v1/admin/activities/{activity.id}/attendance"
    body = {"enrolment_ids": [ids[repeat.user_id], ids[mended.user_id]]}
    items = client.post(path, json=body, headers=staff).get_json()["items"]
    assert [(i["outcome"], i["service_minutes"], i["points_awarded"]) for i in items] == [
        ("confirmed", 120, 30),
        ("confirmed", 120, 30),
    ]
    again = client.post(path, json=body, headers=staff).get_json()["items"]
    assert [i["outcome"] for i in again] == ["already_signed_out"] * 2
    for auth in (repeat, mended):
        assert ledger(db, auth.user_id) == [(30, "activity", str(activity.id), None)]


def test_no_service_hours_still_pays_the_points(client, db, units, login):
    """service_hours 0 (a job fair: points, not volunteer time): whoever attends is paid the
    activity's points once, and no hours are credited or listed."""
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], kind="job_matching", points=20, service_hours=0)
    scanned, forgetful = enrolled(client, login, activity), enrolled(client, login, activity)
    clock.freeze(START + dt.timedelta(minutes=1))
    for auth in (scanned, forgetful):
        assert scan(client, auth, activity).get_json()["action"] == "signed_in"
    clock.freeze(END - dt.timedelta(minutes=1))
    body = scan(client, scanned, activity).get_json()
    assert (body["action"], body["service_minutes"], body["points_awarded"]) == (
        "signed_out",
        0,
        20,
    )
    clock.freeze(END + dt.timedelta(minutes=5))
    assert tasks.auto_sign_out() == 1
    assert scan(client, scanned, activity).get_json()["code"] == "attendance.already_signed_out"
    for auth in (scanned, forgetful):
        assert ledger(db, auth.user_id) == [(20, "activity", str(activity.id), None)]
        hours = client.get("/api/v1/me/service-hours", headers=auth).get_json()
        assert (hours["total_minutes"], hours["activity_count"]) == (0, 0)
