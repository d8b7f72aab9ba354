"""work-order actions remember their Idempotency-Key on the timeline event they record

Revision ID: 8e3c5a1d7f42
Revises: c5d81e3a6f24
Create Date: 2026-12-07 10:00:00

report_events.idempotency_key / request_hash: a staff action (dispatch, 改派, accept…) sent
again with the same key after its answer was lost answers with the order and changes nothing;
改派 is allowed from the state it leaves, so without this a retry was applied twice. The key
is unique per actor (a partial index: only events with a key are in it). Nullable, no
backfill: events recorded before keep none.
"""

import sqlalchemy as sa
from alembic import op

revision = "8e3c5a1d7f42"
down_revision = "c5d81e3a6f24"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("report_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("request_hash", sa.String(length=64), nullable=True))
    op.create_index(
        "uq_report_events_actor_key",
        "report_events",
        ["actor_id", "idempotency_key"],
        unique=True,
        sqlite_where=sa.text("idempotency_key IS NOT NULL"),
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )


def downgrade():
    op.drop_index("uq_report_events_actor_key", table_name="report_events")
    with op.batch_alter_table("report_events", schema=None) as batch_op:
        batch_op.drop_column("request_hash")
        batch_op.drop_column("idempotency_key")
