"""Vendor-managed inventory: the vendor sees its retailers' stock and sales and decides
their replenishment; nobody else sees them.

What it changes, on the default chain (suppliers -> brands -> retailers): against
``opaque``, the brands (the vendors) forecast from point-of-sale data, so their orders
swing far less; against ``transparent``, the suppliers see only the brands' orders, so
theirs swing more. Paired replications, 95 % intervals.
"""

from __future__ import annotations

import numpy as np
import pytest

from pullchain.agents.firms import Retailer
from pullchain.agents.policies import POLICIES, Situation
from pullchain.network.builders import layered_network, serial_chain
from pullchain.network.errors import ConfigError
from pullchain.runs.compare import compare
from pullchain.runs.model import SupplyChainModel
from pullchain.runs.scenarios import Scenario

from .helpers import meddle


@pytest.fixture(scope="module")
def against():
    """vmi paired with opaque and with transparent on a shortened default scenario, at
    the firms' own safety stock (not tuned to equal service: the mechanism alone)."""
    base = Scenario.preset("default").with_overrides(
        {"steps": 120, "warm_up": 30, "service": False}
    )
    return {
        other: compare(base, replications=6, regimes=(other, "vmi")).table()
        for other in ("opaque", "transparent")
    }


def significant(table, metric: str) -> float:
    row = table.loc[metric]
    assert row.ci_low > 0 or row.ci_high < 0, f"{metric}: {row.to_dict()}"
    return row.change


def test_against_opaque_the_vendors_orders_swing_far_less_and_backlog_falls(against):
    table = against["opaque"]
    assert significant(table, "bullwhip_tier2") < -0.3 * table.loc["bullwhip_tier2", "opaque"]
    assert significant(table, "bullwhip_tier3") < 0
    assert significant(table, "backlog_cost") < 0


def test_against_transparent_the_suppliers_who_see_nothing_swing_more(against):
    table = against["transparent"]
    assert significant(table, "bullwhip_tier3") > 0.5 * table.loc["bullwhip_tier3", "transparent"]
    # The vendors see what transparent brands see: their own swing is about the same.
    tier2 = table.loc["bullwhip_tier2"]
    assert abs(tier2.change) < 0.1 * tier2.transparent


def test_each_retailer_is_decided_by_its_lead_vendor_with_the_band_formula():
    G = layered_network(n_consumers=12, seed=3)
    for u, v in G.edges:
        if G.nodes[v]["kind"] == "retailer":
            G.edges[u, v]["share"] = 1.0 + (u % 2)  # the odd-numbered brand is the lead
    model = SupplyChainModel(G, regime="vmi", horizon=40, rng=2)
    retailers = [f for f in model.firms if f.kind == "retailer"]
    for r in retailers:
        suppliers = model.topology.suppliers(r.node)
        lead = max(suppliers, key=lambda u: (model.topology.shares[u, r.node], -suppliers.index(u)))
        assert r.manager is model.firms[model.topology.firm_index[lead]]
        assert r.index in r.manager.manages and not r.manages
    # Reproduce one retailer's orders by hand from its own series: order up to
    # (L + max_cover) x the 5-period moving average of its consumers' demand (no safety
    # stock: the builder's firms have no service target).
    shop = retailers[0]
    model.run_model()
    j = model.firms.index(shop)
    rec = model.recorder.firms
    pos, q = rec.series("demand")[:, j], rec.series("ordered")[:, j]
    ip_before = rec.series("inventory_position")[:, j] - q
    mean = model._expected_demand(shop.node)
    history = [mean] * 5
    for t in range(len(q)):
        history = [*history[1:], pos[t]]
        target = (shop.lead_time + model.regime.max_cover) * (sum(history) / 5)
        assert q[t] == pytest.approx(max(target - ip_before[t], 0.0), abs=1e-9), t


def test_the_retailers_own_policy_is_not_used_under_vmi():
    base = Scenario.preset("default").with_overrides({"steps": 60, "warm_up": 10})
    # Another rule with the same service target: under vmi only the target is used.
    target = {"service_level": 0.95}
    odd = base.with_overrides(
        {"kinds.retailer.policy": "base_stock", "kinds.retailer.policy_params": target}
    )
    a, b = base.model(regime="vmi"), odd.model(regime="vmi")
    a.run_model()
    b.run_model()
    assert a.summary() == b.summary()
    c, d = odd.model(regime="opaque"), base.model(regime="opaque")
    c.run_model()
    d.run_model()
    assert c.summary() != d.summary()  # (where the retailers decide, it matters)


