"""The debrief of a classroom game: what each round did, against the computer's play.

Per round, per role and for the team: orders against consumer demand, stock and
backlog, cost against the computer's benchmark (the same round, every role played
by the computer's rule) and, where the facilitator gave one, a published reference
cost; the bullwhip ratio per tier; the rounds side by side. Everything is read from
the round's replayed model (``Round.replay``) and its benchmark, over the weeks
played so far, with the metrics of ``pullchain.runs.metrics``. Tables as pandas
frames (the CSV downloads), charts as Vega-Lite dicts (the page) and one PNG.

Sterman (1989) had real teams play this game and compared their play with the
optimum. His average team cost is not printed here: none of the sources that could
be read when this was written (his 1987 working paper's abstract, MIT's page on the
game) shows the figure, and a number the code cannot source is not put in front of
a class. A facilitator who has it can enter it as the game's reference cost, with
its source, and the debrief sets it beside the team's (``Settings.reference_cost``).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import metrics
from .app_style import role_names, rounded, vega_spec
from .game import BY_COMPUTER, BY_PLAYER, Game
from .palette import DEMAND_COLOR, regime_color

if TYPE_CHECKING:
    from .model import SupplyChainModel

TEAM = "team"
STERMAN_1989 = (
    'Sterman, J. D. (1989). "Modeling managerial behavior: misperceptions of feedback in a '
    'dynamic decision making experiment". Management Science 35(3), 321-339.'
)


@dataclass
class Chain:
    """One chain's weeks: per role, what it ordered, held, owed and paid."""

    orders: dict[str, np.ndarray]
    on_hand: dict[str, np.ndarray]
    backlog: dict[str, np.ndarray]
    cost: dict[str, np.ndarray]
    bullwhip: dict[str, float]

    @classmethod
    def read(cls, model: SupplyChainModel, roles: list[str], weeks: int) -> Chain:
        firms = model.recorder.firms
        series = {v: firms.series(v)[:weeks] for v in ("ordered", "on_hand", "backlog")}
        cost = firms.series("period_cost")[:weeks]
        names = role_names(model)
        recorder = _Cut(model.recorder, weeks)
        bullwhip = metrics.bullwhip_by_tier(recorder, model.topology.tiers)
        return cls(
            orders={r: series["ordered"][:, j].copy() for j, r in enumerate(roles)},
            on_hand={r: series["on_hand"][:, j].copy() for j, r in enumerate(roles)},
            backlog={r: series["backlog"][:, j].copy() for j, r in enumerate(roles)},
            cost={r: cost[:, j].copy() for j, r in enumerate(roles)},
            bullwhip={names[t]: b for t, b in bullwhip.items()},
        )

    def total(self, role: str) -> float:
        """The role's cost over the weeks (``TEAM``: every role's)."""
        if role == TEAM:
            return float(sum(c.sum() for c in self.cost.values()))
        return float(self.cost[role].sum())


class _Cut:
    """A recorder seen through its first ``rows`` periods (the weeks played so far)."""

    def __init__(self, recorder: Any, rows: int) -> None:
        self._recorder, self._rows = recorder, rows
        self.rows = rows
        self.firms = _CutSeries(recorder.firms, rows)

    def demand_series(self) -> np.ndarray:
        return self._recorder.demand_series()[: self._rows]


class _CutSeries:
    def __init__(self, series: Any, rows: int) -> None:
        self._series, self._rows = series, rows
        self.agents = series.agents
        self.variables = series.variables
        self.data = series.data[:rows]  # what metrics.Record.of_recorder reads

    def series(self, variable: str) -> np.ndarray:
        return self._series.series(variable)[: self._rows]


@dataclass
class RoundResult:
    """One round of a game, over its weeks played: the team's chain and the computer's."""

    number: int
    regime: str
    weeks: int
    demand: np.ndarray
    roles: list[str]
    humans: list[str]
    played_by: dict[str, list[str]]
    team: Chain
    computer: Chain
    colors: dict[str, str]


