"""The outbox: `notify` / `notify_staff` write rows in the caller's transaction; credits.

Nothing here talks to WeChat. After the caller commits, the ids written in that
transaction are enqueued for the worker (`queue.enqueue_deliveries`); if Redis is down
the failure is logged and the outbox sweeper enqueues the rows later.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
from typing import Any

from sqlalchemy import case, event, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.auth.models import User
from server.clock import utcnow
from server.errors import NotFound
from server.extensions import db, in_savepoint
from server.notifications.config import oa_settings, setting, template_for
from server.notifications.models import Notification, SubscriptionCredit
from server.org.models import LEVELS, OrgUnit, StaffBinding

log = logging.getLogger(__name__)

PENDING_KEY = "fengchao_notifications_to_enqueue"
# A client report and WeChat's popup event for the same accept arrive within this window.
PAIR_WINDOW = dt.timedelta(minutes=10)
MAX_CREDITS = 100


# -- the outbox ---------------------------------------------------------------------------


def notify(
    user_id: int,
    kind: str,
    *,
    title: str,
    body: str,
    page: str | None = None,
    data: dict | None = None,
    dedupe_key: str | None = None,
) -> Notification:
    """Add a notification (inbox + outbox) in the caller's transaction; no commit."""
    session = db.session
    if dedupe_key:
        existing = _by_dedupe_key(user_id, dedupe_key)
        if existing is not None:
            return existing
    template = template_for(kind)
    wechat_possible = template is not None or _oa_kind_configured(kind)
    row = Notification(
        user_id=user_id,
        kind=kind,
        title=(title or "").strip()[:64] or "通知",
        body=(body or "")[:500],
        page=(page or None) and page[:255],
        data=jsonable(data or {}),
        dedupe_key=dedupe_key[:128] if dedupe_key else None,
        status="pending" if wechat_possible else "inbox",
        template_id=template.template_id if template else None,
        last_error=None if wechat_possible else "no template configured for this kind",
    )
    if dedupe_key:
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:  # a concurrent transaction wrote the same event
            existing = _by_dedupe_key(user_id, dedupe_key)
            if existing is None:
                raise
            return existing
    else:
        session.add(row)
        session.flush()
    if wechat_possible:
        session.info.setdefault(PENDING_KEY, set()).add(row.id)
    return row


def notify_staff(
    org_unit_id: int,
    kind: str,
    *,
    title: str,
    body: str,
    page: str | None = None,
    data: dict | None = None,
    dedupe_key: str | None = None,
) -> list[Notification]:
    """Alert the on-duty staff of a unit; go up (grid → community → street) while nobody
    there can get a WeChat message. In the caller's transaction; no commit."""
    unit = db.session.get(OrgUnit, org_unit_id)
    if unit is None:
        raise NotFound("org.unit_not_found", "未找到该网格或社区")
    template = template_for(kind)
    top = setting("NOTIFY_ESCALATE_TO")
    top_rank = LEVELS.index(top) if top in LEVELS else LEVELS.index("street")
    origin = unit
    sent: list[Notification] = []
    while unit is not None:
        user_ids = on_duty_staff(unit.id)
        escalated = unit.id != origin.id
        extra = {"org_unit_id": unit.id, "org_unit_name": unit.name}
        unit_body = body
        if escalated:
            extra.update(escalated_from=origin.id, escalated_from_name=origin.name)
            unit_body = f"{body}（{origin.name}暂无可接收微信提醒的值班人员，已提醒上级）"
        for user_id in user_ids:
            sent.append(
                notify(
                    user_id,
                    kind,
                    title=title,
                    body=unit_body,
                    page=page,
                    data={**(data or {}), **extra},
                    dedupe_key=dedupe_key,
                )
            )
        if user_ids and (template is None or any(reachable(u, kind) for u in user_ids)):
            break
        if LEVELS.index(unit.level) <= top_rank:
            break
        log.info("notify_staff: nobody reachable at %s for %s; going up", unit.code, kind)
        unit = unit.parent
    return sent


def on_duty_staff(org_unit_id: int) -> list[int]:
    """Active users bound (not revoked, on duty) to exactly this unit.

    A deactivated account whose binding was not revoked is nobody on duty: it must not
    stop an alert going up.
    """
    stmt = (
        select(StaffBinding.user_id)
        .join(User, User.id == StaffBinding.user_id)
        .where(
            StaffBinding.org_unit_id == org_unit_id,
            StaffBinding.revoked_at.is_(None),
            StaffBinding.is_on_duty.is_(True),
            User.is_active.is_(True),
        )
        .order_by(StaffBinding.user_id)
    )
    return list(dict.fromkeys(db.session.execute(stmt).scalars()))


