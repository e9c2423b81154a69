"""Disruptions: supplier outages, production stops and lead-time spikes.

A disruption is scheduled (a start and a duration) or random (each period, each
target is hit with probability ``rate``, drawn from the model's own disruption
stream, so both regimes of one seed suffer the same shocks). Kinds:

- ``outage``: the firm neither ships nor produces (a supplier outage; at a brand, a
  production interruption). Orders keep arriving and wait as backlog.
- ``lead_time``: shipments on an edge take ``extra`` more periods (a port closure).

The model calls ``apply(period)`` before anything else happens in the period.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ConfigError, check_choice, check_number
from .limits import check_delay
from .topology import Topology

KINDS = ("outage", "lead_time")


@dataclass(frozen=True)
class Event:
    """One disruption as it happened: what, when, and how long."""

    kind: str
    target: Hashable | tuple[Hashable, Hashable]
    start: int
    duration: int
    extra: int = 0

    def active(self, period: int) -> bool:
        return self.start <= period < self.start + self.duration


@dataclass(frozen=True)
class RandomShocks:
    """Shocks that strike each target with probability ``rate`` per period."""

    kind: str
    targets: tuple
    rate: float
    duration: int
    extra: int = 0
    start: int = 0


class Disruptions:
    """The disruptions of one run: fixed events plus random ones drawn as periods pass."""

    def __init__(
        self, specs: Sequence[Mapping[str, Any]], topology: Topology, rng: np.random.Generator
    ) -> None:
        self.events: list[Event] = []
        self.random: list[RandomShocks] = []
        for i, spec in enumerate(specs):
            item = parse(spec, topology, f"disruptions[{i}]")
            (self.events if isinstance(item, Event) else self.random).append(item)
        self.rng = rng
        self._drawn = -1
        # Only the scheduled events and the random ones not over yet are looked at each
        # period, so a long run of frequent shocks costs time in proportion to its length.
        self._scheduled = list(self.events)
        self._open: list[Event] = []
        self._last: dict[tuple[str, Hashable], Event] = {}  # the latest random event per target

    def __bool__(self) -> bool:
        return bool(self.events or self.random)

    def apply(self, period: int, firms: Mapping[Hashable, Any], lanes: Mapping) -> None:
        """Switch disruptions on and off for ``period``."""
        self._draw(period)
        self._open = [e for e in self._open if e.start + e.duration > period]
        down: set[Hashable] = set()
        extra: dict[tuple, int] = {}
        for event in [*self._scheduled, *self._open]:
            if event.active(period):
                if event.kind == "outage":
                    down.add(event.target)
                else:
                    extra[event.target] = max(extra.get(event.target, 0), event.extra)
        for node, firm in firms.items():
            firm.down = node in down
        for edge, lane in lanes.items():
            lane.extra_lead_time = extra.get(edge, 0)

    def _draw(self, period: int) -> None:
        """Random shocks starting in ``period``, drawn once per period, in order."""
        while self._drawn < period:
            self._drawn += 1
            t = self._drawn
            for shock in self.random:
                hits = self.rng.random(len(shock.targets)) < shock.rate
                if t < shock.start:
                    continue
                for target, hit in zip(shock.targets, hits, strict=True):
                    if hit and not self._busy(shock.kind, target, t):
                        event = Event(shock.kind, target, t, shock.duration, shock.extra)
                        self.events.append(event)
                        self._open.append(event)
                        self._last[shock.kind, target] = event

    def _busy(self, kind: str, target: Hashable, t: int) -> bool:
        """Whether an event of ``kind`` holds ``target`` in period ``t`` already.

        Random events of one target never overlap (one starts only when none holds), so
        the latest is the only one that can.
        """
        last = self._last.get((kind, target))
        if last is not None and last.active(t):
            return True
        return any(e.target == target and e.kind == kind and e.active(t) for e in self._scheduled)

    def first_start(self) -> int | None:
        """The period the first disruption began, if any has."""
        return min((e.start for e in self.events), default=None)


def _node(topology: Topology, value: Any, field: str) -> Hashable:
    names = {str(n): n for n in topology.firms}
    names.update(
        {
            str(label): n
            for n, label in topology.graph.nodes(data="label")
            if n in topology.firm_index
        }
    )
    if str(value) not in names:
        raise ConfigError(field, value, "the id or label of a firm in the network")
    return names[str(value)]


def _edge(topology: Topology, value: Any, field: str) -> tuple:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ConfigError(field, value, "an edge as [supplier, customer]")
    u, v = (_node(topology, x, field) for x in value)
    if not topology.graph.has_edge(u, v):
        raise ConfigError(field, value, "an edge of the network (supplier, customer)")
    return (u, v)


def parse(spec: Mapping[str, Any], topology: Topology, field: str) -> Event | RandomShocks:
    """One disruption from its description, checked against the network."""
    if not isinstance(spec, Mapping):
        raise ConfigError(field, spec, "a table describing a disruption")
    known = {"kind", "node", "edge", "start", "duration", "extra", "rate", "targets"}
    for key in spec:
        if key not in known:
            raise ConfigError(f"{field}.{key}", spec[key], "one of " + ", ".join(sorted(known)))
    kind = check_choice(f"{field}.kind", spec.get("kind"), KINDS)
    duration = check_number(f"{field}.duration", spec.get("duration", 1), minimum=1, integer=True)
    start = check_number(f"{field}.start", spec.get("start", 0), minimum=0, integer=True)
    extra = 0
    if kind == "lead_time":
        extra = check_number(f"{field}.extra", spec.get("extra"), minimum=1, integer=True)
        check_delay(f"{field}.extra", extra)
    if "rate" in spec:
        rate = check_number(f"{field}.rate", spec["rate"], minimum=0, maximum=1)
        targets = spec.get("targets")
        if kind == "outage":
            if isinstance(targets, str):
                found = tuple(f for f in topology.firms if topology.kind(f) == targets)
                if not found:
                    raise ConfigError(f"{field}.targets", targets, "a kind of firm in the network")
            elif isinstance(targets, list) and targets:
                found = tuple(_node(topology, t, f"{field}.targets") for t in targets)
            else:
                raise ConfigError(f"{field}.targets", targets, "a kind of firm or a list of firms")
        else:
            if not isinstance(targets, list) or not targets:
                raise ConfigError(
                    f"{field}.targets", targets, "a list of edges [supplier, customer]"
                )
            found = tuple(_edge(topology, e, f"{field}.targets") for e in targets)
        return RandomShocks(kind, found, rate, duration, extra, start)
    if kind == "outage":
        target = _node(topology, spec.get("node"), f"{field}.node")
    else:
        target = _edge(topology, spec.get("edge"), f"{field}.edge")
    return Event(kind, target, start, duration, extra)
