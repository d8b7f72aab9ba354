"""The work-order state machine: who may do what from which state, and what it leaves behind.

Every transition is one timeline event (actor, time, note, photos). A transition not
allowed from the current state is a 409 `work_order.invalid_transition`; the state is
changed with a conditional UPDATE (`… WHERE state = <seen>`), so two staff acting at
once cannot both succeed.

An action sent with an Idempotency-Key stores it on its event (unique per actor, with the
hash of what it asked): a retry after a lost answer finds it and answers with the order as
it is now, changing nothing — 改派 is allowed from `dispatched`, the state it leaves, so no
409 would stop it being applied twice. The key of another order, action or body is refused
(409 `idempotency.key_reused`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from server import pages
from server.auth.guards import Scope
from server.auth.models import User
from server.clock import isoformat, utcnow
from server.errors import Conflict, DomainError, Forbidden, NotFound
from server.extensions import db
from server.http import key_reused
from server.org.models import ROLE_RANK, OrgUnit, StaffBinding
from server.reports import integrations
from server.reports.models import (
    OPEN_STATES,
    STATE_NAMES,
    Report,
    ReportCategory,
    ReportEvent,
    ReportFollower,
    WorkOrder,
)
from server.uploads.services import attach_uploads

MANAGER = "community_admin"  # dispatch, reassign, reject, merge, close (回访)
HANDLER = "handler"  # the assignee (or any grid worker of the assigned unit), or a manager
MAX_HOLD_DAYS = 30


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    sources: tuple[str, ...]
    target: str
    who: str
    # Who reads the staff's note on the (public) event, as ReportEvent.visibility: the
    # handling result is public; the reason for not accepting and the 回访 record (the call
    # with the reporter: their name, phone, flat) are the reporter's; the rest is internal.
    note_for: str = "staff"


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("dispatch", "派单", ("received", "returned"), "dispatched", MANAGER),
        Action(
            "reassign", "改派", ("dispatched", "accepted", "in_progress"), "dispatched", MANAGER
        ),
        Action("accept", "接单", ("dispatched",), "accepted", HANDLER),
        Action("start", "开始处置", ("accepted",), "in_progress", HANDLER),
        Action("resolve", "办结", ("accepted", "in_progress"), "resolved", HANDLER, "public"),
        Action("return", "退回", ("received", "dispatched", "accepted"), "returned", HANDLER),
        Action("hold", "挂起", ("accepted", "in_progress"), "on_hold", HANDLER),
        Action("resume", "恢复处置", ("on_hold",), "in_progress", HANDLER),
        Action("reject", "不予受理", ("received", "returned"), "rejected", MANAGER, "reporter"),
        Action("merge", "合并", OPEN_STATES, "merged", MANAGER),
        Action("close", "回访结案", ("resolved",), "closed", MANAGER, "reporter"),
    )
}
ROLE_LABELS = {
    "system": "系统",
    "rider": "骑手",
    "resident": "居民",
    "grid_worker": "网格员",
    "community_admin": "社区工作人员",
    "street_admin": "街道指挥中心",
    "admin": "系统管理员",
}


def report_page(report_id: int) -> str:
    return pages.REPORT_DETAIL.format(id=report_id)


def staff_page(order_id: int) -> str:
    return pages.WORK_ORDER_DETAIL.format(id=order_id)


def record(
    report: Report,
    action: str,
    *,
    actor: User | None,
    actor_role: str,
    order: WorkOrder | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    note: str | None = None,
    data: dict | None = None,
    visibility: str = "public",
    photo_ids: list[int] | None = None,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
) -> ReportEvent:
    """Add one timeline event (and attach the actor's photos to it)."""
    event = ReportEvent(
        report_id=report.id,
        work_order_id=order.id if order else None,
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor_id=actor.id if actor else None,
        actor_role=actor_role,
        note=note,
        data=data,
        visibility=visibility,
        created_at=utcnow(),
        idempotency_key=idempotency_key,
        request_hash=request_hash if idempotency_key else None,
    )
    db.session.add(event)
    db.session.flush()
    if photo_ids:
        attach_uploads(actor.id, photo_ids, "report_event", event.id)
    return event


# --- deadlines ------------------------------------------------------------------------------


def clock_of(order: WorkOrder, now: dt.datetime | None = None) -> dict[str, Any]:
    """The order's running clock: phase (accept|resolve|paused|stopped), due time, level."""
    now = now or utcnow()
    if order.state in ("resolved", "closed", "merged", "rejected"):
        return {"phase": "stopped", "due_at": None, "ratio": None, "level": "none"}
    if order.state == "on_hold":
        return {"phase": "paused", "due_at": order.hold_until, "ratio": None, "level": "none"}
    phase = "accept" if order.accepted_at is None else "resolve"
    due = order.accept_due_at if phase == "accept" else order.resolve_due_at
    # a reopened order ('not fixed', 重新计时) has a new resolve window from its reopening
    start = order.created_at
    if phase == "resolve" and order.clock_restarted_at is not None:
        start = order.clock_restarted_at
    window = max((due - start).total_seconds(), 1.0)
    ratio = (now - start).total_seconds() / window
    level = "red" if ratio >= 1 else "yellow" if ratio >= 0.75 else "green"
    return {"phase": phase, "due_at": due, "ratio": round(ratio, 3), "level": level}


def deadlines_for(category: ReportCategory, start: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    return (
        start + dt.timedelta(hours=category.accept_hours),
        start + dt.timedelta(hours=category.resolve_hours),
    )


# --- assignment -----------------------------------------------------------------------------


def on_duty_worker(unit_id: int) -> int | None:
    """The on-duty grid worker bound to this unit with the fewest open orders, if any."""
    open_count = (
        select(func.count(WorkOrder.id))
        .where(WorkOrder.assignee_id == StaffBinding.user_id, WorkOrder.state.in_(OPEN_STATES))
        .correlate(StaffBinding)
        .scalar_subquery()
    )
    row = db.session.execute(
        select(StaffBinding.user_id)
        .where(
            StaffBinding.org_unit_id == unit_id,
            StaffBinding.role == "grid_worker",
            StaffBinding.is_on_duty.is_(True),
            StaffBinding.revoked_at.is_(None),
        )
        .order_by(open_count, StaffBinding.id)
        .limit(1)
    ).first()
    return row[0] if row else None


def open_order(report: Report, category: ReportCategory, unit: OrgUnit) -> WorkOrder:
    """The work order for a new report: in the unit's queue, or straight to its on-duty worker."""
    now = utcnow()
    accept_due, resolve_due = deadlines_for(category, now)
    order = WorkOrder(
        report_id=report.id,
        org_unit_id=unit.id,
        category_id=category.id,
        state="received",
        accept_due_at=accept_due,
        resolve_due_at=resolve_due,
        created_at=now,
    )
    db.session.add(order)
    db.session.flush()
    report.status = "received"
    record(report, "receive", actor=None, actor_role="system", order=order, to_state="received")
    worker = on_duty_worker(unit.id) if unit.level in ("grid", "micro_grid") else None
    title = f"新工单：{category.name}"
    body = (report.address or report.description or category.name)[:40]
    if worker is not None:
        order.state, order.assignee_id, order.dispatched_at = "dispatched", worker, now
        report.status = "dispatched"
        record(
            report,
            "auto_dispatch",
            actor=None,
            actor_role="system",
            order=order,
            from_state="received",
            to_state="dispatched",
            note="已自动派给本网格值班网格员",
        )
        integrations.notify_user(
            worker,
            "work_order_assigned",
            title=title,
            body=body,
            page=staff_page(order.id),
            data=_data(report, category, order),
            dedupe_key=f"wo:{order.id}:assigned:{worker}",
        )
    else:
        integrations.notify_unit(
            unit.id,
            "work_order_new",
            title=title,
            body=body,
            page=staff_page(order.id),
            data=_data(report, category, order),
            dedupe_key=f"wo:{order.id}:new",
        )
    return order


def _data(report: Report, category: ReportCategory | None, order: WorkOrder) -> dict[str, Any]:
    return {
        "report_no": report.report_no,
        "category": category.name if category else "",
        "status": STATE_NAMES.get(order.state, order.state),
        "time": isoformat(utcnow()),
        "address": report.address or "",
    }


# --- transitions ----------------------------------------------------------------------------


def _load(order_id: int, scope: Scope) -> WorkOrder:
    order = db.session.execute(
        select(WorkOrder).where(WorkOrder.id == order_id).with_for_update(of=WorkOrder)
    ).scalar_one_or_none()
    if order is None:
        raise NotFound("work_order.not_found", "找不到该工单，可能不在您的管辖范围内")
    try:
        scope.ensure(order.org_unit_id)
    except NotFound:
        raise NotFound("work_order.not_found", "找不到该工单，可能不在您的管辖范围内") from None
    return order


def _is_manager(scope: Scope) -> bool:
    return scope.rank >= ROLE_RANK[MANAGER]


def _check_who(action: Action, scope: Scope, order: WorkOrder) -> None:
    if action.who == MANAGER and not _is_manager(scope):
        raise Forbidden("work_order.managers_only", f"只有社区或街道工作人员可以{action.label}")
    if action.who == HANDLER and not _is_manager(scope):
        if order.assignee_id not in (None, scope.user.id):
            raise Forbidden("work_order.not_assignee", "该工单已派给其他人，您不能操作")
        if order.assignee_id is None and action.name != "accept":
            raise Forbidden("work_order.not_assignee", "请先接单再操作")


def _require(value: Any, code: str, message: str) -> Any:
    if value in (None, "", []):
        raise DomainError(f"work_order.{code}", message, 422)
    return value


def _parent(unit_id: int) -> OrgUnit:
    unit = db.session.get(OrgUnit, unit_id)
    return unit.parent if unit.parent is not None and unit.level != "street" else unit


def _street(unit_id: int) -> OrgUnit:
    from server.reports.categories import street_of

    return street_of(db.session.get(OrgUnit, unit_id))


def request_hash(order_id: int, action_name: str, body: dict[str, Any]) -> str:
    """What an action request asks for, as a hash: the same request sent again (a retry)
    hashes the same, whitespace around its note and the order of its photos aside."""
    until = body.get("hold_until")
    if isinstance(until, dt.datetime) and until.tzinfo is not None:
        until = until.astimezone(dt.UTC).replace(tzinfo=None)
    data = {
        "order_id": order_id,
        "action": action_name,
        "note": (body.get("note") or "").strip() or None,
        "photo_ids": sorted(body.get("photo_ids") or []),
        "assignee_id": body.get("assignee_id") or None,
        "unit_id": body.get("unit_id") or None,
        "hold_until": until.isoformat() if until else None,
        "into_id": body.get("into_id") or None,
    }
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _replayed(scope: Scope, key: str, digest: str) -> WorkOrder | None:
    """The order an earlier action of this staff member under `key` acted on, for a retry of
    that same request; None when the key is new. Another request under it is a 409."""
    event = db.session.execute(
        select(ReportEvent).where(
            ReportEvent.actor_id == scope.user.id, ReportEvent.idempotency_key == key
        )
    ).scalar_one_or_none()
    if event is None:
        return None
    if event.request_hash != digest or event.work_order_id is None:
        raise key_reused("工单操作")
    return db.session.get(WorkOrder, event.work_order_id)


def transition(
    scope: Scope,
    order_id: int,
    action_name: str,
    body: dict[str, Any],
    key: str | None = None,
) -> WorkOrder:
    """Apply one action to a work order as `scope`'s staff member; commits.

    With an Idempotency-Key, a retry of an action already applied (its answer lost on the way)
    answers with the order as it is now and changes nothing (no second event, notice or
    assignment); the key of another order, action or body is refused (409)."""
    digest = request_hash(order_id, action_name, body) if key else None
    if key:
        done = _replayed(scope, key, digest)
        if done is not None:
            return done
    try:
        order = _transition(scope, order_id, action_name, body, key, digest)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()  # nothing half-done survives a refusal
        # The same request raced in twice: the second waited for the first's row lock and was
        # then refused (the state moved on) or hit the key's unique index. It is a retry.
        done = _replayed(scope, key, digest) if key and _maybe_twin(exc) else None
        if done is None:
            raise
        return done
    from server.ops.metrics import REPORTS

    REPORTS.labels(event=action_name).inc()  # a known action: _transition refused any other
    return order


def _maybe_twin(exc: Exception) -> bool:
    """A refusal a concurrent twin of the same request could have caused."""
    return isinstance(exc, IntegrityError | Conflict | Forbidden | NotFound)


def _transition(
    scope: Scope,
    order_id: int,
    action_name: str,
    body: dict[str, Any],
    key: str | None = None,
    digest: str | None = None,
) -> WorkOrder:
    action = ACTIONS.get(action_name)
    if action is None:
        raise NotFound("work_order.unknown_action", "不支持该工单操作")
    order = _load(order_id, scope)
    seen = order.state
    if seen not in action.sources:
        raise Conflict(
            "work_order.invalid_transition",
            f"工单当前为「{STATE_NAMES[seen]}」，不能{action.label}",
            details={
                "state": seen,
                "action": action.name,
                "allowed_from": list(action.sources),
            },
        )
    _check_who(action, scope, order)
    report = order.report
    category = db.session.get(ReportCategory, order.category_id)
    note = (body.get("note") or "").strip() or None
    photo_ids = body.get("photo_ids") or []
    handler = globals()[f"_do_{action.name}"]
    event_extra = handler(scope, order, report, category, note, photo_ids, body) or {}
    # Only one of two concurrent actors gets here with the state it saw.
    changed = db.session.execute(
        update(WorkOrder)
        .where(WorkOrder.id == order.id, WorkOrder.state == seen)
        .values(state=action.target)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise Conflict("work_order.state_changed", "工单状态刚刚发生了变化，请刷新后重试")
    order.state = report.status = action.target
    visibility = event_extra.pop("visibility", "public")
    event_note = event_extra.pop("note", note)
    record(
        report,
        action.name,
        actor=scope.user,
        actor_role=scope.role,
        order=order,
        from_state=seen,
        to_state=action.target,
        note=event_note,
        data=event_extra or None,
        visibility=visibility,
        photo_ids=photo_ids,
        idempotency_key=key,
        request_hash=digest,
    )
    return order


def _assign_target(scope: Scope, body: dict[str, Any]) -> tuple[int, int | None]:
    """(owning unit id, assignee id) from a dispatch body: a staff member or a unit."""
    if body.get("assignee_id"):
        binding = db.session.execute(
            select(StaffBinding).where(
                StaffBinding.user_id == body["assignee_id"], StaffBinding.revoked_at.is_(None)
            )
        ).scalar_one_or_none()
        if binding is None or not scope.covers(binding.org_unit):
            raise NotFound(
                "work_order.assignee_not_found", "找不到该工作人员，或不在您的管辖范围内"
            )
        return binding.org_unit_id, binding.user_id
    unit_id = _require(body.get("unit_id"), "target_required", "请选择派往的网格或工作人员")
    try:
        unit = scope.ensure(unit_id)
    except NotFound:
        raise NotFound("work_order.unit_not_found", "找不到该单位，或不在您的管辖范围内") from None
    return unit.id, on_duty_worker(unit.id)


def _move(order: WorkOrder, unit_id: int) -> None:
    """The order now belongs to `unit_id`; the unit it was escalated to (督办) keeps watching
    only if the new owner is in its subtree."""
    order.org_unit_id = unit_id
    if order.escalated_unit_id is None:
        return
    watcher = db.session.get(OrgUnit, order.escalated_unit_id)
    if not db.session.get(OrgUnit, unit_id).path.startswith(watcher.path):
        order.escalated_unit_id = None


def _dispatch(scope, order, report, category, body, label: str) -> dict:
    unit_id, assignee = _assign_target(scope, body)
    _move(order, unit_id)
    order.assignee_id = assignee
    order.dispatcher_id, order.dispatcher_unit_id = scope.user.id, scope.unit.id
    order.dispatched_at = utcnow()
    title = f"{label}：{category.name}"
    text = (report.address or report.description or category.name)[:40]
    common = {"page": staff_page(order.id), "data": _data(report, category, order)}
    if assignee is not None:
        integrations.notify_user(
            assignee,
            "work_order_assigned",
            title=title,
            body=text,
            dedupe_key=f"wo:{order.id}:assigned:{assignee}:{order.dispatched_at.isoformat()}",
            **common,
        )
    else:
        integrations.notify_unit(
            unit_id,
            "work_order_assigned",
            title=title,
            body=text,
            dedupe_key=f"wo:{order.id}:assigned:u{unit_id}:{order.dispatched_at.isoformat()}",
            **common,
        )
    unit = db.session.get(OrgUnit, unit_id)
    return {"unit_id": unit_id, "unit_name": unit.name, "assignee_id": assignee}


def _do_dispatch(scope, order, report, category, note, photo_ids, body):
    return _dispatch(scope, order, report, category, body, "派单")


def _do_reassign(scope, order, report, category, note, photo_ids, body):
    _require(note, "note_required", "改派请填写原因")
    extra = _dispatch(scope, order, report, category, body, "改派")
    extra["clock"] = "时限不变"
    return extra


def _do_accept(scope, order, report, category, note, photo_ids, body):
    now = utcnow()
    if order.assignee_id is None:
        order.assignee_id = scope.user.id
    if order.accepted_at is None:
        order.accepted_at = now
        order.accepted_late = now > order.accept_due_at
    _tell_reporter(report, category, order, "report_status", "您反映的问题已有网格员接单")
    return {}


def _do_start(scope, order, report, category, note, photo_ids, body):
    return {}


def _do_resolve(scope, order, report, category, note, photo_ids, body):
    _require(note, "note_required", "办结请填写处理结果")
    _require(photo_ids, "photo_required", "办结请至少上传一张处理后的照片")
    now = utcnow()
    order.resolved_at = now
    order.resolved_late = now > order.resolve_due_at
    if order.assignee_id is None:
        order.assignee_id = scope.user.id
    _tell_reporter(report, category, order, "report_status", "您反映的问题已处理完毕")
    integrations.notify_user(
        report.reporter_id,
        "report_feedback_request",
        title="请为处理结果评价",
        body=f"{category.name}已办结，请您评价",
        page=report_page(report.id),
        data=_data(report, category, order),
        dedupe_key=f"report:{report.id}:feedback:{order.reopen_count}",
    )
    award_clue_points(report, category, order, resolver_id=scope.user.id)
    return {}


def _do_return(scope, order, report, category, note, photo_ids, body):
    _require(note, "reason_required", "退回请说明原因（如：不属于本辖区）")
    current = order.org_unit_id
    back_to = order.dispatcher_unit_id
    if back_to is None or back_to == current:
        back_to = _parent(current).id
    if order.return_count >= 1:  # a second bounce goes to the street for arbitration
        back_to = _street(current).id
        order.is_flagged, order.flag_reason = True, "returned_twice"
    order.return_count += 1
    _move(order, back_to)
    order.assignee_id = None
    unit = db.session.get(OrgUnit, back_to)
    integrations.notify_unit(
        back_to,
        "work_order_new",
        title=f"工单被退回：{category.name}",
        body=note[:40],
        page=staff_page(order.id),
        data=_data(report, category, order),
        dedupe_key=f"wo:{order.id}:returned:{order.return_count}",
    )
    return {"unit_id": back_to, "unit_name": unit.name, "clock": "时限不变"}


def _do_hold(scope, order, report, category, note, photo_ids, body):
    _require(note, "reason_required", "挂起请说明原因")
    until = _require(body.get("hold_until"), "hold_until_required", "请填写预计恢复处置的时间")
    now = utcnow()
    if until.tzinfo is not None:
        until = until.astimezone(dt.UTC).replace(tzinfo=None)
    if until <= now or until > now + dt.timedelta(days=MAX_HOLD_DAYS):
        raise DomainError(
            "work_order.invalid_hold_until", f"恢复时间应在现在之后 {MAX_HOLD_DAYS} 天以内", 422
        )
    order.hold_until, order.hold_started_at = until, now
    return {"hold_until": isoformat(until)}


def _do_resume(scope, order, report, category, note, photo_ids, body):
    return resume_extension(order)


def resume_extension(order: WorkOrder) -> dict:
    """Move the resolve deadline by the time on hold (stated in the timeline, never silent)."""
    now = utcnow()
    held = now - (order.hold_started_at or now)
    order.resolve_due_at += held
    order.hold_until = order.hold_started_at = None
    hours = round(held.total_seconds() / 3600, 1)
    return {"clock": f"处置时限顺延 {hours} 小时", "extended_hours": hours}


def _do_reject(scope, order, report, category, note, photo_ids, body):
    _require(note, "reason_required", "不予受理请说明原因")
    _tell_reporter(report, category, order, "report_status", f"不予受理：{note}"[:40])
    if order.reopen_count:  # paid on a resolution before 'not fixed' reopened it
        reverse_clue_points(report, category)
    return {}


def _do_close(scope, order, report, category, note, photo_ids, body):
    _require(note, "note_required", "请记录回访情况")
    order.closed_at = utcnow()
    return {}


def _do_merge(scope, order, report, category, note, photo_ids, body):
    into_id = _require(body.get("into_id"), "into_required", "请选择要合并到的工单")
    if into_id == order.id:
        raise DomainError("work_order.merge_self", "不能合并到自己", 422)
    survivor = db.session.get(WorkOrder, into_id)
    if survivor is None or not scope.covers(db.session.get(OrgUnit, survivor.org_unit_id)):
        raise NotFound("work_order.not_found", "找不到要合并到的工单")
    if survivor.state in ("merged", "rejected", "closed"):
        raise Conflict("work_order.merge_target_closed", "目标工单已结束，不能合并到它")
    target = survivor.report
    if target.moderation != "pass":  # its followers could not open it (services.visible_report)
        message = (
            "目标工单内容未通过审核，不能合并到它"
            if target.moderation == "risky"
            else "目标工单内容待审核，审核通过后再合并"
        )
        raise Conflict(
            "work_order.merge_target_held", message, details={"moderation": target.moderation}
        )
    report.merged_into_id = target.id
    order.closed_at = utcnow()
    followers = db.session.execute(
        select(ReportFollower).where(ReportFollower.report_id == report.id)
    ).scalars()
    following = set(
        db.session.execute(
            select(ReportFollower.user_id).where(ReportFollower.report_id == target.id)
        ).scalars()
    )
    for follower in list(followers):
        if follower.user_id not in following:
            db.session.add(
                ReportFollower(report_id=target.id, user_id=follower.user_id, kind="merged")
            )
            following.add(follower.user_id)
        integrations.notify_user(
            follower.user_id,
            "report_merged",
            title="您反映的问题已合并处理",
            body=f"与 {target.report_no} 为同一问题，将一并处理",
            page=report_page(target.id),
            data=_data(target, category, survivor),
            dedupe_key=f"report:{report.id}:merged:{follower.user_id}",
        )
    record(
        target,
        "merge_in",
        actor=scope.user,
        actor_role=scope.role,
        order=survivor,
        note=f"合并了同一问题的反映 {report.report_no}",
        data={"merged_report_id": report.id},
    )
    return {"into_report_id": target.id, "into_report_no": target.report_no}


def _tell_reporter(report, category, order, kind, body: str) -> None:
    integrations.notify_user(
        report.reporter_id,
        kind,
        title=f"{category.name}处理进度",
        body=body,
        page=report_page(report.id),
        data=_data(report, category, order),
        dedupe_key=f"report:{report.id}:{kind}:{order.state}:{order.reopen_count}:{body[:8]}",
    )


CLUE_SOURCES = ("report", "report_confirm")


def _merged_in(report_id: int) -> list[Any]:
    """(id, reporter_id, reporter_role) of the reports merged into this one, also through
    reports merged into those."""
    found: list[Any] = []
    seen, frontier = {report_id}, [report_id]
    while frontier:
        rows = db.session.execute(
            select(Report.id, Report.reporter_id, Report.reporter_role).where(
                Report.merged_into_id.in_(frontier)
            )
        ).all()
        rows = [r for r in rows if r.id not in seen]
        seen.update(r.id for r in rows)
        found += rows
        frontier = [r.id for r in rows]
    return found


def award_clue_points(
    report: Report, category: ReportCategory, order: WorkOrder, resolver_id: int | None = None
) -> None:
    """Resolved clue: full points to the first reporter, a small award to confirmers (once).

    Riders earn them, by the role a report was filed with (not the one its reporter has
    switched to since). One clue pays once: a follower brought in by merging a report that
    paid already (resolved, reopened 'not fixed', then merged) earns nothing more here.
    Nor does whoever resolved it (staff also registered as a rider): handling one's own
    clue is the job, and a clue paid to its handler needs no second person."""
    from server.points.models import LedgerEntry

    if not category.points_apply:
        return
    followers = db.session.execute(
        select(ReportFollower, User.citizen_role)
        .join(User, User.id == ReportFollower.user_id)
        .where(ReportFollower.report_id == report.id)
    ).all()
    merged_in = [f.user_id for f, _ in followers if f.kind == "merged"]
    merged = _merged_in(report.id) if merged_in else []
    filed_as = {row.reporter_id: row.reporter_role for row in merged}
    paid: set[int] = set()
    if merged:
        paid = set(
            db.session.execute(
                select(LedgerEntry.user_id).where(
                    LedgerEntry.user_id.in_(merged_in),
                    LedgerEntry.source_type.in_(CLUE_SOURCES),
                    LedgerEntry.source_id.in_([str(row.id) for row in merged]),
                )
            ).scalars()
        )
    for follower, role in followers:
        if follower.user_id == resolver_id:
            continue
        if follower.kind == "reporter":
            role = report.reporter_role
        elif follower.kind == "merged":
            if follower.user_id in paid:
                continue
            role = filed_as.get(follower.user_id, role)
        if role != "rider":
            continue
        if follower.kind == "reporter":
            integrations.award(
                follower.user_id,
                "clue_accepted",
                org_unit_id=report.org_unit_id,
                source_type="report",
                source_id=report.id,
                reason=f"线索办结：{category.name}",
            )
        else:
            integrations.award(
                follower.user_id,
                "clue_confirmed",
                org_unit_id=report.org_unit_id,
                source_type="report_confirm",
                source_id=report.id,
                reason=f"线索确认：{category.name}",
            )


def reverse_clue_points(report: Report, category: ReportCategory) -> None:
    """A clue rejected (不予受理) after it was paid (resolved, reopened 'not fixed', returned,
    then rejected) earns nothing: compensating ledger entries take back its clue awards, as
    far as the balance allows (spent points are not clawed back into a negative balance)."""
    from server.points.models import LedgerEntry
    from server.points.services import apply_points, lock_account

    followers = select(ReportFollower.user_id).where(ReportFollower.report_id == report.id)
    entries = db.session.execute(
        select(LedgerEntry)
        .where(
            LedgerEntry.user_id.in_(followers),  # the ledger's (user, source) key, not a scan
            LedgerEntry.source_type.in_(CLUE_SOURCES),
            LedgerEntry.source_id == str(report.id),
            LedgerEntry.delta > 0,
        )
        .order_by(LedgerEntry.user_id, LedgerEntry.id)
    ).scalars()
    for entry in list(entries):
        account = lock_account(entry.user_id)
        amount = min(entry.delta, account.balance)
        if amount <= 0:
            continue
        apply_points(
            entry.user_id,
            -amount,
            reason=f"线索不予受理，收回积分：{category.name}",
            source_type=f"{entry.source_type}_reversal",
            source_id=report.id,
            org_unit_id=entry.org_unit_id,
            account=account,
        )


# Orders a staff member was handling, handed back when they leave the unit: the states in
# which the order waits on its assignee.
HANDED_BACK_FROM = ("dispatched", "accepted", "in_progress", "on_hold")


def on_staff_binding_ended(user_id: int, now_bound: StaffBinding | None) -> None:
    """A staff member was unbound, or bound elsewhere (server.STAFF_BINDING_ENDED, in the
    org domain's transaction; no commit). Every order still assigned to them that their
    binding no longer covers goes back to be dispatched again: `returned`, in the unit it
    was in, no assignee, its deadlines unchanged (a hold is closed as 恢复处置 closes it), and
    whoever dispatches there is told. Left assigned, it waited on someone who can no longer
    open it until it ran overdue."""
    orders = db.session.execute(
        select(WorkOrder)
        .where(WorkOrder.assignee_id == user_id, WorkOrder.state.in_(HANDED_BACK_FROM))
        .order_by(WorkOrder.id)
        .with_for_update(of=WorkOrder)
    ).scalars()
    for order in list(orders):
        unit = db.session.get(OrgUnit, order.org_unit_id)
        if now_bound is not None and (
            now_bound.role == "admin" or unit.path.startswith(now_bound.org_unit.path)
        ):
            continue  # still theirs to handle
        _hand_back(order)


def _hand_back(order: WorkOrder) -> None:
    seen = order.state
    extra: dict[str, Any] = {"clock": "时限不变"}
    if seen == "on_hold":
        extra.update(resume_extension(order))
    order.assignee_id = None
    order.state = order.report.status = "returned"
    report = order.report
    category = db.session.get(ReportCategory, order.category_id)
    record(
        report,
        "handed_back",
        actor=None,
        actor_role="system",
        order=order,
        from_state=seen,
        to_state="returned",
        note="经办人员已不在岗，工单退回待重新派单",
        data=extra,
    )
    dispatcher = order.dispatcher_unit_id or order.org_unit_id
    integrations.notify_unit(
        dispatcher,
        "work_order_new",
        title=f"待重新派单：{category.name}",
        body=f"经办人员已不在岗，工单 {report.report_no} 退回待派",
        page=staff_page(order.id),
        data=_data(report, category, order),
        dedupe_key=f"wo:{order.id}:handed_back:{utcnow().isoformat()}",
    )
