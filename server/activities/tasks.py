"""Periodic jobs (see server.PERIODIC_JOBS): idempotent, safe to run on several nodes at once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from server import pages
from server.activities import effects
from server.activities.attendance import auto_sign_out_due
from server.activities.models import Activity, Enrolment
from server.activities.services import finish_due
from server.clock import isoformat, utcnow
from server.extensions import db

REMIND_AHEAD = dt.timedelta(hours=2)


def auto_sign_out() -> int:
    """Sign out at the end whoever forgot, then mark ended activities finished."""
    done = auto_sign_out_due()
    finish_due()
    return done


def send_reminders() -> int:
    """Remind the enrolled about two hours before the start (each activity once per start
    time: moving it clears `reminded_at`)."""
    now = utcnow()
    due_now = (
        Activity.status == "published",
        Activity.reminded_at.is_(None),
        Activity.starts_at > now,
        Activity.starts_at <= now + REMIND_AHEAD,
    )
    due = db.session.execute(select(Activity.id).where(*due_now)).scalars()
    sent = 0
    for activity_id in list(due):
        # Claim the activity: only the node whose UPDATE wins sends its reminders, and only
        # while it is still due (not cancelled, nor moved, since the SELECT).
        claimed = db.session.execute(
            update(Activity)
            .where(Activity.id == activity_id, *due_now)
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            db.session.rollback()
            continue
        activity = db.session.get(Activity, activity_id, populate_existing=True)
        people = db.session.execute(
            select(Enrolment.user_id).where(
                Enrolment.activity_id == activity_id, Enrolment.status == "enrolled"
            )
        ).scalars()
        for user_id in people:
            effects.notify_user(
                user_id,
                "activity_reminder",
                title="活动即将开始",
                body=f"「{activity.title}」将于 {isoformat(activity.starts_at)[11:16]} "
                f"在{activity.place}开始，到场后请扫码签到",
                page=pages.ACTIVITY_DETAIL.format(id=activity.id),
                data={
                    "activity": activity.title,
                    "starts_at": isoformat(activity.starts_at),
                    "place": activity.place,
                },
                dedupe_key=f"activity_reminder:{activity.id}:{user_id}:"
                f"{activity.starts_at:%Y%m%d%H%M}",
            )
            sent += 1
        db.session.commit()
    return sent
