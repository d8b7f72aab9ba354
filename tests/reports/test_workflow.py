"""The work-order state machine: every allowed transition, every forbidden one, who may act."""

from __future__ import annotations

import pytest

from server.reports.models import Report, ReportEvent, ReportFollower, WorkOrder
from server.reports.workflow import ACTIONS
from tests.reports.conftest import IN_A1, IN_A2, soon

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


def test_merging_into_a_report_held_for_review_waits_for_the_review(
    file_report, act, team, client, db, login
):
    """The merged reporter is sent to the survivor, which other citizens cannot open while its
    content is held: the merge is refused until staff clear it."""
    reporter_a = login("resident")
    a = file_report(reporter_a, where=IN_A2)["report"]["id"]
    held = file_report(login("resident"), where=IN_A2, description="同一堆垃圾 [review]")
    b = held["report"]["id"]
    assert held["report"]["moderation"] == "review"
    order_a = db.session.query(WorkOrder).filter_by(report_id=a).one().id
    order_b = db.session.query(WorkOrder).filter_by(report_id=b).one().id
    admin = team["admin_a"]
    refused = act(admin, order_a, "merge", expect=409, into_id=order_b).get_json()
    assert refused["code"] == "work_order.merge_target_held"
    assert refused["message"] == "目标工单内容待审核，审核通过后再合并"
    db.session.expire_all()
    assert db.session.get(WorkOrder, order_a).state == "received"  # nothing changed
    assert db.session.get(Report, a).merged_into_id is None
    assert not db.session.query(ReportFollower).filter_by(report_id=b, kind="merged").all()

    cleared = client.post(
        f"/api/v1/admin/reports/{b}/moderation", json={"decision": "approve"}, headers=admin
    )
    assert cleared.status_code == 200, cleared.get_json()
    act(admin, order_a, "merge", into_id=order_b)
    assert client.get(f"/api/v1/reports/{b}", headers=reporter_a).status_code == 200


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


def test_staff_notes_reach_only_their_readers(
    file_report, act, team, upload, login, client, db, units
):
    """The 回访 record (the call with the reporter: phone, name, flat) is the reporter's, not
    every citizen's, on an anonymous report too; reasons for moving an order are internal; the
    handling result is public. The events themselves stay public."""
    reporter = login("resident")
    report_id = file_report(reporter, where=IN_A2, anonymous=True)["report"]["id"]
    order_id = db.session.query(WorkOrder).filter_by(report_id=report_id).one().id
    admin, worker = team["admin_a"], team["worker_a1"]
    notes = {
        "dispatch": "带上夹子和垃圾袋",
        "return": "不属于本网格，请重新派",
        "reassign": "原网格员请假",
        "hold": "等待环卫车辆",
        "resolve": "已清理完毕",
        "close": "电话回访 13800138000 王女士（3栋502），表示满意",
    }
    act(admin, order_id, "dispatch", assignee_id=worker.user_id, note=notes["dispatch"])
    act(worker, order_id, "return", note=notes["return"])
    act(admin, order_id, "dispatch", assignee_id=worker.user_id)
    act(admin, order_id, "reassign", assignee_id=worker.user_id, note=notes["reassign"])
    act(worker, order_id, "accept")
    act(worker, order_id, "hold", note=notes["hold"], hold_until=soon())
    act(worker, order_id, "resume")
    act(worker, order_id, "resolve", note=notes["resolve"], photo_ids=[upload(worker)])
    act(admin, order_id, "close", note=notes["close"])

    def seen(auth):
        view = client.get(f"/api/v1/reports/{report_id}", headers=auth).get_json()
        actions = {e["action"] for e in view["timeline"]}
        return (
            view["viewer"],
            actions,
            {e["action"]: e["note"] for e in view["timeline"] if e["note"]},
        )

    viewer, actions, public = seen(login("rider"))
    assert viewer == "public" and set(notes) <= actions  # every step is shown...
    assert {a: n for a, n in public.items() if a in notes} == {"resolve": notes["resolve"]}
    neighbour = login("resident")  # '+1': a follower reads what the public does
    db.session.add(ReportFollower(report_id=report_id, user_id=neighbour.user_id, kind="confirm"))
    db.session.commit()
    assert seen(neighbour) == ("follower", actions, public)
    viewer, _, mine = seen(reporter)
    assert viewer == "owner"
    assert {a: n for a, n in mine.items() if a in notes} == {
        "resolve": notes["resolve"],
        "close": notes["close"],
    }
    view = client.get(f"/api/v1/work-orders/{order_id}", headers=admin).get_json()
    staff = {e["action"]: e["note"] for e in view["report_detail"]["timeline"] if e["note"]}
    assert {a: staff[a] for a in notes} == notes
