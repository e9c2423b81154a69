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


# -- the same sums over many replications at once (the batch engine) ---------------------
def ordered_sum_rows(stack: np.ndarray) -> np.ndarray:
    """``ordered_sum`` down the first axis of an (n, R) array: one total per column.

    numpy adds the rows of a C-ordered (n, R) array one after another when R >= 2, but
    pairwise when R == 1; a cumulative sum is left to right whatever the shape.
    """
    n = stack.shape[0]
    if n == 0:
        return np.zeros(stack.shape[1:])
    if n == 1:
        return stack[0] + 0.0
    if stack.ndim == 2 and stack.shape[1] >= 2 and stack.flags.c_contiguous:
        return np.add.reduce(stack, axis=0)
    return np.cumsum(stack, axis=0)[-1]


def fsum_rows(stack: np.ndarray) -> np.ndarray:
    """``math.fsum`` down the first axis of an (n, R) array, bit for bit.

    The sum of each column is kept exactly as a few floats (Shewchuk's expansion: each
    new value is added with error-free two-sums, as ``math.fsum`` keeps its partials),
    then rounded to the nearest float as ``math.fsum`` rounds its partials, top down,
    with its correction for halfway cases.
    """
    parts: list[np.ndarray] = []
    for x in stack:
        grown = []
        for p in parts:
            hi = x + p
            back = hi - x
            grown.append((x - (hi - back)) + (p - back))  # the exact error of x + p
            x = hi
        grown.append(x)
        parts = grown
    if not parts:
        return np.zeros(stack.shape[1:])
    hi = parts[-1]
    lo = np.zeros_like(hi)
    done = np.zeros(hi.shape, dtype=bool)
    below = np.zeros_like(hi)  # the sign of the first non-zero part below the break
    for k in range(len(parts) - 2, -1, -1):
        y = parts[k]
        total = hi + y
        rest = y - (total - hi)
        going = ~done
        hi = np.where(going, total, hi)
        lo = np.where(going, rest, lo)
        broke = going & (rest != 0.0)
        done |= broke
        if broke.any():
            sign = np.zeros_like(hi)
            for j in range(k - 1, -1, -1):  # the next non-zero part down
                sign = np.where(sign == 0.0, np.sign(parts[j]), sign)
            below = np.where(broke, sign, below)
    fix = done & (((lo < 0.0) & (below < 0.0)) | ((lo > 0.0) & (below > 0.0)))
    if fix.any():
        y = lo * 2.0
        x = hi + y
        hi = np.where(fix & (y == x - hi), x, hi)
    return hi
