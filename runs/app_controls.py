"""The app's controls, read from the declarations: which widget, its range, its label.

A knob of a regime, a parameter of a policy or an agent class is declared once as a
``Param`` (``pullchain.network.params``); ``control`` turns one into what a page needs to
draw it (a checkbox, a slider with its bounds, a choice among names, a number field),
so the app shows a researcher's regime or class with the same widgets as the built-in
ones, and no range is written twice. No Solara here: the page (``app.py``) draws these.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pullchain.network.params import Param, declared
from pullchain.network.regimes import REGIMES

SPAN = 12
"""How far an integer slider reaches above its minimum when its declaration has no
maximum (periods of delay, a window): the page's range, never the model's limit."""


@dataclass(frozen=True)
class Control:
    """One widget: ``kind`` is "checkbox", "slider", "select" or "number"."""

    name: str
    label: str
    kind: str
    value: Any
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    integer: bool = False
    choices: tuple[str, ...] = ()
    help: str = ""


def control(name: str, p: Param, value: Any = None, registry: Any = None) -> Control | None:
    """The widget for parameter ``name`` declared as ``p`` (at ``value``, else its
    default); None for what a page cannot set with one widget (a table of parameters)."""
    value = p.default if value is None else value
    label = name.replace("_", " ")
    help_ = p.doc[:1].upper() + p.doc[1:] if p.doc else ""
    if p.type == "bool":
        return Control(name, label, "checkbox", bool(value), help=help_)
    if p.type == "str":
        choices = p.choices or (tuple(registry) if registry is not None else ())
        if not choices:
            return None
        return Control(name, label, "select", value, choices=tuple(choices), help=help_)
    if p.numeric and value is not None:
        low = p.minimum
        high = p.maximum
        integer = p.type == "int"
        if integer and low is not None and high is None:
            high = max(low + SPAN, value)
        if low is None or high is None or math.isinf(high):
            return Control(name, label, "number", value, integer=integer, help=help_)
        step = 1 if integer else _step(low, high)
        return Control(name, label, "slider", value, low, high, step, integer, help=help_)
    return None


def _step(low: float, high: float) -> float:
    """A slider step of about a twentieth of the range, rounded to 1, 2 or 5 x 10^k."""
    raw = (high - low) / 20
    scale = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    return next(m * scale for m in (1, 2, 5, 10) if m * scale >= raw)


def controls(params: Mapping[str, Param], values: Mapping[str, Any] | None = None) -> list:
    """The widgets of a declaration (those one widget can set), at ``values``."""
    values = values or {}
    out = []
    for name, p in params.items():
        c = control(name, p, values.get(name))
        if c is not None:
            out.append(c)
    return out


def regime_controls(regime: str, values: Mapping[str, Any] | None = None) -> list[Control]:
    """The knobs regime ``regime`` declares, as widgets (``opaque``: none)."""
    return controls(declared(REGIMES.get(regime, "regime")), values)


def shared_regimes() -> list[str]:
    """The regimes a page may set against ``opaque``: every registered one but opaque."""
    return [name for name in REGIMES if name != "opaque"]