def reachable(user_id: int, kind: str) -> bool:
    """Whether a WeChat message of this kind can reach the user now (credit or OA follower).

    Never for a user the worker would not send to (inactive, no openid: tasks._deliver).
    """
    user = db.session.get(User, user_id)
    if user is None or not user.is_active or not user.openid:
        return False
    template = template_for(kind)
    if template is not None and credit_count(user_id, template.template_id) > 0:
        return True
    from server.notifications.channels import oa_openid_for

    return _oa_kind_configured(kind) and oa_openid_for(user_id) is not None


def _oa_kind_configured(kind: str) -> bool:
    oa = oa_settings()
    return bool(oa and kind in oa["templates"])


def _by_dedupe_key(user_id: int, dedupe_key: str) -> Notification | None:
    stmt = select(Notification).where(
        Notification.user_id == user_id, Notification.dedupe_key == dedupe_key[:128]
    )
    return db.session.execute(stmt).scalar_one_or_none()


def jsonable(value: Any) -> Any:
    """`data` as JSON: datetimes as ISO 8601 in UTC (naive means UTC), decimals as text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC).isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


@event.listens_for(Session, "after_commit")
def _enqueue_after_commit(session: Session) -> None:
    if in_savepoint(session):
        return
    ids = session.info.pop(PENDING_KEY, None)
    if ids:
        from server.notifications.queue import enqueue_deliveries

        enqueue_deliveries(sorted(ids))


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    if in_savepoint(session):
        return
    session.info.pop(PENDING_KEY, None)


# -- subscription credits -----------------------------------------------------------------


def credit_count(user_id: int, template_id: str) -> int:
    stmt = select(SubscriptionCredit.count).where(
        SubscriptionCredit.user_id == user_id, SubscriptionCredit.template_id == template_id
    )
    return db.session.execute(stmt).scalar_one_or_none() or 0


def _ensure_credit_row(user_id: int, template_id: str) -> None:
    stmt = select(SubscriptionCredit.id).where(
        SubscriptionCredit.user_id == user_id, SubscriptionCredit.template_id == template_id
    )
    if db.session.execute(stmt).first() is not None:
        return
    row = SubscriptionCredit(user_id=user_id, template_id=template_id, count=0)
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:  # created concurrently
        pass


def _credit_where(user_id: int, template_id: str):
    return (
        SubscriptionCredit.user_id == user_id,
        SubscriptionCredit.template_id == template_id,
    )


def add_accept(user_id: int, template_id: str, source: str) -> bool:
    """One accept reported by `source` ("client" or "event"); True if it added a credit.

    The other source's unconfirmed report of the same accept (within PAIR_WINDOW) is
    matched instead of counting the accept twice. No commit.
    """
    _ensure_credit_row(user_id, template_id)
    now = utcnow()
    cutoff = now - PAIR_WINDOW
    mine, other = (
        ("client_unmatched", "event_unmatched")
        if source == "client"
        else ("event_unmatched", "client_unmatched")
    )
    mine_col, other_col = getattr(SubscriptionCredit, mine), getattr(SubscriptionCredit, other)
    paired = db.session.execute(
        update(SubscriptionCredit)
        .where(*_credit_where(user_id, template_id), other_col > 0)
        .where(SubscriptionCredit.last_report_at >= cutoff)
        .values({other: other_col - 1})
        .execution_options(synchronize_session=False)
    ).rowcount
    if paired:
        return False
    stale = SubscriptionCredit.last_report_at.is_(None) | (
        SubscriptionCredit.last_report_at < cutoff
    )
    db.session.execute(
        update(SubscriptionCredit)
        .where(*_credit_where(user_id, template_id))
        .values(
            {
                "count": case(
                    (SubscriptionCredit.count >= MAX_CREDITS, SubscriptionCredit.count),
                    else_=SubscriptionCredit.count + 1,
                ),
                mine: case((stale, 1), else_=mine_col + 1),
                other: case((stale, 0), else_=other_col),
                "last_report_at": now,
                "updated_at": now,
            }
        )
        .execution_options(synchronize_session=False)
    )
    return True


def spend_credit(user_id: int, template_id: str) -> bool:
    """Take one credit if there is one (conditional UPDATE). No commit."""
    return bool(
        db.session.execute(
            update(SubscriptionCredit)
            .where(*_credit_where(user_id, template_id), SubscriptionCredit.count > 0)
            .values(count=SubscriptionCredit.count - 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def refund_credit(user_id: int, template_id: str) -> None:
    """Give back a credit WeChat did not use. No commit."""
    db.session.execute(
        update(SubscriptionCredit)
        .where(*_credit_where(user_id, template_id))
        .values(count=SubscriptionCredit.count + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def clear_credits(user_id: int, template_id: str) -> None:
    """The user refused the template (43101, or switched it off): no credit left. No commit."""
    db.session.execute(
        update(SubscriptionCredit)
        .where(*_credit_where(user_id, template_id))
        .values(count=0, client_unmatched=0, event_unmatched=0, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def record_client_subscriptions(user_id: int, accepted: list[str]) -> dict[str, Any]:
    """What the user accepted in wx.requestSubscribeMessage: one credit per accept."""
    from server.notifications.config import templates

    known = {t.template_id for t in templates().values()}
    counted, ignored = [], []
    for template_id in accepted:
        if template_id in known:
            add_accept(user_id, template_id, "client")
            counted.append(template_id)
        else:
            ignored.append(template_id)
    db.session.commit()
    if ignored:
        log.info("subscriptions: user %s reported unknown templates %s", user_id, ignored)
    return {**subscription_view(user_id), "ignored": ignored}


def subscription_view(user_id: int) -> dict[str, Any]:
    """The template id to request per kind, and the user's credits."""
    from server.notifications.config import templates

    configured = templates()
    rows = db.session.execute(
        select(SubscriptionCredit.template_id, SubscriptionCredit.count)
        .where(SubscriptionCredit.user_id == user_id)
        .order_by(SubscriptionCredit.template_id)
    ).all()
    return {
        "templates": {kind: t.template_id for kind, t in sorted(configured.items())},
        "credits": [{"template_id": t, "count": n} for t, n in rows],
    }


