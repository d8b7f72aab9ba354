"""CSV cells that a spreadsheet shows as text, never runs as a formula (CSV injection).

Excel, WPS and LibreOffice evaluate a cell that starts with `=`, `+`, `-` or `@` (quoted or
not), and a leading tab or carriage return can hide such a start. OWASP's advice: prefix a
single quote, which the spreadsheet shows as text. Only `str` cells are touched; numbers
(negative ones included) are written as numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A text cell that starts like a formula, with `'` in front; anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    """Every cell of a row through `safe_cell`."""
    return [safe_cell(value) for value in values]
