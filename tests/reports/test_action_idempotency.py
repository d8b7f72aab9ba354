"""Work-order actions under an Idempotency-Key: the mini-program keeps the key when an
action's answer is lost and sends the same request again. A retry answers with the order as
it is now and changes nothing; the key of another request is refused (409
idempotency.key_reused). 改派 is allowed from `dispatched`, the state it leaves, so only the
key stops a retry from being applied twice."""

from __future__ import annotations

import uuid

from server.notifications.models import Notification
from server.reports import workflow
from server.reports.models import ReportEvent, WorkOrder


def _keyed(auth: dict) -> dict:
    return {**auth, "Idempotency-Key": uuid.uuid4().hex}


def _events(db, order_id: int, action: str) -> list[ReportEvent]:
    db.session.expire_all()
    return db.session.query(ReportEvent).filter_by(work_order_id=order_id, action=action).all()


def _assigned_notices(db, order_id: int) -> int:
    return (
        db.session.query(Notification)
        .filter(Notification.dedupe_key.like(f"wo:{order_id}:assigned:%"))
        .count()
    )


def test_a_retried_reassign_is_applied_once(client, login, units, order_in, team, db):
    order_id, _ = order_in("dispatched")  # to worker_a1 of A1
    login("grid_worker", "A1")  # a second on-duty worker of A1, with fewer open orders
    headers = _keyed(team["admin_a"])
    body = {"unit_id": units["A1"].id, "note": "换人处理"}
    first = client.post(f"/api/v1/work-orders/{order_id}/reassign", json=body, headers=headers)
    assert first.status_code == 200, first.get_json()
    assignee = first.get_json()["assignee"]["id"]
    notices = _assigned_notices(db, order_id)

    # the answer was lost: the same request again, with the same key
    again = client.post(f"/api/v1/work-orders/{order_id}/reassign", json=body, headers=headers)
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["id"] == order_id
    assert again.get_json()["assignee"]["id"] == assignee
    assert len(_events(db, order_id, "reassign")) == 1
    assert db.session.get(WorkOrder, order_id).assignee_id == assignee  # not the other worker
    assert _assigned_notices(db, order_id) == notices  # no second push


def test_a_retry_answers_with_the_order_as_it_is_now(client, order_in, team, act, db):
    """接单 whose answer was lost, then 开始处置 on another device: the retried 接单 is not a
    409 'cannot accept' but the order, which is now in progress."""
    order_id, _ = order_in("dispatched")
    worker = team["worker_a1"]
    headers = _keyed(worker)
    url = f"/api/v1/work-orders/{order_id}/accept"
    assert client.post(url, json={}, headers=headers).status_code == 200
    act(worker, order_id, "start")
    again = client.post(url, json={}, headers=headers)
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["state"] == "in_progress"
    assert len(_events(db, order_id, "accept")) == 1


def test_a_retried_return_answers_although_the_order_left_my_scope(client, order_in, team, db):
    """退回 moves the order to the unit above, out of the grid worker's reach: its retry is
    still the first request's answer, not a 404."""
    order_id, _ = order_in("accepted")
    headers = _keyed(team["worker_a1"])
    url = f"/api/v1/work-orders/{order_id}/return"
    assert client.post(url, json={"note": "不属于本辖区"}, headers=headers).status_code == 200
    again = client.post(url, json={"note": "不属于本辖区"}, headers=headers)
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["state"] == "returned"
    assert again.get_json()["allowed_actions"] == []
    assert len(_events(db, order_id, "return")) == 1
    assert db.session.get(WorkOrder, order_id).return_count == 1


def test_a_key_reused_for_another_request_is_refused(client, units, order_in, team, db):
    order_id, _ = order_in("dispatched")
    other_id, _ = order_in("dispatched")
    headers = _keyed(team["admin_a"])
    body = {"unit_id": units["A1"].id, "note": "换人处理"}
    url = f"/api/v1/work-orders/{order_id}/reassign"
    assert client.post(url, json=body, headers=headers).status_code == 200
    for path, sent in (
        (url, {**body, "note": "另一个原因"}),  # another body
        (url, {**body, "unit_id": units["A2"].id}),
        (f"/api/v1/work-orders/{order_id}/reject", {"note": "换人处理"}),  # another action
        (f"/api/v1/work-orders/{other_id}/reassign", body),  # another order
    ):
        refused = client.post(path, json=sent, headers=headers)
        assert refused.status_code == 409, (path, refused.get_json())
        assert refused.get_json()["code"] == "idempotency.key_reused"
    assert len(_events(db, order_id, "reassign")) == 1
    assert _events(db, other_id, "reassign") == []
    # the same request is still a retry; whitespace around the note aside
    again = client.post(url, json={**body, "note": " 换人处理 "}, headers=headers)
    assert again.status_code == 200, again.get_json()


def test_the_key_is_each_staff_members_own(client, units, order_in, team, login, db):
    """Another staff member's request under the same key is their own request."""
    order_id, _ = order_in("dispatched")
    key = uuid.uuid4().hex
    body = {"unit_id": units["A1"].id, "note": "换人处理"}
    url = f"/api/v1/work-orders/{order_id}/reassign"
    for admin in (team["admin_a"], login("community_admin", "A")):
        response = client.post(url, json=body, headers={**admin, "Idempotency-Key": key})
        assert response.status_code == 200, response.get_json()
    assert len(_events(db, order_id, "reassign")) == 2


def test_a_twin_racing_in_is_answered_as_a_retry(client, units, order_in, team, db, monkeypatch):
    """Two requests with one key at once: the second, which did not see the first's event
    when it looked, is stopped by the key's unique index (改派) or by the state the first
    left (接单), and answers with the order — unless it asked for something else."""
    order_id, _ = order_in("dispatched")
    headers = _keyed(team["admin_a"])
    body = {"unit_id": units["A1"].id, "note": "换人处理"}
    url = f"/api/v1/work-orders/{order_id}/reassign"
    assert client.post(url, json=body, headers=headers).status_code == 200

    looked = []
    real = workflow._replayed

    def not_there_yet(scope, key, digest):  # the twin was not committed when this one looked
        looked.append(key)
        return None if len(looked) == 1 else real(scope, key, digest)

    monkeypatch.setattr(workflow, "_replayed", not_there_yet)
    again = client.post(url, json=body, headers=headers)
    assert again.status_code == 200, again.get_json()
    assert len(looked) == 2  # the lookup, then after the unique index refused the event
    assert len(_events(db, order_id, "reassign")) == 1

    looked.clear()
    refused = client.post(url, json={**body, "note": "另一个原因"}, headers=headers)
    assert refused.status_code == 409
    assert refused.get_json()["code"] == "idempotency.key_reused"

    worker = _keyed(team["worker_a1"])
    accept = f"/api/v1/work-orders/{order_id}/accept"
    looked.clear()
    assert client.post(accept, json={}, headers=worker).status_code == 200
    looked.clear()
    twin = client.post(accept, json={}, headers=worker)  # refused 'already accepted' first
    assert twin.status_code == 200, twin.get_json()
    assert twin.get_json()["state"] == "accepted"
    assert len(_events(db, order_id, "accept")) == 1