def results(game: Game) -> list[RoundResult]:
    """Every round with at least one week played, in order."""
    out = []
    roles = game.settings.roles.names
    for i, rnd in enumerate(game.rounds):
        with game.lock:
            weeks = rnd.week
            if not rnd.started or weeks == 0:
                continue
            model = rnd.replay().model
            orders = [dict(rnd.entered(w)) for w in range(weeks)]
        bench = rnd.benchmark()
        played = {
            r: [orders[w][r].by if r in game.settings.humans else BY_COMPUTER for w in range(weeks)]
            for r in roles
        }
        out.append(
            RoundResult(
                number=i + 1,
                regime=rnd.regime,
                weeks=weeks,
                demand=model.recorder.demand_series()[:weeks].copy(),
                roles=list(roles),
                humans=list(game.settings.humans),
                played_by=played,
                team=Chain.read(model, roles, weeks),
                computer=Chain.read(bench, roles, weeks),
                colors=dict(game.settings.roles.colors),
            )
        )
    return out


# -- tables ---------------------------------------------------------------------------------
def summary_table(game: Game, rounds: list[RoundResult] | None = None) -> pd.DataFrame:
    """Per round, per role and for the team: cost, the computer's cost, their ratio, who
    played; the reference cost where the facilitator gave one."""
    rows = []
    for r in rounds if rounds is not None else results(game):
        for role in [*r.roles, TEAM]:
            team, computer = r.team.total(role), r.computer.total(role)
            if role == TEAM:
                who = f"{len(r.humans)} of {len(r.roles)} roles by people"
            elif role in r.humans:
                late = r.played_by[role].count(BY_COMPUTER)
                who = BY_PLAYER + (f" ({late} weeks by the computer)" if late else "")
            else:
                who = BY_COMPUTER
            rows.append(
                {
                    "round": r.number,
                    "regime": r.regime,
                    "weeks": r.weeks,
                    "role": role,
                    "played by": who,
                    "cost": team,
                    "computer's cost": computer,
                    "cost / computer's": team / computer if computer > 0 else math.nan,
                }
            )
    table = pd.DataFrame(rows)
    ref = game.settings.reference_cost
    if ref is not None and len(table):
        team_rows = table["role"] == TEAM
        table.loc[team_rows, "reference cost"] = ref
        table.loc[team_rows, "cost / reference"] = table.loc[team_rows, "cost"] / ref
    return table


def bullwhip_table(rounds: list[RoundResult]) -> pd.DataFrame:
    """Per round and tier: Var(the tier's orders) / Var(consumer demand), team and computer."""
    rows = []
    for r in rounds:
        for tier, value in r.team.bullwhip.items():
            rows.append(
                {
                    "round": r.number,
                    "regime": r.regime,
                    "tier": tier,
                    "bullwhip": value,
                    "computer's bullwhip": r.computer.bullwhip.get(tier, math.nan),
                }
            )
    return pd.DataFrame(rows)


def weekly_table(rounds: list[RoundResult]) -> pd.DataFrame:
    """One row per round, chain (team or computer), week and role: the tidy record."""
    rows = []
    for r in rounds:
        for chain_name, chain in (("team", r.team), ("computer", r.computer)):
            for w in range(r.weeks):
                for role in r.roles:
                    by = r.played_by[role][w] if chain_name == "team" else BY_COMPUTER
                    rows.append(
                        {
                            "round": r.number,
                            "regime": r.regime,
                            "chain": chain_name,
                            "week": w + 1,
                            "role": role,
                            "played by": by,
                            "consumer demand": float(r.demand[w]),
                            "order": float(chain.orders[role][w]),
                            "on hand": float(chain.on_hand[role][w]),
                            "backlog": float(chain.backlog[role][w]),
                            "cost": float(chain.cost[role][w]),
                        }
                    )
    return pd.DataFrame(rows)


def export_csv(game: Game, which: str = "weekly") -> bytes:
    """The debrief as CSV: ``weekly`` (every week of every role), ``summary`` (costs and
    bullwhip ratios per round)."""
    rounds = results(game)
    if which == "weekly":
        return weekly_table(rounds).to_csv(index=False).encode()
    summary = summary_table(game, rounds)
    bullwhip = bullwhip_table(rounds)
    return (summary.to_csv(index=False) + "\n" + bullwhip.to_csv(index=False)).encode()


