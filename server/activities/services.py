"""Activities: staff management, the public list, enrolment with capacity and a waitlist."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, case, func, or_, select, update

from server import pages
from server.activities import effects
from server.activities.locks import lock_row
from server.activities.models import Activity, Enrolment
from server.auth.guards import Scope
from server.auth.models import User
from server.clock import isoformat, local, utcnow
from server.errors import Conflict, DomainError, NotFound
from server.extensions import db
from server.org.models import OrgUnit, subtree_ids
from server.stations.scenes import make_scene, new_secret

MANAGER_ROLE = "community_admin"
EDITABLE_FIELDS = (
    "title",
    "kind",
    "description",
    "place",
    "lat",
    "lng",
    "radius_m",
    "starts_at",
    "ends_at",
    "signup_deadline",
    "capacity",
    "points",
    "service_hours",
    "audience",
    "cover_url",
    "cover_upload_id",
    "post_id",
)


class ActivityNotFound(NotFound):
    code = "activity.not_found"
    message = "找不到该活动，可能已被删除，请返回活动列表刷新"


def _get(activity_id: int) -> Activity:
    activity = db.session.get(Activity, activity_id)
    if activity is None:
        raise ActivityNotFound()
    return activity


def lock_activity(activity_id: int) -> Activity:
    """The activity, locked until commit (enrolment counters change under this lock)."""
    return lock_row(Activity, activity_id, "next_seq", ActivityNotFound())


# ---- staff -------------------------------------------------------------------------------


def _check_times(values: dict[str, Any]) -> None:
    starts, ends = values["starts_at"], values["ends_at"]
    if ends <= starts:
        raise DomainError("activity.invalid_time", "结束时间须晚于开始时间，请修改活动时间", 422)
    deadline = values.get("signup_deadline")
    if deadline is not None and deadline > ends:
        raise DomainError(
            "activity.invalid_deadline", "报名截止时间不能晚于活动结束时间，请修改", 422
        )


def _check_post(scope: Scope, post_id: int | None) -> None:
    if post_id is None:
        return
    from server.posts.models import Post

    post = db.session.get(Post, post_id)
    if post is None or not scope.covers(post.org_unit):
        raise NotFound("post.not_found", "找不到该岗位，请确认岗位属于您管理的社区")


def create_activity(scope: Scope, data: dict[str, Any]) -> Activity:
    """Create a draft activity in a unit of the caller's subtree."""
    unit = scope.ensure(data["org_unit_id"], MANAGER_ROLE)
    _check_times(data)
    _check_post(scope, data.get("post_id"))
    activity = Activity(
        org_unit_id=unit.id,
        qr_secret=new_secret(),
        created_by_id=scope.user.id,
        status="draft",
        **{key: data.get(key) for key in EDITABLE_FIELDS if key in data},
    )
    activity.kind = data.get("kind") or "other"
    activity.audience = data.get("audience") or "all"
    db.session.add(activity)
    db.session.flush()
    _attach_cover(scope, activity, data.get("cover_upload_id"))
    db.session.commit()
    return activity


def _attach_cover(scope: Scope, activity: Activity, upload_id: int | None) -> None:
    """The cover must be the caller's own upload, unused elsewhere (404 / 409 otherwise)."""
    if upload_id is None:
        return
    from server.uploads.services import attach_uploads

    try:
        attach_uploads(scope.user.id, [upload_id], "activity_cover", activity.id)
    except Exception:
        db.session.rollback()
        raise


def get_for_staff(scope: Scope, activity_id: int) -> Activity:
    """An activity in the caller's subtree (404 outside it)."""
    activity = _get(activity_id)
    if not scope.covers(activity.org_unit):
        raise ActivityNotFound()
    return activity


