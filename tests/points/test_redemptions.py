"""Rewards and redemptions: errors, fulfil, cancel, expiry, scope, notifications."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from server import clock
from server.points.models import LedgerEntry, Redemption, Reward
from server.points.services import account_summary, verify_ledger
from tests.factories import give_points, make_reward, make_station

NOON = dt.datetime(2026, 11, 18, 4, 0)


@pytest.fixture(autouse=True)
def _noon():
    clock.freeze(NOON)


def redeem(client, auth, reward_id, key=None):
    headers = {**auth, **({"Idempotency-Key": key} if key else {})}
    return client.post("/api/v1/redemptions", json={"reward_id": reward_id}, headers=headers)


def balance(client, auth):
    return client.get("/api/v1/me/points", headers=auth).get_json()["balance"]


def refused(response, status, code):
    body = response.get_json()
    assert (response.status_code, body["code"]) == (status, code), body
    return body


def notifications_of(db, user_id, kind):
    from server.notifications.models import Notification

    return (
        db.session.execute(
            select(Notification).where(Notification.user_id == user_id, Notification.kind == kind)
        )
        .scalars()
        .all()
    )


def test_redeem_deducts_points_and_stock_and_makes_a_voucher(client, login, units, db):
    reward = make_reward(units["A"], name="洗衣液", cost=60, stock=3)
    rider = login("rider")
    give_points(rider.user_id, 100)
    response = redeem(client, rider, reward.id)
    body = response.get_json()
    assert response.status_code == 201, body
    assert body["status"] == "pending" and body["balance"] == 40
    assert len(body["code"]) == 8 and body["qr_payload"] == f"fc-voucher:{body['code']}"
    assert body["expires_at"].startswith("2026-11-25")
    db.session.expire_all()
    assert db.session.get(Reward, reward.id).stock == 2
    assert len(notifications_of(db, rider.user_id, "redemption_created")) == 1
    mine = client.get("/api/v1/me/redemptions", headers=rider).get_json()
    assert mine["total"] == 1 and mine["items"][0]["code"] == body["code"]
    # spending is not earning
    points = client.get("/api/v1/me/points", headers=rider).get_json()
    assert points["lifetime_earned"] == 100 and points["earned_this_month"] == 100


def test_insufficient_points(client, login, units):
    reward = make_reward(units["A"], cost=60)
    rider = login("rider")
    give_points(rider.user_id, 59)
    body = refused(redeem(client, rider, reward.id), 400, "redemption.insufficient_points")
    assert body["details"] == {"balance": 59, "cost": 60}
    assert balance(client, rider) == 59


def test_out_of_stock(client, login, units):
    reward = make_reward(units["A"], stock=0)
    rider = login("rider")
    give_points(rider.user_id, 100)
    refused(redeem(client, rider, reward.id), 409, "redemption.out_of_stock")
    assert balance(client, rider) == 100


def test_monthly_limit(client, login, units):
    clock.freeze(dt.datetime(2026, 11, 30, 4, 0))
    reward = make_reward(units["A"], cost=10, monthly_limit_per_user=2)
    rider = login("rider")
    give_points(rider.user_id, 100)
    assert redeem(client, rider, reward.id).status_code == 201
    assert redeem(client, rider, reward.id).status_code == 201
    refused(redeem(client, rider, reward.id), 409, "redemption.limit_reached")
    assert balance(client, rider) == 80
    clock.freeze(dt.datetime(2026, 12, 1, 4, 0))  # a new month
    assert redeem(client, rider, reward.id).status_code == 201


def test_inactive_reward_and_window(client, login, units):
    rider = login("rider")
    give_points(rider.user_id, 100)
    withdrawn = make_reward(units["A"], is_active=False)
    refused(redeem(client, rider, withdrawn.id), 400, "redemption.reward_inactive")
    later = make_reward(units["A"], starts_at=NOON + dt.timedelta(days=1))
    refused(redeem(client, rider, later.id), 400, "redemption.reward_inactive")
    over = make_reward(units["A"], ends_at=NOON - dt.timedelta(seconds=1))
    refused(redeem(client, rider, over.id), 400, "redemption.reward_inactive")
    refused(redeem(client, rider, 999999), 404, "redemption.reward_not_found")


def test_idempotent_replay_returns_the_first(client, login, units):
    reward = make_reward(units["A"], cost=10)
    rider = login("rider")
    give_points(rider.user_id, 100)
    first = redeem(client, rider, reward.id, key="buy-0000001").get_json()
    again = redeem(client, rider, reward.id, key="buy-0000001").get_json()
    assert again["id"] == first["id"] and balance(client, rider) == 90


def test_fulfil_by_staff_of_the_community_only(client, login, units, db):
    reward = make_reward(units["A"], cost=10)
    rider = login("rider")
    give_points(rider.user_id, 100)
    code = redeem(client, rider, reward.id).get_json()["code"]
    outsider = login("community_admin", "B")
    refused(client.post(f"/api/v1/redemptions/{code}/fulfil", headers=outsider), 404, "not_found")
    refused(
        client.post(f"/api/v1/redemptions/{code}/fulfil", headers=rider), 403, "auth.staff_only"
    )
    staff = login("grid_worker", "A")
    looked_up = client.get(f"/api/v1/admin/redemptions/{code.lower()}", headers=staff)
    assert looked_up.get_json()["status"] == "pending"
    done = client.post(f"/api/v1/redemptions/{code}/fulfil", headers=staff)
    assert done.status_code == 200 and done.get_json()["status"] == "fulfilled"
    refused(
        client.post(f"/api/v1/redemptions/{code}/fulfil", headers=staff),
        409,
        "redemption.already_fulfilled",
    )
    late_cancel = client.post(f"/api/v1/redemptions/{done.get_json()['id']}/cancel", headers=rider)
    refused(late_cancel, 409, "redemption.already_fulfilled")
    # the rider is told what happened, not the staff's "请勿重复发放"
    assert late_cancel.get_json()["message"] == "该兑换已领取，不能再取消"
    assert len(notifications_of(db, rider.user_id, "redemption_fulfilled")) == 1
    listed = client.get("/api/v1/admin/redemptions?status=fulfilled", headers=staff).get_json()
    assert listed["total"] == 1


def test_cancel_refunds_points_and_stock(client, login, units, db):
    reward = make_reward(units["A"], cost=30, stock=1)
    rider = login("rider")
    give_points(rider.user_id, 30)
    made = redeem(client, rider, reward.id).get_json()
    other = login("rider")
    refused(
        client.post(f"/api/v1/redemptions/{made['id']}/cancel", headers=other),
        404,
        "redemption.not_found",
    )
    cancelled = client.post(f"/api/v1/redemptions/{made['id']}/cancel", headers=rider)
    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == "cancelled" and cancelled.get_json()["balance"] == 30
    db.session.expire_all()
    assert db.session.get(Reward, reward.id).stock == 1
    refused(
        client.post(f"/api/v1/redemptions/{made['id']}/cancel", headers=rider),
        409,
        "redemption.not_pending",
    )
    assert len(notifications_of(db, rider.user_id, "redemption_refunded")) == 1
    # the refund is not earning: the ranking and lifetime figures are unchanged
    points = client.get("/api/v1/me/points", headers=rider).get_json()
    assert points["lifetime_earned"] == 30
    assert verify_ledger() == []


def test_refunds_cannot_push_stock_past_the_maximum(client, login, units, db):
    """STOCK_MAX is refused for `stock` and `stock_delta`, but a refund added 1 whatever the
    stock: the points come back, the unit only while there is room for it."""
    from server.points.redemptions import STOCK_MAX

    admin = login("community_admin", "A")
    reward = make_reward(units["A"], cost=10, stock=STOCK_MAX)
    rider = login("rider")
    give_points(rider.user_id, 100)
    made = redeem(client, rider, reward.id).get_json()
    url = f"/api/v1/admin/rewards/{reward.id}"
    assert client.patch(url, json={"stock_delta": 1}, headers=admin).get_json()["stock"] == (
        STOCK_MAX
    )
    cancelled = client.post(f"/api/v1/redemptions/{made['id']}/cancel", headers=rider)
    assert cancelled.status_code == 200, cancelled.get_json()
    assert cancelled.get_json()["balance"] == 100
    db.session.expire_all()
    assert db.session.get(Reward, reward.id).stock == STOCK_MAX
    assert verify_ledger() == []


def test_a_voucher_code_collision_draws_another_code(client, login, units, db, monkeypatch):
    """Codes are random (31^8) and unique: a collision was an IntegrityError at the flush, a
    500. The code is the ledger entry's source too: one entry, under the code kept."""
    from server.points import redemptions

    reward_id = make_reward(units["A"], cost=10, stock=5).id
    codes = iter(["AAAAAAAA", "AAAAAAAA", "BBBBBBBB", "AAAAAAAA", "BBBBBBBB", "CCCCCCCC"])
    monkeypatch.setattr(redemptions, "_new_code", lambda: next(codes))
    riders = [login("rider") for _ in range(3)]
    for n, rider in enumerate(riders):
        give_points(rider.user_id, 100, source_id=f"seed-{n}")
    assert redeem(client, riders[0], reward_id).get_json()["code"] == "AAAAAAAA"
    keyed = redeem(client, riders[1], reward_id, key="voucher-key-0001")  # locked first
    assert (keyed.status_code, keyed.get_json()["code"]) == (201, "BBBBBBBB"), keyed.get_json()
    bare = redeem(client, riders[2], reward_id)  # two collisions
    assert (bare.status_code, bare.get_json()["code"]) == (201, "CCCCCCCC"), bare.get_json()
    assert bare.get_json()["balance"] == 90
    again = redeem(client, riders[1], reward_id, key="voucher-key-0001")
    assert again.get_json()["code"] == "BBBBBBBB"
    db.session.expire_all()
    assert db.session.get(Reward, reward_id).stock == 2
    spent = db.session.execute(
        select(LedgerEntry.user_id, LedgerEntry.source_id).where(
            LedgerEntry.source_type == "redemption"
        )
    ).all()
    assert sorted(spent) == [
        (riders[0].user_id, "AAAAAAAA"),
        (riders[1].user_id, "BBBBBBBB"),
        (riders[2].user_id, "CCCCCCCC"),
    ]
    assert verify_ledger() == []
    # never a fresh code: refused with nothing taken
    monkeypatch.setattr(redemptions, "_new_code", lambda: "AAAAAAAA")
    rider = login("rider")
    give_points(rider.user_id, 100)
    refused(redeem(client, rider, reward_id), 503, "redemption.code_unavailable")
    assert balance(client, rider) == 100
    db.session.expire_all()
    assert db.session.get(Reward, reward_id).stock == 2


