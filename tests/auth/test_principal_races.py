"""Races on the Redis principal: a commit that changes a user row it loaded before a
revocation committed must not write the old token version back (the revoked token would
work again for up to 10 minutes); nor may a late write-through replace a newer one."""

import threading

from server.auth import principal as principals
from server.auth import services
from server.auth.models import User
from server.extensions import db


def _in_another_worker(app, fn):
    out = {}

    def run():
        with app.test_client() as other:  # own thread: own app context, own session
            out["response"] = fn(other)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    return out["response"]


def _logout_while_a_stale_row_is_loaded(app, auth):
    # worker 1 (a PATCH /me, a login, a phone binding...) has loaded the row ...
    user = db.session.get(User, auth.user_id)
    # ... worker 2 commits a logout (or a staff unbinding) meanwhile
    logout = _in_another_worker(app, lambda c: c.post("/api/v1/auth/logout", headers=auth))
    assert logout.status_code == 204
    assert principals.get(auth.user_id).token_version == user.token_version + 1
    # worker 1 commits its own, unrelated change
    services.update_profile(user, {"display_name": "改个名字"})
    db.session.remove()


def test_a_stale_row_does_not_overwrite_the_revocation_in_redis(app, login):
    auth = login("rider")
    _logout_while_a_stale_row_is_loaded(app, auth)
    in_db = db.session.get(User, auth.user_id).token_version
    cached = principals.get(auth.user_id).token_version
    assert cached == in_db, f"Redis principal says version {cached}, the users row {in_db}"


def test_a_logged_out_token_stays_dead(app, login):
    auth = login("rider")
    _logout_while_a_stale_row_is_loaded(app, auth)
    again = _in_another_worker(app, lambda c: c.get("/api/v1/me/checkins", headers=auth))
    assert again.status_code == 401, (again.status_code, again.get_json())


def test_a_stale_row_does_not_reactivate_a_deactivated_account(app, login):
    """Deactivation (an operator's UPDATE) bumps no token version: only reading the row back
    at the flush, not the loaded object, keeps the record inactive."""
    auth = login("rider")
    user = db.session.get(User, auth.user_id)  # worker 1 has loaded the row

    def deactivate(_client):
        with app.app_context():
            db.session.execute(
                User.__table__.update().where(User.id == auth.user_id).values(is_active=False)
            )
            db.session.commit()
            db.session.remove()

    _in_another_worker(app, deactivate)
    services.update_profile(user, {"display_name": "改个名字"})  # worker 1 commits
    db.session.remove()
    assert principals.get(auth.user_id).is_active is False
    again = _in_another_worker(app, lambda c: c.get("/api/v1/me/checkins", headers=auth))
    assert again.status_code == 401


def test_a_write_through_never_replaces_a_newer_token_version(app, login):
    """Two commits' writes may reach Redis out of order (a stale one after a logout's): the
    record keeps the higher token version; equal or higher versions replace it."""
    auth = login("rider", display_name="张三")
    current = principals.get(auth.user_id)
    newer = principals.Principal(auth.user_id, current.token_version + 1, True, None, None, "张三")
    principals.store([newer])
    principals.store([current])  # the late, stale write
    assert principals.get(auth.user_id).token_version == newer.token_version
    renamed = principals.Principal(auth.user_id, newer.token_version, True, None, None, "李四")
    principals.store([renamed])
    assert principals.get(auth.user_id).display_name == "李四"
