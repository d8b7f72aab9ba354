"""Helpers for report tests: categories for the test streets, photo uploads, filing."""

from __future__ import annotations

import io
import uuid

import pytest

from server import clock
from tests.factories import jpeg_bytes, make_categories

# Points inside the test tree's boxes (see tests/factories.make_tree).
IN_A1 = (34.73, 113.625)
IN_A2 = (34.73, 113.635)
IN_B1 = (34.71, 113.65)
IN_C1 = (34.82, 113.74)
IN_S1_GAP = (34.75, 113.60)  # inside street S1, outside every community
OUTSIDE = (35.50, 114.50)


def soon(days: int = 3) -> str:
    """An ISO time `days` after the (possibly frozen) clock, in +08:00."""
    import datetime as dt

    return clock.isoformat(clock.utcnow() + dt.timedelta(days=days))


@pytest.fixture
def cats(units):
    return make_categories(units["S1"])


@pytest.fixture
def upload(client):
    def _upload(auth, data: bytes | None = None, name: str = "photo.jpg") -> int:
        body = {"file": (io.BytesIO(data or jpeg_bytes()), name)}
        response = client.post(
            "/api/v1/uploads", data=body, headers=auth, content_type="multipart/form-data"
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]

    return _upload


@pytest.fixture
def file_report(client, cats, upload):
    def _file(auth, where=IN_A1, category="dumping", photos=1, key=None, **extra):
        body = {
            "category_id": cats[category].id,
            "description": extra.pop("description", "路边有一堆建筑垃圾"),
            "lat": where[0] if where else None,
            "lng": where[1] if where else None,
            "address": extra.pop("address", "淮河路 12 号"),
            "photo_ids": [upload(auth) for _ in range(photos)],
            **extra,
        }
        headers = {**auth, "Idempotency-Key": key or uuid.uuid4().hex}
        response = client.post("/api/v1/reports", json=body, headers=headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return _file


@pytest.fixture
def act(client):
    """act(auth, order_id, action, **body) -> response."""

    def _act(auth, order_id, action, expect=200, **body):
        response = client.post(f"/api/v1/work-orders/{order_id}/{action}", json=body, headers=auth)
        if expect is not None:
            assert response.status_code == expect, response.get_json()
        return response

    return _act


@pytest.fixture
def team(login, units):
    """Staff of community A: an admin, a grid worker of A1 (on duty), the street admin."""
    return {
        "admin_a": login("community_admin", "A"),
        "worker_a1": login("grid_worker", "A1"),
        "street": login("street_admin", "S1"),
    }


@pytest.fixture
def order_in(client, login, file_report, act, team, upload):
    """order_in(state) -> (order id, reporter auth): a fresh work order brought to `state`."""

    def _drive(state: str, where=IN_A2, reporter=None):
        reporter = reporter or login("rider")
        body = file_report(reporter, where=where)
        order_id = body["report"]["id"]
        detail = client.get(f"/api/v1/reports/{order_id}", headers=team["admin_a"]).get_json()
        order_id = detail["work_order_id"]
        admin, worker = team["admin_a"], team["worker_a1"]
        worker_id = worker.user_id
        steps = {
            "received": [],
            "dispatched": [("dispatch", {"assignee_id": worker_id})],
            "accepted": [("dispatch", {"assignee_id": worker_id}), ("accept", {})],
            "in_progress": [
                ("dispatch", {"assignee_id": worker_id}),
                ("accept", {}),
                ("start", {}),
            ],
            "on_hold": [
                ("dispatch", {"assignee_id": worker_id}),
                ("accept", {}),
                ("hold", {"note": "等待供电部门", "hold_until": soon()}),
            ],
            "returned": [
                ("dispatch", {"assignee_id": worker_id}),
                ("return", {"note": "非本网格"}),
            ],
            "rejected": [("reject", {"note": "重复反映"})],
        }
        if state in ("resolved", "closed"):
            for action, body in steps["in_progress"]:
                act(worker if action in ("accept", "start") else admin, order_id, action, **body)
            act(worker, order_id, "resolve", note="已清理", photo_ids=[upload(worker)])
            if state == "closed":
                act(admin, order_id, "close", note="电话回访，群众满意")
            return order_id, reporter
        if state == "merged":
            other, _ = _drive("received", where=where)
            act(admin, order_id, "merge", into_id=other)
            return order_id, reporter
        for action, body in steps[state]:
            handler = worker if action in ("accept", "start", "hold", "return") else admin
            act(handler, order_id, action, **body)
        return order_id, reporter

    return _drive
