"""CSV cells that a spreadsheet shows as text, never runs as a formula (CSV injection).

Excel, WPS and LibreOffice evaluate a cell that starts with `=`, `+`, `-` or `@` (quoted or
not), and a leading tab or carriage return can hide such a start. OWASP's advice: prefix a
single quote, which the spreadsheet shows as text. Only `str` cells are touched; numbers
(negative ones included) are written as numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from server.errors import DomainError

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Rows an export may hold (check-ins, work orders, needs); more is refused, never cut short.
EXPORT_MAX_ROWS = 50_000


def safe_cell(value: Any) -> Any:
    """A text cell that starts like a formula, with `'` in front; anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    """Every cell of a row through `safe_cell`."""
    return [safe_cell(value) for value in values]


def within_export_limit(rows: list[Any], max_rows: int) -> list[Any]:
    """The rows of an export read with `LIMIT max_rows + 1`; more than `max_rows` is refused
    (422 `export.too_many_rows`) rather than cut short without a word to whoever opens it."""
    if len(rows) > max_rows:
        raise DomainError(
            "export.too_many_rows",
            f"符合条件的记录超过 {max_rows} 条，请缩小日期范围或增加筛选条件后分批导出",
            422,
            {"max_rows": max_rows},
        )
    return rows
