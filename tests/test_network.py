"""Tests of the network schema, the builders and file input/output."""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pullchain.network.builders import (
    DEFAULT_DEMAND_MEAN,
    STERMAN_PARAMS,
    beer_game,
    default_network,
    divergent_tree,
    layered_network,
    serial_chain,
    steady_state_stock,
)
from pullchain.network.errors import ConfigError
from pullchain.network.io import read_network, write_network
from pullchain.network.schema import (
    EDGE_DEFAULTS,
    FIRM_KINDS,
    KINDS,
    NODE_DEFAULTS,
    tiers,
    validate_network,
)

# --------------------------------------------------------------------------- helpers


def chain() -> nx.DiGraph:
    """A minimal valid network with str ids: s1 -> d1 -> r1 -> c1."""
    G = nx.DiGraph()
    G.add_node("s1", kind="supplier")
    G.add_node("d1", kind="distributor")
    G.add_node("r1", kind="retailer")
    G.add_node("c1", kind="consumer")
    G.add_edge("s1", "d1", lead_time=1)
    G.add_edge("d1", "r1", lead_time=2)
    G.add_edge("r1", "c1")
    return G


def raises(G: nx.DiGraph, *parts: str) -> ConfigError:
    """Assert validation fails and the message contains every one of ``parts``."""
    with pytest.raises(ConfigError) as info:
        validate_network(G)
    for part in parts:
        assert part in str(info.value), (part, str(info.value))
    return info.value


def typed(G: nx.DiGraph) -> tuple[str, str, str]:
    """Nodes, edges and graph data as reprs, so 1, 1.0 and True differ."""
    return (
        repr(list(G.nodes(data=True))),
        repr(list(G.edges(data=True))),
        repr(G.graph),
    )


def firms(G: nx.DiGraph) -> list:
    return [n for n, k in G.nodes(data="kind") if k != "consumer"]


def of_kind(G: nx.DiGraph, kind: str) -> list:
    return [n for n, k in G.nodes(data="kind") if k == kind]


def check_common(G: nx.DiGraph) -> None:
    """What every builder promises."""
    assert isinstance(G, nx.DiGraph)
    assert G.graph["name"]
    assert all(isinstance(n, int) for n in G)
    assert all(isinstance(label, str) and label for _, label in G.nodes(data="label"))
    assert all(G.out_degree(n) >= 1 for n in firms(G))
    assert typed(validate_network(G)) == typed(G)  # already validated and normalised


# --------------------------------------------------------------------------- schema


def test_kinds_and_defaults_tables() -> None:
    assert KINDS == ("supplier", "brand", "distributor", "retailer", "consumer")
    assert KINDS[:-1] == FIRM_KINDS
    assert set(NODE_DEFAULTS) == set(KINDS)
    assert NODE_DEFAULTS["retailer"]["lost_sale_cost"] == 1.0
    assert math.isinf(NODE_DEFAULTS["supplier"]["capacity"])
    assert "capacity" in NODE_DEFAULTS["brand"]
    assert "capacity" not in NODE_DEFAULTS["distributor"]
    assert NODE_DEFAULTS["consumer"] == {
        "demand": "normal",
        "demand_params": {},
        "backorder": True,
        "patience": -1,
    }
    # Every mechanism is off by default: neutral values leave the textbook chain alone.
    firm = NODE_DEFAULTS["retailer"]
    assert firm["gaming"] == 1.0 and firm["review_period"] == 1 and firm["season_end"] == -1
    assert firm["min_order"] == firm["batch_size"] == firm["forward_buy"] == 0.0
    assert firm["price"] == firm["order_cost"] == firm["cost_of_capital"] == 0.0
    assert "lead_time" not in EDGE_DEFAULTS
    assert EDGE_DEFAULTS["share"] == 1.0


def test_validate_fills_defaults_and_copies() -> None:
    G = chain()
    before = typed(G)
    H = validate_network(G)
    assert H is not G
    assert typed(G) == before  # input untouched
    assert H.nodes["s1"]["capacity"] == math.inf
    assert H.nodes["s1"]["production_lead_time"] == 0
    assert H.nodes["r1"]["lost_sale_cost"] == 1.0
    assert H.nodes["c1"]["backorder"] is True
    assert H.edges["s1", "d1"]["order_delay"] == 0
    assert H.edges["r1", "c1"]["lead_time"] == 0
    assert H.edges["d1", "r1"]["share"] == 1.0
    assert list(H.nodes) == list(G.nodes) and list(H.edges) == list(G.edges)
    # filled-in dicts are fresh copies, not the shared defaults
    H.nodes["r1"]["policy_params"]["x"] = 1
    assert NODE_DEFAULTS["retailer"]["policy_params"] == {}
    assert validate_network(G).nodes["d1"]["policy_params"] == {}


