"""Worker jobs: deliver one notification (idempotent), and the outbox sweeper.

A worker claims a row with a conditional UPDATE (pending → sending) and commits before
calling WeChat, and marks it sent right after. WeChat's send APIs take no idempotency
key, so in two windows nobody knows whether WeChat delivered a message:

- the worker dies (or hangs past RQ's job timeout) between WeChat's answer and that
  commit: the row stays `sending`, and after NOTIFY_SENDING_LEASE_SECONDS the sweeper puts
  it back to `pending` and it is sent once more (a duplicate, rare: it takes a crash) —
  unless that was its NOTIFY_MAX_ATTEMPTS-th claim: then it ends `failed` with "outcome
  unknown (worker lost)", treated like a read timeout (not sent again, its credit counts
  as used), so a row that kills its worker is not sent again and again;
- the request went out and its answer timed out (a read timeout): WeChat may well have
  delivered it, so it is not sent again; the row ends `failed` with "outcome unknown
  (timeout)" (the user still sees it in the in-app inbox).

A worker writes how its attempt ended only while the row is still its claim (`sending`,
its claimed_at and attempt number): one whose lease expired meanwhile (the operator's
`deliver_due_now` has no job timeout) cannot undo what the next worker did; its whole
transaction, credit refunds included, is rolled back.

Connect errors and timeouts, HTTP 5xx and -1 (nothing sent) are retried with a backoff;
so are other network errors (a connection reset: WeChat almost certainly did not act on
it, but no answer says so). A row is never lost: every state other than sent / inbox /
failed is picked up again by the sweeper, and every way a row ends gives back a
subscription credit it holds that WeChat did not use.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import requests
from sqlalchemy import and_, or_, select, update
from urllib3.exceptions import ReadTimeoutError

from server.auth.models import User
from server.clock import utcnow
from server.extensions import db
from server.notifications import services
from server.notifications.channels import oa_openid_for, send_oa_template, send_subscribe
from server.notifications.config import oa_settings, setting, template_for
from server.notifications.models import Notification, due_clause
from server.notifications.queue import enqueue_deliveries, forget_queued
from server.notifications.worker import app_context
from server.wechat.client import TOKEN_ERRCODES
from server.wechat.errors import WeChatError, WeChatUnavailable

log = logging.getLogger(__name__)

REFUSED = 43101
# WeChat refuses these whatever we retry: our template ids, field mapping or pages are wrong.
CONFIG_ERRCODES = frozenset({47003, 40037, 41030})
# The sends WeChat cannot deduplicate: a lost answer leaves the outcome unknown.
SEND_PATHS = ("/message/subscribe/send", "/message/template/send")
OUTCOME_UNKNOWN = "outcome unknown (timeout)"
# The row stayed `sending` past its lease on its last attempt: maybe sent, maybe not.
WORKER_LOST = "outcome unknown (worker lost)"

# What a worker's claim of a row was: (claimed_at, attempts). Its writes are fenced by it.
Claim = tuple[dt.datetime, int]


def deliver(notification_id: int) -> str:
    """Send one notification through its channel; returns the resulting status."""
    with app_context():
        forget_queued(notification_id)
        try:
            return _deliver(notification_id)
        except Exception:
            db.session.rollback()
            raise


def _below_max_attempts():
    return Notification.attempts < setting("NOTIFY_MAX_ATTEMPTS")


def _claim(notification_id: int, now: dt.datetime) -> bool:
    claimed = db.session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.status == "pending",
            or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
            _below_max_attempts(),  # a backstop: a row never gets more than the maximum
        )
        .values(status="sending", claimed_at=now, attempts=Notification.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return bool(claimed)


def _settle(row: Notification, claim: Claim, **values: Any) -> bool:
    """Commit this attempt's transaction with `values` written to the row, if the row is
    still this worker's claim; otherwise roll all of it back (refunds included): the lease
    expired, and the sweeper, an operator or another worker has the row now."""
    claimed_at, attempts = claim
    mine = db.session.execute(
        update(Notification)
        .where(
            Notification.id == row.id,
            Notification.status == "sending",
            Notification.claimed_at == claimed_at,
            Notification.attempts == attempts,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not mine:
        db.session.rollback()
        log.warning(
            "notification %s: claim %s (attempt %s) expired and the row moved on; "
            "this attempt's outcome is not written",
            row.id,
            claimed_at.isoformat(),
            attempts,
        )
        return False
    db.session.commit()
    return True


def _finish(
    row: Notification,
    claim: Claim,
    status: str,
    error: str | None = None,
    *,
    failed_for: str | None = None,
) -> str:
    """End the row; `failed_for` counts a delivery WeChat did not make, by reason (an
    errcode, 'retries_exhausted', 'config', 'outcome_unknown'), for the operator's alerts."""
    kind = row.kind
    ended = _settle(
        row,
        claim,
        status=status,
        last_error=error[:255] if error else None,
        claimed_at=None,
        next_attempt_at=None,
    )
    if not ended:
        return "skipped"
    if failed_for:
        _count_failed(kind, failed_for)
    return status


