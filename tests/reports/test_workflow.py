"""The work-order state machine: every allowed transition, every forbidden one, who may act."""

from __future__ import annotations

import pytest

from server.reports.models import ReportEvent, WorkOrder
from server.reports.workflow import ACTIONS
from tests.reports.conftest import IN_A1, soon

STATES = [
    "received",
    "dispatched",
    "accepted",
    "in_progress",
    "resolved",
    "closed",
    "returned",
    "on_hold",
    "merged",
    "rejected",
]


def _body(action, team, upload, other_id=None):
    return {
        "dispatch": {"assignee_id": team["worker_a1"].user_id},
        "reassign": {"assignee_id": team["worker_a1"].user_id, "note": "换人处理"},
        "accept": {},
        "start": {},
        "resolve": {"note": "已处理", "photo_ids": [upload(team["worker_a1"])]},
        "return": {"note": "不属于本辖区"},
        "hold": {"note": "等待部门", "hold_until": soon()},
        "resume": {},
        "reject": {"note": "不属于受理范围"},
        "merge": {"into_id": other_id},
        "close": {"note": "电话回访满意"},
    }[action]


ALLOWED = [(state, name) for name, a in ACTIONS.items() for state in a.sources]


@pytest.mark.parametrize(("state", "action"), ALLOWED)
def test_every_allowed_transition(state, action, order_in, act, team, upload, db):
    order_id, _ = order_in(state)
    other_id = order_in("received")[0] if action == "merge" else None
    manager_actions = ("dispatch", "reassign", "reject", "merge", "close")
    who = team["admin_a"] if action in manager_actions or state == "received" else team["worker_a1"]
    response = act(who, order_id, action, **_body(action, team, upload, other_id))
    body = response.get_json()
    assert body["state"] == ACTIONS[action].target
    event = db.session.query(ReportEvent).filter_by(work_order_id=order_id, action=action).all()[-1]
    assert (event.from_state, event.to_state) == (state, ACTIONS[action].target)
    assert event.actor_id == who.user_id


@pytest.mark.parametrize("state", STATES)
def test_every_forbidden_transition_is_409(state, order_in, act, team, upload, db):
    order_id, _ = order_in(state)
    other_id = order_in("received")[0]
    admin = team["admin_a"]
    for name, action in ACTIONS.items():
        if state in action.sources:
            continue
        response = act(admin, order_id, name, expect=409, **_body(name, team, upload, other_id))
        body = response.get_json()
        assert body["code"] == "work_order.invalid_transition"
        assert body["details"]["state"] == state
        assert "不能" in body["message"]
    db.session.expire_all()
    assert db.session.get(WorkOrder, order_id).state == state


def test_unknown_action_is_404(order_in, act, team):
    order_id, _ = order_in("received")
    assert act(team["admin_a"], order_id, "teleport", expect=404).get_json()["code"] == (
        "work_order.unknown_action"
    )


def test_grid_worker_cannot_dispatch_and_others_cannot_touch_an_assigned_order(
    order_in, act, team, login
):
    order_id, _ = order_in("received")
    worker = team["worker_a1"]
    assert act(
        worker, order_id, "dispatch", expect=None, assignee_id=worker.user_id
    ).status_code in (
        403,
        404,
    )
    order_id, _ = order_in("dispatched")
    other_worker = login("grid_worker", "A")
    response = act(other_worker, order_id, "accept", expect=403)
    assert response.get_json()["code"] == "work_order.not_assignee"


def test_staff_of_another_community_get_404(order_in, act, login, client):
    order_id, reporter = order_in("received")
    outsider = login("community_admin", "B")
    assert client.get(f"/api/v1/work-orders/{order_id}", headers=outsider).status_code == 404
    response = act(outsider, order_id, "reject", expect=404, note="x")
    assert response.get_json()["code"] == "work_order.not_found"
    listed = client.get("/api/v1/work-orders", headers=outsider).get_json()
    assert listed["total"] == 0
    # nor can they read the report as staff: it is not public to them either (no 'staff' view)
    report_id = client.get("/api/v1/me/reports", headers=reporter).get_json()["items"][0]["id"]
    view = client.get(f"/api/v1/reports/{report_id}", headers=outsider).get_json()
    assert view["viewer"] == "public" and "id" not in view["reporter"]


