"""The outbox and the worker against the WeChat sandbox: right template, data and openid;
credits; each WeChat error handled as documented."""

from __future__ import annotations

import datetime as dt

from rq import Queue

from server import clock
from server.extensions import db, get_raw_redis
from server.notifications.models import SubscriptionCredit
from server.notifications.queue import NOTIFICATIONS_QUEUE
from server.notifications.services import credit_count, notify, notify_staff
from server.notifications.tasks import deliver, deliver_due_now
from tests.notifications.conftest import SEND_PATH, rows, run_worker, sends, tpl, wait_until


def _work_order_event(unit_id, no="GD20240501001"):
    """What the reports domain does when a work order is created (in its transaction)."""
    created = notify_staff(
        unit_id,
        "work_order_new",
        title="新工单待接单",
        body="居民上报：小区东门路灯不亮，请及时处理。",
        page=f"pages/workorder/detail?no={no}",
        data={
            "order_no": no,
            "category": "市容环境/路灯照明设施损坏需要尽快维修处理",
            "address": "淮河路街道淮北社区东门",
            "time": dt.datetime(2024, 5, 1, 7, 1),
        },
        dedupe_key=f"wo-new:{no}",
    )
    db.session.commit()
    return created


def test_work_order_reaches_the_grid_worker_with_the_right_template_and_data(
    login, units, sandbox, credit
):
    grid = login("grid_worker", "A1")
    credit(grid, "work_order_new")
    grid_id = units["A1"].id
    created = _work_order_event(grid_id)
    assert [n.user_id for n in created] == [grid.user_id]
    assert Queue(NOTIFICATIONS_QUEUE, connection=get_raw_redis()).count == 1

    run_worker()

    [call] = sends(sandbox)
    assert call["errcode"] == 0
    body = call["body"]
    assert body["touser"] == grid.openid
    assert body["template_id"] == tpl("work_order_new")
    assert body["page"] == "pages/workorder/detail?no=GD20240501001"
    assert body["miniprogram_state"] == "formal"
    assert body["lang"] == "zh_CN"
    assert body["data"] == {
        "character_string1": {"value": "GD20240501001"},
        "thing2": {"value": "市容环境/路灯照明设施损坏需要尽快维修…"},
        "thing3": {"value": "淮河路街道淮北社区东门"},
        "time4": {"value": "2024年5月1日 15:01"},
    }
    [row] = rows(grid.user_id)
    assert row.status == "sent" and row.wechat_msgid and row.channel == "subscribe"
    assert credit_count(grid.user_id, tpl("work_order_new")) == 0
    # the same event again is a no-op (dedupe key), and a resend of the job sends nothing
    _work_order_event(grid_id)
    assert deliver(row.id) == "skipped"
    run_worker()
    assert len(sends(sandbox)) == 1 and len(rows(grid.user_id)) == 1


def test_no_credit_means_no_wechat_call_and_inbox_only(login, units, sandbox, client):
    grid = login("grid_worker", "A1")
    _work_order_event(units["A1"].id)
    run_worker()
    assert sends(sandbox) == []
    [row] = rows(grid.user_id)
    assert row.status == "inbox" and row.last_error == "no subscription credit"
    inbox = client.get("/api/v1/me/notifications", headers=grid).get_json()
    assert [n["title"] for n in inbox["items"]] == ["新工单待接单"]


def test_unknown_kind_goes_to_the_inbox_only(login, sandbox, client):
    rider = login("rider")
    notify(rider.user_id, "something_new", title="新功能", body="欢迎体验")
    db.session.commit()
    run_worker()
    assert sends(sandbox) == []
    [row] = rows(rider.user_id)
    assert row.status == "inbox" and row.template_id is None


def test_43101_clears_the_credit_and_keeps_the_inbox(login, sandbox, client):
    rider = login("rider")
    # our credit says yes, WeChat says the user refused (no grant in the sandbox)
    client.post(
        "/api/v1/me/subscriptions", json={"accepted": [tpl("report_status")] * 3}, headers=rider
    )
    notify(rider.user_id, "report_status", title="上报已受理", body="…", data={"status": "已受理"})
    db.session.commit()
    run_worker()
    [call] = sends(sandbox)
    assert call["errcode"] == 43101
    [row] = rows(rider.user_id)
    assert row.status == "inbox" and row.last_error.startswith("43101")
    assert credit_count(rider.user_id, tpl("report_status")) == 0


