"""redemptions remember the Idempotency-Key of the request that closed them (cancel, fulfil)

Revision ID: 73a1287ed5a0
Revises: 5e1f0c2a9d47
Create Date: 2026-12-06 04:00:00

Nullable, no backfill: redemptions closed before this answer a retried cancel or fulfil with the
conflict they answered before.
"""

import sqlalchemy as sa
from alembic import op

revision = "73a1287ed5a0"
down_revision = "5e1f0c2a9d47"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("close_key", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.drop_column("close_key")
