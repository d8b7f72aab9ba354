"""Column types and mixins shared by every domain's models."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.orm import Mapped, mapped_column

from server.clock import utcnow

# 64-bit ids on PostgreSQL; SQLite needs INTEGER for its rowid autoincrement.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def pk() -> Mapped[int]:
    return mapped_column(BigId, primary_key=True, autoincrement=True)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime, default=utcnow, onupdate=utcnow, nullable=False
    )