def test_validate_normalises_numbers() -> None:
    G = chain()
    G.nodes["r1"]["initial_stock"] = 3
    G.nodes["s1"]["production_lead_time"] = 2.0
    G.nodes["s1"]["capacity"] = np.int64(7)
    G.edges["s1", "d1"]["lead_time"] = np.int64(4)
    G.edges["d1", "r1"]["share"] = 2
    H = validate_network(G)
    assert type(H.nodes["r1"]["initial_stock"]) is float
    assert type(H.nodes["s1"]["production_lead_time"]) is int
    assert type(H.nodes["s1"]["capacity"]) is float
    assert type(H.edges["s1", "d1"]["lead_time"]) is int
    assert H.edges["s1", "d1"]["lead_time"] == 4
    assert type(H.edges["d1", "r1"]["share"]) is float


def test_params_accept_json_strings() -> None:
    G = chain()
    G.nodes["r1"]["policy_params"] = '{"target": 40}'
    G.nodes["c1"]["demand_params"] = json.dumps({"mean": 5.0, "std": 1.0})
    H = validate_network(G)
    assert H.nodes["r1"]["policy_params"] == {"target": 40}
    assert H.nodes["c1"]["demand_params"] == {"mean": 5.0, "std": 1.0}


def test_unknown_attributes_are_kept() -> None:
    G = chain()
    G.nodes["r1"]["city"] = "Lyon"
    G.nodes["c1"]["capacity"] = "not a consumer attribute"  # unknown for a consumer
    G.edges["s1", "d1"]["mode"] = {"truck": True}
    G.graph["note"] = "annotated"
    H = validate_network(G)
    assert H.nodes["r1"]["city"] == "Lyon"
    assert H.nodes["c1"]["capacity"] == "not a consumer attribute"
    assert H.edges["s1", "d1"]["mode"] == {"truck": True}
    assert H.graph["note"] == "annotated"


def test_none_means_default() -> None:
    G = chain()
    G.nodes["r1"]["policy_params"] = None
    G.edges["d1", "r1"]["order_delay"] = None
    H = validate_network(G)
    assert H.nodes["r1"]["policy_params"] == {}
    assert H.edges["d1", "r1"]["order_delay"] == 0


@pytest.mark.parametrize(
    ("graph", "word"),
    [(nx.Graph(), "undirected"), (nx.MultiDiGraph(), "multigraph"), ({"a": 1}, "DiGraph")],
)
def test_rejects_wrong_graph_type(graph: object, word: str) -> None:
    with pytest.raises(ConfigError, match=word) as info:
        validate_network(graph)  # type: ignore[arg-type]
    assert info.value.field == "network"


def test_rejects_multidigraph_with_content() -> None:
    G = nx.MultiDiGraph(chain())
    raises(G, "network", "multigraph")


def test_rejects_empty() -> None:
    raises(nx.DiGraph(), "network", "empty")


def test_rejects_cycle() -> None:
    G = chain()
    G.add_node("d2", kind="distributor")
    G.add_edge("d1", "d2", lead_time=1)
    G.add_edge("d2", "d1", lead_time=1)
    err = raises(G, "cycle", "'d1'", "'d2'")
    assert err.field == "network"
    assert set(err.value) == {"d1", "d2"}


def test_rejects_self_loop() -> None:
    G = chain()
    G.add_edge("d1", "d1", lead_time=1)
    raises(G, "cycle", "'d1'")


def test_rejects_missing_kind() -> None:
    G = chain()
    del G.nodes["d1"]["kind"]
    err = raises(G, "node 'd1'.kind", "missing attribute")
    assert err.field == "node 'd1'.kind"


def test_rejects_unknown_kind() -> None:
    G = chain()
    G.nodes["d1"]["kind"] = "wholesaler"
    raises(G, "node 'd1'.kind", "'wholesaler'", "distributor")