def update_activity(scope: Scope, activity_id: int, data: dict[str, Any]) -> Activity:
    """Edit a draft or published activity; a larger capacity promotes from the waitlist, new
    times are told to everyone signed up (and reminded again before the new start)."""
    activity = get_for_staff(scope, activity_id)
    scope.ensure(activity.org_unit, MANAGER_ROLE)
    activity = lock_activity(activity_id)
    if activity.status not in ("draft", "published"):
        raise Conflict("activity.not_editable", "活动已取消或已结束，不能再修改")
    merged = {key: data.get(key, getattr(activity, key)) for key in EDITABLE_FIELDS}
    _check_times(merged)
    moved = (merged["starts_at"], merged["ends_at"]) != (activity.starts_at, activity.ends_at)
    if moved and _anyone_signed_in(activity.id):
        # Credited time is measured against the schedule: moving it would credit an open
        # sign-in with a session the person never attended (or cut what they did attend).
        raise Conflict(
            "activity.attendance_started",
            "已有人签到，不能再修改活动时间；如需改期，请取消本活动后重新创建",
        )
    if "post_id" in data:
        _check_post(scope, data.get("post_id"))
    if merged["capacity"] < activity.enrolled_count:
        raise Conflict(
            "activity.capacity_below_enrolled",
            f"已有 {activity.enrolled_count} 人报名，名额不能少于已报名人数",
            details={"enrolled_count": activity.enrolled_count},
        )
    if data.get("cover_upload_id") and data["cover_upload_id"] != activity.cover_upload_id:
        _attach_cover(scope, activity, data["cover_upload_id"])
    for key in EDITABLE_FIELDS:
        if key in data:
            setattr(activity, key, data[key])
    if moved:
        activity.reminded_at = None  # the reminder goes out again before the new start
    if activity.status == "published":
        _promote(activity, activity.capacity - activity.enrolled_count)
        if moved:
            _notify_rescheduled(activity)
    db.session.commit()
    return activity


def _signed_up(activity: Activity) -> list[int]:
    """Everyone holding a place or waiting for one: who is told of a change."""
    return list(
        db.session.execute(
            select(Enrolment.user_id).where(
                Enrolment.activity_id == activity.id,
                Enrolment.status.in_(("enrolled", "waitlisted")),
            )
        ).scalars()
    )


def _notify_rescheduled(activity: Activity) -> None:
    """Tell everyone enrolled or waitlisted the new time (under the activity lock)."""
    starts, ends = local(activity.starts_at), local(activity.ends_at)
    when = f"{starts.month}月{starts.day}日 {starts:%H:%M}"
    until = (
        f"{ends:%H:%M}"
        if ends.date() == starts.date()
        else f"{ends.month}月{ends.day}日 {ends:%H:%M}"
    )
    moved_to = (
        f"{activity.starts_at:%Y%m%d%H%M}-{activity.ends_at:%Y%m%d%H%M}@{utcnow():%Y%m%d%H%M%S}"
    )
    for user_id in _signed_up(activity):
        effects.notify_user(
            user_id,
            "activity_rescheduled",
            title="活动时间变更",
            body=f"您报名的「{activity.title}」时间改为 {when}～{until}，地点{activity.place}，"
            "请按新时间参加",
            page=pages.ACTIVITY_DETAIL.format(id=activity.id),
            data={
                "activity": activity.title,
                "status": "时间变更",
                "reason": f"改至{when}",
                "starts_at": isoformat(activity.starts_at),
                "ends_at": isoformat(activity.ends_at),
            },
            # this move (the new times, when): each later one is told, also one back to a
            # time told before
            dedupe_key=f"activity_rescheduled:{activity.id}:{user_id}:{moved_to}",
        )


def _anyone_signed_in(activity_id: int) -> bool:
    return (
        db.session.execute(
            select(Enrolment.id)
            .where(Enrolment.activity_id == activity_id, Enrolment.signed_in_at.is_not(None))
            .limit(1)
        ).first()
        is not None
    )


def publish_activity(scope: Scope, activity_id: int) -> Activity:
    """Open a draft for enrolment."""
    activity = get_for_staff(scope, activity_id)
    scope.ensure(activity.org_unit, MANAGER_ROLE)
    activity = lock_activity(activity_id)
    if activity.status == "published":
        db.session.commit()
        return activity
    if activity.status != "draft":
        raise Conflict("activity.not_draft", "只有草稿状态的活动可以发布")
    if activity.ends_at <= utcnow():
        raise Conflict("activity.already_over", "活动结束时间已过，请修改时间后再发布")
    activity.status = "published"
    activity.published_at = utcnow()
    db.session.commit()
    return activity


