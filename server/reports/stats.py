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
- the period: `date_from`–`date_to` (Asia/Shanghai days, both inclusive). Without `date_from`
  it is the last 12 calendar months up to `date_to` (or today): from the 1st of the month
  eleven months before, so by_month holds 12 whole months (the current one so far).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from typing import Any

from sqlalchemy import Float, Integer, and_, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from server import csv_safe
from server.auth.guards import Scope
from server.auth.models import User
from server.clock import local, local_today
from server.csv_safe import safe_row, within_export_limit
from server.extensions import db
from server.org.models import OrgUnit
from server.reports.models import STATE_NAMES, Report, ReportCategory, WorkOrder
from server.reports.staff import filtered_orders, local_day_start

RESOLVED_STATES = ("resolved", "closed")
EXPORT_MAX_ROWS = csv_safe.EXPORT_MAX_ROWS


class _Bucket:
    """Sums of the SQL groups that fall into one row of the answer (totals, a category, a
    unit, a month): every figure is a count or a sum, so groups add up exactly."""

    __slots__ = (
        "merged",
        "on_time",
        "rated",
        "received",
        "rejected",
        "resolved",
        "seconds",
        "stars",
    )

    def __init__(self) -> None:
        self.received = self.resolved = self.on_time = self.merged = self.rejected = 0
        self.rated = self.stars = 0
        self.seconds = 0.0

    def add(self, row: Any) -> None:
        # PostgreSQL's sum() of counts is numeric (Decimal): back to int and float.
        self.received += int(row.received)
        self.merged += int(row.merged)
        self.rejected += int(row.rejected)
        self.resolved += int(row.resolved)
        self.on_time += int(row.on_time)
        self.seconds += float(row.seconds or 0)
        self.rated += int(row.rated)
        self.stars += int(row.stars or 0)

    def figures(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "resolved": self.resolved,
            "rejected": self.rejected,
            "merged": self.merged,
            "on_time": self.on_time,
            "on_time_rate": round(self.on_time / self.resolved, 4) if self.resolved else None,
            "avg_handling_hours": (
                round(self.seconds / 3600 / self.resolved, 1) if self.resolved else None
            ),
            "rated": self.rated,
            "satisfaction": round(self.stars / self.rated, 2) if self.rated else None,
        }


# Asia/Shanghai has kept UTC+8 without daylight saving since 1991, and dates are held to
# 2000–2099 (`LocalDate`), so a stored naive-UTC time + 8 hours is its Shanghai wall time.


class _LocalMonth(FunctionElement):
    """The Asia/Shanghai month of a stored naive-UTC datetime as the integer YYYYMM (a cheap
    key to group by); `_month_label` makes it f"{local(v):%Y-%m}"."""

    type = Integer()
    inherit_cache = True


@compiles(_LocalMonth)
def _local_month_pg(element, compiler, **kw):
    (value,) = (compiler.process(c, **kw) for c in element.clauses)
    local_time = f"({value} + interval '8 hours')"
    return (
        f"CAST(EXTRACT(YEAR FROM {local_time}) * 100 + EXTRACT(MONTH FROM {local_time}) AS INTEGER)"
    )