@pytest.mark.parametrize(
    ("node", "attr", "value"),
    [
        ("r1", "initial_stock", -1.0),
        ("r1", "initial_stock", math.inf),
        ("r1", "initial_stock", math.nan),
        ("r1", "initial_stock", "12"),
        ("r1", "initial_stock", True),
        ("d1", "holding_cost", -0.5),
        ("d1", "backlog_cost", -1),
        ("r1", "lost_sale_cost", -1),
        ("s1", "capacity", 0),
        ("s1", "capacity", -3.0),
        ("s1", "production_lead_time", 1.5),
        ("s1", "production_lead_time", -1),
        ("s1", "initial_in_production", -1.0),
        ("r1", "policy", 3),
        ("r1", "policy", ""),
        ("r1", "allocation", ["proportional"]),
        ("r1", "allow_returns", 1),
        ("r1", "allow_returns", "False"),
        ("r1", "policy_params", [1, 2]),
        ("r1", "policy_params", "{not json"),
        ("r1", "policy_params", "[1, 2]"),
        ("c1", "demand", 7),
        ("c1", "demand_params", "3"),
        ("c1", "backorder", 0),
    ],
)
def test_rejects_bad_node_attribute(node: str, attr: str, value: object) -> None:
    G = chain()
    G.nodes[node][attr] = value
    err = raises(G, f"node {node!r}.{attr}")
    assert err.field == f"node {node!r}.{attr}"


@pytest.mark.parametrize(
    ("u", "v", "attr", "value"),
    [
        ("s1", "d1", "lead_time", -1),
        ("s1", "d1", "lead_time", 1.5),
        ("s1", "d1", "lead_time", "2"),
        ("d1", "r1", "order_delay", -1),
        ("d1", "r1", "share", 0.0),
        ("d1", "r1", "share", math.inf),
        ("d1", "r1", "initial_in_transit", -2.0),
        ("d1", "r1", "initial_orders", "4"),
        ("r1", "c1", "lead_time", 1),
        ("r1", "c1", "order_delay", 2),
        ("r1", "c1", "share", -1.0),
    ],
)
def test_rejects_bad_edge_attribute(u: str, v: str, attr: str, value: object) -> None:
    G = chain()
    G.edges[u, v][attr] = value
    err = raises(G, f"edge {u!r}->{v!r}.{attr}")
    assert err.field == f"edge {u!r}->{v!r}.{attr}"


def test_capacity_may_be_infinite_or_positive() -> None:
    G = chain()
    G.nodes["s1"]["capacity"] = 5
    assert validate_network(G).nodes["s1"]["capacity"] == 5.0
    G.nodes["s1"]["capacity"] = math.inf
    assert validate_network(G).nodes["s1"]["capacity"] == math.inf


def test_rejects_missing_lead_time_between_firms() -> None:
    G = chain()
    del G.edges["d1", "r1"]["lead_time"]
    raises(G, "edge 'd1'->'r1'.lead_time", "missing attribute")


def test_consumer_edge_lead_time_is_optional_zero() -> None:
    G = chain()
    G.edges["r1", "c1"]["lead_time"] = 0
    assert validate_network(G).edges["r1", "c1"]["lead_time"] == 0


def test_rejects_supplier_with_supplier() -> None:
    G = chain()
    G.add_node("s2", kind="supplier")
    G.add_edge("s2", "s1", lead_time=1)
    raises(G, "'s2'", "'s1'", "suppliers")


def test_rejects_firm_without_supplier() -> None:
    G = chain()
    G.add_node("d2", kind="distributor")
    G.add_edge("d2", "r1", lead_time=1)
    raises(G, "node 'd2'", "no supplier")


def test_rejects_brand_without_supplier() -> None:
    G = chain()
    G.add_node("b1", kind="brand")
    G.add_edge("b1", "r1", lead_time=1)
    raises(G, "node 'b1'", "no supplier")


def test_rejects_brand_buying_from_distributor() -> None:
    G = chain()
    G.add_node("b1", kind="brand")
    G.add_edge("d1", "b1", lead_time=1)
    G.add_edge("b1", "r1", lead_time=1)
    raises(G, "edge 'd1'->'b1'", "brands buy only from suppliers")


def test_accepts_brand_and_supplier_selling_to_retailer() -> None:
    G = chain()
    G.add_node("b1", kind="brand")
    G.add_edge("s1", "b1", lead_time=1)
    G.add_edge("b1", "r1", lead_time=1)
    G.add_edge("s1", "r1", lead_time=3)
    H = validate_network(G)
    assert H.nodes["b1"]["capacity"] == math.inf


def test_rejects_consumer_with_no_retailer() -> None:
    G = chain()
    G.add_node("c7", kind="consumer")
    raises(G, "node 'c7'", "a consumer with no retailer")


