"""The random streams of a run, each derived from the run's seed with a fixed key.

Independent streams, so that one does not shift when another is used more: consumer
demand is the same under every regime (common random numbers). Both engines, the agent
model and the batch engine, take their numbers from these.
"""

from __future__ import annotations

import numpy as np

STREAM_DEMAND = 0  # consumer i: (STREAM_DEMAND, i)
STREAM_REGIME = 1  # the regime's choice of participants
STREAM_DISRUPTION = 2  # random shocks


def stream(seed: int, *key: int) -> np.random.Generator:
    """An independent generator for one purpose, derived from ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


# -- many streams at once: numpy's SeedSequence and PCG64 seeding, vectorised ----------------
# Creating a Generator per stream costs tens of microseconds, most of it in SeedSequence's
# Python-level set-up; a batch of 100 replications of 10,000 consumers needs a million
# streams. ``pcg64_seeds`` computes the very states numpy would give every stream
# (the SeedSequence algorithm of NEP 19, which numpy keeps stable, then PCG64's
# seeding), for many streams of one seed at once; ``StreamDraws`` then draws from each
# with one reused bit generator. ``check_seeds`` compares a sample with numpy itself.
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_POOL = 4
_MASK128 = (1 << 128) - 1
_PCG_MULT = 0x2360ED051FC65DA44385DF649FCCF645


def _words(n: int) -> list[int]:
    """An integer's 32-bit words, least significant first (numpy's _int_to_uint32_array)."""
    out = [n & 0xFFFFFFFF]
    n >>= 32
    while n > 0:
        out.append(n & 0xFFFFFFFF)
        n >>= 32
    return out


def pcg64_seeds(seed: int, key: tuple[int, ...], indices: np.ndarray) -> list[tuple[int, int]]:
    """PCG64's (state, inc) of ``stream(seed, *key, i)`` for each i of ``indices``."""
    u = np.uint32
    count = len(indices)
    run = _words(seed)
    run += [0] * (_POOL - len(run))  # a spawned sequence pads its entropy to the pool
    rows = [*run, *(w for k in key for w in _words(k))]
    entropy = [np.full(count, w, dtype=u) for w in rows] + [np.asarray(indices, dtype=u)]
    with np.errstate(over="ignore"):
        h = u(_INIT_A)

        def hashmix(value):
            nonlocal h
            value = value ^ h
            h = u(h * u(_MULT_A))
            value = value * h
            return value ^ (value >> u(16))

        def mix(x, y):
            result = u(_MIX_L) * x - u(_MIX_R) * y
            return result ^ (result >> u(16))

        zero = np.zeros(count, dtype=u)
        pool = [hashmix(entropy[i] if i < len(entropy) else zero) for i in range(_POOL)]
        for src in range(_POOL):
            for dst in range(_POOL):
                if src != dst:
                    pool[dst] = mix(pool[dst], hashmix(pool[src]))
        for src in range(_POOL, len(entropy)):
            for dst in range(_POOL):
                pool[dst] = mix(pool[dst], hashmix(entropy[src]))
        h = u(_INIT_B)
        state = []
        for i in range(8):  # generate_state(4, uint64): 8 words, paired little-endian
            value = pool[i % _POOL] ^ h
            h = u(h * u(_MULT_B))
            value = value * h
            state.append(value ^ (value >> u(16)))
    w = [s.tolist() for s in state]
    out = []
    for k in range(count):
        v = [w[2 * j][k] | (w[2 * j + 1][k] << 32) for j in range(4)]
        initstate, inc = (v[0] << 64) | v[1], (((v[2] << 64) | v[3]) << 1 | 1) & _MASK128
        out.append((((inc + initstate) * _PCG_MULT + inc) & _MASK128, inc))
    return out


def check_seeds(seed: int, key: tuple[int, ...], indices: np.ndarray) -> bool:
    """Whether ``pcg64_seeds`` agrees with numpy on the first and last of ``indices``."""
    if not len(indices):
        return True
    sample = np.array([indices[0], indices[-1]])
    for i, (state, inc) in zip(sample, pcg64_seeds(seed, key, sample), strict=True):
        bits = np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(*key, int(i))))
        if bits.state["state"] != {"state": state, "inc": inc}:
            return False
    return True


class StreamDraws:
    """Numbers from many streams through one reused PCG64: each stream's position is kept
    as its (state, inc), so a stream costs a few integers, not a Generator."""

    def __init__(self, states: list[tuple[int, int]]) -> None:
        self.states = states
        self._bits = np.random.PCG64(0)
        self._generator = np.random.Generator(self._bits)
        self._state = {"bit_generator": "PCG64", "state": {"state": 0, "inc": 0},
                       "has_uint32": 0, "uinteger": 0}  # fmt: skip

    def take(self, k: int, draw, keep: bool = True) -> np.ndarray:
        """``draw(generator)`` from stream k (its next numbers); ``keep`` its new position."""
        inner = self._state["state"]
        inner["state"], inner["inc"] = self.states[k]
        self._bits.state = self._state
        out = draw(self._generator)
        if keep:
            self.states[k] = (self._bits.state["state"]["state"], self.states[k][1])
        return out
