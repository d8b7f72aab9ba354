"""Attendance: QR sign-in and sign-out on site, automatic sign-out, staff confirmation.

Rules (shown to staff in the admin docs):
- The scan window opens `ACTIVITY_SIGNIN_EARLY_MINUTES` (30) before the start and closes at
  the end. The first scan signs in; a later one signs out only once the person has been
  there `ACTIVITY_MIN_STAY_MINUTES` (10) of the activity's own time, counted from
  max(sign-in, start). Any earlier scan (every scan before the start among them: a lost
  answer scanned again, staff asking everyone to scan) is a repeat sign-in (409
  `attendance.already_signed_in`), never a sign-out.
- Attended time = min(sign-out, end) − max(sign-in, start); credited (service) time is the
  attended time, never more than the activity's service hours (or its scheduled duration
  when none are set): 0 for an activity that gives no service hours (a job fair).
- Whoever is still signed in at the end is signed out automatically at the end time (by the
  scheduler, or by their own late scan), by the same rules.
- Points (the activity's own, else the post's duty points, else the `activity_attendance`
  rule) go through the ledger once per person and activity, and only when some of the
  scheduled time was attended (whatever the service hours credited).
- A cancelled activity (it may be cancelled until its end) did not take place: whoever is
  still signed in is signed out at the cancellation with no time credited and no points, so
  it shows in neither their service hours nor a certificate. The cancellation does this in
  its transaction; the scheduler closes any sign-in that raced it the same way (never with
  the full time to the scheduled end). Those who had already signed out before the
  cancellation keep what they were credited then.
- Only an enrolled place is credited: a cancelled enrolment is never signed out with time or
  points, nor counted in service hours (a cancellation cannot take a sign-in with it: it
  is refused once the person has signed in).
- Once anyone has signed in, the activity's start and end cannot be changed (409
  `activity.attendance_started`): cancel it and create a new one instead. A sign-in takes
  the activity's lock, as an edit does, so one of the two sees the other.
- Staff confirmation (from the enrolment list) is for those who took part but could not
  scan: it is accepted only once the activity has ended (409 `attendance.not_ended` before
  then, so whoever is still on site signs out with their own scan), and credits the time
  from their sign-in (the start when they never scanned) to the end, by the rule above.
  It also mends a sign-out before the start that an earlier version of these rules made of
  a repeat scan (no time, no points): reopened and credited like an open sign-in.
  Staff cannot confirm their own attendance (403 `attendance.self_confirmation`: a grant
  needs a second person); the whole request is refused before anything is confirmed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app
from sqlalchemy import case, or_, select, update

from server.activities import effects
from server.activities.models import Activity, Enrolment
from server.activities.services import ActivityNotFound, get_for_staff, lock_activity
from server.auth.guards import Scope
from server.auth.models import User
from server.clock import isoformat, utcnow
from server.errors import Conflict, DomainError
from server.extensions import db
from server.geo import distance_m
from server.stations.scenes import parse_scene, verify_scene

MAX_ACCURACY_ALLOWANCE_M = 100


def _setting(name: str, default: int) -> int:
    return int(current_app.config.get(name, default))


def attended_minutes(activity: Activity, signed_in_at: dt.datetime, out_at: dt.datetime) -> int:
    """Minutes present within the scheduled time."""
    start = max(signed_in_at, activity.starts_at)
    end = min(out_at, activity.ends_at)
    return max(0, int((end - start).total_seconds() // 60))


def credited_minutes(activity: Activity, signed_in_at: dt.datetime, out_at: dt.datetime) -> int:
    """Minutes within the scheduled time, capped at the activity's service hours."""
    return min(attended_minutes(activity, signed_in_at, out_at), activity.cap_minutes)


def points_for(activity: Activity) -> tuple[int, str | None]:
    """(points, rule code): the activity's own, else its post's duty points, else the rule."""
    if activity.points is not None:
        return activity.points, None
    if activity.post_id is not None:
        from server.posts.models import Post

        post = db.session.get(Post, activity.post_id)
        if post is not None:
            return post.duty_points, effects.POST_DUTY_RULE
    return (
        effects.rule_default(activity.org_unit_id, effects.ATTENDANCE_RULE),
        effects.ATTENDANCE_RULE,
    )


