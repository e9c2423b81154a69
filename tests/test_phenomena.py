"""The push-vs-pull mechanisms: each switchable, each moving what it targets.

Every comparison is paired: the runs of one replication share a seed, hence the same
consumer demand and the same random shocks (common random numbers). A change is
"clear" when the 95 % confidence interval of the paired differences excludes zero.
Runs are shortened from the presets where the effect shows in fewer periods.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pullchain.network.errors import ConfigError
from pullchain.runs.compare import replication_seeds, t_quantile_975
from pullchain.runs.metrics import firm_profit
from pullchain.runs.scenarios import Scenario

REPS = 5


def runs(scenario: Scenario, regime: str, reps: int = REPS) -> list:
    out = []
    for seed in replication_seeds(scenario.seed, reps):
        model = scenario.model(regime=regime, seed=seed, record_consumers=False)
        model.run_model()
        out.append(model)
    return out


def metric(models, name: str) -> np.ndarray:
    return np.array([m.summary()[name] for m in models])


def ci(diff: np.ndarray) -> tuple[float, float, float]:
    """Mean of paired differences and its 95 % interval."""
    mean = float(diff.mean())
    half = t_quantile_975(len(diff) - 1) * float(diff.std(ddof=1)) / math.sqrt(len(diff))
    return mean, mean - half, mean + half


def preset(name: str, **overrides) -> Scenario:
    return Scenario.preset(name).with_overrides(overrides) if overrides else Scenario.preset(name)


# -- 1. fads and obsolescence ------------------------------------------------------------
def test_a_fad_leaves_stock_to_write_off_and_loses_sales_in_the_boom():
    fad = runs(preset("fad"), "opaque")
    # The same products selling steadily at 4 a period until their season ends: no boom.
    steady = runs(preset("fad", **{"network.base": 4.0, "network.peak": 4.0}), "opaque")
    written = metric(fad, "written_off") - metric(steady, "written_off")
    _, low, _ = ci(written)
    assert low > 0
    assert metric(fad, "written_off").mean() > 1.5 * metric(steady, "written_off").mean()
    assert metric(fad, "writeoff_cost").min() > 0  # money lost: bought at 6, salvaged at 1
    assert metric(fad, "lost_sales").mean() > 5 * metric(steady, "lost_sales").mean()


def test_the_fad_comparison_is_paired_and_reported_with_its_interval():
    from pullchain.runs.compare import compare

    table = compare(preset("fad"), replications=3).table()
    for name in ("written_off", "writeoff_cost", "lost_sales", "profit"):
        row = table.loc[name]
        assert row["pairs"] == 3 and row["ci_low"] <= row["change"] <= row["ci_high"]
    # Retailers see their shoppers under both regimes, and the boom outruns every
    # pipeline: the same sales are lost whatever upstream firms are shown.
    assert table.loc["lost_sales", "change"] == pytest.approx(0.0, abs=1e-6)


# -- 2. rationing and shortage gaming ------------------------------------------------------
def test_shortage_gaming_raises_the_bullwhip_under_opaque():
    gaming = runs(preset("rationing"), "opaque")
    honest = runs(preset("rationing", **{"kinds.retailer.gaming": 1.0}), "opaque")
    for tier in ("bullwhip_tier1", "bullwhip_tier2"):
        _, low, _ = ci(metric(gaming, tier) - metric(honest, tier))
        assert low > 0
    assert metric(gaming, "bullwhip_tier1").mean() > 2 * metric(honest, "bullwhip_tier1").mean()


def gamer_advantage(regime: str) -> np.ndarray:
    """Fill rate of the one gaming retailer minus the others' mean, per replication."""
    scenario = preset(
        "rationing", steps=150, **{"kinds.retailer.gaming": 1.0, 'nodes."retailer 1".gaming': 3.0}
    )
    out = []
    for model in runs(scenario, regime):
        rec, w = model.recorder, model.warm_up
        cols = [j for j, f in enumerate(rec.firms.agents) if f.kind == "retailer"]
        fill = rec.firms.series("filled")[w:, cols].sum(0) / rec.firms.series("demand")[
            w:, cols
        ].sum(0)
        labels = [model.network.nodes[rec.firms.agents[j].node]["label"] for j in cols]
        gamer = labels.index("retailer 1")
        out.append(fill[gamer] - np.delete(fill, gamer).mean())
    return np.array(out)


def test_gaming_pays_when_the_supplier_sees_only_orders_and_not_when_it_sees_need():
    opaque, shared = gamer_advantage("opaque"), gamer_advantage("transparent")
    assert ci(opaque)[1] > 0.2  # the gamer's shelves are clearly fuller
    assert abs(shared.mean()) < 0.05  # allocation by need: inflating orders buys nothing


