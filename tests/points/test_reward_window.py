"""A reward's window (starts_at / ends_at): read like an activity's times, stored naive UTC.

A value with an offset is converted; a value without one means Shanghai time (what an admin
in Zhengzhou types). Both fields always reach the database, and `_check_window`, as naive
UTC, so an aware value next to a naive one can no longer raise (it used to answer 500).
"""

from __future__ import annotations

import datetime as dt

import pytest

from server import clock
from server.points.models import Reward
from tests.factories import give_points, make_reward

# Wednesday 2026-11-18 12:00 in Shanghai.
NOON = dt.datetime(2026, 11, 18, 4, 0)


@pytest.fixture(autouse=True)
def _noon():
    clock.freeze(NOON)


@pytest.fixture
def admin(login):
    return login("community_admin", "A")


def create(client, admin, units, **window):
    body = {"org_unit_id": units["A"].id, "name": "矿泉水", "cost": 10, "stock": 5, **window}
    return client.post("/api/v1/admin/rewards", json=body, headers=admin)


def redeem(client, auth, reward_id):
    return client.post("/api/v1/redemptions", json={"reward_id": reward_id}, headers=auth)


def stored(db, reward_id) -> Reward:
    db.session.expire_all()
    return db.session.get(Reward, reward_id)


def ok(response, status):
    body = response.get_json()
    assert response.status_code == status, body
    return body


def test_an_aware_start_is_honoured_at_its_instant(client, login, units, admin, db):
    body = ok(create(client, admin, units, starts_at="2026-11-18T13:00:00+08:00"), 201)
    assert body["starts_at"] == "2026-11-18T13:00:00+08:00"
    assert stored(db, body["id"]).starts_at == dt.datetime(2026, 11, 18, 5, 0)
    rider = login("rider")
    give_points(rider.user_id, 100)
    refused = redeem(client, rider, body["id"])
    assert (refused.status_code, refused.get_json()["code"]) == (
        400,
        "redemption.reward_inactive",
    )
    clock.freeze(dt.datetime(2026, 11, 18, 5, 0))  # 13:00 in Shanghai: on sale
    assert redeem(client, rider, body["id"]).status_code == 201


def test_an_aware_start_already_past_can_be_redeemed(client, login, units, admin):
    body = ok(create(client, admin, units, starts_at="2026-11-18T10:00:00+08:00"), 201)
    assert body["starts_at"] == "2026-11-18T10:00:00+08:00"
    rider = login("rider")
    give_points(rider.user_id, 100)
    assert redeem(client, rider, body["id"]).status_code == 201
    listed = client.get("/api/v1/rewards", headers=rider).get_json()
    assert [r["id"] for r in listed["items"]] == [body["id"]]


def test_a_naive_time_means_shanghai_time(client, login, units, admin, db):
    body = ok(
        create(
            client,
            admin,
            units,
            starts_at="2026-11-18T11:00:00",
            ends_at="2026-11-18T12:30:00",
        ),
        201,
    )
    assert body["starts_at"] == "2026-11-18T11:00:00+08:00"
    assert body["ends_at"] == "2026-11-18T12:30:00+08:00"
    reward = stored(db, body["id"])
    assert reward.starts_at == dt.datetime(2026, 11, 18, 3, 0)
    assert reward.ends_at == dt.datetime(2026, 11, 18, 4, 30)
    assert reward.starts_at.tzinfo is None and reward.ends_at.tzinfo is None
    rider = login("rider")
    give_points(rider.user_id, 100)
    assert redeem(client, rider, body["id"]).status_code == 201  # 12:00 is inside
    clock.freeze(dt.datetime(2026, 11, 18, 4, 30))  # 12:30 in Shanghai: over
    assert redeem(client, rider, body["id"]).get_json()["code"] == "redemption.reward_inactive"


def test_mixed_aware_and_naive_on_create(client, units, admin, db):
    body = ok(
        create(
            client,
            admin,
            units,
            starts_at="2026-11-18T10:00:00+08:00",
            ends_at="2026-11-30T00:00:00",
        ),
        201,
    )
    assert body["starts_at"] == "2026-11-18T10:00:00+08:00"
    assert body["ends_at"] == "2026-11-30T00:00:00+08:00"
    reward = stored(db, body["id"])
    assert reward.starts_at == dt.datetime(2026, 11, 18, 2, 0)
    assert reward.ends_at == dt.datetime(2026, 11, 29, 16, 0)
    # and the other way round, with a UTC "Z" for the end
    body = ok(
        create(client, admin, units, starts_at="2026-11-18T10:00:00", ends_at="2026-11-18T03:00Z"),
        201,
    )
    assert body["ends_at"] == "2026-11-18T11:00:00+08:00"


def test_mixed_aware_and_naive_on_patch(client, units, admin, db):
    created = ok(create(client, admin, units, starts_at="2026-11-18T10:00:00"), 201)
    patched = client.patch(
        f"/api/v1/admin/rewards/{created['id']}",
        json={"ends_at": "2026-12-01T00:00:00+08:00"},
        headers=admin,
    )
    body = ok(patched, 200)
    assert body["starts_at"] == "2026-11-18T10:00:00+08:00"
    assert body["ends_at"] == "2026-12-01T00:00:00+08:00"
    assert stored(db, created["id"]).ends_at == dt.datetime(2026, 11, 30, 16, 0)
    # a reward made elsewhere (stored naive UTC) patched with an offset
    other = make_reward(units["A"], ends_at=dt.datetime(2026, 12, 31, 16, 0))
    patched = client.patch(
        f"/api/v1/admin/rewards/{other.id}",
        json={"starts_at": "2026-11-20T08:00:00+08:00"},
        headers=admin,
    )
    body = ok(patched, 200)
    assert body["starts_at"] == "2026-11-20T08:00:00+08:00"
    assert body["ends_at"] == "2027-01-01T00:00:00+08:00"
    assert stored(db, other.id).starts_at == dt.datetime(2026, 11, 20, 0, 0)
    cleared = client.patch(
        f"/api/v1/admin/rewards/{other.id}", json={"starts_at": None}, headers=admin
    )
    assert ok(cleared, 200)["starts_at"] is None


def test_an_end_before_the_start_is_refused(client, units, admin):
    def refused(response):
        body = response.get_json()
        assert (response.status_code, body["code"]) == (422, "reward.invalid_window"), body

    # 09:00 Shanghai (naive) is before 10:00 Shanghai (+08:00)
    refused(
        create(
            client,
            admin,
            units,
            starts_at="2026-11-18T10:00:00+08:00",
            ends_at="2026-11-18T09:00:00",
        )
    )
    # the same instant written two ways is not a window either
    refused(
        create(client, admin, units, starts_at="2026-11-18T10:00:00", ends_at="2026-11-18T02:00Z")
    )
    created = ok(create(client, admin, units, starts_at="2026-11-18T10:00:00"), 201)
    refused(
        client.patch(
            f"/api/v1/admin/rewards/{created['id']}",
            json={"ends_at": "2026-11-18T09:59:00+08:00"},
            headers=admin,
        )
    )
