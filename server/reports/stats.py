"""Statistics and CSV export of work orders, always within the caller's subtree.

Definitions (documented in the API summary and kept here in one place):
- received: work orders created in the period (by creation time, Asia/Shanghai days), except
  those merged into another (duplicates are counted once, on the survivor); `merged` separately.
- resolved: orders now resolved (已办结) or closed after feedback (已回访).
- on_time_rate: share of resolved orders neither accepted late nor resolved late (None if none).
- avg_handling_hours: mean of resolved_at − created_at over resolved orders (hours, 1 decimal).
- satisfaction: mean feedback stars (1–5) of the orders' reports that were rated (None if none).
- by_month: Asia/Shanghai calendar month of creation; by_unit: the children of the scope's
  unit (or of `unit_id`), an order filed at that unit itself counts under the unit itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from typing import Any

from sqlalchemy import select

from server import csv_safe
from server.auth.guards import Scope
from server.auth.models import User
from server.clock import local
from server.csv_safe import safe_row, within_export_limit
from server.extensions import db
from server.org.models import OrgUnit
from server.reports.models import STATE_NAMES, Report, ReportCategory, WorkOrder
from server.reports.staff import filtered_orders, local_day_start

RESOLVED_STATES = ("resolved", "closed")
EXPORT_MAX_ROWS = csv_safe.EXPORT_MAX_ROWS


class _Bucket:
    __slots__ = ("hours", "merged", "on_time", "received", "rejected", "resolved", "stars")

    def __init__(self) -> None:
        self.received = self.resolved = self.on_time = self.merged = self.rejected = 0
        self.hours: list[float] = []
        self.stars: list[int] = []

    def add(self, row: Any) -> None:
        if row.state == "merged":
            self.merged += 1
            return
        self.received += 1
        if row.state == "rejected":
            self.rejected += 1
        if row.state in RESOLVED_STATES and row.resolved_at is not None:
            self.resolved += 1
            if not row.accepted_late and not row.resolved_late:
                self.on_time += 1
            self.hours.append((row.resolved_at - row.created_at).total_seconds() / 3600)
        if row.feedback_stars:
            self.stars.append(row.feedback_stars)

    def figures(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "resolved": self.resolved,
            "rejected": self.rejected,
            "merged": self.merged,
            "on_time": self.on_time,
            "on_time_rate": round(self.on_time / self.resolved, 4) if self.resolved else None,
            "avg_handling_hours": (
                round(sum(self.hours) / len(self.hours), 1) if self.hours else None
            ),
            "rated": len(self.stars),
            "satisfaction": round(sum(self.stars) / len(self.stars), 2) if self.stars else None,
        }


def _unit_view(unit: OrgUnit) -> dict[str, Any]:
    return {"id": unit.id, "name": unit.name, "level": unit.level}


def order_stats(scope: Scope, args: dict[str, Any]) -> dict[str, Any]:
    """Received, resolved, on-time rate, handling time and satisfaction, with breakdowns."""
    root = scope.ensure(args["unit_id"]) if args.get("unit_id") else scope.unit
    stmt = (
        select(
            WorkOrder.org_unit_id,
            WorkOrder.category_id,
            WorkOrder.state,
            WorkOrder.created_at,
            WorkOrder.resolved_at,
            WorkOrder.accepted_late,
            WorkOrder.resolved_late,
            Report.feedback_stars,
        )
        .join(Report, Report.id == WorkOrder.report_id)
        .join(OrgUnit, OrgUnit.id == WorkOrder.org_unit_id)
        .where(scope.clause(WorkOrder.org_unit_id))
        .where(OrgUnit.path.startswith(root.path, autoescape=True))
    )
    if args.get("category_id"):
        stmt = stmt.where(WorkOrder.category_id == args["category_id"])
    if args.get("date_from"):
        stmt = stmt.where(WorkOrder.created_at >= local_day_start(args["date_from"]))
    if args.get("date_to"):
        end = local_day_start(args["date_to"]) + dt.timedelta(days=1)
        stmt = stmt.where(WorkOrder.created_at < end)
    rows = db.session.execute(stmt).all()

    units = {
        u.id: u
        for u in db.session.execute(
            select(OrgUnit).where(OrgUnit.path.startswith(root.path, autoescape=True))
        ).scalars()
    }
    children = {u.id: u for u in units.values() if u.parent_id == root.id}
    categories = {
        c.id: c
        for c in db.session.execute(
            select(ReportCategory).where(ReportCategory.id.in_({r.category_id for r in rows}))
        ).scalars()
    }

    def unit_bucket(unit_id: int) -> OrgUnit:
        unit = units.get(unit_id)
        if unit is None or unit.id == root.id:
            return root
        for child in children.values():
            if unit.path.startswith(child.path):
                return child
        return root

    total = _Bucket()
    by_category: dict[str, _Bucket] = defaultdict(_Bucket)
    category_names: dict[str, str] = {}
    by_unit: dict[int, _Bucket] = defaultdict(_Bucket)
    by_month: dict[str, _Bucket] = defaultdict(_Bucket)
    for row in rows:
        total.add(row)
        category = categories.get(row.category_id)
        code = category.code if category else "unknown"
        category_names.setdefault(code, category.name if category else "未分类")
        by_category[code].add(row)
        by_unit[unit_bucket(row.org_unit_id).id].add(row)
        by_month[f"{local(row.created_at):%Y-%m}"].add(row)

    all_units = {root.id: root, **children}
    return {
        "unit": _unit_view(root),
        "date_from": args.get("date_from"),
        "date_to": args.get("date_to"),
        "totals": total.figures(),
        "by_category": [
            {"code": code, "name": category_names[code], **bucket.figures()}
            for code, bucket in sorted(by_category.items(), key=lambda kv: -kv[1].received)
        ],
        "by_unit": [
            {"unit": _unit_view(all_units[unit_id]), **bucket.figures()}
            for unit_id, bucket in sorted(by_unit.items(), key=lambda kv: kv[0])
        ],
        "by_month": [
            {"month": month, **bucket.figures()} for month, bucket in sorted(by_month.items())
        ],
    }


# --- CSV export -----------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "工单编号",
    "反映时间",
    "问题类别",
    "问题描述",
    "地址",
    "纬度",
    "经度",
    "责任单元",
    "当前状态",
    "处理人",
    "反映人",
    "反映人身份",
    "是否匿名",
    "反映渠道",
    "受理时限",
    "办结时限",
    "接单时间",
    "办结时间",
    "处置时长(小时)",
    "是否按时办结",
    "上报层级",
    "满意度(星)",
    "群众评价",
)
ROLE_LABELS = {"rider": "骑手", "resident": "居民"}
CHANNEL_LABELS = {"app": "小程序", "wechat": "公众号消息"}


def _time(value: dt.datetime | None) -> str:
    return f"{local(value):%Y-%m-%d %H:%M}" if value else ""


def export_orders_csv(scope: Scope, args: dict[str, Any]) -> bytes:
    """The filtered work orders of the caller's subtree as CSV (UTF-8 with BOM, for Excel)."""
    stmt = filtered_orders(scope, args).order_by(WorkOrder.id.desc()).limit(EXPORT_MAX_ROWS + 1)
    orders = within_export_limit(db.session.execute(stmt).unique().scalars().all(), EXPORT_MAX_ROWS)
    user_ids = {o.assignee_id for o in orders} | {o.report.reporter_id for o in orders}
    users = {
        u.id: u
        for u in db.session.execute(select(User).where(User.id.in_(user_ids - {None}))).scalars()
    }
    unit_ids = {o.org_unit_id for o in orders} | {o.escalated_unit_id for o in orders}
    units = {
        u.id: u
        for u in db.session.execute(
            select(OrgUnit).where(OrgUnit.id.in_(unit_ids - {None}))
        ).scalars()
    }
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for order in orders:
        report = order.report
        reporter = users.get(report.reporter_id)
        assignee = users.get(order.assignee_id)
        resolved = order.state in RESOLVED_STATES and order.resolved_at is not None
        hours = (order.resolved_at - order.created_at).total_seconds() / 3600 if resolved else None
        escalated = units.get(order.escalated_unit_id)
        row = (
            report.report_no or "",
            _time(report.submitted_at or order.created_at),
            report.category.name if report.category else "",
            report.description,
            report.address or "",
            report.lat if report.lat is not None else "",
            report.lng if report.lng is not None else "",
            units[order.org_unit_id].name if order.org_unit_id in units else "",
            STATE_NAMES.get(order.state, order.state),
            (assignee.display_name or f"用户{assignee.id}") if assignee else "",
            (reporter.display_name or f"用户{reporter.id}") if reporter else "",
            ROLE_LABELS.get(report.reporter_role, report.reporter_role),
            "是" if report.is_anonymous else "否",
            CHANNEL_LABELS.get(report.channel, report.channel),
            _time(order.accept_due_at),
            _time(order.resolve_due_at),
            _time(order.accepted_at),
            _time(order.resolved_at),
            f"{hours:.1f}" if hours is not None else "",
            ("否" if order.accepted_late or order.resolved_late else "是") if resolved else "",
            escalated.name if escalated else "",
            report.feedback_stars or "",
            report.feedback_comment or "",
        )
        writer.writerow(safe_row(row))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