@compiles(_LocalMonth, "sqlite")
def _local_month_sqlite(element, compiler, **kw):
    (value,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(strftime('%Y%m', {value}, '+8 hours') AS INTEGER)"


def _month_label(key: int) -> str:
    return f"{key // 100:04d}-{key % 100:02d}"


class _Seconds(FunctionElement):
    """Seconds from the second datetime argument to the first, as a number."""

    type = Float()
    inherit_cache = True


@compiles(_Seconds)
def _seconds_pg(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"


@compiles(_Seconds, "sqlite")
def _seconds_sqlite(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


DEFAULT_WINDOW_MONTHS = 12


def default_date_from(date_to: dt.date | None) -> dt.date:
    """The first day of the last 12 Shanghai calendar months up to `date_to` (or today)."""
    end = date_to or local_today()
    months = end.year * 12 + end.month - 1 - (DEFAULT_WINDOW_MONTHS - 1)
    return dt.date(months // 12, months % 12 + 1, 1)


GROUP_NAMES = ("child_id", "child_name", "child_level", "category_id", "code", "name", "month")


def _unit_view(unit: OrgUnit) -> dict[str, Any]:
    return {"id": unit.id, "name": unit.name, "level": unit.level}


def order_stats(scope: Scope, args: dict[str, Any]) -> dict[str, Any]:
    """Received, resolved, on-time rate, handling time and satisfaction, with breakdowns.

    Aggregated in the database, in one statement: the orders are counted and summed per
    (unit, category, Shanghai month), those groups per (child of the root, category, month);
    what comes back is bounded by children × categories × months, never by the orders.
    """
    root = scope.ensure(args["unit_id"]) if args.get("unit_id") else scope.unit
    date_to = args.get("date_to")
    date_from = args.get("date_from") or default_date_from(date_to)

    month_key = _LocalMonth(WorkOrder.created_at)
    merged = WorkOrder.state == "merged"
    resolved = and_(WorkOrder.state.in_(RESOLVED_STATES), WorkOrder.resolved_at.is_not(None))
    on_time = and_(resolved, WorkOrder.accepted_late.is_(False), WorkOrder.resolved_late.is_(False))
    rated = and_(~merged, Report.feedback_stars.is_not(None), Report.feedback_stars != 0)
    per_unit = (
        select(
            WorkOrder.org_unit_id.label("unit_id"),
            WorkOrder.category_id.label("category_id"),
            month_key.label("month"),
            func.count().filter(~merged).label("received"),
            func.count().filter(merged).label("merged"),
            func.count().filter(WorkOrder.state == "rejected").label("rejected"),
            func.count().filter(resolved).label("resolved"),
            func.count().filter(on_time).label("on_time"),
            func.sum(_Seconds(WorkOrder.resolved_at, WorkOrder.created_at))
            .filter(resolved)
            .label("seconds"),
            func.count().filter(rated).label("rated"),
            func.sum(Report.feedback_stars).filter(rated).label("stars"),
        )
        .join(Report, Report.id == WorkOrder.report_id)
        .join(OrgUnit, OrgUnit.id == WorkOrder.org_unit_id)
        .where(scope.clause(WorkOrder.org_unit_id))
        .where(OrgUnit.path.startswith(root.path, autoescape=True))
        .where(WorkOrder.created_at >= local_day_start(date_from))
        .group_by(WorkOrder.org_unit_id, WorkOrder.category_id, month_key)
    )
    if args.get("category_id"):
        per_unit = per_unit.where(WorkOrder.category_id == args["category_id"])
    if date_to:
        end = local_day_start(date_to) + dt.timedelta(days=1)
        per_unit = per_unit.where(WorkOrder.created_at < end)
    groups = per_unit.subquery("o")
    o = groups.c

    # An order filed at a child of the root or below counts under that child (paths are
    # materialised: '/1/2/' is a prefix of its descendants'); one at the root itself has no
    # child and counts under the root.
    unit, child = aliased(OrgUnit), aliased(OrgUnit)
    group = (
        child.id,
        child.name,
        child.level,
        o.category_id,
        ReportCategory.code,
        ReportCategory.name,
        o.month,
    )
    figures = ("received", "merged", "rejected", "resolved", "on_time", "seconds", "rated", "stars")
    stmt = (
        select(
            *(column.label(name) for column, name in zip(group, GROUP_NAMES, strict=True)),
            *(func.sum(o[name]).label(name) for name in figures),
        )
        .select_from(groups)
        .join(unit, unit.id == o.unit_id)
        .outerjoin(child, and_(child.parent_id == root.id, unit.path.startswith(child.path)))
        .outerjoin(ReportCategory, ReportCategory.id == o.category_id)
        .group_by(*group)
        .order_by(o.category_id)
    )
    rows = db.session.execute(stmt).all()

    total = _Bucket()
    by_category: dict[str, _Bucket] = defaultdict(_Bucket)
    category_names: dict[str, str] = {}
    by_unit: dict[int, _Bucket] = defaultdict(_Bucket)
    by_month: dict[str, _Bucket] = defaultdict(_Bucket)
    units: dict[int, dict[str, Any]] = {root.id: _unit_view(root)}
    for row in rows:
        total.add(row)
        code = row.code if row.code is not None else "unknown"
        category_names.setdefault(code, row.name if row.code is not None else "未分类")
        by_category[code].add(row)
        unit_id = row.child_id if row.child_id is not None else root.id
        by_unit[unit_id].add(row)
        units.setdefault(
            unit_id, {"id": row.child_id, "name": row.child_name, "level": row.child_level}
        )
        by_month[_month_label(row.month)].add(row)

    return {
        "unit": _unit_view(root),
        "date_from": date_from,
        "date_to": date_to,
        "totals": total.figures(),
        "by_category": [
            {"code": code, "name": category_names[code], **bucket.figures()}
            for code, bucket in sorted(by_category.items(), key=lambda kv: -kv[1].received)
        ],
        "by_unit": [
            {"unit": units[unit_id], **bucket.figures()}
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