def test_cancel_retried_with_its_key_answers_with_the_first_result(client, login, units, db):
    """A rider on a weak network taps 取消兑换 again after the answer was lost: the same
    Idempotency-Key gets the cancelled redemption (200), refunded once; another key, or
    none, is a new cancel of a redemption that is no longer pending (409)."""
    reward = make_reward(units["A"], cost=30, stock=1)
    rider = login("rider")
    give_points(rider.user_id, 30)
    made = redeem(client, rider, reward.id).get_json()
    url = f"/api/v1/redemptions/{made['id']}/cancel"
    keyed = {**rider, "Idempotency-Key": "cancel-key-0001"}
    first = client.post(url, headers=keyed)
    assert first.status_code == 200 and first.get_json()["status"] == "cancelled"
    again = client.post(url, headers=keyed)
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    refused(
        client.post(url, headers={**rider, "Idempotency-Key": "cancel-key-0002"}),
        409,
        "redemption.not_pending",
    )
    refused(client.post(url, headers=rider), 409, "redemption.not_pending")
    refused(
        client.post(url, headers={**rider, "Idempotency-Key": "bad key!"}),
        400,
        "idempotency.invalid_key",
    )
    db.session.expire_all()
    assert db.session.get(Reward, reward.id).stock == 1
    refunds = db.session.scalar(
        select(func.count()).where(LedgerEntry.source_type == "redemption_refund")
    )
    assert refunds == 1
    assert client.get("/api/v1/me/points", headers=rider).get_json()["balance"] == 30
    assert len(notifications_of(db, rider.user_id, "redemption_refunded")) == 1
    # another rider's key on this redemption: still not theirs
    other = {**login("rider"), "Idempotency-Key": "cancel-key-0001"}
    refused(client.post(url, headers=other), 404, "redemption.not_found")
    assert verify_ledger() == []


