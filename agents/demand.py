"""Consumer demand processes: how much one consumer (or segment) wants each period.

Each process is a small object built from keyword parameters, bound once to its
own random generator by the model, then asked for one draw per period
(periods 0, 1, 2, ... in order). It draws only from that generator, so two
regimes that bind equal streams see the very same demand, bit for bit. Random
numbers are taken from the generator in blocks of ``BLOCK`` for speed, so give
each process its own generator (e.g. ``np.random.SeedSequence.spawn``): a
generator shared between processes is consumed in an order that depends on
which process refills first.

Built-in processes (``DEMANDS`` names): constant, step, normal, poisson, ar1,
seasonal, fad, replay. Every draw is clipped at 0. A researcher adds one like this::

    from pullchain.agents.demand import DEMANDS, DemandProcess
    from pullchain.network.errors import check_number

    @DEMANDS.register("weekend")
    class Weekend(DemandProcess):
        def __init__(self, weekday=5.0, weekend=12.0):
            self.weekday = check_number("weekday", weekday, minimum=0)
            self.weekend = check_number("weekend", weekend, minimum=0)
        def mean(self, period): return self.weekend if period % 7 >= 5 else self.weekday
        def draw(self, period): return float(self.rng.poisson(self.mean(period)))

and then uses ``demand: weekend`` in a network or ``DEMANDS.create("weekend", {...})``.
(``self.rng`` raises a clear RuntimeError if the process was never bound.)
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from pullchain.network.errors import ConfigError, check_choice, check_number
from pullchain.network.registry import Registry

__all__ = [
    "BLOCK",
    "DEMANDS",
    "AR1Demand",
    "ConstantDemand",
    "DemandProcess",
    "FadDemand",
    "NormalDemand",
    "PoissonDemand",
    "ReplayDemand",
    "SeasonalDemand",
    "StepDemand",
]

#: How many random numbers a process takes from its generator at a time.
BLOCK = 256

_EMPTY: tuple[float, ...] = ()


class DemandProcess(ABC):
    """Demand of one consumer (or segment) per period.

    Draws only from the generator bound to it, so a model's two regimes see the
    very same demand when they bind equal streams.

    Subclasses take their parameters as constructor keywords (validated with
    ``check_number`` / ``ConfigError`` naming the parameter), implement
    ``draw`` and ``mean``, and use ``self.rng`` for randomness. A subclass that
    keeps state across periods overrides ``bind`` (calling ``super().bind``)
    to reset it, so binding again restarts the process.
    """

    registry_name: ClassVar[str]
    _rng: np.random.Generator | None = None

    def bind(self, rng: np.random.Generator) -> None:
        """Attach the generator to draw from; called once by the model before period 0."""
        if not isinstance(rng, np.random.Generator):
            raise TypeError(
                f"{type(self).__name__}.bind needs a numpy.random.Generator, got {rng!r}"
            )
        self._rng = rng

    @property
    def rng(self) -> np.random.Generator:
        """The bound generator; RuntimeError if ``bind`` was not called yet."""
        if self._rng is None:
            raise self._unbound()
        return self._rng

    def _unbound(self) -> RuntimeError:
        return RuntimeError(
            f"{type(self).__name__}.draw called before bind(rng): the model must bind "
            "a numpy.random.Generator to every demand process before period 0"
        )

    @abstractmethod
    def draw(self, period: int) -> float:
        """Demand in ``period`` (>= 0); called exactly once per period, in order."""

    @abstractmethod
    def mean(self, period: int) -> float:
        """Expected demand in ``period`` (primes forecasts and initial stock)."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"


class _NormalBlocks(DemandProcess):
    """Shared machinery: standard normals served from blocks of ``BLOCK``."""

    _z: Any = iter(_EMPTY)

    def bind(self, rng: np.random.Generator) -> None:
        super().bind(rng)
        self._z = iter(_EMPTY)

    def _normal(self) -> float:
        """The next standard normal, from the current block or a new one."""
        try:
            return next(self._z)
        except StopIteration:
            return self._refill()

    def _refill(self) -> float:
        """Take the next block from the generator and return its first number."""
        if self._rng is None:
            raise self._unbound()
        self._z = iter(self._rng.standard_normal(BLOCK).tolist())
        return next(self._z)


def _nonneg(field: str, value: Any) -> float:
    return float(check_number(field, value, minimum=0))


DEMANDS: Registry[DemandProcess] = Registry("demand process")


@DEMANDS.register("constant")
class ConstantDemand(DemandProcess):
    """The same demand every period: d_t = level."""

    def __init__(self, level: float = 10.0) -> None:
        self.level = _nonneg("level", level)

    def draw(self, period: int) -> float:
        if self._rng is None:
            raise self._unbound()
        return self.level

    def mean(self, period: int) -> float:
        return self.level


