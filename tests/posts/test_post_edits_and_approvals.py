"""Post edits (names, sort) and what an approval re-checks: the claimant and the approver."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event

from server.extensions import db
from server.posts.services import seed_default_posts


def posts_of(unit):
    created = seed_default_posts(unit)
    db.session.commit()
    return {post.name: post for post in created}


def code(response):
    return response.status_code, (response.get_json() or {}).get("code")


def test_renaming_a_post_to_a_name_its_community_has_is_409(client, units, login):
    posts = posts_of(units["A"])
    admin = login("community_admin", "A")
    url = f"/api/v1/admin/posts/{posts['文明倡导员'].id}"
    response = client.patch(url, json={"name": "流动网格员"}, headers=admin)
    assert code(response) == (409, "post.name_taken")
    assert "流动网格员" in response.get_json()["message"]
    db.session.expire_all()
    assert db.session.get(type(posts["文明倡导员"]), posts["文明倡导员"].id).name == "文明倡导员"
    # keeping its own name, or another community's name, is fine
    assert client.patch(url, json={"name": "文明倡导员"}, headers=admin).status_code == 200
    posts_of(units["B"])
    assert client.patch(url, json={"name": "文明倡导员2"}, headers=admin).status_code == 200


def test_two_staff_creating_the_same_post_at_once_get_201_and_409(app, client, units, login):
    """The second request commits while the first sits between its name check and its
    insert (two staff at once, a double tap on 保存): the loser is told, not a 500."""
    admin, other = login("community_admin", "A"), login("community_admin", "A")
    body = {"org_unit_id": units["A"].id, "name": "环境监督员", "capacity": 3, "duty_points": 6}
    second = {}

    def create_meanwhile():
        with app.app_context():
            try:
                second["response"] = app.test_client().post(
                    "/api/v1/admin/posts", json=body, headers=other
                )
            finally:
                db.session.remove()

    first_thread, fired = threading.current_thread(), []

    def after_the_name_check(conn, cursor, statement, *args):
        if (
            threading.current_thread() is first_thread
            and not fired
            and "FROM posts" in statement
            and statement.lstrip().upper().startswith("SELECT")
        ):
            fired.append(statement)
            thread = threading.Thread(target=create_meanwhile)
            thread.start()
            thread.join(60)

    event.listen(db.engine, "after_cursor_execute", after_the_name_check)
    try:
        first = client.post("/api/v1/admin/posts", json=body, headers=admin)
    finally:
        event.remove(db.engine, "after_cursor_execute", after_the_name_check)
    assert fired and second["response"].status_code == 201
    assert code(first) == (409, "post.name_taken")


@pytest.mark.parametrize("sort", [2**31, -(2**31) - 1, 2**63 - 1])
def test_a_sort_the_column_cannot_hold_is_422(client, units, login, sort):
    post = posts_of(units["A"])["流动网格员"]
    admin = login("community_admin", "A")
    edit = client.patch(f"/api/v1/admin/posts/{post.id}", json={"sort": sort}, headers=admin)
    assert edit.status_code == 422
    new = {"org_unit_id": units["A"].id, "name": "环境监督员", "capacity": 3, "duty_points": 6}
    created = client.post("/api/v1/admin/posts", json={**new, "sort": sort}, headers=admin)
    assert created.status_code == 422
    # the column's own limits are accepted
    assert (
        client.patch(
            f"/api/v1/admin/posts/{post.id}", json={"sort": 2**31 - 1}, headers=admin
        ).status_code
        == 200
    )


def test_staff_filtering_posts_by_a_street_get_its_communities_posts(client, units, login):
    posts_of(units["A"])
    posts_of(units["B"])
    street = login("street_admin", "S1")
    everything = client.get("/api/v1/admin/posts?page_size=100", headers=street).get_json()
    by_street = client.get(
        f"/api/v1/admin/posts?page_size=100&org_unit_id={units['S1'].id}", headers=street
    ).get_json()
    assert by_street["total"] == everything["total"] == 10


def test_a_claim_of_a_claimant_no_longer_a_rider_is_not_approved(client, units, login):
    post = posts_of(units["A"])["流动网格员"]
    rider = login("rider")
    claim = client.post(f"/api/v1/posts/{post.id}/claims", json={}, headers=rider).get_json()
    switched = client.patch("/api/v1/me", json={"role": "resident"}, headers=rider)
    assert switched.status_code == 200
    admin = login("community_admin", "A")
    approve = f"/api/v1/admin/post-claims/{claim['id']}/approve"
    response = client.post(approve, json={}, headers=admin)
    assert code(response) == (409, "post_claim.claimant_moved")
    listed = client.get("/api/v1/admin/posts?page_size=100", headers=admin).get_json()
    assert {p["name"]: p["holder_count"] for p in listed["items"]}["流动网格员"] == 0
    # declining it still works
    declined = client.post(
        f"/api/v1/admin/post-claims/{claim['id']}/decline", json={}, headers=admin
    )
    assert declined.status_code == 200


def test_moving_away_ends_the_claims_in_the_old_community(client, units, login):
    """A rider who registered with another community cannot serve the old one's posts: the
    pending claim is withdrawn, the post held is left (its place goes back), and neither
    counts against the limit in the new community."""
    a_posts, c_posts = posts_of(units["A"]), posts_of(units["C"])
    rider = login("rider")
    held = client.post(f"/api/v1/posts/{a_posts['流动网格员'].id}/claims", json={}, headers=rider)
    asked = client.post(f"/api/v1/posts/{a_posts['文明倡导员'].id}/claims", json={}, headers=rider)
    admin = login("community_admin", "A")
    approve = f"/api/v1/admin/post-claims/{held.get_json()['id']}/approve"
    assert client.post(approve, json={}, headers=admin).status_code == 200
    moved = client.patch("/api/v1/me", json={"community_id": units["C"].id}, headers=rider)
    assert moved.status_code == 200
    mine = client.get("/api/v1/me/post-claims", headers=rider).get_json()["items"]
    assert {c["id"]: c["status"] for c in mine} == {
        held.get_json()["id"]: "ended",
        asked.get_json()["id"]: "withdrawn",
    }
    listed = client.get("/api/v1/admin/posts?page_size=100", headers=admin).get_json()
    assert {p["name"]: p["holder_count"] for p in listed["items"]}["流动网格员"] == 0
    for name in ("流动网格员", "文明倡导员"):  # the limit (2) counts the new community only
        claimed = client.post(f"/api/v1/posts/{c_posts[name].id}/claims", json={}, headers=rider)
        assert claimed.status_code == 201, claimed.get_json()
    again = client.patch("/api/v1/me", json={"community_id": units["C"].id}, headers=rider)
    assert again.status_code == 200  # the same community: its claims stay
    mine = client.get("/api/v1/me/post-claims", headers=rider).get_json()["items"]
    assert sorted(c["status"] for c in mine) == ["ended", "pending", "pending", "withdrawn"]


def test_staff_cannot_approve_their_own_claim(client, units, login):
    post = posts_of(units["A"])["流动网格员"]
    admin = login("community_admin", "A")
    became_rider = client.patch(
        "/api/v1/me",
        json={"role": "rider", "community_id": units["A"].id, "platform": "meituan"},
        headers=admin,
    )
    assert became_rider.status_code == 200
    claim = client.post(f"/api/v1/posts/{post.id}/claims", json={}, headers=admin).get_json()
    approve = f"/api/v1/admin/post-claims/{claim['id']}/approve"
    assert code(client.post(approve, json={}, headers=admin)) == (
        403,
        "post_claim.self_approval",
    )
    other = login("community_admin", "A")
    assert client.post(approve, json={}, headers=other).status_code == 200


def test_a_claim_on_a_post_taken_offline_is_not_approved(client, units, login):
    post = posts_of(units["A"])["流动网格员"]
    rider = login("rider")
    claim = client.post(f"/api/v1/posts/{post.id}/claims", json={}, headers=rider).get_json()
    admin = login("community_admin", "A")
    offline = client.patch(
        f"/api/v1/admin/posts/{post.id}", json={"is_active": False}, headers=admin
    )
    assert offline.status_code == 200
    approve = f"/api/v1/admin/post-claims/{claim['id']}/approve"
    assert code(client.post(approve, json={}, headers=admin)) == (409, "post_claim.post_inactive")
    online = client.patch(f"/api/v1/admin/posts/{post.id}", json={"is_active": True}, headers=admin)
    assert online.status_code == 200
    assert client.post(approve, json={}, headers=admin).status_code == 200