def test_expiry_job_refunds_once_and_reminds_first(client, login, units, db, app):
    from server.points.tasks import expire_redemptions

    reward = make_reward(units["A"], cost=30, stock=1)
    rider = login("rider")
    give_points(rider.user_id, 30)
    made = redeem(client, rider, reward.id).get_json()
    clock.freeze(NOON + dt.timedelta(days=6, hours=1))
    assert expire_redemptions() == {"expired": 0, "reminded": 1}
    assert expire_redemptions() == {"expired": 0, "reminded": 0}
    assert len(notifications_of(db, rider.user_id, "redemption_expiring")) == 1
    clock.freeze(NOON + dt.timedelta(days=7, seconds=1))
    staff = login("grid_worker", "A")
    # handed over past its deadline, before the job came by: refused, and expired on the
    # spot, so that "积分已退回" is already true when the staff member says it
    body = refused(
        client.post(f"/api/v1/redemptions/{made['code']}/fulfil", headers=staff),
        409,
        "redemption.not_pending",
    )
    assert "积分已退回" in body["message"]
    assert account_summary(rider.user_id)["balance"] == 30
    assert expire_redemptions() == {"expired": 0, "reminded": 0}
    assert account_summary(rider.user_id)["balance"] == 30
    assert len(notifications_of(db, rider.user_id, "redemption_refunded")) == 1
    db.session.expire_all()
    assert db.session.get(Reward, reward.id).stock == 1
    assert db.session.get(Redemption, made["id"]).status == "expired"
    assert verify_ledger() == []


