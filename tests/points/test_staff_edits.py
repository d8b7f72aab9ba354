"""Staff-side edits and reads of points features: from a review of the staff endpoints."""

from __future__ import annotations

from server.auth.models import User
from server.org.services import bind_staff, create_invitation
from tests.factories import give_points, make_reward

API = "/api/v1"


def test_staff_who_are_also_residents_read_the_ranking_they_ask_for(client, login, units, db):
    """A resident of A later bound as street admin of S2 asked for C's ranking and silently
    got A's (the staff path was taken only for those registered nowhere)."""
    staff = login("resident", "A")
    code, _ = create_invitation(units["S2"], "street_admin", None, allow_admin=True)
    bind_staff(db.session.get(User, staff.user_id), code)
    rider = login("rider", "C")
    give_points(rider.user_id, 30)
    asked = client.get(
        f"{API}/rankings", query_string={"org_unit_id": units["C"].id}, headers=staff
    )
    assert asked.status_code == 200, asked.get_json()
    assert (asked.get_json()["unit_id"], asked.get_json()["total"]) == (units["C"].id, 1)
    outside = client.get(
        f"{API}/rankings", query_string={"org_unit_id": units["A"].id}, headers=staff
    )
    assert outside.status_code == 404  # A is not in their subtree, though they live there
    own = client.get(f"{API}/rankings", headers=staff)  # no unit named: where they live
    assert own.get_json()["unit_id"] == units["A"].id
    # a rider naming a unit still reads their own
    other = client.get(
        f"{API}/rankings", query_string={"org_unit_id": units["A"].id}, headers=rider
    )
    assert other.get_json()["unit_id"] == units["C"].id


def test_a_rewards_image_must_be_an_https_address(client, login, units):
    admin = login("community_admin", "A")
    for bad in ("javascript:alert(1)", "http://example.com/a.png", "not a url"):
        response = client.post(
            f"{API}/admin/rewards",
            json={
                "org_unit_id": units["A"].id,
                "name": "洗衣液",
                "cost": 10,
                "stock": 1,
                "image_url": bad,
            },
            headers=admin,
        )
        assert response.status_code == 422, (bad, response.get_json())
    good = client.post(
        f"{API}/admin/rewards",
        json={
            "org_unit_id": units["A"].id,
            "name": "洗衣液",
            "cost": 10,
            "stock": 1,
            "image_url": "https://cdn.example.com/a.png",
        },
        headers=admin,
    )
    assert good.status_code == 201


def test_restocking_cannot_pass_the_stock_maximum(client, login, units, db):
    """stock_delta had no ceiling: past the INTEGER column it was a 500 on PostgreSQL, and
    with `stock` in the same edit the documented maximum (1,000,000) was no maximum."""
    from server.points.models import Reward

    admin = login("community_admin", "A")
    reward_id = make_reward(units["A"], stock=999_999).id
    url = f"{API}/admin/rewards/{reward_id}"
    refused = client.patch(url, json={"stock_delta": 2}, headers=admin)
    assert (refused.status_code, refused.get_json()["code"]) == (422, "reward.stock_too_large")
    assert refused.get_json()["message"] == "库存不能超过 1,000,000"
    both = client.patch(url, json={"stock": 1_000_000, "stock_delta": 1_000_000}, headers=admin)
    assert (both.status_code, both.get_json()["code"]) == (422, "reward.stock_too_large")
    db.session.remove()
    assert db.session.get(Reward, reward_id).stock == 999_999  # nothing changed
    assert (
        client.patch(url, json={"stock_delta": 1}, headers=admin).get_json()["stock"] == 1_000_000
    )


def test_an_edit_echoing_the_stock_it_read_does_not_undo_a_redemption(client, login, units, db):
    """Staff opened the reward (stock 5), a rider redeemed one (4, a voucher pending), staff
    saved a rename with the form's fields, stock 5 among them: stock 5 again, six vouchers
    for five items. An absolute `stock` now replaces only the stock the editor saw."""
    from server.points.models import Reward

    admin = login("community_admin", "A")
    reward_id = make_reward(units["A"], cost=10, stock=5).id
    url = f"{API}/admin/rewards/{reward_id}"
    seen = client.get(f"{API}/admin/rewards", headers=admin).get_json()["items"][0]
    rider = login("rider", "A")
    give_points(rider.user_id, 100)
    made = client.post(f"{API}/redemptions", json={"reward_id": reward_id}, headers=rider)
    assert made.status_code == 201
    # the form echoes the stock nobody changed: the rename is saved, the redemption stands
    echoed = {"name": "洗衣液（大瓶）", "stock": seen["stock"], "stock_was": seen["stock"]}
    saved = client.patch(url, json=echoed, headers=admin)
    assert saved.status_code == 200, saved.get_json()
    assert (saved.get_json()["name"], saved.get_json()["stock"]) == ("洗衣液（大瓶）", 4)
    # a new figure over the stock read before the redemption: refused, nothing saved
    stale = client.patch(
        url, json={"cost": 20, "stock": 8, "stock_was": seen["stock"]}, headers=admin
    )
    body = stale.get_json()
    assert (stale.status_code, body["code"]) == (409, "reward.stock_changed"), body
    assert body["details"] == {"stock": 4, "stock_was": 5}
    assert "现在是 4" in body["message"]
    db.session.remove()
    assert (db.session.get(Reward, reward_id).stock, db.session.get(Reward, reward_id).cost) == (
        4,
        10,
    )
    # a figure without the one it replaces: refused; over the current one: saved
    bare = client.patch(url, json={"stock": 8}, headers=admin)
    assert (bare.status_code, bare.get_json()["code"]) == (422, "reward.stock_was_required")
    fresh = client.patch(url, json={"stock": 8, "stock_was": 4}, headers=admin)
    assert (fresh.status_code, fresh.get_json()["stock"]) == (200, 8)


