"""Races with real threads on the real database: stock, balance, duplicate check-ins."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import func, select

from server import clock
from server.points.models import LedgerEntry, Redemption, Reward
from server.points.services import set_rule
from server.stations.models import CheckIn
from server.stations.services import scene_of
from tests.factories import give_points, make_reward, make_station


def _rewarded_rows(db, user_id: int) -> int:
    """The rider's check-in rows that carry an award."""
    rewarded = select(func.count()).where(CheckIn.user_id == user_id, CheckIn.status == "ok")
    return db.session.scalar(rewarded)


def _outcome(response):
    body = response.get_json()
    return response.status_code, body.get("code") if response.status_code >= 400 else "ok"


def test_fifty_riders_five_in_stock(client, login, units, db, concurrently, verify_ledger_cli):
    reward = make_reward(units["A"], name="蓝牙耳机", cost=30, stock=5)
    reward_id = reward.id
    riders = [login("rider") for _ in range(50)]
    for n, rider in enumerate(riders):
        give_points(rider.user_id, 100, source_id=f"seed-{n}")

    def buy(c, i):
        return _outcome(
            c.post("/api/v1/redemptions", json={"reward_id": reward_id}, headers=riders[i])
        )

    outcomes = Counter(concurrently(50, buy))
    assert outcomes == {(201, "ok"): 5, (409, "redemption.out_of_stock"): 45}, outcomes
    db.session.expire_all()
    assert db.session.get(Reward, reward_id).stock == 0
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 5
    spent = db.session.scalar(select(func.count()).where(LedgerEntry.source_type == "redemption"))
    assert spent == 5
    verify_ledger_cli()


def test_one_rider_twenty_at_once_with_points_for_one(
    client, login, units, db, concurrently, verify_ledger_cli
):
    reward = make_reward(units["A"], name="充电宝", cost=50, stock=100)
    reward_id = reward.id
    rider = login("rider")
    give_points(rider.user_id, 50)

    def buy(c, i):
        return _outcome(c.post("/api/v1/redemptions", json={"reward_id": reward_id}, headers=rider))

    outcomes = Counter(concurrently(20, buy))
    assert outcomes == {(201, "ok"): 1, (400, "redemption.insufficient_points"): 19}, outcomes
    db.session.expire_all()
    assert db.session.get(Reward, reward_id).stock == 99
    assert client.get("/api/v1/me/points", headers=rider).get_json()["balance"] == 0
    verify_ledger_cli()


def test_one_rider_same_idempotency_key_at_once(client, login, units, db, concurrently):
    reward = make_reward(units["A"], cost=10, stock=100)
    reward_id = reward.id
    rider = login("rider")
    give_points(rider.user_id, 100)
    headers = {**rider, "Idempotency-Key": "redeem-key-0001"}

    def buy(c, i):
        response = c.post("/api/v1/redemptions", json={"reward_id": reward_id}, headers=headers)
        return response.status_code, response.get_json()["id"]

    results = concurrently(10, buy)
    assert {status for status, _ in results} == {201}
    assert len({rid for _, rid in results}) == 1
    assert client.get("/api/v1/me/points", headers=rider).get_json()["balance"] == 90


