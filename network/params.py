"""Declared parameters: everything configurable says once what it takes.

A ``Param`` is one parameter: its default, its type and bounds, its unit and a line
saying what it does. A class lists its parameters in ``params``; that one declaration
gives the check (a ``ConfigError`` naming the parameter, the value and what was
expected), the reference tables of docs/scenarios.md and ``pullchain params``, and the
app's controls. A researcher's class declares its own the same way::

    @POLICIES.register("proportional_order_up_to")
    class ProportionalOrderUpTo(OrderingPolicy):
        params = {
            "adjustment_time": Param(4.0, "periods to close the gap", unit="periods", minimum=1),
        }

        def order(self, s):
            ... self.adjustment_time ...

``Configurable`` is the base that turns keyword arguments into checked attributes.
"""

from __future__ import annotations

import copy
import inspect
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from typing import Any, ClassVar

import numpy as np

from . import limits
from .errors import ConfigError, check_number

TYPES = ("float", "int", "bool", "str", "dict", "list", "any")
"""Parameter types: numbers, integers, true/false, names or text, tables (a dict, such
as ``policy_params``), lists of numbers (``series``), and ``any`` (not checked)."""


@dataclass(frozen=True)
class Param:
    """One parameter of a configurable thing.

    Args:
        default: the value when none is given; ``None`` means it is worked out when
            the thing is used (say how in ``default_doc``).
        doc: what it does, in a line.
        type: one of ``TYPES``; by default inferred from ``default``.
        unit: its unit (periods, units, money per unit per period, ...).
        minimum, maximum: bounds (numbers, and the elements of a list).
        above, below: exclude the minimum (``> minimum``) or the maximum (``< maximum``).
        allow_inf: accept infinity (a capacity: unlimited).
        choices: the texts allowed, for a ``str``.
        registry: for a ``str`` that names a registered class: which registry
            (``"policy"``, ``"forecast"``, ``"demand"``, ``"allocation"``, ``"regime"``,
            ``"agent class"``).
        default_doc: the default in words, where it is worked out (``default=None``).
        attr: the attribute the value is kept in, where it is not the name.
        limit: a check of ``pullchain.network.limits`` the value must pass too (a
            window kept in memory, a delay, a divisor), called as ``limit(field, value)``.
    """

    default: Any
    doc: str
    type: str = ""
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    above: bool = False
    below: bool = False
    allow_inf: bool = False
    choices: tuple[str, ...] = ()
    registry: str = ""
    default_doc: str = ""
    attr: str = ""
    limit: Callable[[str, Any], None] | None = dataclass_field(
        default=None, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        if not self.type:
            object.__setattr__(self, "type", _infer(self.default))
        if self.type not in TYPES:
            raise ValueError(f"Param type {self.type!r}: expected one of {', '.join(TYPES)}")

    @property
    def numeric(self) -> bool:
        return self.type in ("float", "int")

    def expected(self) -> str:
        """What a valid value is, in words (the end of a ConfigError's message)."""
        if self.numeric:
            kind = "an integer" if self.type == "int" else "a number"
            return kind + self._bounds() + (", or inf" if self.allow_inf else "")
        if self.type == "bool":
            return "true or false"
        if self.type == "str":
            if self.choices:
                return "one of " + ", ".join(repr(c) for c in self.choices)
            return "a non-empty name (text)"
        if self.type == "dict":
            return "a table of parameters"
        if self.type == "list":
            return "a non-empty list of numbers" + self._bounds()
        return "any value"

    def _bounds(self) -> str:
        parts = []
        if self.minimum is not None:
            parts.append(f"{'>' if self.above else '>='} {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"{'<' if self.below else '<='} {self.maximum:g}")
        return (" " + " and ".join(parts)) if parts else ""

    def value(self) -> Any:
        """The default, copied (a table or list default is never shared)."""
        return copy.deepcopy(self.default)

    def check(self, field: str, value: Any) -> Any:
        """``value`` checked and normalised (``int``/``float``/...); ConfigError if invalid.

        ``None`` is accepted only where the default is ``None`` (worked out later).
        """
        if isinstance(value, np.generic):
            value = value.item()  # np.int64(2) is a valid count of periods
        if value is None and self.default is None:
            return None
        if self.type == "any":
            return value
        if self.numeric:
            number = self._number(field, value)
            if self.limit is not None:
                self.limit(field, number)
            return number
        if self.type == "bool":
            if not isinstance(value, bool):
                raise ConfigError(field, value, self.expected())
            return value
        if self.type == "str":
            if (
                not isinstance(value, str)
                or not value
                or (self.choices and value not in self.choices)
            ):
                raise ConfigError(field, value, self.expected())
            return value
        if self.type == "dict":
            table = _table(field, value, self.expected())
            if self.limit is not None:
                self.limit(field, table)
            return table
        return self._numbers(field, value)

    def _number(self, field: str, value: Any) -> float | int:
        number = check_number(
            field,
            value,
            minimum=self.minimum,
            maximum=self.maximum,
            integer=self.type == "int",
            allow_inf=self.allow_inf,
            strict_minimum=self.above,
            strict_maximum=self.below,
        )
        return int(number) if self.type == "int" else float(number)

    def _numbers(self, field: str, value: Any) -> tuple[float, ...]:
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if isinstance(value, str | bytes | Mapping) or not hasattr(value, "__len__") or not value:
            raise ConfigError(field, value, self.expected())
        element = replace(self, type="float")
        return tuple(element._number(f"{field}[{i}]", v) for i, v in enumerate(value))


def _infer(default: Any) -> str:
    for python, name in ((bool, "bool"), (int, "int"), (float, "float"), (str, "str"),
                         (dict, "dict"), (list | tuple, "list")):  # fmt: skip
        if isinstance(default, python):
            return name
    raise ValueError(f"Param default {default!r}: give its type (one of {', '.join(TYPES)})")


def _table(field: str, value: Any, expected: str) -> dict[str, Any]:
    """A dict, copied; a JSON string holding one is decoded (GraphML stores only text).
    Its size and depth are checked first (``pullchain.network.limits``)."""
    if isinstance(value, str):
        limits.check_text(field, value)
        try:
            value = json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            raise ConfigError(field, value, expected) from None
    if not isinstance(value, dict):
        raise ConfigError(field, value, expected)
    limits.check_depth(field, value)
    return copy.deepcopy(value)


def check_params(
    params: Mapping[str, Param], given: Mapping[str, Any], owner: str = "it"
) -> dict[str, Any]:
    """Every declared parameter's value: ``given`` checked, defaults for the rest.

    An unknown name is a ConfigError naming it and listing the known ones.
    """
    for name, value in given.items():
        if name not in params:
            known = ", ".join(params) or "none"
            raise ConfigError(name, value, f"a parameter of {owner}: {known}")
    return {
        name: p.check(name, given[name]) if name in given else p.value()
        for name, p in params.items()
    }


def with_defaults(params: Mapping[str, Param], **defaults: Any) -> dict[str, Param]:
    """A copy of ``params`` with some defaults changed (a subclass's own defaults)."""
    unknown = set(defaults) - set(params)
    if unknown:
        raise ValueError(f"with_defaults: no parameter {sorted(unknown)}")
    return {n: replace(p, default=defaults[n]) if n in defaults else p for n, p in params.items()}


def owner_name(cls: type) -> str:
    """How errors name a class: its registry and registered name, or its class name."""
    name = cls.__dict__.get("registry_name")
    what = getattr(cls, "registry_what", "")
    return f"{what} {name!r}".strip() if name else cls.__name__


def declares(cls: type) -> bool:
    """Whether ``cls``'s parameters are its ``params`` (declared at or below the class
    that defines its ``__init__``), not a constructor signature of its own."""
    init_owner = next((c for c in cls.__mro__ if "__init__" in c.__dict__), object)
    params_owner = next((c for c in cls.__mro__ if "params" in c.__dict__), None)
    return params_owner is not None and issubclass(params_owner, init_owner)


def declared(cls: type) -> dict[str, Param]:
    """The parameters of ``cls``: its declaration, or for a class that takes keyword
    arguments of its own (a plug-in written before declarations), its signature's."""
    if declares(cls):
        return dict(cls.params)
    out = {}
    for name, p in inspect.signature(cls).parameters.items():
        if p.kind in (p.POSITIONAL_ONLY, p.VAR_POSITIONAL, p.VAR_KEYWORD) or name == "self":
            continue
        default = None if p.default is p.empty else p.default
        try:
            out[name] = Param(default, "", type="" if default is not None else "any")
        except ValueError:
            out[name] = Param(default, "", type="any")
    return out


class Configurable:
    """A class whose keyword parameters are declared in ``params``.

    ``Configurable(**params)`` checks them against the declaration (unknown names, types
    and bounds: a ConfigError naming the parameter) and keeps each value as an attribute
    of the same name (or ``Param.attr``). A subclass that needs more state overrides
    ``__init__`` and calls ``super().__init__(**params)`` first.
    """

    params: ClassVar[dict[str, Param]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # help() and editors show the declared parameters as the constructor's.
        cls.__signature__ = _signature(cls.params) if declares(cls) else None

    def __init__(self, *args: Any, **params: Any) -> None:
        self.configure(positional(type(self), args, params))

    def configure(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Check ``given`` against the declaration and set the attributes; returns all values."""
        values = check_params(self.params, given, owner_name(type(self)))
        for name, value in values.items():
            setattr(self, self.params[name].attr or name, value)
        return values

    def config(self) -> dict[str, Any]:
        """The parameter values, as declared (for records and reports)."""
        return {name: getattr(self, p.attr or name) for name, p in self.params.items()}


def positional(cls: type, args: tuple, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with positional ``args`` named in declaration order (``MovingAverage(5)``)."""
    if not args:
        return params
    names = list(cls.params)
    if len(args) > len(names):
        raise TypeError(f"{cls.__name__} takes at most {len(names)} positional arguments")
    for name, value in zip(names, args, strict=False):
        if name in params:
            raise TypeError(f"{cls.__name__} got {name!r} twice")
        params[name] = value
    return params


def _signature(params: Mapping[str, Param]) -> inspect.Signature:
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Signature(
        [inspect.Parameter(n, kind, default=p.default) for n, p in params.items()]
    )


def describe_default(p: Param) -> str:
    """The default as the reference tables show it."""
    if p.default is None:
        return p.default_doc or "worked out when used"
    if p.type == "str":
        return f'"{p.default}"'
    if p.type == "bool":
        return "true" if p.default else "false"
    if p.type == "dict":
        return "{}" if not p.default else json.dumps(p.default)
    if p.type == "list":
        return str(list(p.default))
    if isinstance(p.default, float) and math.isinf(p.default):
        return "inf"
    return str(p.default)
