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


def running_total(x: np.ndarray, axis: int) -> np.ndarray:
    """x_0 + x_1 + ... along ``axis``, left to right: ``np.cumsum(x, axis)``'s last value,
    bit for bit (x_0 itself, then each term added). A short axis beside a long rest is
    added term by term (numpy's cumsum pays for each short row); else numpy's cumsum."""
    n = x.shape[axis]
    if n == 0:
        return np.zeros(x.shape[:axis] + x.shape[axis + 1 :])
    if x.size < 64 * n:
        return np.take(np.cumsum(x, axis=axis), -1, axis=axis)
    terms = np.moveaxis(x, axis, 0)
    total = terms[0].copy()
    for term in terms[1:]:
        total += term
    return total


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


# -- numpy's pairwise sum, one term at a time (the batch engine's summaries) -------------------
BLOCK = 128  # numpy's PW_BLOCKSIZE


class PairwiseSum:
    """The sum of n terms (arrays of one shape) that numpy's sum of a contiguous axis of
    length n gives, bit for bit, taken one term at a time, so the terms need not be kept.

    numpy adds a contiguous axis pairwise (``DOUBLE_pairwise_sum``, numpy/_core/src/umath/
    loops_utils.h.src): a block of fewer than 8 terms left to right; of up to 128 terms
    in 8 running sums, a stride of 8 apart, combined as ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)),
    then the rest left to right; a longer run is split in two halves (the first a
    multiple of 8), each summed alike, and the two added. Its reduction starts from 0.0.
    The batch engine sums each period's figures into one of these as it steps, as the
    agent model's metrics sum a recorded series over its periods. The order is checked
    against this numpy once; if a numpy ever adds otherwise, the terms are kept and numpy
    sums them.

    Write each term into ``target()`` (copy it in, or add it when told to add), then
    ``advance()``; ``add(x)`` does both. ``total()`` once all n are in.
    """

    _numpy_order: bool | None = None

    def __init__(self, n: int, shape: tuple[int, ...]) -> None:
        if PairwiseSum._numpy_order is None:
            PairwiseSum._numpy_order = True  # checking needs the pairwise path itself
            PairwiseSum._numpy_order = _agrees_with_numpy()
        self.n, self.shape = n, tuple(shape)
        self._leaves: list[tuple[int, int]] = []
        self._parents: dict[tuple, tuple[int, int]] = {}
        _split(0, n, self._leaves, self._parents)
        self._kept: list[np.ndarray] | None = None if PairwiseSum._numpy_order else []
        self._leaf, self._k = 0, 0
        self._stack: list[tuple[tuple[int, int], np.ndarray]] = []
        big = any(m >= 8 for _, m in self._leaves)
        self._r = np.zeros((8, *self.shape)) if big and self._kept is None else None
        self._res = np.zeros(self.shape)
        self._start_leaf()

    def _start_leaf(self) -> None:
        self._k = 0
        if self._leaf < len(self._leaves):
            self._m = self._leaves[self._leaf][1]
            self._end = self._m - self._m % 8 if self._m >= 8 else 0

    def target(self) -> tuple[np.ndarray, bool]:
        """Where the next term goes, and whether it is added there (False: copied in)."""
        if self._kept is not None:
            self._kept.append(np.zeros(self.shape))
            return self._kept[-1], False
        if self._k < self._end:
            return self._r[self._k % 8], self._k >= 8
        return self._res, self._k > 0  # (a first term copied: 0.0 + x but for -0.0)

    def advance(self) -> None:
        """The term is in."""
        if self._kept is not None:
            return
        self._k += 1
        if self._k == self._end:
            r = self._r
            self._res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        if self._k == self._m:
            self._push(self._leaves[self._leaf], self._res)
            self._res = np.zeros(self.shape)
            self._leaf += 1
            self._start_leaf()

    def add(self, x: np.ndarray) -> None:
        target, adding = self.target()
        if adding:
            target += x
        else:
            target[...] = x
        self.advance()

    def _push(self, node: tuple[int, int], value: np.ndarray) -> None:
        stack = self._stack
        stack.append((node, value))
        while len(stack) >= 2 and (stack[-2][0], stack[-1][0]) in self._parents:
            (left, a), (right, b) = stack[-2], stack[-1]
            del stack[-2:]
            stack.append((self._parents[left, right], a + b))

    def total(self) -> np.ndarray:
        """The sum of the n terms."""
        if self._kept is not None:
            if len(self._kept) != self.n:
                raise ValueError(f"{len(self._kept)} of {self.n} terms added")
            if not self.n:
                return np.zeros(self.shape)
            return np.ascontiguousarray(np.moveaxis(np.stack(self._kept), 0, -1)).sum(axis=-1)
        if self._leaf != len(self._leaves):
            raise ValueError(f"{self._leaves[self._leaf][0] + self._k} of {self.n} terms added")
        if not self.n:
            return np.zeros(self.shape)
        ((_, value),) = self._stack
        return 0.0 + value


def _split(start: int, n: int, leaves: list, parents: dict) -> None:
    """numpy's blocks of a run of n terms from ``start``, in order, and which two make which."""
    if n <= BLOCK:
        if n:
            leaves.append((start, n))
        return
    half = n // 2
    half -= half % 8
    _split(start, half, leaves, parents)
    _split(start + half, n - half, leaves, parents)
    parents[(start, half), (start + half, n - half)] = (start, n)


def _agrees_with_numpy() -> bool:
    """Whether ``PairwiseSum`` adds as this numpy does, on lengths that take each branch."""
    rng = np.random.default_rng(0)
    for n in (1, 7, 8, 9, 15, 16, 36, 127, 128, 129, 200, 257, 1000, 1001):
        x = rng.standard_normal((n, 3)) * 10.0 ** rng.integers(-8, 8, (n, 3))
        stream = PairwiseSum(n, (3,))
        for term in x:
            stream.add(term)
        if not np.array_equal(stream.total(), np.ascontiguousarray(x.T).sum(axis=-1)):
            return False
    return True