def test_an_absolute_stock_racing_a_refund_is_refused_not_lost(
    client, login, units, db, monkeypatch
):
    """A cancel's refund committed between the PATCH's read of the reward and its write: the
    absolute stock overwrote it, the refunded unit was gone. Now the write is conditional on
    the stock the editor saw; `stock_delta` restocks on top of whatever it is."""
    from sqlalchemy import create_engine, text

    from server.points import redemptions

    admin = login("community_admin", "A")
    reward_id = make_reward(units["A"], cost=10, stock=1).id
    rider = login("rider", "A")
    give_points(rider.user_id, 100)
    made = client.post(f"{API}/redemptions", json={"reward_id": reward_id}, headers=rider)
    assert made.status_code == 201  # stock 0, one voucher pending
    read = redemptions.reward_in_scope

    def read_then_refund(scope, rid):
        reward = read(scope, rid)  # the PATCH has read the row (stock 0)...
        engine = create_engine(db.engine.url)  # ...another worker's cancel commits
        with engine.begin() as conn:
            conn.execute(text("UPDATE rewards SET stock = stock + 1 WHERE id = :i"), {"i": rid})
        engine.dispose()
        return reward

    monkeypatch.setattr(redemptions, "reward_in_scope", read_then_refund)
    url = f"{API}/admin/rewards/{reward_id}"
    raced = client.patch(url, json={"stock": 3, "stock_was": 0}, headers=admin)
    body = raced.get_json()
    assert (raced.status_code, body["code"]) == (409, "reward.stock_changed"), body
    assert body["details"]["stock"] == 1
    monkeypatch.undo()
    restocked = client.patch(url, json={"stock_delta": 3}, headers=admin)
    assert restocked.get_json()["stock"] == 4  # the refund's unit and the three that came


def _registered(client, auth, unit):
    """Staff who are also registered in a community earn and redeem as a rider does."""
    moved = client.patch(f"{API}/me", json={"community_id": unit.id}, headers=auth)
    assert moved.status_code == 200, moved.get_json()


def test_staff_cannot_hand_their_own_voucher_to_themselves(client, login, units, db):
    """Goods leaving the stock need a second person, as a points adjustment does."""
    from server.points.models import Redemption

    reward = make_reward(units["A"], cost=10, stock=5)
    staff = login("community_admin", "A")
    _registered(client, staff, units["A"])
    give_points(staff.user_id, 100)
    made = client.post(f"{API}/redemptions", json={"reward_id": reward.id}, headers=staff)
    code = made.get_json()["code"]
    own = client.post(f"{API}/redemptions/{code}/fulfil", headers=staff)
    assert (own.status_code, own.get_json()["code"]) == (403, "redemption.self_fulfil")
    db.session.expire_all()
    assert db.session.query(Redemption).one().status == "pending"
    colleague = login("community_admin", "A")
    assert client.post(f"{API}/redemptions/{code}/fulfil", headers=colleague).status_code == 200


def test_points_of_staff_are_adjusted_only_from_above(client, login, units):
    """A community admin paid the street admin who lives in the community, who could pay
    them back: two people granting each other points round the no-self-adjustment rule."""
    from server.points.services import balance_of

    def adjust(auth, user_id):
        return client.post(
            f"{API}/admin/points/adjustments",
            json={"user_id": user_id, "delta": 50, "reason": "奖励一下"},
            headers=auth,
        )

    street = login("street_admin", "S1")
    _registered(client, street, units["A"])
    colleague = login("community_admin", "A")
    _registered(client, colleague, units["A"])
    grid_worker = login("grid_worker", "A1")
    _registered(client, grid_worker, units["A"])
    admin_a = login("community_admin", "A")
    for above_or_beside in (street, colleague):
        refused = adjust(admin_a, above_or_beside.user_id)
        assert (refused.status_code, refused.get_json()["code"]) == (
            403,
            "points.adjust_staff_outside",
        )
        assert balance_of(above_or_beside.user_id) == 0
    assert adjust(admin_a, grid_worker.user_id).status_code == 201  # below: as any rider
    assert adjust(street, colleague.user_id).status_code == 201  # from above
