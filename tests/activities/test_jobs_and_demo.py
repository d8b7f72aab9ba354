"""Reminders (once per activity, even from several nodes) and the idempotent demo data."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from server import PERIODIC_JOBS, clock
from server.activities import tasks
from server.activities.demo import seed_activities_demo
from server.activities.models import Activity, Enrolment
from server.demo import seed_org, seed_users
from server.needs.models import Need
from server.notifications.models import Notification
from server.posts.models import Post
from tests.activities.helpers import START, make_activity, run_threads


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