def test_expiry_job_is_registered():
    from server import PERIODIC_JOBS

    assert ("server.points.tasks.expire_redemptions", 3600) in PERIODIC_JOBS


def test_staff_manage_rewards_in_scope(client, login, units, db):
    admin = login("community_admin", "A")
    station = make_station(units["A1"])
    created = client.post(
        "/api/v1/admin/rewards",
        json={
            "station_id": station.id,
            "name": "旅行杯",
            "cost": 80,
            "stock": 5,
            "monthly_limit_per_user": 1,
        },
        headers=admin,
    )
    assert created.status_code == 201, created.get_json()
    reward = created.get_json()
    assert reward["org_unit_id"] == units["A1"].id and reward["station_id"] == station.id
    restocked = client.patch(
        f"/api/v1/admin/rewards/{reward['id']}", json={"stock_delta": 3}, headers=admin
    )
    assert restocked.get_json()["stock"] == 8
    refused(
        client.patch(
            f"/api/v1/admin/rewards/{reward['id']}", json={"stock_delta": -9}, headers=admin
        ),
        422,
        "reward.stock_negative",
    )
    elsewhere = client.post(
        "/api/v1/admin/rewards",
        json={"org_unit_id": units["C"].id, "name": "x", "cost": 1, "stock": 1},
        headers=admin,
    )
    assert elsewhere.status_code == 404
    # moving the reward to a station outside the admin's subtree: refused as on create
    far_station = make_station(units["C"])
    refused(
        client.patch(
            f"/api/v1/admin/rewards/{reward['id']}",
            json={"station_id": far_station.id},
            headers=admin,
        ),
        404,
        "not_found",
    )
    db.session.expire_all()
    assert db.session.get(Reward, reward["id"]).station_id == station.id
    # a station of another community than the reward's (both in a street admin's scope):
    # the reward's riders could not collect it there
    street = login("street_admin", "S1")
    b_station = make_station(units["B"])
    a_reward = {"org_unit_id": units["A"].id, "name": "y", "cost": 1, "stock": 1}
    refused(
        client.post(
            "/api/v1/admin/rewards", json={**a_reward, "station_id": b_station.id}, headers=street
        ),
        422,
        "reward.station_outside_unit",
    )
    refused(
        client.patch(
            f"/api/v1/admin/rewards/{reward['id']}",
            json={"station_id": b_station.id},
            headers=street,
        ),
        422,
        "reward.station_outside_unit",
    )
    refused(
        client.patch(
            f"/api/v1/admin/rewards/{reward['id']}",
            json={"org_unit_id": units["B"].id},
            headers=street,
        ),
        422,
        "reward.station_outside_unit",
    )
    db.session.expire_all()
    assert db.session.get(Reward, reward["id"]).station_id == station.id
    grid = login("grid_worker", "A")
    assert (
        client.post(
            "/api/v1/admin/rewards",
            json={"org_unit_id": units["A"].id, "name": "x", "cost": 1, "stock": 1},
            headers=grid,
        ).status_code
        == 403
    )
    rider = login("rider", "A")
    catalog = client.get("/api/v1/rewards", headers=rider).get_json()
    assert [r["name"] for r in catalog["items"]] == ["旅行杯"]
    far = login("rider", "C")
    assert client.get("/api/v1/rewards", headers=far).get_json()["total"] == 0