def test_one_cancel_retried_at_once(client, login, units, db, concurrently, verify_ledger_cli):
    """Ten copies of one cancel (same Idempotency-Key) at once: all answer with the cancelled
    redemption, one refund; ten cancels with their own keys: one wins, nine are refused."""
    reward = make_reward(units["A"], cost=10, stock=2)
    reward_id = reward.id
    rider = login("rider")
    give_points(rider.user_id, 20)
    made = [
        client.post("/api/v1/redemptions", json={"reward_id": reward_id}, headers=rider)
        for _ in range(2)
    ]
    first, second = (response.get_json()["id"] for response in made)
    keyed = {**rider, "Idempotency-Key": "cancel-race-0001"}

    def same_key(c, i):
        response = c.post(f"/api/v1/redemptions/{first}/cancel", headers=keyed)
        return _outcome(response), response.get_json().get("status")

    assert Counter(concurrently(10, same_key)) == {((200, "ok"), "cancelled"): 10}

    def own_keys(c, i):
        headers = {**rider, "Idempotency-Key": f"cancel-race-1{i:03d}"}
        return _outcome(c.post(f"/api/v1/redemptions/{second}/cancel", headers=headers))

    outcomes = Counter(concurrently(10, own_keys))
    assert outcomes == {(200, "ok"): 1, (409, "redemption.not_pending"): 9}, outcomes
    db.session.expire_all()
    assert db.session.get(Reward, reward_id).stock == 2
    refunds = db.session.scalar(
        select(func.count()).where(LedgerEntry.source_type == "redemption_refund")
    )
    assert refunds == 2
    assert client.get("/api/v1/me/points", headers=rider).get_json()["balance"] == 20
    verify_ledger_cli()


def test_same_redemption_key_at_once_with_points_for_one(client, login, units, db, concurrently):
    """A retry racing its first copy, when the balance covers one: every copy answers with the
    first voucher, none with "insufficient points" (the first copy is still committing)."""
    reward = make_reward(units["A"], cost=10, stock=1)
    reward_id = reward.id
    rider = login("rider")
    give_points(rider.user_id, 10)
    headers = {**rider, "Idempotency-Key": "redeem-key-0002"}

    def buy(c, i):
        response = c.post("/api/v1/redemptions", json={"reward_id": reward_id}, headers=headers)
        return response.status_code, response.get_json().get("id") or response.get_json()["code"]

    results = concurrently(8, buy)
    assert {status for status, _ in results} == {201}, Counter(results)
    assert len({rid for _, rid in results}) == 1
    db.session.expire_all()
    assert db.session.get(Reward, reward_id).stock == 0
    assert client.get("/api/v1/me/points", headers=rider).get_json()["balance"] == 0


def test_same_adjustment_key_at_once(client, login, units, concurrently, verify_ledger_cli):
    """A double tap on a staff grant: one adjustment, every copy answers with it (no 500)."""
    admin = login("community_admin", "A")
    rider = login("rider", "A")
    headers = {**admin, "Idempotency-Key": "adjust-key-0001"}
    body = {"user_id": rider.user_id, "delta": 30, "reason": "补发积分"}

    def grant(c, i):
        response = c.post("/api/v1/admin/points/adjustments", json=body, headers=headers)
        return response.status_code, response.get_json().get("id") or response.get_json()["code"]

    results = concurrently(8, grant)
    assert {status for status, _ in results} <= {200, 201}, Counter(results)
    assert len({adjustment_id for _, adjustment_id in results}) == 1
    assert client.get("/api/v1/me/points", headers=rider).get_json()["balance"] == 30
    verify_ledger_cli()


def test_same_check_in_key_at_once_after_the_cap(client, login, units, db, concurrently):
    """Copies of one check-in whose award uses up the day's cap: all answer with the first,
    none with "daily cap reached" (and no refusal is recorded for them)."""
    clock.freeze(dt.datetime(2026, 11, 18, 4, 0))
    set_rule(units["A"].id, "checkin", 5, 5)
    db.session.commit()
    station = make_station(units["A"])
    rider = login("rider")
    body = {"scene": scene_of(station), "lat": station.lat, "lng": station.lng, "accuracy": 10}
    headers = {**rider, "Idempotency-Key": "scan-key-000002"}

    def scan(c, i):
        response = c.post("/api/v1/checkins", json=body, headers=headers)
        answer = response.get_json()
        return response.status_code, answer["checkin"]["id"] if "checkin" in answer else answer

    results = concurrently(6, scan)
    assert {status for status, _ in results} == {201}, results
    assert len({checkin_id for _, checkin_id in results}) == 1
    assert client.get("/api/v1/me/points", headers=rider).get_json()["balance"] == 5
    refusals = db.session.scalar(select(func.count()).where(CheckIn.status == "refused"))
    assert refusals == 0