def test_with_no_retailer_in_the_programme_vmi_is_opaque_bit_for_bit():
    base = Scenario.preset("default").with_overrides({"steps": 60, "regime.participation": 0.0})
    vmi, opaque = base.model(regime="vmi"), base.model(regime="opaque")
    vmi.run_model()
    opaque.run_model()
    assert not vmi.regime.managers and not vmi.regime.participating.any()
    assert vmi.summary() == opaque.summary()
    np.testing.assert_array_equal(
        vmi.recorder.firms.series("ordered"), opaque.recorder.firms.series("ordered")
    )


def test_participation_is_a_nested_share_of_retailers():
    G = layered_network(seed=1)
    managed = [
        set(SupplyChainModel(G, regime="vmi", participation=p, rng=3).regime.managers)
        for p in (0.0, 0.5, 1.0)
    ]
    n_retailers = sum(k == "retailer" for _, k in G.nodes(data="kind"))
    assert managed[0] == set() and managed[0] <= managed[1] <= managed[2]
    assert len(managed[1]) == round(0.5 * n_retailers) and len(managed[2]) == n_retailers


# -- no leak: only the vendor sees the retailer's data ------------------------------------------
class Meddler(Retailer):
    """After ordering in period 5, changes data only its vendor may see."""

    def step(self) -> None:
        super().step()
        meddle(self)


def upstream_decisions(network, regime: str, meddle: bool):
    classes = {"retailer": Meddler} if meddle else None
    model = SupplyChainModel(network, regime=regime, agent_classes=classes, rng=9)
    for _ in range(6):
        model.step()
    return model, [
        (f.ordered, f.observation.demand_signal, f.observation.downstream_positions)
        for f in model.firms
    ]


def test_only_the_vendor_sees_the_retailer_s_stock_and_sales():
    # Orders take a period to arrive, so what reaches the vendor's suppliers in period 5
    # cannot carry the vendor's reaction: anything they did differently would be a leak.
    network = serial_chain(4, lead_time=2, order_delay=1, initial_stock=20.0)
    model, plain = upstream_decisions(network, "vmi", meddle=False)
    _, meddled = upstream_decisions(network, "vmi", meddle=True)
    vendor = model.firms[0].manager
    assert vendor is model.firms[1]
    (q0, s0, d0), (q1, s1, d1) = plain[1], meddled[1]
    assert s1 == pytest.approx(s0 + 30.0) and d1[0] == pytest.approx(d0[0] + 50.0) and q1 != q0
    assert model.firms[1].observation.downstream_firms.tolist() == [0]  # the retailer's index
    for above in (2, 3):  # the vendor's own suppliers see only its orders
        assert plain[above][:2] == meddled[above][:2]
        assert plain[above][2] is meddled[above][2] is None


def test_a_supplier_that_is_not_the_vendor_sees_nothing_of_the_retailer():
    G = layered_network(n_suppliers=1, n_brands=2, n_retailers=1, n_consumers=4, seed=0)
    (shop,) = [n for n, k in G.nodes(data="kind") if k == "retailer"]
    brands = sorted(G.predecessors(shop))
    G.edges[brands[0], shop]["share"] = 3.0  # the vendor
    model, plain = upstream_decisions(G, "vmi", meddle=False)
    _, meddled = upstream_decisions(G, "vmi", meddle=True)
    index = model.topology.firm_index
    vendor, other = index[brands[0]], index[brands[1]]
    assert model.firms[index[shop]].manager is model.firms[vendor]
    assert plain[vendor] != meddled[vendor]
    assert plain[other][:2] == meddled[other][:2] and meddled[other][2] is None
    assert model.firms[other].observation.downstream_firms is None


# -- the band and its knobs ---------------------------------------------------------------------
def test_the_min_max_band_replenishes_only_at_the_floor():
    rule = POLICIES.create("vmi_band", {"band": "min_max", "min_cover": 1.0, "max_cover": 3.0})
    rule.reset(10.0, lead_time=2)
    s = Situation(lead_time=2)
    s.observation = type("Obs", (), {"demand_signal": 10.0})()
    s.on_hand, s.backlog, s.supply_line = 20.0, 0.0, 11.0  # IP 31 > (2 + 1) x 10: wait
    assert rule.order(s) == 0.0
    s.supply_line = 10.0  # IP 30 at the floor: up to (2 + 3) x 10
    assert rule.order(s) == pytest.approx(20.0)