def cancel_activity(scope: Scope, activity_id: int, reason: str | None) -> Activity:
    """Cancel an activity and notify everyone enrolled or waitlisted; whoever is signed in
    is signed out now, unpaid (attendance's rules)."""
    from server.activities.attendance import close_cancelled  # attendance imports this module

    activity = get_for_staff(scope, activity_id)
    scope.ensure(activity.org_unit, MANAGER_ROLE)
    activity = lock_activity(activity_id)
    if activity.status == "cancelled":
        db.session.commit()
        return activity
    if activity.status == "finished" or activity.ends_at <= utcnow():
        raise Conflict("activity.already_finished", "活动已结束，不能取消")
    was_published = activity.status == "published"
    activity.status = "cancelled"
    activity.cancelled_at = utcnow()
    activity.cancel_reason = reason
    close_cancelled(activity)
    if was_published:
        for user_id in _signed_up(activity):
            effects.notify_user(
                user_id,
                "activity_cancelled",
                title="活动已取消",
                body=f"您报名的「{activity.title}」已取消：{reason or '组织方调整安排'}",
                page=pages.ACTIVITY_DETAIL.format(id=activity.id),
                data={
                    "activity": activity.title,
                    "status": "已取消",
                    "reason": reason or "安排调整",
                },
                dedupe_key=f"activity_cancelled:{activity.id}:{user_id}",
            )
    db.session.commit()
    return activity


def rotate_qr(scope: Scope, activity_id: int) -> Activity:
    """A new QR secret: every code printed before stops working."""
    activity = get_for_staff(scope, activity_id)
    scope.ensure(activity.org_unit, MANAGER_ROLE)
    activity.qr_secret = new_secret()
    db.session.commit()
    return activity


def qr_scene(activity: Activity) -> str:
    return make_scene("a", activity.id, activity.qr_secret)


def list_for_staff(scope: Scope, args: dict[str, Any]) -> Select:
    """Activities in the caller's subtree, newest start first."""
    stmt = select(Activity).where(scope.clause(Activity.org_unit_id))
    if args.get("status"):
        stmt = stmt.where(Activity.status == args["status"])
    if args.get("kind"):
        stmt = stmt.where(Activity.kind == args["kind"])
    if args.get("org_unit_id"):
        unit = scope.ensure(args["org_unit_id"])
        stmt = stmt.where(_in_subtree(unit))
    return stmt.order_by(Activity.starts_at.desc(), Activity.id.desc())


def enrolments_for_staff(scope: Scope, activity_id: int, status: str | None) -> Select:
    """Enrolments of an activity with the people's names, in order of arrival."""
    activity = get_for_staff(scope, activity_id)
    stmt = (
        select(Enrolment, User)
        .join(User, User.id == Enrolment.user_id)
        .where(Enrolment.activity_id == activity.id)
        .order_by(Enrolment.seq)
    )
    if status:
        stmt = stmt.where(Enrolment.status == status)
    return stmt


def enrolment_rows(scope: Scope, activity_id: int, status: str | None) -> list[dict[str, Any]]:
    """Every enrolment of an activity as flat rows (for the CSV export)."""
    rows = db.session.execute(enrolments_for_staff(scope, activity_id, status)).all()
    return [enrolment_row(enrolment, user) for enrolment, user in rows]


def enrolment_row(enrolment: Enrolment, user: User) -> dict[str, Any]:
    return {
        "id": enrolment.id,
        "user_id": user.id,
        "display_name": user.display_name,
        "citizen_role": user.citizen_role,
        "platform": user.platform,
        "phone": user.phone_masked,
        "status": enrolment.status,
        "seq": enrolment.seq,
        "enrolled_at": enrolment.enrolled_at,
        "signed_in_at": enrolment.signed_in_at,
        "signed_out_at": enrolment.signed_out_at,
        "sign_out_method": enrolment.sign_out_method,
        "service_minutes": enrolment.service_minutes,
        "points_awarded": enrolment.points_awarded,
    }