def test_phantom_orders_are_cancelled_when_supply_recovers():
    model = preset("rationing").model(regime="opaque")
    cancelled = 0.0
    while model.running:
        model.step()
        cancelled += sum(lane.cancel_done for lane in model.lanes.values())
    retailers = [f for f in model.firms if f.kind == "retailer"]
    assert cancelled > 0
    assert all(f.shaping.phantom < f.supply_line + 1e-9 for f in retailers)


# -- 3. order batching and 4. promotions: information sharing does not remove them ----------
@pytest.mark.parametrize(
    ("name", "off"),
    [
        ("batching", {"kinds.retailer.review_period": 1, "kinds.retailer.batch_size": 0.0}),
        ("promotion", {"kinds.retailer.forward_buy": 0.0}),
    ],
)
def test_batching_and_forward_buying_amplify_orders_whatever_is_shared(name, off):
    on_opaque = runs(preset(name, steps=140), "opaque")
    off_opaque = runs(preset(name, steps=140, **off), "opaque")
    on_shared = runs(preset(name, steps=140), "transparent")
    # Switched on, the retailers' orders swing several times more ...
    assert ci(metric(on_opaque, "bullwhip_tier1") - metric(off_opaque, "bullwhip_tier1"))[1] > 0
    assert (
        metric(on_opaque, "bullwhip_tier1").mean() > 3 * metric(off_opaque, "bullwhip_tier1").mean()
    )
    # ... and sharing point-of-sale data leaves that exactly as it is: retailers see their
    # shoppers under both regimes, and the lumps come from costs and prices, not ignorance.
    np.testing.assert_allclose(
        metric(on_shared, "bullwhip_tier1"), metric(on_opaque, "bullwhip_tier1"), rtol=1e-12
    )
    assert (
        metric(on_shared, "bullwhip_tier1").mean() > 3 * metric(off_opaque, "bullwhip_tier1").mean()
    )


def test_batching_costs_orders():
    model = preset("batching", steps=80).model()
    model.run_model()
    assert model.summary()["order_cost"] > 0


# -- 5. disruptions ---------------------------------------------------------------------------
def test_an_outage_leaves_demand_unserved_and_the_chain_recovers():
    shocked = runs(preset("disruption", steps=180), "opaque", reps=4)
    calm = runs(preset("disruption", steps=180, disruptions=[]), "opaque", reps=4)
    _, low, _ = ci(metric(shocked, "backlog_mean") - metric(calm, "backlog_mean"))
    assert low > 0
    recovery = metric(shocked, "recovery_time")
    assert np.isfinite(recovery).all() and (recovery > 0).all()
    assert "recovery_time" not in calm[0].summary()
    for key in ("unserved_after_shock", "bullwhip_after_shock", "felt_tier1", "reaction_tier3"):
        assert key in shocked[0].summary()


def test_both_regimes_suffer_the_same_shocks():
    scenario = preset("disruption", steps=200)
    seed = replication_seeds(scenario.seed, 1)[0]
    events = []
    for regime in ("opaque", "transparent"):
        model = scenario.model(regime=regime, seed=seed)
        model.run_model()
        events.append(model.disruptions.events)
    assert events[0] == events[1]
    assert len(events[0]) >= 2


# -- 6. make to order -------------------------------------------------------------------------
def test_make_to_order_holds_less_stock_and_makes_consumers_wait():
    mto = preset("make-to-order", steps=140)
    mts = preset(
        "make-to-order",
        steps=140,
        **{
            "firms.policy": "order_up_to",
            "firms.policy_params": {"window": 4, "safety_periods": 0.5},
            "consumers.preorder_share": 0.0,
        },
    )
    made, stocked = runs(mto, "opaque"), runs(mts, "opaque")
    assert ci(metric(made, "on_hand_mean") - metric(stocked, "on_hand_mean"))[2] < 0
    assert ci(metric(made, "mean_wait") - metric(stocked, "mean_wait"))[1] > 1.0
    assert metric(made, "fill_rate").max() < 0.05 < metric(stocked, "fill_rate").min()


def test_impatient_pre_orders_are_lost_after_their_patience():
    short = preset("make-to-order", steps=100, **{"consumers.patience": 1})
    model = short.model()
    model.run_model()
    assert model.summary()["lost_sales"] > 0
    retail = [f for f in model.firms if f.kind == "retailer"]
    for firm in retail:  # nobody waits longer than their patience
        for queue in firm._waiting.values():
            assert all(model.period - period < 1 for period, _ in queue)


# -- 7. the whole chain, in money -----------------------------------------------------------------
def test_firm_profits_add_up_to_the_chain_profit():
    model = preset("default", steps=80).model()
    model.run_model()
    summary = model.summary()
    assert summary["profit"] == pytest.approx(sum(firm_profit(model, model.warm_up).values()))
    # Sales between firms cancel: the chain earns from consumers, less making and costs.
    rec, w = model.recorder, model.warm_up
    retail = [j for j, f in enumerate(rec.firms.agents) if f.kind == "retailer"]
    consumer_revenue = float(rec.firms.series("revenue")[w:, retail].sum())
    running = summary["total_cost"] - summary["writeoff_cost"]
    assert summary["profit"] == pytest.approx(
        consumer_revenue - summary["production_cost"] - running, rel=1e-9
    )
    assert summary["capital_cost"] > 0


