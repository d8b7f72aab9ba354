"""Service hours: a person's totals and list, and certificates staff can verify by code."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import select

from server.activities.models import Activity, Enrolment, ServiceHoursCertificate
from server.auth.models import User
from server.clock import SHANGHAI, local, local_today, utcnow
from server.errors import DomainError, NotFound
from server.extensions import db

# No 0/O, 1/I/L: codes are read aloud and typed.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MAX_PERIOD_DAYS = 366 * 5


def _credited(user_id: int):
    return (
        select(Enrolment, Activity)
        .join(Activity, Activity.id == Enrolment.activity_id)
        .where(
            Enrolment.user_id == user_id,
            Enrolment.status == "enrolled",  # a cancelled enrolment is never credited
            Enrolment.signed_out_at.is_not(None),
            Enrolment.service_minutes > 0,
        )
    )


def _row(enrolment: Enrolment, activity: Activity) -> dict[str, Any]:
    return {
        "activity_id": activity.id,
        "title": activity.title,
        "kind": activity.kind,
        "kind_name": activity.kind_name,
        "place": activity.place,
        "starts_at": activity.starts_at,
        "signed_in_at": enrolment.signed_in_at,
        "signed_out_at": enrolment.signed_out_at,
        "sign_out_method": enrolment.sign_out_method,
        "service_minutes": enrolment.service_minutes,
        "service_hours": round(enrolment.service_minutes / 60, 2),
        "points_awarded": enrolment.points_awarded,
    }


def my_service_hours(user: User, page: int, page_size: int) -> dict[str, Any]:
    """Totals per year (Shanghai time of the activity) and one page of the activities."""
    rows = db.session.execute(
        _credited(user.id).order_by(Activity.starts_at.desc(), Activity.id.desc())
    ).all()
    years: dict[int, dict[str, int]] = {}
    for enrolment, activity in rows:
        year = local(activity.starts_at).year
        bucket = years.setdefault(year, {"minutes": 0, "activity_count": 0})
        bucket["minutes"] += enrolment.service_minutes
        bucket["activity_count"] += 1
    total = sum(bucket["minutes"] for bucket in years.values())
    start = (page - 1) * page_size
    return {
        "total_minutes": total,
        "total_hours": round(total / 60, 2),
        "activity_count": len(rows),
        "years": [
            {
                "year": year,
                "minutes": bucket["minutes"],
                "hours": round(bucket["minutes"] / 60, 2),
                "activity_count": bucket["activity_count"],
            }
            for year, bucket in sorted(years.items(), reverse=True)
        ],
        "items": [_row(e, a) for e, a in rows[start : start + page_size]],
        "total": len(rows),
        "page": page,
        "page_size": page_size,
    }


def _period_bounds(date_from: dt.date, date_to: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(date_from, dt.time(), SHANGHAI)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), SHANGHAI)
    as_utc = [value.astimezone(dt.UTC).replace(tzinfo=None) for value in (start, end)]
    return as_utc[0], as_utc[1]


def _new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalise_code(code: str) -> str:
    raw = code.strip().upper().replace("-", "").replace(" ", "")
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}" if len(raw) == 12 else raw


def issue_certificate(
    user: User, date_from: dt.date | None, date_to: dt.date | None
) -> tuple[ServiceHoursCertificate, list[dict[str, Any]]]:
    """The certificate for a period (this year by default); the same figures reuse one code."""
    today = local_today()
    date_from = date_from or today.replace(month=1, day=1)
    date_to = date_to or today
    if date_from > date_to or (date_to - date_from).days > MAX_PERIOD_DAYS:
        raise DomainError(
            "certificate.invalid_period", "时间范围有误：开始日期须早于结束日期，且不超过5年", 422
        )
    if date_to > today:
        date_to = today
    start, end = _period_bounds(date_from, date_to)
    rows = db.session.execute(
        _credited(user.id)
        .where(Activity.starts_at >= start, Activity.starts_at < end)
        .order_by(Activity.starts_at)
    ).all()
    if not rows:
        raise NotFound("certificate.no_hours", "该时间段内还没有服务时长记录，请调整时间范围后再试")
    total = sum(enrolment.service_minutes for enrolment, _ in rows)
    holder = user.display_name or f"用户{user.id}"
    certificate = db.session.execute(
        select(ServiceHoursCertificate).where(
            ServiceHoursCertificate.user_id == user.id,
            ServiceHoursCertificate.period_from == date_from,
            ServiceHoursCertificate.period_to == date_to,
            ServiceHoursCertificate.total_minutes == total,
            ServiceHoursCertificate.activity_count == len(rows),
            ServiceHoursCertificate.holder_name == holder,
        )
    ).scalar_one_or_none()
    if certificate is None:
        certificate = ServiceHoursCertificate(
            code=_new_code(),
            user_id=user.id,
            holder_name=holder,
            period_from=date_from,
            period_to=date_to,
            total_minutes=total,
            activity_count=len(rows),
            issued_at=utcnow(),
        )
        db.session.add(certificate)
        db.session.commit()
    return certificate, [_row(e, a) for e, a in rows]


def verify_certificate(code: str) -> ServiceHoursCertificate:
    """The certificate with this verification code (404 when there is none)."""
    certificate = db.session.execute(
        select(ServiceHoursCertificate).where(ServiceHoursCertificate.code == normalise_code(code))
    ).scalar_one_or_none()
    if certificate is None:
        raise NotFound(
            "certificate.not_found", "查无此证明：请核对证明上的验证码，或请持证人重新生成"
        )
    return certificate
