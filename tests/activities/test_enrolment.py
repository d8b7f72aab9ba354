"""Enrolment: capacity and the waitlist under concurrency, promotion, refusals."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from server import clock
from server.activities.models import Activity, Enrolment
from tests.activities.helpers import START, make_activity, run_threads

BEFORE = START - dt.timedelta(days=2)


def enrol(client, auth, activity_id):
    return client.post(f"/api/v1/activities/{activity_id}/enrolments", headers=auth)


def test_capacity_and_waitlist_under_concurrent_enrolment(app, db, units, login):
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], capacity=5)
    riders = [login("rider") for _ in range(30)]

    def attempt(auth):
        return lambda client: enrol(client, auth, activity.id)

    responses = run_threads(app, [attempt(auth) for auth in riders])
    assert all(not isinstance(r, Exception) for r in responses), responses
    assert [r.status_code for r in responses] == [201] * 30
    statuses = [r.get_json()["status"] for r in responses]
    assert statuses.count("enrolled") == 5
    assert statuses.count("waitlisted") == 25

    db.session.expire_all()
    stored = db.session.get(Activity, activity.id)
    assert (stored.enrolled_count, stored.waitlist_count, stored.next_seq) == (5, 25, 31)
    rows = (
        db.session.execute(
            select(Enrolment).where(Enrolment.activity_id == activity.id).order_by(Enrolment.seq)
        )
        .scalars()
        .all()
    )
    # In order of arrival: the first five hold the places, then the waitlist, no gaps.
    assert [row.seq for row in rows] == list(range(1, 31))
    assert [row.status for row in rows] == ["enrolled"] * 5 + ["waitlisted"] * 25
    positions = sorted(
        r.get_json()["waitlist_position"] for r in responses if r.get_json()["waitlist_position"]
    )
    assert positions == list(range(1, 26))


def test_cancellation_promotes_the_first_waitlisted(client, db, units, login):
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], capacity=2)
    people = [login("rider") for _ in range(4)]
    for auth in people:
        enrol(client, auth, activity.id)
    detail = client.get(f"/api/v1/activities/{activity.id}", headers=people[3]).get_json()
    assert detail["my_enrolment"]["status"] == "waitlisted"
    assert detail["my_enrolment"]["waitlist_position"] == 2

    response = client.delete(f"/api/v1/activities/{activity.id}/enrolments/me", headers=people[0])
    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"

    third = client.get(f"/api/v1/activities/{activity.id}", headers=people[2]).get_json()
    assert third["my_enrolment"]["status"] == "enrolled"
    assert third["my_enrolment"]["promoted_at"] is not None
    fourth = client.get(f"/api/v1/activities/{activity.id}", headers=people[3]).get_json()
    assert fourth["my_enrolment"]["waitlist_position"] == 1
    assert (third["enrolled_count"], third["waitlist_count"]) == (2, 1)

    from server.notifications.models import Notification

    notes = db.session.execute(select(Notification)).scalars().all()
    assert [(n.user_id, n.kind) for n in notes] == [
        (people[2].user_id, "activity_waitlist_promoted")
    ]

    # Leaving the waitlist frees nobody's place.
    client.delete(f"/api/v1/activities/{activity.id}/enrolments/me", headers=people[3])
    again = client.get(f"/api/v1/activities/{activity.id}").get_json()
    assert (again["enrolled_count"], again["waitlist_count"]) == (2, 0)


def test_concurrent_cancellations_promote_exactly_one_each(app, db, units, login):
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], capacity=3)
    people = [login("rider") for _ in range(8)]
    from server.extensions import db as _db
    from tests.conftest import Auth  # noqa: F401  (type only)

    client = app.test_client()
    for auth in people:
        enrol(client, auth, activity.id)
    leaving = people[:3]
    results = run_threads(
        app,
        [
            (
                lambda a: (
                    lambda c: c.delete(f"/api/v1/activities/{activity.id}/enrolments/me", headers=a)
                )
            )(auth)
            for auth in leaving
        ],
    )
    assert [r.status_code for r in results] == [200] * 3
    _db.session.expire_all()
    rows = (
        _db.session.execute(
            select(Enrolment.status)
            .where(Enrolment.activity_id == activity.id)
            .order_by(Enrolment.seq)
        )
        .scalars()
        .all()
    )
    assert rows == ["cancelled"] * 3 + ["enrolled"] * 3 + ["waitlisted"] * 2
    stored = _db.session.get(Activity, activity.id)
    assert (stored.enrolled_count, stored.waitlist_count) == (3, 2)


def test_repeat_enrolment_changes_nothing_and_re_enrolment_goes_to_the_back(client, units, login):
    clock.freeze(BEFORE)
    activity = make_activity(units["A"], capacity=1)
    first, second = login("rider"), login("rider")
    assert enrol(client, first, activity.id).get_json()["status"] == "enrolled"
    assert enrol(client, first, activity.id).get_json()["status"] == "enrolled"
    assert enrol(client, second, activity.id).get_json()["status"] == "waitlisted"
    client.delete(f"/api/v1/activities/{activity.id}/enrolments/me", headers=first)
    again = enrol(client, first, activity.id).get_json()
    assert again["status"] == "waitlisted"
    assert again["waitlist_position"] == 1
    assert again["seq"] == 3


def test_enrolment_refusals(client, units, login):
    clock.freeze(BEFORE)
    rider = login("rider")
    resident = login("resident")

    def code(response):
        return response.status_code, response.get_json()["code"]

    riders_only = make_activity(units["A"], audience="riders")
    assert code(enrol(client, resident, riders_only.id)) == (403, "activity.riders_only")
    residents_only = make_activity(units["A"], audience="residents")
    assert code(enrol(client, rider, residents_only.id)) == (403, "activity.residents_only")
    closed = make_activity(units["A"], signup_deadline=BEFORE - dt.timedelta(hours=1))
    assert code(enrol(client, rider, closed.id)) == (409, "activity.signup_closed")
    cancelled = make_activity(units["A"], status="cancelled")
    assert code(enrol(client, rider, cancelled.id)) == (409, "activity.cancelled")
    draft = make_activity(units["A"], status="draft")
    assert code(enrol(client, rider, draft.id)) == (404, "activity.not_found")
    assert code(enrol(client, rider, 999999)) == (404, "activity.not_found")
    assert code(client.post(f"/api/v1/activities/{riders_only.id}/enrolments")) == (
        401,
        "auth.required",
    )
    past = make_activity(
        units["A"], starts_at=BEFORE - dt.timedelta(hours=3), ends_at=BEFORE - dt.timedelta(hours=1)
    )
    assert code(enrol(client, rider, past.id)) == (409, "activity.finished")
    unregistered = client.post("/api/v1/auth/wechat-login", json={"code": "sandbox:o_new:1"})
    token = {"Authorization": f"Bearer {unregistered.get_json()['token']}"}
    open_one = make_activity(units["A"])
    assert code(enrol(client, token, open_one.id)) == (403, "activity.not_registered")


def test_cancel_refusals(client, units, login):
    clock.freeze(BEFORE)
    activity = make_activity(units["A"])
    rider = login("rider")
    response = client.delete(f"/api/v1/activities/{activity.id}/enrolments/me", headers=rider)
    assert (response.status_code, response.get_json()["code"]) == (404, "enrolment.not_found")
    enrol(client, rider, activity.id)
    clock.freeze(START + dt.timedelta(minutes=1))
    response = client.delete(f"/api/v1/activities/{activity.id}/enrolments/me", headers=rider)
    assert (response.status_code, response.get_json()["code"]) == (
        409,
        "enrolment.cancel_too_late",
    )