def test_a_grid_worker_hands_over_the_vouchers_of_their_community(client, login, units):
    """The station's community's staff fulfil: a grid worker bound to grid A1 hands over a
    reward of community A's catalog (and looks the voucher up); one of C's grid cannot."""
    reward = make_reward(units["A"], cost=10)
    rider = login("rider")
    give_points(rider.user_id, 100)
    code = redeem(client, rider, reward.id).get_json()["code"]
    far = login("grid_worker", "C1")
    refused(client.get(f"/api/v1/admin/redemptions/{code}", headers=far), 404, "not_found")
    refused(client.post(f"/api/v1/redemptions/{code}/fulfil", headers=far), 404, "not_found")
    assert client.get("/api/v1/admin/redemptions", headers=far).get_json()["total"] == 0
    rider_c = login("rider", "C")
    give_points(rider_c.user_id, 100)
    other = redeem(client, rider_c, make_reward(units["C"], cost=10).id)
    assert other.status_code == 201
    staff = login("grid_worker", "A1")
    # the list shows what they can hand over: their community's vouchers, not C's
    pending = client.get("/api/v1/admin/redemptions?status=pending", headers=staff).get_json()
    assert [item["code"] for item in pending["items"]] == [code]
    assert other.get_json()["code"] not in {item["code"] for item in pending["items"]}
    assert client.get(f"/api/v1/admin/redemptions/{code}", headers=staff).status_code == 200
    done = client.post(f"/api/v1/redemptions/{code}/fulfil", headers=staff)
    assert done.status_code == 200 and done.get_json()["status"] == "fulfilled"


def test_fulfil_by_the_scanned_qr_payload(client, login, units):
    reward = make_reward(units["A"], cost=10)
    rider = login("rider")
    give_points(rider.user_id, 100)
    created = redeem(client, rider, reward.id).get_json()
    assert created["qr_payload"].lower().startswith("fc-voucher:")
    staff = login("grid_worker", "A")
    done = client.post(f"/api/v1/redemptions/{created['qr_payload']}/fulfil", headers=staff)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "fulfilled"


