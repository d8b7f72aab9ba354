"""Check-in cost: what one check-in asks of the database once the caches are warm.

The station and the earning rule come from the per-process caches (server/cache.py) and
the rider from their principal in Redis (server/auth/principal.py); the database sees the
account's lock (which also answers the daily cap and the travel check), the ledger insert,
the account update and the check-in row. An edit to the station or the rule is seen by the
next check-in; gunicorn's master warms the station catalog for the workers it forks.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event

from server import clock
from server.auth import principal as principals
from server.extensions import db
from server.points.services import set_rule
from server.stations.models import Station
from server.stations.services import scene_of
from tests.factories import make_station


def _check_in(client, station, rider, statements=None, key=None):
    body = {"scene": scene_of(station), "lat": station.lat, "lng": station.lng, "accuracy": 15}
    headers = {**rider, "Idempotency-Key": key} if key else rider

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    if statements is not None:
        event.listen(db.engine, "before_cursor_execute", record)
    try:
        return client.post("/api/v1/checkins", json=body, headers=headers)
    finally:
        if statements is not None:
            event.remove(db.engine, "before_cursor_execute", record)


def _reads(statements, table):
    return [s for s in statements if s.upper().startswith("SELECT") and f"FROM {table}" in s]


def test_a_warm_check_in_reads_no_station_rule_or_user_row(client, login, units):
    clock.freeze(dt.datetime(2026, 11, 18, 4, 0))
    station = make_station(units["A"], name="淮北街小哥驿站")
    other = make_station(units["A"], name="淮北街暖心驿站")
    rider, second = login("rider"), login("rider")
    statements: list[str] = []
    assert _check_in(client, station, rider, statements).status_code == 201
    assert len(_reads(statements, "stations")) == 1  # cold: loaded once
    assert _check_in(client, other, second).status_code == 201

    statements = []  # the rider again, at the other station: everything warm
    response = _check_in(client, other, rider, statements)
    body = response.get_json()
    assert response.status_code == 201, body
    assert body["station"]["name"] == "淮北街暖心驿站"
    assert body["station"]["services"] == ["rest", "water", "charging"]
    assert body["points_awarded"] == 5 and body["balance"] == 10
    assert _reads(statements, "stations") == []
    assert _reads(statements, "earning_rules") == []
    assert _reads(statements, "users") == []
    # the account's lock (which answers the daily cap and the travel check), the ledger
    # entry, the account update and the check-in: nothing read besides
    kinds = [s.split()[0].upper() for s in statements]
    assert kinds == ["UPDATE", "INSERT", "UPDATE", "INSERT"], statements


def test_a_check_in_makes_no_orm_object_of_its_ledger_entry(client, login, units):
    """The award's entry is inserted by a Core statement; a check-in needs only its delta,
    so no ORM object of it is made, added to the session and expired at the commit
    (`AwardResult.entry` makes one for the callers that ask)."""
    from server.points.models import LedgerEntry
    from server.points.services import apply_points

    clock.freeze(dt.datetime(2026, 11, 18, 4, 0))
    station = make_station(units["A"], name="淮北街小哥驿站")
    rider = login("rider")
    added = []

    def record(session, instance):
        added.append(type(instance).__name__)

    event.listen(db.session, "detached_to_persistent", record)
    event.listen(db.session, "transient_to_pending", record)
    try:
        response = _check_in(client, station, rider)
    finally:
        event.remove(db.session, "detached_to_persistent", record)
        event.remove(db.session, "transient_to_pending", record)
    assert response.status_code == 201, response.get_json()
    assert "LedgerEntry" not in added

    me = client.get("/api/v1/me", headers=rider).get_json()
    award = apply_points(me["id"], 3, reason="测试", source_type="test", source_id="lazy-1")
    assert award.outcome == "awarded" and award.delta == 3
    entry = award.entry  # asked for: made from the inserted row, in the session
    assert isinstance(entry, LedgerEntry) and entry in db.session
    assert (entry.user_id, entry.delta, entry.balance_after) == (me["id"], 3, award.balance)
    assert award.entry is entry
    db.session.commit()
    assert db.session.get(LedgerEntry, entry.id).source_id == "lazy-1"


def test_a_check_in_as_the_mini_program_sends_it_makes_two_redis_round_trips(
    client, login, units, round_trips, monkeypatch
):
    """With its Idempotency-Key, warm: the rider's principal record, rate counter, caches'
    versions, day key and key marker in one round trip; no lookup of the key in the
    database; the rankings and markers after the commit in another."""
    clock.freeze(dt.datetime(2026, 11, 18, 4, 0))
    station = make_station(units["A"], name="淮北街小哥驿站")
    other = make_station(units["A"], name="淮北街暖心驿站")
    rider = login("rider")
    assert _check_in(client, other, rider, key="warm-0001").status_code == 201  # warm
    del round_trips[:]

    def no_separate_read(user_id):
        raise AssertionError("the principal was read in a round trip of its own")

    monkeypatch.setattr(principals, "get", no_separate_read)
    statements: list[str] = []
    response = _check_in(client, station, rider, statements, key="scan-0001-abc")
    assert response.status_code == 201, response.get_json()
    assert round_trips == ["pipeline", "pipeline"]
    kinds = [s.split()[0].upper() for s in statements]
    assert kinds == ["UPDATE", "INSERT", "UPDATE", "INSERT"], statements

    del round_trips[:], statements[:]  # its retry: the stored row, nothing written
    again = _check_in(client, station, rider, statements, key="scan-0001-abc")
    assert again.get_json()["replayed"] is True
    assert round_trips == ["pipeline"]
    assert [s.split()[0].upper() for s in statements] == ["SELECT", "SELECT"], statements


def test_station_and_rule_edits_reach_the_next_check_in(client, login, units):
    clock.freeze(dt.datetime(2026, 11, 18, 4, 0))
    station = make_station(units["A"], name="淮北街小哥驿站")
    assert _check_in(client, station, login("rider")).status_code == 201  # caches warm

    set_rule(units["A"].id, "checkin", 7, 20)
    db.session.commit()
    assert _check_in(client, station, login("rider")).get_json()["points_awarded"] == 7

    station.is_active = False
    db.session.commit()
    refused = _check_in(client, station, login("rider"))
    assert refused.get_json()["code"] == "checkin.station_inactive"


def test_a_worker_forked_after_warming_starts_with_the_stations(app, client, login, units):
    """What gunicorn's master does before each fork (deploy/gunicorn.conf.py pre_fork)."""
    from server.cache import warm

    clock.freeze(dt.datetime(2026, 11, 18, 4, 0))
    station = make_station(units["A"], name="淮北街小哥驿站")  # committed: copies dropped
    rider = login("rider")
    sid = station.id
    db.session.close()  # the master holds no connection while it warms
    assert warm(app) == ["stations"]
    assert all(engine.pool.checkedin() == 0 for engine in db.engines.values())  # none kept
    station = db.session.get(Station, sid)
    statements: list[str] = []
    assert _check_in(client, station, rider, statements).status_code == 201
    assert _reads(statements, "stations") == []


def test_warming_with_no_version_in_redis_keeps_what_it_loaded(app, units):
    """After a Redis flush there is no version token: the first process to look publishes
    one and adopts it, so the stations it loads are kept — gunicorn's master does not load
    them again at its next fork (it did: ≈2 s with no worker when all recycled at once)."""
    from server.cache import warm
    from server.extensions import get_redis
    from server.stations import catalog

    make_station(units["A"], name="淮北街小哥驿站")
    get_redis().delete(catalog.CACHE.key)  # as after a flush
    db.session.close()
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    assert warm(app) == ["stations"]
    token = get_redis().get(catalog.CACHE.key)
    assert token is not None  # published
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert warm(app) == ["stations"]  # the next fork
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert _reads(statements, "stations") == []
    assert get_redis().get(catalog.CACHE.key) == token
