"""The classroom game: people play roles of a supply chain, week by week, round by round.

A game is a scenario (the beer game by default), the roles people play, the rule the
computer plays the other roles with, and its rounds (opaque, then transparent, on the
same consumer demand: one seed). Its state is its settings and the orders entered,
nothing else: every model is rebuilt from them by replay (the model is deterministic
from its seed), so a page reload or a server restart loses nothing. ``game_store``
keeps games on disk; ``game_page`` draws them; ``game_debrief`` sums them up.

**The doorway.** A person's order enters ``SupplyChainModel`` exactly as a rule's
does: the role's policy is ``PlayerOrders``, whose ``order(situation)`` returns the
order entered for that period. It also records what the firm saw when it decided
(a ``View``, made from its ``Situation`` and ``Observation`` only), and the page
shows a player nothing else of the chain, so the no-leak tests reach the page.

**Timing.** Within a week firms act customers first, and a firm's view can depend on
a decision taken below it that same week: an order sent with no order delay, or a
stock position shared with no delay (it includes the order just placed). A player
whose view depends so on another player's order waits for that order
(``Round.waits_for``); everyone else orders at once. In the beer game under opaque
(two weeks of mail) nobody waits; under transparent with no delay each waits for
the players below. The week ends when every player has ordered, or when the
facilitator's timeout passes: the computer's rule then orders for whoever is late,
and the game records and shows that order as the computer's.
"""

from __future__ import annotations

import hmac
import math
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from pullchain.agents.policies import POLICIES, OrderingPolicy, Situation
from pullchain.network.errors import ConfigError, check_number
from pullchain.network.limits import Limit
from pullchain.network.params import Param
from pullchain.network.regimes import REGIMES, check_knob

from .scenarios import Scenario

if TYPE_CHECKING:
    from .model import SupplyChainModel

ROUNDS = ("opaque", "transparent")
"""The rounds of a game unless the facilitator says otherwise: no visibility, then shared data."""
GAME_FIRMS = Limit("PULLCHAIN_MAX_GAME_FIRMS", 60, "firms in a classroom game's network")
"""A game replays its chain whenever a view can change: larger networks are refused. A
limit of the game alone, so not among ``network.limits.ALL`` (what sweeps send workers)."""
MAX_WEEKS = 520
MAX_TIMEOUT = 3600.0
BY_PLAYER = "player"
BY_COMPUTER = "computer"
"""Who placed an order: the person, or the computer's rule when the week timed out."""


# -- the doorway ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class View:
    """What one role saw in one week when it had to order: its own state and what the
    regime let it observe (``Situation`` and ``Observation``), nothing else.

    ``suggestion`` is the computer rule's order in this situation: the game uses it
    for a player who times out; the player's page never shows it.
    """

    period: int
    orders: float
    received: float
    shipped: float
    on_hand: float
    backlog: float
    on_order: float
    consumer_demand: float | None
    positions: tuple[tuple[int, float], ...]
    suggestion: float

    @classmethod
    def capture(cls, s: Situation, suggestion: float) -> View:
        obs = s.observation
        positions: tuple[tuple[int, float], ...] = ()
        if obs.downstream_positions is not None and obs.downstream_firms is not None:
            positions = tuple(
                (int(f), float(p))
                for f, p in zip(obs.downstream_firms, obs.downstream_positions, strict=True)
            )
        return cls(
            period=s.period,
            orders=float(obs.orders),
            received=float(s.received),
            shipped=float(s.shipped),
            on_hand=float(s.on_hand),
            backlog=float(s.backlog),
            on_order=float(s.supply_line),
            consumer_demand=None if obs.pos_demand is None else float(obs.pos_demand),
            positions=positions,
            suggestion=float(suggestion),
        )