def _complete(activity: Activity, enrolment: Enrolment, out_at: dt.datetime, method: str) -> bool:
    """Sign out once (a conditional UPDATE), record the hours and award the points."""
    attended = attended_minutes(activity, enrolment.signed_in_at, out_at)
    minutes = min(attended, activity.cap_minutes)
    result = db.session.execute(
        update(Enrolment)
        .where(
            Enrolment.id == enrolment.id,
            Enrolment.status == "enrolled",
            Enrolment.signed_in_at.is_not(None),
            Enrolment.signed_out_at.is_(None),
        )
        .values(signed_out_at=out_at, service_minutes=minutes, sign_out_method=method)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    awarded = 0
    if attended > 0:  # also with no service hours to credit (service_hours 0)
        points, rule = points_for(activity)
        entry = effects.award(
            enrolment.user_id,
            points,
            reason=f"参加活动「{activity.title}」",
            source_type="activity",
            source_id=activity.id,
            org_unit_id=activity.org_unit_id,
            rule=rule,
        )
        # What the ledger got: the rule's daily cap can cut the award below `points`.
        awarded = entry.delta if entry is not None else 0
    db.session.execute(
        update(Enrolment)
        .where(Enrolment.id == enrolment.id)
        .values(points_awarded=awarded)
        .execution_options(synchronize_session=False)
    )
    return True


def _result(action: str, activity: Activity, enrolment: Enrolment) -> dict[str, Any]:
    db.session.refresh(enrolment)
    minutes = enrolment.service_minutes
    return {
        "action": action,
        "activity": {"id": activity.id, "title": activity.title, "ends_at": activity.ends_at},
        "enrolment_id": enrolment.id,
        "signed_in_at": enrolment.signed_in_at,
        "signed_out_at": enrolment.signed_out_at,
        "sign_out_method": enrolment.sign_out_method,
        "service_minutes": minutes,
        "service_hours": None if minutes is None else round(minutes / 60, 2),
        "points_awarded": enrolment.points_awarded,
    }


def _activity_from_scene(scene: str) -> Activity:
    kind, object_id, _ = parse_scene(scene)
    if kind != "a":
        raise DomainError(
            "attendance.not_activity_code",
            "这是驿站的二维码，活动签到请扫描活动现场的签到码",
            400,
        )
    activity = db.session.get(Activity, object_id)
    if activity is None or activity.status == "draft":
        raise ActivityNotFound()
    if not verify_scene(scene, activity.qr_secret):
        raise DomainError(
            "attendance.code_expired",
            "签到码已失效，请扫描现场最新张贴的签到码或联系工作人员",
            400,
        )
    return activity


def _check_location(activity: Activity, lat: float, lng: float, accuracy: float | None) -> None:
    distance = distance_m(lat, lng, activity.lat, activity.lng)
    allowance = min(max(accuracy or 0.0, 0.0), MAX_ACCURACY_ALLOWANCE_M)
    if distance - allowance > activity.radius_m:
        raise DomainError(
            "attendance.out_of_range",
            f"您距离活动地点约 {round(distance)} 米，请到{activity.place}现场后再扫码",
            400,
            {"distance_m": round(distance), "radius_m": activity.radius_m},
        )


def _check_enrolled(enrolment: Enrolment | None) -> None:
    if enrolment is None or enrolment.status == "cancelled":
        raise DomainError(
            "attendance.not_enrolled", "您没有报名该活动，请先报名或联系现场工作人员", 403
        )
    if enrolment.status == "waitlisted":
        raise DomainError(
            "attendance.waitlisted", "您还在候补名单中，尚未获得名额，请联系现场工作人员", 403
        )


def _check_open(activity: Activity, now: dt.datetime) -> None:
    """Refuse a sign-in outside the scan window, or to a cancelled activity."""
    if activity.status == "cancelled":
        raise Conflict("activity.cancelled", "该活动已取消，无需签到")
    if now >= activity.ends_at:
        raise Conflict("attendance.closed", "活动已结束，签到已关闭")
    opens_at = activity.starts_at - dt.timedelta(
        minutes=_setting("ACTIVITY_SIGNIN_EARLY_MINUTES", 30)
    )
    if now < opens_at:
        raise DomainError(
            "attendance.too_early",
            f"签到将于 {isoformat(opens_at)[11:16]} 开始，请到时再扫码",
            400,
            {"opens_at": isoformat(opens_at)},
        )


def scan(user: User, scene: str, lat: float, lng: float, accuracy: float | None) -> dict[str, Any]:
    """Sign in with the first scan on site, sign out with a later one (see the rules above)."""
    activity = _activity_from_scene(scene)
    now = utcnow()
    if activity.status == "cancelled":
        raise Conflict("activity.cancelled", "该活动已取消，无需签到")
    enrolment = db.session.execute(
        select(Enrolment).where(Enrolment.activity_id == activity.id, Enrolment.user_id == user.id)
    ).scalar_one_or_none()
    _check_enrolled(enrolment)
    if enrolment.signed_out_at is not None:
        raise Conflict("attendance.already_signed_out", "您已签退，本次活动的时长和积分已记录")
    if now >= activity.ends_at and enrolment.signed_in_at is not None:
        # A late scan does what the automatic sign-out would: out at the end.
        _complete(activity, enrolment, activity.ends_at, "auto")
        db.session.commit()
        return _result("signed_out", activity, enrolment)
    _check_open(activity, now)
    _check_location(activity, lat, lng, accuracy)
    if enrolment.signed_in_at is None:
        # Under the activity's lock, as an edit of its times (services.update_activity): the
        # edit either sees this sign-in and keeps the times, or has moved them before this
        # reads them afresh here, and the window is checked again against what they are now.
        activity = lock_activity(activity.id)
        _check_open(activity, now)
        result = db.session.execute(
            update(Enrolment)
            .where(
                Enrolment.id == enrolment.id,
                Enrolment.status == "enrolled",
                Enrolment.signed_in_at.is_(None),
            )
            .values(signed_in_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if result.rowcount == 1:
            return _result("signed_in", activity, enrolment)
        # A concurrent scan signed in first, or the person cancelled their enrolment meanwhile.
        db.session.refresh(enrolment)
        _check_enrolled(enrolment)
        if enrolment.signed_in_at is None:  # not signed in, yet no longer matched: re-enrolled
            raise Conflict("attendance.retry", "签到状态刚刚发生变化，请重新扫码")
    # The stay counts from the start for an early sign-in: before the start, and in the first
    # minutes after it, a scan is a repeat sign-in, never a sign-out with (next to) no time.
    stay_from = max(enrolment.signed_in_at, activity.starts_at)
    if now < stay_from + dt.timedelta(minutes=_setting("ACTIVITY_MIN_STAY_MINUTES", 10)):
        raise Conflict(
            "attendance.already_signed_in",
            "您已签到成功；活动结束离开时再扫码签退",
            details={"signed_in_at": isoformat(enrolment.signed_in_at)},
        )
    if not _complete(activity, enrolment, now, "scan"):
        db.session.rollback()
        raise Conflict("attendance.already_signed_out", "您已签退，本次活动的时长和积分已记录")
    db.session.commit()
    return _result("signed_out", activity, enrolment)


def close_cancelled(activity: Activity, enrolment_id: int | None = None) -> int:
    """Sign out the open sign-ins of a cancelled activity (or just `enrolment_id`'s) at the
    cancellation, with no time credited and no points (see the rules above); in the caller's
    transaction. How many were closed."""
    at = activity.cancelled_at or utcnow()
    conditions = [
        Enrolment.activity_id == activity.id,
        Enrolment.signed_in_at.is_not(None),
        Enrolment.signed_out_at.is_(None),
    ]
    if enrolment_id is not None:
        conditions.append(Enrolment.id == enrolment_id)
    result = db.session.execute(
        update(Enrolment)
        .where(*conditions)
        .values(
            # a sign-in that raced the cancellation is closed when it happened, not before
            signed_out_at=case((Enrolment.signed_in_at > at, Enrolment.signed_in_at), else_=at),
            service_minutes=0,
            points_awarded=0,
            sign_out_method="auto",
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def auto_sign_out_due(now: dt.datetime | None = None) -> int:
    """Sign out, at the end time, everyone still signed in to an activity that has ended;
    close, unpaid, whoever is still signed in to a cancelled one."""
    now = now or utcnow()
    rows = db.session.execute(
        select(Enrolment.id, Enrolment.activity_id)
        .join(Activity, Activity.id == Enrolment.activity_id)
        .where(
            or_(Activity.ends_at <= now, Activity.status == "cancelled"),
            Enrolment.status == "enrolled",
            Enrolment.signed_in_at.is_not(None),
            Enrolment.signed_out_at.is_(None),
        )
        .order_by(Enrolment.id)
        .limit(500)
    ).all()
    done = 0
    for enrolment_id, activity_id in rows:
        activity = db.session.get(Activity, activity_id, populate_existing=True)
        if activity.status == "cancelled":
            done += close_cancelled(activity, enrolment_id)
        else:
            enrolment = db.session.get(Enrolment, enrolment_id)
            if _complete(activity, enrolment, activity.ends_at, "auto"):
                done += 1
        db.session.commit()
    return done


def _reopen_sign_out_before_the_start(activity: Activity, enrolment_id: int) -> None:
    """Undo a scan's sign-out before the start (a repeat scan an earlier version of the rules
    took for one: no time, no points), so that the confirmation credits it as attended. The
    current rules never sign out by scan before the start, and only uncredited rows qualify:
    nothing paid is ever paid again (nor could it be: the ledger pays a source once)."""
    db.session.execute(
        update(Enrolment)
        .where(
            Enrolment.id == enrolment_id,
            Enrolment.sign_out_method == "scan",
            Enrolment.signed_out_at <= activity.starts_at,
            Enrolment.service_minutes == 0,
            or_(Enrolment.points_awarded.is_(None), Enrolment.points_awarded == 0),
        )
        .values(signed_out_at=None, service_minutes=None, sign_out_method=None, points_awarded=None)
        .execution_options(synchronize_session=False)
    )


def confirm(scope: Scope, activity_id: int, enrolment_ids: list[int]) -> list[dict[str, Any]]:
    """Staff confirm attendance from the list, once the activity has ended: signed in at the
    start (unless they scanned), out at the end (see the rules above)."""
    get_for_staff(scope, activity_id)
    # Under the activity's lock, as its cancellation: one that was still running when this
    # request came is seen here (and none can follow: confirmation waits for the end, after
    # which an activity can no longer be cancelled).
    activity = lock_activity(activity_id)
    if activity.status not in ("published", "finished"):
        raise Conflict("attendance.activity_not_open", "活动未发布或已取消，不能确认出勤")
    now = utcnow()
    if now < activity.starts_at:
        raise Conflict("attendance.not_started", "活动开始后才能确认出勤")
    if now < activity.ends_at:
        # Before the end a person on site signs out with their own scan (or at the end).
        raise Conflict(
            "attendance.not_ended",
            "活动结束后才能补录签到；仍在现场的人员请在离开时扫码签退",
            details={"ends_at": isoformat(activity.ends_at)},
        )
    enrolments = db.session.execute(
        select(Enrolment).where(
            Enrolment.activity_id == activity.id, Enrolment.id.in_(enrolment_ids)
        )
    ).scalars()
    found = {enrolment.id: enrolment for enrolment in enrolments}
    if any(enrolment.user_id == scope.user.id for enrolment in found.values()):
        raise DomainError(
            "attendance.self_confirmation",
            "不能为自己补录签到，请由其他工作人员办理",
            403,
        )
    results = []
    for enrolment_id in enrolment_ids:
        enrolment = found.get(enrolment_id)
        if enrolment is None or enrolment.status != "enrolled":
            results.append({"enrolment_id": enrolment_id, "outcome": "not_enrolled"})
            continue
        db.session.execute(
            update(Enrolment)
            .where(Enrolment.id == enrolment.id, Enrolment.signed_in_at.is_(None))
            .values(signed_in_at=activity.starts_at)
            .execution_options(synchronize_session=False)
        )
        _reopen_sign_out_before_the_start(activity, enrolment.id)
        db.session.refresh(enrolment)
        if _complete(activity, enrolment, activity.ends_at, "staff"):
            db.session.execute(
                update(Enrolment)
                .where(Enrolment.id == enrolment.id)
                .values(confirmed_by_id=scope.user.id)
                .execution_options(synchronize_session=False)
            )
            outcome = "confirmed"
        else:
            outcome = "already_signed_out"
        db.session.commit()
        db.session.refresh(enrolment)
        results.append(
            {
                "enrolment_id": enrolment_id,
                "outcome": outcome,
                "service_minutes": enrolment.service_minutes,
                "points_awarded": enrolment.points_awarded,
            }
        )
    return results
