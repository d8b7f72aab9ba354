"""Governance posts per community and the claims riders make on them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import db
from server.models_base import BigId, TimestampMixin, pk
from server.org.models import OrgUnit

CLAIM_STATUSES = {
    "pending": "待审核",
    "approved": "在岗",
    "declined": "未通过",
    "withdrawn": "已撤回",
    "ended": "已离岗",
}
LIVE_CLAIM_STATUSES = ("pending", "approved")


class Post(TimestampMixin, db.Model):
    __tablename__ = "posts"

    id: Mapped[int] = pk()
    org_unit_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(32), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    capacity: Mapped[int] = mapped_column(Integer, nullable=False, default=5)
    duty_points: Mapped[int] = mapped_column(Integer, nullable=False, default=5)
    is_active: Mapped[bool] = mapped_column(default=True, nullable=False)
    sort: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Kept under the post's row lock when claims are approved or ended.
    holder_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("org_unit_id", "name"),)


class PostClaim(TimestampMixin, db.Model):
    __tablename__ = "post_claims"

    id: Mapped[int] = pk()
    post_id: Mapped[int] = mapped_column(BigId, ForeignKey("posts.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    note: Mapped[str | None] = mapped_column(String(200))
    decided_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decision_note: Mapped[str | None] = mapped_column(String(200))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    post: Mapped[Post] = relationship(lazy="joined")

    __table_args__ = (
        # One live (pending or approved) claim per person and post.
        Index(
            "uq_post_claims_live",
            "post_id",
            "user_id",
            unique=True,
            sqlite_where=text("status IN ('pending', 'approved')"),
            postgresql_where=text("status IN ('pending', 'approved')"),
        ),
        Index("ix_post_claims_user_status", "user_id", "status"),
    )
