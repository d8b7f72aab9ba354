"""The outbox/inbox row per notification, and subscription credits per (user, template)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    and_,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.clock import utcnow
from server.extensions import db
from server.models_base import BigId, TimestampMixin, pk

# Delivery states of a notification (the inbox shows every row whatever its state):
#   pending   waiting for a worker (new, or a retry after next_attempt_at)
#   sending   claimed by a worker (claimed_at); stuck past the lease → back to pending
#             (on its last attempt: failed, outcome unknown)
#   sent      WeChat accepted it (wechat_msgid)
#   inbox     in-app only: no template for the kind, no credit, or the user refused (43101)
#   failed    retries exhausted or a configuration problem (last_error)
STATUSES = ("pending", "sending", "sent", "inbox", "failed")


class Notification(TimestampMixin, db.Model):
    __tablename__ = "notifications"

    id: Mapped[int] = pk()
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    title: Mapped[str] = mapped_column(String(64), nullable=False)
    body: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    page: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict | None] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(128))
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    channel: Mapped[str | None] = mapped_column(String(16))  # subscribe | oa_template
    template_id: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    credit_held: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    wechat_msgid: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        UniqueConstraint("user_id", "dedupe_key"),
        Index("ix_notifications_user_read", "user_id", "read_at"),
        Index("ix_notifications_status_next", "status", "next_attempt_at"),
        # the inbox (services.inbox_query): a user's rows, unread first, newest first
        Index(
            "ix_notifications_user_inbox",
            "user_id",
            text("(read_at IS NOT NULL)"),
            text("created_at DESC"),
            text("id DESC"),
        ),
        # the admin outbox by state, newest first (admin.outbox_query, outbox_summary;
        # read backwards for updated_at DESC, id DESC)
        Index("ix_notifications_status_updated", "status", "updated_at", "id"),
    )

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind} u{self.user_id} {self.status}>"


class SubscriptionCredit(db.Model):
    """How many subscribe messages of one template we may still send to one user.

    One accept in wx.requestSubscribeMessage = one send. The client's report and WeChat's
    subscribe_msg_popup_event describe the same accept, so each side records what the
    other has not confirmed yet (`client_unmatched`, `event_unmatched`) and only the
    first report of an accept adds a credit.
    """

    __tablename__ = "subscription_credits"

    id: Mapped[int] = pk()
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), nullable=False)
    template_id: Mapped[str] = mapped_column(String(64), nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    client_unmatched: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    event_unmatched: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_report_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime, default=utcnow, onupdate=utcnow, nullable=False
    )

    __table_args__ = (UniqueConstraint("user_id", "template_id"),)


class OfficialAccountFollower(TimestampMixin, db.Model):
    """A staff member's official-account openid, found through the shared unionid."""

    __tablename__ = "oa_followers"

    id: Mapped[int] = pk()
    unionid: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    oa_openid: Mapped[str] = mapped_column(String(64), nullable=False)
    is_following: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


def due_clause(now):
    """Pending notifications whose (next) attempt is due at `now`."""
    return and_(
        Notification.status == "pending",
        or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
    )
