"""Small builders shared by the tests."""

from __future__ import annotations

import networkx as nx

from pullchain.network.builders import serial_chain


def theory_chain(
    n_stages: int,
    *,
    lead_time: int | list[int] = 2,
    window: int = 5,
    policy: str = "order_up_to",
    policy_params: dict | None = None,
    production_lead_time: int = 1,
    demand_params: dict | None = None,
) -> nx.DiGraph:
    """The textbook serial chain: iid normal demand far from zero, returns allowed."""
    G = serial_chain(
        n_stages,
        lead_time=lead_time,
        initial_stock=1e3,
        production_lead_time=production_lead_time,
        policy=policy,
        policy_params={"window": window} if policy_params is None else policy_params,
        demand="normal",
        demand_params=demand_params or {"mean": 100.0, "std": 10.0},
    )
    for node, kind in G.nodes(data="kind"):
        if kind != "consumer":
            G.nodes[node]["allow_returns"] = True
    return G


ENGINES = ["agents", "batch"]


def run_engine(
    engine: str,
    network: nx.DiGraph,
    *,
    regime: str = "opaque",
    horizon: int,
    warm_up: int = 20,
    rng: int = 1,
    record_consumers: bool = False,
    **knobs,
):
    """One finished run on either engine: the agent model, or replication 0 of a batch,
    seen through the same interface (summary(), recorder, topology, firms)."""
    from pullchain.network.regimes import make_regime
    from pullchain.runs.batch_model import BatchModel
    from pullchain.runs.batch_views import ReplicationView
    from pullchain.runs.model import SupplyChainModel

    if engine == "agents":
        model = SupplyChainModel(
            network, regime=make_regime(regime, **knobs), horizon=horizon, warm_up=warm_up,
            record_consumers=record_consumers, rng=rng,
        )  # fmt: skip
        model.run_model()
        return model
    batch = BatchModel(
        network, regimes=[make_regime(regime, **knobs)], seeds=[rng], horizon=horizon,
        warm_up=warm_up, record_consumers=record_consumers,
    ).run()  # fmt: skip
    return ReplicationView(batch, 0)


def meddle(firm) -> None:
    """After ``firm`` has ordered in period 5, change data a regime may keep private: its
    stock, and the till's record of consumer sales (the no-leak tests' perturbation)."""
    if firm.model.period == 5:
        firm.on_hand += 50.0
        board = firm.model.regime.board
        board.pos[5 % board.depth] += 30.0
