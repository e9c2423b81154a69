"""Sums in one fixed order: left to right.

The model's results are defined down to the last bit by the order in which it adds.
Python's ``sum`` of floats is compensated (Neumaier) since 3.12, numpy's ``sum`` is
pairwise and BLAS's ``dot`` reorders and fuses multiply-adds in ways that depend on
the CPU. The agent model adds its totals and weighted sums left to right, with these
two functions, so that the batch engine (``pullchain.runs.batch``), which adds the
same terms over many replications at once, reproduces every run bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def ordered_sum(values: Iterable[float]) -> float:
    """x_1 + x_2 + ... + x_n, added left to right (0.0 when empty)."""
    total = 0.0
    for x in values:
        total += x
    return total


def ordered_dot(a: np.ndarray, b: np.ndarray) -> float:
    """a_1 b_1 + ... + a_n b_n: each product rounded, then added left to right."""
    if len(a) == 0:
        return 0.0
    return float(np.cumsum(a * b)[-1])