# -- charts ---------------------------------------------------------------------------------
PROJECTOR_CONFIG = {"view": {"stroke": None}, "axis": {"labelFontSize": 13, "titleFontSize": 14}}
"""Axis labels and titles a room can read (Vega-Lite's defaults are 10 and 11 px)."""


def column_facet(field: str) -> dict[str, Any]:
    """Side-by-side panels, one per value of ``field``, headed in large type."""
    return {
        "column": {
            "field": field,
            "type": "nominal",
            "title": None,
            "header": {"labelFontSize": 15},
        }
    }


def _facet(rounds: list[RoundResult], rows: list[dict], title: str, y_title: str, width: int):
    colors = rounds[0].colors if rounds else {}
    with_demand = any(r["series"] == "consumer demand" for r in rows)
    domain = ["consumer demand", *colors] if with_demand else list(colors)
    ranges = [DEMAND_COLOR if d == "consumer demand" else colors[d] for d in domain]
    return vega_spec(
        title={"text": title, "fontSize": 16},
        data={"values": rows},
        facet=column_facet("round"),
        spec={
            "width": width,
            "height": 210,
            "mark": {"type": "line", "strokeWidth": 2.2, "point": False},
            "encoding": {
                "x": {
                    "field": "week",
                    "type": "quantitative",
                    "title": "week",
                    "scale": {"domain": [1, max((r.weeks for r in rounds), default=1)]},
                },
                "y": {"field": "value", "type": "quantitative", "title": y_title},
                "color": {
                    "field": "series",
                    "type": "nominal",
                    "title": None,
                    "scale": {"domain": domain, "range": ranges},
                    "legend": {"orient": "bottom", "labelFontSize": 14},
                },
                "strokeDash": {
                    "field": "chain",
                    "type": "nominal",
                    "title": None,
                    "scale": {"domain": ["your team", "computer"], "range": [[1, 0], [4, 3]]},
                    "legend": {"orient": "bottom", "labelFontSize": 14},
                },
                "tooltip": [
                    {"field": "round"},
                    {"field": "chain"},
                    {"field": "series"},
                    {"field": "week"},
                    {"field": "value", "format": ",.1f"},
                ],
            },
        },
        config=PROJECTOR_CONFIG,
    )


def _label(r: RoundResult) -> str:
    return f"round {r.number}: {r.regime}"


def _row(r: RoundResult, chain: str, series: str, week: int, value: float | None) -> dict:
    return {"round": _label(r), "chain": chain, "series": series, "week": week, "value": value}


