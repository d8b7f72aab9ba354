"""Attendance against rescheduling, cancellations and staff confirmation: nothing is credited
for a session not attended, for a cancelled place or activity, or by staff to themselves.

The races are interleaved deterministically: a patched function lets the other party's
request (or statement) run at the point where it used to slip in.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import select, text, update

from server import clock
from server.activities import attendance, services, tasks
from server.activities.models import Activity, Enrolment
from server.extensions import db as _db
from server.points.models import LedgerEntry
from tests.activities.helpers import END, START, enrolled, make_activity, scan

BEFORE = START - dt.timedelta(days=1)


def paid(db, user_id):
    return (
        db.session.execute(select(LedgerEntry.delta).where(LedgerEntry.user_id == user_id))
        .scalars()
        .all()
    )


def row_of(db, user_id) -> Enrolment:
    db.session.expire_all()
    return db.session.execute(select(Enrolment).where(Enrolment.user_id == user_id)).scalar_one()


def in_another_request(app, call):
    """Run `call(client)` in its own thread, app context and session; its answer."""
    out = {}

    def other():
        with app.app_context():
            try:
                out["response"] = call(app.test_client())
            finally:
                _db.session.remove()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(60)
    return out["response"]


def test_times_cannot_move_once_anyone_signed_in(client, db, units, login):
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], points=30)
    rider = enrolled(client, login, activity)
    admin = login("community_admin", "A")
    path = f"/api/v1/admin/activities/{activity.id}"
    moved = {"starts_at": "2026-06-06T14:00:00+08:00", "ends_at": "2026-06-06T16:00:00+08:00"}
    before_anyone = client.patch(path, json={"ends_at": "2026-06-06T11:30:00+08:00"}, headers=admin)
    assert before_anyone.status_code == 200, before_anyone.get_json()
    back = client.patch(path, json={"ends_at": "2026-06-06T11:00:00+08:00"}, headers=admin)
    assert back.status_code == 200, back.get_json()

    clock.freeze(START - dt.timedelta(minutes=10))
    assert scan(client, rider, activity).get_json()["action"] == "signed_in"
    clock.freeze(START + dt.timedelta(minutes=5))
    for change in (moved, {"ends_at": "2026-06-06T16:00:00+08:00"}):
        response = client.patch(path, json=change, headers=admin)
        assert (response.status_code, response.get_json()["code"]) == (
            409,
            "activity.attendance_started",
        )
        assert "取消" in response.get_json()["message"]
    # The rest can still be edited, with the unchanged times sent back as the form does.
    same = client.patch(
        path,
        json={
            "title": "红骑手公益课堂（改）",
            "starts_at": "2026-06-06T09:00:00+08:00",
            "ends_at": "2026-06-06T11:00:00+08:00",
        },
        headers=admin,
    )
    assert same.status_code == 200, same.get_json()
    db.session.expire_all()
    stored = db.session.get(Activity, activity.id)
    assert (stored.starts_at, stored.ends_at) == (START, END)

    # The rider left without scanning: signed out at the (unchanged) end, as attended.
    clock.freeze(END + dt.timedelta(minutes=5))
    tasks.auto_sign_out()
    row = row_of(db, rider.user_id)
    assert (row.signed_out_at, row.service_minutes, row.points_awarded) == (END, 120, 30)


def test_staff_confirm_waits_for_the_end_and_leaves_the_present_to_their_scan(
    client, db, units, login
):
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], points=15)
    present = enrolled(client, login, activity)
    absent_phone = enrolled(client, login, activity)  # took part, could not scan
    staff = login("grid_worker", "A")
    ids = {
        user_id: enrolment_id
        for user_id, enrolment_id in db.session.execute(
            select(Enrolment.user_id, Enrolment.id).where(Enrolment.activity_id == activity.id)
        ).all()
    }
    path = f"/api/v1/admin/activities/{activity.id}/attendance"
    clock.freeze(START)
    assert scan(client, present, activity).get_json()["action"] == "signed_in"
    clock.freeze(START + dt.timedelta(minutes=1))
    early = client.post(path, json={"enrolment_ids": list(ids.values())}, headers=staff)
    assert (early.status_code, early.get_json()["code"]) == (409, "attendance.not_ended")
    assert early.get_json()["message"].startswith("活动结束后才能补录签到")
    row = row_of(db, present.user_id)
    assert (row.signed_out_at, row.service_minutes, paid(db, present.user_id)) == (None, None, [])

    clock.freeze(END - dt.timedelta(minutes=1))
    body = scan(client, present, activity).get_json()
    assert (body["action"], body["sign_out_method"], body["service_minutes"]) == (
        "signed_out",
        "scan",
        119,
    )
    clock.freeze(END + dt.timedelta(minutes=30))
    items = client.post(path, json={"enrolment_ids": list(ids.values())}, headers=staff).get_json()[
        "items"
    ]
    outcomes = {item["enrolment_id"]: (item["outcome"], item["service_minutes"]) for item in items}
    assert outcomes == {
        ids[present.user_id]: ("already_signed_out", 119),
        ids[absent_phone.user_id]: ("confirmed", 120),  # start to end, not to the confirmation
    }


def test_a_scan_racing_the_riders_own_cancellation_is_refused(
    app, client, db, units, login, monkeypatch
):
    clock.freeze(BEFORE)
    activity = make_activity(units["A"])
    rider = enrolled(client, login, activity)
    clock.freeze(START - dt.timedelta(minutes=10))
    real = attendance._check_location

    def cancel_meanwhile(*args, **kwargs):
        real(*args, **kwargs)
        response = in_another_request(
            app,
            lambda other: other.delete(
                f"/api/v1/activities/{activity.id}/enrolments/me", headers=rider
            ),
        )
        assert response.status_code == 200, response.get_json()

    monkeypatch.setattr(attendance, "_check_location", cancel_meanwhile)
    response = scan(client, rider, activity)
    assert (response.status_code, response.get_json()["code"]) == (403, "attendance.not_enrolled")
    row = row_of(db, rider.user_id)
    assert (row.status, row.signed_in_at) == ("cancelled", None)


def test_a_cancellation_racing_a_sign_in_is_refused_and_the_place_kept(
    client, db, units, login, monkeypatch
):
    """cancel_enrolment reads the enrolment (not signed in); a sign-in slips in before the
    cancellation writes (a statement run right after the read, standing in for another
    transaction's commit: the scan now queues on the activity lock, the write stays guarded)."""
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], capacity=1, points=30)
    rider, waiting = login("rider"), login("rider")
    for auth, status in ((rider, "enrolled"), (waiting, "waitlisted")):
        response = client.post(f"/api/v1/activities/{activity.id}/enrolments", headers=auth)
        assert response.get_json()["status"] == status
    clock.freeze(START - dt.timedelta(minutes=10))
    real = services.my_enrolment

    def read_then_sign_in(user, activity_id):
        enrolment = real(user, activity_id)
        db.session.execute(
            update(Enrolment)
            .where(
                Enrolment.id == enrolment.id,
                Enrolment.status == "enrolled",
                Enrolment.signed_in_at.is_(None),
            )
            .values(signed_in_at=clock.utcnow())
            .execution_options(synchronize_session=False)
        )
        return enrolment

    monkeypatch.setattr(services, "my_enrolment", read_then_sign_in)
    response = client.delete(f"/api/v1/activities/{activity.id}/enrolments/me", headers=rider)
    monkeypatch.setattr(services, "my_enrolment", real)
    assert (response.status_code, response.get_json()["code"]) == (
        409,
        "enrolment.already_signed_in",
    )
    assert row_of(db, rider.user_id).status == "enrolled"
    assert row_of(db, waiting.user_id).status == "waitlisted"  # the place was not given away
    stored = db.session.get(Activity, activity.id)
    assert (stored.enrolled_count, stored.waitlist_count) == (1, 1)