# -- the inbox ----------------------------------------------------------------------------


def unread_count(user_id: int) -> int:
    return db.session.execute(
        select(func.count(Notification.id)).where(
            Notification.user_id == user_id, Notification.read_at.is_(None)
        )
    ).scalar_one()


def inbox_query(user_id: int, unread_only: bool = False):
    """The user's notifications, unread first, newest first."""
    stmt = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    # false (unread) sorts before true; the same expression as ix_notifications_user_inbox,
    # so the index gives the rows in this order (a CASE with bound values could not)
    read = Notification.read_at.is_not(None)
    return stmt.order_by(read, Notification.created_at.desc(), Notification.id.desc())


def mark_read(user_id: int, notification_id: int) -> Notification:
    """Mark one of the user's notifications read (idempotent)."""
    row = db.session.get(Notification, notification_id)
    if row is None or row.user_id != user_id:
        raise NotFound("notification.not_found", "未找到该消息")
    if row.read_at is None:
        row.read_at = utcnow()
        db.session.commit()
    return row


def mark_all_read(user_id: int) -> int:
    """Mark every unread notification of the user read; the number changed."""
    changed = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return changed


# -- account cancellation -------------------------------------------------------------------


def on_account_cancelled(user: User) -> None:
    """Account cancellation (server/auth/cancellation.py), after the other domains (their
    last notices included): the user's notifications are deleted — inbox and outbox, so none
    still pending is sent — and their subscription credits with them. In the caller's
    transaction; a row a worker is sending right now finds its claim gone and writes
    nothing (`tasks._settle`)."""
    from sqlalchemy import delete

    ids = set(
        db.session.execute(select(Notification.id).where(Notification.user_id == user.id))
        .scalars()
        .all()
    )
    db.session.execute(
        delete(Notification)
        .where(Notification.user_id == user.id)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        delete(SubscriptionCredit)
        .where(SubscriptionCredit.user_id == user.id)
        .execution_options(synchronize_session=False)
    )
    queued = db.session.info.get(PENDING_KEY)
    if queued:
        queued.difference_update(ids)  # written in this transaction: nothing to deliver
    for row in list(db.session.identity_map.values()):
        if isinstance(row, Notification) and row.user_id == user.id:
            db.session.expunge(row)
