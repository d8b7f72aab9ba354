"""Filing reports (idempotent), duplicates and '+1', comments, feedback, reading them back."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from server.auth.guards import active_binding
from server.auth.models import User
from server.clock import local, utcnow
from server.errors import Conflict, DomainError, Forbidden, NotFound
from server.extensions import db
from server.geo import distance_m
from server.http import key_reused, paginate
from server.org.models import OrgUnit
from server.reports import integrations
from server.reports.categories import category_for_street, get_category, street_of
from server.reports.models import OPEN_STATES, Report, ReportCategory, ReportFollower, WorkOrder
from server.reports.moderation import check_text
from server.reports.routing import route_report
from server.reports.workflow import open_order, record, report_page, staff_page
from server.uploads.models import Upload
from server.uploads.services import attach_uploads

MAX_PHOTOS = 6
DUPLICATE_DAYS = 7
MAX_DUPLICATES = 5
REOPEN_LIMIT = 1


def _not_found() -> NotFound:
    return NotFound("report.not_found", "找不到该问题反映，可能已被删除或您无权查看")


def _home(user: User) -> OrgUnit | None:
    return db.session.get(OrgUnit, user.community_id) if user.community_id else None


def _by_key(user_id: int, key: str) -> Report | None:
    return db.session.execute(
        select(Report).where(Report.reporter_id == user_id, Report.idempotency_key == key)
    ).scalar_one_or_none()


def request_hash(data: dict[str, Any]) -> str:
    """What a report request asks for, as a hash: the same report sent again (a retry) hashes
    the same, whitespace around its text and the order of its photos aside."""
    lat, lng = data.get("lat"), data.get("lng")
    body = {
        "category_id": data.get("category_id"),
        "description": (data.get("description") or "").strip(),
        "lat": None if lat is None else round(float(lat), 6),
        "lng": None if lng is None else round(float(lng), 6),
        "address": (data.get("address") or "").strip() or None,
        "photo_ids": sorted(data.get("photo_ids") or []),
        "anonymous": bool(data.get("anonymous")),
        "self_handled": bool(data.get("self_handled")),
    }
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _replay(existing: Report, digest: str) -> tuple[Report, list[tuple[Report, float]], bool]:
    """The report first filed under a key, for a retry of the same request; another report
    under that key is refused (409 `idempotency.key_reused`). A report from before hashes were
    kept (NULL) is answered as before."""
    if existing.request_hash is not None and existing.request_hash != digest:
        raise key_reused("问题反映")
    return existing, _dups(existing), False


def possible_duplicates(
    category: ReportCategory, lat: float | None, lng: float | None, exclude_id: int | None = None
) -> list[tuple[Report, float]]:
    """Open reports of the same category within the category's radius in the last days."""
    if lat is None or lng is None:
        return []
    radius = category.duplicate_radius_m
    dlat = radius / 111_000
    dlng = radius / (111_000 * max(math.cos(math.radians(lat)), 0.01))
    rows = db.session.execute(
        select(Report)
        .join(ReportCategory, ReportCategory.id == Report.category_id)
        .where(
            ReportCategory.code == category.code,
            Report.status.in_((*OPEN_STATES, "resolved")),
            Report.merged_into_id.is_(None),
            Report.submitted_at >= utcnow() - dt.timedelta(days=DUPLICATE_DAYS),
            Report.lat.between(lat - dlat, lat + dlat),
            Report.lng.between(lng - dlng, lng + dlng),
            Report.id != (exclude_id or 0),
        )
    ).scalars()
    near = [(r, distance_m(lat, lng, r.lat, r.lng)) for r in rows]
    near = [(r, d) for r, d in near if d <= radius]
    return sorted(near, key=lambda pair: pair[1])[:MAX_DUPLICATES]


def _validate(data: dict[str, Any]) -> None:
    if len(data.get("photo_ids") or []) > MAX_PHOTOS:
        raise DomainError("report.too_many_photos", f"最多上传 {MAX_PHOTOS} 张照片", 422)
    if not (data.get("description") or "").strip() and not data.get("photo_ids"):
        raise DomainError("report.content_required", "请描述问题或上传照片", 422)
    if data.get("lat") is None and not (data.get("address") or "").strip():
        raise DomainError("report.location_required", "请在地图上选择位置或填写地址", 422)


