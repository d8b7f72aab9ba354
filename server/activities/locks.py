"""Row locks that also work on SQLite (where the first write takes the database's write lock)."""

from __future__ import annotations

from sqlalchemy import update

from server.errors import NotFound
from server.extensions import db


def lock_row(model, row_id: int, touch_column: str, not_found: NotFound | None = None):
    """Lock one row for the rest of the transaction and return it fresh from the database.

    A no-op UPDATE is the first write of the transaction: PostgreSQL holds the row lock and
    SQLite the write lock until commit, so reads that follow see the latest committed state
    and concurrent callers queue instead of racing.
    """
    column = getattr(model, touch_column)
    result = db.session.execute(
        update(model)
        .where(model.id == row_id)
        .values({touch_column: column})
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        raise not_found or NotFound()
    return db.session.get(model, row_id, populate_existing=True)
