"""Statistics and exports read from a PostgreSQL replica when `DATABASE_REPLICA_URL` is set.

A street's staff export 50,000 check-ins or work orders and open the statistics (months of
rows grouped and counted) in the middle of the day; on the primary those scans compete with
the riders' check-ins for its CPU and cache. With a streaming replica configured, the views
marked `@reads_from_replica` (and code inside `with replica_reads():`) send their plain
SELECTs to the replica — SQLAlchemy's documented way: a Session whose `get_bind` chooses
the engine per statement. Everything else reads and writes the primary: a flush, an
INSERT/UPDATE/DELETE, a `SELECT … FOR UPDATE`, raw text, and every request not marked.

A replica block is for reading: changing or deleting an object inside it is refused (the
object may have been read from the replica, and a decision made on a stale row must not
be written to the primary); new rows may be added, and go to the primary. What the
request changed before the block is flushed to the primary as it starts, and everything
the session holds is expired as it ends, so whatever is read afterwards — in the same
request — comes from the primary again.

A replica lags the primary by the time its WAL takes to arrive (normally well under a
second): a work order closed a moment ago may be missing from an export made in the same
second. That is acceptable for statistics and exports, and for nothing a user acts on,
which is why only those views are marked.

When the replica cannot be reached the request reads the primary instead and says so in
the log (an operator's statistics keep working at 3 a.m.); the process then leaves the
replica alone for `RETRY_AFTER_S` rather than waiting for a connect timeout on every
request. A connection that fails in the middle of a request fails that request (503),
as the primary's would; the next one finds the replica unreachable and reads the primary.
`fengchao doctor` checks that the replica answers, is a standby receiving WAL, and how
long ago it replayed a transaction. Without `DATABASE_REPLICA_URL` everything reads the
primary.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event
from sqlalchemy.sql.selectable import CompoundSelect, Select

log = logging.getLogger(__name__)

BIND_KEY = "replica"  # its engine in Flask-SQLAlchemy's SQLALCHEMY_BINDS
RETRY_AFTER_S = 30.0

_READS_FROM_REPLICA: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "fengchao_reads_from_replica", default=False
)
# per process and engine: until when (time.monotonic()) the replica is left alone
_DOWN_UNTIL: dict[int, float] = {}


def _plain_read(clause: Any) -> bool:
    """A SELECT that locks nothing: the only statements a replica may answer."""
    if isinstance(clause, Select):
        return clause._for_update_arg is None
    return isinstance(clause, CompoundSelect)


class RoutingSession(FlaskSession):
    """Flask-SQLAlchemy's session; inside `replica_reads()` its plain reads go to the
    replica's engine (when one is configured and reachable)."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if (
            bind is None
            and _READS_FROM_REPLICA.get()
            and not self._flushing
            and _plain_read(clause)
        ):
            replica = self._db.engines.get(BIND_KEY)
            if replica is not None:
                return replica
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


class ReplicaWriteRefused(RuntimeError):
    """An object was changed or deleted inside `replica_reads()` (a programming error)."""


@event.listens_for(RoutingSession, "before_flush")
def _refuse_changes_read_from_the_replica(session, flush_context, instances) -> None:
    if _READS_FROM_REPLICA.get() and (session.dirty or session.deleted):
        raise ReplicaWriteRefused(
            "replica_reads() is for reading: change or delete objects outside it "
            "(inside, they may have been read from the replica)"
        )


def replica_engine():
    """The replica's engine, or None when none is configured."""
    from server.extensions import db

    return db.engines.get(BIND_KEY)


def _usable(engine) -> bool:
    """The replica hands out a connection (checked out and back: the pool pings one that
    lay idle, server/db_pool.py), or it failed within the last RETRY_AFTER_S."""
    now = time.monotonic()
    if _DOWN_UNTIL.get(id(engine), 0.0) > now:
        return False
    try:
        with engine.connect():
            pass
    except Exception as exc:  # whatever the driver raises: read the primary instead
        _DOWN_UNTIL[id(engine)] = now + RETRY_AFTER_S
        log.warning(
            "replica unreachable, statistics and exports read the primary for %.0f s: %s: %s",
            RETRY_AFTER_S,
            type(exc).__name__,
            str(exc).strip().splitlines()[0] if str(exc).strip() else "",
        )
        return False
    _DOWN_UNTIL.pop(id(engine), None)
    return True


@contextlib.contextmanager
def replica_reads() -> Iterator[bool]:
    """Plain reads inside go to the replica; yields whether they do (False: none
    configured, or unreachable — the primary answers)."""
    from server.extensions import db

    engine = replica_engine()
    usable = engine is not None and _usable(engine)
    if usable:
        db.session.flush()  # the request's changes so far: to the primary, before the block
    token = _READS_FROM_REPLICA.set(usable)
    try:
        yield usable
    finally:
        _READS_FROM_REPLICA.reset(token)
        if usable:
            db.session.expire_all()  # read again, from the primary, if read after the block


def reads_from_replica(view: Callable) -> Callable:
    """A view whose reads may come from the replica (statistics, exports): put it below
    the authentication and argument decorators, so that only the view's own work moves."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        with replica_reads():
            return view(*args, **kwargs)

    return wrapper
