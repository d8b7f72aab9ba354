"""users.cancelled_at: when a user cancelled their account (注销账号)

Revision ID: b7d2e9f4a1c6
Revises: 24f087c5117d
Create Date: 2026-12-09 10:00:00

The row of a cancelled account stays (reports, check-ins, attendance and the ledger point to
it) with its personal data erased (server/auth/cancellation.py); this column says when.
Nullable, no backfill: nobody has cancelled before.
"""

import sqlalchemy as sa
from alembic import op

revision = "b7d2e9f4a1c6"
down_revision = "24f087c5117d"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("cancelled_at")
