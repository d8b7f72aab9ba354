"""The ledger: award_points semantics, caps, verify, manual adjustments."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from server import clock
from server.errors import DomainError
from server.points.models import LedgerEntry, PointsAccount, PointsAdjustment
from server.points.services import (
    account_summary,
    award_points,
    rule_points,
    set_rule,
    verify_ledger,
)
from tests.factories import give_points


def _duty(user: int, n, units) -> int | None:
    entry = award_points(
        user,
        10,
        reason="岗位",
        source_type="duty",
        source_id=n,
        org_unit_id=units["A"].id,
        rule="post_duty",
    )
    return entry.delta if entry else None


def test_award_once_per_source_and_never_negative(login, db):
    user = login("rider").user_id
    entry = award_points(
        user, 10, reason="线索", source_type="report", source_id=7, rule="clue_accepted"
    )
    assert entry is not None and entry.id and entry.balance_after == 10
    assert award_points(user, 10, reason="线索", source_type="report", source_id="7") is None
    db.session.commit()
    spent = award_points(user, -4, reason="扣", source_type="test", source_id="a")
    assert spent.balance_after == 6
    with pytest.raises(DomainError) as info:
        award_points(user, -7, reason="扣", source_type="test", source_id="b")
    assert info.value.code == "points.insufficient"
    db.session.rollback()
    assert account_summary(user) == {
        "balance": 10,
        "earned_this_month": 10,
        "lifetime_earned": 10,
        "entries": 1,
    }


def test_award_stays_in_the_callers_transaction(login, db):
    user = login("rider").user_id
    award_points(user, 10, reason="x", source_type="test", source_id=1)
    db.session.rollback()
    assert account_summary(user)["balance"] == 0
    assert db.session.scalar(select(LedgerEntry.id)) is None


def test_daily_cap_per_rule_reduces_then_skips(login, db, units):
    user = login("rider").user_id
    set_rule(units["A"].id, "post_duty", 10, 25)
    db.session.commit()
    clock.freeze(dt.datetime(2026, 11, 18, 4, 0))
    assert [_duty(user, n, units) for n in range(4)] == [10, 10, 5, None]
    clock.freeze(dt.datetime(2026, 11, 19, 4, 0))
    assert _duty(user, 9, units) == 10


def test_rule_points_inherit_and_default(units, db):
    assert rule_points(units["A1"].id, "checkin") == 5  # the default in code
    set_rule(units["S1"].id, "checkin", 7, None)
    set_rule(units["A"].id, "checkin", 9, None)
    db.session.commit()
    assert rule_points(units["A1"].id, "checkin") == 9
    assert rule_points(units["B1"].id, "checkin") == 7
    assert rule_points(units["C1"].id, "checkin") == 5
    assert rule_points(units["A"].id, "activity_attendance") == 20


def test_verify_finds_tampering_and_the_cli_exits_non_zero(login, db, app):
    user = login("rider").user_id
    give_points(user, 20)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["points", "verify"]).exit_code == 0
    db.session.execute(
        update(PointsAccount).where(PointsAccount.user_id == user).values(balance=25)
    )
    db.session.commit()
    problems = verify_ledger()
    assert any("balance 25 != ledger sum 20" in p for p in problems)
    result = runner.invoke(args=["points", "verify"])
    assert result.exit_code != 0


def test_verify_checks_what_earned_this_month_shows(login, db):
    """The account's month counter (what /me/points shows) is checked against the ledger,
    for the current month and for an account last written in an earlier one."""
    user, idle = login("rider").user_id, login("rider").user_id
    clock.freeze(dt.datetime(2026, 10, 31, 4, 0))
    give_points(idle, 7, source_id="oct-idle")
    give_points(user, 20, source_id="oct")
    clock.freeze(dt.datetime(2026, 11, 2, 4, 0))
    give_points(user, 5, source_id="nov")
    assert verify_ledger() == []
    for who, value in ((user, 6), (idle, 8)):
        db.session.execute(
            update(PointsAccount).where(PointsAccount.user_id == who).values(month_earned=value)
        )
    db.session.commit()
    problems = verify_ledger()
    assert f"user {user}: month_earned 6 in 202611 != 5 in the ledger" in problems
    assert f"user {idle}: month_earned 8 in 202610 != 7 in the ledger" in problems


def test_earned_this_month_resets_with_the_month(login, db):
    user = login("rider").user_id
    clock.freeze(dt.datetime(2026, 10, 31, 4, 0))
    give_points(user, 20, source_id="oct")
    clock.freeze(dt.datetime(2026, 11, 2, 4, 0))
    assert account_summary(user)["earned_this_month"] == 0
    give_points(user, 5, source_id="nov")
    summary = account_summary(user)
    assert (summary["earned_this_month"], summary["lifetime_earned"]) == (5, 25)


def test_my_points_pages_the_ledger(client, login):
    rider = login("rider")
    for n in range(5):
        give_points(rider.user_id, 1, source_id=f"s{n}")
    page = client.get("/api/v1/me/points?page=2&page_size=2", headers=rider).get_json()
    assert page["ledger"]["total"] == 5 and len(page["ledger"]["items"]) == 2
    assert page["ledger"]["items"][0]["balance_after"] == 3


def test_my_points_authenticates_with_the_statement_that_reads_them(
    client, login, round_trips, monkeypatch
):
    """One statement reads the user's row, the account and the page: no Redis round trip,
    and the row (not its copy in Redis) decides whether the token still counts."""
    from sqlalchemy import event

    from server.auth import principal as principals
    from server.auth.models import User
    from server.extensions import db as _db
    from server.extensions import get_redis

    rider = login("rider")
    give_points(rider.user_id, 3, source_id="s1")
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    del round_trips[:]
    event.listen(_db.engine, "before_cursor_execute", record)
    try:
        body = client.get("/api/v1/me/points", headers=rider).get_json()
    finally:
        event.remove(_db.engine, "before_cursor_execute", record)
    assert body["balance"] == 3 and [i["delta"] for i in body["ledger"]["items"]] == [3]
    assert round_trips == [] and len(statements) == 1

    newcomer = login("rider")  # no account yet: nothing earned, an empty page
    body = client.get("/api/v1/me/points", headers=newcomer).get_json()
    assert (body["balance"], body["ledger"]["items"], body["ledger"]["total"]) == (0, [], 0)

    stale = get_redis().get(principals.key(rider.user_id))  # the record as it was
    user = _db.session.get(User, rider.user_id)
    user.token_version += 1  # revoked
    _db.session.commit()
    get_redis().set(principals.key(rider.user_id), stale)  # a copy that missed the change
    response = client.get("/api/v1/me/points", headers=rider)
    assert (response.status_code, response.get_json()["code"]) == (401, "auth.token_revoked")
    user.token_version -= 1
    user.is_active = False  # deactivated
    _db.session.commit()
    response = client.get("/api/v1/me/points", headers=rider)
    assert (response.status_code, response.get_json()["code"]) == (401, "auth.token_revoked")


def test_manual_adjustment_is_scoped_audited_and_notified(client, login, db):
    rider = login("rider", "A")
    admin = login("community_admin", "A")
    body = {"user_id": rider.user_id, "delta": 15, "reason": "协助疏导交通"}
    made = client.post("/api/v1/admin/points/adjustments", json=body, headers=admin)
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["balance"] == 15
    deduct = {"user_id": rider.user_id, "delta": -20, "reason": "撤销重复发放"}
    response = client.post("/api/v1/admin/points/adjustments", json=deduct, headers=admin)
    assert response.get_json()["code"] == "points.adjustment_exceeds_balance"
    deduct["delta"] = -5
    assert (
        client.post("/api/v1/admin/points/adjustments", json=deduct, headers=admin).get_json()[
            "balance"
        ]
        == 10
    )
    outsider = login("community_admin", "C")
    assert (
        client.post("/api/v1/admin/points/adjustments", json=body, headers=outsider).status_code
        == 404
    )
    grid = login("grid_worker", "A")
    assert (
        client.post("/api/v1/admin/points/adjustments", json=body, headers=grid).status_code == 403
    )
    audit = client.get("/api/v1/admin/points/adjustments", headers=admin).get_json()
    assert audit["total"] == 2
    rows = db.session.execute(select(PointsAdjustment)).scalars().all()
    assert {r.created_by_id for r in rows} == {admin.user_id}
    from server.notifications.models import Notification

    kinds = (
        db.session.execute(select(Notification.kind).where(Notification.user_id == rider.user_id))
        .scalars()
        .all()
    )
    assert kinds.count("points_adjusted") == 2
    # a deduction is a reversal: it lowers earned figures as well as the balance
    mine = client.get("/api/v1/me/points", headers=rider).get_json()
    assert (mine["balance"], mine["lifetime_earned"]) == (10, 10)
    assert verify_ledger() == []


def test_adjustment_replay_with_idempotency_key(client, login):
    rider = login("rider", "A")
    admin = login("community_admin", "A")
    body = {"user_id": rider.user_id, "delta": 5, "reason": "活动补录"}
    headers = {**admin, "Idempotency-Key": "adj-000000001"}
    first = client.post("/api/v1/admin/points/adjustments", json=body, headers=headers)
    again = client.post("/api/v1/admin/points/adjustments", json=body, headers=headers)
    assert first.get_json()["id"] == again.get_json()["id"]
    assert account_summary(rider.user_id)["balance"] == 5


@pytest.mark.parametrize(
    "change",
    [{"user_id": "other"}, {"delta": 50}, {"reason": "另一次活动"}],
    ids=["another rider", "another amount", "another reason"],
)
def test_an_adjustment_key_reused_for_another_adjustment_is_refused(client, login, change):
    """Not a retry: answering with the first would tell staff the second was made."""
    admin = login("community_admin", "A")
    rider, other = login("rider", "A"), login("rider", "A")
    url = "/api/v1/admin/points/adjustments"
    headers = {**admin, "Idempotency-Key": "adj-000000002"}
    body = {"user_id": rider.user_id, "delta": 5, "reason": "活动补录"}
    assert client.post(url, json=body, headers=headers).status_code == 201
    if change.get("user_id") == "other":
        change = {"user_id": other.user_id}
    second = client.post(url, json={**body, **change}, headers=headers)
    assert second.status_code == 409, second.get_json()
    assert second.get_json()["code"] == "idempotency.key_reused"
    assert "请求标识已用于另一次积分调整" in second.get_json()["message"]
    assert account_summary(rider.user_id)["balance"] == 5
    assert account_summary(other.user_id)["balance"] == 0
    assert client.post(url, json=body, headers=headers).status_code == 201  # the retry still is


def test_staff_set_rules(client, login, units):
    admin = login("community_admin", "A")
    response = client.put(
        "/api/v1/admin/points/rules",
        json={"org_unit_id": units["A"].id, "rule": "checkin", "points": 3, "daily_cap": 9},
        headers=admin,
    )
    assert response.status_code == 200
    rules = {r["rule"]: r for r in response.get_json()}
    assert (rules["checkin"]["points"], rules["checkin"]["daily_cap"]) == (3, 9)
    assert (
        client.get(
            f"/api/v1/admin/points/rules?org_unit_id={units['C'].id}", headers=admin
        ).status_code
        == 404
    )


def test_changing_a_rules_points_keeps_its_cap_and_a_unit_can_drop_its_own_rule(
    client, login, units
):
    """PUT without daily_cap keeps the cap in effect (not 'no cap'); null lifts it; DELETE
    drops the community's own rule and it follows the street's again."""
    street = login("street_admin", "S1")
    admin = login("community_admin", "A")
    url = "/api/v1/admin/points/rules"

    def checkin_rule(unit):
        rules = client.get(f"{url}?org_unit_id={unit.id}", headers=admin).get_json()
        return next((r["points"], r["daily_cap"]) for r in rules if r["rule"] == "checkin")

    street_rule = {"org_unit_id": units["S1"].id, "rule": "checkin", "points": 4, "daily_cap": 12}
    assert client.put(url, json=street_rule, headers=street).status_code == 200
    own = {"org_unit_id": units["A"].id, "rule": "checkin", "points": 6}
    assert client.put(url, json=own, headers=admin).status_code == 200
    assert checkin_rule(units["A"]) == (6, 12)  # the street's cap, kept
    assert client.put(url, json={**own, "daily_cap": None}, headers=admin).status_code == 200
    assert checkin_rule(units["A"]) == (6, None)
    dropped = client.delete(f"{url}?org_unit_id={units['A'].id}&rule=checkin", headers=admin)
    assert dropped.status_code == 200
    assert checkin_rule(units["A"]) == (4, 12)  # the street's again
    again = client.delete(f"{url}?org_unit_id={units['A'].id}&rule=checkin", headers=admin)
    assert again.status_code == 200  # nothing left to drop: unchanged
    far = client.delete(f"{url}?org_unit_id={units['C'].id}&rule=checkin", headers=admin)
    assert far.status_code == 404
    grid = login("grid_worker", "A")
    assert (
        client.delete(f"{url}?org_unit_id={units['A'].id}&rule=checkin", headers=grid).status_code
        == 403
    )


def test_staff_cannot_adjust_their_own_points(client, login, units):
    admin = login("community_admin", "A")
    client.patch("/api/v1/me", json={"community_id": units["A"].id}, headers=admin)
    response = client.post(
        "/api/v1/admin/points/adjustments",
        json={"user_id": admin.user_id, "delta": 100000, "reason": "自己加分"},
        headers=admin,
    )
    assert response.status_code == 403
    assert response.get_json()["code"] == "points.self_adjustment"
    assert account_summary(admin.user_id)["balance"] == 0


def _forget_the_day(user: int) -> None:
    """The account row as written before it carried the day's sums (NULL: not known)."""
    from server.extensions import db

    db.session.execute(
        update(PointsAccount)
        .where(PointsAccount.user_id == user)
        .values(day=None, day_earned=None, last_checkin_lat=None, last_checkin_at=None)
    )
    db.session.commit()


