"""Demand forecasts used by ordering policies.

A forecast sees one signal per period (the demand or the orders a node
received), is updated at the end of that period with it, and then predicts
demand per period. The newest observation is included, the convention of the
bullwhip theory (Chen, Drezner, Ryan & Simchi-Levi 2000): a policy ordering at
the end of period t uses the forecast that already contains x_t.

Built-in forecasts (``FORECASTS`` names):

- ``moving_average(window=p)``: F_t = (x_t + x_{t-1} + ... + x_{t-p+1}) / p
- ``exponential_smoothing(alpha)``: F_t = alpha x_t + (1 - alpha) F_{t-1}
  (computed as F_{t-1} + alpha (x_t - F_{t-1}))
- ``naive()``: F_t = x_t
- ``constant(level=None)``: F_t = level, never updated (base stock without forecasting)

Use ``reset(level)`` to prime a forecast as if ``level`` had been observed
forever (steady state). A forecast that was never reset primes itself with its
first observation, i.e. ``update(x)`` on a fresh forecast equals ``reset(x)``
followed by ``update(x)``. Reading ``value`` before either raises RuntimeError.

Add your own by subclassing ``Forecast`` (declare its ``params``, implement ``reset``
and ``update``, keep ``self._value`` current) and decorating it with
``@FORECASTS.register("name")``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from typing import Any, ClassVar

from pullchain.network.limits import check_window
from pullchain.network.params import Configurable, Param
from pullchain.network.registry import Registry

__all__ = [
    "FORECASTS",
    "ConstantForecast",
    "ExponentialSmoothing",
    "Forecast",
    "MovingAverage",
    "Naive",
]


class Forecast(Configurable, ABC):
    """Per-period demand forecast, updated at the end of each period with that period's
    signal (the theory convention: the newest observation is included). Its parameters
    are declared in ``params`` (``pullchain.network.params``)."""

    registry_name: ClassVar[str]
    _value: float | None = None

    @abstractmethod
    def reset(self, level: float) -> None:
        """Prime the history as if ``level`` had been seen forever (steady state)."""

    @abstractmethod
    def update(self, x: float) -> float:
        """Include ``x`` and return the new forecast of demand per period."""

    @property
    def value(self) -> float:
        """The current forecast of demand per period."""
        if self._value is None:
            raise RuntimeError(f"{type(self).__name__}.value read before reset(level) or update(x)")
        return self._value

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"


FORECASTS: Registry[Forecast] = Registry("forecast", "FORECASTS")


@FORECASTS.register("moving_average")
class MovingAverage(Forecast):
    """Mean of the last ``window`` observations, the newest included.

    F_t = (x_t + x_{t-1} + ... + x_{t-p+1}) / p,   p = window >= 1.

    After a step in the signal from a to b, F reaches b after exactly p
    updates. The sum is ``math.fsum`` of the window (correctly rounded, so no
    drift of a running sum and bit-for-bit reproducible), divided by p; when the
    last p observations are all equal to v, F_t is exactly v (no rounding from
    p v / p), so a steady state stays exactly steady.
    """

    params: ClassVar[dict[str, Param]] = {
        "window": Param(
            5, "mean of the last `window` signals", unit="periods", minimum=1,
            limit=check_window,  # the window is kept in memory
        ),
    }  # fmt: skip

    def __init__(self, *args: Any, **params: Any) -> None:
        super().__init__(*args, **params)
        self._buf: deque[float] = deque(maxlen=self.window)
        self._run = 0  # how many of the newest observations equal the newest one

    def reset(self, level: float) -> None:
        level = float(level)
        self._buf.clear()
        self._buf.extend([level] * self.window)
        self._run = self.window
        self._value = level

    def update(self, x: float) -> float:
        x = float(x)
        buf = self._buf
        if not buf:
            self.reset(x)
        run = self._run + 1 if x == buf[-1] else 1
        buf.append(x)
        self._run = run
        value = x if run >= self.window else math.fsum(buf) / self.window
        self._value = value
        return value


@FORECASTS.register("exponential_smoothing")
class ExponentialSmoothing(Forecast):
    """Exponential smoothing: F_t = alpha x_t + (1 - alpha) F_{t-1},  0 < alpha <= 1.

    Computed in the equivalent error-correction form F_t = F_{t-1} + alpha (x_t - F_{t-1}),
    which keeps a steady state exactly steady (written as above, 0.3 * 6 + 0.7 * 6
    gives 5.999999999999999); alpha = 1 returns x_t exactly (the naive forecast).
    Its mean age of data is (1 - alpha) / alpha periods; alpha = 2 / (p + 1)
    matches a moving average of window p in that respect.
    """

    params: ClassVar[dict[str, Param]] = {
        "alpha": Param(
            0.3, "F_t = alpha x_t + (1 - alpha) F_{t-1}", unit="fraction", minimum=0,
            above=True, maximum=1,
        ),
    }  # fmt: skip

    def reset(self, level: float) -> None:
        self._value = float(level)

    def update(self, x: float) -> float:
        x = float(x)
        prev = self._value
        if prev is None:
            prev = x
        value = x if self.alpha == 1.0 else prev + self.alpha * (x - prev)
        self._value = value
        return value


@FORECASTS.register("naive")
class Naive(Forecast):
    """The last observation: F_t = x_t."""

    def reset(self, level: float) -> None:
        self._value = float(level)

    def update(self, x: float) -> float:
        value = float(x)
        self._value = value
        return value


@FORECASTS.register("constant")
class ConstantForecast(Forecast):
    """A forecast that never changes: F_t = level.

    With ``level`` given, that is the forecast for good and ``reset`` is
    ignored; with ``level=None`` the forecast is the level passed to ``reset``
    (or the first observation if never reset). Used for base stock without
    forecasting.
    """

    params: ClassVar[dict[str, Param]] = {
        "level": Param(
            None, "a forecast that never changes", type="float", unit="units per period",
            minimum=0, default_doc="the expected demand",
        ),
    }  # fmt: skip

    def __init__(self, *args: Any, **params: Any) -> None:
        super().__init__(*args, **params)
        self._value = self.level

    def reset(self, level: float) -> None:
        if self.level is None:
            self._value = float(level)

    def update(self, x: float) -> float:
        value = self._value
        if value is None:
            value = self._value = float(x)
        return value
