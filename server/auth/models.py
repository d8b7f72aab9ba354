"""Users: WeChat identities with a citizen role; staff roles come from a staff binding."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.models_base import BigId, TimestampMixin, pk

CITIZEN_ROLES = ("rider", "resident")
PLATFORMS = {
    "meituan": "美团",
    "eleme": "饿了么",
    "sf": "顺丰",
    "jd": "京东",
    "shansong": "闪送",
    "other": "其他",
}


class User(TimestampMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = pk()
    openid: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    unionid: Mapped[str | None] = mapped_column(String(64), index=True)
    # Encrypted at rest; never leaves the server (not in responses, not in logs).
    session_key_enc: Mapped[str | None] = mapped_column(String(255))
    citizen_role: Mapped[str] = mapped_column(String(16), default="resident", nullable=False)
    display_name: Mapped[str | None] = mapped_column(String(32))
    avatar_url: Mapped[str | None] = mapped_column(String(512))
    platform: Mapped[str | None] = mapped_column(String(16))
    community_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("org_units.id"), index=True)
    registered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    is_party_member: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    phone_enc: Mapped[str | None] = mapped_column(String(255))
    phone_masked: Mapped[str | None] = mapped_column(String(20))
    token_version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # When the user cancelled their account (注销账号, server/auth/cancellation.py): the row
    # stays (reports, check-ins and the ledger point to it) with its personal data erased.
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.citizen_role}>"
