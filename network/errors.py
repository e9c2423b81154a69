"""The one error type for bad input, and small checks that raise it.

Every check names the field, the value it got and what it expected, so a user
reads the problem in one line instead of a traceback from deep inside NumPy.
"""

from __future__ import annotations

import math
from typing import Any


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
        super().__init__(f"{field}: got {value!r}, expected {expected}")


def check_number(
    field: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    integer: bool = False,
    allow_inf: bool = False,
    strict_minimum: bool = False,
) -> float | int:
    """Return ``value`` as a number if it lies in range, else raise ConfigError."""
    kind = "an integer" if integer else "a number"
    bounds = []
    if minimum is not None:
        bounds.append(f"{'>' if strict_minimum else '>='} {minimum:g}")
    if maximum is not None:
        bounds.append(f"<= {maximum:g}")
    expected = kind + (" " + " and ".join(bounds) if bounds else "")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(field, value, expected)
    if math.isnan(value) or (math.isinf(value) and not allow_inf):
        raise ConfigError(field, value, expected)
    if integer:
        if not float(value).is_integer():
            raise ConfigError(field, value, expected)
        value = int(value)
    if minimum is not None and (value < minimum or (strict_minimum and value == minimum)):
        raise ConfigError(field, value, expected)
    if maximum is not None and value > maximum:
        raise ConfigError(field, value, expected)
    return value


def check_choice(field: str, value: Any, choices: list[str] | tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ConfigError."""
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(field, value, "one of " + ", ".join(repr(c) for c in choices))
    return value