def test_a_cancelled_enrolment_is_never_credited(client, db, units, login, monkeypatch):
    """What the race above used to leave (a cancelled enrolment signed in, or already
    credited): the job does not pick it, a sign-out does not pay it, hours do not count it."""
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], points=30)
    open_one = enrolled(client, login, activity)
    credited = enrolled(client, login, activity)
    db.session.execute(
        update(Enrolment)
        .where(Enrolment.user_id == open_one.user_id)
        .values(status="cancelled", signed_in_at=START)
    )
    db.session.execute(
        update(Enrolment)
        .where(Enrolment.user_id == credited.user_id)
        .values(
            status="cancelled",
            signed_in_at=START,
            signed_out_at=END,
            service_minutes=120,
            points_awarded=30,
            sign_out_method="auto",
        )
    )
    db.session.commit()
    clock.freeze(END + dt.timedelta(minutes=5))
    picked = []
    real = attendance._complete

    def spy(activity, enrolment, out_at, method):
        picked.append(enrolment.id)
        return real(activity, enrolment, out_at, method)

    monkeypatch.setattr(attendance, "_complete", spy)
    assert tasks.auto_sign_out() == 0
    assert picked == []  # not even picked: it would come back every run
    monkeypatch.setattr(attendance, "_complete", real)
    row = row_of(db, open_one.user_id)
    assert attendance._complete(activity, row, END, "auto") is False
    db.session.commit()
    row = row_of(db, open_one.user_id)
    assert (row.signed_out_at, row.service_minutes, paid(db, open_one.user_id)) == (None, None, [])
    for auth in (open_one, credited):
        hours = client.get("/api/v1/me/service-hours", headers=auth).get_json()
        assert (hours["total_minutes"], hours["activity_count"]) == (0, 0)
        certificate = client.get(
            "/api/v1/me/service-hours/certificate?from=2026-01-01&to=2026-12-31", headers=auth
        )
        assert certificate.get_json()["code"] == "certificate.no_hours"


