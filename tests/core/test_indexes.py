"""The indexes of the city-scale review exist on both backends and serve their queries;
the inbox keeps its order (unread first, newest first)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from server import clock
from server.extensions import db as _db
from server.notifications.services import inbox_query, notify

INDEXES = {
    "ix_notifications_user_inbox": ("notifications", ["user_id", "read_at is not null"]),
    "ix_notifications_status_updated": ("notifications", ["status", "updated_at", "id"]),
    "ix_reports_moderation_pending": ("reports", ["moderation = 'pending'"]),
    "ix_reports_category_submitted": ("reports", ["category_id", "submitted_at"]),
    "ix_activity_enrolments_signed_in_open": (
        "activity_enrolments",
        ["status = 'enrolled'", "signed_in_at is not null", "signed_out_at is null"],
    ),
    "ix_checkins_org_unit_day": ("checkins", ["org_unit_id", "day"]),
    "ix_org_units_path": ("org_units", ["path"]),
}


def _definition(name: str) -> str | None:
    """The index's CREATE INDEX statement as the database keeps it (lower case)."""
    if _db.engine.dialect.name == "postgresql":
        sql = "SELECT indexdef FROM pg_indexes WHERE indexname = :name"
    else:
        sql = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name"
    found = _db.session.execute(text(sql), {"name": name}).scalar()
    return found.lower().replace('"', "") if found else None


@pytest.mark.parametrize("name", sorted(INDEXES))
def test_the_index_exists(db, name):
    table, parts = INDEXES[name]
    definition = _definition(name)
    assert definition is not None, f"{name} missing"
    assert f" on {table}" in definition or f" on public.{table}" in definition
    squeezed = definition.replace("(", "").replace(")", "").replace("::text", "")
    for part in parts:
        assert part in squeezed, (part, definition)


def test_org_units_path_uses_the_pattern_opclass_on_postgresql(db):
    definition = _definition("ix_org_units_path")
    if _db.engine.dialect.name == "postgresql":
        assert "varchar_pattern_ops" in definition
    else:
        assert "pattern" not in definition


def _plan(stmt) -> str:
    compiled = stmt.compile(dialect=_db.engine.dialect, compile_kwargs={"literal_binds": True})
    if _db.engine.dialect.name == "postgresql":
        _db.session.execute(text("SET LOCAL enable_seqscan = off"))
        _db.session.execute(text("SET LOCAL enable_sort = off"))
        rows = _db.session.execute(text(f"EXPLAIN {compiled}")).scalars()
    else:
        rows = (r[-1] for r in _db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    plan = "\n".join(rows)
    _db.session.rollback()
    return plan


def test_the_inbox_is_read_in_index_order(db, login):
    rider = login("rider")
    plan = _plan(inbox_query(rider.user_id).limit(20))
    assert "ix_notifications_user_inbox" in plan, plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan


def test_the_inbox_order_is_unread_first_then_newest(db, login):
    rider, other = login("rider"), login("rider")
    base = dt.datetime(2024, 5, 1, 8, 0)
    rows = []
    for i in range(8):
        # two per minute: same created_at, so id breaks the tie
        clock.freeze(base + dt.timedelta(minutes=i // 2))
        rows.append(notify(rider.user_id, "report_status", title=f"消息{i}", body="正文"))
        _db.session.commit()
    notify(other.user_id, "report_status", title="别人的", body="正文")
    clock.freeze(base + dt.timedelta(hours=1))
    for row in (rows[1], rows[4], rows[7]):
        row.read_at = clock.utcnow()
    _db.session.commit()
    clock.freeze(None)
    expected = sorted(rows, key=lambda r: (r.read_at is not None, -r.created_at.timestamp(), -r.id))
    got = _db.session.execute(inbox_query(rider.user_id)).scalars().all()
    assert [r.id for r in got] == [r.id for r in expected]
    assert [r.id for r in got][:5] == [rows[i].id for i in (6, 5, 3, 2, 0)]
    unread = _db.session.execute(inbox_query(rider.user_id, unread_only=True)).scalars().all()
    assert [r.id for r in unread] == [rows[i].id for i in (6, 5, 3, 2, 0)]


def test_the_outbox_by_state_is_read_in_index_order(db):
    from server.notifications.admin import outbox_query

    plan = _plan(outbox_query("failed").limit(20))
    assert "ix_notifications_status_updated" in plan, plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan
