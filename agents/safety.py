"""Safety stock from what a firm observes: SS_t = z * sigma_t * sqrt(L).

A constant safety stock cannot react to the uncertainty a firm faces, so a firm that
sees a smooth order stream holds as much as one that sees a wild one. ``SafetyStock``
sets it from the firm's own forecast errors instead, the form Chen, Drezner, Ryan &
Simchi-Levi (2000) analyse (y_t = L mu_t + z sigma_t, sigma_t re-estimated each period):

- **Error.** Each period, e_t = d_t - mu_{t-1}: the demand the firm must serve in t (the
  orders that reached it) against the forecast of demand per period it made the period
  before. Under a transparent regime the firm forecasts from point-of-sale data, but its
  stock must cover the orders it has to ship, so that is what its forecast is judged on.
- **Estimator.** sigma_t = sqrt(mean of e^2 over the last ``window`` errors): the root
  mean square error, so a biased forecast counts as uncertain too.
- **Warm-up.** The first error is that of period 0 against the primed forecast (the
  expected demand); until ``window`` errors have been seen, sigma_t uses those seen so
  far. There is no other prior.
- **Safety factor** z, given directly (``safety_factor``), from a target cycle service
  level (``service_level``: z = Phi^-1(CSL)), or from a target fill rate (``fill_rate``
  beta: z_t solves G(z) = (1 - beta) R mu_t / (sigma_t sqrt(L)), with G(z) = phi(z) -
  z (1 - Phi(z)) the standard normal loss function, R the review period and mu_t the
  forecast: the expected shortage per cycle, sigma_t sqrt(L) G(z), is the fraction
  1 - beta of a cycle's demand).

sqrt(L) scales a one-period error to the L periods an order covers, which is exact
when successive errors are independent. With a p-period moving average of iid demand
the L-period error is larger by sqrt((1 + L/p) / (1 + 1/p)) (the forecast's own error
is repeated L times), so the cycle service level reached is a little below the target
for L > 1; ``pullchain compare --service`` tunes z on the simulated fill rate instead.
"""

from __future__ import annotations

import math
from collections import deque
from statistics import NormalDist

from pullchain.network.errors import ConfigError, check_number
from pullchain.network.limits import check_window
from pullchain.network.params import Param

__all__ = ["SAFETY_PARAMS", "SafetyStock", "normal_loss"]

SAFETY_PARAMS: dict[str, Param] = {
    "safety_factor": Param(
        None, "adaptive safety stock z sigma sqrt(L) with this z (docs/model.md, *Safety "
        "stock from forecast errors*). At most one of `safety_factor`, `service_level`, "
        "`fill_rate`; none: no adaptive safety stock. 0 is the policy without it, bit for "
        "bit", type="float", unit="-", default_doc="none",
    ),
    "service_level": Param(
        None, "a target cycle service level: z = Phi^-1(`service_level`)", type="float",
        unit="probability", minimum=0, above=True, maximum=1, below=True, default_doc="none",
    ),
    "fill_rate": Param(
        None, "a target fill rate: z solves G(z) = (1 - `fill_rate`) R mu / (sigma sqrt(L)) "
        "each period (G the standard normal loss function, R the `review_period`)",
        type="float", unit="fraction", minimum=0, above=True, maximum=1, below=True,
        default_doc="none",
    ),
    "error_window": Param(
        20, "the newest one-period forecast errors sigma is estimated over (root mean "
        "square; fewer while the window fills)", unit="periods", minimum=2,
        limit=check_window,
    ),
}  # fmt: skip
"""The adaptive safety stock's parameters, declared once: every policy that takes them
(order_up_to, base_stock, echelon_base_stock, a researcher's) adds these to its own."""

_NORMAL = NormalDist()
_SQRT2 = math.sqrt(2.0)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_Z_BOUND = 8.0  # |z| beyond this changes nothing a simulation can see (1 - Phi(8) ~ 6e-16)


def _upper_tail(z: float) -> float:
    """1 - Phi(z), without the cancellation of 1 - cdf(z) in the far right tail."""
    return 0.5 * math.erfc(z / _SQRT2)


def normal_loss(z: float) -> float:
    """The standard normal loss function G(z) = phi(z) - z (1 - Phi(z)) = E[(Z - z)+]."""
    return math.exp(-0.5 * z * z) / _SQRT_2PI - z * _upper_tail(z)


