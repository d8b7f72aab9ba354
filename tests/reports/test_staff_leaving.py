"""A grid worker who leaves (unbound, or bound to another unit) hands back the orders they
were handling: back to be dispatched, not waiting on someone who can no longer open them."""

from __future__ import annotations

import datetime as dt

import pytest

from server import clock
from server.extensions import db
from server.notifications.models import Notification
from server.org.models import StaffBinding
from server.reports.models import ReportEvent, WorkOrder

P = "/api/v1"


def _binding(user_id: int) -> StaffBinding:
    return db.session.query(StaffBinding).filter_by(user_id=user_id, revoked_at=None).one()


def _order(order_id: int) -> WorkOrder:
    db.session.expire_all()
    return db.session.get(WorkOrder, order_id)


@pytest.mark.parametrize("state", ["dispatched", "accepted", "in_progress"])
def test_unbinding_a_worker_hands_their_open_orders_back(client, order_in, team, act, state):
    order_id, reporter = order_in(state)
    admin, worker = team["admin_a"], team["worker_a1"]
    finished, _ = order_in("resolved")  # done: stays theirs in the record
    before = _order(order_id)
    accept_due, resolve_due = before.accept_due_at, before.resolve_due_at

    gone = client.delete(f"{P}/admin/staff/{_binding(worker.user_id).id}", headers=admin)
    assert gone.status_code == 204

    order = _order(order_id)
    assert (order.state, order.assignee_id, order.report.status) == ("returned", None, "returned")
    assert (order.accept_due_at, order.resolve_due_at) == (accept_due, resolve_due)
    event = db.session.query(ReportEvent).filter_by(work_order_id=order_id).all()[-1]
    assert (event.action, event.actor_role, event.from_state) == ("handed_back", "system", state)
    told = db.session.query(Notification).filter_by(kind="work_order_new").all()
    assert any(n.dedupe_key.startswith(f"wo:{order_id}:handed_back:") for n in told)
    assert _order(finished).assignee_id == worker.user_id
    # the admin sees it among those to dispatch, and dispatches it again
    waiting = client.get(
        f"{P}/work-orders?state=received&state=returned", headers=admin
    ).get_json()["items"]
    assert order_id in [o["id"] for o in waiting]
    act(admin, order_id, "dispatch", unit_id=order.org_unit_id)
    timeline = client.get(f"{P}/reports/{order.report_id}", headers=reporter).get_json()
    assert "经办人员变动，待重新派单" in [e["action_name"] for e in timeline["timeline"]]


def test_a_hold_is_closed_with_the_time_held_added(client, order_in, team):
    order_id, _ = order_in("on_hold")
    held = _order(order_id)
    resolve_due = held.resolve_due_at
    clock.freeze(clock.utcnow() + dt.timedelta(hours=5))
    gone = client.delete(
        f"{P}/admin/staff/{_binding(team['worker_a1'].user_id).id}", headers=team["admin_a"]
    )
    assert gone.status_code == 204
    order = _order(order_id)
    assert (order.state, order.hold_until, order.hold_started_at) == ("returned", None, None)
    assert order.resolve_due_at >= resolve_due + dt.timedelta(hours=5) - dt.timedelta(minutes=1)


def test_a_worker_moved_keeps_what_the_new_unit_covers_and_hands_back_the_rest(
    client, order_in, team, login, units
):
    order_id, _ = order_in("accepted")  # in grid A1
    worker = team["worker_a1"]

    def move_to(unit, role, inviter):
        code = client.post(
            f"{P}/admin/invitations", json={"org_unit_id": unit.id, "role": role}, headers=inviter
        ).get_json()["code"]
        bound = client.post(f"{P}/me/staff-binding", json={"code": code}, headers=worker)
        assert bound.status_code == 201, bound.get_json()

    move_to(units["A"], "community_admin", team["street"])  # A covers A1: still theirs
    assert (_order(order_id).state, _order(order_id).assignee_id) == ("accepted", worker.user_id)
    move_to(units["B"], "community_admin", team["street"])  # B does not
    order = _order(order_id)
    assert (order.state, order.assignee_id) == ("returned", None)
