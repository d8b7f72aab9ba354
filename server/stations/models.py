"""Stations (驿站, 爱心角) and check-ins (successful and refused alike)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.clock import utcnow
from server.extensions import db
from server.models_base import BigId, TimestampMixin, pk

KINDS = {
    "courier": "小哥驿站",
    "warm": "暖心驿站",
    "gig": "零工驿站",
    "party": "党群服务中心",
    "love_corner": "爱心角",
}
SERVICES = {
    "rest": "歇脚休息",
    "water": "饮水",
    "charging": "手机充电",
    "tyre_pump": "打气",
    "heating_food": "热饭",
    "toilet": "卫生间",
    "supplies": "物资补给",
    "reading": "学习阅读",
    "medical": "医药箱",
    "umbrella": "借伞",
    "repair": "维修工具",
    "info": "信息分享",
    "wifi": "无线网络",
    "aircon": "空调",
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_CHECKIN_RADIUS_M = 200

# Check-in outcomes: "ok" earned (or could have earned) points, "closed" was recorded while
# the station was closed (no points), "refused" has a reason code.
CHECKIN_STATUSES = ("ok", "closed", "refused")


class Station(TimestampMixin, db.Model):
    __tablename__ = "stations"

    id: Mapped[int] = pk()
    org_unit_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("org_units.id"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    address: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    lng: Mapped[float] = mapped_column(Float, nullable=False)
    services: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    # {"mon": ["08:00-22:00"], …, "sat": ["20:00-02:00"]}: an end before the start runs past
    # midnight; a missing day is closed; None means always open.
    opening_hours: Mapped[dict | None] = mapped_column(JSON)
    contact_name: Mapped[str | None] = mapped_column(String(32))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    checkin_radius_m: Mapped[int] = mapped_column(
        Integer, nullable=False, default=DEFAULT_CHECKIN_RADIUS_M
    )
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    photos: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    description: Mapped[str | None] = mapped_column(String(500))
    qr_secret: Mapped[str] = mapped_column(String(64), nullable=False, info={"export": False})
    qr_rotated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    __table_args__ = (Index("ix_stations_lat_lng", "lat", "lng"),)


class CheckIn(db.Model):
    __tablename__ = "checkins"

    id: Mapped[int] = pk()
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), nullable=False)
    station_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("stations.id"))
    # The station's unit (or the rider's community when the station is unknown): staff scope.
    org_unit_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("org_units.id"))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(48))
    day: Mapped[dt.date] = mapped_column(Date, nullable=False)
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    accuracy: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[float | None] = mapped_column(Float)
    points_awarded: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    scene: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    # One rewarded check-in per rider, station and day: the ledger's business key decides
    # (source "checkin", "<station>:<day>"), and an `ok` row is written only after its award,
    # in the same transaction. No index of its own repeats that (migration 1f6a3e9b5c27): it
    # was one more per-rider index page every check-in wrote (bench/README.md, session 8).
    __table_args__ = (
        Index("uq_checkins_user_key", "user_id", "idempotency_key", unique=True),
        Index("ix_checkins_user_id_id", "user_id", "id"),
        Index("ix_checkins_station_id_id", "station_id", "id"),
        Index("ix_checkins_org_unit_id_id", "org_unit_id", "id"),
        # admin_checkins with a date range: the scope's units, then the days
        Index("ix_checkins_org_unit_day", "org_unit_id", "day"),
    )