def loss_inverse(g: float, start: float = 0.0) -> float:
    """The z with G(z) = g, by Newton's method (G is convex and decreasing), in [-8, 8].

    From any start, the first step lands at or left of the root (the tangent of a convex
    function lies below it) and the iterates then rise to it monotonically.
    """
    if g >= normal_loss(-_Z_BOUND):
        return -_Z_BOUND
    if g <= normal_loss(_Z_BOUND):
        return _Z_BOUND
    z = start
    for _ in range(60):
        step = (normal_loss(z) - g) / _upper_tail(z)  # G'(z) = -(1 - Phi(z))
        z = min(max(z + step, -_Z_BOUND), _Z_BOUND)
        if abs(step) < 1e-12:
            break
    return z


def _open_unit(field: str, value: object, what: str) -> float:
    """A number strictly between 0 and 1; one message for every value that is not one."""
    expected = f"{what} > 0 and < 1"
    try:
        number = check_number(field, value)
    except ConfigError:
        raise ConfigError(field, value, expected) from None
    if not 0 < number < 1:
        raise ConfigError(field, value, expected)
    return float(number)


class SafetyStock:
    """A firm's adaptive safety stock: z sigma_t sqrt(L), sigma_t from its forecast errors.

    Give exactly one of ``safety_factor``, ``service_level``, ``fill_rate``.

    Args:
        safety_factor: z itself (any number; 0 holds no safety stock, negative less than
            the forecast).
        service_level: a target cycle service level CSL in (0, 1); z = Phi^-1(CSL).
        fill_rate: a target fill rate beta in (0, 1); z is solved each period.
        window: how many of the newest one-period errors sigma_t is estimated over (>= 2).
    """

    def __init__(
        self,
        safety_factor: float | None = None,
        service_level: float | None = None,
        fill_rate: float | None = None,
        window: int = 20,
    ) -> None:
        targets = {
            "safety_factor": safety_factor,
            "service_level": service_level,
            "fill_rate": fill_rate,
        }
        given = {name: value for name, value in targets.items() if value is not None}
        if len(given) != 1:
            raise ConfigError(
                "policy_params",
                given or None,
                "exactly one of safety_factor, service_level, fill_rate",
            )
        self.window = int(check_number("error_window", window, minimum=2, integer=True))
        check_window("error_window", self.window)  # summed anew every period: O(window)
        self.fill_rate = None
        if safety_factor is not None:
            self.z = float(check_number("safety_factor", safety_factor))
        elif service_level is not None:
            self.z = _NORMAL.inv_cdf(_open_unit("service_level", service_level, "a probability"))
        else:
            self.fill_rate = _open_unit("fill_rate", fill_rate, "a fraction")
            self.z = 0.0  # solved each period; kept as the next Newton start
        self._squares: deque[float] = deque(maxlen=self.window)
        self._sum = 0.0  # recomputed with fsum each period: no drift of a running sum

    @classmethod
    def of(cls, policy: object) -> SafetyStock | None:
        """The estimator a policy's declared ``SAFETY_PARAMS`` ask for (or None)."""
        return cls.from_params(
            policy.safety_factor, policy.service_level, policy.fill_rate, policy.error_window
        )

    @classmethod
    def from_params(
        cls,
        safety_factor: float | None,
        service_level: float | None,
        fill_rate: float | None,
        window: int,
    ) -> SafetyStock | None:
        """The estimator a policy's parameters ask for, or None when none of z's sources
        is given (the policy then keeps its constant safety stock only)."""
        if safety_factor is None and service_level is None and fill_rate is None:
            check_number("error_window", window, minimum=2, integer=True)
            return None
        return cls(safety_factor, service_level, fill_rate, window)

    def observe(self, demand: float, forecast: float) -> None:
        """Record this period's error: the demand to serve against last period's forecast."""
        error = demand - forecast
        self._squares.append(error * error)
        self._sum = math.fsum(self._squares)

    @property
    def sigma(self) -> float:
        """sigma_t: the root mean square of the errors in the window (0 before any)."""
        n = len(self._squares)
        return math.sqrt(self._sum / n) if n else 0.0

    def level(self, lead_time: float, mean: float, review_period: int = 1) -> float:
        """SS_t = z sigma_t sqrt(L), z from the target (solved now for a fill rate)."""
        spread = self.sigma * math.sqrt(lead_time)
        if spread <= 0.0:
            return 0.0
        if self.fill_rate is not None:
            shortage = (1.0 - self.fill_rate) * review_period * max(mean, 0.0) / spread
            self.z = loss_inverse(shortage, self.z)
        return self.z * spread
