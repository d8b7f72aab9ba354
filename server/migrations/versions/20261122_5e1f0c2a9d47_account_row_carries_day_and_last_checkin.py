"""points accounts carry the day's earned per rule and the last check-in

Revision ID: 5e1f0c2a9d47
Revises: 0b86f619b5b9
Create Date: 2026-11-22 05:00:00

Nullable, no backfill: NULL means "not known", and the code reads the ledger (or the
check-ins) instead until the account's next entry writes them.
"""

import sqlalchemy as sa
from alembic import op

revision = "5e1f0c2a9d47"
down_revision = "0b86f619b5b9"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("points_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("day", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("day_earned", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("last_checkin_lat", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("last_checkin_lng", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("last_checkin_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("points_accounts", schema=None) as batch_op:
        batch_op.drop_column("last_checkin_at")
        batch_op.drop_column("last_checkin_lng")
        batch_op.drop_column("last_checkin_lat")
        batch_op.drop_column("day_earned")
        batch_op.drop_column("day")
