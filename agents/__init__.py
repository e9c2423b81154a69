"""Who decides: consumers and firms, and the rules they decide by.

Each building block is a class registered by name, so a scenario or a network
attribute can refer to it and a researcher can add one without editing pullchain:
``POLICIES``, ``FORECASTS``, ``DEMANDS``, ``ALLOCATIONS`` and ``AGENTS`` (agent classes,
``pullchain.agents.kinds``).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Agent classes import Mesa, which takes seconds; the registries do not need it, so
# everything is loaded on first use (checking a scenario file should not wait for Mesa).
_WHERE = {
    "AGENTS": "kinds",
    "ALLOCATIONS": "allocation",
    "AllocationRule": "allocation",
    "Consumer": "consumers",
    "DEMANDS": "demand",
    "DemandProcess": "demand",
    "Brand": "firms",
    "Distributor": "firms",
    "Firm": "firms",
    "Producer": "firms",
    "Retailer": "firms",
    "Supplier": "firms",
    "FORECASTS": "forecasts",
    "Forecast": "forecasts",
    "POLICIES": "policies",
    "OrderingPolicy": "policies",
    "Situation": "policies",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(name)
