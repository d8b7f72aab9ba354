"""A claim bounds what a worker may do to its row: a row whose workers keep dying is not
sent forever, a worker whose lease expired cannot undo the next worker's send, and staff
who cannot receive a WeChat message do not stop an alert going up."""

from __future__ import annotations

import datetime as dt
import threading

from server import clock
from server.auth.models import User
from server.extensions import db
from server.notifications import tasks
from server.notifications.config import setting
from server.notifications.models import Notification
from server.notifications.services import credit_count, notify, notify_staff, reachable
from server.notifications.tasks import deliver, deliver_due_now, sweep_outbox
from server.wechat.errors import WeChatUnavailable
from tests.notifications.conftest import SEND_PATH, rows, sends, tpl

START = dt.datetime(2024, 5, 1, 8, 0)


def _row(notification_id: int) -> Notification:
    db.session.expire_all()
    return db.session.get(Notification, notification_id)


def _stuck_in_sending(auth, attempts: int, *, credit_held: bool) -> int:
    """A worker claimed the row for its `attempts`-th time, then hung or died in the send."""
    clock.freeze(START)
    row = notify(auth.user_id, "report_status", title="上报已受理", body="…")
    db.session.commit()
    row.status, row.attempts, row.claimed_at = "sending", attempts, START
    if credit_held:
        from server.notifications.services import spend_credit

        assert spend_credit(auth.user_id, tpl("report_status"))
        row.credit_held, row.channel = True, "subscribe"
    db.session.commit()
    return row.id


def _after_the_lease(seconds: int = 60) -> None:
    clock.freeze(START + dt.timedelta(seconds=setting("NOTIFY_SENDING_LEASE_SECONDS") + seconds))


# -- a row whose workers keep dying ------------------------------------------------------


def test_a_row_stuck_in_sending_after_its_last_attempt_fails_as_outcome_unknown(
    login, sandbox, credit, redis
):
    """Its worker hung past the job timeout or crashed, maybe after WeChat took the send:
    like a read timeout, the row ends failed (outcome unknown), it is not sent again, the
    credit it held counts as used, and the operator's counter says so."""
    from server.ops.metrics import NOTIFICATIONS_FAILED

    redis.delete(NOTIFICATIONS_FAILED.key)
    rider = login("rider")
    credit(rider, "report_status", 2)
    nid = _stuck_in_sending(rider, setting("NOTIFY_MAX_ATTEMPTS"), credit_held=True)
    _after_the_lease()
    assert sweep_outbox() == {"recovered": 0, "lost": 1, "due": 0, "enqueued": 0}
    assert deliver_due_now() == {}
    assert deliver(nid) == "skipped"
    assert sends(sandbox) == []
    row = _row(nid)
    assert (row.status, row.last_error) == ("failed", tasks.WORKER_LOST)
    assert row.claimed_at is None and not row.credit_held
    assert credit_count(rider.user_id, tpl("report_status")) == 1  # taken, not given back
    assert NOTIFICATIONS_FAILED.read() == {("report_status", "outcome_unknown"): 1.0}
    clock.freeze(START + dt.timedelta(days=1))
    assert sweep_outbox()["due"] == 0 and deliver_due_now() == {}
    assert sends(sandbox) == []


def test_a_row_stuck_in_sending_below_the_limit_is_sent_again(login, sandbox, credit):
    """The documented window for a duplicate: below NOTIFY_MAX_ATTEMPTS it goes back."""
    rider = login("rider")
    credit(rider, "report_status", 2)
    nid = _stuck_in_sending(rider, setting("NOTIFY_MAX_ATTEMPTS") - 1, credit_held=True)
    _after_the_lease()
    assert sweep_outbox()["recovered"] == 1
    assert deliver_due_now() == {"sent": 1}
    assert [c["errcode"] for c in sends(sandbox)] == [0]
    row = _row(nid)
    assert (row.status, row.attempts) == ("sent", setting("NOTIFY_MAX_ATTEMPTS"))
    assert credit_count(rider.user_id, tpl("report_status")) == 1  # sent with the held one


def test_a_worker_dying_on_every_attempt_ends_after_max_attempts(login, sandbox, credit):
    rider = login("rider")
    credit(rider, "report_status", 10)
    clock.freeze(START)
    notify(rider.user_id, "report_status", title="上报已受理", body="…")
    db.session.commit()
    [row] = rows(rider.user_id)
    nid = row.id
    lease = dt.timedelta(seconds=setting("NOTIFY_SENDING_LEASE_SECONDS") + 60)
    now = START
    for _ in range(3 * setting("NOTIFY_MAX_ATTEMPTS")):
        # a worker claims it and dies before finishing (the claim is all it committed)
        assert tasks._claim(nid, now) or _row(nid).status == "failed"
        now += lease
        clock.freeze(now)
        sweep_outbox()
    row = _row(nid)
    assert (row.status, row.attempts) == ("failed", setting("NOTIFY_MAX_ATTEMPTS"))
    assert row.last_error == tasks.WORKER_LOST
    assert sends(sandbox) == []