def _count_failed(kind: str, reason: str) -> None:
    from server.ops.metrics import NOTIFICATIONS_FAILED

    NOTIFICATIONS_FAILED.labels(kind=kind, reason=reason).inc()


def _deliver(notification_id: int) -> str:
    now = utcnow()
    if not _claim(notification_id, now):
        return "skipped"
    row = db.session.get(Notification, notification_id)
    claim: Claim = (now, row.attempts)
    user = db.session.get(User, row.user_id)
    if user is None or not user.is_active or not user.openid:
        _give_back_credit(row)
        return _finish(row, claim, "inbox", "user cannot receive WeChat messages")

    oa = oa_settings()
    oa_openid = oa_openid_for(user.id) if oa and row.kind in oa["templates"] else None
    template = template_for(row.kind)
    try:
        if oa_openid:
            _give_back_credit(row)  # held by an earlier subscribe attempt: not needed now
            if not _settle(row, claim, channel="oa_template"):
                return "skipped"
            result = send_oa_template(row, oa_openid)
        else:
            if template is None:
                _give_back_credit(row)
                return _finish(row, claim, "inbox", "no template configured for this kind")
            if row.template_id != template.template_id and row.credit_held:
                services.refund_credit(user.id, row.template_id)
                row.credit_held = False
            row.template_id, row.channel = template.template_id, "subscribe"
            if not row.credit_held:
                if not services.spend_credit(user.id, template.template_id):
                    return _finish(row, claim, "inbox", "no subscription credit")
                row.credit_held = True
            # the credit is spent before WeChat is called (and only while the row is ours)
            if not _settle(row, claim, template_id=row.template_id, channel="subscribe"):
                return "skipped"
            result = send_subscribe(row, user, template)
    except WeChatError as exc:
        return _on_wechat_error(row, claim, user, exc)
    except Exception as exc:  # a bug or the database: retry later, keep the trace
        log.exception("delivering notification %s failed unexpectedly", notification_id)
        db.session.rollback()
        row = db.session.get(Notification, notification_id)
        return _retry_or_fail(row, claim, f"{type(exc).__name__}: {exc}")
    sent = _settle(
        row,
        claim,
        status="sent",
        sent_at=utcnow(),
        wechat_msgid=str(result.get("msgid") or "") or None,
        credit_held=False,  # WeChat used it
        last_error=None,
        claimed_at=None,
        next_attempt_at=None,
    )
    if not sent:
        return "skipped"
    log.info("notification %s (%s) sent to user %s", row.id, row.kind, row.user_id)
    return "sent"


def _give_back_credit(row: Notification) -> None:
    """Refund the subscribe credit the row holds (WeChat did not use it). No commit.

    Whatever the row's channel now: the credit was taken for `template_id` by a subscribe
    attempt, and a later attempt may have switched to the official account.
    """
    if row.credit_held and row.template_id:
        services.refund_credit(row.user_id, row.template_id)
    row.credit_held = False


def _outcome_unknown(exc: WeChatError) -> bool:
    """The send request went out and its answer was lost (a read timeout): WeChat may
    have delivered it. A connect timeout or refused connection sent nothing.

    The client raises WeChatUnavailable from the requests exception (kept as __context__).
    """
    if not isinstance(exc, WeChatUnavailable) or not (exc.path or "").endswith(SEND_PATHS):
        return False
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, requests.exceptions.ReadTimeout):
        return True
    # a timeout while reading the body, once the headers came: requests says ConnectionError
    inner = cause.args[0] if isinstance(cause, requests.ConnectionError) and cause.args else None
    return isinstance(inner, ReadTimeoutError)