def test_confirm_sees_a_cancellation_committed_meanwhile(
    app, client, db, units, login, monkeypatch
):
    """Staff B cancels (storm warning) just before the end while staff A, just after it,
    confirms from the list: the cancellation commits after confirm read the activity."""
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], points=30)
    rider = enrolled(client, login, activity)
    eid = row_of(db, rider.user_id).id
    worker, admin = login("grid_worker", "A"), login("community_admin", "A")
    confirmed_at = END + dt.timedelta(minutes=10)
    clock.freeze(confirmed_at)
    real = attendance.get_for_staff

    def read_then_cancel_commits(scope, activity_id):
        found = real(scope, activity_id)
        clock.freeze(END - dt.timedelta(minutes=5))  # when the cancellation was made
        response = in_another_request(
            app,
            lambda other: other.post(
                f"/api/v1/admin/activities/{activity_id}/cancel",
                json={"reason": "暴雨预警"},
                headers=admin,
            ),
        )
        clock.freeze(confirmed_at)
        assert response.get_json()["status"] == "cancelled", response.get_json()
        return found

    monkeypatch.setattr(attendance, "get_for_staff", read_then_cancel_commits)
    response = client.post(
        f"/api/v1/admin/activities/{activity.id}/attendance",
        json={"enrolment_ids": [eid]},
        headers=worker,
    )
    assert (response.status_code, response.get_json()["code"]) == (
        409,
        "attendance.activity_not_open",
    )
    row = row_of(db, rider.user_id)
    assert (row.signed_in_at, row.service_minutes, paid(db, rider.user_id)) == (None, None, [])


def test_staff_cannot_confirm_their_own_attendance(client, db, units, login):
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], points=1000)
    worker = login("grid_worker", "A")
    response = client.patch(
        "/api/v1/me",
        json={"role": "rider", "community_id": units["A"].id, "platform": "meituan"},
        headers=worker,
    )
    assert response.status_code == 200, response.get_json()
    own = client.post(f"/api/v1/activities/{activity.id}/enrolments", headers=worker).get_json()
    assert own["status"] == "enrolled"
    rider = enrolled(client, login, activity)
    other_id = row_of(db, rider.user_id).id
    clock.freeze(END + dt.timedelta(minutes=1))  # neither came
    path = f"/api/v1/admin/activities/{activity.id}/attendance"
    for ids in ([own["id"]], [other_id, own["id"]]):
        response = client.post(path, json={"enrolment_ids": ids}, headers=worker)
        assert (response.status_code, response.get_json()["code"]) == (
            403,
            "attendance.self_confirmation",
        )
        assert response.get_json()["message"] == "不能为自己补录签到，请由其他工作人员办理"
    # Nothing was confirmed, the other rider's row either (the request is refused whole).
    assert paid(db, worker.user_id) == [] and paid(db, rider.user_id) == []
    assert row_of(db, rider.user_id).signed_in_at is None
    # A second person can.
    colleague = login("grid_worker", "A")
    items = client.post(path, json={"enrolment_ids": [own["id"]]}, headers=colleague).get_json()
    assert items["items"][0]["outcome"] == "confirmed"
    assert paid(db, worker.user_id) == [1000]


def _blocked_or_done(thread: threading.Thread, timeout: float = 20) -> None:
    """Return once `thread` has finished or a PostgreSQL session is waiting on a lock."""
    deadline = time.monotonic() + timeout
    while thread.is_alive() and time.monotonic() < deadline:
        with _db.engine.connect() as connection:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        if waiting:
            return
        time.sleep(0.05)


def test_a_sign_in_racing_an_edit_of_the_times_waits_for_it(
    app, client, db, units, login, monkeypatch
):
    """PostgreSQL: the edit has checked that nobody signed in and not yet committed when the
    rider scans. The sign-in queues on the activity's lock and then sees the new times (too
    early for them), instead of committing under the old ones for times that move after it.
    (SQLite's database-wide write lock serialises the two anyway.)"""
    if _db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: on SQLite the edit's write lock holds the scan anyway")
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], points=30)
    rider = enrolled(client, login, activity)
    admin = login("community_admin", "A")
    clock.freeze(START - dt.timedelta(minutes=5))
    real = services._anyone_signed_in
    other = {}

    def check_then_scan_meanwhile(activity_id):
        answer = real(activity_id)

        def scan_in_another_request():
            with app.app_context():
                try:
                    other["response"] = scan(app.test_client(), rider, activity)
                finally:
                    _db.session.remove()

        other["thread"] = threading.Thread(target=scan_in_another_request)
        other["thread"].start()
        _blocked_or_done(other["thread"])
        return answer

    monkeypatch.setattr(services, "_anyone_signed_in", check_then_scan_meanwhile)
    response = client.patch(
        f"/api/v1/admin/activities/{activity.id}",
        json={"starts_at": "2026-06-07T09:00:00+08:00", "ends_at": "2026-06-07T11:00:00+08:00"},
        headers=admin,
    )
    other["thread"].join(60)
    assert response.status_code == 200, response.get_json()
    scanned = other["response"]
    assert (scanned.status_code, scanned.get_json().get("code")) == (
        400,
        "attendance.too_early",
    ), scanned.get_json()
    assert scanned.get_json()["details"]["opens_at"] == "2026-06-07T08:30:00+08:00"
    row = row_of(db, rider.user_id)
    moved = db.session.get(Activity, activity.id)
    assert (row.signed_in_at, moved.starts_at) == (None, START + dt.timedelta(days=1))
