"""Categories per street, reports, work orders, the timeline, followers, WeChat inbound."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.clock import utcnow
from server.extensions import db
from server.models_base import BigId, TimestampMixin, pk

# Work-order states (the reporter sees the same names).
STATE_NAMES = {
    "received": "待受理",
    "dispatched": "已派单",
    "accepted": "已接单",
    "in_progress": "处置中",
    "resolved": "已办结",
    "closed": "已回访",
    "returned": "退回",
    "on_hold": "挂起",
    "merged": "已合并",
    "rejected": "不予受理",
}
# A report's status: a work order's state, or one of these (no work order).
REPORT_ONLY_STATUSES = {"draft": "草稿", "self_handled": "已自行处理"}
STATUS_NAMES = {**STATE_NAMES, **REPORT_ONLY_STATUSES}
OPEN_STATES = ("received", "dispatched", "accepted", "in_progress", "returned", "on_hold")
FINAL_STATES = ("closed", "merged", "rejected")


class ReportCategory(TimestampMixin, db.Model):
    __tablename__ = "report_categories"

    id: Mapped[int] = pk()
    street_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"), nullable=False)
    code: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str] = mapped_column(String(32), nullable=False)
    icon: Mapped[str] = mapped_column(String(32), default="other", nullable=False)
    accept_hours: Mapped[int] = mapped_column(Integer, default=2, nullable=False)
    resolve_hours: Mapped[int] = mapped_column(Integer, default=72, nullable=False)
    points_apply: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    hint: Mapped[str | None] = mapped_column(String(128))
    duplicate_radius_m: Mapped[int] = mapped_column(Integer, default=100, nullable=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)

    __table_args__ = (UniqueConstraint("street_id", "code"),)


class Report(TimestampMixin, db.Model):
    __tablename__ = "reports"

    id: Mapped[int] = pk()
    report_no: Mapped[str | None] = mapped_column(String(24), unique=True)
    reporter_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), nullable=False)
    reporter_role: Mapped[str] = mapped_column(String(16), nullable=False)
    category_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("report_categories.id"))
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(255))
    org_unit_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("org_units.id"))
    routing: Mapped[str | None] = mapped_column(String(16))  # boundary|nearest|street|home
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), default="app", nullable=False)
    is_anonymous: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    is_self_handled: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    moderation: Mapped[str] = mapped_column(String(12), default="pending", nullable=False)
    moderation_label: Mapped[int | None] = mapped_column(Integer)
    moderation_checked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    merged_into_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("reports.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    # sha256 of the filed request (normalised), to tell a retry under the key from another
    # report reusing it; NULL on reports filed before it was kept (those replay as before).
    request_hash: Mapped[str | None] = mapped_column(String(64))
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    feedback_stars: Mapped[int | None] = mapped_column(Integer)
    feedback_comment: Mapped[str | None] = mapped_column(String(500))
    feedback_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    not_fixed_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)

    category: Mapped[ReportCategory | None] = relationship(lazy="joined")
    work_order: Mapped[WorkOrder | None] = relationship(
        back_populates="report", uselist=False, lazy="select"
    )

    __table_args__ = (
        UniqueConstraint("reporter_id", "idempotency_key"),
        Index("ix_reports_reporter_id", "reporter_id"),
        Index("ix_reports_category_created", "category_id", "created_at"),
        Index("ix_reports_org_unit_id", "org_unit_id"),
        Index("ix_reports_status", "status"),
        # possible_duplicates: same category, submitted in the last days
        Index("ix_reports_category_submitted", "category_id", "submitted_at"),
        # recheck_pending_reports: the few reports whose text check is still pending
        Index(
            "ix_reports_moderation_pending",
            "id",
            sqlite_where=text("moderation = 'pending'"),
            postgresql_where=text("moderation = 'pending'"),
        ),
    )


class WorkOrder(TimestampMixin, db.Model):
    __tablename__ = "work_orders"

    id: Mapped[int] = pk()
    report_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("reports.id"), unique=True, nullable=False
    )
    # The unit that owns the order now (staff scope); moves with dispatch and return.
    org_unit_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"), nullable=False)
    category_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("report_categories.id"), nullable=False
    )
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    assignee_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    dispatcher_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    dispatcher_unit_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("org_units.id"))
    accept_due_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    resolve_due_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    hold_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    hold_started_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # When 'not fixed' restarted the resolve clock (重新计时); NULL: it runs from created_at.
    clock_restarted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # 0 none, 1 yellow (75 %), 2 red (100 %) per clock; escalation climbs the tree.
    accept_warn: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    resolve_warn: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    escalated_unit_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("org_units.id"))
    accepted_late: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    resolved_late: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    return_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    is_flagged: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    flag_reason: Mapped[str | None] = mapped_column(String(64))

    report: Mapped[Report] = relationship(back_populates="work_order", lazy="joined")

    __table_args__ = (
        Index("ix_work_orders_org_unit_state", "org_unit_id", "state"),
        Index("ix_work_orders_state", "state"),
        Index("ix_work_orders_assignee_id", "assignee_id"),
    )


class ReportEvent(db.Model):
    """One line of the timeline: an action with its actor, time, note and photos."""

    __tablename__ = "report_events"

    id: Mapped[int] = pk()
    report_id: Mapped[int] = mapped_column(BigId, ForeignKey("reports.id"), nullable=False)
    work_order_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("work_orders.id"))
    action: Mapped[str] = mapped_column(String(24), nullable=False)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(20), nullable=False)  # system|reporter|staff
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSON)
    # public: anyone who may see the report; reporter: its reporter and staff; staff: staff
    # only. A staff action's note may be narrower than its event (workflow.Action.note_for).
    visibility: Mapped[str] = mapped_column(String(8), default="public", nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    # A staff action's Idempotency-Key (unique per actor) and the hash of what it asked
    # (workflow.request_hash: order, action, body): a retry under the key answers with the
    # order and changes nothing; another request under it is refused.
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    request_hash: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_report_events_report_id", "report_id"),
        Index(
            "uq_report_events_actor_key",
            "actor_id",
            "idempotency_key",
            unique=True,
            sqlite_where=text("idempotency_key IS NOT NULL"),
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
    )


class ReportFollower(db.Model):
    """Who follows a report: its reporter, '+1' confirmers, reporters of merged duplicates."""

    __tablename__ = "report_followers"

    id: Mapped[int] = pk()
    report_id: Mapped[int] = mapped_column(BigId, ForeignKey("reports.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)  # reporter|confirm|merged
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    __table_args__ = (
        UniqueConstraint("report_id", "user_id"),
        Index("ix_report_followers_user_id", "user_id"),
    )


class WeChatInbound(db.Model):
    """A message a user sent through WeChat, stored once (by MsgId) and handled by a job.

    pending -> processing (claimed; `claimed_at` starts its lease) -> done, or back to pending
    on a failure (failed after MAX_ATTEMPTS); a claim whose lease ran out (the runner died) is
    taken again by the next run."""

    __tablename__ = "wechat_inbound"

    id: Mapped[int] = pk()
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True, nullable=False)
    openid: Mapped[str] = mapped_column(String(64), nullable=False)
    msg_type: Mapped[str] = mapped_column(String(24), nullable=False)
    payload: Mapped[dict] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(12), default="pending", nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    report_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("reports.id"))
    error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    processed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    __table_args__ = (Index("ix_wechat_inbound_status", "status"),)
