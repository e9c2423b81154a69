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
    from pullchain.network.params import Param

    @DEMANDS.register("weekend")
    class Weekend(DemandProcess):
        params = {
            "weekday": Param(5.0, "mean demand Monday to Friday", minimum=0),
            "weekend": Param(12.0, "mean demand on Saturday and Sunday", minimum=0),
        }
        def mean(self, period): return self.weekend if period % 7 >= 5 else self.weekday
        def draw(self, period): return float(self.rng.poisson(self.mean(period)))

and then uses ``demand: weekend`` in a network or ``DEMANDS.create("weekend", {...})``.
(``self.rng`` raises a clear RuntimeError if the process was never bound.)
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from pullchain.network.params import Configurable, Param
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


class DemandProcess(Configurable, ABC):
    """Demand of one consumer (or segment) per period.

    Draws only from the generator bound to it, so a model's two regimes see the
    very same demand when they bind equal streams.

    Subclasses declare their parameters in ``params`` (checked, with a ``ConfigError``
    naming the parameter, and kept as attributes), implement ``draw`` and ``mean``, and
    use ``self.rng`` for randomness. A subclass that
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


def _rate(default: float, doc: str, **bounds: Any) -> Param:
    """A demand rate or level: units per period, >= 0 unless said otherwise."""
    return Param(default, doc, unit="units per period", **({"minimum": 0} | bounds))


DEMANDS: Registry[DemandProcess] = Registry("demand process", "DEMANDS")


@DEMANDS.register("constant")
class ConstantDemand(DemandProcess):
    """The same demand every period: d_t = level."""

    params: ClassVar[dict[str, Param]] = {
        "level": _rate(10.0, "the same demand every period"),
    }

    def draw(self, period: int) -> float:
        if self._rng is None:
            raise self._unbound()
        return self.level

    def mean(self, period: int) -> float:
        return self.level


@DEMANDS.register("step")
class StepDemand(DemandProcess):
    """A one-off change: d_t = before for t < at, after from period ``at`` on."""

    params: ClassVar[dict[str, Param]] = {
        "before": _rate(4.0, "demand before period `at`"),
        "after": _rate(8.0, "demand from period `at` on"),
        "at": Param(4, "the period of the step (0-based)", unit="period", minimum=0),
    }

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

    params: ClassVar[dict[str, Param]] = {
        "mean": _rate(10.0, "independent normal demand, mean", attr="mean_"),
        "std": _rate(3.0, "its standard deviation"),
    }

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

    params: ClassVar[dict[str, Param]] = {
        "mean": _rate(10.0, "independent Poisson counts with this mean", maximum=1e9, attr="mean_"),
    }

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

    params: ClassVar[dict[str, Param]] = {
        "mean": _rate(
            10.0, "autocorrelated demand: d_t = mean + rho (d_{t-1} - mean) + noise", attr="mean_"
        ),
        "std": _rate(
            3.0, "standard deviation of the innovation (stationary std = std / sqrt(1 - rho^2))"
        ),
        "rho": Param(
            0.5, "lag-1 autocorrelation", unit="-", minimum=-1, above=True, maximum=1, below=True
        ),
    }

    def __init__(self, *args: Any, **params: Any) -> None:
        super().__init__(*args, **params)
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

    params: ClassVar[dict[str, Param]] = {
        "mean": _rate(
            10.0,
            "a sine-wave season: mean + amplitude sin(2 pi (t + phase) / cycle), plus noise",
            attr="mean_",
        ),
        "amplitude": _rate(3.0, "height of the wave"),
        "cycle": Param(52, "length of one season", type="float", unit="periods", minimum=0,
                       above=True),
        "phase": Param(0, "shift of the wave", type="float", unit="periods"),
        "std": _rate(0.0, "normal noise added each period"),
    }  # fmt: skip

    def __init__(self, *args: Any, **params: Any) -> None:
        super().__init__(*args, **params)
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

    params: ClassVar[dict[str, Param]] = {
        "base": _rate(
            2.0,
            "a boom and fade: `base` until `start`, a linear rise to `peak` over `rise` "
            "periods, then exponential decay back to `base`",
        ),
        "peak": _rate(20.0, "demand at the top"),
        "start": Param(10, "when the rise starts", unit="period", minimum=0),
        "rise": Param(5, "length of the rise (0: jump)", unit="periods", minimum=0),
        "fade": Param(10.0, "time constant of the decay", unit="periods", minimum=0, above=True),
        "std": _rate(0.0, "normal noise added each period"),
        "end": Param(
            -1,
            "from this period on the product is off the market: demand is 0. When `end` is "
            "set, noise is added only where the path is above 0",
            unit="period", minimum=-1, default_doc="never",
        ),
    }  # fmt: skip

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

    params: ClassVar[dict[str, Param]] = {
        "series": Param(
            (10.0,), "a recorded series played back from period 0", type="list",
            unit="units per period", minimum=0,
        ),
        "after": Param(
            "repeat", "after the end: cycle the series, hold its last value, or give 0",
            unit="name", choices=_AFTER_MODES,
        ),
    }  # fmt: skip

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
