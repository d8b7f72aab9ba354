"""Staff reading of work orders: scoped lists with filters, one order, what may be done next."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select

from server.auth.guards import Scope
from server.auth.models import User
from server.clock import SHANGHAI, utcnow
from server.errors import NotFound
from server.extensions import db
from server.http import paginate
from server.org.models import ROLE_RANK, OrgUnit, subtree_ids
from server.reports.models import STATE_NAMES, Report, WorkOrder
from server.reports.presenters import report_detail, report_summary
from server.reports.workflow import ACTIONS, HANDLER, MANAGER, clock_of
from server.uploads.services import uploads_for


def local_day_start(day: dt.date) -> dt.datetime:
    start = dt.datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)
    return start.astimezone(dt.UTC).replace(tzinfo=None)


def get_order(scope: Scope, order_id: int) -> WorkOrder:
    """One order in the caller's subtree (404 outside it)."""
    order = db.session.get(WorkOrder, order_id)
    if order is None:
        raise NotFound("work_order.not_found", "找不到该工单，可能不在您的管辖范围内")
    units = [order.org_unit_id, order.escalated_unit_id]
    if not any(scope.covers(db.session.get(OrgUnit, u)) for u in units if u):
        raise NotFound("work_order.not_found", "找不到该工单，可能不在您的管辖范围内")
    return order


def allowed_actions(scope: Scope, order: WorkOrder, unit: OrgUnit | None = None) -> list[str]:
    """What the caller may do next: nothing outside the owning unit's subtree (the unit an
    order was escalated to watches it; acting is for the owner's side, see workflow._load).
    `unit`: the owning unit when the caller has it (a list loads a page's units at once)."""
    if not scope.covers(unit or db.session.get(OrgUnit, order.org_unit_id)):
        return []
    manager = scope.rank >= ROLE_RANK[MANAGER]
    found = []
    for name, action in ACTIONS.items():
        if order.state not in action.sources:
            continue
        if action.who == MANAGER and not manager:
            continue
        if action.who == HANDLER and not manager:
            if order.assignee_id not in (None, scope.user.id):
                continue
            if order.assignee_id is None and name != "accept":
                continue
        found.append(name)
    return found


def _unit(unit_id: int | None, units: dict[int, OrgUnit] | None = None) -> dict[str, Any] | None:
    if units is not None:
        unit = units.get(unit_id) if unit_id else None
    else:
        unit = db.session.get(OrgUnit, unit_id) if unit_id else None
    return {"id": unit.id, "name": unit.name, "level": unit.level} if unit else None


class PageLookups:
    """What a page of orders shows besides the orders, loaded once for the page: the first
    photos of their reports, their units (owning and escalated-to), their assignees. Without
    it each order read them one by one (a page of 100: 382 statements)."""

    def __init__(self, orders: list[WorkOrder]):
        self.photos = uploads_for("report", {o.report_id for o in orders})
        unit_ids = {o.org_unit_id for o in orders} | {o.escalated_unit_id for o in orders}
        unit_ids.discard(None)
        self.units: dict[int, OrgUnit] = {}
        if unit_ids:
            found = db.session.execute(select(OrgUnit).where(OrgUnit.id.in_(unit_ids)))
            self.units = {u.id: u for u in found.scalars()}
        user_ids = {o.assignee_id for o in orders if o.assignee_id}
        self.users: dict[int, User] = {}
        if user_ids:
            found = db.session.execute(select(User).where(User.id.in_(user_ids)))
            self.users = {u.id: u for u in found.scalars()}


