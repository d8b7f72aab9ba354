"""Subscribe-message field values, trimmed to WeChat's limits per field type.

A template's data keys carry their type in the name (`thing1`, `phrase2`, `time3`…); each
value is cut or reformatted so that WeChat accepts it (47003 otherwise).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from server.clock import SHANGHAI

_KEY = re.compile(r"^([a-z_]+?)(\d+)$")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?", re.ASCII)
ELLIPSIS = "…"


def field_type(key: str) -> str:
    match = _KEY.match(key)
    return match.group(1) if match else "thing"


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def as_datetime(value: Any) -> dt.datetime | None:
    """A datetime (naive = UTC) or ISO text as an aware Asia/Shanghai datetime."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            try:
                value = dt.datetime.combine(dt.date.fromisoformat(value), dt.time())
                return value.replace(tzinfo=SHANGHAI)
            except ValueError:
                return None
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(SHANGHAI)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time(), tzinfo=SHANGHAI)
    return None


def format_time(value: Any) -> str | None:
    """`2019年10月1日 15:01` in Asia/Shanghai."""
    moment = as_datetime(value)
    if moment is None:
        return None
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"


def format_date(value: Any) -> str | None:
    moment = as_datetime(value)
    return None if moment is None else f"{moment.year}年{moment.month}月{moment.day}日"


def _number(value: Any) -> str | None:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        if not Decimal(value).is_finite():
            return None
        text = f"{value:f}".rstrip("0").rstrip(".") if "." in f"{value:f}" else f"{value:f}"
        return text or "0"
    match = _NUMBER.search(_text(value))
    return match.group(0) if match else None


def _amount(value: Any) -> str | None:
    try:
        number = Decimal(str(value).strip().lstrip("¥￥$").rstrip("元"))
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number < 0 or number >= Decimal(10) ** 10:
        return None
    number = number.copy_abs()  # -0
    return f"{number.quantize(Decimal('0.01'))}元"


def trim(kind: str, value: Any) -> str | None:
    """The value as WeChat accepts it for a field of type `kind`; None when nothing fits."""
    if value is None:
        return None
    if kind == "time":
        return format_time(value)
    if kind == "date":
        return format_date(value)
    if kind == "number":
        text = _number(value)
        if text and len(text) > 32 and "." in text[:33]:
            text = text[:32].rstrip(".")  # fewer decimals
        return text if text and len(text) <= 32 else None
    if kind == "amount":
        return _amount(value)
    text = _text(value)
    if kind == "phrase":
        return "".join(_HAN.findall(text))[:5] or None
    if kind == "character_string":
        return "".join(c for c in text if "\x21" <= c <= "\x7e")[:32] or None
    if kind == "letter":
        return "".join(c for c in text if c.isascii() and c.isalpha())[:32] or None
    if kind == "symbol":
        return (
            "".join(c for c in text if not c.isalnum() and not c.isspace() and c != "_")[:5] or None
        )
    if kind == "name":
        han = "".join(c for c in text if _HAN.match(c) or c == "·")
        if han:
            return han[:10]
        latin = "".join(c for c in text if (c.isascii() and c.isalpha()) or c in " .'-").strip()
        return latin[:20] if any(c.isalpha() for c in latin) else None
    if kind == "phone_number":
        return "".join(c for c in text if c.isdigit() or c in "+-() ")[:17].strip() or None
    if kind == "car_number":
        return "".join(c for c in text if c.isalnum())[:8] or None
    return _cut(text, 20) or None  # thing, enum and anything unknown


def fallback(kind: str, notification) -> str:
    """A value that fits when the notification's data has none for a field."""
    if kind in ("time", "date"):
        moment = notification.created_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        return format_time(moment) if kind == "time" else format_date(moment)
    return (
        {
            "phrase": "新消息",
            "character_string": f"N{notification.id}",
            "number": "0",
            "letter": "N",
            "symbol": "-",
            "name": "用户",
            "phone_number": "-",
            "amount": "0.00元",
            "car_number": "-",
        }.get(kind)
        or trim("thing", notification.title)
        or "新消息"
    )


def build_data(fields: dict[str, Any], notification) -> dict[str, dict[str, str]]:
    """{"thing1": {"value": "…"}} for a template's field mapping {key: source}; a source
    is a name or a list of names (the first with a usable value wins)."""
    values: dict[str, Any] = {
        "title": notification.title,
        "body": notification.body,
        "created_at": notification.created_at,
        **(notification.data or {}),
    }
    result = {}
    for key, source in fields.items():
        kind = field_type(key)
        value = None
        for name in [source] if isinstance(source, str) else list(source):
            value = trim(kind, values.get(name))
            if value is not None:
                break
        result[key] = {"value": value if value is not None else fallback(kind, notification)}
    return result
