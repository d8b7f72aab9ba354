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


@pytest.mark.undocumented_status(500, reason="an IntegrityError planted on purpose")
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


def test_a_postgresql_that_never_answers_fails_the_connection_in_seconds(monkeypatch):
    """A hung PostgreSQL (it accepts, never answers) held every request, /readyz and `fengchao
    doctor` until gunicorn killed the worker: libpq waits forever unless told."""
    import socket
    import threading

    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(8)  # the kernel accepts; nobody ever answers
    port = hung.getsockname()[1]
    monkeypatch.setattr(db_pool, "CONNECT_TIMEOUT_S", 1)
    engine = create_engine(f"postgresql+psycopg://fc@127.0.0.1:{port}/fc", poolclass=QueuePool)
    db_pool.bound_connect_time(engine)
    failed = []

    def connect():
        try:
            engine.connect().close()
        except OperationalError as exc:
            failed.append(exc)

    attempt = threading.Thread(target=connect, daemon=True)
    try:
        attempt.start()
        attempt.join(15)
        assert not attempt.is_alive(), "still waiting for a server that never answers"
        assert failed and "timeout" in str(failed[0]).lower()
    finally:
        hung.close()
        engine.dispose()


def test_a_connect_timeout_in_the_url_is_kept_and_sqlite_is_left_alone():
    from sqlalchemy import event

    seen = {}
    engine = create_engine("postgresql+psycopg://fc@127.0.0.1:1/fc?connect_timeout=2")
    db_pool.bound_connect_time(engine)

    @event.listens_for(engine, "do_connect")
    def _capture(dialect, conn_rec, cargs, cparams):
        seen.update(cparams)
        raise OperationalError("stop", None, Exception("captured"))

    with pytest.raises(OperationalError):
        engine.connect()
    assert str(seen["connect_timeout"]) == "2"
    engine.dispose()
    lite = create_engine("sqlite://")
    db_pool.bound_connect_time(lite)
    with lite.connect() as conn:  # sqlite3.connect takes no connect_timeout
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
    lite.dispose()


def test_the_app_engines_bound_their_connect_time(app, db):
    assert all(
        getattr(engine, "_fengchao_connect_bound", False) == (engine.dialect.driver == "psycopg")
        for engine in db.engines.values()
    )
