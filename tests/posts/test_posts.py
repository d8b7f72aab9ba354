"""Governance posts: claims by registered riders, the per-rider limit, staff decisions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from server import clock
from server.activities.models import Activity
from server.extensions import db as _db
from server.notifications.models import Notification
from server.points.models import LedgerEntry
from server.posts.models import Post
from server.posts.services import seed_default_posts
from tests.activities.helpers import START, make_activity, run_threads, scan


def posts_of(unit) -> dict[str, Post]:
    created = seed_default_posts(unit)
    _db.session.commit()
    return {post.name: post for post in created}


def claim(client, auth, post_id):
    return client.post(f"/api/v1/posts/{post_id}/claims", json={}, headers=auth)


def code(response):
    return response.status_code, response.get_json()["code"]


def test_list_claim_approve_and_end(client, db, units, login):
    posts = posts_of(units["A"])
    rider = login("rider")
    listing = client.get("/api/v1/posts", headers=rider).get_json()
    assert [p["name"] for p in listing["items"]] == [
        "流动网格员",
        "文明倡导员",
        "安全巡查员",
        "矛盾调解员",
        "助老服务员",
    ]
    post = posts["安全巡查员"]
    response = claim(client, rider, post.id)
    assert response.status_code == 201
    claim_id = response.get_json()["id"]
    assert response.get_json()["status"] == "pending"
    mine = client.get("/api/v1/posts", headers=rider).get_json()["items"][2]
    assert mine["my_claim"]["status"] == "pending"
    assert code(claim(client, rider, post.id)) == (409, "post.already_claimed")

    admin = login("community_admin", "A")
    queue = client.get("/api/v1/admin/post-claims?status=pending", headers=admin).get_json()
    assert [c["id"] for c in queue["items"]] == [claim_id]
    approved = client.post(
        f"/api/v1/admin/post-claims/{claim_id}/approve", json={}, headers=admin
    ).get_json()
    assert approved["status"] == "approved"
    assert code(
        client.post(f"/api/v1/admin/post-claims/{claim_id}/approve", json={}, headers=admin)
    ) == (409, "post_claim.not_pending")
    assert client.get("/api/v1/posts", headers=rider).get_json()["items"][2]["holder_count"] == 1
    kinds = (
        db.session.execute(select(Notification.kind).where(Notification.user_id == rider.user_id))
        .scalars()
        .all()
    )
    assert kinds == ["post_claim_decided"]

    ended = client.post(
        f"/api/v1/admin/post-claims/{claim_id}/end", json={"note": "工作调动"}, headers=admin
    )
    assert ended.get_json()["status"] == "ended"
    assert code(
        client.post(f"/api/v1/admin/post-claims/{claim_id}/end", json={}, headers=admin)
    ) == (409, "post_claim.not_active")
    assert client.get("/api/v1/posts", headers=rider).get_json()["items"][2]["holder_count"] == 0
    # Once ended, the rider may apply again.
    assert claim(client, rider, post.id).status_code == 201


def test_claim_limit_and_refusals(client, units, login):
    posts = posts_of(units["A"])
    in_b = posts_of(units["B"])
    rider = login("rider")
    names = list(posts)
    assert claim(client, rider, posts[names[0]].id).status_code == 201
    assert claim(client, rider, posts[names[1]].id).status_code == 201
    third = claim(client, rider, posts[names[2]].id)
    assert code(third) == (409, "post.claim_limit")
    assert third.get_json()["details"]["limit"] == 2
    # Withdrawing a pending claim frees a slot.
    first_id = client.get("/api/v1/me/post-claims", headers=rider).get_json()["items"][-1]["id"]
    withdrawn = client.post(f"/api/v1/me/post-claims/{first_id}/withdraw", headers=rider)
    assert withdrawn.get_json()["status"] == "withdrawn"
    assert claim(client, rider, posts[names[2]].id).status_code == 201

    resident = login("resident")
    assert code(claim(client, resident, posts[names[3]].id)) == (403, "post.riders_only")
    assert code(claim(client, login("rider"), in_b["矛盾调解员"].id)) == (
        403,
        "post.other_community",
    )
    assert code(claim(client, rider, 99999)) == (404, "post.not_found")


def test_concurrent_claims_respect_the_limit(app, client, units, login):
    posts = list(posts_of(units["A"]).values())
    rider = login("rider")
    results = run_threads(app, [lambda c, p=p: claim(c, rider, p.id) for p in posts])
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201, 201, 409, 409, 409]
    assert {r.get_json()["code"] for r in results if r.status_code == 409} == {"post.claim_limit"}


def test_approval_respects_capacity_and_scope(client, units, login):
    post = posts_of(units["A"])["矛盾调解员"]
    admin = login("community_admin", "A")
    resized = client.patch(f"/api/v1/admin/posts/{post.id}", json={"capacity": 1}, headers=admin)
    assert resized.get_json()["capacity"] == 1
    first, second = login("rider"), login("rider")
    one = claim(client, first, post.id).get_json()["id"]
    two = claim(client, second, post.id).get_json()["id"]
    approve = client.post(f"/api/v1/admin/post-claims/{one}/approve", json={}, headers=admin)
    assert approve.status_code == 200
    full = client.post(f"/api/v1/admin/post-claims/{two}/approve", json={}, headers=admin)
    assert code(full) == (409, "post_claim.post_full")
    assert code(claim(client, login("rider"), post.id)) == (409, "post.full")
    declined = client.post(
        f"/api/v1/admin/post-claims/{two}/decline", json={"note": "名额已满"}, headers=admin
    ).get_json()
    assert (declined["status"], declined["decision_note"]) == ("declined", "名额已满")
    shrink = client.patch(f"/api/v1/admin/posts/{post.id}", json={"capacity": 0}, headers=admin)
    assert shrink.status_code == 422

    admin_b = login("community_admin", "B")
    assert code(client.post(f"/api/v1/admin/post-claims/{one}/end", json={}, headers=admin_b)) == (
        404,
        "post_claim.not_found",
    )
    grid = login("grid_worker", "A")
    assert (
        client.post(f"/api/v1/admin/post-claims/{one}/end", json={}, headers=grid).status_code
        == 403
    )
    created = client.post(
        "/api/v1/admin/posts",
        json={"org_unit_id": units["A"].id, "name": "环境监督员", "capacity": 3, "duty_points": 6},
        headers=admin,
    )
    assert created.status_code == 201
    dup = client.post(
        "/api/v1/admin/posts",
        json={"org_unit_id": units["A"].id, "name": "环境监督员", "capacity": 3, "duty_points": 6},
        headers=admin,
    )
    assert code(dup) == (409, "post.name_taken")


def test_duty_activity_earns_the_post_points(client, db, units, login):
    post = posts_of(units["A"])["助老服务员"]
    clock.freeze(START - dt.timedelta(days=1))
    activity = make_activity(units["A"], post_id=post.id, title="助老服务：上门探访")
    assert db.session.get(Activity, activity.id).points is None
    rider = login("rider")
    client.post(f"/api/v1/activities/{activity.id}/enrolments", headers=rider)
    clock.freeze(START)
    scan(client, rider, activity)
    clock.freeze(START + dt.timedelta(minutes=45))
    body = scan(client, rider, activity).get_json()
    assert body["points_awarded"] == post.duty_points
    rules = (
        db.session.execute(select(LedgerEntry.rule).where(LedgerEntry.user_id == rider.user_id))
        .scalars()
        .all()
    )
    assert rules == ["post_duty"]
