"""A rider's withdraw racing the staff's approval of the same claim: the approval commits
after the withdraw read the claim as pending. The withdraw must see the decision (409), not
overwrite it: an overwritten approval leaves the post counting a holder it does not have."""

from __future__ import annotations

import threading

from sqlalchemy import event

from server.extensions import db as _db
from server.posts.models import Post, PostClaim
from server.posts.services import seed_default_posts


def test_withdraw_racing_an_approval_leaves_no_ghost_holder(app, client, db, units, login):
    post = {p.name: p for p in seed_default_posts(units["A"])}["矛盾调解员"]
    _db.session.commit()
    rider = login("rider")
    admin = login("community_admin", "A")
    response = client.post(f"/api/v1/posts/{post.id}/claims", json={}, headers=rider)
    claim_id = response.get_json()["id"]

    approved: dict = {}

    def approve():
        with app.app_context():
            try:
                response = app.test_client().post(
                    f"/api/v1/admin/post-claims/{claim_id}/approve", json={}, headers=admin
                )
                approved["status"] = response.status_code
            finally:
                _db.session.remove()

    withdrawing = threading.current_thread()
    fired = []

    def approval_lands_after_the_first_read(conn, cursor, statement, *args):
        # The withdraw has just read the claim (pending): the approval commits now.
        if (
            threading.current_thread() is withdrawing
            and not fired
            and statement.lstrip().upper().startswith("SELECT")
            and "post_claims" in statement
        ):
            fired.append(statement)
            thread = threading.Thread(target=approve)
            thread.start()
            thread.join(60)

    engine = _db.engine
    event.listen(engine, "after_cursor_execute", approval_lands_after_the_first_read)
    try:
        withdrawn = client.post(f"/api/v1/me/post-claims/{claim_id}/withdraw", headers=rider)
    finally:
        event.remove(engine, "after_cursor_execute", approval_lands_after_the_first_read)

    assert fired and approved == {"status": 200}
    body = withdrawn.get_json()
    assert (withdrawn.status_code, body.get("code")) == (409, "post_claim.not_pending"), body
    db.session.expire_all()
    assert db.session.get(PostClaim, claim_id).status == "approved"
    holders = db.session.get(Post, post.id).holder_count
    live = db.session.query(PostClaim).filter_by(post_id=post.id, status="approved").count()
    assert (holders, live) == (1, 1)


def test_withdraw_then_approval_is_refused(client, db, units, login):
    post = {p.name: p for p in seed_default_posts(units["A"])}["矛盾调解员"]
    _db.session.commit()
    rider = login("rider")
    admin = login("community_admin", "A")
    claim_id = client.post(f"/api/v1/posts/{post.id}/claims", json={}, headers=rider).get_json()[
        "id"
    ]
    withdrawn = client.post(f"/api/v1/me/post-claims/{claim_id}/withdraw", headers=rider)
    assert withdrawn.get_json()["status"] == "withdrawn"
    late = client.post(f"/api/v1/admin/post-claims/{claim_id}/approve", json={}, headers=admin)
    assert (late.status_code, late.get_json()["code"]) == (409, "post_claim.not_pending")
    db.session.expire_all()
    assert db.session.get(Post, post.id).holder_count == 0
