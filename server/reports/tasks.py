"""Periodic jobs: overdue scan and escalation, photo checks, text re-checks, WeChat inbox.

Each is idempotent and safe to run on two nodes at once: every effect hangs on a
conditional UPDATE that only one runner can win.
"""

from __future__ import annotations

import logging

from sqlalchemy import or_, select, update

from server.clock import isoformat, utcnow
from server.extensions import db
from server.org.models import OrgUnit
from server.reports import integrations
from server.reports.models import STATE_NAMES, Report, ReportCategory, WorkOrder
from server.reports.workflow import clock_of, record, resume_extension, staff_page

log = logging.getLogger(__name__)

ACTIVE = ("received", "dispatched", "accepted", "in_progress", "returned")
MAX_WARN = 3  # 1 yellow (75 %), 2 red (100 %: one level up), 3 (150 %: two levels up)


def _wanted(ratio: float) -> int:
    if ratio >= 1.5:
        return 3
    if ratio >= 1:
        return 2
    if ratio >= 0.75:
        return 1
    return 0


# What `clock_of` and the warning levels read of an order.
CLOCK_COLUMNS = (
    WorkOrder.id,
    WorkOrder.state,
    WorkOrder.hold_until,
    WorkOrder.created_at,
    WorkOrder.accepted_at,
    WorkOrder.accept_due_at,
    WorkOrder.resolve_due_at,
    WorkOrder.clock_restarted_at,
    WorkOrder.accept_warn,
    WorkOrder.resolve_warn,
)


def _escalation_target(unit_id: int, steps: int) -> OrgUnit:
    """`steps` levels up the tree from the owning unit, never above the street."""
    unit = db.session.get(OrgUnit, unit_id)
    for _ in range(steps):
        if unit.level in ("street", "district") or unit.parent is None:
            break
        unit = unit.parent
    return unit


def scan_overdue() -> int:
    """Mark orders yellow at 75 % and red at 100 % of their clock; notify and escalate."""
    now = utcnow()
    _resume_due_holds(now)
    # The clocks of every open order in one read (the columns clock_of reads): most are not
    # due, and loading each order to find that out was a statement per open order.
    candidates = db.session.execute(
        select(*CLOCK_COLUMNS).where(
            WorkOrder.state.in_(ACTIVE),
            or_(
                (WorkOrder.accepted_at.is_(None)) & (WorkOrder.accept_warn < MAX_WARN),
                (WorkOrder.accepted_at.is_not(None)) & (WorkOrder.resolve_warn < MAX_WARN),
            ),
        )
    ).all()
    db.session.rollback()
    changed = 0
    for seen in candidates:
        clock = clock_of(seen, now)
        if clock["phase"] not in ("accept", "resolve"):
            continue
        column = WorkOrder.accept_warn if clock["phase"] == "accept" else WorkOrder.resolve_warn
        current = seen.accept_warn if clock["phase"] == "accept" else seen.resolve_warn
        wanted = _wanted(clock["ratio"])
        if wanted <= current:
            continue
        won = db.session.execute(
            update(WorkOrder)
            .where(WorkOrder.id == seen.id, column == current, WorkOrder.state == seen.state)
            .values({column.key: wanted})
            .execution_options(synchronize_session=False)
        ).rowcount
        if won != 1:
            db.session.rollback()
            continue
        order = db.session.get(WorkOrder, seen.id)
        db.session.refresh(order)
        _warn(order, clock, current, wanted)
        db.session.commit()
        changed += 1
    return changed


def _warn(order: WorkOrder, clock: dict, was: int, now_level: int) -> None:
    report = db.session.get(Report, order.report_id)
    category = db.session.get(ReportCategory, order.category_id)
    phase_name = "接单" if clock["phase"] == "accept" else "办结"
    due = isoformat(clock["due_at"])
    data = {
        "report_no": report.report_no,
        "category": category.name,
        "status": STATE_NAMES[order.state],
        "time": due,
        "deadline": due,  # the overdue template's time field reads it (notifications.config)
        "address": report.address or "",
    }
    overdue = now_level >= 2
    title = f"工单已超时（{phase_name}）" if overdue else f"工单即将超时（{phase_name}）"
    body = f"{category.name} {report.report_no}，时限 {due}"
    # a reopened order's new clock warns again: its round is part of the key
    key = f"wo:{order.id}:{clock['phase']}:warn{now_level}"
    if order.reopen_count:
        key += f":reopen{order.reopen_count}"
    if order.assignee_id:
        integrations.notify_user(
            order.assignee_id,
            "work_order_overdue",
            title=title,
            body=body,
            page=staff_page(order.id),
            data=data,
            dedupe_key=key,
        )
    else:
        integrations.notify_unit(
            order.org_unit_id,
            "work_order_overdue",
            title=title,
            body=body,
            page=staff_page(order.id),
            data=data,
            dedupe_key=key,
        )
    record(
        report,
        "overdue" if overdue else "overdue_warning",
        actor=None,
        actor_role="system",
        order=order,
        note=f"{phase_name}时限 {due}",
        data={"phase": clock["phase"], "level": "red" if overdue else "yellow"},
        visibility="public" if overdue else "staff",
    )
    if not overdue:
        return
    steps = now_level - 1  # red: one level up; 150 %: two levels up
    target = _escalation_target(order.org_unit_id, steps)
    if target.id == order.org_unit_id or target.id == order.escalated_unit_id:
        return
    order.escalated_unit_id = target.id
    order.escalation_level = max(order.escalation_level, steps)
    integrations.notify_unit(
        target.id,
        "work_order_escalated",
        title=f"督办：工单超时未{phase_name}",
        body=body,
        page=staff_page(order.id),
        data=data,
        dedupe_key=f"{key}:escalate:{target.id}",
    )
    record(
        report,
        "escalate",
        actor=None,
        actor_role="system",
        order=order,
        note=f"已提请{target.name}督办",
        data={"unit_id": target.id, "level": steps},
    )


def _resume_due_holds(now) -> None:
    """Orders whose hold date has come go back to 'in progress' by themselves."""
    ids = list(
        db.session.execute(
            select(WorkOrder.id).where(WorkOrder.state == "on_hold", WorkOrder.hold_until <= now)
        ).scalars()
    )
    db.session.rollback()
    for order_id in ids:
        won = db.session.execute(
            update(WorkOrder)
            .where(WorkOrder.id == order_id, WorkOrder.state == "on_hold")
            .values(state="in_progress")
            .execution_options(synchronize_session=False)
        ).rowcount
        if won != 1:
            db.session.rollback()
            continue
        order = db.session.get(WorkOrder, order_id)
        db.session.refresh(order)
        report = db.session.get(Report, order.report_id)
        report.status = "in_progress"
        extra = resume_extension(order)
        record(
            report,
            "auto_resume",
            actor=None,
            actor_role="system",
            order=order,
            from_state="on_hold",
            to_state="in_progress",
            note=extra["clock"],
        )
        db.session.commit()


def request_media_checks() -> int:
    """Ask WeChat to check newly uploaded photos."""
    from server.uploads.services import request_media_checks as run

    return run()


def recheck_pending_reports() -> int:
    """Check report text again where WeChat was unavailable on submit."""
    from server.reports.moderation import recheck_pending_reports as run

    return run()


def process_wechat_inbox() -> int:
    """Turn queued WeChat messages into draft reports and answer them."""
    from server.reports.wechat_channel import process_inbox

    return process_inbox()
