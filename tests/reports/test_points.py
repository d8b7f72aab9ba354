"""Clue points through the ledger: once, first reporter full, duplicates a small award."""

from __future__ import annotations

from server.points.models import LedgerEntry
from server.points.services import rule_points
from server.reports.models import WorkOrder
from tests.reports.conftest import IN_A2


def _entries(db, user_id):
    db.session.expire_all()
    return [
        (e.rule, e.source_type, e.delta)
        for e in db.session.query(LedgerEntry).filter_by(user_id=user_id).all()
    ]


def test_resolved_clue_awards_once_first_reporter_full_duplicates_small(
    order_in, act, team, db, login, client, upload, units
):
    survivor, first = order_in("received")
    duplicate, second = order_in("received")
    resident_order, resident = order_in("received", reporter=login("resident"))
    act(team["admin_a"], duplicate, "merge", into_id=survivor)
    act(team["admin_a"], resident_order, "merge", into_id=survivor)
    worker = team["worker_a1"]
    act(team["admin_a"], survivor, "dispatch", assignee_id=worker.user_id)
    assert _entries(db, first.user_id) == []  # nothing before resolution
    act(worker, survivor, "accept")
    act(worker, survivor, "resolve", note="已清理", photo_ids=[upload(worker)])
    full = rule_points(units["A1"].id, "clue_accepted")
    small = rule_points(units["A1"].id, "clue_confirmed")
    assert _entries(db, first.user_id) == [("clue_accepted", "report", full)]
    assert _entries(db, second.user_id) == [("clue_confirmed", "report_confirm", small)]
    assert _entries(db, resident.user_id) == []  # residents report; riders earn clue points
    # 'not fixed' reopens; resolving again awards nothing more
    report_id = db.session.get(WorkOrder, survivor).report_id
    client.post(
        f"/api/v1/reports/{report_id}/feedback", json={"stars": 1, "fixed": False}, headers=first
    )
    act(worker, survivor, "resolve", note="再次清理", photo_ids=[upload(worker)])
    assert _entries(db, first.user_id) == [("clue_accepted", "report", full)]
    assert len(_entries(db, second.user_id)) == 1


def test_rejected_clue_earns_nothing_and_self_handled_earns_small(
    order_in, file_report, db, login, units
):
    _, rider = order_in("rejected")
    assert _entries(db, rider.user_id) == []
    handy = login("rider")
    file_report(handy, where=IN_A2, self_handled=True)
    assert _entries(db, handy.user_id) == [
        (
            "clue_self_handled",
            "report_self_handled",
            rule_points(units["A2"].id, "clue_self_handled"),
        )
    ]


def test_category_without_rider_points_awards_nothing(file_report, login, team, act, db, upload):
    rider = login("rider")
    body = file_report(rider, where=IN_A2, category="noise")
    order = db.session.query(WorkOrder).filter_by(report_id=body["report"]["id"]).one()
    worker = team["worker_a1"]
    act(team["admin_a"], order.id, "dispatch", assignee_id=worker.user_id)
    act(worker, order.id, "accept")
    act(worker, order.id, "resolve", note="已劝导", photo_ids=[upload(worker)])
    assert _entries(db, rider.user_id) == []


def test_a_self_handled_clue_judged_risky_earns_nothing(file_report, login, db, units):
    """Self-handled clues are paid at filing, with no one to look at them first: content
    WeChat's check holds as risky is not paid for."""
    rider = login("rider")
    body = file_report(rider, where=IN_A2, self_handled=True, description="[risky] 违规内容")
    assert body["report"]["status"] == "self_handled"
    assert _entries(db, rider.user_id) == []
    fine = file_report(rider, where=IN_A2, self_handled=True)
    assert fine["report"]["status"] == "self_handled"
    assert [entry[0] for entry in _entries(db, rider.user_id)] == ["clue_self_handled"]


def test_staff_who_resolve_their_own_clue_are_not_paid_for_it(
    client, file_report, act, team, db, upload, units
):
    """A grid worker also registered as a rider filed a clue in their own grid, took it
    and resolved it: no second person ever looked at it. Others' clues pay them as ever."""
    worker = team["worker_a1"]
    became_rider = client.patch(
        "/api/v1/me",
        json={"role": "rider", "community_id": units["A"].id, "platform": "meituan"},
        headers=worker,
    )
    assert became_rider.status_code == 200, became_rider.get_json()
    body = file_report(worker, where=IN_A2)
    order = db.session.query(WorkOrder).filter_by(report_id=body["report"]["id"]).one()
    order_id = order.id
    act(team["admin_a"], order_id, "dispatch", assignee_id=worker.user_id)
    act(worker, order_id, "accept")
    act(worker, order_id, "resolve", note="已清理", photo_ids=[upload(worker)])
    assert _entries(db, worker.user_id) == []
    # the same clue resolved by someone else pays its reporter
    other = file_report(worker, where=IN_A2, description="路口又倒了一堆垃圾")
    other_order = db.session.query(WorkOrder).filter_by(report_id=other["report"]["id"]).one()
    act(team["admin_a"], other_order.id, "dispatch", assignee_id=worker.user_id)
    act(worker, other_order.id, "accept")
    act(
        team["admin_a"],
        other_order.id,
        "resolve",
        note="已清理",
        photo_ids=[upload(team["admin_a"])],
    )
    assert [entry[0] for entry in _entries(db, worker.user_id)] == ["clue_accepted"]
