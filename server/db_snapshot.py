"""One consistent view of the database for a long read: `points verify`, a community export.

Each statement on a plain connection sees the database as it is when that statement
starts. A check made of several queries, run while the app writes, compares one query's
rows with a later query's and reports a difference that was never there (an award
committed between reading the ledger and reading the accounts); an export made of several
queries can hold a report's events without the report. `snapshot()` gives a connection
whose statements all read one snapshot, taken at its first statement:

- PostgreSQL: a REPEATABLE READ, READ ONLY transaction.
- SQLite: the pysqlite driver begins no transaction before a SELECT (each read would be a
  snapshot of its own), so the connection is put in the driver's autocommit mode and sends
  its own BEGIN; in WAL mode (server/extensions.py) the read transaction keeps the
  snapshot of its first read while writers go on.

Nothing is written through it; the transaction is rolled back at the end. It reads the
primary (`db.engine`), never the replica.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from server.extensions import db


@contextmanager
def snapshot(engine: Engine | None = None) -> Iterator[Connection]:
    """A connection whose statements all read the database as of its first one."""
    engine = engine or db.engine
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            transaction = conn.begin()
            try:
                yield conn
            finally:
                if transaction.is_active:
                    transaction.rollback()
        elif conn.dialect.name == "sqlite":
            conn.execution_options(isolation_level="AUTOCOMMIT")  # pysqlite's BEGIN: none
            conn.exec_driver_sql("BEGIN")
            try:
                yield conn
            finally:
                if not conn.invalidated and conn.connection.dbapi_connection.in_transaction:
                    conn.exec_driver_sql("ROLLBACK")
        else:  # pragma: no cover - the two databases the project runs on are above
            with conn.begin():
                yield conn
