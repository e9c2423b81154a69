"""Sharing out scarce stock, for many replications at once (``pullchain.agents.allocation``).

Each rule takes ``available`` (R,), ``owed`` and ``owed_since`` (lanes, R) and, for
``need``, the lanes' needs and where they are visible, and returns what to ship on each
lane, (lanes, R): the agent rule's answer in every replication, bit for bit. Where the
agent rule sorts its customers or loops until stock runs out, this walks the same
order with one step per lane, masked where a replication's loop has already stopped.
"""

from __future__ import annotations

import numpy as np

from pullchain.agents import allocation as al
from pullchain.network.sums import ordered_sum_rows


def proportional(available, owed, owed_since=None, needs=None, visible=None) -> np.ndarray:
    """``available * owed_i / sum(owed)`` for the lanes owed something."""
    positive = owed > 0
    total = ordered_sum_rows(np.where(positive, owed, 0.0))
    ratio = available / np.where(total > 0, total, 1.0)
    return np.where(positive & (total > 0), owed * ratio, 0.0)


def fcfs(available, owed, owed_since, needs=None, visible=None) -> np.ndarray:
    """Oldest unfilled order first (ties in lane order), each in full while stock lasts."""
    lanes, reps = owed.shape
    ship = np.zeros_like(owed)
    # sorted((owed_since[i], i)) per replication: a stable sort on owed_since
    order = np.argsort(owed_since, axis=0, kind="stable")
    cols = np.arange(reps)
    going = np.ones(reps, dtype=bool)
    left = available.copy()
    for k in range(lanes):
        i = order[k]
        o = owed[i, cols]
        here = going & (o > 0)
        give = np.minimum(o, left)
        ship[i, cols] = np.where(here, give, 0.0)
        left = np.where(here, left - give, left)
        going &= ~(here & (left <= 0))
    return ship


def equal(available, owed, owed_since=None, needs=None, visible=None) -> np.ndarray:
    """Equal shares, smallest claim first, the remainder going round to the others."""
    lanes, reps = owed.shape
    ship = np.zeros_like(owed)
    positive = owed > 0
    # sorted((o, i)) over the open lanes: smallest first, ties in lane order
    key = np.where(positive, owed, np.inf)
    order = np.argsort(key, axis=0, kind="stable")
    n_open = positive.sum(axis=0)
    cols = np.arange(reps)
    left = available.copy()
    for k in range(lanes):
        i = order[k]
        here = k < n_open
        o = owed[i, cols]
        give = np.minimum(o, left / np.where(here, n_open - k, 1))
        ship[i, cols] = np.where(here, give, 0.0)
        left = np.where(here, left - give, left)
    return ship


def by_need(available, owed, owed_since, needs, visible) -> np.ndarray:
    """In proportion to need where it is visible (rounds of water-filling), else
    proportional (``allocation.ByNeed``)."""
    lanes, _reps = owed.shape
    ship = np.zeros_like(owed)
    is_open = owed > 0
    left = available.copy()
    going = visible.copy()
    need = np.maximum(needs, 0.0)
    for _ in range(lanes + 1):
        going &= is_open.any(axis=0) & (left > 1e-12)
        if not going.any():
            break
        weight = ordered_sum_rows(np.where(is_open, need, 0.0))
        flat = going & (weight <= 0)
        if flat.any():  # no need left: the rest in proportion to what is still owed
            rest = np.where(is_open, owed - ship, 0.0)
            ship = np.where(flat[None, :], ship + proportional(left, rest), ship)
            going &= ~flat
        share = left * need / np.where(weight > 0, weight, 1.0)
        give = np.where(is_open & going[None, :], np.minimum(owed - ship, share), 0.0)
        ship = ship + give
        handed = ordered_sum_rows(give)
        still = is_open & (owed - ship > 1e-12)
        left = np.where(going, left - handed, left)
        stop = going & ((handed <= 1e-12) | (still.sum(axis=0) == is_open.sum(axis=0)))
        is_open = np.where(going[None, :], still, is_open)
        going &= ~stop
    hidden = ~visible
    if hidden.any():
        ship = np.where(hidden[None, :], proportional(available, owed), ship)
    return ship


RULES = {
    al.Proportional: proportional,
    al.FirstComeFirstServed: fcfs,
    al.Equal: equal,
    al.ByNeed: by_need,
}
