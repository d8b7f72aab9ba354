"""Needs: the staff list's day filters are held to 2000–2099 (422, never a 500 at the
calendar's edges), and an Idempotency-Key replays only the need it recorded: the key of a
different need is refused (409 `idempotency.key_reused`), in both replay paths."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.needs import services
from server.needs.models import Need

FIRST = {"kind": "employment", "content": "想找一份白天的兼职工作"}


def code(response):
    return response.status_code, response.get_json()["code"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=0001-01-01", "from"),
        ("to=9999-12-31", "to"),
        ("to=0001-01-01", "to"),
        ("from=1999-12-31", "from"),
        ("to=2100-01-01", "to"),
    ],
)
def test_admin_day_filters_outside_2000_2099_are_422(client, login, query, field):
    staff = login("community_admin", "A")
    for url in ("/api/v1/admin/needs", "/api/v1/admin/needs/export.csv"):
        response = client.get(f"{url}?{query}", headers=staff)
        assert code(response) == (422, "validation_error"), (url, response.get_data(as_text=True))
        assert response.get_json()["details"]["errors"]["query"][field] == [
            "日期超出有效范围（2000–2099 年），请检查后重试"
        ]


def test_admin_day_filters_at_the_bounds_are_accepted(client, login):
    staff = login("community_admin", "A")
    response = client.get("/api/v1/admin/needs?from=2000-01-01&to=2099-12-31", headers=staff)
    assert response.status_code == 200, response.get_json()


def count(db) -> int:
    return db.session.execute(select(func.count(Need.id))).scalar_one()


@pytest.mark.parametrize(
    "other",
    [
        {"kind": "housing", "content": "希望社区提供骑手公寓床位"},
        {"kind": "employment", "content": "希望社区提供骑手公寓床位"},
        {"kind": "housing", "content": FIRST["content"]},
        {**FIRST, "photo_ids": [1]},
    ],
)
def test_key_of_another_need_is_refused(client, db, units, login, other):
    rider = login("rider")
    headers = {**rider, "Idempotency-Key": "need-key-0001"}
    first = client.post("/api/v1/needs", json=FIRST, headers=headers)
    assert first.status_code == 201, first.get_json()
    again = client.post("/api/v1/needs", json=other, headers=headers)
    assert code(again) == (409, "idempotency.key_reused")
    assert count(db) == 1


def test_true_retry_replays_the_need_despite_blanks(client, db, units, login):
    rider = login("rider")
    headers = {**rider, "Idempotency-Key": "need-key-0002"}
    first = client.post("/api/v1/needs", json=FIRST, headers=headers)
    assert first.status_code == 201, first.get_json()
    retry = {**FIRST, "content": f"  {FIRST['content']}\u3000", "photo_ids": []}
    again = client.post("/api/v1/needs", json=retry, headers=headers)
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["id"] == first.get_json()["id"]
    assert count(db) == 1


@pytest.fixture
def lookup_misses(monkeypatch):
    """The first look-up by key finds nothing, as when two requests with one key race: the
    insert then meets the unique key and the need is looked up again after the rollback."""
    real, calls = services._by_key, []

    def _by_key(user_id, key):
        calls.append(key)
        return None if len(calls) == 1 else real(user_id, key)

    def arm():
        calls.clear()
        monkeypatch.setattr(services, "_by_key", _by_key)
        return calls

    return arm


def test_key_of_another_need_is_refused_after_a_race(client, db, units, login, lookup_misses):
    rider = login("rider")
    headers = {**rider, "Idempotency-Key": "need-key-0003"}
    first = client.post("/api/v1/needs", json=FIRST, headers=headers)
    assert first.status_code == 201, first.get_json()
    calls = lookup_misses()
    other = {"kind": "housing", "content": "希望社区提供骑手公寓床位"}
    again = client.post("/api/v1/needs", json=other, headers=headers)
    assert code(again) == (409, "idempotency.key_reused")
    assert len(calls) == 2  # the refusal came from the IntegrityError branch
    calls = lookup_misses()
    retry = client.post("/api/v1/needs", json=FIRST, headers=headers)
    assert retry.status_code == 201 and retry.get_json()["id"] == first.get_json()["id"]
    assert len(calls) == 2
    assert count(db) == 1
