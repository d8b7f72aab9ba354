"""stations and points

Revision ID: 3c7e51a0b2d4
Revises: ad3b53b74512
Create Date: 2026-11-21 23:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "3c7e51a0b2d4"
down_revision = "ad3b53b74512"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "earning_rules",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "org_unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("daily_cap", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_units.id"], name=op.f("fk_earning_rules_org_unit_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_earning_rules")),
        sa.UniqueConstraint("org_unit_id", "rule", name="uq_earning_rules_unit_rule"),
    )
    op.create_table(
        "stations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "org_unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lng", sa.Float(), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("opening_hours", sa.JSON(), nullable=True),
        sa.Column("contact_name", sa.String(length=32), nullable=True),
        sa.Column("contact_phone", sa.String(length=32), nullable=True),
        sa.Column("checkin_radius_m", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("qr_secret", sa.String(length=64), nullable=False),
        sa.Column("qr_rotated_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_units.id"], name=op.f("fk_stations_org_unit_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stations")),
    )
    op.create_index("ix_stations_lat_lng", "stations", ["lat", "lng"], unique=False)
    op.create_index(op.f("ix_stations_org_unit_id"), "stations", ["org_unit_id"], unique=False)
    op.create_table(
        "checkins",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "station_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "org_unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=48), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lng", sa.Float(), nullable=True),
        sa.Column("accuracy", sa.Float(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("points_awarded", sa.Integer(), nullable=False),
        sa.Column("scene", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_units.id"], name=op.f("fk_checkins_org_unit_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_checkins_station_id_stations")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_checkins_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkins")),
    )
    op.create_index("ix_checkins_org_unit_id_id", "checkins", ["org_unit_id", "id"], unique=False)
    op.create_index("ix_checkins_station_id_id", "checkins", ["station_id", "id"], unique=False)
    op.create_index("ix_checkins_user_id_id", "checkins", ["user_id", "id"], unique=False)
    op.create_index(
        "uq_checkins_rewarded_day",
        "checkins",
        ["user_id", "station_id", "day"],
        unique=True,
        sqlite_where=sa.text("status = 'ok'"),
        postgresql_where=sa.text("status = 'ok'"),
    )
    op.create_index("uq_checkins_user_key", "checkins", ["user_id", "idempotency_key"], unique=True)
    op.create_table(
        "ledger_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("balance_after", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("source_type", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=True),
        sa.Column(
            "org_unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_units.id"], name=op.f("fk_ledger_entries_org_unit_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_ledger_entries_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("user_id", "source_type", "source_id", name="uq_ledger_entries_source"),
    )
    op.create_index("ix_ledger_entries_created_at", "ledger_entries", ["created_at"], unique=False)
    op.create_index(
        "ix_ledger_entries_user_id_id", "ledger_entries", ["user_id", "id"], unique=False
    )
    op.create_index(
        "ix_ledger_entries_user_rule_day",
        "ledger_entries",
        ["user_id", "rule", "day"],
        unique=False,
    )
    op.create_table(
        "points_accounts",
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("balance", sa.Integer(), nullable=False),
        sa.Column("lifetime_earned", sa.Integer(), nullable=False),
        sa.Column("month_key", sa.Integer(), nullable=False),
        sa.Column("month_earned", sa.Integer(), nullable=False),
        sa.Column("entries_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("earned_changed_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_points_accounts_balance_not_negative")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_points_accounts_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_points_accounts")),
    )
    op.create_table(
        "points_adjustments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column(
            "org_unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "created_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("idempotency_key", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_points_adjustments_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_units.id"],
            name=op.f("fk_points_adjustments_org_unit_id_org_units"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_points_adjustments_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_adjustments")),
        sa.UniqueConstraint("created_by_id", "idempotency_key", name="uq_points_adjustments_key"),
    )
    op.create_index(
        "ix_points_adjustments_user_id", "points_adjustments", ["user_id"], unique=False
    )
    op.create_table(
        "rewards",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "org_unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "station_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("image_url", sa.String(length=512), nullable=True),
        sa.Column("cost", sa.Integer(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("monthly_limit_per_user", sa.Integer(), nullable=True),
        sa.Column("starts_at", sa.DateTime(), nullable=True),
        sa.Column("ends_at", sa.DateTime(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("cost > 0", name=op.f("ck_rewards_cost_positive")),
        sa.CheckConstraint("stock >= 0", name=op.f("ck_rewards_stock_not_negative")),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_units.id"], name=op.f("fk_rewards_org_unit_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_rewards_station_id_stations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rewards")),
    )
    op.create_index(op.f("ix_rewards_org_unit_id"), "rewards", ["org_unit_id"], unique=False)
    op.create_index(op.f("ix_rewards_station_id"), "rewards", ["station_id"], unique=False)
    op.create_table(
        "redemptions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "reward_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "org_unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "station_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("reward_name", sa.String(length=64), nullable=False),
        sa.Column("cost", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=True),
        sa.Column("month_key", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("expiry_notified_at", sa.DateTime(), nullable=True),
        sa.Column("fulfilled_at", sa.DateTime(), nullable=True),
        sa.Column(
            "fulfilled_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["fulfilled_by_id"], ["users.id"], name=op.f("fk_redemptions_fulfilled_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_units.id"], name=op.f("fk_redemptions_org_unit_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["reward_id"], ["rewards.id"], name=op.f("fk_redemptions_reward_id_rewards")
        ),
        sa.ForeignKeyConstraint(
            ["station_id"], ["stations.id"], name=op.f("fk_redemptions_station_id_stations")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_redemptions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemptions")),
        sa.UniqueConstraint("code", name=op.f("uq_redemptions_code")),
        sa.UniqueConstraint("user_id", "idempotency_key", name="uq_redemptions_user_key"),
    )
    op.create_index("ix_redemptions_org_unit_id", "redemptions", ["org_unit_id"], unique=False)
    op.create_index(
        "ix_redemptions_status_expires_at", "redemptions", ["status", "expires_at"], unique=False
    )
    op.create_index("ix_redemptions_user_id_id", "redemptions", ["user_id", "id"], unique=False)
    op.create_index(
        "ix_redemptions_user_reward_month",
        "redemptions",
        ["user_id", "reward_id", "month_key"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_redemptions_user_reward_month", table_name="redemptions")
    op.drop_index("ix_redemptions_user_id_id", table_name="redemptions")
    op.drop_index("ix_redemptions_status_expires_at", table_name="redemptions")
    op.drop_index("ix_redemptions_org_unit_id", table_name="redemptions")
    op.drop_table("redemptions")
    op.drop_index(op.f("ix_rewards_station_id"), table_name="rewards")
    op.drop_index(op.f("ix_rewards_org_unit_id"), table_name="rewards")
    op.drop_table("rewards")
    op.drop_index("ix_points_adjustments_user_id", table_name="points_adjustments")
    op.drop_table("points_adjustments")
    op.drop_table("points_accounts")
    op.drop_index("ix_ledger_entries_user_rule_day", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_user_id_id", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_created_at", table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_index("uq_checkins_user_key", table_name="checkins")
    op.drop_index(
        "uq_checkins_rewarded_day",
        table_name="checkins",
        sqlite_where=sa.text("status = 'ok'"),
        postgresql_where=sa.text("status = 'ok'"),
    )
    op.drop_index("ix_checkins_user_id_id", table_name="checkins")
    op.drop_index("ix_checkins_station_id_id", table_name="checkins")
    op.drop_index("ix_checkins_org_unit_id_id", table_name="checkins")
    op.drop_table("checkins")
    op.drop_index(op.f("ix_stations_org_unit_id"), table_name="stations")
    op.drop_index("ix_stations_lat_lng", table_name="stations")
    op.drop_table("stations")
    op.drop_table("earning_rules")
