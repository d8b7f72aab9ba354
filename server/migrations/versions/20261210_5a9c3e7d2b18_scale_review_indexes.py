"""indexes from the city-scale review (inbox, outbox, jobs, duplicates, check-ins, subtrees)

Revision ID: 5a9c3e7d2b18
Revises: b7d2e9f4a1c6
Create Date: 2026-12-10 10:00:00

- notifications (user_id, (read_at IS NOT NULL), created_at DESC, id DESC): the inbox in
  its order (unread first, newest first) without reading and sorting a user's whole inbox.
- notifications (status, updated_at DESC, id DESC): the admin outbox by state, and the
  summary's recent terminal counts.
- reports (id) WHERE moderation = 'pending': recheck_pending_reports finds the few pending.
- reports (category_id, submitted_at): the nearby-duplicate check (submitted in the last days).
- activity_enrolments (id) WHERE enrolled, signed in and not out: auto_sign_out.
- checkins (org_unit_id, day): admin check-ins with a date range (scope's units, then days).
- org_units.path with varchar_pattern_ops on PostgreSQL: `path LIKE 'prefix%'` (a subtree)
  can use it under a non-C collation. SQLite: the same plain index as before.
"""

import sqlalchemy as sa
from alembic import op

revision = "5a9c3e7d2b18"
down_revision = "b7d2e9f4a1c6"
branch_labels = None
depends_on = None

ENROLMENT_OPEN = "status = 'enrolled' AND signed_in_at IS NOT NULL AND signed_out_at IS NULL"


def upgrade():
    op.create_index(
        "ix_notifications_user_inbox",
        "notifications",
        [
            "user_id",
            sa.text("(read_at IS NOT NULL)"),
            sa.text("created_at DESC"),
            sa.text("id DESC"),
        ],
        unique=False,
    )
    op.create_index(
        "ix_notifications_status_updated",
        "notifications",
        ["status", "updated_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_reports_moderation_pending",
        "reports",
        ["id"],
        unique=False,
        sqlite_where=sa.text("moderation = 'pending'"),
        postgresql_where=sa.text("moderation = 'pending'"),
    )
    op.create_index(
        "ix_reports_category_submitted", "reports", ["category_id", "submitted_at"], unique=False
    )
    op.create_index(
        "ix_activity_enrolments_signed_in_open",
        "activity_enrolments",
        ["id"],
        unique=False,
        sqlite_where=sa.text(ENROLMENT_OPEN),
        postgresql_where=sa.text(ENROLMENT_OPEN),
    )
    op.create_index("ix_checkins_org_unit_day", "checkins", ["org_unit_id", "day"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_org_units_path", table_name="org_units")
        op.create_index(
            "ix_org_units_path",
            "org_units",
            ["path"],
            unique=False,
            postgresql_ops={"path": "varchar_pattern_ops"},
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_org_units_path", table_name="org_units")
        op.create_index("ix_org_units_path", "org_units", ["path"], unique=False)
    op.drop_index("ix_checkins_org_unit_day", table_name="checkins")
    op.drop_index("ix_activity_enrolments_signed_in_open", table_name="activity_enrolments")
    op.drop_index("ix_reports_category_submitted", table_name="reports")
    op.drop_index("ix_reports_moderation_pending", table_name="reports")
    op.drop_index("ix_notifications_status_updated", table_name="notifications")
    op.drop_index("ix_notifications_user_inbox", table_name="notifications")
