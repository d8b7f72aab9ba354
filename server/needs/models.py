"""Needs and suggestions (问需) and their answers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.models_base import BigId, TimestampMixin, pk

KINDS = {
    "employment": "就业",
    "skills_training": "技能培训",
    "legal_rights": "法律维权",
    "health": "健康",
    "childcare": "子女托管",
    "housing": "住房",
    "community_suggestion": "社区建议",
    "other": "其他",
}
# withdrawn: its submitter cancelled their account before it was answered
STATUSES = {"open": "待答复", "answered": "已答复", "withdrawn": "已撤回"}
# What the text security check said: pass | review (staff look first) | unchecked (WeChat down)
CONTENT_FLAGS = ("pass", "review", "unchecked")


class Need(TimestampMixin, db.Model):
    __tablename__ = "needs"

    id: Mapped[int] = pk()
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), nullable=False)
    org_unit_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    photo_ids: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    content_flag: Mapped[str] = mapped_column(String(12), nullable=False, default="pass")
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="open")
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    idempotency_key: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key"),
        Index("ix_needs_org_unit_created", "org_unit_id", "created_at"),
        Index("ix_needs_user_created", "user_id", "created_at"),
    )

    @property
    def kind_name(self) -> str:
        return KINDS.get(self.kind, self.kind)
