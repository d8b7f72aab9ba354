"""check-ins drop their partial unique (user_id, station_id, day) index

Revision ID: 1f6a3e9b5c27
Revises: 9d4f2b7c1e80
Create Date: 2026-12-06 09:00:00

It repeated the ledger's business key (one check-in award per rider, station and day: source
"checkin", "<station>:<day>"), and an `ok` check-in row is written only after its award, in
the same transaction. Every check-in wrote a page of it (bench/README.md, session 8).
"""

import sqlalchemy as sa
from alembic import op

revision = "1f6a3e9b5c27"
down_revision = "9d4f2b7c1e80"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_index("uq_checkins_rewarded_day")


def downgrade():
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.create_index(
            "uq_checkins_rewarded_day",
            ["user_id", "station_id", "day"],
            unique=True,
            sqlite_where=sa.text("status = 'ok'"),
            postgresql_where=sa.text("status = 'ok'"),
        )