def test_one_fulfil_retried_at_once(client, login, units, db, concurrently):
    """Copies of one hand-over (same key) at once: every copy answers with it, once."""
    reward = make_reward(units["A"], cost=10, stock=1)
    rider = login("rider")
    give_points(rider.user_id, 10)
    code = client.post(
        "/api/v1/redemptions", json={"reward_id": reward.id}, headers=rider
    ).get_json()["code"]
    staff = {**login("grid_worker", "A"), "Idempotency-Key": "fulfil-race-0001"}

    def hand_over(c, i):
        response = c.post(f"/api/v1/redemptions/{code}/fulfil", headers=staff)
        return _outcome(response), response.get_json().get("status")

    assert Counter(concurrently(8, hand_over)) == {((200, "ok"), "fulfilled"): 8}


def test_twenty_duplicate_check_ins_award_once(
    client, login, units, db, concurrently, verify_ledger_cli
):
    clock.freeze(dt.datetime(2026, 11, 18, 4, 0))
    station = make_station(units["A"])
    rider = login("rider")
    body = {"scene": scene_of(station), "lat": station.lat, "lng": station.lng, "accuracy": 10}

    def scan(c, i):
        return _outcome(c.post("/api/v1/checkins", json=body, headers=rider))

    outcomes = Counter(concurrently(20, scan))
    assert outcomes[(201, "ok")] == 1, outcomes
    assert set(outcomes) <= {
        (201, "ok"),
        (409, "checkin.already_checked_in"),
        (429, "checkin.rate_limited"),
    }
    assert client.get("/api/v1/me/points", headers=rider).get_json()["balance"] == 5
    entries = db.session.scalar(
        select(func.count()).where(
            LedgerEntry.user_id == rider.user_id, LedgerEntry.source_type == "checkin"
        )
    )
    assert entries == 1
    assert _rewarded_rows(db, rider.user_id) == 1
    verify_ledger_cli()


def test_duplicate_check_ins_without_redis_dedupe_still_award_once(
    client, login, units, db, concurrently, redis, monkeypatch
):
    """The ledger's unique key is the real gate: Redis forgetting must not double-award."""
    clock.freeze(dt.datetime(2026, 11, 18, 4, 0))
    station = make_station(units["A"])
    rider = login("rider")
    body = {"scene": scene_of(station), "lat": station.lat, "lng": station.lng, "accuracy": 10}
    from redis import Redis

    real_set = Redis.set

    def forgetful_set(self, name, value, *args, **kwargs):
        if str(name).startswith("ci:done:"):
            return True  # as if every request found the key absent
        return real_set(self, name, value, *args, **kwargs)

    monkeypatch.setattr(Redis, "set", forgetful_set)

    def scan(c, i):
        return _outcome(c.post("/api/v1/checkins", json=body, headers=rider))

    outcomes = Counter(concurrently(8, scan))
    assert outcomes[(201, "ok")] == 1, outcomes
    assert client.get("/api/v1/me/points", headers=rider).get_json()["balance"] == 5
    # one rewarded check-in row too: it is written only after its award, in the same
    # transaction, so the ledger's key keeps the check-ins to one a day as well
    assert _rewarded_rows(db, rider.user_id) == 1


def test_concurrent_awards_from_distinct_sources_all_land(app, login, db, concurrently):
    from server.extensions import db as _db
    from server.points.services import award_points

    rider = login("rider")

    def award(c, i):
        with app.app_context():
            award_points(rider.user_id, 3, reason="并发", source_type="test", source_id=i)
            award_points(rider.user_id, 3, reason="重复", source_type="test", source_id=i)
            _db.session.commit()
        return True

    concurrently(12, award)
    from server.points.services import account_summary, verify_ledger

    assert account_summary(rider.user_id)["balance"] == 36
    assert verify_ledger() == []