def test_rejects_consumer_buying_from_distributor() -> None:
    G = chain()
    G.add_edge("d1", "c1")
    raises(G, "edge 'd1'->'c1'", "consumers buy only from retailers")


def test_rejects_anything_buying_from_consumer() -> None:
    G = chain()
    G.add_node("c2", kind="consumer")
    G.add_edge("r1", "c2")
    G.add_edge("c1", "c2")
    raises(G, "edge 'c1'->'c2'", "nothing buys from a consumer")


def test_rejects_retailer_selling_to_firm() -> None:
    G = chain()
    G.add_node("d2", kind="distributor")
    G.add_node("r2", kind="retailer")
    G.add_node("c2", kind="consumer")
    G.add_edge("r1", "d2", lead_time=1)
    G.add_edge("d2", "r2", lead_time=1)
    G.add_edge("r2", "c2")
    raises(G, "edge 'r1'->'d2'", "retailers sell only to consumers")


def test_rejects_retailer_without_consumer() -> None:
    G = chain()
    G.add_node("r2", kind="retailer")
    G.add_edge("d1", "r2", lead_time=1)
    raises(G, "node 'r2'", "no consumer")


def test_rejects_firm_without_customer() -> None:
    G = chain()
    G.add_node("d2", kind="distributor")
    G.add_edge("s1", "d2", lead_time=1)
    raises(G, "node 'd2'", "no customer")


def test_rejects_supplier_without_customer() -> None:
    G = chain()
    G.add_node("s9", kind="supplier")
    raises(G, "node 's9'", "no customer")


def test_tiers_count_echelons_from_consumer() -> None:
    G = validate_network(chain())
    assert tiers(G) == {"s1": 3, "d1": 2, "r1": 1, "c1": 0}
    # a supplier selling both to the retailer and further up takes the highest tier
    G.add_edge("s1", "r1", lead_time=1)
    assert tiers(G)["s1"] == 3
    G.add_node("d0", kind="distributor")
    G.add_edge("s1", "d0", lead_time=1)
    G.add_edge("d0", "d1", lead_time=1)
    assert tiers(G) == {"s1": 4, "d1": 2, "r1": 1, "c1": 0, "d0": 3}


# --------------------------------------------------------------------------- builders


def test_serial_chain_structure() -> None:
    G = serial_chain(5, lead_time=[1, 2, 3, 4], order_delay=1)
    check_common(G)
    assert list(G.nodes) == [0, 1, 2, 3, 4, 5]
    assert [G.nodes[n]["kind"] for n in G] == [
        "consumer",
        "retailer",
        "distributor",
        "distributor",
        "distributor",
        "supplier",
    ]
    assert [G.nodes[n]["label"] for n in G] == [
        "consumers",
        "retailer",
        "stage 2",
        "stage 3",
        "stage 4",
        "source",
    ]
    assert set(G.edges) == {(1, 0), (2, 1), (3, 2), (4, 3), (5, 4)}
    assert tiers(G) == {n: n for n in G}
    assert [G.edges[k + 1, k]["lead_time"] for k in range(1, 5)] == [1, 2, 3, 4]
    assert all(G.edges[k + 1, k]["order_delay"] == 1 for k in range(1, 5))
    assert G.edges[1, 0]["lead_time"] == 0 and G.edges[1, 0]["order_delay"] == 0
    assert all(G.nodes[n]["initial_stock"] == 12.0 for n in firms(G))


