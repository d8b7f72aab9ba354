"""How a report looks to each viewer: its reporter, a follower, another citizen, staff.

Other citizens see the public view: no reporter identity when anonymous, actors by role
(never by name), only photos that passed WeChat's check, no internal notes. A staff action's
note is shown only to its audience (`Action.note_for`): the handling result to everyone, the
reason for not accepting and the 回访 record to the reporter, other notes to staff only.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from server.auth.models import User
from server.extensions import db
from server.reports.models import STATUS_NAMES, Report, ReportEvent, ReportFollower, WorkOrder
from server.reports.workflow import ACTIONS, ROLE_LABELS, clock_of
from server.uploads.models import Upload
from server.uploads.services import signed_url, uploads_for

EVENT_NAMES = {
    **{name: action.label for name, action in ACTIONS.items()},
    "submit": "提交反映",
    "receive": "进入待受理",
    "auto_dispatch": "自动派单",
    "self_handled": "已自行处理",
    "comment": "留言",
    "feedback": "评价",
    "reopen": "反映未解决，重新处理",
    "plus_one": "有人反映了同一问题",
    "merge_in": "合并同类反映",
    "overdue_warning": "即将超时",
    "overdue": "已超时",
    "escalate": "督办升级",
    "auto_resume": "挂起到期，恢复处置",
    "handed_back": "经办人员变动，待重新派单",
}
VISIBLE = {
    "staff": ("public", "reporter", "staff"),
    "owner": ("public", "reporter"),
    "follower": ("public",),
    "public": ("public",),
}


def photo_view(upload: Upload, viewer: str, viewer_id: int | None) -> dict[str, Any] | None:
    """A photo as this viewer may see it, or None when it is not for them."""
    if viewer == "staff":
        audience = "staff"
    elif upload.owner_id == viewer_id or (viewer == "owner" and upload.moderation != "risky"):
        audience = "owner"
    elif upload.moderation == "pass":
        audience = "public"
    else:
        return None
    view = {
        "id": upload.id,
        "url": signed_url(upload, "full", audience),
        "thumb_url": signed_url(upload, "thumb", audience),
        "width": upload.width,
        "height": upload.height,
    }
    if viewer in ("staff", "owner"):
        view["moderation"] = upload.moderation
    return view


def _photos(uploads: list[Upload], viewer: str, viewer_id: int | None) -> list[dict]:
    return [p for p in (photo_view(u, viewer, viewer_id) for u in uploads) if p is not None]


def _for_viewer(event: ReportEvent, viewer: str) -> bool:
    """Whether this viewer reads what the event's actor wrote and attached (staff actions:
    `note_for`; a photo goes with its note — a 回访 record's, a hold's)."""
    action = ACTIONS.get(event.action)
    return action is None or action.note_for in VISIBLE[viewer]


def timeline(report: Report, viewer: str, viewer_id: int | None) -> list[dict[str, Any]]:
    events = list(
        db.session.execute(
            select(ReportEvent)
            .where(ReportEvent.report_id == report.id, ReportEvent.visibility.in_(VISIBLE[viewer]))
            .order_by(ReportEvent.created_at, ReportEvent.id)
        ).scalars()
    )
    photos = uploads_for("report_event", [e.id for e in events])
    names: dict[int, str | None] = {}
    if viewer == "staff":
        ids = {e.actor_id for e in events if e.actor_id}
        names = {
            u.id: u.display_name
            for u in db.session.execute(select(User).where(User.id.in_(ids))).scalars()
        }
    items = []
    for event in events:
        by_reporter = event.actor_id == report.reporter_id and event.actor_id is not None
        shown = _for_viewer(event, viewer)
        item = {
            "id": event.id,
            "action": event.action,
            "action_name": EVENT_NAMES.get(event.action, event.action),
            "from_state": event.from_state,
            "to_state": event.to_state,
            "state_name": STATUS_NAMES.get(event.to_state or "", None),
            "actor_role": event.actor_role,
            "actor_role_name": "反映人"
            if by_reporter and viewer != "staff"
            else ROLE_LABELS.get(event.actor_role, "工作人员"),
            "note": event.note if shown else None,
            "photos": _photos(photos.get(event.id, []), viewer, viewer_id) if shown else [],
            "created_at": event.created_at,
        }
        if by_reporter and report.is_anonymous and viewer in ("public", "follower"):
            item["actor_role_name"] = "反映人"
        if viewer == "staff":
            item["actor_id"] = event.actor_id
            item["actor_name"] = names.get(event.actor_id)
            item["data"] = event.data
        items.append(item)
    return items


def _reporter(report: Report, viewer: str) -> dict[str, Any]:
    user = db.session.get(User, report.reporter_id)
    role = ROLE_LABELS.get(report.reporter_role, "居民")
    if viewer in ("public", "follower") and report.is_anonymous:
        return {"anonymous": True, "name": "匿名", "role_name": role}
    view = {"anonymous": report.is_anonymous, "name": user.display_name or role, "role_name": role}
    if viewer == "staff":
        view["id"] = user.id
    return view


def category_view(report: Report) -> dict[str, Any] | None:
    c = report.category
    if c is None:
        return None
    return {"id": c.id, "code": c.code, "name": c.name, "icon": c.icon, "hint": c.hint}


def confirm_count(report_id: int) -> int:
    return db.session.execute(
        select(func.count(ReportFollower.id)).where(
            ReportFollower.report_id == report_id, ReportFollower.kind != "reporter"
        )
    ).scalar_one()


def report_summary(
    report: Report, viewer: str, viewer_id: int | None, uploads: list[Upload] | None = None
) -> dict[str, Any]:
    """A list item: what the viewer may see, first photo as the thumbnail. `uploads`: the
    report's photos when the caller loaded a page's at once (else read here)."""
    if uploads is None:
        uploads = uploads_for("report", [report.id])[report.id]
    photos = _photos(uploads, viewer, viewer_id)
    held = report.moderation != "pass" and viewer in ("public", "follower")
    return {
        "id": report.id,
        "report_no": report.report_no,
        "status": report.status,
        "status_name": STATUS_NAMES.get(report.status, report.status),
        "category": category_view(report),
        "description": None if held else report.description,
        "address": report.address,
        "lat": report.lat,
        "lng": report.lng,
        "thumb_url": photos[0]["thumb_url"] if photos else None,
        "created_at": report.submitted_at or report.created_at,
    }


def report_detail(report: Report, viewer: str, viewer_id: int | None) -> dict[str, Any]:
    """The report with its timeline, as `viewer` (owner|follower|public|staff) may see it."""
    view = report_summary(report, viewer, viewer_id)
    view["photos"] = _photos(uploads_for("report", [report.id])[report.id], viewer, viewer_id)
    view["reporter"] = _reporter(report, viewer)
    view["timeline"] = timeline(report, viewer, viewer_id)
    view["confirm_count"] = confirm_count(report.id)
    view["is_self_handled"] = report.is_self_handled
    view["viewer"] = viewer
    order: WorkOrder | None = report.work_order
    if order is not None:
        clock = clock_of(order)
        view["clock"] = {
            "phase": clock["phase"],
            "due_at": clock["due_at"],
            "level": clock["level"],
        }
    if report.merged_into_id:
        target = db.session.get(Report, report.merged_into_id)
        view["merged_into"] = {"id": target.id, "report_no": target.report_no}
    if viewer in ("owner", "staff"):
        view["is_anonymous"] = report.is_anonymous
        view["moderation"] = report.moderation
        view["channel"] = report.channel
        view["feedback"] = (
            {
                "stars": report.feedback_stars,
                "comment": report.feedback_comment,
                "at": report.feedback_at,
            }
            if report.feedback_stars is not None
            else None
        )
        view["can_give_feedback"] = (
            viewer == "owner"
            and order is not None
            and order.state in ("resolved", "closed")
            and not (report.feedback_at is not None and order.state == "closed")
        )
    if viewer == "staff" and order is not None:
        view["work_order_id"] = order.id
    return view