@pytest.mark.parametrize(
    ("knobs", "field"),
    [
        ({"band": "lumpy"}, "regime.band"),
        ({"max_cover": -1.0}, "regime.max_cover"),
        ({"min_cover": 2.0, "max_cover": 1.0}, "regime.max_cover"),
        ({"window": 0}, "regime.window"),
        ({"participation": 1.5}, "regime.participation"),
    ],
)
def test_bad_vmi_knobs_name_the_field(knobs, field):
    base = {"network": {"builder": "serial"}, "regime": {"name": "vmi", **knobs}}
    with pytest.raises(ConfigError) as err:
        Scenario(base)
    assert err.value.field == field


def test_vmi_knobs_are_ignored_by_other_regimes_and_checked_for_all():
    s = Scenario({"network": {"builder": "serial"}, "regime": {"band": "min_max", "delay": 1}})
    assert s.regime("vmi").band == "min_max" and s.regime("transparent").delay == 1
    assert not hasattr(s.regime("transparent"), "band")
    with pytest.raises(ConfigError, match=r"regime\.band"):
        Scenario({"network": {"builder": "serial"}, "regime": {"band": "lumpy"}})


# -- who is who in an observation -----------------------------------------------------------------
def test_an_observation_names_the_firms_whose_stock_and_sales_it_shows():
    model = SupplyChainModel(layered_network(n_consumers=12, seed=3), regime="transparent", rng=4)
    for _ in range(3):
        model.step()
    pos = model.regime.board.pos[2 % model.regime.board.depth]
    for firm in model.firms:
        obs = firm.observation
        if firm.kind == "retailer":
            assert obs.downstream_firms is None and obs.downstream_sales is None
            continue
        below = obs.downstream_firms.tolist()  # indices in processing order
        assert below == sorted(below) and firm.index not in below
        assert len(below) == len(obs.downstream_positions) == len(obs.downstream_sales)
        for d, sales, position in zip(
            below, obs.downstream_sales, obs.downstream_positions, strict=True
        ):
            idx, w = model.topology.echelon_weights(model.firms[d].node)
            assert sales == pytest.approx(float(pos[idx] @ w))  # the demand flowing through d
            assert position == pytest.approx(model.firms[d].inventory_position)
        assert obs.extra == {} and not obs.extra


def test_the_vendor_keeps_the_retailer_s_service_target():
    from statistics import NormalDist

    model = Scenario.preset("default").model(regime="vmi")  # service_level 0.95 everywhere
    shop = next(f for f in model.firms if f.kind == "retailer")
    rule = shop.manager.manages[shop.index]
    assert rule.safety.z == pytest.approx(NormalDist().inv_cdf(0.95))
    tuned = Scenario.preset("default").with_overrides({"safety_factor": 0.7}).model(regime="vmi")
    shop = next(f for f in tuned.firms if f.kind == "retailer")
    assert shop.manager.manages[shop.index].safety.z == 0.7  # what equal-service tuning sets


def test_a_sweep_pairs_vmi_with_opaque_like_any_regime(tmp_path):
    from pullchain.runs.store import read_results
    from pullchain.runs.sweep import parse_sweep, run_sweep

    text = """
scenario = "serial"
regimes = ["opaque", "vmi"]
replications = 2
[set]
steps = 30
warm_up = 5
"regime.max_cover" = 2.0   # (with the floor at the ceiling, the two bands are one)
[parameters]
"regime.band" = ["order_up_to", "min_max"]
"""
    outcome = run_sweep(parse_sweep(text), tmp_path / "out", workers=1)
    frame = read_results(tmp_path / "out")
    assert outcome.complete and len(frame) == 8 and (frame["status"] == "ok").all()
    opaque = frame[frame["regime"] == "opaque"].groupby("regime.band")["total_cost"].first()
    assert opaque["order_up_to"] == opaque["min_max"]  # opaque ignores vmi's knob
    vmi = frame[frame["regime"] == "vmi"].groupby("regime.band")["total_cost"].first()
    assert vmi["order_up_to"] != vmi["min_max"]
