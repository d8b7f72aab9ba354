"""Activities, enrolments (with attendance and service hours) and service-hours certificates."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models_base import BigId, TimestampMixin, pk
from server.org.models import OrgUnit

KINDS = {
    "needs_meeting": "暖新问需会",
    "public_class": "红骑手公益课堂",
    "cleanup": "环境整治",
    "garbage_sorting": "垃圾分类宣传",
    "health_check": "健康义诊",
    "skills_training": "技能培训",
    "job_matching": "招聘对接",
    "volunteer": "志愿服务",
    "other": "其他",
}
AUDIENCES = {"riders": "骑手", "residents": "居民", "all": "所有人"}
STATUSES = {"draft": "草稿", "published": "报名中", "cancelled": "已取消", "finished": "已结束"}
ENROLMENT_STATUSES = {"enrolled": "已报名", "waitlisted": "候补中", "cancelled": "已取消"}


class Activity(TimestampMixin, db.Model):
    __tablename__ = "activities"

    id: Mapped[int] = pk()
    org_unit_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"), nullable=False)
    post_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("posts.id"))
    title: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(24), nullable=False, default="other")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    place: Mapped[str] = mapped_column(String(128), nullable=False)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    lng: Mapped[float] = mapped_column(Float, nullable=False)
    radius_m: Mapped[int] = mapped_column(Integer, nullable=False, default=300)
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    ends_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    signup_deadline: Mapped[dt.datetime | None] = mapped_column(DateTime)
    capacity: Mapped[int] = mapped_column(Integer, nullable=False)
    # None: the points rule `activity_attendance` (or the post's duty points) decides.
    points: Mapped[int | None] = mapped_column(Integer)
    # None: the scheduled duration; hours credited never exceed it either way.
    service_hours: Mapped[float | None] = mapped_column(Float)
    audience: Mapped[str] = mapped_column(String(16), nullable=False, default="all")
    cover_url: Mapped[str | None] = mapped_column(String(512))
    cover_upload_id: Mapped[int | None] = mapped_column(BigId)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    qr_secret: Mapped[str] = mapped_column(String(64), nullable=False, info={"export": False})
    # Counters kept under the activity's row lock (see services.lock_activity).
    enrolled_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    waitlist_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_seq: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    reminded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")

    __table_args__ = (
        Index("ix_activities_status_starts_at", "status", "starts_at"),
        Index("ix_activities_org_unit_id", "org_unit_id"),
    )

    @property
    def kind_name(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def scheduled_minutes(self) -> int:
        return max(0, int((self.ends_at - self.starts_at).total_seconds() // 60))

    @property
    def cap_minutes(self) -> int:
        """The most minutes one attendance is credited with."""
        if self.service_hours is None:
            return self.scheduled_minutes
        return min(self.scheduled_minutes, round(self.service_hours * 60))

    @property
    def effective_deadline(self) -> dt.datetime:
        return self.signup_deadline or self.starts_at


class Enrolment(TimestampMixin, db.Model):
    """One person's place in an activity: enrolled or waitlisted, then attendance and hours."""

    __tablename__ = "activity_enrolments"

    id: Mapped[int] = pk()
    activity_id: Mapped[int] = mapped_column(BigId, ForeignKey("activities.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    # Order of arrival within the activity (the waitlist is served in this order).
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    enrolled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    promoted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    signed_in_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    signed_out_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # scan | auto (signed out at the end by the scheduler) | staff (confirmed from the list)
    sign_out_method: Mapped[str | None] = mapped_column(String(8))
    service_minutes: Mapped[int | None] = mapped_column(Integer)
    points_awarded: Mapped[int | None] = mapped_column(Integer)
    confirmed_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))

    activity: Mapped[Activity] = relationship()

    __table_args__ = (
        UniqueConstraint("activity_id", "user_id"),
        Index("ix_activity_enrolments_activity_status_seq", "activity_id", "status", "seq"),
        Index("ix_activity_enrolments_user_signed_out", "user_id", "signed_out_at"),
        # auto_sign_out_due: the few still signed in
        Index(
            "ix_activity_enrolments_signed_in_open",
            "id",
            sqlite_where=text(
                "status = 'enrolled' AND signed_in_at IS NOT NULL AND signed_out_at IS NULL"
            ),
            postgresql_where=text(
                "status = 'enrolled' AND signed_in_at IS NOT NULL AND signed_out_at IS NULL"
            ),
        ),
    )


class ServiceHoursCertificate(TimestampMixin, db.Model):
    """A certificate issued for a person's service hours in a period; staff verify by code."""

    __tablename__ = "service_hours_certificates"

    id: Mapped[int] = pk()
    code: Mapped[str] = mapped_column(String(16), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), nullable=False)
    holder_name: Mapped[str] = mapped_column(String(32), nullable=False)
    period_from: Mapped[dt.date] = mapped_column(Date, nullable=False)
    period_to: Mapped[dt.date] = mapped_column(Date, nullable=False)
    total_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    activity_count: Mapped[int] = mapped_column(Integer, nullable=False)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)

    __table_args__ = (
        Index("ix_service_hours_certificates_user", "user_id", "period_from", "period_to"),
    )
