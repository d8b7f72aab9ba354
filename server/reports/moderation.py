"""Content security for report text (msgSecCheck v2), decided on submit.

Choice: msgSecCheck is fast (tens of ms) and its verdict decides who may see the report, so it
runs synchronously on submit. When WeChat is unavailable the report is accepted anyway with
moderation `pending` (shown to its reporter and staff only) and `recheck_pending_reports`
(a periodic job) asks again. Photos are checked asynchronously (mediaCheckAsync; the verdict
arrives at /wechat/callback), requested by a job, never inside the user's request.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from server.clock import utcnow
from server.extensions import db
from server.reports.models import Report

log = logging.getLogger(__name__)


def check_text(openid: str, text: str) -> tuple[str, int | None]:
    """(suggest, label): pass | review | risky, or pending when WeChat cannot answer now."""
    if not text or not text.strip():
        return "pass", None
    from server.wechat import get_client
    from server.wechat.api import msg_sec_check
    from server.wechat.errors import WeChatError

    try:
        result = msg_sec_check(get_client(), openid, text[:2500], scene=2)
    except WeChatError as exc:
        log.warning("msgSecCheck unavailable, report text left pending: %s", exc)
        return "pending", None
    suggest = result.get("suggest")
    if suggest not in ("pass", "review", "risky"):
        return "pending", None
    return suggest, result.get("label")


def recheck_pending_reports(limit: int = 100) -> int:
    """Job: check the text of reports left `pending` while WeChat was unavailable."""
    from server.auth.models import User

    rows = db.session.execute(
        select(Report.id, Report.description, User.openid)
        .join(User, User.id == Report.reporter_id)
        .where(Report.moderation == "pending", Report.status != "draft")
        .order_by(Report.id)
        .limit(limit)
    ).all()
    db.session.rollback()
    done = 0
    for report_id, text, openid in rows:
        suggest, label = check_text(openid, text)
        if suggest == "pending":
            break  # still unavailable: try the rest next time
        db.session.execute(
            Report.__table__.update()
            .where(Report.id == report_id, Report.moderation == "pending")
            .values(moderation=suggest, moderation_label=label, moderation_checked_at=utcnow())
        )
        db.session.commit()
        done += 1
    return done
