"""Database connections that are checked only when they may have gone stale.

SQLAlchemy's `pool_pre_ping` pings on every checkout: one more round trip and ≈0.1 ms of
CPU on every request that touches the database (bench/README.md). A connection handed
back a moment ago by the same worker cannot have been dropped unnoticed in between in any
way a ping would catch more reliably than the statement itself, so here a connection is
pinged on checkout only after it has lain idle for PING_AFTER_IDLE_S — the case a ping is
for (the server restarted, a firewall dropped a quiet socket overnight). A dead one is
replaced before the request uses it (SQLAlchemy's documented checkout recipe: raising
DisconnectionError makes the pool retry with a fresh connection).

A connection that breaks while busy fails its statement, as it would with a pre-ping too;
SQLAlchemy then invalidates the whole pool, and the request answers 503
`service_unavailable` (server/errors.py) with nothing written, which a client may retry.
"""

from __future__ import annotations

import os
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

PING_AFTER_IDLE_S = 10.0
_IDLE_SINCE = "fengchao_idle_since"


def ping_when_idle(engine: Engine) -> None:
    """Install the checkin/checkout listeners on one engine (once)."""
    if getattr(engine, "_fengchao_ping_when_idle", False):
        return
    engine._fengchao_ping_when_idle = True
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checkin(dbapi_connection, record) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection, record, proxy) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return  # new, or back in the pool a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            # Whatever the driver says (not only the messages `is_disconnect` knows), a
            # connection that cannot answer SELECT 1 is of no use: replace it. Were the
            # server down, opening the new one fails as an OperationalError (503).
            raise DisconnectionError("stale connection replaced") from exc


# A PostgreSQL that accepts the connection and never answers (a hung server, a failover
# whose old address swallows packets) held every request — and /readyz, and `fengchao
# doctor` — until gunicorn killed the worker after 30 s. libpq waits forever by default.
CONNECT_TIMEOUT_S = 5


def bound_connect_time(engine: Engine) -> None:
    """PostgreSQL connections (libpq's drivers) give up after CONNECT_TIMEOUT_S unless
    DATABASE_URL names its own `connect_timeout` or the environment sets libpq's
    PGCONNECT_TIMEOUT (SQLAlchemy's documented do_connect hook)."""
    if engine.dialect.driver not in ("psycopg", "psycopg2"):
        return
    if getattr(engine, "_fengchao_connect_bound", False):
        return
    engine._fengchao_connect_bound = True

    @event.listens_for(engine, "do_connect")
    def _with_timeout(dialect, conn_rec, cargs, cparams) -> None:
        if not os.environ.get("PGCONNECT_TIMEOUT"):
            cparams.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