def test_same_check_in_key_at_once_answers_with_the_first(client, login, units, concurrently):
    clock.freeze(dt.datetime(2026, 11, 18, 4, 0))
    station = make_station(units["A"])
    rider = login("rider")
    body = {"scene": scene_of(station), "lat": station.lat, "lng": station.lng, "accuracy": 10}
    headers = {**rider, "Idempotency-Key": "scan-key-000001"}

    def scan(c, i):
        response = c.post("/api/v1/checkins", json=body, headers=headers)
        return response.status_code, response.get_json()["checkin"]["id"]

    results = concurrently(6, scan)
    assert {status for status, _ in results} == {201}
    assert len({checkin_id for _, checkin_id in results}) == 1
    assert client.get("/api/v1/me/points", headers=rider).get_json()["balance"] == 5


def _vouchers(client, login, units, n):
    """A reward (cost 10, stock n) and a rider holding n pending vouchers for it, all of
    their points spent: (reward id, rider's headers, {redemption id: code})."""
    reward_id = make_reward(units["A"], cost=10, stock=n).id
    rider = login("rider", "A")
    give_points(rider.user_id, 10 * n)
    codes = {}
    for _ in range(n):
        made = client.post("/api/v1/redemptions", json={"reward_id": reward_id}, headers=rider)
        codes[made.get_json()["id"]] = made.get_json()["code"]
    return reward_id, rider, codes