def _width(rounds: list[RoundResult]) -> int:
    """Facet width that fits 1280 px across with every round side by side."""
    return max(260, min(520, 1080 // max(len(rounds), 1) - 60))


def orders_spec(rounds: list[RoundResult]) -> dict[str, Any]:
    """Each role's orders per week against consumer demand (black), per round; the
    computer's orders dashed."""
    rows: list[dict] = []
    for r in rounds:
        weeks = list(range(1, r.weeks + 1))
        rows += [
            _row(r, "your team", "consumer demand", w, v)
            for w, v in zip(weeks, rounded(r.demand), strict=True)
        ]
        for chain_name, chain in (("your team", r.team), ("computer", r.computer)):
            for role in r.roles:
                rows += [
                    _row(r, chain_name, role, w, v)
                    for w, v in zip(weeks, rounded(chain.orders[role]), strict=True)
                ]
    title = "Orders placed against consumer demand"
    return _facet(rounds, rows, title, "units a week", _width(rounds))


def stock_spec(rounds: list[RoundResult]) -> dict[str, Any]:
    """Each role's stock minus backlog per week (below zero: owed), per round."""
    rows: list[dict] = []
    for r in rounds:
        weeks = list(range(1, r.weeks + 1))
        for chain_name, chain in (("your team", r.team), ("computer", r.computer)):
            for role in r.roles:
                net = chain.on_hand[role] - chain.backlog[role]
                rows += [
                    _row(r, chain_name, role, w, v)
                    for w, v in zip(weeks, rounded(net), strict=True)
                ]
    title = "Stock on hand (above 0) and backlog (below 0)"
    return _facet(rounds, rows, title, "units", _width(rounds))


def cost_spec(game: Game, rounds: list[RoundResult]) -> dict[str, Any]:
    """Each role's cost and the team's, against the computer's, round by round."""
    rows = []
    for r in rounds:
        for role in [*r.roles, TEAM]:
            for chain_name, chain in (("your team", r.team), ("computer", r.computer)):
                rows.append(
                    {
                        "round": _label(r),
                        "role": role,
                        "chain": chain_name,
                        "cost": round(chain.total(role), 2),
                    }
                )
    colors = [regime_color(r.regime, r.number) for r in rounds]
    order = [f"{_label(r)} {c}" for r in rounds for c in ("your team", "computer")]
    return vega_spec(
        title={"text": "Cost of each role and of the team, against the computer", "fontSize": 16},
        data={"values": rows},
        width=max(300, min(1000, 210 * len(rounds[0].roles) if rounds else 300)),
        height=220,
        mark={"type": "bar"},
        encoding={
            "x": {
                "field": "role",
                "type": "nominal",
                "sort": None,
                "title": None,
                "axis": {"labelFontSize": 14, "labelAngle": 0},
            },
            "xOffset": {"field": "series_key", "type": "nominal", "sort": order},
            "y": {"field": "cost", "type": "quantitative", "title": "cost over the weeks played"},
            "color": {
                "field": "round",
                "type": "nominal",
                "scale": {"domain": [_label(r) for r in rounds], "range": colors},
                "legend": {"orient": "bottom", "labelFontSize": 14, "title": None},
            },
            "opacity": {
                "field": "chain",
                "type": "nominal",
                "scale": {"domain": ["your team", "computer"], "range": [1.0, 0.35]},
                "legend": {"orient": "bottom", "labelFontSize": 14, "title": None},
            },
            "tooltip": [
                {"field": "round"},
                {"field": "role"},
                {"field": "chain"},
                {"field": "cost", "format": ",.1f"},
            ],
        },
        transform=[{"calculate": "datum.round + ' ' + datum.chain", "as": "series_key"}],
        config=PROJECTOR_CONFIG,
    )


# -- the PNG --------------------------------------------------------------------------------
def export_png(game: Game) -> bytes:
    """The debrief's charts as one PNG (matplotlib: no browser needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rounds = results(game)
    n = max(len(rounds), 1)
    fig, axes = plt.subplots(
        3, n, figsize=(6.4 * n, 11), constrained_layout=True, squeeze=False, sharey="row"
    )
    for k, r in enumerate(rounds):
        weeks = np.arange(1, r.weeks + 1)
        ax = axes[0, k]
        ax.plot(weeks, r.demand, color=DEMAND_COLOR, lw=2.4, label="consumer demand")
        for role in r.roles:
            ax.plot(weeks, r.team.orders[role], color=r.colors[role], lw=1.8, label=role)
            ax.plot(weeks, r.computer.orders[role], color=r.colors[role], lw=1, ls="--")
        ax.set_title(f"Round {r.number} ({r.regime}): orders (dashed: the computer)")
        ax.set_xlabel("week")
        ax.set_ylabel("units a week")
        ax.legend(fontsize=8, loc="upper left")
        ax = axes[1, k]
        ax.axhline(0, color="#999", lw=0.8)
        for role in r.roles:
            ax.plot(
                weeks,
                r.team.on_hand[role] - r.team.backlog[role],
                color=r.colors[role],
                lw=1.8,
                label=role,
            )
        ax.set_title("Stock on hand (above 0) and backlog (below 0)")
        ax.set_xlabel("week")
        ax = axes[2, k]
        labels = [*r.roles, TEAM]
        x = np.arange(len(labels))
        ax.bar(
            x - 0.2,
            [r.team.total(x_) for x_ in labels],
            0.4,
            label="your team",
            color=regime_color(r.regime, r.number),
        )
        ax.bar(
            x + 0.2, [r.computer.total(x_) for x_ in labels], 0.4, label="computer", color="#bbbbbb"
        )
        ax.set_xticks(x, labels)
        ax.set_title("Cost over the weeks played")
        ax.legend(fontsize=8)
    fig.suptitle(f"pullchain classroom game {game.code}: {game.settings.scenario_name}")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()
