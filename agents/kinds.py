"""Which agent class plays a node, and the node attributes that class declares.

A node's ``class`` attribute (set per kind or per node in a scenario) names its class:
absent or the kind's own name (``"retailer"``) is the built-in class of its kind; a
name registered with ``@AGENTS.register("name")``; or ``"package.module:Class"``. The
class must be a subclass of its kind's built-in class (a retailer node needs a
``Retailer``), and it may declare node attributes of its own in ``params``::

    @AGENTS.register("perishable")
    class PerishableRetailer(Retailer):
        params = {"shelf_life": Param(4, "periods a unit keeps", unit="periods", minimum=1)}

Its attributes are checked and documented like the built-in ones, can be set in
``[kinds.retailer]`` or ``[nodes."..."]`` and swept, and are the agent's attributes
(``self.shelf_life``). The built-in classes' attributes are declared in
``pullchain.network.schema.NODE_PARAMS``; looking them up does not import Mesa.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from pullchain.network.errors import ConfigError
from pullchain.network.params import Param, check_params
from pullchain.network.registry import Registry
from pullchain.network.schema import NODE_PARAMS

AGENTS: Registry[Any] = Registry("agent class", "AGENTS")
"""Agent classes by name: the built-in one of each kind, and researchers' own."""

BUILT_IN: dict[str, str] = {
    "supplier": "pullchain.agents.firms:Supplier",
    "brand": "pullchain.agents.firms:Brand",
    "distributor": "pullchain.agents.firms:Distributor",
    "retailer": "pullchain.agents.firms:Retailer",
    "consumer": "pullchain.agents.consumers:Consumer",
}
"""The class of each kind when a node names none."""


def class_spec(kind: str, attrs: Mapping[str, Any]) -> str:
    """The node's ``class`` as written, or its kind's name when it has none."""
    spec = attrs.get("class")
    return kind if spec in (None, "") else spec


def builtin(kind: str) -> type:
    """The built-in class of ``kind`` (imports Mesa)."""
    return _import(BUILT_IN[kind], "class")


def resolve(kind: str, spec: Any, field: str = "class") -> type:
    """The class named ``spec`` for a node of ``kind``; ConfigError naming ``field``.

    ``spec`` is the kind's name, a registered name, ``"package.module:Class"``, or a
    class. The class must subclass the kind's built-in class.
    """
    if isinstance(spec, type):
        cls = spec
    elif not isinstance(spec, str) or not spec:
        raise ConfigError(field, spec, 'a registered agent class or "package.module:Class"')
    elif spec == kind:
        cls = builtin(kind)
    elif ":" in spec:
        cls = _import(spec, field)
    else:
        for k in BUILT_IN:  # the built-in classes are registered when their modules load
            builtin(k)
        cls = AGENTS.get(spec, field)
    base = builtin(kind)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ConfigError(
            field, spec, f"an agent class for a {kind} node (a subclass of {base.__name__})"
        )
    return cls


def _import(spec: str, field: str) -> type:
    module, _, name = spec.partition(":")
    expected = '"package.module:Class", an importable class'
    try:
        found = importlib.import_module(module)
        cls = found
        for part in name.split("."):
            cls = getattr(cls, part)
    except ImportError as err:
        raise ConfigError(field, spec, f"{expected} ({type(err).__name__}: {err})") from None
    except AttributeError:
        raise ConfigError(field, spec, f"{expected} ({module} has no {name!r})") from None
    return cls


def own_params(cls: type) -> dict[str, Param]:
    """The node attributes a class declares, merged down its bases (the kind's included)."""
    out: dict[str, Param] = {}
    for c in reversed(cls.__mro__):
        out.update(c.__dict__.get("params", {}))
    return out


def node_params(kind: str, spec: Any = None, field: str = "class") -> dict[str, Param]:
    """Every attribute a node of ``kind`` played by class ``spec`` takes.

    The kind's built-in ones need no import; a class of a researcher's adds its own.
    """
    if spec is None or spec == kind:
        return NODE_PARAMS[kind]
    return {**NODE_PARAMS[kind], **own_params(resolve(kind, spec, field))}


def node_config(kind: str, cls: type, attrs: Mapping[str, Any], field: str) -> dict[str, Any]:
    """The node's values of every attribute its class declares, checked, defaults filled
    in (the built-in ones are already checked by ``validate_network``)."""
    params = node_params(kind, cls, f"{field}.class")
    extra = {n: p for n, p in params.items() if n not in NODE_PARAMS[kind]}
    given = {n: attrs[n] for n in extra if attrs.get(n) is not None}
    try:
        values = check_params(extra, given)
    except ConfigError as err:
        raise ConfigError(f"{field}.{err.field}", err.value, err.expected) from None
    return {**{n: attrs.get(n) for n in NODE_PARAMS[kind]}, **values}


def adopt(agent: Any, config: Mapping[str, Any]) -> None:
    """Make the attributes an agent's class declares beyond its kind's its own attributes
    (``self.shelf_life``); the built-in ones each class keeps as it needs."""
    builtin = NODE_PARAMS.get(agent.kind, {})
    for name in own_params(type(agent)):
        if name not in builtin and name in config:
            setattr(agent, name, config[name])