def _twenty_duty_points_today(login, units) -> int:
    """A rider with two duty awards of 10 on 2026-11-18 (the day's cap: 25)."""
    from server.extensions import db

    user = login("rider").user_id
    set_rule(units["A"].id, "post_duty", 10, 25)
    db.session.commit()
    clock.freeze(dt.datetime(2026, 11, 18, 4, 0))
    assert [_duty(user, 1, units), _duty(user, 2, units)] == [10, 10]
    return user


def test_the_account_row_keeps_the_days_sums_per_rule(login, db, units):
    user = _twenty_duty_points_today(login, units)
    give_points(user, 3, source_id="other")  # no rule: the sums stay
    db.session.commit()
    account = db.session.get(PointsAccount, user)
    db.session.refresh(account)
    assert account.day == dt.date(2026, 11, 18)
    assert account.day_earned == {"post_duty": 20}
    clock.freeze(dt.datetime(2026, 11, 19, 4, 0))  # a new day starts from nothing
    assert _duty(user, 3, units) == 10
    db.session.commit()
    db.session.refresh(account)
    assert (account.day, account.day_earned) == (dt.date(2026, 11, 19), {"post_duty": 10})
    assert verify_ledger() == []


def test_an_older_account_row_reads_the_days_sums_from_the_ledger(login, db, units):
    user = _twenty_duty_points_today(login, units)
    db.session.commit()
    _forget_the_day(user)
    assert _duty(user, 3, units) == 5  # the cap still counts the 20 the ledger holds
    assert _duty(user, 4, units) is None
    db.session.commit()
    account = db.session.get(PointsAccount, user)
    db.session.refresh(account)
    assert account.day_earned == {"post_duty": 25}  # known again
    assert verify_ledger() == []