def csv_lines(rows: list[dict[str, Any]]) -> list[list[Any]]:
    header = [
        "序号",
        "姓名",
        "身份",
        "平台",
        "手机",
        "状态",
        "报名时间",
        "签到",
        "签退",
        "时长(分钟)",
        "积分",
    ]
    lines: list[list[Any]] = [header]
    names = {"enrolled": "已报名", "waitlisted": "候补", "cancelled": "已取消"}
    for row in rows:
        lines.append(
            [
                row["seq"],
                row["display_name"] or "",
                "骑手" if row["citizen_role"] == "rider" else "居民",
                row["platform"] or "",
                row["phone"] or "",
                names.get(row["status"], row["status"]),
                isoformat(row["enrolled_at"]) or "",
                isoformat(row["signed_in_at"]) or "",
                isoformat(row["signed_out_at"]) or "",
                row["service_minutes"] if row["service_minutes"] is not None else "",
                row["points_awarded"] if row["points_awarded"] is not None else "",
            ]
        )
    return lines


# ---- public ------------------------------------------------------------------------------


def _in_subtree(unit: OrgUnit):
    return Activity.org_unit_id.in_(subtree_ids(unit))


def list_public(args: dict[str, Any]) -> Select:
    """Published (and recently cancelled or finished) activities: upcoming first by start."""
    now = utcnow()
    stmt = select(Activity).where(Activity.status.in_(("published", "cancelled", "finished")))
    if args.get("community_id"):
        unit = db.session.get(OrgUnit, args["community_id"])
        if unit is None:
            raise NotFound("org.unknown_unit", "找不到该社区，请重新选择")
        # The community's own activities, its grids', and those of the street above it.
        ancestors = [int(part) for part in unit.path.strip("/").split("/") if part]
        stmt = stmt.where(or_(_in_subtree(unit), Activity.org_unit_id.in_(ancestors)))
    if args.get("kind"):
        stmt = stmt.where(Activity.kind == args["kind"])
    if args.get("lat") is not None and args.get("lng") is not None:
        radius = args.get("radius_m") or 5000
        dlat = radius / 111_000
        dlng = radius / (111_000 * 0.82)  # cos(35°): Zhengzhou's latitude, a little generous
        stmt = stmt.where(
            Activity.lat.between(args["lat"] - dlat, args["lat"] + dlat),
            Activity.lng.between(args["lng"] - dlng, args["lng"] + dlng),
        )
    if args.get("when") == "past":
        stmt = stmt.where(Activity.ends_at < now).order_by(Activity.starts_at.desc())
    else:
        if args.get("when") == "upcoming":
            stmt = stmt.where(Activity.ends_at >= now, Activity.status == "published")
        upcoming = Activity.ends_at >= now
        stmt = stmt.order_by(
            case((upcoming, 0), else_=1),
            case((upcoming, Activity.starts_at), else_=None),
            Activity.starts_at.desc(),
        )
    return stmt.order_by(Activity.id)


def get_public(activity_id: int) -> Activity:
    """An activity anyone may see (drafts are not there)."""
    activity = _get(activity_id)
    if activity.status == "draft":
        raise ActivityNotFound()
    return activity


def my_enrolment(user: User | None, activity_id: int) -> Enrolment | None:
    if user is None:
        return None
    return db.session.execute(
        select(Enrolment).where(Enrolment.activity_id == activity_id, Enrolment.user_id == user.id)
    ).scalar_one_or_none()


def waitlist_position(enrolment: Enrolment) -> int | None:
    """1 for the first person on the waitlist; None when not waitlisted."""
    if enrolment.status != "waitlisted":
        return None
    ahead = db.session.execute(
        select(func.count()).where(
            Enrolment.activity_id == enrolment.activity_id,
            Enrolment.status == "waitlisted",
            Enrolment.seq < enrolment.seq,
        )
    ).scalar_one()
    return ahead + 1


