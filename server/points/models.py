"""Points: accounts (a balance row per user), the append-only ledger, earning rules,
rewards, redemptions and manual adjustments."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.clock import utcnow
from server.extensions import db
from server.models_base import BigId, TimestampMixin, pk

RULES = (
    "checkin",
    "clue_accepted",
    "clue_confirmed",
    "clue_self_handled",
    "activity_attendance",
    "post_duty",
)
# Source types that spend or give back spent points: they move the balance but are not
# "earning", so they never count towards earned-this-month, lifetime or the rankings.
# account_closure: the balance a cancelled account forfeits (server/points/redemptions.py).
SPENDING_SOURCES = frozenset({"redemption", "redemption_refund", "account_closure"})

REDEMPTION_STATUSES = ("pending", "fulfilled", "cancelled", "expired")


class PointsAccount(db.Model):
    """One row per user: the balance and earned counters, kept with every ledger entry."""

    __tablename__ = "points_accounts"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), primary_key=True)
    balance: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    lifetime_earned: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # Earned in month `month_key` (yyyymm, Asia/Shanghai); another month means 0 now.
    month_key: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    month_earned: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    entries_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    version: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    earned_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    # This row is locked for every award, so it also carries what the award rules read
    # under that lock, sparing them a query each (bench/README.md):
    # the Shanghai day of the account's latest entry, and per earning rule what that day's
    # entries add up to (the daily caps). NULL: not known (an account from before these
    # columns): the ledger is summed instead, once.
    day: Mapped[dt.date | None] = mapped_column(Date)
    day_earned: Mapped[dict | None] = mapped_column(JSON)
    # Where and when the rider last checked in (ok or closed), for the impossible-travel
    # check. NULL: none yet, or not known: the check-ins table is read instead.
    last_checkin_lat: Mapped[float | None] = mapped_column(Float)
    last_checkin_lng: Mapped[float | None] = mapped_column(Float)
    last_checkin_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),)


class LedgerEntry(db.Model):
    """An immutable change to one account. Corrections are new, compensating entries."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = pk()
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), nullable=False)
    delta: Mapped[int] = mapped_column(Integer, nullable=False)
    balance_after: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(String(200), nullable=False)
    source_type: Mapped[str] = mapped_column(String(32), nullable=False)
    source_id: Mapped[str] = mapped_column(String(64), nullable=False)
    rule: Mapped[str | None] = mapped_column(String(32))
    org_unit_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("org_units.id"))
    # The Shanghai day of the entry: per-day caps sum a rider's entries of the day per rule.
    day: Mapped[dt.date] = mapped_column(Date, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    __table_args__ = (
        # The business key: one source awards (or spends) once.
        UniqueConstraint("user_id", "source_type", "source_id", name="uq_ledger_entries_source"),
        # A rider's entries, newest first (the ledger page; the day's sums per rule when
        # the account row does not know them). No (user, rule, day) index: every award
        # would maintain it for that rare read (migration 9d4f2b7c1e80).
        Index("ix_ledger_entries_user_id_id", "user_id", "id"),
        Index("ix_ledger_entries_created_at", "created_at"),
    )


class EarningRule(TimestampMixin, db.Model):
    """Points for a behaviour in an org unit's subtree (the nearest unit up the tree wins)."""

    __tablename__ = "earning_rules"

    id: Mapped[int] = pk()
    org_unit_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"), nullable=False)
    rule: Mapped[str] = mapped_column(String(32), nullable=False)
    points: Mapped[int] = mapped_column(Integer, nullable=False)
    # Most points one user may earn from this rule per day (None: no cap).
    daily_cap: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("org_unit_id", "rule", name="uq_earning_rules_unit_rule"),)


class Reward(TimestampMixin, db.Model):
    """Goods in a community's (or one station's) 积分超市."""

    __tablename__ = "rewards"

    id: Mapped[int] = pk()
    org_unit_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("org_units.id"), nullable=False, index=True
    )
    station_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("stations.id"), index=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    description: Mapped[str | None] = mapped_column(String(500))
    image_url: Mapped[str | None] = mapped_column(String(512))
    cost: Mapped[int] = mapped_column(Integer, nullable=False)
    stock: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    monthly_limit_per_user: Mapped[int | None] = mapped_column(Integer)
    starts_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    ends_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)

    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("cost > 0", name="cost_positive"),
    )


class Redemption(db.Model):
    """A reward bought with points: pending until staff fulfil it, or cancelled/expired."""

    __tablename__ = "redemptions"

    id: Mapped[int] = pk()
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), nullable=False)
    reward_id: Mapped[int] = mapped_column(BigId, ForeignKey("rewards.id"), nullable=False)
    org_unit_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"), nullable=False)
    station_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("stations.id"))
    reward_name: Mapped[str] = mapped_column(String(64), nullable=False)
    cost: Mapped[int] = mapped_column(Integer, nullable=False)
    code: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    # The Idempotency-Key of the request that closed it (the rider's cancel, or the staff's
    # fulfil): a retry with it answers with the redemption as that request left it, not a
    # conflict (a redemption is closed once).
    close_key: Mapped[str | None] = mapped_column(String(64))
    month_key: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    expiry_notified_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    fulfilled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    fulfilled_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key", name="uq_redemptions_user_key"),
        Index("ix_redemptions_user_reward_month", "user_id", "reward_id", "month_key"),
        Index("ix_redemptions_user_id_id", "user_id", "id"),
        Index("ix_redemptions_status_expires_at", "status", "expires_at"),
        Index("ix_redemptions_org_unit_id", "org_unit_id"),
    )

    @property
    def qr_payload(self) -> str:
        return f"fc-voucher:{self.code}"


class PointsAdjustment(db.Model):
    """A staff member's manual grant or deduction (the audit record; the ledger has the entry)."""

    __tablename__ = "points_adjustments"

    id: Mapped[int] = pk()
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), nullable=False)
    delta: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(String(200), nullable=False)
    org_unit_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"), nullable=False)
    created_by_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), nullable=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    __table_args__ = (
        UniqueConstraint("created_by_id", "idempotency_key", name="uq_points_adjustments_key"),
        Index("ix_points_adjustments_user_id", "user_id"),
    )
