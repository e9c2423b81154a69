"""The one error type for bad input, and small checks that raise it.

Every check names the field, the value it got and what it expected, so a user
reads the problem in one line instead of a traceback from deep inside NumPy.
"""

from __future__ import annotations

import math
from typing import Any

INT_MAX = 2**63 - 1
"""The largest integer a field takes: what a numpy or Parquet int64 holds."""


def printable(text: str) -> str:
    """``text`` with control and format characters escaped (``\\x1b``, ``\\u202e``), so a key
    or value from a file cannot move the cursor or recolour a terminal."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape", "backslashreplace").decode("ascii")
        for ch in text
    )


class ConfigError(ValueError):
    """Bad input: a network, a parameter or a file that pullchain cannot use.

    Attributes:
        field: where the bad value sits, as a dotted path (``node 'r1'.initial_stock``).
        value: the value that was given.
        expected: what would have been accepted, in words.
    """

    def __init__(self, field: str, value: Any, expected: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        super().__init__(printable(f"{field}: got {_shown(value)}, expected {expected}"))


def _shown(value: Any) -> str:
    """The value as the message shows it: its repr, cut short when it is long."""
    try:
        text = repr(value)
    except Exception:  # a user's object whose repr fails
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 200 else text[:150] + f"... ({len(text)} characters)"


def check_number(
    field: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    integer: bool = False,
    allow_inf: bool = False,
    strict_minimum: bool = False,
    strict_maximum: bool = False,
) -> float | int:
    """Return ``value`` as a number if it lies in range, else raise ConfigError."""
    kind = "an integer" if integer else "a number"
    bounds = []
    if minimum is not None:
        bounds.append(f"{'>' if strict_minimum else '>='} {minimum:g}")
    if maximum is not None:
        bounds.append(f"{'<' if strict_maximum else '<='} {maximum:g}")
    expected = kind + (" " + " and ".join(bounds) if bounds else "")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(field, value, expected)
    too_big = f"{expected} (and at most {INT_MAX:.3g} in size)"
    if isinstance(value, int):
        if abs(value) > INT_MAX:  # before any float(), which a 400-digit integer overflows
            raise ConfigError(field, value, too_big)
    elif math.isnan(value) or (math.isinf(value) and not allow_inf):
        raise ConfigError(field, value, expected)
    if not integer and maximum is None and not math.isinf(value):
        from .limits import check_quantity  # limits imports this module

        check_quantity(field, value)
    if integer:
        if not float(value).is_integer():
            raise ConfigError(field, value, expected)
        if abs(value) > INT_MAX:
            raise ConfigError(field, value, too_big)
        value = int(value)
    if minimum is not None and (value < minimum or (strict_minimum and value == minimum)):
        raise ConfigError(field, value, expected)
    if maximum is not None and (value > maximum or (strict_maximum and value == maximum)):
        raise ConfigError(field, value, expected)
    return value


def check_choice(field: str, value: Any, choices: list[str] | tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ConfigError."""
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(field, value, "one of " + ", ".join(repr(c) for c in choices))
    return value