def test_serial_chain_two_stages_and_params() -> None:
    G = serial_chain(
        2,
        production_lead_time=3,
        policy_params={"target": 30},
        demand_params={"mean": 4.0},
        backorder=False,
    )
    check_common(G)
    assert [G.nodes[n]["kind"] for n in G] == ["consumer", "retailer", "supplier"]
    assert G.nodes[2]["production_lead_time"] == 3
    assert G.nodes[0]["backorder"] is False
    assert G.nodes[0]["demand_params"] == {"mean": 4.0}
    G.nodes[1]["policy_params"]["target"] = 99
    assert G.nodes[2]["policy_params"] == {"target": 30}  # not shared


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_stages": 1}, "n_stages"),
        ({"n_stages": 2.5}, "n_stages"),
        ({"lead_time": [1, 2]}, "lead_time"),
        ({"lead_time": -1}, "lead_time"),
        ({"order_delay": [0, 0, -1]}, "order_delay[2]"),
        ({"initial_stock": -5.0}, "initial_stock"),
    ],
)
def test_serial_chain_rejects_bad_parameters(kwargs: dict, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        serial_chain(**kwargs)
    assert field in str(info.value)


def test_beer_game_matches_sterman() -> None:
    G = beer_game()
    check_common(G)
    assert G.graph["name"] == "beer game"
    assert [G.nodes[n]["label"] for n in G] == [
        "consumers",
        "retailer",
        "wholesaler",
        "distributor",
        "factory",
    ]
    assert G.nodes[4]["kind"] == "supplier"
    assert G.nodes[4]["production_lead_time"] == 2
    assert G.nodes[4]["initial_in_production"] == 4.0
    for n in firms(G):
        d = G.nodes[n]
        assert (d["initial_stock"], d["holding_cost"], d["backlog_cost"]) == (12.0, 0.5, 1.0)
        assert d["policy"] == "sterman"
        assert d["policy_params"] == STERMAN_PARAMS
    for _u, v, d in G.edges(data=True):
        if v == 0:
            assert (d["lead_time"], d["order_delay"]) == (0, 0)
        else:
            assert (d["lead_time"], d["order_delay"]) == (2, 2)
            assert d["initial_in_transit"] == 4.0 and d["initial_orders"] == 4.0
    assert G.nodes[0]["demand"] == "step"
    assert G.nodes[0]["demand_params"] == {"before": 4.0, "after": 8.0, "at": 4}


def test_beer_game_overrides() -> None:
    G = beer_game(order_delay=1, lead_time=3, policy="order_up_to", policy_params={"k": 1})
    assert G.edges[2, 1]["order_delay"] == 1 and G.edges[4, 3]["lead_time"] == 3
    assert {G.nodes[n]["policy"] for n in firms(G)} == {"order_up_to"}
    assert G.nodes[3]["policy_params"] == {"k": 1}
    # the module constant is not shared with the graph
    G.nodes[1]["policy_params"]["theta"] = 0.0
    assert beer_game().nodes[1]["policy_params"]["theta"] == 0.36


@pytest.mark.parametrize(("depth", "branching", "per_retailer"), [(2, 1, 1), (3, 2, 1), (4, 3, 2)])
def test_divergent_tree_structure(depth: int, branching: int, per_retailer: int) -> None:
    G = divergent_tree(depth, branching, consumers_per_retailer=per_retailer)
    check_common(G)
    n_retailers = branching ** (depth - 1)
    kinds = Counter(k for _, k in G.nodes(data="kind"))
    assert kinds["supplier"] == 1
    assert kinds["distributor"] == sum(branching**i for i in range(1, depth - 1))
    assert kinds["retailer"] == n_retailers
    assert kinds["consumer"] == n_retailers * per_retailer
    assert G.nodes[0]["kind"] == "supplier" and G.in_degree(0) == 0
    assert all(G.in_degree(n) == 1 for n in G if n != 0)  # a tree
    for n in firms(G):
        expected = per_retailer if G.nodes[n]["kind"] == "retailer" else branching
        assert G.out_degree(n) == expected
    t = tiers(G)
    assert t[0] == depth
    assert all(t[n] == 1 for n in of_kind(G, "retailer"))
    assert all(G.nodes[n]["initial_stock"] == 20.0 for n in firms(G))


def test_divergent_tree_steady_state_stock() -> None:
    G = divergent_tree(3, 2, consumers_per_retailer=2, initial_stock=None, lead_time=[1, 3])
    retailers, dists = of_kind(G, "retailer"), of_kind(G, "distributor")
    # retailer: 2 consumers x 10 per period x (lead 1 + 1)
    assert all(G.nodes[r]["initial_stock"] == 2 * DEFAULT_DEMAND_MEAN * 2 for r in retailers)
    # distributor: 2 retailers x 20 x (lead 3 + 1)
    assert all(G.nodes[d]["initial_stock"] == 40 * 4 for d in dists)
    # source: 80 per period x (production 0 + request 1 + 1)
    assert G.nodes[0]["initial_stock"] == 80 * 2


def test_divergent_tree_rejects_bad_parameters() -> None:
    with pytest.raises(ConfigError, match="depth"):
        divergent_tree(1)
    with pytest.raises(ConfigError, match="branching"):
        divergent_tree(3, 0)
    with pytest.raises(ConfigError, match="consumers_per_retailer"):
        divergent_tree(consumers_per_retailer=0)


def feasible(sizes: tuple[int, ...], per_buyer: int) -> bool:
    """Whether every seller of each layer can get a customer."""
    return all(down * min(per_buyer, up) >= up for up, down in itertools.pairwise(sizes))


LAYERED_CASES = [
    (sizes, k)
    for sizes in [(2, 3, 6, 30), (1, 1, 1, 1), (4, 2, 5, 3), (3, 5, 2, 7), (1, 4, 2, 9)]
    for k in (1, 2, 3)
    if feasible(sizes, k)
]


@pytest.mark.parametrize(("sizes", "per_buyer"), LAYERED_CASES)
def test_layered_network_structure(sizes: tuple[int, int, int, int], per_buyer: int) -> None:
    n_s, n_b, n_r, n_c = sizes
    G = layered_network(*sizes, sources_per_buyer=per_buyer, seed=7)
    check_common(G)
    kinds = [G.nodes[n]["kind"] for n in G]
    assert kinds == ["supplier"] * n_s + ["brand"] * n_b + ["retailer"] * n_r + ["consumer"] * n_c
    layers = [of_kind(G, k) for k in ("supplier", "brand", "retailer", "consumer")]
    for up, down in itertools.pairwise(layers):
        for buyer in down:
            sellers = list(G.predecessors(buyer))
            assert len(sellers) == min(per_buyer, len(up))
            assert set(sellers) <= set(up)
        for seller in up:
            assert set(G.successors(seller)) <= set(down)
            assert G.out_degree(seller) >= 1
    assert all(G.in_degree(n) == 0 for n in layers[0])
    t = tiers(G)
    assert all(t[n] == 1 for n in layers[2])
    assert all(t[n] == 2 for n in layers[1])
    assert all(t[n] == 3 for n in layers[0])
    assert all(G.nodes[n]["production_lead_time"] == 1 for n in layers[0])


def test_layered_network_covers_every_seller_when_tight() -> None:
    # 4 suppliers, 2 brands buying from 2 each: only an exact cover works
    for seed in range(30):
        G = layered_network(4, 2, 4, 2, sources_per_buyer=2, seed=seed)
        assert all(G.out_degree(n) == 1 for n in of_kind(G, "supplier"))
        assert all(G.out_degree(n) == 1 for n in of_kind(G, "retailer"))


def test_layered_network_deterministic_by_seed() -> None:
    a, b = layered_network(seed=3), layered_network(seed=3)
    assert typed(a) == typed(b)
    c = layered_network(seed=np.random.default_rng(3))
    assert typed(a) == typed(c)
    edge_sets = {tuple(layered_network(seed=s).edges) for s in range(5)}
    assert len(edge_sets) > 1  # different seeds give different networks


def test_default_network() -> None:
    G = default_network()
    check_common(G)
    assert G.graph["name"] == "default network"
    assert Counter(k for _, k in G.nodes(data="kind")) == {
        "supplier": 2,
        "brand": 3,
        "retailer": 6,
        "consumer": 30,
    }
    assert typed(G) == typed(default_network(seed=0))


def test_layered_network_per_layer_delays() -> None:
    G = layered_network(
        lead_time={"supplier-brand": 3, "brand-retailer": 1},
        order_delay={"brand-retailer": 2},
        seed=1,
    )
    for u, v, d in G.edges(data=True):
        kinds = (G.nodes[u]["kind"], G.nodes[v]["kind"])
        expected = {
            ("supplier", "brand"): (3, 0),
            ("brand", "retailer"): (1, 2),
            ("retailer", "consumer"): (0, 0),
        }[kinds]
        assert (d["lead_time"], d["order_delay"]) == expected
    G = layered_network(lead_time={"supplier-brand": 5}, seed=1)
    assert {d for u, v, d in G.edges(data="lead_time") if G.nodes[v]["kind"] == "retailer"} == {2}


def test_layered_network_steady_state_stock() -> None:
    G = layered_network(seed=2, demand_params={"mean": 4.0})
    shares = dict.fromkeys(G, 0.0)
    for c in of_kind(G, "consumer"):
        for r in G.predecessors(c):
            shares[r] += 4.0 / G.in_degree(c)
    for r in of_kind(G, "retailer"):
        assert G.nodes[r]["initial_stock"] == pytest.approx(shares[r] * 3)  # lead 2 + 1
    total = sum(G.nodes[s]["initial_stock"] / 3 for s in of_kind(G, "supplier"))  # prod 1 +1+1
    assert total == pytest.approx(4.0 * 30)  # suppliers carry all demand
    assert steady_state_stock(G, 4.0) == {n: G.nodes[n]["initial_stock"] for n in firms(G)}
    H = layered_network(seed=2, initial_stock=9.0)
    assert {H.nodes[n]["initial_stock"] for n in firms(H)} == {9.0}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_suppliers": 0}, "n_suppliers"),
        ({"n_consumers": -1}, "n_consumers"),
        ({"sources_per_buyer": 0}, "sources_per_buyer"),
        ({"lead_time": {"brand-consumer": 1}}, "lead_time"),
        ({"lead_time": {"supplier-brand": -1}}, "lead_time"),
        ({"order_delay": 1.5}, "order_delay"),
        ({"production_lead_time": -1}, "production_lead_time"),
    ],
)
def test_layered_network_rejects_bad_parameters(kwargs: dict, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        layered_network(seed=0, **kwargs)
    assert field in str(info.value)


def test_layered_network_rejects_uncoverable() -> None:
    # 5 suppliers cannot all sell to 1 brand that buys from 2 of them
    with pytest.raises(ConfigError) as info:
        layered_network(5, 1, 2, 4, sources_per_buyer=2, seed=0)
    assert info.value.field == "n_brands"


# --------------------------------------------------------------------------- file I/O


def str_id_network() -> nx.DiGraph:
    """A user's graph: str ids, odd annotations, params as a JSON string."""
    G = chain()
    G.add_node("b1", kind="brand", capacity=20, city="Gent", tags=["a", "b"], note=None)
    G.add_edge("s1", "b1", lead_time=2, share=2)
    G.add_edge("b1", "r1", lead_time=1, mode={"truck": True})
    G.nodes["r1"]["policy_params"] = '{"target": 40, "inner": {"x": [1, 2]}}'
    G.nodes["d1"]["weird"] = 1  # mixed types under one attribute name
    G.nodes["r1"]["weird"] = "one"
    G.nodes["c1"]["flag"] = True
    G.graph["name"] = "user network"
    G.graph["meta"] = {"source": "survey", "year": 2024}
    return G


BUILDERS = {
    "serial_chain": serial_chain,
    "serial_chain_2": lambda: serial_chain(2, lead_time=[5]),
    "beer_game": beer_game,
    "divergent_tree": lambda: divergent_tree(3, 3, consumers_per_retailer=2, initial_stock=None),
    "layered_network": lambda: layered_network(3, 4, 5, 12, seed=11),
    "default_network": default_network,
    "str_ids": str_id_network,
}


@pytest.mark.parametrize("suffix", [".json", ".graphml"])
@pytest.mark.parametrize("name", list(BUILDERS))
def test_round_trip(tmp_path: Path, name: str, suffix: str) -> None:
    G = BUILDERS[name]()
    path = tmp_path / f"net{suffix}"
    write_network(G, path)
    H = read_network(path)
    assert typed(H) == typed(validate_network(G))


def test_round_trip_keeps_types(tmp_path: Path) -> None:
    for suffix in (".json", ".graphml"):
        H = read_network(_written(tmp_path, str_id_network(), suffix))
        assert all(isinstance(n, str) for n in H)
        assert H.nodes["b1"]["capacity"] == 20.0 and type(H.nodes["b1"]["capacity"]) is float
        assert H.nodes["s1"]["capacity"] == math.inf
        assert H.nodes["b1"]["tags"] == ["a", "b"] and H.nodes["b1"]["note"] is None
        assert H.nodes["r1"]["policy_params"] == {"target": 40, "inner": {"x": [1, 2]}}
        assert H.nodes["c1"]["flag"] is True and H.nodes["r1"]["allow_returns"] is False
        assert H.graph["meta"] == {"source": "survey", "year": 2024}
        assert "pullchain_node_ids" not in H.graph and "pullchain_json" not in H.graph
        G = read_network(_written(tmp_path, beer_game(), suffix))
        assert list(G.nodes) == [0, 1, 2, 3, 4]
        assert type(G.edges[2, 1]["lead_time"]) is int


def _written(tmp_path: Path, G: nx.DiGraph, suffix: str) -> Path:
    path = tmp_path / f"g{suffix}"
    write_network(G, path)
    return path


def test_read_plain_graphml_from_other_tools(tmp_path: Path) -> None:
    """GraphML written by NetworkX itself (ids as text, params as JSON text) reads fine."""
    G = chain()
    G.nodes["c1"]["demand_params"] = '{"mean": 3.0}'
    path = tmp_path / "plain.graphml"
    nx.write_graphml(G, path)
    H = read_network(path)
    assert H.nodes["c1"]["demand_params"] == {"mean": 3.0}
    assert H.edges["s1", "d1"]["lead_time"] == 1


def test_read_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        read_network(tmp_path / "nope.json")
    assert info.value.field == "path" and "nope.json" in str(info.value)


@pytest.mark.parametrize("name", ["net.txt", "net", "net.gml"])
def test_bad_suffix(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("{}")
    with pytest.raises(ConfigError, match=r"\.json or \.graphml"):
        read_network(path)
    with pytest.raises(ConfigError, match=r"\.json or \.graphml"):
        write_network(serial_chain(), tmp_path / name)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bad.json", "{not json"),
        ("bad.json", "[1, 2, 3]"),
        ("bad.json", '{"a": 1}'),
        ("bad.json", '{"nodes": [5], "edges": []}'),
        ("bad.json", '{"nodes": [{"id": 1}], "edges": 5}'),
        ("bad.json", '{"nodes": [{"id": 1}], "edges": [{"source": 1}]}'),
        ("bad.graphml", "<graphml><unclosed>"),
        ("bad.graphml", "not xml at all"),
    ],
)
def test_read_unparsable(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        read_network(path)
    assert info.value.field == "path"
    assert name in str(info.value)


def test_read_invalid_network_raises_validation_error(tmp_path: Path) -> None:
    G = chain()
    del G.edges["d1", "r1"]["lead_time"]
    for suffix in (".json", ".graphml"):
        path = tmp_path / f"invalid{suffix}"
        if suffix == ".json":
            path.write_text(json.dumps(nx.node_link_data(G, edges="edges")))
        else:
            nx.write_graphml(G, path)
        with pytest.raises(ConfigError, match=r"edge 'd1'->'r1'\.lead_time"):
            read_network(path)


def test_write_rejects_invalid_network_without_writing(tmp_path: Path) -> None:
    G = chain()
    G.nodes["r1"]["initial_stock"] = -1
    path = tmp_path / "out.json"
    with pytest.raises(ConfigError, match=r"node 'r1'\.initial_stock"):
        write_network(G, path)
    assert not path.exists()


def test_write_rejects_mixed_node_ids(tmp_path: Path) -> None:
    G = nx.relabel_nodes(chain(), {"s1": 1})
    with pytest.raises(ConfigError, match="node ids"):
        write_network(G, tmp_path / "mixed.graphml")


# --------------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None)
@given(
    n_s=st.integers(1, 4),
    n_b=st.integers(1, 5),
    n_r=st.integers(1, 6),
    n_c=st.integers(1, 20),
    per_buyer=st.integers(1, 4),
    lead=st.integers(0, 4),
    delay=st.integers(0, 2),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_layered_networks_are_valid(
    n_s: int, n_b: int, n_r: int, n_c: int, per_buyer: int, lead: int, delay: int, seed: int
) -> None:
    sizes = (n_s, n_b, n_r, n_c)
    if not feasible(sizes, per_buyer):
        with pytest.raises(ConfigError):
            layered_network(*sizes, sources_per_buyer=per_buyer, seed=seed)
        return
    G = layered_network(
        *sizes, sources_per_buyer=per_buyer, lead_time=lead, order_delay=delay, seed=seed
    )
    check_common(G)
    assert G.number_of_nodes() == sum(sizes)
    for n in G:
        if G.nodes[n]["kind"] != "supplier":
            up = sizes[("supplier", "brand", "retailer", "consumer").index(G.nodes[n]["kind"]) - 1]
            assert G.in_degree(n) == min(per_buyer, up)
    assert all(G.nodes[n]["initial_stock"] > 0 for n in firms(G))
    assert typed(G) == typed(
        layered_network(
            *sizes, sources_per_buyer=per_buyer, lead_time=lead, order_delay=delay, seed=seed
        )
    )


@settings(max_examples=40, deadline=None)
@given(
    depth=st.integers(2, 4),
    branching=st.integers(1, 3),
    per_retailer=st.integers(1, 3),
    lead=st.integers(0, 3),
    stock=st.one_of(st.none(), st.floats(0, 1e6)),
)
def test_random_divergent_trees_are_valid(
    depth: int, branching: int, per_retailer: int, lead: int, stock: float | None
) -> None:
    G = divergent_tree(
        depth, branching, consumers_per_retailer=per_retailer, lead_time=lead, initial_stock=stock
    )
    check_common(G)
    assert nx.is_arborescence(G)
    assert tiers(G)[0] == depth
    assert len(of_kind(G, "consumer")) == branching ** (depth - 1) * per_retailer
