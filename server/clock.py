"""The one clock. Time is stored in UTC (naive datetimes mean UTC) and shown in Asia/Shanghai.

Tests move time with `clock.freeze(...)`; deadlines, day keys and expiries all read `utcnow()`.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
_frozen: dt.datetime | None = None


def utcnow() -> dt.datetime:
    """Now, in UTC, without tzinfo (how the database stores it)."""
    if _frozen is not None:
        return _frozen
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def freeze(at: dt.datetime | None) -> None:
    """Pin the clock (tests only); None releases it."""
    global _frozen
    if at is not None and at.tzinfo is not None:
        at = at.astimezone(dt.UTC).replace(tzinfo=None)
    _frozen = at


def local(value: dt.datetime) -> dt.datetime:
    """A stored UTC datetime as Asia/Shanghai time."""
    return value.replace(tzinfo=dt.UTC).astimezone(SHANGHAI)


def local_today(now: dt.datetime | None = None) -> dt.date:
    """Today's date in Asia/Shanghai (a rider's 'day')."""
    return local(now or utcnow()).date()


def local_month_start_utc(now: dt.datetime | None = None) -> dt.datetime:
    """The start of this Shanghai month, as naive UTC."""
    here = local(now or utcnow())
    start = here.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(dt.UTC).replace(tzinfo=None)


def isoformat(value: dt.datetime | None) -> str | None:
    """A stored UTC datetime as ISO 8601 with its +08:00 offset, for people and clients."""
    return None if value is None else local(value).isoformat(timespec="seconds")
