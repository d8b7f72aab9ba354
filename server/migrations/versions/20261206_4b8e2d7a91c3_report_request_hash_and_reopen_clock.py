"""reports keep a hash of the request that filed them; work orders when 'not fixed' restarted
the resolve clock

Revision ID: 4b8e2d7a91c3
Revises: 1f6a3e9b5c27
Create Date: 2026-12-06 05:00:00

reports.request_hash: an Idempotency-Key replayed with another report is refused (409
idempotency.key_reused) instead of answered with the first. Nullable, no backfill: reports
filed before answer a replay of their key as before.

work_orders.clock_restarted_at: the overdue ratio of a reopened order runs from its reopening,
not from the order's creation. Backfilled from the latest 'reopen' event of reopened orders.
"""

import sqlalchemy as sa
from alembic import op

revision = "4b8e2d7a91c3"
down_revision = "1f6a3e9b5c27"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_hash", sa.String(length=64), nullable=True))
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clock_restarted_at", sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE work_orders SET clock_restarted_at = ("
        " SELECT MAX(e.created_at) FROM report_events e"
        " WHERE e.work_order_id = work_orders.id AND e.action = 'reopen'"
        ") WHERE reopen_count > 0"
    )


def downgrade():
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.drop_column("clock_restarted_at")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_column("request_hash")
