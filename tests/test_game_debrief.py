"""The classroom game's debrief: its costs are SupplyChainModel's with the same orders,
its benchmark is the computer's own play, and its downloads are whole."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from pullchain.agents.policies import POLICIES, OrderingPolicy
from pullchain.runs import SupplyChainModel
from pullchain.runs.game import Game, Settings
from pullchain.runs.game_debrief import (
    TEAM,
    bullwhip_table,
    export_csv,
    export_png,
    results,
    summary_table,
    weekly_table,
)
from pullchain.runs.scenarios import Scenario

WEEKLY = {  # what two people typed, week by week: a panic and a glut
    "retailer": [4, 4, 4, 4, 8, 12, 16, 16, 12, 8, 8, 4] * 3,
    "distributor": [4, 6, 8, 12, 20, 24, 20, 10, 0, 0, 4, 8] * 3,
}


@pytest.fixture(scope="module")
def game() -> Game:
    settings = Settings.create("beer-game", ["retailer", "distributor"], seed=3)
    game = Game("T", "k", settings)
    for _ in game.rounds:
        game.start_round()
        while not game.round.over:
            week = game.round.week
            for role in game.settings.humans:  # retailer first: transparency needs it
                game.submit(role, week, str(WEEKLY[role][week]))
    return game


class Typed(OrderingPolicy):
    """The orders the test says, whatever the situation (a plain SupplyChainModel's rule)."""

    def __init__(self, orders: list[float]) -> None:
        self.orders = orders

    def order(self, s) -> float:
        return float(self.orders[s.period])


@pytest.fixture
def typed():
    POLICIES.register("test-typed")(Typed)
    yield
    POLICIES.unregister("test-typed")


def beer_network():
    """The beer-game preset's network (Sterman's rule as the preset sets it)."""
    return Scenario.preset("beer-game").network()


def plain_run(regime: str, seed: int) -> SupplyChainModel:
    """The beer game in SupplyChainModel with nothing of the game: the typed orders for
    the two roles, Sterman's rule for the others."""
    G = beer_network()
    for node, role in ((1, "retailer"), (3, "distributor")):
        G.nodes[node]["policy"] = "test-typed"
        G.nodes[node]["policy_params"] = {"orders": WEEKLY[role]}
    model = SupplyChainModel(G, regime=regime, horizon=36, warm_up=0, rng=seed)
    model.run_model()
    return model


def test_the_debriefs_costs_are_the_models_with_the_same_orders(game, typed):
    table = summary_table(game)
    for number, regime in ((1, "opaque"), (2, "transparent")):
        model = plain_run(regime, seed=3)
        rows = table[table["round"] == number].set_index("role")
        for firm in model.firms:
            role = model.network.nodes[firm.node]["label"]
            assert rows.loc[role, "cost"] == pytest.approx(firm.cost, abs=1e-9)
        assert rows.loc[TEAM, "cost"] == pytest.approx(model.summary()["total_cost"], abs=1e-9)


def test_the_benchmark_is_the_computers_own_play(game):
    table = summary_table(game)
    bench = SupplyChainModel(beer_network(), regime="opaque", horizon=36, warm_up=0, rng=3)
    bench.run_model()
    row = table[(table["round"] == 1) & (table["role"] == TEAM)].iloc[0]
    assert row["computer's cost"] == pytest.approx(bench.summary()["total_cost"], abs=1e-9)
    assert row["cost / computer's"] == pytest.approx(row["cost"] / row["computer's cost"])
    assert "reference cost" not in table  # none given: none shown


def test_bullwhip_per_tier_is_the_models(game, typed):
    table = bullwhip_table(results(game))
    model = plain_run("opaque", seed=3)
    first = table[table["round"] == 1].set_index("tier")["bullwhip"]
    assert list(first.index) == ["retailer", "wholesaler", "distributor", "factory"]
    assert first["factory"] == pytest.approx(model.summary()["bullwhip_tier4"])


def test_weekly_table_says_who_ordered_and_matches_what_was_typed(game):
    weekly = weekly_table(results(game))
    mine = weekly[(weekly["chain"] == "team") & (weekly["round"] == 1)]
    retailer = mine[mine["role"] == "retailer"]
    assert retailer["order"].tolist() == [float(q) for q in WEEKLY["retailer"]]
    assert set(retailer["played by"]) == {"player"}
    assert set(mine[mine["role"] == "wholesaler"]["played by"]) == {"computer"}
    assert len(weekly) == 2 * 2 * 36 * 4  # rounds x chains x weeks x roles


def test_a_reference_cost_is_shown_only_when_the_facilitator_gives_one():
    settings = Settings.create(
        "beer-game", ["retailer"], reference_cost=1000.0, reference_label="my textbook, p. 3"
    )
    game = Game("T", "k", settings)
    game.start_round()
    game.computer_orders(all_late=True)
    table = summary_table(game)
    team = table[table["role"] == TEAM].iloc[0]
    assert team["reference cost"] == 1000.0
    assert team["cost / reference"] == pytest.approx(team["cost"] / 1000.0)
    assert np.isnan(table[table["role"] == "retailer"].iloc[0]["reference cost"])


def test_downloads_are_whole(game):
    weekly = pd.read_csv(io.BytesIO(export_csv(game, "weekly")))
    assert len(weekly) == 576 and {"round", "chain", "week", "role", "order"} <= set(weekly)
    assert b"computer's cost" in export_csv(game, "summary")
    png = export_png(game)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_a_game_just_begun_has_nothing_to_debrief_yet():
    game = Game("T", "k", Settings.create("beer-game", ["retailer"]))
    assert results(game) == []
    assert summary_table(game).empty