def _on_wechat_error(row: Notification, claim: Claim, user: User, exc: WeChatError) -> str:
    error = f"{exc.errcode}: {exc.errmsg}"
    if _outcome_unknown(exc):
        # no retry: a second send could reach the user twice; the credit was probably used
        row.credit_held = False
        log.error(
            "notification %s (%s): WeChat's answer was lost (%s); not sent again",
            row.id,
            row.kind,
            exc.errmsg,
        )
        return _finish(row, claim, "failed", OUTCOME_UNKNOWN, failed_for="outcome_unknown")
    if exc.errcode == REFUSED and row.channel == "subscribe":
        services.clear_credits(user.id, row.template_id)
        row.credit_held = False
        log.info("user %s refused template %s (43101): inbox only", user.id, row.template_id)
        return _finish(row, claim, "inbox", error, failed_for=str(REFUSED))
    transient = isinstance(exc, WeChatUnavailable) or exc.errcode in TOKEN_ERRCODES
    transient = transient or exc.errcode in (45009, 45011)
    if transient:
        return _retry_or_fail(row, claim, error)
    _give_back_credit(row)
    if exc.errcode in CONFIG_ERRCODES:
        log.error(
            "configuration problem: WeChat refused notification %s (%s, template %s): %s",
            row.id,
            row.kind,
            row.template_id,
            error,
        )
    else:
        log.error("WeChat refused notification %s (%s): %s", row.id, row.kind, error)
    reason = "config" if exc.errcode in CONFIG_ERRCODES else str(exc.errcode)
    return _finish(row, claim, "failed", error, failed_for=reason)


def _retry_or_fail(row: Notification, claim: Claim, error: str) -> str:
    """Back to pending after an exponential backoff, or failed after NOTIFY_MAX_ATTEMPTS."""
    attempts = claim[1]
    if attempts >= setting("NOTIFY_MAX_ATTEMPTS"):
        _give_back_credit(row)
        log.error("notification %s failed after %s attempts: %s", row.id, attempts, error)
        return _finish(row, claim, "failed", error, failed_for="retries_exhausted")
    delay = setting("NOTIFY_RETRY_BASE_SECONDS") * 2 ** max(attempts - 1, 0)
    retried = _settle(  # the held credit stays with the row for the next attempt
        row,
        claim,
        status="pending",
        claimed_at=None,
        next_attempt_at=utcnow() + dt.timedelta(seconds=delay),
        last_error=error[:255],
    )
    if not retried:
        return "skipped"
    log.warning("notification %s: %s; retry in %ss", row.id, error, delay)
    return "pending"


def sweep_outbox(limit: int = 1000) -> dict[str, Any]:
    """Periodic: reclaim rows stuck in `sending`, enqueue every due `pending` row.

    A row stuck on its last attempt (NOTIFY_MAX_ATTEMPTS) is not reclaimed: its worker was
    lost, maybe after WeChat took the send, so it ends like a read timeout (`failed`,
    outcome unknown, the credit it held counts as used, counted for the operator).
    """
    with app_context():
        now = utcnow()
        lease = dt.timedelta(seconds=setting("NOTIFY_SENDING_LEASE_SECONDS"))
        stuck = and_(Notification.status == "sending", Notification.claimed_at < now - lease)
        lost = db.session.execute(
            update(Notification)
            .where(stuck, ~_below_max_attempts())
            .values(
                status="failed",
                last_error=WORKER_LOST,
                credit_held=False,  # probably used (as after a read timeout): not refunded
                claimed_at=None,
                next_attempt_at=None,
            )
            .returning(Notification.id, Notification.kind, Notification.attempts)
            .execution_options(synchronize_session=False)
        ).all()
        recovered = db.session.execute(
            update(Notification)
            .where(stuck, _below_max_attempts())
            .values(status="pending", claimed_at=None, next_attempt_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        for notification_id, kind, attempts in lost:
            _count_failed(kind, "outcome_unknown")
            log.error(
                "notification %s (%s): its worker was lost on attempt %s (stuck in sending); "
                "not sent again",
                notification_id,
                kind,
                attempts,
            )
        if recovered:
            log.warning("outbox sweeper: %s notification(s) were stuck in sending", recovered)
        due = _due_ids(now, limit)
        enqueued = enqueue_deliveries(due) if due else 0
        return {"recovered": recovered, "lost": len(lost), "due": len(due), "enqueued": enqueued}


def _due_ids(now: dt.datetime, limit: int) -> list[int]:
    """Due pending rows a worker may claim (not one past the maximum: `_claim` skips it)."""
    ids = list(
        db.session.execute(
            select(Notification.id)
            .where(due_clause(now), _below_max_attempts())
            .order_by(Notification.id)
            .limit(limit)
        ).scalars()
    )
    db.session.commit()
    return ids


def deliver_due_now(limit: int = 1000) -> dict[str, int]:
    """Deliver every due pending row in this process (operators and tests; no Redis)."""
    with app_context():
        ids = _due_ids(utcnow(), limit)
        outcome: dict[str, int] = {}
        for notification_id in ids:
            status = _deliver(notification_id)
            outcome[status] = outcome.get(status, 0) + 1
        return outcome