@POLICIES.register("player")
class PlayerOrders(OrderingPolicy):
    """The orders a person enters in the classroom game (``pullchain.runs.game``).

    q_t = the order entered for period t; where none is, the fallback rule's.

    The fallback (the computer's rule for this role) is asked every period, so that
    its own state (a forecast, Sterman's expected orders) stays that of a firm which
    saw everything this one saw, and so that it can order for a player who timed
    out. What the firm saw when it decided is kept in ``views`` (one ``View`` a period).

    The fallback rule is ``self.fallback``; its name is ``self.fallback_name``.
    """

    params: ClassVar[dict[str, Param]] = {
        "fallback": Param(
            "sterman", "the rule the computer plays the role with (a policy other than "
            "`player`)", unit="name", registry="policy", attr="fallback_name",
        ),
        "fallback_params": Param(
            None, "its parameters", type="dict", unit="table", default_doc="none"
        ),
    }  # fmt: skip

    def __init__(self, *args: Any, **params: Any) -> None:
        super().__init__(*args, **params)
        if self.fallback_name == "player":
            raise ConfigError(
                "policy_params.fallback", self.fallback_name, "a rule the computer can play"
            )
        self.fallback = POLICIES.create(
            self.fallback_name, self.fallback_params, field="policy_params.fallback"
        )
        self.book: dict[int, float] = {}
        self.views: dict[int, View] = {}

    def reset(self, expected_demand: float, lead_time: float) -> None:
        self.fallback.reset(expected_demand, lead_time)

    def order(self, s: Situation) -> float:
        suggestion = float(self.fallback.order(s))
        self.views[s.period] = View.capture(s, suggestion)
        return self.book.get(s.period, suggestion)


# -- a player's input -----------------------------------------------------------------------
class OrderError(ValueError):
    """An order a player typed that the game refuses; the message says why, in words."""


def parse_order(text: Any, *, integer: bool = True, maximum: float = 1000.0) -> float:
    """The order typed into the page, checked: a number, not negative, not above
    ``maximum``, and whole when ``integer``. OrderError says what is wrong."""
    raw = "" if text is None else str(text).strip()
    if not raw:
        return _refuse("Type the number of units to order, e.g. 8.")
    if len(raw) > 32:
        return _refuse("That is not a number of units: type a number, e.g. 8.")
    try:
        value = float(raw.replace(",", "").replace("_", ""))
    except ValueError:
        return _refuse(f"{raw[:32]!r} is not a number: type a number of units, e.g. 8.")
    if not math.isfinite(value):
        return _refuse("Type a finite number of units, e.g. 8.")
    if value < 0:
        return _refuse("An order cannot be negative: type 0 to order nothing.")
    if integer and not value.is_integer():
        return _refuse(f"Whole units only: {raw} is not a whole number.")
    if value > maximum:
        return _refuse(f"At most {maximum:,.0f} units a week: {raw} is more than that.")
    return float(int(value)) if integer else value


def _refuse(message: str) -> float:
    raise OrderError(message)


