"""How numbers are printed in tables: one rule for every command's output."""

from __future__ import annotations

import math
from typing import Any


def format_number(value: Any) -> str:
    """Thousands with separators, tens with one decimal, small values with three; NaN as n/a."""
    if value is None:
        return "n/a"
    if isinstance(value, int | float):
        value = float(value)
        if math.isnan(value):
            return "n/a"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3f}"
    return str(value)