def _check_can_enrol(user: User, activity: Activity) -> None:
    now = utcnow()
    if activity.status == "draft":
        raise ActivityNotFound()
    if activity.status == "cancelled":
        raise Conflict("activity.cancelled", "该活动已取消，请看看其他活动")
    if activity.status == "finished" or activity.ends_at <= now:
        raise Conflict("activity.finished", "该活动已结束，请看看其他活动")
    if now >= activity.effective_deadline:
        raise Conflict("activity.signup_closed", "报名已截止，请关注社区的下一场活动")
    if user.community_id is None:
        raise DomainError(
            "activity.not_registered", "请先在「我的」里完成社区报到，再报名活动", 403
        )
    if activity.audience == "riders" and user.citizen_role != "rider":
        raise DomainError("activity.riders_only", "本活动仅面向骑手，请看看其他活动", 403)
    if activity.audience == "residents" and user.citizen_role != "resident":
        raise DomainError("activity.residents_only", "本活动仅面向居民，请看看其他活动", 403)


def enrol(user: User, activity_id: int) -> tuple[Enrolment, bool]:
    """A place, or the waitlist when full: (enrolment, created); a repeat changes nothing."""
    activity = lock_activity(activity_id)
    _check_can_enrol(user, activity)
    enrolment = my_enrolment(user, activity.id)
    if enrolment is not None and enrolment.status in ("enrolled", "waitlisted"):
        db.session.commit()
        return enrolment, False
    now = utcnow()
    seq = activity.next_seq
    activity.next_seq = seq + 1
    if activity.enrolled_count < activity.capacity:
        status = "enrolled"
        activity.enrolled_count += 1
    else:
        status = "waitlisted"
        activity.waitlist_count += 1
    if enrolment is None:
        enrolment = Enrolment(activity_id=activity.id, user_id=user.id)
        db.session.add(enrolment)
    enrolment.status = status
    enrolment.seq = seq
    enrolment.enrolled_at = now
    enrolment.cancelled_at = None
    enrolment.promoted_at = None
    db.session.commit()
    return enrolment, True


def cancel_enrolment(user: User, activity_id: int) -> Enrolment:
    """Give up a place (or leave the waitlist) before the start; the first waitlisted moves up."""
    activity = lock_activity(activity_id)
    if activity.status == "draft":
        raise ActivityNotFound()
    enrolment = my_enrolment(user, activity.id)
    if enrolment is None or enrolment.status == "cancelled":
        raise NotFound("enrolment.not_found", "您没有报名该活动，无需取消")
    if enrolment.signed_in_at is not None:
        raise Conflict("enrolment.already_signed_in", "您已签到，不能再取消报名")
    if utcnow() >= activity.starts_at:
        raise Conflict(
            "enrolment.cancel_too_late", "活动已开始，不能取消报名；如无法参加请联系社区工作人员"
        )
    if not _withdraw(activity, enrolment):
        db.session.rollback()
        raise Conflict("enrolment.already_signed_in", "您已签到，不能再取消报名")
    db.session.commit()
    return enrolment