def test_the_expiry_job_works_through_its_whole_backlog(client, login, units, db, monkeypatch):
    """More overdue vouchers than a batch: one run expires them all (a failing one is
    logged and skipped, not retried forever), and reminds every one due, soonest first."""
    from server.points import redemptions as module

    reward = make_reward(units["A"], cost=1, stock=100)
    rider = login("rider")
    give_points(rider.user_id, 100)
    made = [redeem(client, rider, reward.id).get_json()["id"] for _ in range(7)]
    clock.freeze(NOON + dt.timedelta(days=6, hours=1))  # all seven within a day of expiry
    assert module.remind_expiring(batch=2) == 7
    clock.freeze(NOON + dt.timedelta(days=7, seconds=1))
    real = module._close_and_refund

    def flaky(redemption_id, status, now, **kwargs):
        if redemption_id == made[3]:
            raise RuntimeError("a broken row")
        return real(redemption_id, status, now, **kwargs)

    monkeypatch.setattr(module, "_close_and_refund", flaky)
    assert module.expire_due(batch=2) == 6
    db.session.expire_all()
    statuses = [db.session.get(Redemption, rid).status for rid in made]
    assert statuses.count("expired") == 6 and statuses[3] == "pending"
    monkeypatch.setattr(module, "_close_and_refund", real)
    assert module.expire_due(batch=2) == 1
    assert account_summary(rider.user_id)["balance"] == 100
    assert verify_ledger() == []


def test_lists_send_every_field_their_document_promises(client, login, units):
    """Lists and lookups of redemptions and adjustments are documented without the
    `balance` only actions answer with: every documented item field is sent."""
    from tests.hardening.helpers import openapi

    spec = openapi(client)
    schemas = spec["components"]["schemas"]

    def documented(path):
        body = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        schema = body["schema"]
        while "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
        if "items" in schema.get("properties", {}):  # a page: its items' schema
            item = schema["properties"]["items"]["items"]
            schema = schemas[item["$ref"].rsplit("/", 1)[1]]
        return set(schema["properties"])

    reward = make_reward(units["A"], cost=10)
    rider = login("rider")
    give_points(rider.user_id, 100)
    code = redeem(client, rider, reward.id).get_json()["code"]
    admin = login("community_admin", "A")
    grant = {"user_id": rider.user_id, "delta": 5, "reason": "活动补录"}
    assert (
        client.post("/api/v1/admin/points/adjustments", json=grant, headers=admin).status_code
        == 201
    )
    sent = {
        "/api/v1/me/redemptions": client.get("/api/v1/me/redemptions", headers=rider),
        "/api/v1/admin/redemptions": client.get("/api/v1/admin/redemptions", headers=admin),
        "/api/v1/admin/points/adjustments": client.get(
            "/api/v1/admin/points/adjustments", headers=admin
        ),
    }
    for path, response in sent.items():
        item = response.get_json()["items"][0]
        assert documented(path) <= set(item), (path, documented(path) - set(item))
    looked_up = client.get(f"/api/v1/admin/redemptions/{code}", headers=admin).get_json()
    assert documented("/api/v1/admin/redemptions/{code}") <= set(looked_up)


def test_a_fulfil_retried_with_its_key_answers_with_the_hand_over(client, login, units, db):
    """The staff member's answer was lost: a retry with the same key is the hand-over they
    did (200), not '已核销，请勿重复发放' — which would have them keep goods the rider paid
    for; another key, or another staff member, is still refused."""
    reward = make_reward(units["A"], cost=10)
    rider = login("rider")
    give_points(rider.user_id, 100)
    code = redeem(client, rider, reward.id).get_json()["code"]
    staff = login("grid_worker", "A")
    url = f"/api/v1/redemptions/{code}/fulfil"
    keyed = {**staff, "Idempotency-Key": "fulfil-key-0001"}
    first = client.post(url, headers=keyed)
    assert first.status_code == 200 and first.get_json()["status"] == "fulfilled"
    again = client.post(url, headers=keyed)
    assert again.status_code == 200 and again.get_json() == first.get_json()
    refused(
        client.post(url, headers={**staff, "Idempotency-Key": "fulfil-key-0002"}),
        409,
        "redemption.already_fulfilled",
    )
    other = {**login("grid_worker", "A"), "Idempotency-Key": "fulfil-key-0001"}
    refused(client.post(url, headers=other), 409, "redemption.already_fulfilled")
    assert len(notifications_of(db, rider.user_id, "redemption_fulfilled")) == 1