def test_cancel_and_hand_over_of_one_voucher_at_once(
    client, login, units, db, concurrently, verify_ledger_cli
):
    """The rider cancels while staff scan the voucher, for ten vouchers at once: each ends
    fulfilled (no refund) or cancelled (one refund), never both; the loser gets the code
    saying which happened; stock is back only for the cancelled ones."""
    reward_id, rider, codes = _vouchers(client, login, units, 10)
    ids = sorted(codes)
    staff = login("grid_worker", "A")

    def race(c, i):
        redemption_id = ids[i // 2]
        if i % 2:
            response = c.post(f"/api/v1/redemptions/{redemption_id}/cancel", headers=rider)
        else:
            response = c.post(f"/api/v1/redemptions/{codes[redemption_id]}/fulfil", headers=staff)
        return redemption_id, "cancel" if i % 2 else "fulfil", _outcome(response)

    results = concurrently(20, race)
    db.session.expire_all()
    fulfilled = cancelled = 0
    for redemption_id in ids:
        mine = {action: outcome for rid, action, outcome in results if rid == redemption_id}
        status = db.session.get(Redemption, redemption_id).status
        if status == "fulfilled":
            fulfilled += 1
            assert mine == {"fulfil": (200, "ok"), "cancel": (409, "redemption.already_fulfilled")}
        else:
            cancelled += 1
            assert status == "cancelled"
            assert mine == {"cancel": (200, "ok"), "fulfil": (409, "redemption.not_pending")}
    refunds = db.session.scalars(
        select(LedgerEntry.source_id).where(LedgerEntry.source_type == "redemption_refund")
    ).all()
    assert sorted(refunds) == sorted(
        codes[rid] for rid in ids if db.session.get(Redemption, rid).status == "cancelled"
    )
    assert db.session.get(Reward, reward_id).stock == cancelled
    assert fulfilled + cancelled == 10
    balance = client.get("/api/v1/me/points", headers=rider).get_json()["balance"]
    assert balance == 100 - 10 * fulfilled
    verify_ledger_cli()


def test_voucher_at_its_deadline_cancelled_scanned_and_expired_at_once(
    app, client, login, units, db, concurrently, verify_ledger_cli
):
    """At the deadline three paths close a voucher and refund it: the rider's cancel, the
    staff scan that finds it expired (and expires it on the spot) and the hourly job. All
    at once, for eight vouchers: one refund each, stock back once, nothing handed over."""
    from server.points.redemptions import expire_due

    clock.freeze(dt.datetime(2026, 11, 18, 4, 0))
    app.config["TOKEN_TTL_SECONDS"] = 30 * 86400  # the same logins a week later
    reward_id, rider, codes = _vouchers(client, login, units, 8)
    ids = sorted(codes)
    staff = login("grid_worker", "A")
    deadline = db.session.get(Redemption, ids[0]).expires_at
    clock.freeze(deadline)

    def race(c, i):
        redemption_id = ids[i // 3]
        if i % 3 == 0:
            return "cancel", _outcome(
                c.post(f"/api/v1/redemptions/{redemption_id}/cancel", headers=rider)
            )
        if i % 3 == 1:
            return "fulfil", _outcome(
                c.post(f"/api/v1/redemptions/{codes[redemption_id]}/fulfil", headers=staff)
            )
        with app.app_context():
            return "job", expire_due()

    results = concurrently(24, race)
    assert {outcome for action, outcome in results if action == "fulfil"} == {
        (409, "redemption.not_pending")
    }
    assert {outcome for action, outcome in results if action == "cancel"} <= {
        (200, "ok"),
        (409, "redemption.not_pending"),
    }
    db.session.expire_all()
    statuses = Counter(db.session.get(Redemption, rid).status for rid in ids)
    assert set(statuses) <= {"cancelled", "expired"}, statuses
    cancels = sum(1 for action, outcome in results if action == "cancel" and outcome[0] == 200)
    assert statuses["cancelled"] == cancels
    refunds = db.session.scalars(
        select(LedgerEntry.source_id).where(LedgerEntry.source_type == "redemption_refund")
    ).all()
    assert sorted(refunds) == sorted(codes.values())  # one refund per voucher
    assert db.session.get(Reward, reward_id).stock == 8
    assert client.get("/api/v1/me/points", headers=rider).get_json()["balance"] == 80
    verify_ledger_cli()


def test_staff_deduction_and_redemption_at_once_with_points_for_one(
    client, login, units, db, concurrently, verify_ledger_cli
):
    """A staff deduction and the rider's redemption race for the same 10 points, ten times
    over: each time exactly one gets them, the balance never goes below zero."""
    reward_id = make_reward(units["A"], cost=10, stock=100).id
    admin = login("community_admin", "A")
    riders = [login("rider", "A") for _ in range(10)]
    for n, rider in enumerate(riders):
        give_points(rider.user_id, 10, source_id=f"seed-{n}")

    def race(c, i):
        rider = riders[i // 2]
        if i % 2:
            body = {"user_id": rider.user_id, "delta": -10, "reason": "撤销重复发放"}
            response = c.post("/api/v1/admin/points/adjustments", json=body, headers=admin)
            return "deduct", _outcome(response)
        response = c.post("/api/v1/redemptions", json={"reward_id": reward_id}, headers=rider)
        return "redeem", _outcome(response)

    results = concurrently(20, race)
    for n, rider in enumerate(riders):
        pair = dict(results[2 * n : 2 * n + 2])
        won = [action for action, outcome in pair.items() if outcome[0] in (200, 201)]
        assert len(won) == 1, pair
        loser = ({"deduct", "redeem"} - set(won)).pop()
        assert (
            pair[loser]
            == {
                "deduct": (400, "points.adjustment_exceeds_balance"),
                "redeem": (400, "redemption.insufficient_points"),
            }[loser]
        ), pair
        assert client.get("/api/v1/me/points", headers=rider).get_json()["balance"] == 0
    db.session.expire_all()
    sold = db.session.scalar(select(func.count()).select_from(Redemption))
    assert db.session.get(Reward, reward_id).stock == 100 - sold
    verify_ledger_cli()