# -- settings -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    """Everything a game is made of, besides the orders entered.

    Attributes:
        scenario: the scenario as TOML text (a preset resolved, so a game file is whole).
        humans: the roles people play (their names in ``Roles``: each firm's label).
        computer_policy: the rule the computer plays the other roles with, and orders with
            for a player who times out; None keeps each firm's own (the beer game's Sterman).
        computer_params: its parameters.
        rounds: the information regime of each round.
        knobs: the knobs of every round that shares information (``share_sales``,
            ``share_stock``, ``delay``, ``participation``); opaque ignores them.
        weeks: weeks per round; seed: the seed of every round (the same demand in each).
        timeout: seconds a player has to order once the week's numbers are shown (0: no
            limit); then the computer's rule orders for them.
        integer_orders, max_order: what a player may type.
        reference_cost, reference_label: a team cost the facilitator wants the debrief to
            set the team's against (a published figure, with its source), or None.
    """

    scenario: str
    humans: tuple[str, ...]
    computer_policy: str | None = None
    computer_params: Mapping[str, Any] = field(default_factory=dict)
    rounds: tuple[str, ...] = ROUNDS
    knobs: Mapping[str, Any] = field(default_factory=dict)
    weeks: int = 36
    seed: int = 1
    timeout: float = 0.0
    integer_orders: bool = True
    max_order: float = 1000.0
    scenario_name: str = "scenario"
    reference_cost: float | None = None
    reference_label: str = ""

    @classmethod
    def create(
        cls,
        scenario: str | Scenario = "beer-game",
        humans: Sequence[str] = ("retailer",),
        *,
        weeks: int | None = None,
        seed: int | None = None,
        **options: Any,
    ) -> Settings:
        """Settings from a preset name, a .toml path or a ``Scenario``; checked whole
        (ConfigError names the field). ``weeks`` and ``seed`` default to the scenario's."""
        base = scenario if isinstance(scenario, Scenario) else Scenario.load(scenario)
        settings = cls(
            scenario=base.resolved().to_toml(),
            humans=tuple(humans),
            weeks=base.steps if weeks is None else weeks,
            seed=base.seed if seed is None else seed,
            scenario_name=base.name,
            **options,
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Raise ConfigError naming the first field a game cannot be played with."""
        check_number("weeks", self.weeks, minimum=1, maximum=MAX_WEEKS, integer=True)
        check_number("seed", self.seed, minimum=0, integer=True)
        check_number("timeout", self.timeout, minimum=0, maximum=MAX_TIMEOUT)
        check_number("max_order", self.max_order, minimum=1, maximum=1e9)
        if self.reference_cost is not None:
            check_number("reference_cost", self.reference_cost, minimum=0, strict_minimum=True)
        if len(self.reference_label) > 200:
            raise ConfigError(
                "reference_label", self.reference_label[:40], "at most 200 characters"
            )
        if not self.rounds or len(self.rounds) > 4:
            raise ConfigError("rounds", list(self.rounds), "one to four regimes")
        for name in self.rounds:
            if name not in REGIMES:
                raise ConfigError("rounds", name, "a regime: " + ", ".join(REGIMES))
        for knob, value in self.knobs.items():  # each as the regimes that take it check it
            check_knob(knob, value)
        if self.computer_policy is not None:
            POLICIES.create(self.computer_policy, dict(self.computer_params), "computer_policy")
            if self.computer_policy == "player":
                raise ConfigError("computer_policy", "player", "a rule the computer can play")
        base = self.base_scenario
        roles = Roles(base.network())
        size = len(roles.nodes)
        GAME_FIRMS.check("scenario", size, shown=f"{self.scenario_name} ({size} firms)")
        if not self.humans:
            raise ConfigError("humans", [], "at least one role played by a person")
        for role in self.humans:
            if role not in roles.nodes:
                raise ConfigError("humans", role, "a role of the scenario: " + ", ".join(roles))
        if len(set(self.humans)) != len(self.humans):
            raise ConfigError("humans", list(self.humans), "each role once")
        for name in dict.fromkeys(self.rounds):
            self.round_scenario(name)  # every override checked by the scenario itself

    @cached_property
    def base_scenario(self) -> Scenario:
        return Scenario.from_toml(self.scenario)

    @cached_property
    def roles(self) -> Roles:
        return Roles(self.base_scenario.network())

    def round_scenario(self, regime: str, *, players: bool = True) -> Scenario:
        """The scenario of one round: this regime, these weeks and seed, every knob; the
        people's roles played through ``PlayerOrders`` (with ``players=False``: by the
        computer's rule, the benchmark); the others by the computer's rule."""
        G = self.base_scenario.network()
        overrides: dict[str, Any] = {
            "steps": self.weeks,
            "warm_up": 0,
            "seed": self.seed,
            "regime.name": regime,
        }
        for knob, value in self.knobs.items():
            overrides[f"regime.{knob}"] = value
        for role, node in self.roles.nodes.items():
            attrs = G.nodes[node]
            rule = self.computer_policy or attrs["policy"]
            params = dict(self.computer_params) if self.computer_policy else attrs["policy_params"]
            key = f'nodes."{node}"'
            if players and role in self.humans:
                overrides[f"{key}.policy"] = "player"
                overrides[f"{key}.policy_params"] = {
                    "fallback": rule,
                    "fallback_params": dict(params or {}),
                }
            elif self.computer_policy:
                overrides[f"{key}.policy"] = rule
                overrides[f"{key}.policy_params"] = dict(params or {})
        return self.base_scenario.with_overrides(overrides)

    def rule_of(self, role: str) -> str:
        """The rule the computer plays ``role`` with (or would, for a player who is late)."""
        return (
            self.computer_policy
            or self.base_scenario.network().nodes[self.roles.nodes[role]]["policy"]
        )

    def to_record(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "scenario_name": self.scenario_name,
            "humans": list(self.humans),
            "computer_policy": self.computer_policy,
            "computer_params": dict(self.computer_params),
            "rounds": list(self.rounds),
            "knobs": dict(self.knobs),
            "weeks": self.weeks,
            "seed": self.seed,
            "timeout": self.timeout,
            "integer_orders": self.integer_orders,
            "max_order": self.max_order,
            "reference_cost": self.reference_cost,
            "reference_label": self.reference_label,
        }

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> Settings:
        """Settings as ``to_record`` wrote them; checked again (ConfigError on a bad file)."""
        try:
            settings = cls(
                scenario=str(data["scenario"]),
                scenario_name=str(data.get("scenario_name", "scenario")),
                humans=tuple(str(h) for h in data["humans"]),
                computer_policy=data.get("computer_policy"),
                computer_params=dict(data.get("computer_params") or {}),
                rounds=tuple(str(r) for r in data.get("rounds", ROUNDS)),
                knobs=dict(data.get("knobs") or {}),
                weeks=data["weeks"],
                seed=data["seed"],
                timeout=data.get("timeout", 0.0),
                integer_orders=bool(data.get("integer_orders", True)),
                max_order=data.get("max_order", 1000.0),
                reference_cost=data.get("reference_cost"),
                reference_label=str(data.get("reference_label", "")),
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise ConfigError(
                "game settings", type(err).__name__, f"a whole record ({err})"
            ) from None
        settings.check()
        return settings


class Roles:
    """The firms of a network as roles: each called by its label (or its id where two
    share a label), in processing order (customers first: the retailer first)."""

    def __init__(self, G: Any) -> None:
        from pullchain.network.topology import Topology

        from .app_style import tier_colors

        topology = Topology(G)
        labels = [str(G.nodes[n].get("label", n)) for n in topology.firms]
        self.nodes: dict[str, Any] = {}
        for node, label in zip(topology.firms, labels, strict=True):
            name = label if labels.count(label) == 1 else f"{label} ({node})"
            self.nodes[name] = node
        self.names = list(self.nodes)
        self.tiers = {name: topology.tiers[node] for name, node in self.nodes.items()}
        by_tier = tier_colors(topology)
        self.colors = {name: by_tier[tier] for name, tier in self.tiers.items()}
        name_of = {node: name for name, node in self.nodes.items()}
        self.customers = {
            name: list(dict.fromkeys(name_of.get(c, "consumers") for c in topology.customers(node)))
            for name, node in self.nodes.items()
        }

    def __iter__(self):
        return iter(self.names)

    def name(self, index: int) -> str:
        """The role of the firm with this processing-order index."""
        return self.names[index]


# -- one round, by replay -------------------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    """One order in the game's record: how much, and who placed it."""

    order: float
    by: str = BY_PLAYER


@dataclass
class Replay:
    """A round's model stepped through the current week with the orders entered so far.

    Weeks before ``week`` are complete; in week ``week`` (if the round is not over) the
    players who have not ordered yet were given the computer's order, so only the views
    of players who wait for nobody (``Round.ready``) are shown from it.
    """

    model: SupplyChainModel
    players: dict[str, PlayerOrders]
    week: int


class Round:
    """One round: its regime, the orders entered week by week, and what follows from them."""

    def __init__(self, settings: Settings, index: int) -> None:
        self.settings = settings
        self.index = index
        self.regime = settings.rounds[index]
        self.started = False
        self.orders: list[dict[str, Entry]] = []
        self._complete = 0  # weeks complete (kept by record)
        self.model_kwargs: dict[str, Any] = {}
        """Further ``SupplyChainModel`` arguments for every replay (``agent_classes`` in the
        no-leak tests); not part of the game's record."""
        self._scenario = settings.round_scenario(self.regime)
        self._replay: Replay | None = None
        self._benchmark: SupplyChainModel | None = None

    # state -----------------------------------------------------------------------------
    @property
    def week(self) -> int:
        """Weeks complete: every player has ordered in each of them."""
        return self._complete

    @property
    def over(self) -> bool:
        return self.week >= self.settings.weeks

    def entered(self, week: int) -> dict[str, Entry]:
        return self.orders[week] if week < len(self.orders) else {}

    @cached_property
    def waits_for(self) -> dict[str, frozenset[str]]:
        """For each player, the players whose order of the same week its view depends on."""
        return same_week_dependencies(self._build(), self.settings.roles, self.settings.humans)

    def pending(self) -> list[str]:
        """Players who have not ordered in the current week (none once the round is over)."""
        if self.over:
            return []
        done = self.entered(self.week)
        return [h for h in self.settings.humans if h not in done]

    def ready(self, role: str) -> bool:
        """Whether ``role``'s view of the current week is final (it waits for nobody)."""
        return not self.over and not (self.waits_for[role] & set(self.pending()))

    # replay ----------------------------------------------------------------------------
    def _build(self) -> SupplyChainModel:
        return self._scenario.model(**self.model_kwargs)

    def replay(self) -> Replay:
        """The round rebuilt from its settings and orders, through the current week
        (kept until the next order is entered)."""
        if self._replay is not None:
            return self._replay
        model = self._build()
        players = {
            role: model.firms[model.topology.firm_index[node]].policy
            for role, node in self.settings.roles.nodes.items()
            if role in self.settings.humans
        }
        for week, entries in enumerate(self.orders):
            for role, entry in entries.items():
                players[role].book[week] = entry.order
        week = self.week
        for _ in range(min(week + 1, self.settings.weeks)):
            model.step()
        self._replay = Replay(model, players, week)
        return self._replay

    def benchmark(self) -> SupplyChainModel:
        """The same round with every role played by the computer's rule, run to the end."""
        if self._benchmark is None:
            model = self.settings.round_scenario(self.regime, players=False).model()
            model.run_model()
            self._benchmark = model
        return self._benchmark

    def record(self, role: str, week: int, entry: Entry) -> None:
        """Enter an order (checked by the caller).

        The replay is redone on next use only if the order can change what is shown:
        when it ends the week, or when a player still to order sees it this week.
        Otherwise every view shown stays as it is (that is what ``waits_for`` means),
        and the replay, in which the computer's order stood in for this one, is kept.
        """
        complete = self.week
        while len(self.orders) <= week:
            self.orders.append({})
        self.orders[week][role] = entry
        humans = self.settings.humans
        while self._complete < len(self.orders) and all(
            h in self.orders[self._complete] for h in humans
        ):
            self._complete += 1
        seen_by = [p for p in self.pending() if role in self.waits_for[p]]
        if self.week != complete or seen_by:
            self._replay = None

    # what a player sees ----------------------------------------------------------------
    def view(self, role: str, week: int) -> View | None:
        """``role``'s view of ``week``: a past week, or the current one once it is final."""
        if week > self.week or (week == self.week and not self.ready(role)):
            return None
        return self.replay().players[role].views.get(week)

    def own_cost(self, role: str) -> float:
        """``role``'s own cost over the complete weeks (its own recorded state)."""
        replay = self.replay()
        j = replay.model.topology.firm_index[self.settings.roles.nodes[role]]
        costs = replay.model.recorder.firms.series("period_cost")[: replay.week, j]
        return float(costs.sum())


def same_week_dependencies(
    model: SupplyChainModel, roles: Roles, humans: Sequence[str]
) -> dict[str, frozenset[str]]:
    """For each player, the players whose order of week t it sees in week t.

    A firm reads a decision taken the same week below it through an order lane with no
    order delay, and through a stock position shared with no delay (the position
    includes the order just placed). A computer-played firm passes on what its own
    decision read. Firms act customers first, so this needs one pass in that order.
    ``model`` is a fresh model of the round (stepped once here, to see who observes whom).
    """
    model.step()
    index = model.topology.firm_index
    links: dict[int, set[int]] = {f.index: set() for f in model.firms}
    for (supplier, customer), lane in model.lanes.items():
        if lane.order_delay == 0 and customer in index:
            links[index[supplier]].add(index[customer])
    if getattr(model.regime, "delay", 0) == 0:
        for firm in model.firms:
            obs = firm.observation
            if obs is not None and obs.downstream_firms is not None:
                links[firm.index] |= {int(i) for i in obs.downstream_firms}
            elif obs is not None and obs.downstream_positions is not None:  # unnamed: all below
                below = model.topology.supply_fractions(firm.node)
                links[firm.index] |= {index[d] for d in below}
    human_index = {index[roles.nodes[h]]: h for h in humans}
    depends: dict[int, frozenset[str]] = {}
    for firm in model.firms:  # customers first
        seen: set[str] = set()
        for g in links[firm.index]:
            seen |= {human_index[g]} if g in human_index else depends.get(g, frozenset())
        depends[firm.index] = frozenset(seen)
    return {h: depends[i] for i, h in human_index.items()}


# -- a game ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Seat:
    """A role taken by a person: the secret their browser keeps, and the name they gave."""

    token: str
    name: str = ""


class Game:
    """A game in play: settings, seats, rounds; thread-safe (every browser session of a
    game shares one ``Game``). ``save`` is called with the game's record (``to_record``)
    after every change, outside the game's lock: a slow disk must not hold up the pages.

    The clock of the timeout is kept in memory only: after a restart every player
    gets the full time again. Who the computer ordered for is in the record.
    """

    def __init__(
        self,
        code: str,
        host_key: str,
        settings: Settings,
        *,
        save: Callable[[dict[str, Any]], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.code = code
        self.host_key = host_key
        self.settings = settings
        self.seats: dict[str, Seat] = {}
        self.rounds = [Round(settings, i) for i in range(len(settings.rounds))]
        self.current = 0
        self.version = 0
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._save = save
        self._write_lock = threading.Lock()
        self._saved = 0  # the version on disk
        self._clock = clock
        self._ready_since: dict[tuple[int, int, str], float] = {}

    # reading ---------------------------------------------------------------------------
    @property
    def round(self) -> Round:
        return self.rounds[self.current]

    @property
    def finished(self) -> bool:
        return self.current == len(self.rounds) - 1 and self.round.over

    @property
    def status(self) -> str:
        """'lobby' (round not started), 'playing', 'between rounds' or 'finished'."""
        if self.finished:
            return "finished"
        if not self.round.started:
            return "lobby"
        return "between rounds" if self.round.over else "playing"

    def seat_of(self, token: str | None) -> str | None:
        """The role a seat token holds, or None."""
        if not token:
            return None
        return next((r for r, s in self.seats.items() if _same(s.token, token)), None)

    def is_host(self, key: str | None) -> bool:
        return bool(key) and _same(self.host_key, key)

    def deadline(self, role: str) -> float | None:
        """Seconds left for ``role`` to order this week (None: no limit, or nothing to do)."""
        with self.lock:
            if not self.settings.timeout or self.status != "playing":
                return None
            rnd = self.round
            if role not in rnd.pending() or not rnd.ready(role):
                return None
            since = self._since(role)
            return max(0.0, since + self.settings.timeout - self._clock())

    # acting ----------------------------------------------------------------------------
    def take_seat(self, role: str, name: str = "") -> str:
        """Give ``role`` to a person; returns the seat's secret token."""
        name = " ".join(str(name).split())[:40]
        with self.lock:
            if role not in self.settings.humans:
                raise ConfigError("role", role, "a role played by a person in this game")
            if role in self.seats:
                raise ConfigError("role", role, "a role nobody has taken yet")
            token = secrets.token_urlsafe(12)
            self.seats[role] = Seat(token, name)
            self._changed()
        self.save()
        return token

    def start_round(self) -> None:
        """Start the current round, or the next once the current one is over."""
        with self.lock:
            if self.finished:
                raise ConfigError("round", self.current + 1, "a round still to play")
            if self.round.started and self.round.over:
                self.current += 1
            self.round.started = True
            self._changed()
        self.save()

    def submit(self, role: str, week: int, text: Any) -> float:
        """A player's order for ``week`` (the week their page showed): checked, recorded.

        OrderError (with a message for the page) when the input or the moment is wrong.
        """
        order = parse_order(
            text, integer=self.settings.integer_orders, maximum=self.settings.max_order
        )
        with self.lock:
            rnd = self.round
            if self.status != "playing":
                raise OrderError("The round is not being played now.")
            if week != rnd.week:
                raise OrderError("That week is over; here is the current one.")
            if role not in rnd.pending():
                raise OrderError("You have already ordered this week.")
            if not rnd.ready(role):
                raise OrderError("Wait for the orders you see this week to come in first.")
            rnd.record(role, week, Entry(order, BY_PLAYER))
            self._changed()
        self.save()
        return order

    def computer_orders(self, all_late: bool = False) -> list[str]:
        """The computer's rule orders, this week, for each player whose time is up
        (``all_late``: for every player who has not ordered yet); returns for whom."""
        done: list[str] = []
        with self.lock:
            rnd, week = self.round, self.round.week
            while self.status == "playing" and rnd.week == week:
                late = [r for r in rnd.pending() if rnd.ready(r) and (all_late or self._time_up(r))]
                if not late:
                    break
                players = rnd.replay().players
                for role in late:
                    suggestion = players[role].views[week].suggestion
                    rnd.record(role, week, Entry(suggestion, BY_COMPUTER))
                done += late
                self._changed()
        self.save()
        return done

    def tick(self) -> bool:
        """Apply the timeout now; True when that changed the game."""
        if not self.settings.timeout:
            return False
        return bool(self.computer_orders())

    def wait(self, version: int, timeout: float) -> int:
        """Block until the game's version differs from ``version`` or ``timeout`` passes."""
        with self.changed:
            if self.version == version:
                self.changed.wait(timeout)
            return self.version

    # internals -------------------------------------------------------------------------
    def _since(self, role: str) -> float:
        key = (self.current, self.round.week, role)
        return self._ready_since.setdefault(key, self._clock())

    def _mark_ready(self) -> None:
        """Start the clock of every player whose numbers for this week are now final."""
        if self.status == "playing":
            for role in self.round.pending():
                if self.round.ready(role):
                    self._since(role)

    def _time_up(self, role: str) -> bool:
        if not self.settings.timeout:
            return False
        return self._clock() >= self._since(role) + self.settings.timeout

    def _changed(self) -> None:
        self.version += 1
        self._mark_ready()
        self.changed.notify_all()

    def save(self) -> None:
        """Write the game as it is now, if it changed since the last write. Called after
        every change, outside the lock; writes are in order, each of the whole game."""
        if self._save is None:
            return
        with self._write_lock:
            with self.lock:
                if self._saved == self.version:
                    return
                version, record = self.version, self.to_record()
            self._save(record)
            self._saved = version

    # record ----------------------------------------------------------------------------
    def to_record(self) -> dict[str, Any]:
        """The whole game as plain data: enough to rebuild it exactly (``from_record``)."""
        return {
            "format": 1,
            "code": self.code,
            "host_key": self.host_key,
            "settings": self.settings.to_record(),
            "seats": {r: {"token": s.token, "name": s.name} for r, s in self.seats.items()},
            "current": self.current,
            "rounds": [
                {
                    "regime": rnd.regime,
                    "started": rnd.started,
                    "orders": [
                        {"week": w, "role": role, "order": e.order, "by": e.by}
                        for w, entries in enumerate(rnd.orders)
                        for role, e in entries.items()
                    ],
                }
                for rnd in self.rounds
            ],
        }

    @classmethod
    def from_record(cls, data: Mapping[str, Any], **kwargs: Any) -> Game:
        """A game as ``to_record`` wrote it; ConfigError names what is wrong in it."""
        if not isinstance(data, Mapping) or data.get("format") != 1:
            raise ConfigError("game record", type(data).__name__, "a game written by pullchain")
        settings = Settings.from_record(data.get("settings") or {})
        game = cls(str(data["code"]), str(data["host_key"]), settings, **kwargs)
        for role, seat in dict(data.get("seats") or {}).items():
            if role not in settings.humans:
                raise ConfigError("game record: seats", role, "a role played by a person")
            game.seats[role] = Seat(str(seat["token"]), str(seat.get("name", "")))
        rounds = list(data.get("rounds") or [])
        if len(rounds) != len(game.rounds):
            raise ConfigError("game record: rounds", len(rounds), f"{len(game.rounds)} rounds")
        for rnd, saved in zip(game.rounds, rounds, strict=True):
            rnd.started = bool(saved.get("started"))
            for item in saved.get("orders") or []:
                week = check_number(
                    "game record: week",
                    item["week"],
                    minimum=0,
                    maximum=settings.weeks - 1,
                    integer=True,
                )
                role = item["role"]
                if role not in settings.humans:
                    raise ConfigError("game record: role", role, "a role played by a person")
                by = item.get("by", BY_PLAYER)
                if by not in (BY_PLAYER, BY_COMPUTER):
                    raise ConfigError("game record: by", by, "player or computer")
                order = check_number(  # a player's order as the page accepts it
                    "game record: order",
                    item["order"],
                    minimum=0 if by == BY_PLAYER else None,
                    maximum=settings.max_order if by == BY_PLAYER else None,
                )
                rnd.record(role, int(week), Entry(float(order), by))
        game.current = int(
            check_number(
                "game record: current",
                data.get("current", 0),
                minimum=0,
                maximum=len(game.rounds) - 1,
                integer=True,
            )
        )
        game._mark_ready()
        return game


def _same(a: str, b: str) -> bool:
    """Secrets compared in constant time."""
    return hmac.compare_digest(a.encode(), str(b).encode())