def test_a_redemption_key_reused_for_another_reward_is_refused(client, login, units):
    """Not a replay: the same key with another reward. Answering with the first voucher
    would tell the rider they got 食用油 when they got 肥皂; nothing is taken either."""
    soap = make_reward(units["A"], name="肥皂", cost=10)
    oil = make_reward(units["A"], name="食用油", cost=40, stock=3)
    rider = login("rider")
    give_points(rider.user_id, 100)
    first = redeem(client, rider, soap.id, key="key-00000001")
    assert first.status_code == 201
    second = redeem(client, rider, oil.id, key="key-00000001")
    assert second.status_code == 409, second.get_json()
    assert second.get_json()["code"] == "idempotency.key_reused"
    assert "请求标识已用于另一次兑换" in second.get_json()["message"]
    assert balance(client, rider) == 90
    assert _db_reward(oil.id).stock == 3
    replay = redeem(client, rider, soap.id, key="key-00000001")  # a retry is still a replay
    assert replay.get_json()["code"] == first.get_json()["code"]
    assert balance(client, rider) == 90
    assert verify_ledger() == []


def _db_reward(reward_id):
    from server.extensions import db

    reward = db.session.get(Reward, reward_id)
    db.session.refresh(reward)
    return reward


def test_a_street_reward_handed_over_at_a_community_station_is_that_communitys_to_fulfil(
    client, login, units
):
    """A street offers a reward handed over at a station of community A: A's staff, who run
    the station, find and fulfil its vouchers (and list them); community B's do not."""
    street = login("street_admin", "S1")
    station = make_station(units["A"])
    created = client.post(
        "/api/v1/admin/rewards",
        json={
            "org_unit_id": units["S1"].id,
            "station_id": station.id,
            "name": "街道礼包",
            "cost": 10,
            "stock": 5,
        },
        headers=street,
    )
    assert created.status_code == 201, created.get_json()
    rider = login("rider", "A")
    give_points(rider.user_id, 100)
    code = redeem(client, rider, created.get_json()["id"]).get_json()["code"]
    other = login("community_admin", "B")
    assert client.get(f"/api/v1/admin/redemptions/{code}", headers=other).status_code == 404
    assert client.post(f"/api/v1/redemptions/{code}/fulfil", headers=other).status_code == 404
    listed = client.get("/api/v1/admin/redemptions", headers=other).get_json()["items"]
    assert code not in [r["code"] for r in listed]

    for staff in (login("community_admin", "A"), login("grid_worker", "A2")):
        assert client.get(f"/api/v1/admin/redemptions/{code}", headers=staff).status_code == 200
        listed = client.get("/api/v1/admin/redemptions", headers=staff).get_json()["items"]
        assert code in [r["code"] for r in listed]
    done = client.post(f"/api/v1/redemptions/{code}/fulfil", headers=login("grid_worker", "A2"))
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "fulfilled"


def test_a_micro_grid_worker_hands_over_their_communitys_vouchers(client, login, units, db):
    """A grid worker may be bound at a micro-grid: like one at a grid, they hand over the
    vouchers of their community."""
    from server.org.services import create_org_unit

    micro = create_org_unit("T-A1m", "测试A1微网格", "micro_grid", units["A1"])
    db.session.commit()
    reward = make_reward(units["A"], cost=10)
    rider = login("rider", "A")
    give_points(rider.user_id, 100)
    code = redeem(client, rider, reward.id).get_json()["code"]
    worker = login("grid_worker", micro)
    listed = client.get("/api/v1/admin/redemptions", headers=worker).get_json()["items"]
    assert code in [r["code"] for r in listed]
    done = client.post(f"/api/v1/redemptions/{code}/fulfil", headers=worker)
    assert done.status_code == 200, done.get_json()


