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