def test_system_busy_is_retried_with_backoff_then_sent(login, sandbox, credit):
    rider = login("rider")
    credit(rider, "report_status")
    sandbox.fault(SEND_PATH, errcode=-1, times=1)
    start = dt.datetime(2024, 5, 1, 8, 0)
    clock.freeze(start)
    notify(rider.user_id, "report_status", title="上报已受理", body="…")
    db.session.commit()
    run_worker()
    [row] = rows(rider.user_id)
    assert row.status == "pending" and row.attempts == 1 and row.last_error.startswith("-1")
    assert row.next_attempt_at == start + dt.timedelta(seconds=30)
    assert row.credit_held  # kept for the retry, not spent twice
    assert deliver_due_now() == {}  # not due yet
    clock.freeze(start + dt.timedelta(seconds=31))
    assert deliver_due_now() == {"sent": 1}
    [row] = rows(rider.user_id)
    assert row.status == "sent" and row.attempts == 2
    assert [c["errcode"] for c in sends(sandbox)] == [-1, 0]
    assert credit_count(rider.user_id, tpl("report_status")) == 0


def test_5xx_retried_up_to_the_limit_then_failed_and_the_credit_returned(
    app, login, sandbox, credit, monkeypatch
):
    monkeypatch.setitem(app.config, "NOTIFY_MAX_ATTEMPTS", 3)
    rider = login("rider")
    credit(rider, "report_status")
    sandbox.fault(SEND_PATH, http_status=503, times=10)
    start = dt.datetime(2024, 5, 1, 8, 0)
    clock.freeze(start)
    notify(rider.user_id, "report_status", title="上报已受理", body="…")
    db.session.commit()
    delays = []
    for _ in range(3):
        deliver_due_now()
        [row] = rows(rider.user_id)
        if row.next_attempt_at:
            delays.append((row.next_attempt_at - clock.utcnow()).total_seconds())
            clock.freeze(row.next_attempt_at)
    assert delays == [30, 60]  # exponential
    [row] = rows(rider.user_id)
    assert row.status == "failed" and row.attempts == 3 and "HTTP 503" in row.last_error
    assert credit_count(rider.user_id, tpl("report_status")) == 1  # WeChat never used it


def test_a_read_timeout_is_an_unknown_outcome_not_sent_again(login, sandbox, credit, client):
    """The request reached WeChat and the answer was lost: WeChat may have delivered it and
    has no idempotency key, so a retry could reach the rider twice. The row ends failed
    (outcome unknown), the credit counts as used, and the inbox still shows it.
    (A connect error sent nothing and is retried: test_delivery_outcomes.py.)"""
    rider = login("rider")
    credit(rider, "report_status", 2)
    sandbox.fault(SEND_PATH, delay_seconds=2.5, times=1)  # WECHAT_TIMEOUT is 2 s in tests
    start = dt.datetime(2024, 5, 1, 8, 0)
    clock.freeze(start)
    notify(rider.user_id, "report_status", title="上报已受理", body="…")
    db.session.commit()
    assert deliver_due_now() == {"failed": 1}
    [row] = rows(rider.user_id)
    assert row.status == "failed" and row.last_error == "outcome unknown (timeout)"
    assert row.attempts == 1 and not row.credit_held and row.next_attempt_at is None
    assert credit_count(rider.user_id, tpl("report_status")) == 1  # 2 - the one WeChat took
    assert wait_until(lambda: len(sandbox.messages()) == 1, 3)  # WeChat did deliver it
    clock.freeze(start + dt.timedelta(hours=1))
    assert deliver_due_now() == {}
    assert len(sandbox.messages()) == 1
    inbox = client.get("/api/v1/me/notifications", headers=rider).get_json()
    assert [n["title"] for n in inbox["items"]] == ["上报已受理"]