@DEMANDS.register("step")
class StepDemand(DemandProcess):
    """A one-off change: d_t = before for t < at, after from period ``at`` on."""

    def __init__(self, before: float = 4.0, after: float = 8.0, at: int = 4) -> None:
        self.before = _nonneg("before", before)
        self.after = _nonneg("after", after)
        self.at = int(check_number("at", at, minimum=0, integer=True))

    def draw(self, period: int) -> float:
        if self._rng is None:
            raise self._unbound()
        return self.before if period < self.at else self.after

    def mean(self, period: int) -> float:
        return self.before if period < self.at else self.after


@DEMANDS.register("normal")
class NormalDemand(_NormalBlocks):
    """Independent normal demand clipped at 0: d_t = max(0, mean + std z_t), z_t ~ N(0, 1).

    Clipping raises the mean and lowers the variance of what is drawn; the effect
    is negligible while std is small against mean (P(clip) = 0.04 % at std =
    mean/3.5) but large when std is comparable to mean. ``mean()`` returns the
    parameter ``mean``, the unclipped expectation.
    """

    def __init__(self, mean: float = 10.0, std: float = 3.0) -> None:
        self.mean_ = _nonneg("mean", mean)
        self.std = _nonneg("std", std)

    def draw(self, period: int) -> float:
        z = self._normal()
        d = self.mean_ + self.std * z
        return d if d > 0.0 else 0.0

    def mean(self, period: int) -> float:
        return self.mean_

    def __repr__(self) -> str:
        return f"NormalDemand(mean={self.mean_!r}, std={self.std!r})"


@DEMANDS.register("poisson")
class PoissonDemand(DemandProcess):
    """Independent Poisson counts: d_t ~ Poisson(mean), so Var d_t = mean."""

    _k: Any = iter(_EMPTY)

    def __init__(self, mean: float = 10.0) -> None:
        self.mean_ = float(check_number("mean", mean, minimum=0, maximum=1e9))

    def bind(self, rng: np.random.Generator) -> None:
        super().bind(rng)
        self._k = iter(_EMPTY)

    def draw(self, period: int) -> float:
        try:
            return next(self._k)
        except StopIteration:
            if self._rng is None:
                raise self._unbound() from None
            self._k = iter(self._rng.poisson(self.mean_, BLOCK).astype(float).tolist())
            return next(self._k)

    def mean(self, period: int) -> float:
        return self.mean_

    def __repr__(self) -> str:
        return f"PoissonDemand(mean={self.mean_!r})"


@DEMANDS.register("ar1")
class AR1Demand(_NormalBlocks):
    """Autocorrelated demand, AR(1) around ``mean``, clipped at 0.

    x_t = rho x_{t-1} + std z_t,  z_t ~ N(0, 1),  d_t = max(0, mean + x_t),

    i.e. d_t = mean + rho (d_{t-1} - mean) + eps_t with eps_t ~ N(0, std^2) before
    clipping. ``std`` is the innovation's standard deviation; the stationary
    standard deviation of demand is std / sqrt(1 - rho^2) and its lag-k
    autocorrelation rho^k. Requires |rho| < 1. The process starts in its
    stationary distribution (x_{-1} is drawn from N(0, std^2 / (1 - rho^2)) at
    bind), and clipping affects only what is returned: the unclipped state x_t
    carries on.
    """

    def __init__(self, mean: float = 10.0, std: float = 3.0, rho: float = 0.5) -> None:
        self.mean_ = _nonneg("mean", mean)
        self.std = _nonneg("std", std)
        rho = check_number("rho", rho)
        if not -1.0 < rho < 1.0:
            raise ConfigError("rho", rho, "a number > -1 and < 1")
        self.rho = float(rho)
        self._x = 0.0

    @property
    def stationary_std(self) -> float:
        """Standard deviation of the unclipped demand: std / sqrt(1 - rho^2)."""
        return self.std / math.sqrt(1.0 - self.rho * self.rho)

    def bind(self, rng: np.random.Generator) -> None:
        super().bind(rng)
        self._x = self.stationary_std * self._refill()

    def draw(self, period: int) -> float:
        z = self._normal()
        x = self.rho * self._x + self.std * z
        self._x = x
        d = self.mean_ + x
        return d if d > 0.0 else 0.0

    def mean(self, period: int) -> float:
        return self.mean_

    def __repr__(self) -> str:
        return f"AR1Demand(mean={self.mean_!r}, std={self.std!r}, rho={self.rho!r})"