def _withdraw(activity: Activity, enrolment: Enrolment) -> bool:
    """Cancel a live enrolment under the activity's lock and give its place to the first
    waitlisted (no commit); False when it was signed in or changed meanwhile."""
    was = enrolment.status
    # Conditional (the rider's sign-in takes this lock too, but a belt to those braces): a
    # signed-in enrolment is never cancelled (nor its place given).
    result = db.session.execute(
        update(Enrolment)
        .where(
            Enrolment.id == enrolment.id,
            Enrolment.status == was,
            Enrolment.signed_in_at.is_(None),
        )
        .values(status="cancelled", cancelled_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    db.session.refresh(enrolment)
    if was == "enrolled":
        activity.enrolled_count -= 1
        if activity.status == "published":
            _promote(activity, 1)
    else:
        activity.waitlist_count -= 1
    return True


def on_account_cancelled(user: User) -> None:
    """Account cancellation (server/auth/cancellation.py): withdraw the user's enrolments in
    activities not started yet, as their own withdrawal does (the waitlist moves up); past
    attendance is kept. In the caller's transaction, one activity lock at a time, in id
    order."""
    now = utcnow()
    ids = db.session.execute(
        select(Enrolment.activity_id)
        .join(Activity, Activity.id == Enrolment.activity_id)
        .where(
            Enrolment.user_id == user.id,
            Enrolment.status.in_(("enrolled", "waitlisted")),
            Enrolment.signed_in_at.is_(None),
            Activity.starts_at > now,
        )
        .order_by(Enrolment.activity_id)
    ).scalars()
    for activity_id in list(ids):
        activity = lock_activity(activity_id)
        enrolment = my_enrolment(user, activity_id)
        if enrolment is not None and enrolment.status in ("enrolled", "waitlisted"):
            db.session.refresh(enrolment)  # as it is now, under the lock
            if enrolment.status in ("enrolled", "waitlisted") and enrolment.signed_in_at is None:
                _withdraw(activity, enrolment)


def _promote(activity: Activity, places: int) -> list[Enrolment]:
    """Move the first `places` waitlisted people up (under the activity lock), notifying them."""
    if places <= 0 or activity.waitlist_count <= 0:
        return []
    promoted = list(
        db.session.execute(
            select(Enrolment)
            .where(Enrolment.activity_id == activity.id, Enrolment.status == "waitlisted")
            .order_by(Enrolment.seq)
            .limit(places)
        ).scalars()
    )
    now = utcnow()
    for enrolment in promoted:
        enrolment.status = "enrolled"
        enrolment.promoted_at = now
        activity.enrolled_count += 1
        activity.waitlist_count -= 1
        effects.notify_user(
            enrolment.user_id,
            "activity_waitlist_promoted",
            title="候补成功",
            body=f"「{activity.title}」有名额空出，您已从候补转为正式报名，请准时参加",
            page=pages.ACTIVITY_DETAIL.format(id=activity.id),
            data={"activity": activity.title, "status": "报名成功", "reason": "候补转正"},
            dedupe_key=f"activity_promoted:{activity.id}:{enrolment.user_id}:{enrolment.seq}",
        )
    return promoted


def finish_due(now: dt.datetime | None = None) -> int:
    """Mark published activities whose end has passed as finished; how many changed."""
    now = now or utcnow()
    result = db.session.execute(
        update(Activity)
        .where(Activity.status == "published", Activity.ends_at <= now)
        .values(status="finished", finished_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount


# ---- views' shapes -------------------------------------------------------------------------


def _with_enrolment_extras(enrolment: Enrolment | None) -> Enrolment | None:
    if enrolment is not None:
        enrolment.waitlist_position = waitlist_position(enrolment)
    return enrolment


def public_page(args: dict[str, Any]) -> dict[str, Any]:
    """One page of the public list, with distances when a point was given."""
    from server.geo import distance_m
    from server.http import paginate

    result = paginate(list_public(args), args["page"], args["page_size"])
    if args.get("lat") is not None and args.get("lng") is not None:
        for activity in result["items"]:
            activity.distance_m = int(
                distance_m(args["lat"], args["lng"], activity.lat, activity.lng)
            )
    return result


def public_detail(user: User | None, activity_id: int) -> Activity:
    """An activity with `my_enrolment` for the caller."""
    activity = get_public(activity_id)
    activity.my_enrolment = _with_enrolment_extras(my_enrolment(user, activity.id))
    return activity


def enrol_view(user: User, activity_id: int) -> Enrolment:
    """Enrol and answer with the waitlist position."""
    enrolment, _ = enrol(user, activity_id)
    return _with_enrolment_extras(enrolment)


def staff_view(activity: Activity) -> Activity:
    """An activity with what staff see besides: its QR scene."""
    activity.qr_scene = qr_scene(activity)
    activity.my_enrolment = None
    return activity


def staff_page(scope: Scope, args: dict[str, Any]) -> dict[str, Any]:
    from server.http import paginate

    return paginate(list_for_staff(scope, args), args["page"], args["page_size"])


def enrolment_page(scope: Scope, activity_id: int, args: dict[str, Any]) -> dict[str, Any]:
    """One page of an activity's enrolments, flat rows with the people's names."""
    from server.http import paginate

    page = paginate(
        enrolments_for_staff(scope, activity_id, args.get("status")),
        args["page"],
        args["page_size"],
        scalars=False,
    )
    page["items"] = [enrolment_row(row["Enrolment"], row["User"]) for row in page["items"]]
    return page