def test_a_pending_row_past_the_limit_is_not_claimed(login, sandbox, credit):
    """Backstop: whatever put it back in `pending`, a row that used every attempt is not
    sent again (nor enqueued over and over); the operator's retry starts it afresh."""
    rider = login("rider")
    credit(rider, "report_status")
    clock.freeze(START)
    row = notify(rider.user_id, "report_status", title="上报已受理", body="…")
    db.session.commit()
    row.attempts = setting("NOTIFY_MAX_ATTEMPTS")
    db.session.commit()
    nid = row.id
    assert sweep_outbox()["due"] == 0
    assert deliver_due_now() == {}
    assert deliver(nid) == "skipped"
    assert sends(sandbox) == [] and _row(nid).status == "pending"
    from server.notifications.admin import is_stuck, retry

    clock.freeze(START + dt.timedelta(minutes=11))
    assert is_stuck(_row(nid))  # the operator sees it
    retry(nid)
    assert deliver_due_now() == {"sent": 1}


# -- a worker whose lease expired -------------------------------------------------------


def _worker_a_fails_after_b_sent(app, login, credit, monkeypatch, error):
    """`deliver_due_now` has no job timeout: worker A hangs in WeChat's call past its lease,
    the sweeper gives the row to worker B, which sends it; then A's call fails with `error`.
    Returns (rider, notification id, A's outcome, B's outcome)."""
    rider = login("rider")
    credit(rider, "report_status", 2)
    clock.freeze(START)
    notify(rider.user_id, "report_status", title="上报已受理", body="…")
    db.session.commit()
    [row] = rows(rider.user_id)
    nid = row.id
    real_send = tasks.send_subscribe
    second: list[str] = []

    def hung_then_failing(row, user, template):
        monkeypatch.setattr(tasks, "send_subscribe", real_send)
        _after_the_lease()

        def worker_b():
            with app.app_context():
                sweep_outbox()
                second.append(deliver(nid))

        thread = threading.Thread(target=worker_b)
        thread.start()
        thread.join(timeout=30)
        raise error

    monkeypatch.setattr(tasks, "send_subscribe", hung_then_failing)
    first = deliver_due_now()  # worker A
    return rider, nid, first, second


def test_a_worker_whose_lease_expired_does_not_undo_the_next_workers_send(
    app, login, sandbox, credit, monkeypatch
):
    """A's retry after -1 must not put B's `sent` row back to `pending` (a second send)."""
    busy = WeChatUnavailable(-1, "system busy", path=SEND_PATH)
    rider, nid, first, second = _worker_a_fails_after_b_sent(app, login, credit, monkeypatch, busy)
    assert second == ["sent"]
    clock.freeze(START + dt.timedelta(hours=1))
    later = deliver_due_now()
    assert [c["errcode"] for c in sends(sandbox)] == [0]  # B's send, and no other
    row = _row(nid)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert credit_count(rider.user_id, tpl("report_status")) == 1
    assert (first, later) == ({"skipped": 1}, {})  # A's outcome was not written


def test_a_worker_whose_lease_expired_does_not_give_back_a_credit_twice(
    app, login, sandbox, credit, monkeypatch
):
    """Worker A's refusal (a bad template, a credit refund) comes after worker B sent the
    row: A's refund is rolled back with its write, B's send stands."""
    from server.wechat.errors import WeChatError

    refused = WeChatError(47003, "argument invalid", path=SEND_PATH)
    rider, nid, first, second = _worker_a_fails_after_b_sent(
        app, login, credit, monkeypatch, refused
    )
    assert second == ["sent"]
    row = _row(nid)
    assert (row.status, row.last_error) == ("sent", None)
    assert credit_count(rider.user_id, tpl("report_status")) == 1  # one used by B, none back
    assert first == {"skipped": 1}


# -- staff who cannot receive a WeChat message -----------------------------------------


def test_a_deactivated_staff_member_does_not_stop_the_alert_going_up(login, units, credit):
    """A deactivated account whose binding was not revoked still holds its credits; it is
    not on duty, so the alert goes up to the community."""
    grid = login("grid_worker", "A1")
    community = login("community_admin", "A")
    credit(grid, "work_order_new")
    credit(community, "work_order_new")
    db.session.get(User, grid.user_id).is_active = False
    db.session.commit()
    created = notify_staff(
        units["A1"].id,
        "work_order_new",
        title="新工单待接单",
        body="路灯不亮",
        data={"order_no": "GD1"},
        dedupe_key="wo:GD1",
    )
    db.session.commit()
    assert [n.user_id for n in created] == [community.user_id]
    assert not reachable(grid.user_id, "work_order_new")
    assert reachable(community.user_id, "work_order_new")