def test_a_rewards_unit_cannot_be_patched_away(client, login, units):
    admin = login("community_admin", "A")
    reward = make_reward(units["A"], cost=10)
    r = client.patch(
        f"/api/v1/admin/rewards/{reward.id}", json={"org_unit_id": None}, headers=admin
    )
    assert r.status_code == 422, r.get_json()
    assert (r.get_json()["code"], r.get_json()["message"]) == (
        "reward.unit_required",
        "请选择奖品所属的社区或驿站",
    )
    assert _db_reward(reward.id).org_unit_id == units["A"].id


def test_redemption_messages_carry_what_their_templates_show(client, login, units, db):
    """item, status, station and expiry, not the send time and the title in their place."""
    from server.points.tasks import expire_redemptions
    from tests.factories import assert_template_sources

    reward = make_reward(units["A"], cost=30, stock=2)
    rider = login("rider")
    give_points(rider.user_id, 30)
    made = redeem(client, rider, reward.id).get_json()
    clock.freeze(NOON + dt.timedelta(days=6, hours=1))
    expire_redemptions()
    staff = login("grid_worker", "A")
    assert (
        client.post(f"/api/v1/redemptions/{made['code']}/fulfil", headers=staff).status_code == 200
    )
    for kind in ("redemption_created", "redemption_expiring", "redemption_fulfilled"):
        [notice] = notifications_of(db, rider.user_id, kind)
        shown = assert_template_sources(notice)
        assert reward.name in shown["thing1"]["value"], (kind, shown)
    expiring = assert_template_sources(
        notifications_of(db, rider.user_id, "redemption_expiring")[0]
    )
    assert expiring["time3"]["value"].startswith(f"{(NOON + dt.timedelta(days=7)).year}年")


def test_a_refund_notice_carries_what_its_template_shows(client, login, units, db):
    """redemption_refunded goes out with the redemption template (it had none: in-app only):
    the item, 已取消退回, the station and the time."""
    from tests.factories import assert_template_sources

    reward = make_reward(units["A"], cost=30, stock=2)
    rider = login("rider")
    give_points(rider.user_id, 30)
    made = redeem(client, rider, reward.id).get_json()
    cancelled = client.post(f"/api/v1/redemptions/{made['id']}/cancel", headers=rider)
    assert cancelled.status_code == 200, cancelled.get_json()
    [notice] = notifications_of(db, rider.user_id, "redemption_refunded")
    shown = assert_template_sources(notice)
    assert reward.name in shown["thing1"]["value"]
    assert shown["phrase2"]["value"] == "已取消退回"
    assert notice.data["refunded"] == 30


def test_the_keeper_sees_who_holds_a_voucher_masked(client, login, units):
    """The station keeper can ask the person presenting a voucher: the holder's name masked
    (张**) and the last four digits of their phone — never the whole of either."""
    reward = make_reward(units["A"], cost=10)
    rider = login("rider", display_name="张三丰")
    bound = client.post(
        "/api/v1/me/phone", json={"code": "sandbox-phone:13900001234:v1"}, headers=rider
    )
    assert bound.status_code == 200, bound.get_json()
    give_points(rider.user_id, 10)
    code = redeem(client, rider, reward.id).get_json()["code"]
    looked_up = client.get(f"/api/v1/admin/redemptions/{code}", headers=login("grid_worker", "A"))
    body = looked_up.get_json()
    assert (body["holder_name"], body["holder_phone_tail"]) == ("张**", "1234")
    assert "三丰" not in str(body) and "13900001234" not in str(body)
    nobody = login("rider")  # no phone bound, no name given
    give_points(nobody.user_id, 10)
    other = redeem(client, nobody, reward.id).get_json()["code"]
    body = client.get(f"/api/v1/admin/redemptions/{other}", headers=login("grid_worker", "A"))
    assert body.get_json()["holder_phone_tail"] is None