def _file(user: User, report: Report, data: dict[str, Any], category: ReportCategory) -> None:
    """Route, check, attach and open the work order for a report being filed (no commit)."""
    lat, lng = data.get("lat"), data.get("lng")
    unit, how = route_report(lat, lng, _home(user))
    category = category_for_street(category, street_of(unit))
    description = (data.get("description") or "").strip()
    address = (data.get("address") or "").strip() or None
    # the address is shown to every citizen as the description is: one check for both
    suggest, label = check_text(user.openid, "\n".join(t for t in (description, address) if t))
    now = utcnow()
    report.category_id = category.id
    report.description = description
    report.lat, report.lng = lat, lng
    report.address = address
    report.org_unit_id, report.routing = unit.id, how
    report.is_anonymous = bool(data.get("anonymous"))
    report.is_self_handled = bool(data.get("self_handled"))
    report.moderation, report.moderation_label = suggest, label
    report.moderation_checked_at = now if suggest != "pending" else None
    report.submitted_at = now
    report.reporter_role = user.citizen_role
    db.session.flush()
    report.report_no = report.report_no or f"{local(now):%y%m%d}{report.id:05d}"
    if data.get("photo_ids"):
        attach_uploads(user.id, data["photo_ids"], "report", report.id)
    if not db.session.execute(
        select(ReportFollower.id).where(
            ReportFollower.report_id == report.id, ReportFollower.user_id == user.id
        )
    ).first():
        db.session.add(ReportFollower(report_id=report.id, user_id=user.id, kind="reporter"))
    record(
        report,
        "submit",
        actor=user,
        actor_role=user.citizen_role,
        note=None,
        data={"routing": how, "unit": unit.name},
    )
    if report.is_self_handled:
        report.status = "self_handled"
        record(report, "self_handled", actor=user, actor_role=user.citizen_role)
        # paid at once (no one checks a self-handled clue), so never for content WeChat's
        # check judged risky (held from everyone but staff)
        if (
            user.citizen_role == "rider"
            and category.points_apply
            and data.get("photo_ids")
            and report.moderation != "risky"
        ):
            integrations.award(
                user.id,
                "clue_self_handled",
                org_unit_id=unit.id,
                source_type="report_self_handled",
                source_id=report.id,
                reason=f"小事自处理：{category.name}",
            )
    else:
        open_order(report, category, unit)


def submit_report(
    user: User, data: dict[str, Any], key: str | None
) -> tuple[Report, list[tuple[Report, float]], bool]:
    """File a report once per Idempotency-Key: (report, possible duplicates, created).

    A retry under the key answers with the first report; another report under it is a 409."""
    digest = request_hash(data)
    if key:
        existing = _by_key(user.id, key)
        if existing is not None:
            return _replay(existing, digest)
    _validate(data)
    category = get_category(data["category_id"])
    report = Report(
        reporter_id=user.id,
        reporter_role=user.citizen_role,
        status="received",
        channel="app",
        idempotency_key=key,
        request_hash=digest if key else None,
    )
    try:
        db.session.add(report)
        db.session.flush()  # a concurrent twin with the same key fails here
        _file(user, report, data, category)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = _by_key(user.id, key) if key else None
        if existing is None:
            raise
        return _replay(existing, digest)
    except Exception:
        db.session.rollback()
        raise
    _count_submitted()
    return report, _dups(report), True


def _count_submitted() -> None:
    from server.ops.metrics import REPORTS

    REPORTS.labels(event="submitted").inc()


def _dups(report: Report) -> list[tuple[Report, float]]:
    if report.category is None:
        return []
    return possible_duplicates(report.category, report.lat, report.lng, exclude_id=report.id)


def submit_draft(user: User, report_id: int, data: dict[str, Any]) -> Report:
    """Complete and file a draft (one started by messaging the official account)."""
    report = db.session.execute(
        select(Report).where(Report.id == report_id).with_for_update(of=Report)
    ).scalar_one_or_none()
    if report is None or report.reporter_id != user.id:
        raise _not_found()
    if report.status != "draft":
        raise Conflict("report.not_draft", "该问题已提交，无需重复提交")
    merged = {
        "description": data.get("description") or report.description,
        # null is "not given" (a client's unset field), never an order to erase the place
        # the resident sent in WeChat
        "lat": report.lat if data.get("lat") is None else data["lat"],
        "lng": report.lng if data.get("lng") is None else data["lng"],
        "address": data.get("address") or report.address,
        "photo_ids": data.get("photo_ids") or [],
        "anonymous": data.get("anonymous", False),
        "self_handled": data.get("self_handled", False),
    }
    have_photos = db.session.execute(
        select(func.count(Upload.id)).where(Upload.ref_type == "report", Upload.ref_id == report.id)
    ).scalar_one()
    if have_photos + len(merged["photo_ids"]) > MAX_PHOTOS:
        raise DomainError("report.too_many_photos", f"最多上传 {MAX_PHOTOS} 张照片", 422)
    _validate({**merged, "photo_ids": merged["photo_ids"] or ([0] if have_photos else [])})
    category = get_category(data["category_id"])
    try:
        _file(user, report, merged, category)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    _count_submitted()
    return report


