"""Deadlines with a controllable clock: yellow at 75 %, red at 100 %, escalation up the tree."""

from __future__ import annotations

import datetime as dt
import threading

from server import clock
from server.reports.models import ReportEvent, WorkOrder
from server.reports.tasks import scan_overdue
from tests.reports.conftest import IN_A2, soon

START = dt.datetime(2026, 3, 2, 1, 0)  # 09:00 in Shanghai


def _events(db, order_id, action):
    db.session.expire_all()
    return db.session.query(ReportEvent).filter_by(work_order_id=order_id, action=action).all()


def test_accept_clock_yellow_red_and_escalation(order_in, db, units, client, team):
    clock.freeze(START)
    order_id, reporter = order_in("dispatched")  # dumping: 2 h to accept, 24 h to resolve
    clock.freeze(START + dt.timedelta(minutes=80))  # 67 %: nothing
    assert scan_overdue() == 0
    clock.freeze(START + dt.timedelta(minutes=95))  # 79 %: yellow
    assert scan_overdue() == 1
    assert scan_overdue() == 0  # idempotent
    order = db.session.get(WorkOrder, order_id)
    assert order.accept_warn == 1 and order.escalated_unit_id is None
    assert len(_events(db, order_id, "overdue_warning")) == 1
    view = client.get(f"/api/v1/work-orders/{order_id}", headers=team["admin_a"]).get_json()
    assert view["clock"]["level"] == "yellow" and view["clock"]["phase"] == "accept"

    clock.freeze(START + dt.timedelta(minutes=121))  # red: escalate one level (A1 -> A)
    assert scan_overdue() == 1
    order = db.session.get(WorkOrder, order_id)
    assert order.accept_warn == 2 and order.escalated_unit_id == units["A"].id
    assert len(_events(db, order_id, "escalate")) == 1
    # the reporter sees that it is overdue and pressed (public), not the internal warning
    report_id = order.report_id
    mine = client.get(f"/api/v1/reports/{report_id}", headers=reporter).get_json()
    actions = [e["action"] for e in mine["timeline"]]
    assert "overdue" in actions and "escalate" in actions and "overdue_warning" not in actions

    clock.freeze(START + dt.timedelta(minutes=181))  # 150 %: two levels up (the street)
    assert scan_overdue() == 1
    order = db.session.get(WorkOrder, order_id)
    assert order.escalated_unit_id == units["S1"].id and order.escalation_level == 2
    assert scan_overdue() == 0
    listed = client.get("/api/v1/work-orders?overdue=true", headers=team["street"]).get_json()
    assert [o["id"] for o in listed["items"]] == [order_id]


def test_overdue_notifies_the_assignee_and_escalation_notifies_the_unit_above(
    order_in, db, team, units, login
):
    from server.notifications.models import Notification

    upper = login("community_admin", "A")
    clock.freeze(START)
    order_in("dispatched")
    clock.freeze(START + dt.timedelta(hours=2, minutes=1))
    scan_overdue()
    kinds = {
        (n.user_id, n.kind)
        for n in db.session.query(Notification).filter(Notification.kind.like("work_order_%"))
    }
    assert (team["worker_a1"].user_id, "work_order_overdue") in kinds
    assert (upper.user_id, "work_order_escalated") in kinds or (
        team["admin_a"].user_id,
        "work_order_escalated",
    ) in kinds


def test_resolve_clock_after_accept_and_late_flags(order_in, act, team, db, upload):
    clock.freeze(START)
    order_id, _ = order_in("dispatched")
    clock.freeze(START + dt.timedelta(hours=3))  # accepted late
    act(team["worker_a1"], order_id, "accept")
    order = db.session.get(WorkOrder, order_id)
    assert order.accepted_late
    clock.freeze(START + dt.timedelta(hours=19))  # 79 % of the 24 h resolve window
    assert scan_overdue() == 1
    db.session.expire_all()
    assert db.session.get(WorkOrder, order_id).resolve_warn == 1


def test_returning_or_reassigning_does_not_reset_the_clock(order_in, act, team, db, login):
    clock.freeze(START)
    order_id, _ = order_in("dispatched")
    due = db.session.get(WorkOrder, order_id).accept_due_at
    clock.freeze(START + dt.timedelta(minutes=100))
    act(team["worker_a1"], order_id, "return", note="不是本网格")
    other = login("grid_worker", "A2")
    act(team["admin_a"], order_id, "dispatch", assignee_id=other.user_id)
    db.session.expire_all()
    order = db.session.get(WorkOrder, order_id)
    assert order.accept_due_at == due
    assert scan_overdue() == 1  # still yellow: the clock ran on
    reassign = _events(db, order_id, "dispatch")[-1]
    assert reassign.to_state == "dispatched"


def test_paused_while_on_hold_and_auto_resumes(order_in, act, team, db):
    clock.freeze(START)
    order_id, _ = order_in("in_progress")
    act(team["worker_a1"], order_id, "hold", note="等待供电公司", hold_until=soon(2))
    clock.freeze(START + dt.timedelta(hours=23))  # would be yellow if it were running
    assert scan_overdue() == 0
    clock.freeze(START + dt.timedelta(days=2, minutes=1))
    scan_overdue()
    db.session.expire_all()
    order = db.session.get(WorkOrder, order_id)
    assert order.state == "in_progress"
    assert order.resolve_due_at > START + dt.timedelta(days=2)
    assert len(_events(db, order_id, "auto_resume")) == 1