def test_verify_finds_a_wrong_days_sum(login, db, units):
    user = login("rider").user_id
    set_rule(units["A"].id, "post_duty", 10, 25)
    db.session.commit()
    assert _duty(user, 1, units) == 10
    db.session.commit()
    db.session.execute(
        update(PointsAccount)
        .where(PointsAccount.user_id == user)
        .values(day_earned={"post_duty": 4})
    )
    db.session.commit()
    assert any("day_earned {'post_duty': 4}" in p for p in verify_ledger())


def test_an_account_row_ahead_of_this_nodes_clock_keeps_its_day(login, db, units):
    """Clocks of two nodes a little apart around midnight: the later day is not lost."""
    user = login("rider").user_id
    set_rule(units["A"].id, "post_duty", 10, 25)
    db.session.commit()
    clock.freeze(dt.datetime(2026, 11, 18, 15, 59, 59))  # 23:59:59 in Shanghai
    assert _duty(user, 1, units) == 10
    clock.freeze(dt.datetime(2026, 11, 18, 16, 0, 1))  # the next day on a node ahead
    assert _duty(user, 2, units) == 10
    db.session.commit()
    clock.freeze(dt.datetime(2026, 11, 18, 15, 59, 59, 500000))  # a node behind
    assert [_duty(user, 3, units), _duty(user, 4, units)] == [10, 5]  # its day: 20 then 25
    db.session.commit()
    account = db.session.get(PointsAccount, user)
    db.session.refresh(account)
    assert (account.day, account.day_earned) == (dt.date(2026, 11, 19), {"post_duty": 10})
    assert verify_ledger() == []


def test_an_account_row_ahead_of_this_nodes_clock_keeps_its_month(login, db, units):
    """The same skew at a month's end: the node behind neither resets the next month's
    earned points to its own month nor leaves a row `points verify` refuses."""
    user = login("rider").user_id
    set_rule(units["A"].id, "post_duty", 10, 25)
    db.session.commit()
    clock.freeze(dt.datetime(2026, 11, 30, 15, 59, 59))  # 23:59:59 on 30 Nov in Shanghai
    assert _duty(user, 1, units) == 10
    clock.freeze(dt.datetime(2026, 11, 30, 16, 0, 1))  # 1 Dec on a node ahead
    assert _duty(user, 2, units) == 10
    db.session.commit()
    clock.freeze(dt.datetime(2026, 11, 30, 15, 59, 59, 500000))  # a node behind
    assert _duty(user, 3, units) == 10
    db.session.commit()
    account = db.session.get(PointsAccount, user)
    db.session.refresh(account)
    assert (account.month_key, account.month_earned) == (202612, 10)
    assert verify_ledger() == []
    clock.freeze(dt.datetime(2026, 12, 1, 4, 0))
    assert account_summary(user)["earned_this_month"] == 10
