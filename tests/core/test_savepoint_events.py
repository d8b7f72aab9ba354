"""Work kept for after a commit waits for the OUTERMOST transaction.

SQLAlchemy fires `after_commit` when a SAVEPOINT is released and `after_rollback` when one
is rolled back (a notification's dedupe insert opens one, so does a credit row). Each of
our after-commit hooks (`server.extensions.in_savepoint`) must neither run at a savepoint's
release — the data is not committed yet, and the real commit would find nothing left to
do — nor drop its work at a savepoint's rollback — the enclosing transaction still commits.
"""

from __future__ import annotations

import datetime as dt

import pytest

from server import clock
from server.auth import principal as principals
from server.auth.models import User
from server.extensions import db, get_redis, redis_after_commit


def savepoint_released() -> None:
    with db.session.begin_nested():
        pass


def savepoint_rolled_back() -> None:
    with pytest.raises(RuntimeError), db.session.begin_nested():
        raise RuntimeError("a dedupe insert that lost its race, say")


def test_redis_writes_wait_for_the_outer_commit(app):
    done = []
    redis_after_commit(lambda pipe: done.append("first"))
    savepoint_released()
    assert done == []  # not before the data is committed
    db.session.rollback()
    assert done == []  # and never: the transaction did not commit

    redis_after_commit(lambda pipe: done.append("second"))
    savepoint_rolled_back()
    db.session.commit()
    assert done == ["second"]  # the enclosing transaction committed: not lost


def test_principal_records_wait_for_the_outer_commit(login):
    auth = login("rider", display_name="张三")
    user = db.session.get(User, auth.user_id)

    def record():
        return principals._decode(auth.user_id, get_redis().get(f"auth:p:{auth.user_id}"))

    user.display_name = "李四"
    db.session.flush()
    savepoint_released()
    db.session.rollback()
    assert record().display_name == "张三"

    user = db.session.get(User, auth.user_id)
    user.display_name = "王五"
    db.session.flush()
    savepoint_rolled_back()
    db.session.commit()
    assert record().display_name == "王五"


def test_notification_deliveries_wait_for_the_outer_commit(login, monkeypatch):
    from server.notifications import queue
    from server.notifications.services import notify

    enqueued = []
    monkeypatch.setattr(queue, "enqueue_deliveries", lambda ids: enqueued.append(list(ids)))
    auth = login("rider")

    notify(auth.user_id, "redemption_created", title="t", body="b")
    savepoint_released()
    db.session.rollback()
    assert enqueued == []

    row = notify(auth.user_id, "redemption_created", title="t", body="b")
    savepoint_rolled_back()
    db.session.commit()
    if row.status == "pending":  # a template is configured: a WeChat delivery is queued
        assert enqueued == [[row.id]]
    else:
        pytest.fail(f"the test needs a deliverable notification, got {row.status}")


def test_a_ranking_award_survives_a_rolled_back_savepoint(client, login):
    from server.points.services import award_points

    clock.freeze(dt.datetime(2026, 11, 18, 4, 0))
    auth = login("rider", display_name="张三")
    board = client.get("/api/v1/rankings?period=month", headers=auth).get_json()  # built
    assert board["me"]["points"] == 0
    award_points(auth.user_id, 10, reason="测试", source_type="test", source_id="s1")
    savepoint_rolled_back()
    db.session.commit()
    board = client.get("/api/v1/rankings?period=month", headers=auth).get_json()
    assert board["me"]["points"] == 10
