"""Opening hours: {"mon": ["08:00-22:00"], "sat": ["20:00-02:00"], …}; None = always open.

A range whose end is not after its start runs past midnight into the next day
("20:00-02:00"); "00:00-24:00" is the whole day; a day that is missing is closed.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

from server.clock import local, utcnow
from server.stations.models import WEEKDAYS

_RANGE_RE = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def _minutes(hh: str, mm: str) -> int:
    return int(hh) * 60 + int(mm)


@functools.lru_cache(maxsize=1024)  # a city's stations share a few dozen distinct ranges
def parse_range(text: str) -> tuple[int, int]:
    """(start, end) in minutes from midnight; end ≤ start means it ends the next day."""
    match = _RANGE_RE.match(text.strip())
    if match is None:
        raise ValueError(f"营业时间格式应为 HH:MM-HH:MM，例如 08:00-22:00（收到 {text!r}）")
    start, end = _minutes(*match.group(1, 2)), _minutes(*match.group(3, 4))
    if start > 24 * 60 or end > 24 * 60 or start == 24 * 60:
        raise ValueError(f"营业时间超出范围：{text}")
    return start, end


def validate(hours: dict | None) -> dict | None:
    """The normalised hours, or ValueError with a message for the person editing them."""
    if hours is None:
        return None
    if not isinstance(hours, dict):
        raise ValueError('营业时间应按星期填写，例如 {"mon": ["08:00-22:00"]}')
    cleaned: dict[str, list[str]] = {}
    for day, ranges in hours.items():
        if day not in WEEKDAYS:
            raise ValueError(f"未知的星期：{day}（应为 {', '.join(WEEKDAYS)}）")
        if isinstance(ranges, str):
            ranges = [ranges]
        if not isinstance(ranges, list):
            raise ValueError(f"{day} 的营业时间应为列表")
        for item in ranges:
            parse_range(str(item))
        cleaned[day] = [str(item).strip() for item in ranges]
    return cleaned


def is_open(hours: dict | None, at: dt.datetime | None = None) -> bool:
    """Whether a station with these hours is open at `at` (naive UTC; now by default)."""
    if hours is None:
        return True
    return is_open_at(hours, local(at or utcnow()))


def is_open_at(hours: dict | None, here: dt.datetime) -> bool:
    """The same at a Shanghai time the caller has converted once (nearby asks it of twenty
    stations and more per request: each conversion and range parse was ≈2–4 µs)."""
    if hours is None:
        return True
    minute = here.hour * 60 + here.minute
    weekday = here.weekday()
    for text in hours.get(WEEKDAYS[weekday], ()):
        start, end = parse_range(text)
        if end > start:
            if start <= minute < end:
                return True
        elif minute >= start:  # overnight range, evening part
            return True
    for text in hours.get(WEEKDAYS[(weekday - 1) % 7], ()):
        start, end = parse_range(text)
        if end <= start and minute < end:  # overnight range from yesterday, morning part
            return True
    return False