def test_resolve_needs_a_note_and_an_after_photo(order_in, act, team, upload):
    order_id, _ = order_in("in_progress")
    worker = team["worker_a1"]
    assert act(worker, order_id, "resolve", expect=422, note="好了").get_json()["code"] == (
        "work_order.photo_required"
    )
    assert act(worker, order_id, "resolve", expect=422, photo_ids=[upload(worker)]).get_json()[
        "code"
    ] == ("work_order.note_required")
    # another person's photo is not theirs to attach
    other = upload(team["admin_a"])
    assert act(worker, order_id, "resolve", expect=404, note="好了", photo_ids=[other]).get_json()[
        "code"
    ] == ("upload.not_found")


def test_return_goes_back_to_the_dispatcher_then_to_the_street(order_in, act, team, db, units):
    order_id, _ = order_in("dispatched")
    db.session.expire_all()
    due = db.session.get(WorkOrder, order_id).accept_due_at
    act(team["worker_a1"], order_id, "return", note="不属于本网格")
    db.session.expire_all()
    order = db.session.get(WorkOrder, order_id)
    assert order.state == "returned" and order.assignee_id is None
    assert order.org_unit_id == units["A"].id  # the dispatcher's unit: never unowned
    assert order.accept_due_at == due  # the clock is not reset
    act(team["admin_a"], order_id, "dispatch", assignee_id=team["worker_a1"].user_id)
    act(team["worker_a1"], order_id, "return", note="还是不属于")
    db.session.expire_all()
    order = db.session.get(WorkOrder, order_id)
    assert order.org_unit_id == units["S1"].id and order.is_flagged
    assert order.flag_reason == "returned_twice"


def test_auto_dispatch_to_the_on_duty_grid_worker(file_report, login, team, client, db):
    body = file_report(login("resident"), where=IN_A1)
    assert body["report"]["status"] == "dispatched"
    order = db.session.query(WorkOrder).filter_by(report_id=body["report"]["id"]).one()
    assert order.assignee_id == team["worker_a1"].user_id


def test_hold_needs_a_future_date_and_resume_extends_the_clock(order_in, act, team, db):
    from server import clock

    order_id, _ = order_in("in_progress")
    worker = team["worker_a1"]
    r = act(worker, order_id, "hold", expect=422, note="等", hold_until="2000-01-01T00:00:00+08:00")
    assert r.get_json()["code"] == "work_order.invalid_hold_until"
    db.session.expire_all()
    before = db.session.get(WorkOrder, order_id).resolve_due_at
    import datetime as dt

    start = clock.utcnow()
    clock.freeze(start)
    act(worker, order_id, "hold", note="等待供电", hold_until=soon(7))
    clock.freeze(start + dt.timedelta(hours=5))
    act(worker, order_id, "resume")
    db.session.expire_all()
    after = db.session.get(WorkOrder, order_id).resolve_due_at
    assert after - before == dt.timedelta(hours=5)


def test_merge_moves_followers_and_refuses_self(order_in, act, team, client, db):
    from server.reports.models import Report, ReportFollower

    a, reporter_a = order_in("received")
    b, reporter_b = order_in("received")
    assert act(team["admin_a"], a, "merge", expect=422, into_id=a).get_json()["code"] == (
        "work_order.merge_self"
    )
    act(team["admin_a"], a, "merge", into_id=b)
    db.session.expire_all()
    survivor = db.session.get(WorkOrder, b).report_id
    followers = {
        f.user_id: f.kind
        for f in db.session.query(ReportFollower).filter_by(report_id=survivor).all()
    }
    assert followers == {reporter_b.user_id: "reporter", reporter_a.user_id: "merged"}
    merged = db.session.get(WorkOrder, a).report
    assert merged.merged_into_id == survivor and merged.status == "merged"
    view = client.get(f"/api/v1/reports/{merged.id}", headers=reporter_a).get_json()
    assert view["merged_into"]["id"] == survivor
    # the merged reporter follows the survivor and sees it
    assert client.get(f"/api/v1/reports/{survivor}", headers=reporter_a).status_code == 200
    assert db.session.get(Report, survivor).status == "received"


def test_timeline_shows_roles_not_names_to_citizens(order_in, client, login, db):
    order_id, _ = order_in("accepted")
    report_id = db.session.get(WorkOrder, order_id).report_id
    other = login("resident")
    view = client.get(f"/api/v1/reports/{report_id}", headers=other).get_json()
    assert view["viewer"] == "public"
    for event in view["timeline"]:
        assert "actor_id" not in event and "actor_name" not in event
    roles = [e["actor_role_name"] for e in view["timeline"]]
    assert "社区工作人员" in roles and "网格员" in roles
