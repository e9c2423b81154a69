"""Sterman's beer game, played by four Sterman (1989) players, opaque vs transparent.

Retailer, wholesaler, distributor and factory each order by Sterman's fitted
anchoring-and-adjustment rule; consumer demand steps from 4 to 8 cases in week 5.
In the opaque chain each player sees only the orders of its customer; in the
transparent one everyone sees consumer demand and the downstream stock at once.

For each regime the script prints every stage's peak order, the standard deviation
of its orders over the 36 weeks, and the team's total cost (holding 0.5 and backlog
1.0 per case per week). ``--plot FILE`` also draws the orders of each stage under
both regimes (needs matplotlib; written with the Agg backend, no display needed).

    python examples/beer_game.py
    python examples/beer_game.py --plot beer_game.png
"""

from __future__ import annotations

import argparse

import numpy as np

from pullchain.network.builders import beer_game
from pullchain.runs.model import SupplyChainModel

WEEKS = 36
REGIMES = ("opaque", "transparent")


def play(regime: str) -> SupplyChainModel:
    """One game of WEEKS weeks; every week counts (no warm-up)."""
    model = SupplyChainModel(beer_game(), regime=regime, horizon=WEEKS, warm_up=0, rng=0)
    model.run_model()
    return model


def orders_by_stage(model: SupplyChainModel) -> dict[str, np.ndarray]:
    """Stage label -> the orders it placed each week, retailer first."""
    ordered = model.recorder.firms.series("ordered")
    labels = model.network.nodes
    return {
        labels[firm.node]["label"]: ordered[:, j]
        for j, firm in enumerate(model.recorder.firms.agents)
    }


def report(models: dict[str, SupplyChainModel]) -> None:
    for regime, model in models.items():
        print(f"{regime}:")
        print(f"  {'stage':12} {'peak order':>10} {'order std':>10}")
        for stage, orders in orders_by_stage(model).items():
            print(f"  {stage:12} {orders.max():10.1f} {orders.std():10.2f}")
        print(f"  total team cost: {model.summary(warm_up=0)['total_cost']:.1f}\n")


def plot(models: dict[str, SupplyChainModel], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(models), figsize=(11, 4), sharey=True)
    for ax, (regime, model) in zip(axes, models.items(), strict=True):
        weeks = np.arange(1, model.recorder.rows + 1)
        ax.step(weeks, model.recorder.demand_series(), "k--", where="mid", label="consumers")
        for stage, orders in orders_by_stage(model).items():
            ax.step(weeks, orders, where="mid", label=stage)
        ax.set(title=regime, xlabel="week")
    axes[0].set_ylabel("cases ordered")
    axes[-1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", metavar="FILE", help="draw orders per stage to FILE (e.g. .png)")
    args = parser.parse_args(argv)
    models = {regime: play(regime) for regime in REGIMES}
    report(models)
    if args.plot:
        plot(models, args.plot)


if __name__ == "__main__":
    main()
