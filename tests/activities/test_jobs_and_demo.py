"""Reminders (once per activity, even from several nodes) and the idempotent demo data."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from server import PERIODIC_JOBS, clock
from server.activities import tasks
from server.activities.demo import seed_activities_demo
from server.activities.models import Activity, Enrolment
from server.demo import seed_org, seed_users
from server.needs.models import Need
from server.notifications.models import Notification
from server.posts.models import Post
from tests.activities.helpers import START, make_activity, run_threads
from tests.factories import assert_template_sources


def test_jobs_are_registered():
    names = [name for name, _ in PERIODIC_JOBS]
    assert "server.activities.tasks.auto_sign_out" in names
    assert "server.activities.tasks.send_reminders" in names


def test_reminders_once_for_the_enrolled(app, client, db, units, login):
    clock.freeze(START - dt.timedelta(days=1))
    activity = make_activity(units["A"], capacity=1)
    first, waiting = login("rider"), login("rider")
    for auth in (first, waiting):
        client.post(f"/api/v1/activities/{activity.id}/enrolments", headers=auth)
    assert tasks.send_reminders() == 0  # too early
    clock.freeze(START - dt.timedelta(minutes=90))
    results = run_threads(app, [lambda c: tasks.send_reminders() for _ in range(3)])
    assert sorted(results) == [0, 0, 1]
    rows = db.session.execute(select(Notification.user_id, Notification.kind)).all()
    assert rows == [(first.user_id, "activity_reminder")]


def notices(db, user_id):
    return (
        db.session.execute(
            select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
        )
        .scalars()
        .all()
    )


def test_a_moved_activity_is_announced_and_reminded_again(client, db, units, login):
    """The reminder went out, then the speaker fell ill: moved to the next day. Everyone
    enrolled or waitlisted is told the new time at once, and reminded again before it."""
    clock.freeze(START - dt.timedelta(days=1))
    activity = make_activity(units["A"], capacity=1)
    first, waiting = login("rider"), login("rider")
    for auth in (first, waiting):
        client.post(f"/api/v1/activities/{activity.id}/enrolments", headers=auth)
    admin = login("community_admin", "A")
    path = f"/api/v1/admin/activities/{activity.id}"
    clock.freeze(START - dt.timedelta(minutes=90))
    assert tasks.send_reminders() == 1
    # Other edits, the unchanged times sent back as the form does: nobody is told anything.
    same = {"starts_at": "2026-06-06T09:00:00+08:00", "ends_at": "2026-06-06T11:00:00+08:00"}
    assert (
        client.patch(path, json={"title": "交通安全课", **same}, headers=admin).status_code == 200
    )
    assert [n.kind for n in notices(db, first.user_id)] == ["activity_reminder"]

    moved = {"starts_at": "2026-06-07T09:00:00+08:00", "ends_at": "2026-06-07T11:00:00+08:00"}
    response = client.patch(path, json=moved, headers=admin)
    assert response.status_code == 200, response.get_json()
    for auth in (first, waiting):
        notice = notices(db, auth.user_id)[-1]
        assert (notice.kind, notice.title) == ("activity_rescheduled", "活动时间变更")
        assert "6月7日 09:00～11:00" in notice.body
        assert notice.page == f"packages/activities/detail/index?id={activity.id}"
        shown = assert_template_sources(notice)
        assert (shown["thing1"], shown["phrase2"], shown["thing3"]) == (
            {"value": "交通安全课"},
            {"value": "时间变更"},
            {"value": "改至6月7日 09:00"},
        )
    assert tasks.send_reminders() == 0  # not due yet for the new start
    clock.freeze(START + dt.timedelta(days=1, minutes=-90))
    assert tasks.send_reminders() == 1
    reminder = notices(db, first.user_id)[-1]
    assert (reminder.kind, reminder.data["starts_at"]) == (
        "activity_reminder",
        "2026-06-07T09:00:00+08:00",
    )
    assert tasks.send_reminders() == 0

    # Moved again, and then back: told each time.
    later = {"starts_at": "2026-06-08T09:00:00+08:00", "ends_at": "2026-06-08T11:00:00+08:00"}
    for times in (later, moved):
        assert client.patch(path, json=times, headers=admin).status_code == 200
    kinds = [n.kind for n in notices(db, first.user_id)]
    assert (
        kinds
        == ["activity_reminder", "activity_rescheduled", "activity_reminder"]
        + ["activity_rescheduled"] * 2
    )
    assert [n.kind for n in notices(db, waiting.user_id)] == ["activity_rescheduled"] * 3


@pytest.mark.parametrize(
    "meanwhile",
    [
        {"status": "cancelled"},
        {
            "starts_at": START + dt.timedelta(days=1),
            "ends_at": START + dt.timedelta(days=1, hours=2),
        },
    ],
    ids=["cancelled", "moved"],
)
def test_no_reminder_for_an_activity_cancelled_or_moved_since_it_was_found_due(
    client, db, units, login, monkeypatch, meanwhile
):
    clock.freeze(START - dt.timedelta(days=1))
    activity = make_activity(units["A"])
    rider = login("rider")
    client.post(f"/api/v1/activities/{activity.id}/enrolments", headers=rider)
    clock.freeze(START - dt.timedelta(minutes=90))
    real = tasks.update

    def change_then_claim(model):
        # stands in for the cancellation's (or the edit's) commit between SELECT and claim
        db.session.execute(update(Activity).where(Activity.id == activity.id).values(**meanwhile))
        db.session.commit()
        return real(model)

    monkeypatch.setattr(tasks, "update", change_then_claim)
    assert tasks.send_reminders() == 0
    monkeypatch.setattr(tasks, "update", real)
    assert notices(db, rider.user_id) == []
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).reminded_at is None


def test_demo_seed_is_idempotent(db):
    units = seed_org()
    seed_users(units)
    first = seed_activities_demo(units)
    counts = [
        db.session.execute(select(func.count()).select_from(model)).scalar_one()
        for model in (Activity, Post, Enrolment, Need)
    ]
    assert counts == [6, 15, 2, 3]
    assert first == ["activities: 6 new; posts: 15 new; needs: 3 new"]
    assert seed_activities_demo(units) == ["activities: 0 new; posts: 0 new; needs: 0 new"]
    titles = set(db.session.execute(select(Activity.title)).scalars())
    assert "红骑手公益课堂：交通安全" in titles and "暖新问需会：骑手朋友说说心里话" in titles
