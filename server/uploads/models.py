"""An uploaded photo: the cleaned original, a list-size copy, and its moderation state."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import db
from server.models_base import BigId, TimestampMixin, pk

# pending: not judged yet; pass; review: WeChat suggests a person look; risky: held.
MODERATION_STATES = ("pending", "pass", "review", "risky")


class Upload(TimestampMixin, db.Model):
    __tablename__ = "uploads"

    id: Mapped[int] = pk()
    owner_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), nullable=False)
    storage_key: Mapped[str] = mapped_column(String(128), nullable=False)
    thumb_key: Mapped[str] = mapped_column(String(128), nullable=False)
    content_type: Mapped[str] = mapped_column(String(32), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    source: Mapped[str] = mapped_column(String(16), default="app", nullable=False)
    moderation: Mapped[str] = mapped_column(String(12), default="pending", nullable=False)
    moderation_label: Mapped[int | None] = mapped_column(Integer)
    trace_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    check_requested_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    checked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # What it is attached to ("report", "report_event", "activity", ...); once attached, fixed.
    ref_type: Mapped[str | None] = mapped_column(String(24))
    ref_id: Mapped[int | None] = mapped_column(BigId)

    __table_args__ = (
        Index("ix_uploads_ref", "ref_type", "ref_id"),
        Index("ix_uploads_owner_id", "owner_id"),
        Index("ix_uploads_moderation", "moderation"),
    )

    @property
    def url(self) -> str:
        """The photo for anyone allowed to see it (refused while held)."""
        from server.uploads.services import signed_url

        return signed_url(self, "full", "public")

    @property
    def thumb_url(self) -> str:
        from server.uploads.services import signed_url

        return signed_url(self, "thumb", "public")

    def __repr__(self) -> str:
        return f"<Upload {self.id} {self.moderation}>"