def test_two_scans_at_once_warn_once(app, order_in, db):
    clock.freeze(START)
    ids = [order_in("dispatched")[0] for _ in range(3)]
    clock.freeze(START + dt.timedelta(minutes=125))
    results, errors = [], []

    def run():
        try:
            with app.app_context():
                results.append(scan_overdue())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(results) == 3
    for order_id in ids:
        assert len(_events(db, order_id, "overdue")) == 1
        assert len(_events(db, order_id, "escalate")) == 1


def _red(order_id, db, units, unit="A"):
    """Past the 2 h accept window: escalated (督办) one level up, to `unit`."""
    clock.freeze(START + dt.timedelta(hours=2, minutes=1))
    assert scan_overdue() == 1
    db.session.expire_all()
    assert db.session.get(WorkOrder, order_id).escalated_unit_id == units[unit].id


def test_an_order_moved_out_from_under_its_escalated_unit_leaves_it(
    order_in, act, team, db, units, login, client
):
    clock.freeze(START)
    order_id, _ = order_in("dispatched")  # owned by grid A1
    _red(order_id, db, units)
    a2 = login("grid_worker", "A2")
    act(team["admin_a"], order_id, "reassign", assignee_id=a2.user_id, note="换人")
    db.session.expire_all()
    assert db.session.get(WorkOrder, order_id).escalated_unit_id == units["A"].id  # still below
    b1 = login("grid_worker", "B1")
    act(team["street"], order_id, "reassign", assignee_id=b1.user_id, note="属于B社区")
    db.session.expire_all()
    order = db.session.get(WorkOrder, order_id)
    assert (order.org_unit_id, order.escalated_unit_id) == (units["B1"].id, None)
    assert order.escalation_level == 1  # the history stays
    admin_a = team["admin_a"]
    assert client.get(f"/api/v1/work-orders/{order_id}", headers=admin_a).status_code == 404
    listed = client.get("/api/v1/work-orders", headers=admin_a).get_json()
    assert order_id not in [o["id"] for o in listed["items"]]


def test_an_order_returned_above_its_escalated_unit_leaves_it(
    file_report, act, team, db, units, login, client
):
    clock.freeze(START)
    report_id = file_report(login("resident"), where=IN_A2)["report"]["id"]
    order_id = db.session.query(WorkOrder).filter_by(report_id=report_id).one().id
    act(team["street"], order_id, "dispatch", assignee_id=team["worker_a1"].user_id)
    _red(order_id, db, units)
    act(team["worker_a1"], order_id, "return", note="不属于本网格")  # back to the street
    db.session.expire_all()
    order = db.session.get(WorkOrder, order_id)
    assert (order.org_unit_id, order.escalated_unit_id) == (units["S1"].id, None)
    assert client.get(f"/api/v1/work-orders/{order_id}", headers=team["admin_a"]).status_code == 404


def test_the_escalated_unit_watches_an_order_owned_elsewhere_and_is_offered_nothing(
    order_in, act, team, db, units, client
):
    """Escalated to community A but owned outside A (as rows escalated before escalation
    followed the owner may be): A's admin sees the order and is offered no action, since
    every one would be a 404; the owner's side is offered its actions."""
    order_id, _ = order_in("received")
    order = db.session.get(WorkOrder, order_id)
    order.org_unit_id, order.escalated_unit_id = units["B"].id, units["A"].id
    db.session.commit()
    admin_a = team["admin_a"]
    view = client.get(f"/api/v1/work-orders/{order_id}", headers=admin_a).get_json()
    assert view["escalated_unit"]["id"] == units["A"].id
    assert view["allowed_actions"] == []
    refused = act(admin_a, order_id, "reject", expect=404, note="x")
    assert refused.get_json()["code"] == "work_order.not_found"
    street = client.get(f"/api/v1/work-orders/{order_id}", headers=team["street"]).get_json()
    assert {"dispatch", "reject"} <= set(street["allowed_actions"])


def test_the_overdue_message_shows_the_deadline(order_in, db, team):
    """Its template's time field read `deadline`, which the warning did not write: staff
    were shown the send time as the deadline."""
    from server.notifications.fields import format_time
    from server.notifications.models import Notification
    from tests.factories import assert_template_sources

    clock.freeze(START)
    order_id, _ = order_in("dispatched")
    due = db.session.get(WorkOrder, order_id).accept_due_at
    clock.freeze(START + dt.timedelta(hours=2, minutes=1))
    scan_overdue()
    notice = (
        db.session.query(Notification)
        .filter_by(user_id=team["worker_a1"].user_id, kind="work_order_overdue")
        .first()
    )
    shown = assert_template_sources(notice)
    assert shown["time3"]["value"] == format_time(due)


def test_a_scan_reads_the_open_orders_clocks_in_one_statement(order_in, db):
    """Most open orders are not due: finding that out costs one read for all of them, not a
    statement per order (at a city's volumes: thousands every five minutes)."""
    from tests.factories import recorded_statements

    clock.freeze(START)
    for _ in range(6):
        order_in("dispatched")
    clock.freeze(START + dt.timedelta(minutes=30))  # 25 %: none due
    with recorded_statements() as statements:
        assert scan_overdue() == 0
    reads = [s for s in statements if s.startswith("SELECT") and "work_orders" in s]
    assert len(reads) == 2, reads  # the holds that came due, the open clocks
    clock.freeze(START + dt.timedelta(minutes=95))  # 79 %: all six yellow, as before
    assert scan_overdue() == 6
    assert {o.accept_warn for o in db.session.query(WorkOrder)} == {1}