def test_invalid_token_is_refreshed_once_and_the_send_retried(login, sandbox, credit):
    rider = login("rider")
    credit(rider, "report_status")
    notify(rider.user_id, "report_status", title="a", body="b")
    db.session.commit()
    deliver_due_now()  # a token is fetched and cached in Redis
    sandbox.invalidate_tokens()
    sandbox.clear_calls()
    sandbox.grant_subscription(rider.openid, tpl("report_status"))
    client_credit = SubscriptionCredit.__table__
    db.session.execute(client_credit.update().values(count=1))
    db.session.commit()
    notify(rider.user_id, "report_status", title="c", body="d")
    db.session.commit()
    assert deliver_due_now() == {"sent": 1}
    paths = [(c["path"], c["errcode"]) for c in sandbox.calls() if c["path"] != "/sandbox/calls"]
    assert paths == [(SEND_PATH, 40001), ("/cgi-bin/stable_token", 0), (SEND_PATH, 0)]


def test_configuration_errors_fail_permanently_and_are_logged(login, sandbox, credit, caplog):
    rider = login("rider")
    credit(rider, "report_status", 3)
    for errcode in (47003, 40037, 41030):
        sandbox.fault(SEND_PATH, errcode=errcode, times=1)
        notify(rider.user_id, "report_status", title="上报已受理", body=str(errcode))
        db.session.commit()
        assert deliver_due_now() == {"failed": 1}
    assert [r.status for r in rows(rider.user_id)] == ["failed"] * 3
    assert [r.last_error.split(":")[0] for r in rows(rider.user_id)] == ["47003", "40037", "41030"]
    assert [r.attempts for r in rows(rider.user_id)] == [1, 1, 1]
    assert credit_count(rider.user_id, tpl("report_status")) == 3  # returned each time
    assert caplog.text.count("configuration problem") == 3


def test_rolled_back_event_leaves_no_notification_and_enqueues_nothing(login):
    rider = login("rider")
    notify(rider.user_id, "report_status", title="a", body="b")
    db.session.rollback()
    assert rows(rider.user_id) == []
    assert Queue(NOTIFICATIONS_QUEUE, connection=get_raw_redis()).count == 0


def test_the_same_event_in_concurrent_transactions_makes_one_notification(app, login):
    import threading

    rider = login("rider")
    barrier = threading.Barrier(4)
    results, errors = [], []

    def event():
        with app.app_context():
            try:
                barrier.wait()
                row = notify(
                    rider.user_id, "report_status", title="t", body="b", dedupe_key="report:9:done"
                )
                db.session.commit()
                results.append(row.id)
            except Exception as exc:  # pragma: no cover - shown by the assertion
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=event) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(rows(rider.user_id)) == 1
    assert len(set(results)) == 1


def test_deliveries_wechat_did_not_make_are_counted_for_the_operator(login, sandbox, credit, redis):
    """fengchao_notifications_failed_total (deploy/README's alert) was documented and never
    counted: by kind and reason — a configuration errcode, a refusal (43101), retries spent."""
    import datetime as dt

    from server import clock
    from server.ops.metrics import NOTIFICATIONS_FAILED

    redis.delete(NOTIFICATIONS_FAILED.key)
    rider = login("rider")
    credit(rider, "report_status", 3)
    sandbox.fault(SEND_PATH, errcode=47003, times=1)
    notify(rider.user_id, "report_status", title="a", body="config")
    db.session.commit()
    assert deliver_due_now() == {"failed": 1}
    sandbox.fault(SEND_PATH, errcode=43101, times=1)
    notify(rider.user_id, "report_status", title="b", body="refused")
    db.session.commit()
    assert deliver_due_now() == {"inbox": 1}
    grid = login("grid_worker", "A1")
    credit(grid, "work_order_new")
    start = dt.datetime(2024, 5, 1, 8, 0)
    clock.freeze(start)
    sandbox.fault(SEND_PATH, errcode=-1, times=10)
    notify(grid.user_id, "work_order_new", title="新工单", body="b", data={"category": "路灯"})
    db.session.commit()
    for minute in range(0, 600, 30):
        clock.freeze(start + dt.timedelta(minutes=minute))
        deliver_due_now()
    assert NOTIFICATIONS_FAILED.read() == {
        ("report_status", "config"): 1.0,
        ("report_status", "43101"): 1.0,
        ("work_order_new", "retries_exhausted"): 1.0,
    }
