"""Pooled connections are pinged only after lying idle; a lost database answers 503."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import QueuePool

from server import db_pool


@pytest.fixture
def engine(db):
    """An engine of one pooled connection to the test database, as the app's are set up."""
    url = db.engine.url.render_as_string(hide_password=False)
    engine = create_engine(url, poolclass=QueuePool, pool_size=1, max_overflow=0)
    db_pool.ping_when_idle(engine)
    yield engine
    engine.dispose()


def _pings(engine, monkeypatch) -> list:
    pings: list = []
    real = engine.dialect.do_ping

    def counting(dbapi_connection):
        pings.append(dbapi_connection)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counting)
    return pings


def _select_one(engine):
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
        return conn.connection.dbapi_connection


def test_a_connection_back_a_moment_ago_is_not_pinged(engine, monkeypatch):
    pings = _pings(engine, monkeypatch)
    first = _select_one(engine)
    assert _select_one(engine) is first  # the same pooled connection, reused
    assert pings == []


def test_a_connection_idle_long_enough_is_pinged(engine, monkeypatch):
    pings = _pings(engine, monkeypatch)
    first = _select_one(engine)
    monkeypatch.setattr(db_pool, "PING_AFTER_IDLE_S", 0.0)
    assert _select_one(engine) is first
    assert pings == [first]


def test_a_dead_idle_connection_is_replaced_before_use(engine, monkeypatch):
    dead = _select_one(engine)
    dead.close()  # the server restarted, or a firewall dropped the socket overnight
    monkeypatch.setattr(db_pool, "PING_AFTER_IDLE_S", 0.0)
    assert _select_one(engine) is not dead


def test_the_app_engines_ping_when_idle(app, db):
    assert getattr(db.engine, "_fengchao_ping_when_idle", False)
    assert not db.engine.pool._pre_ping  # not on every checkout


def _operational(message: str) -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception(message))


@pytest.mark.parametrize(
    "error",
    [
        _operational("server closed the connection unexpectedly"),
        _operational("deadlock detected"),
    ],
)
def test_a_database_outage_answers_503_retry_after(client, login, monkeypatch, caplog, error):
    headers = login("rider")

    def _lost(*args, **kwargs):
        raise error

    monkeypatch.setattr("server.points.services.my_points", _lost)
    response = client.get("/api/v1/me/points", headers=headers)
    assert response.status_code == 503
    body = response.get_json()
    assert body["code"] == "service_unavailable"
    assert "稍后重试" in body["message"]
    assert response.headers["Retry-After"] == "1"
    assert "database unavailable" in caplog.text


def test_other_database_errors_stay_500(client, login, monkeypatch):
    headers = login("rider")

    def _bug(*args, **kwargs):
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    monkeypatch.setattr("server.points.services.my_points", _bug)
    response = client.get("/api/v1/me/points", headers=headers)
    assert response.status_code == 500
    assert response.get_json()["code"] == "internal_error"


def test_an_idle_connection_failing_its_ping_any_way_is_replaced(engine, monkeypatch):
    """Not only the driver messages SQLAlchemy knows as disconnects: never a raw 500."""
    first = _select_one(engine)
    dbapi = engine.dialect.loaded_dbapi

    def odd_failure(dbapi_connection):
        raise dbapi.OperationalError("SSL error: decryption failed or bad record mac")

    monkeypatch.setattr(engine.dialect, "do_ping", odd_failure)
    monkeypatch.setattr(db_pool, "PING_AFTER_IDLE_S", 0.0)
    assert _select_one(engine) is not first
