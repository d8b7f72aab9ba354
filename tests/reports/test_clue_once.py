"""One clue pays once, by the role it was filed with: a paid clue merged later earns nothing
more, a paid clue rejected later is taken back through the ledger."""

from __future__ import annotations

from server.points.models import LedgerEntry
from server.points.services import balance_of, rule_points, verify_ledger
from server.reports.models import WorkOrder


def _entries(db, user_id):
    db.session.expire_all()
    return [
        (e.rule, e.source_type, e.source_id, e.delta)
        for e in db.session.query(LedgerEntry).filter_by(user_id=user_id).order_by(LedgerEntry.id)
    ]


def _report_id(db, order_id):
    return db.session.get(WorkOrder, order_id).report_id


def _not_fixed(client, db, order_id, reporter):
    response = client.post(
        f"/api/v1/reports/{_report_id(db, order_id)}/feedback",
        json={"stars": 1, "fixed": False},
        headers=reporter,
    )
    assert response.status_code == 200, response.get_json()


def _resolve(act, team, upload, order_id):
    admin, worker = team["admin_a"], team["worker_a1"]
    act(admin, order_id, "dispatch", assignee_id=worker.user_id)
    act(worker, order_id, "accept")
    act(worker, order_id, "resolve", note="已清理", photo_ids=[upload(worker)])


def test_a_paid_clue_merged_later_is_not_paid_again(
    order_in, act, team, db, client, upload, login, units
):
    x, rider = order_in("resolved")  # clue_accepted paid for x
    full = rule_points(units["A1"].id, "clue_accepted")
    report_x = str(_report_id(db, x))
    assert _entries(db, rider.user_id) == [("clue_accepted", "report", report_x, full)]
    _not_fixed(client, db, x, rider)
    y, other = order_in("received")
    late, late_rider = order_in("received")  # a duplicate never paid: merged, then paid
    act(team["admin_a"], x, "merge", into_id=y)
    act(team["admin_a"], late, "merge", into_id=y)
    _resolve(act, team, upload, y)
    assert _entries(db, rider.user_id) == [("clue_accepted", "report", report_x, full)]
    small = rule_points(units["A1"].id, "clue_confirmed")
    report_y = str(_report_id(db, y))
    assert _entries(db, late_rider.user_id) == [
        ("clue_confirmed", "report_confirm", report_y, small)
    ]
    assert _entries(db, other.user_id) == [("clue_accepted", "report", report_y, full)]


def test_a_paid_clue_merged_through_another_is_not_paid_again(
    order_in, act, team, db, client, upload
):
    """x (paid) merged into y, y merged into z: x's reporter reaches z through y."""
    x, rider = order_in("resolved")
    _not_fixed(client, db, x, rider)
    y, _ = order_in("received")
    z, _ = order_in("received")
    act(team["admin_a"], x, "merge", into_id=y)
    act(team["admin_a"], y, "merge", into_id=z)
    _resolve(act, team, upload, z)
    assert len(_entries(db, rider.user_id)) == 1


def test_clue_points_follow_the_role_the_report_was_filed_with(
    order_in, act, team, db, client, login, upload, units
):
    resident = login("resident")
    order_id, _ = order_in("accepted", reporter=resident)
    assert db.session.get(WorkOrder, order_id).report.reporter_role == "resident"
    switched = client.patch(
        "/api/v1/me", json={"role": "rider", "platform": "meituan"}, headers=resident
    )
    assert switched.status_code == 200, switched.get_json()
    worker = team["worker_a1"]
    act(worker, order_id, "resolve", note="已清理", photo_ids=[upload(worker)])
    assert _entries(db, resident.user_id) == []


def test_a_rider_who_became_a_resident_keeps_the_clue_filed_as_a_rider(
    order_in, act, team, db, client, upload, units
):
    order_id, rider = order_in("accepted")
    switched = client.patch("/api/v1/me", json={"role": "resident"}, headers=rider)
    assert switched.status_code == 200, switched.get_json()
    worker = team["worker_a1"]
    act(worker, order_id, "resolve", note="已清理", photo_ids=[upload(worker)])
    full = rule_points(units["A1"].id, "clue_accepted")
    assert [e[3] for e in _entries(db, rider.user_id)] == [full]


def test_a_merged_reporter_is_paid_by_the_role_their_report_was_filed_with(
    order_in, act, team, db, client, login, upload
):
    resident = login("resident")
    dup, _ = order_in("received", reporter=resident)
    y, _ = order_in("received")
    act(team["admin_a"], dup, "merge", into_id=y)
    client.patch("/api/v1/me", json={"role": "rider", "platform": "meituan"}, headers=resident)
    _resolve(act, team, upload, y)
    assert _entries(db, resident.user_id) == []


def test_a_paid_clue_rejected_later_is_taken_back(
    order_in, act, team, db, client, upload, login, units
):
    admin, worker = team["admin_a"], team["worker_a1"]
    order_id, rider = order_in("received")
    confirmer = login("rider")
    report_id = _report_id(db, order_id)
    assert (
        client.post(f"/api/v1/reports/{report_id}/plus-one", headers=confirmer).status_code == 200
    )
    _resolve(act, team, upload, order_id)
    full = rule_points(units["A1"].id, "clue_accepted")
    small = rule_points(units["A1"].id, "clue_confirmed")
    assert balance_of(rider.user_id) == full
    assert balance_of(confirmer.user_id) == small
    _not_fixed(client, db, order_id, rider)
    act(admin, order_id, "reassign", note="换人处理", assignee_id=worker.user_id)
    act(worker, order_id, "return", note="不属于本网格")
    act(admin, order_id, "reject", note="不属于受理范围")
    assert _entries(db, rider.user_id) == [
        ("clue_accepted", "report", str(report_id), full),
        (None, "report_reversal", str(report_id), -full),
    ]
    assert balance_of(rider.user_id) == 0
    assert balance_of(confirmer.user_id) == 0
    assert [e[1:] for e in _entries(db, confirmer.user_id) if e[3] < 0] == [
        ("report_confirm_reversal", str(report_id), -small)
    ]
    assert verify_ledger() == []


def test_a_rejected_clue_whose_points_were_spent_is_taken_back_as_far_as_the_balance_goes(
    order_in, act, team, db, client, upload, units
):
    from server.points.services import apply_points

    admin, worker = team["admin_a"], team["worker_a1"]
    order_id, rider = order_in("resolved")
    full = rule_points(units["A1"].id, "clue_accepted")
    apply_points(rider.user_id, -(full - 3), reason="兑换", source_type="redemption", source_id="x")
    db.session.commit()
    _not_fixed(client, db, order_id, rider)
    act(admin, order_id, "reassign", note="换人处理", assignee_id=worker.user_id)
    act(worker, order_id, "return", note="不属于本网格")
    act(admin, order_id, "reject", note="不属于受理范围")  # not refused for the spent points
    assert balance_of(rider.user_id) == 0
    assert [e[3] for e in _entries(db, rider.user_id) if e[1] == "report_reversal"] == [-3]
    assert verify_ledger() == []