def order_view(
    scope: Scope, order: WorkOrder, detail: bool = False, lookups: PageLookups | None = None
) -> dict[str, Any]:
    report = order.report
    units = lookups.units if lookups else None
    if lookups is not None:
        assignee = lookups.users.get(order.assignee_id) if order.assignee_id else None
        summary = report_summary(report, "staff", scope.user.id, lookups.photos.get(report.id, []))
    else:
        assignee = db.session.get(User, order.assignee_id) if order.assignee_id else None
        summary = report_summary(report, "staff", scope.user.id)
    view = {
        "id": order.id,
        "state": order.state,
        "state_name": STATE_NAMES[order.state],
        "report": summary,
        "org_unit": _unit(order.org_unit_id, units),
        "assignee": {"id": assignee.id, "name": assignee.display_name} if assignee else None,
        "clock": clock_of(order),
        "accept_due_at": order.accept_due_at,
        "resolve_due_at": order.resolve_due_at,
        "accepted_at": order.accepted_at,
        "resolved_at": order.resolved_at,
        "hold_until": order.hold_until,
        "escalation_level": order.escalation_level,
        "escalated_unit": _unit(order.escalated_unit_id, units),
        "is_flagged": order.is_flagged,
        "flag_reason": order.flag_reason,
        "return_count": order.return_count,
        "reopen_count": order.reopen_count,
        "created_at": order.created_at,
        "allowed_actions": allowed_actions(
            scope, order, units.get(order.org_unit_id) if units else None
        ),
    }
    if detail:
        view["report_detail"] = report_detail(report, "staff", scope.user.id)
    return view


def filtered_orders(scope: Scope, args: dict[str, Any]):
    """The SELECT of orders in the caller's subtree (or escalated to it) matching `args`."""
    in_scope = or_(scope.clause(WorkOrder.org_unit_id), scope.clause(WorkOrder.escalated_unit_id))
    stmt = select(WorkOrder).where(in_scope)
    if args.get("state"):  # one state or several
        stmt = stmt.where(WorkOrder.state.in_(args["state"]))
    if args.get("category_id"):
        stmt = stmt.where(WorkOrder.category_id == args["category_id"])
    if args.get("unit_id"):
        unit = scope.ensure(args["unit_id"])
        stmt = stmt.where(WorkOrder.org_unit_id.in_(subtree_ids(unit)))
    if args.get("overdue") is not None:
        now = utcnow()
        late = or_(
            (WorkOrder.accepted_at.is_(None)) & (WorkOrder.accept_due_at < now),
            (WorkOrder.accepted_at.is_not(None)) & (WorkOrder.resolve_due_at < now),
        ) & WorkOrder.state.in_(("received", "dispatched", "accepted", "in_progress", "returned"))
        stmt = stmt.where(late if args["overdue"] else ~late)
    if args.get("escalated") is not None:
        stmt = stmt.where(
            WorkOrder.escalated_unit_id.is_not(None)
            if args["escalated"]
            else WorkOrder.escalated_unit_id.is_(None)
        )
    if args.get("flagged") is not None:
        stmt = stmt.where(WorkOrder.is_flagged.is_(args["flagged"]))
    if args.get("mine"):
        stmt = stmt.where(WorkOrder.assignee_id == scope.user.id)
    if args.get("date_from"):
        stmt = stmt.where(WorkOrder.created_at >= local_day_start(args["date_from"]))
    if args.get("date_to"):
        end = local_day_start(args["date_to"]) + dt.timedelta(days=1)
        stmt = stmt.where(WorkOrder.created_at < end)
    if args.get("moderation"):  # the one filter on the report: joined only for it
        stmt = stmt.join(Report, Report.id == WorkOrder.report_id)
        stmt = stmt.where(Report.moderation == args["moderation"])
    return stmt


def list_orders(scope: Scope, args: dict[str, Any]) -> dict[str, Any]:
    """Orders in the caller's subtree (or escalated to it), filtered, newest first."""
    stmt = filtered_orders(scope, args).order_by(WorkOrder.id.desc())
    page = paginate(
        stmt,
        args["page"],
        args["page_size"],
        keyset=WorkOrder.id,
        before_id=args.get("before_id"),
    )
    lookups = PageLookups(page["items"])
    page["items"] = [order_view(scope, order, lookups=lookups) for order in page["items"]]
    return page
