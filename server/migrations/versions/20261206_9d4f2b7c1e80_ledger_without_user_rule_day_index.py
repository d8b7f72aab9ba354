"""the ledger drops its (user_id, rule, day) index

Revision ID: 9d4f2b7c1e80
Revises: 73a1287ed5a0
Create Date: 2026-12-06 08:40:00

Every ledger insert maintained it; since 5e1f0c2a9d47 the account row carries the day's sums
per rule and only an account row that does not know them reads the ledger (by user, through
ix_ledger_entries_user_id_id). With 100 entries a rider it made one more index page to read
and write for every award (bench/README.md, session 8).
"""

from alembic import op

revision = "9d4f2b7c1e80"
down_revision = "73a1287ed5a0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_user_rule_day")


def downgrade():
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_entries_user_rule_day", ["user_id", "rule", "day"], unique=False
        )