def test_echelon_base_stock_needs_shared_stock_data():
    scenario = preset(
        "serial", steps=300, **{"firms.policy": "echelon_base_stock", "firms.policy_params": {}}
    )
    opaque, shared = runs(scenario, "opaque", reps=3), runs(scenario, "transparent", reps=3)
    # Seen stock changes the orders; unseen, each firm falls back to its local level.
    assert not np.allclose(metric(opaque, "on_hand_mean"), metric(shared, "on_hand_mean"))
    assert ci(metric(shared, "total_cost") - metric(opaque, "total_cost"))[2] < 0


@pytest.mark.parametrize("regime", ["opaque", "transparent"])
def test_echelon_base_stock_at_a_retailer_orders_up_to_its_level(regime):
    """Nothing is below a retailer: its echelon is itself, so its `level` is its level
    under every regime (it used to be ignored for `local_level`)."""
    scenario = preset("serial", steps=60, warm_up=5).with_overrides(
        {
            "firms.policy": "echelon_base_stock",
            "firms.policy_params": {},
            'nodes."retailer".policy_params': {"level": 420.0, "local_level": 250.0},
        }
    )
    model = scenario.model(regime=regime)
    model.run_model()
    position = model.recorder.firms.series("inventory_position")[:, 0]
    assert model.firms[0].kind == "retailer"
    np.testing.assert_allclose(position[1:], 420.0, rtol=0, atol=1e-9)


# -- conservation with every mechanism on, and bad input ------------------------------------------
@pytest.mark.parametrize(
    "name", ["fad", "rationing", "batching", "promotion", "disruption", "make-to-order"]
)
def test_goods_are_conserved_in_every_preset(name):
    for regime in ("opaque", "transparent"):
        model = preset(name).model(regime=regime)
        while model.running:
            model.step()
            ledger = model.ledger()
            rest = sum(v for k, v in ledger.items() if k != "entered")
            assert math.isclose(ledger["entered"], rest, rel_tol=1e-9, abs_tol=1e-6)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("firms.gaming", 0.5, "gaming"),
        ("firms.review_period", 0, "review_period"),
        ("firms.batch_size", -1.0, "batch_size"),
        ("firms.min_order", "ten", "min_order"),
        ("kinds.brand.promotion_discount", 1.5, "promotion_discount"),
        ("firms.season_end", -4, "season_end"),
        ("kinds.retailer.price", -2.0, "price"),
        ("kinds.supplier.unit_cost", -1.0, "unit_cost"),
        ("consumers.patience", -3, "patience"),
        ("consumers.preorder_share", 2.0, "consumers.preorder_share"),
        ("disruptions", [{"kind": "strike", "node": "supplier 1"}], "disruptions[0].kind"),
        ("disruptions", [{"kind": "outage", "node": "nowhere"}], "disruptions[0].node"),
        ("disruptions", [{"kind": "outage", "node": "supplier 1", "duration": 0}], "duration"),
        (
            "disruptions",
            [{"kind": "lead_time", "edge": ["brand 1", "supplier 1"], "extra": 2}],
            "edge",
        ),
        ("disruptions", [{"kind": "lead_time", "edge": ["supplier 1", "brand 1"]}], "extra"),
        ("disruptions", [{"kind": "outage", "targets": "brand", "rate": 1.5}], "rate"),
        ("disruptions", [{"kind": "outage", "targets": "wizard", "rate": 0.1}], "targets"),
        ("disruptions", {"kind": "outage"}, "disruptions"),
        ("firms.in_transit_holding", "yes", "in_transit_holding"),
        ("service", 1.0, "service"),
        ("service", -0.5, "service"),
        ("safety_factor", "lots", "safety_factor"),
        ("firms.policy_params", {"window": 4, "fill_rate": 1.0}, "fill_rate"),
        ("firms.policy_params", {"window": 4, "error_window": 1.5}, "error_window"),
    ],
)
def test_each_new_parameter_is_checked_with_a_clear_error(path, value, field):
    with pytest.raises(ConfigError) as err:
        Scenario.preset("default").with_overrides({path: value})
    assert field in err.value.field


@pytest.mark.parametrize(
    ("params", "field"),
    [({"hold_periods": -1}, "hold_periods"), ({"hold_periods": 2.5}, "hold_periods"),
     ({"hold_order": -4.0}, "hold_order"), ({"integer": "yes"}, "integer")],
)  # fmt: skip
def test_the_board_options_of_stermans_rule_are_checked(params, field):
    with pytest.raises(ConfigError) as err:
        Scenario.preset("beer-game").with_overrides({"network.policy_params": params})
    assert err.value.field.endswith(field) and err.value.field.startswith("node")