def plus_one(user: User, report_id: int) -> Report:
    """'+1': I see the same problem (instead of filing a duplicate); once per person."""
    report = visible_report(user, report_id)[0]
    if report.status not in (*OPEN_STATES, "resolved"):
        raise Conflict("report.not_open", "该问题已结束，如仍存在请重新反映")
    if report.reporter_id == user.id:
        raise Conflict("report.own_report", "这是您自己反映的问题")
    try:
        db.session.add(ReportFollower(report_id=report.id, user_id=user.id, kind="confirm"))
        record(report, "plus_one", actor=user, actor_role=user.citizen_role, visibility="reporter")
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("report.already_following", "您已确认过该问题") from None
    return report


def add_comment(user: User, report_id: int, text: str, photo_ids: list[int]) -> Report:
    """A message on a report between its reporter and the staff handling it (a thread only
    they read: '+1' followers and other citizens may not post into it)."""
    report, kind = visible_report(user, report_id)
    if kind == "public":
        raise Forbidden("report.comment_not_allowed", "只有反映人和处理人员可以留言")
    if kind == "follower":
        raise Forbidden(
            "report.comment_not_allowed",
            "留言仅限反映人和处理人员之间沟通；您已关注该问题，可以随时查看处理进度",
        )
    if kind != "staff":
        suggest, _ = check_text(user.openid, text)
        if suggest == "risky":
            raise DomainError("report.comment_risky", "留言内容未通过安全检查，请修改后再发", 422)
    role = active_binding(user).role if kind == "staff" else user.citizen_role
    record(
        report,
        "comment",
        actor=user,
        actor_role=role,
        note=text,
        visibility="reporter",
        photo_ids=photo_ids,
    )
    if kind == "staff":
        integrations.notify_user(
            report.reporter_id,
            "report_status",
            title="工作人员回复了您的反映",
            body=text[:40],
            page=report_page(report.id),
            data={"report_no": report.report_no, "status": report.status},
        )
    elif report.work_order is not None:
        integrations.notify_unit(
            report.work_order.org_unit_id,
            "work_order_new",
            title=f"反映人留言：{report.report_no}",
            body=text[:40],
            page=staff_page(report.work_order.id),
            data={"report_no": report.report_no, "status": report.status},
        )
    db.session.commit()
    return report


def give_feedback(
    user: User, report_id: int, stars: int, comment: str | None, fixed: bool
) -> Report:
    """The reporter rates the handling; 'not fixed' reopens it once and flags the street.

    The comment goes into the public timeline only when WeChat's text check passes it; a
    risky one is refused (422 `report.feedback_comment_risky`); one not judged yet (review,
    or WeChat unavailable) is kept for the reporter and staff, off the public timeline."""
    report = db.session.get(Report, report_id)
    if report is None or report.reporter_id != user.id:
        raise _not_found()
    comment = (comment or "").strip() or None
    suggest = check_text(user.openid, comment)[0] if comment else "pass"
    if suggest == "risky":
        raise DomainError(
            "report.feedback_comment_risky", "评价内容未通过安全检查，请修改后再提交", 422
        )
    order = db.session.execute(
        select(WorkOrder).where(WorkOrder.report_id == report.id).with_for_update(of=WorkOrder)
    ).scalar_one_or_none()
    if order is None or order.state not in ("resolved", "closed"):
        raise Conflict("report.feedback_not_open", "问题办结后才能评价")
    if report.feedback_at is not None and order.state == "closed":
        raise Conflict("report.feedback_given", "您已评价过，感谢您的反馈")
    now = utcnow()
    report.feedback_stars, report.feedback_comment, report.feedback_at = stars, comment, now
    seen = order.state
    street = street_of(db.session.get(OrgUnit, order.org_unit_id))
    # the event is public (the state change is): its note only once the text passed the check
    note = comment if suggest == "pass" else None
    held = {"comment": comment, "comment_moderation": suggest} if comment and note is None else {}
    if not fixed and order.reopen_count < REOPEN_LIMIT:
        category = db.session.get(ReportCategory, order.category_id)
        order.reopen_count += 1
        report.not_fixed_count += 1
        order.state = report.status = "in_progress"
        order.resolved_at = order.closed_at = None
        order.resolve_due_at = now + dt.timedelta(hours=category.resolve_hours)
        order.clock_restarted_at = now  # the SLA ratio runs from here, not from created_at
        order.resolve_warn = 0
        order.is_flagged, order.flag_reason = True, "not_fixed"
        order.escalated_unit_id = street.id
        report.feedback_at = None  # a new rating is asked after the next resolution
        record(
            report,
            "reopen",
            actor=user,
            actor_role=user.citizen_role,
            order=order,
            from_state=seen,
            to_state="in_progress",
            note=note,
            data={"stars": stars, "fixed": False, "clock": "重新计时", **held},
        )
        integrations.notify_unit(
            street.id,
            "work_order_escalated",
            title="群众反映问题未解决",
            body=f"工单 {report.report_no} 已重新处理，请督办",
            page=staff_page(order.id),
            data={"report_no": report.report_no, "status": "处置中"},
            dedupe_key=f"wo:{order.id}:reopen:{order.reopen_count}",
        )
        if order.assignee_id:
            integrations.notify_user(
                order.assignee_id,
                "work_order_assigned",
                title="工单被重新打开",
                body=(comment or "反映人表示问题未解决")[:40],
                page=staff_page(order.id),
                dedupe_key=f"wo:{order.id}:reopen-assignee:{order.reopen_count}",
            )
    else:
        order.state = report.status = "closed"
        order.closed_at = order.closed_at or now
        if not fixed:
            order.is_flagged, order.flag_reason = True, "not_fixed_again"
            order.escalated_unit_id = street.id
        record(
            report,
            "feedback",
            actor=user,
            actor_role=user.citizen_role,
            order=order,
            from_state=seen,
            to_state="closed",
            note=note,
            data={"stars": stars, "fixed": fixed, **held},
        )
    db.session.commit()
    return report


