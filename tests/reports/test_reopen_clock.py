"""'Not fixed' reopens an order with a new resolve clock (重新计时): the SLA ratio runs from
the reopening, and the new clock's warnings reach the assignee again."""

from __future__ import annotations

import datetime as dt

from server import clock
from server.notifications.models import Notification
from server.reports.models import ReportEvent, WorkOrder
from server.reports.tasks import scan_overdue
from server.reports.workflow import clock_of

START = dt.datetime(2026, 3, 2, 1, 0)  # 09:00 in Shanghai
HOUR = dt.timedelta(hours=1)


def _not_fixed(db, client, order_id, reporter):
    report_id = db.session.get(WorkOrder, order_id).report_id
    response = client.post(
        f"/api/v1/reports/{report_id}/feedback", json={"stars": 1, "fixed": False}, headers=reporter
    )
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    return db.session.get(WorkOrder, order_id)


def test_a_reopened_order_has_its_new_window_from_the_reopening(
    db, client, act, team, upload, order_in
):
    clock.freeze(START)
    order_id, reporter = order_in("accepted")  # dumping: 24 h to resolve
    worker = team["worker_a1"]
    clock.freeze(START + 20 * HOUR)
    act(worker, order_id, "resolve", note="已清理", photo_ids=[upload(worker)])
    reopened_at = START + dt.timedelta(days=5)
    clock.freeze(reopened_at)
    order = _not_fixed(db, client, order_id, reporter)
    assert order.clock_restarted_at == reopened_at
    assert order.resolve_due_at == reopened_at + 24 * HOUR
    view = client.get(f"/api/v1/work-orders/{order_id}", headers=team["admin_a"]).get_json()
    assert view["clock"]["level"] == "green", view["clock"]
    assert view["clock"]["ratio"] == 0
    assert scan_overdue() == 0
    # 18 h into the new 24 h: yellow, warned once
    clock.freeze(reopened_at + 18 * HOUR)
    assert clock_of(db.session.get(WorkOrder, order_id))["ratio"] == 0.75
    assert scan_overdue() == 1
    db.session.expire_all()
    warnings = db.session.query(ReportEvent).filter_by(
        work_order_id=order_id, action="overdue_warning"
    )
    assert warnings.count() == 1


def test_a_never_reopened_order_still_runs_from_its_creation(db, order_in):
    clock.freeze(START)
    order_id, _ = order_in("accepted")
    order = db.session.get(WorkOrder, order_id)
    assert order.clock_restarted_at is None
    assert clock_of(order, START + 18 * HOUR)["ratio"] == 0.75


def test_the_new_clock_running_out_tells_the_assignee_again(
    db, client, act, team, upload, order_in
):
    worker = team["worker_a1"]
    clock.freeze(START)
    order_id, reporter = order_in("accepted")
    clock.freeze(START + 25 * HOUR)
    assert scan_overdue() == 1  # first round: red
    act(worker, order_id, "resolve", note="已清理", photo_ids=[upload(worker)])
    clock.freeze(START + 26 * HOUR)
    _not_fixed(db, client, order_id, reporter)
    clock.freeze(START + (26 + 25) * HOUR)  # second round: the new 24 h clock ran out
    assert scan_overdue() == 1
    db.session.expire_all()
    overdue = db.session.query(ReportEvent).filter_by(work_order_id=order_id, action="overdue")
    assert overdue.count() == 2
    told = db.session.query(Notification).filter_by(
        user_id=worker.user_id, kind="work_order_overdue"
    )
    assert told.count() == 2, [n.dedupe_key for n in told]
    # and one level up is told to supervise this round too
    escalations = db.session.query(Notification).filter(
        Notification.kind == "work_order_escalated",
        Notification.dedupe_key.like(f"wo:{order_id}:resolve:warn2%:escalate:%"),
    )
    assert {n.dedupe_key.split(":escalate:")[0] for n in escalations} == {
        f"wo:{order_id}:resolve:warn2",
        f"wo:{order_id}:resolve:warn2:reopen1",
    }
