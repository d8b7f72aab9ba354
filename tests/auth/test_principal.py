"""The per-request authentication record in Redis (server/auth/principal.py): written
through on every commit that changes a user, filled on a miss without ever overwriting a
newer record, and never the reason a revoked token is accepted."""

from __future__ import annotations

from server.auth import principal as principals
from server.auth.models import User
from server.extensions import db, get_redis


def _record(user_id):
    raw = get_redis().get(f"auth:p:{user_id}")
    return None if raw is None else principals._decode(user_id, raw)


def test_login_writes_the_record_and_requests_need_no_user_row(client, login, units):
    auth = login("rider", display_name="张三")
    record = _record(auth.user_id)
    assert record is not None
    assert (record.community_id, record.street_id) == (units["A"].id, units["S1"].id)
    assert record.display_name == "张三" and record.is_active and record.token_version == 1
    assert 0 < get_redis().ttl(f"auth:p:{auth.user_id}") <= principals.TTL_S
    assert client.get("/api/v1/me/checkins", headers=auth).status_code == 200


def test_a_change_reaches_the_record_at_commit(client, login, units):
    auth = login("rider")
    response = client.patch(
        "/api/v1/me", json={"community_id": units["C"].id, "display_name": "李四"}, headers=auth
    )
    assert response.status_code == 200
    record = _record(auth.user_id)
    assert (record.community_id, record.street_id) == (units["C"].id, units["S2"].id)
    assert record.display_name == "李四"
    # a rolled-back change does not
    user = db.session.get(User, auth.user_id)
    user.display_name = "王五"
    db.session.flush()
    db.session.rollback()
    assert _record(auth.user_id).display_name == "李四"


def test_revocation_holds_even_with_the_record_cached(client, login):
    auth = login("rider")
    assert client.get("/api/v1/me", headers=auth).status_code == 200  # record in Redis
    assert client.post("/api/v1/auth/logout", headers=auth).status_code == 204
    assert _record(auth.user_id).token_version == 2
    response = client.get("/api/v1/me/checkins", headers=auth)
    assert (response.status_code, response.get_json()["code"]) == (401, "auth.token_revoked")


def test_a_fill_that_read_before_a_revocation_cannot_overwrite_it(client, login, monkeypatch):
    auth = login("rider")
    get_redis().delete(f"auth:p:{auth.user_id}")  # expired, or Redis was flushed
    load = principals._load

    def load_then_revoke(user_ids):
        stale = load(user_ids)  # read before the logout below commits
        user = db.session.get(User, auth.user_id)
        user.token_version += 1
        db.session.commit()  # the revocation writes its record
        return stale

    monkeypatch.setattr(principals, "_load", load_then_revoke)
    response = client.get("/api/v1/me/checkins", headers=auth)
    assert response.status_code == 200  # this request raced the revocation and read before it
    monkeypatch.undo()
    assert _record(auth.user_id).token_version == 2  # the stale fill did not overwrite it
    response = client.get("/api/v1/me/checkins", headers=auth)
    assert (response.status_code, response.get_json()["code"]) == (401, "auth.token_revoked")


def test_after_a_flush_records_are_filled_from_the_database(client, login):
    auth = login("rider")
    get_redis().flushdb()
    assert client.get("/api/v1/me/checkins", headers=auth).status_code == 200
    assert _record(auth.user_id).token_version == 1


def test_deactivation_refuses_the_token(client, login):
    auth = login("rider")
    user = db.session.get(User, auth.user_id)
    user.is_active = False
    db.session.commit()
    response = client.get("/api/v1/me", headers=auth)
    assert (response.status_code, response.get_json()["code"]) == (401, "auth.token_revoked")


def test_the_record_source_has_a_column_per_principal_field(app, login):
    auth = login("rider", display_name="张三")
    columns, source = principals.record_source()
    assert len(columns) == principals.RECORD_WIDTH
    from sqlalchemy import select

    row = db.session.execute(select(*columns).select_from(source).where(columns[0] == auth.user_id))
    found = principals.from_row(row.one())
    assert found == principals.get(auth.user_id)