def staff_unit_covers(user: User, unit_ids: list[int | None]) -> str | None:
    """The user's staff role if their binding covers any of these units."""
    binding = active_binding(user)
    if binding is None:
        return None
    if binding.role == "admin":
        return binding.role
    for unit_id in unit_ids:
        unit = db.session.get(OrgUnit, unit_id) if unit_id else None
        if unit is not None and unit.path.startswith(binding.org_unit.path):
            return binding.role
    return None


def staff_units(report: Report, order: WorkOrder | None) -> list[int | None]:
    """The units whose staff see and act on a report as staff: those its work order is with
    now (where it was dispatched or moved, where it was escalated) — as for the order itself
    (staff.get_order). Not where it was filed: once the street moves an order from community
    A to B, A's staff are outside it (B's notes, an anonymous reporter's name). A report
    without an order (handled by the rider themselves) belongs to the unit it was filed in."""
    if order is not None:
        return [order.org_unit_id, order.escalated_unit_id]
    return [report.org_unit_id]


def visible_report(user: User, report_id: int) -> tuple[Report, str]:
    """(report, how the user sees it): owner | staff | follower | public; else 404."""
    report = db.session.get(Report, report_id)
    if report is None:
        raise _not_found()
    if report.reporter_id == user.id:
        return report, "owner"
    if report.status == "draft":
        raise _not_found()
    if staff_unit_covers(user, staff_units(report, report.work_order)):
        return report, "staff"
    if report.moderation != "pass":  # held (risky) or not yet judged: only reporter and staff
        raise _not_found()
    follows = db.session.execute(
        select(ReportFollower.id).where(
            ReportFollower.report_id == report.id, ReportFollower.user_id == user.id
        )
    ).first()
    return report, "follower" if follows else "public"


def my_reports(user: User, page: int, page_size: int, status: str | None = None) -> dict:
    """The user's own reports, newest first."""
    stmt = select(Report).where(Report.reporter_id == user.id)
    if status:
        stmt = stmt.where(Report.status == status)
    return paginate(stmt.order_by(Report.id.desc()), page, page_size)


def categories_near(user: User, args: dict[str, Any]) -> list[ReportCategory]:
    """The categories of the street at a location, a community, or the user's community."""
    from server.reports.categories import categories_for
    from server.reports.routing import route_point

    unit = None
    if args.get("lat") is not None and args.get("lng") is not None:
        unit = route_point(args["lat"], args["lng"], _home(user))[0]
    elif args.get("community_id"):
        unit = db.session.get(OrgUnit, args["community_id"])
    else:
        unit = _home(user)
    return categories_for(unit)


def nearby(category_id: int, lat: float, lng: float) -> list[tuple[Report, float]]:
    """Open reports of this category close to a point (to '+1' instead of filing again)."""
    return possible_duplicates(get_category(category_id), lat, lng)
