"""Information regimes: what each firm is allowed to see, and when.

A firm never reads another agent. Each period it hands the regime the orders
that reached it and gets back an ``Observation``; its policy sees only that and
the firm's own state. What the rest of the chain publishes (consumers'
point-of-sale demand, firms' inventory positions) sits on a ``Board`` that only
the regime reads. That single doorway makes "no information leak" testable and
lets a researcher's own agent class obey any regime for free.

Two presets and the knobs under them:

- ``opaque`` (push): a firm sees only the orders of its direct customers.
- ``transparent`` (pull): point-of-sale demand and downstream inventory
  positions flow upstream with no delay, and firms forecast from the demand.
- knobs: ``share_sales``, ``share_stock``, ``delay`` (periods the shared data
  lags), ``participation`` (the fraction of firms that share and use the data).

A regime declares its knobs in ``params`` (``pullchain.network.params``) and takes only
those: ``opaque`` declares none, so it ignores every knob. Add a regime by subclassing
``InformationRegime`` (override ``observe``, declare knobs of your own, or just change
the defaults) and registering it (docs/extending.md)::

    @REGIMES.register("pos-late")
    class LatePOS(InformationRegime):
        params = with_defaults(InformationRegime.params, share_sales=True, delay=4)
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .errors import ConfigError
from .limits import check_delay
from .params import Configurable, Param, declared, with_defaults
from .registry import Registry
from .sums import ordered_dot, ordered_sum
from .topology import Topology

REGIMES: Registry[InformationRegime] = Registry("information regime", "REGIMES")


class _Nothing(Mapping):
    """An empty, read-only mapping that pickles (models are pickled by process pools)."""

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "NOTHING"

    def __reduce__(self) -> str:
        return "NOTHING"

    def __hash__(self) -> int:  # immutable, so a dataclass may take it as a default
        return 0


NOTHING: Mapping[str, Any] = _Nothing()
"""The empty ``Observation.extra`` of the built-in regimes."""


@dataclass(slots=True)
class Observation:
    """What one firm may see in one period.

    Attributes:
        period: the period observed (0-based).
        orders: units ordered by the firm's direct customers that reached it now.
        demand_signal: what the firm should forecast from: the consumer demand that
            flows through it where that is shared, its customers' orders elsewhere.
        pos_demand: the shared consumer demand flowing through the firm (``delay``
            periods old), or None when none is visible.
        downstream_positions: inventory positions of the downstream firms whose stock is
            visible (``delay`` periods old), or None when none is.
        downstream_shares: for each of those firms, the fraction of its supply that comes
            from this firm (so an echelon counts only its own part of shared customers).
        downstream_firms: which firms those are (their indices in processing order,
            customers first), where the firm sees any downstream firm's stock or sales, so
            that what is seen can be named (the classroom game's page does); None elsewhere.
        downstream_sales: for each of ``downstream_firms``, the consumer demand flowing
            through it (its point-of-sale data, ``delay`` periods old), where sales are
            shared; None elsewhere.
        extra: whatever else a regime of a researcher's shows (an empty mapping here).
    """

    period: int
    orders: float
    demand_signal: float
    pos_demand: float | None = None
    downstream_positions: np.ndarray | None = None
    downstream_shares: np.ndarray | None = None
    downstream_firms: np.ndarray | None = None
    downstream_sales: np.ndarray | None = None
    extra: Mapping[str, Any] = NOTHING


class Board:
    """Data published each period, kept for as long as the regime's delay needs it.

    Rows are allocated as periods pass, up to ``delay + 1``: a long delay costs
    memory only for the periods a run really has. Row ``period % depth`` holds a
    period's data.
    """

    def __init__(self, n_consumers: int, n_firms: int, delay: int) -> None:
        self.depth = delay + 1
        rows = min(self.depth, 16)
        self.pos = np.zeros((rows, n_consumers))
        self.positions = np.zeros((rows, n_firms))
        self._grow_at: float = rows if rows < self.depth else math.inf  # the first period not held

    def _grow(self, period: int) -> None:
        """Grow the arrays to hold ``period`` (they never exceed ``depth`` rows)."""
        rows = min(self.depth, max(2 * len(self.pos), period + 1))
        self.pos = _grown(self.pos, rows)
        self.positions = _grown(self.positions, rows)
        self._grow_at = rows if rows < self.depth else math.inf

    def publish_pos(self, period: int, demand: np.ndarray) -> None:
        """Consumers' demand of ``period``, one value per consumer."""
        if period >= self._grow_at:
            self._grow(period)
        self.pos[period % self.depth] = demand

    def publish_position(self, period: int, firm: int, position: float) -> None:
        """A firm's inventory position at the end of its turn in ``period``."""
        if period >= self._grow_at:
            self._grow(period)
        self.positions[period % self.depth, firm] = position


def _grown(array: np.ndarray, rows: int) -> np.ndarray:
    out = np.zeros((rows, *array.shape[1:]))
    out[: len(array)] = array
    return out


class InformationRegime(Configurable):
    """Decides what each firm observes. The base class declares the four knobs; which
    firms take part (``participation``) is drawn from the model's regime stream, tier by
    tier so that every tier gets its share (``draw_participants``), and raising the
    fraction only ever adds firms. A subclass that does not declare a knob keeps the
    class attribute below (nothing shared, no delay, everyone).
    """

    share_sales: bool = False
    share_stock: bool = False
    delay: int = 0
    participation: float = 1.0
    params: ClassVar[dict[str, Param]] = {
        "share_sales": Param(
            False,
            "consumers' point-of-sale demand flows to upstream firms, which then forecast "
            "from it instead of from their customers' orders",
            unit="true/false",
        ),
        "share_stock": Param(
            False,
            "downstream firms' inventory positions flow upstream (in the observation as "
            "`downstream_positions`, with `downstream_shares`, the fraction of each one's "
            "supply that comes from the observer, and `downstream_firms`, who they are). "
            "`echelon_base_stock` reads them; the other built-in policies do not, a policy "
            "of your own may",
            unit="true/false",
        ),
        "delay": Param(
            0, "periods by which the shared data lags (0: seen in the period it happens)",
            unit="periods", minimum=0, limit=check_delay,
        ),
        "participation": Param(
            1.0,
            "fraction of firms that share their data and use the others'. Which firms take "
            "part is drawn from the run's regime stream, tier by tier, so every tier gets "
            "close to its share (docs/model.md)",
            unit="fraction", minimum=0, maximum=1,
        ),
    }  # fmt: skip

    def __init__(self, *args: Any, **knobs: Any) -> None:
        super().__init__(*args, **knobs)
        self.board: Board | None = None

    @property
    def name(self) -> str:
        """The registered name, or the class name for an unregistered subclass."""
        return getattr(type(self), "registry_name", type(self).__name__)

    def knobs(self) -> dict[str, Any]:
        """What flows (the four base knobs, declared or not) and every declared knob."""
        return {
            "share_sales": self.share_sales,
            "share_stock": self.share_stock,
            "delay": self.delay,
            "participation": self.participation,
            **self.config(),
        }

    def bind(self, topology: Topology, rng: np.random.Generator) -> None:
        """Work out, once, who sees what and who decides for whom; ``rng`` is the
        regime's own random stream."""
        n_firms = len(topology.firms)
        self.board = Board(len(topology.consumers), n_firms, self.delay)
        self.participating = self.participants(topology, rng)
        self.managers = self.decision_rights(topology)
        covered = self._covered(topology)
        # Per firm: the POS weights of its covered customer lanes, summed, and the
        # indices of the lanes whose orders it must still use.
        self._pos_weights: list[tuple[np.ndarray, np.ndarray] | None] = []
        self._lane_weights: list[list[tuple[np.ndarray, np.ndarray] | None] | None] = []
        self._uncovered: list[list[int]] = []
        self._visible_firms: list[np.ndarray | None] = []
        self._visible_shares: list[np.ndarray | None] = []
        self._visible_index: list[np.ndarray | None] = []
        self._visible_sales: list[tuple | None] = []
        for f, firm in enumerate(topology.firms):
            uses = self.participating[f]
            acc: dict[int, float] = {}
            uncovered = []
            per_lane: list[tuple[np.ndarray, np.ndarray] | None] = []
            for lane, customer in enumerate(topology.customers(firm)):
                if self.sees_sales(topology, f, customer, covered):
                    idx, w = topology.lane_weights(firm, customer)
                    per_lane.append((idx, w))  # the demand it routes to this firm
                    for i, wi in zip(idx.tolist(), w.tolist(), strict=True):
                        acc[i] = acc.get(i, 0.0) + wi
                else:
                    per_lane.append(None)
                    uncovered.append(lane)
            self._lane_weights.append(per_lane if uses and self.share_sales else None)
            if acc:
                idx = np.array(sorted(acc), dtype=np.intp)
                self._pos_weights.append((idx, np.array([acc[i] for i in idx])))
            else:
                self._pos_weights.append(None)
            self._uncovered.append(uncovered)
            self._bind_downstream(topology, f, firm)

    def _bind_downstream(self, topology: Topology, f: int, firm: Hashable) -> None:
        """The downstream firms whose stock and sales firm ``f`` sees, and who they are."""
        visible = shares = index = sales = None
        below = self.visible_below(topology, f) if self.share_stock or self.share_sales else []
        if below:
            index = np.array([topology.firm_index[d] for d in below], dtype=np.intp)
            if self.share_stock:
                fractions = topology.supply_fractions(firm)
                visible, shares = index, np.array([fractions[d] for d in below])
            if self.share_sales:  # row r of the bincount: the consumers flowing through d
                parts = [(r, *topology.echelon_weights(d)) for r, d in enumerate(below)]
                rows = np.concatenate([np.full(len(i), r, dtype=np.intp) for r, i, _ in parts])
                idx = np.concatenate([i for _, i, _ in parts]).astype(np.intp)
                w = np.concatenate([w for _, _, w in parts])
                sales = (rows, idx, w, len(below))
        self._visible_firms.append(visible)
        self._visible_shares.append(shares)
        self._visible_index.append(index)
        self._visible_sales.append(sales)

    # -- what a subclass may change -----------------------------------------------------------
    def participants(self, topology: Topology, rng: np.random.Generator) -> np.ndarray:
        """Which firms share their data and use others' (a bool per firm): a fraction
        ``participation`` drawn from the regime's stream tier by tier, nested as it grows
        (``draw_participants``)."""
        return draw_participants(topology, self.participation, rng)

    def sees_sales(self, topology: Topology, f: int, customer: Hashable, covered: dict) -> bool:
        """Whether firm ``f`` sees the consumer demand that reaches it through
        ``customer`` (so that it forecasts from it instead of the customer's orders)."""
        return bool(self.participating[f]) and self.share_sales and covered.get(customer, False)

    def visible_below(self, topology: Topology, f: int) -> list[Hashable]:
        """The downstream firms whose data firm ``f`` sees, in processing order."""
        if not self.participating[f]:
            return []
        fractions = topology.supply_fractions(topology.firms[f])
        return sorted(  # in processing order: customers first
            (d for d in fractions if self.participating[topology.firm_index[d]]),
            key=topology.firm_index.__getitem__,
        )

    def decision_rights(self, topology: Topology) -> dict[int, int]:
        """Firms whose replenishment another firm decides: {firm: the firm deciding}, by
        firm index. None here: every firm decides its own."""
        return {}

    def managed_rule(self, manager: int, firm: int) -> tuple[str, dict[str, Any]]:
        """The ordering policy (registered name, parameters) with which ``manager``
        decides ``firm``'s replenishment, for each pair of ``decision_rights``."""
        raise NotImplementedError(f"{type(self).__name__} gives no decision rights")

    def _covered(self, topology: Topology) -> dict:
        """Firms whose whole downstream shares sales data, so POS can replace their orders."""
        covered: dict = {}
        for firm in topology.firms:  # customers first
            f = topology.firm_index[firm]
            covered[firm] = bool(self.participating[f]) and all(
                topology.kind(c) == "consumer" or covered[c] for c in topology.customers(firm)
            )
        return covered

    def observe(self, firm: int, period: int, orders: Sequence[float]) -> Observation:
        """What firm number ``firm`` sees in ``period``, given the orders that reached it.

        Args:
            firm: the firm's index in processing order (``Topology.firm_index``).
            period: the current period.
            orders: units that reached the firm from each customer lane, in lane order.
        """
        total = ordered_sum(orders)
        seen = period - self.delay
        weights = self._pos_weights[firm]
        pos = None
        signal = total
        if weights is not None and seen >= 0:
            idx, w = weights
            pos = ordered_dot(self.board.pos[seen % self.board.depth][idx], w)
            signal = pos + ordered_sum(orders[i] for i in self._uncovered[firm])
        positions = shares = firms = sales = None
        if self._visible_index[firm] is not None and seen >= 0:
            firms = self._visible_index[firm]
            visible = self._visible_firms[firm]
            if visible is not None:
                positions = self.board.positions[seen % self.board.depth][visible].copy()
                shares = self._visible_shares[firm]
            by_firm = self._visible_sales[firm]
            if by_firm is not None:
                rows, idx, w, n = by_firm
                row = self.board.pos[seen % self.board.depth]
                sales = np.bincount(rows, weights=row[idx] * w, minlength=n)
        return Observation(period, total, signal, pos, positions, shares, firms, sales)

    def needs(self, firm: int, period: int, orders: Sequence[float]) -> list[float] | None:
        """Each customer's true need, for allocating scarce stock, where it is visible.

        A covered customer's need is the consumer demand flowing through it (its echelon
        POS demand, ``delay`` periods old); a customer that is not covered shows only
        its orders. None when the firm sees no sales data at all.
        """
        lanes = self._lane_weights[firm]
        seen = period - self.delay
        if lanes is None or seen < 0:
            return None
        row = self.board.pos[seen % self.board.depth]
        return [
            ordered_dot(row[w[0]], w[1]) if w is not None else float(orders[i])
            for i, w in enumerate(lanes)
        ]


VMI_BAND: dict[str, Param] = {
    "band": Param(
        "order_up_to",
        "the agreed band: `min_max` replenishes a retailer up to (L + `max_cover`) periods "
        "of forecast demand when its inventory position falls to (L + `min_cover`); "
        "`order_up_to` fills it up to (L + `max_cover`) every period",
        unit="name", choices=("min_max", "order_up_to"),
    ),
    "min_cover": Param(
        0.0, "the band's floor: periods of forecast demand beyond the retailer's lead time",
        unit="periods", minimum=0,
    ),
    "max_cover": Param(
        0.0, "the band's ceiling: periods of forecast demand beyond the retailer's lead "
        "time (at least `min_cover`)", unit="periods", minimum=0,
    ),
    "window": Param(
        5, "periods of a retailer's point-of-sale data the vendor's forecast averages",
        unit="periods", minimum=1,
    ),
}  # fmt: skip
"""The knobs of the VMI contract (the parameters of the `vmi_band` policy it runs)."""


@REGIMES.register("opaque")
class Opaque(InformationRegime):
    """Push: every firm sees only its direct customers' orders. It takes no knobs."""

    params: ClassVar[dict[str, Param]] = {}


@REGIMES.register("transparent")
class Transparent(InformationRegime):
    """Pull: point-of-sale demand and downstream inventory positions flow upstream
    (`share_sales` and `share_stock` default to true), with `delay` and `participation`
    as set."""

    params: ClassVar[dict[str, Param]] = with_defaults(
        InformationRegime.params, share_sales=True, share_stock=True
    )


@REGIMES.register("vmi")
class VendorManaged(InformationRegime):
    """Vendor-managed inventory: each retailer's vendor (its supplier with the largest
    share, the first on a tie) sees the retailer's stock and point-of-sale data and
    decides its replenishment within an agreed band (`vmi_band`: `band`, `min_cover`,
    `max_cover`, `window`); no other firm sees them, and every other firm orders as
    under `opaque`.

    The vendor decides in the retailer's turn, from the retailer's inventory position
    and sales of that period, and forecasts its own orders from the point-of-sale data
    of the retailers it manages (in place of their orders) with its own policy.
    `participation` is the fraction of retailers in the programme.
    """

    share_sales = True  # within the programme: vendor and retailer only
    share_stock = True
    params: ClassVar[dict[str, Param]] = {
        **VMI_BAND,
        "participation": Param(
            1.0,
            "fraction of retailers in the programme, drawn from the run's regime stream "
            "(raising it only adds retailers)",
            unit="fraction", minimum=0, maximum=1,
        ),
    }  # fmt: skip

    def __init__(self, *args: Any, **knobs: Any) -> None:
        super().__init__(*args, **knobs)
        if self.max_cover < self.min_cover:
            raise ConfigError(
                "max_cover", self.max_cover, f"at least min_cover = {self.min_cover:g}"
            )

    def bind(self, topology: Topology, rng: np.random.Generator) -> None:
        self._vendor: dict[Hashable, int] = {}  # programme retailer -> its vendor's index
        super().bind(topology, rng)

    def participants(self, topology: Topology, rng: np.random.Generator) -> np.ndarray:
        """The retailers in the programme and their vendors."""
        retailers = [r for r in topology.firms if topology.kind(r) == "retailer"]
        order = rng.permutation(len(retailers))
        chosen = np.zeros(len(topology.firms), dtype=bool)
        for i in order[: round(self.participation * len(retailers))]:
            retailer = retailers[i]
            suppliers = topology.suppliers(retailer)
            vendor = max(
                suppliers, key=lambda u: (topology.shares[u, retailer], -suppliers.index(u))
            )
            self._vendor[retailer] = topology.firm_index[vendor]
            chosen[topology.firm_index[retailer]] = chosen[topology.firm_index[vendor]] = True
        return chosen

    def sees_sales(self, topology: Topology, f: int, customer: Hashable, covered: dict) -> bool:
        return self._vendor.get(customer) == f

    def visible_below(self, topology: Topology, f: int) -> list[Hashable]:
        mine = (r for r, vendor in self._vendor.items() if vendor == f)
        return sorted(mine, key=topology.firm_index.__getitem__)

    def decision_rights(self, topology: Topology) -> dict[int, int]:
        return {topology.firm_index[r]: v for r, v in self._vendor.items()}

    def managed_rule(self, manager: int, firm: int) -> tuple[str, dict[str, Any]]:
        return "vmi_band", {k: getattr(self, k) for k in VMI_BAND}


def regime_knobs() -> dict[str, list[str]]:
    """Every knob a registered regime declares (the base class's first, in their order),
    and the regimes that declare it."""
    out: dict[str, list[str]] = {knob: [] for knob in InformationRegime.params}
    for name in REGIMES:
        for knob in declared(REGIMES.get(name)):
            out.setdefault(knob, []).append(name)
    return {knob: owners for knob, owners in out.items() if owners}


def check_knob(name: str, value: Any) -> Any:
    """``value`` checked as knob ``name`` of the regimes that declare it (valid for one
    of them); a knob no registered regime declares is a ConfigError listing the knobs."""
    field = f"regime.{name}"
    owners = regime_knobs().get(name)
    if not owners:
        raise ConfigError(
            field, value, "a knob of a registered regime: " + ", ".join(regime_knobs())
        )
    first = None
    for owner in owners:
        try:
            return declared(REGIMES.get(owner))[name].check(field, value)
        except ConfigError as err:
            first = first or err
    raise first


def draw_participants(topology: Topology, share: float, rng: np.random.Generator) -> np.ndarray:
    """Which firms take part (a bool per firm, in processing order): ``round(share * n)``
    of them, every tier getting close to its share.

    A draw over the whole chain could leave a tier out (half of 11 firms, and no
    brand among them: a "transparent" chain identical to the opaque one). Here each
    tier's firms, in a random order, are spread evenly over (0, 1]: the i-th of n
    gets the key (i + u) / n, with one random offset u per tier; the firms with the
    smallest keys take part (systematic sampling within each tier). The first k
    firms by key hold about k/N of every tier, within a firm or two, and a larger
    share only ever adds firms (the keys do not depend on it).
    """
    n = len(topology.firms)
    tiers = np.array([topology.tiers[f] for f in topology.firms])
    key = np.empty(n)
    for tier in np.unique(tiers):
        members = np.flatnonzero(tiers == tier)
        spread = (np.arange(len(members)) + rng.random()) / len(members)
        key[members[rng.permutation(len(members))]] = spread
    chosen = np.zeros(n, dtype=bool)
    chosen[np.argsort(key, kind="stable")[: round(share * n)]] = True
    return chosen


def make_regime(regime: str | InformationRegime, **knobs: Any) -> InformationRegime:
    """A regime from a name, with the knobs it declares; the others are checked (as the
    regimes that declare them would) and left out, as ``opaque`` leaves out every knob."""
    if isinstance(regime, InformationRegime):
        if knobs:
            raise ConfigError("regime", knobs, "no knobs when passing a regime instance")
        return regime
    own = declared(REGIMES.get(regime, "regime"))
    for name, value in knobs.items():
        if name not in own:
            check_knob(name, value)
    taken = {k: v for k, v in knobs.items() if k in own}
    return REGIMES.create(regime, taken, field="regime")
