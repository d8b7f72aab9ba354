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
    """Job: check the text (description and address) of reports left `pending` while WeChat
    was unavailable."""
    from server.auth.models import User

    rows = db.session.execute(
        select(Report.id, Report.description, Report.address, User.openid)
        .join(User, User.id == Report.reporter_id)
        .where(Report.moderation == "pending", Report.status != "draft")
        .order_by(Report.id)
        .limit(limit)
    ).all()
    db.session.rollback()
    done = 0
    for report_id, description, address, openid in rows:
        # as at filing: the address is shown to every citizen too
        text = "\n".join(t for t in (description, address) if t)
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


MODERATION_DECISIONS = {"approve": "pass", "hold": "risky"}


def decide_review(scope, report_id: int, decision: str, note: str | None) -> Report:
    """Staff clear (approve → shown) or hold (→ staff only) a report whose text was flagged."""
    from server.errors import Conflict, NotFound
    from server.org.models import OrgUnit
    from server.reports.models import WorkOrder
    from server.reports.services import staff_units
    from server.reports.workflow import record

    report = db.session.execute(
        select(Report).where(Report.id == report_id).with_for_update(of=Report)
    ).scalar_one_or_none()
    order = (
        db.session.execute(select(WorkOrder).where(WorkOrder.report_id == report_id)).scalar()
        if report is not None
        else None
    )
    units = staff_units(report, order) if report is not None else []
    if (
        report is None
        or report.status == "draft"
        or not any(scope.covers(db.session.get(OrgUnit, u)) for u in units if u)
    ):
        db.session.rollback()
        raise NotFound("report.not_found", "找不到该问题，可能不在您的管辖范围内")
    if report.moderation not in ("review", "pending"):
        db.session.rollback()
        raise Conflict(
            "report.moderation_decided",
            "该问题的内容无需人工审核或已经审核过",
            details={"moderation": report.moderation},
        )
    previous = report.moderation
    report.moderation = MODERATION_DECISIONS[decision]
    report.moderation_checked_at = utcnow()
    record(
        report,
        "moderation_" + decision,
        actor=scope.user,
        actor_role=scope.role,
        order=order,
        note=note,
        data={"from": previous, "to": report.moderation},
        visibility="staff",
    )
    db.session.commit()
    return report
