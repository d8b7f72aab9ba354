"""WeChat inbound messages remember when they were claimed (a lease for the inbox job)

Revision ID: c5d81e3a6f24
Revises: 4b8e2d7a91c3
Create Date: 2026-12-06 16:00:00

wechat_inbound.claimed_at: a message left 'processing' by a runner that died (a killed worker, a
lost connection) is taken again once its claim is older than the lease. Nullable, no backfill:
a message stuck in 'processing' from before has none, and its lease runs from its arrival
(created_at), so the next run after the upgrade takes it again.
"""

import sqlalchemy as sa
from alembic import op

revision = "c5d81e3a6f24"
down_revision = "4b8e2d7a91c3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("wechat_inbound", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("wechat_inbound", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