@DEMANDS.register("seasonal")
class SeasonalDemand(_NormalBlocks):
    """A sine-wave season with optional noise, clipped at 0.

    m_t = mean + amplitude sin(2 pi (t + phase) / cycle),  d_t = max(0, m_t + std z_t).

    ``mean(t)`` returns max(0, m_t): exact when std = 0, the unclipped
    expectation otherwise. With std = 0 no random numbers are used.
    """

    def __init__(
        self,
        mean: float = 10.0,
        amplitude: float = 3.0,
        cycle: float = 52,
        phase: float = 0,
        std: float = 0.0,
    ) -> None:
        self.mean_ = _nonneg("mean", mean)
        self.amplitude = _nonneg("amplitude", amplitude)
        self.cycle = float(check_number("cycle", cycle, minimum=0, strict_minimum=True))
        self.phase = float(check_number("phase", phase))
        self.std = _nonneg("std", std)
        self._omega = 2.0 * math.pi / self.cycle

    def _m(self, period: int) -> float:
        return self.mean_ + self.amplitude * math.sin(self._omega * (period + self.phase))

    def draw(self, period: int) -> float:
        if self.std > 0.0:
            z = self._normal()
            d = self._m(period) + self.std * z
        else:
            if self._rng is None:
                raise self._unbound()
            d = self._m(period)
        return d if d > 0.0 else 0.0

    def mean(self, period: int) -> float:
        return max(0.0, self._m(period))

    def __repr__(self) -> str:
        return (
            f"SeasonalDemand(mean={self.mean_!r}, amplitude={self.amplitude!r}, "
            f"cycle={self.cycle!r}, phase={self.phase!r}, std={self.std!r})"
        )


@DEMANDS.register("fad")
class FadDemand(_NormalBlocks):
    """A product that booms and fades, with optional additive noise, clipped at 0.

    m_t = base                                          for t < start
        = base + (peak - base) (t - start) / rise       for start <= t < start + rise
        = base + (peak - base) exp(-(t - start - rise) / fade)   from t = start + rise on

    so demand climbs linearly to ``peak`` (reached exactly at t = start + rise;
    rise = 0 jumps there at ``start``), then decays exponentially back toward
    ``base`` with time constant ``fade`` (the excess over base shrinks by 1/e
    every ``fade`` periods, to under 1 % after 4.6 fade). d_t = max(0, m_t + std z_t);
    ``mean(t)`` returns m_t. With std = 0 no random numbers are used. A peak
    below base gives a dip instead. From period ``end`` on (if >= 0) the product is
    off the market: m_t = 0 and demand is 0.
    """

    def __init__(
        self,
        base: float = 2.0,
        peak: float = 20.0,
        start: int = 10,
        rise: int = 5,
        fade: float = 10.0,
        std: float = 0.0,
        end: int = -1,
    ) -> None:
        self.base = _nonneg("base", base)
        self.peak = _nonneg("peak", peak)
        self.start = int(check_number("start", start, minimum=0, integer=True))
        self.rise = int(check_number("rise", rise, minimum=0, integer=True))
        self.fade = float(check_number("fade", fade, minimum=0, strict_minimum=True))
        self.std = _nonneg("std", std)
        self.end = int(check_number("end", end, minimum=-1, integer=True))

    def _m(self, period: int) -> float:
        if 0 <= self.end <= period:
            return 0.0
        t = period - self.start
        if t < 0:
            return self.base
        if t < self.rise:
            return self.base + (self.peak - self.base) * t / self.rise
        return self.base + (self.peak - self.base) * math.exp(-(t - self.rise) / self.fade)

    def draw(self, period: int) -> float:
        if self.std > 0.0:
            z = self._normal()
            m = self._m(period)
            d = m + self.std * z if m > 0.0 or self.end < 0 else 0.0
        else:
            if self._rng is None:
                raise self._unbound()
            d = self._m(period)
        return d if d > 0.0 else 0.0

    def mean(self, period: int) -> float:
        return self._m(period)


_AFTER_MODES = ("repeat", "last", "zero")


@DEMANDS.register("replay")
class ReplayDemand(DemandProcess):
    """Plays back a recorded series: d_t = series[t] while t < len(series).

    After the end, ``after`` decides: "repeat" cycles (d_t = series[t mod n]),
    "last" holds the last value, "zero" gives 0. No random numbers are used.
    """

    def __init__(self, series: Sequence[float] = (10.0,), after: str = "repeat") -> None:
        if isinstance(series, np.ndarray):
            series = series.tolist()
        if isinstance(series, str | bytes) or not isinstance(series, Sequence):
            raise ConfigError("series", series, "a non-empty list of numbers >= 0")
        if len(series) == 0:
            raise ConfigError("series", series, "a non-empty list of numbers >= 0")
        self.series = tuple(_nonneg(f"series[{i}]", v) for i, v in enumerate(series))
        self.after = check_choice("after", after, _AFTER_MODES)

    def _value(self, period: int) -> float:
        s = self.series
        n = len(s)
        if period < n:
            return s[period] if period >= 0 else s[0]
        if self.after == "repeat":
            return s[period % n]
        if self.after == "last":
            return s[-1]
        return 0.0

    def draw(self, period: int) -> float:
        if self._rng is None:
            raise self._unbound()
        return self._value(period)

    def mean(self, period: int) -> float:
        return self._value(period)

    def __repr__(self) -> str:
        return f"ReplayDemand(series=<{len(self.series)} values>, after={self.after!r})"
