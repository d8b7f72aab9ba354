"""The outbox seen by a system admin: failed and stuck notifications, retry, a test send."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, or_, select, update

from server import pages
from server.auth.models import User
from server.clock import utcnow
from server.errors import Conflict, NotFound
from server.extensions import db
from server.notifications.config import setting
from server.notifications.models import Notification, due_clause
from server.notifications.services import PENDING_KEY, notify

# A due pending row no worker took for this long is stuck (no worker, or Redis down).
PENDING_STUCK_AFTER = dt.timedelta(minutes=10)


NOT_RETRYABLE = {
    "sending": "该消息正在发送中，无法重试；如长时间未完成，系统会自动重新发送",
    "sent": "该消息已发送成功，无需重试",
    "inbox": "该消息仅在站内显示，无需重试",
}
NOT_DUE = "该消息正在等待发送，无需重试"


def stuck_clause(now: dt.datetime):
    lease = dt.timedelta(seconds=setting("NOTIFY_SENDING_LEASE_SECONDS"))
    return or_(
        and_(Notification.status == "sending", Notification.claimed_at < now - lease),
        and_(due_clause(now), Notification.updated_at < now - PENDING_STUCK_AFTER),
    )


def outbox_query(status: str):
    """Notifications by delivery state; `problems` = failed or stuck; newest first."""
    now = utcnow()
    stmt = select(Notification)
    if status == "problems":
        stmt = stmt.where(or_(Notification.status == "failed", stuck_clause(now)))
    elif status == "stuck":
        stmt = stmt.where(stuck_clause(now))
    else:
        stmt = stmt.where(Notification.status == status)
    return stmt.order_by(Notification.updated_at.desc(), Notification.id.desc())


def is_stuck(row: Notification, now: dt.datetime | None = None) -> bool:
    now = now or utcnow()
    if row.status == "sending":
        lease = dt.timedelta(seconds=setting("NOTIFY_SENDING_LEASE_SECONDS"))
        return row.claimed_at is not None and row.claimed_at < now - lease
    if row.status == "pending":
        due = row.next_attempt_at is None or row.next_attempt_at <= now
        return due and row.updated_at < now - PENDING_STUCK_AFTER
    return False


# The summary counts the live states (pending, sending) in full and the terminal ones (sent,
# inbox, failed: the bulk of the table, growing for ever) over this recent window only
# (by updated_at: when the row reached that state), through ix_notifications_status_updated.
LIVE_STATUSES = ("pending", "sending")
TERMINAL_STATUSES = ("sent", "inbox", "failed")
SUMMARY_WINDOW = dt.timedelta(days=7)


def outbox_summary() -> dict:
    """How many notifications are pending or being sent, how many reached each terminal state
    in the last SUMMARY_WINDOW, and how many are stuck."""
    now = utcnow()
    count = func.count(Notification.id)
    counts = dict(
        db.session.execute(
            select(Notification.status, count)
            .where(Notification.status.in_(LIVE_STATUSES))
            .group_by(Notification.status)
        ).all()
    )
    counts.update(
        db.session.execute(
            select(Notification.status, count)
            .where(
                Notification.status.in_(TERMINAL_STATUSES),
                Notification.updated_at >= now - SUMMARY_WINDOW,
            )
            .group_by(Notification.status)
        ).all()
    )
    stuck = db.session.execute(select(count).where(stuck_clause(now))).scalar_one()
    return {"counts": counts, "stuck": stuck, "window_days": SUMMARY_WINDOW.days}


def retry(notification_id: int) -> Notification:
    """Put a failed (or stuck) notification back in the outbox, now.

    One conditional UPDATE: a row a worker is sending right now (lease not expired), or
    one it has just marked sent, is left alone (409), so a retry never makes a second send.
    """
    now = utcnow()
    retried = db.session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            or_(Notification.status == "failed", stuck_clause(now)),
        )
        .values(status="pending", attempts=0, next_attempt_at=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not retried:
        db.session.rollback()
        row = db.session.get(Notification, notification_id, populate_existing=True)
        if row is None:
            raise NotFound("notification.not_found", "未找到该消息")
        raise Conflict("notification.not_retryable", NOT_RETRYABLE.get(row.status, NOT_DUE))
    db.session.info.setdefault(PENDING_KEY, set()).add(notification_id)  # enqueued after commit
    db.session.commit()
    return db.session.get(Notification, notification_id, populate_existing=True)


def send_test(user: User, kind: str) -> Notification:
    """A test notification to the caller (checks templates, credits and the worker)."""
    row = notify(
        user.id,
        kind,
        title="测试消息",
        body="这是一条测试消息：如果您在微信中收到它，说明消息提醒已正常工作。",
        page=pages.NOTIFICATIONS,
        data={"time": utcnow()},
    )
    db.session.commit()
    return row
