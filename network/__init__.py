"""What connects the agents and what travels between them.

Builders return a validated ``nx.DiGraph`` whose edges point the way goods flow;
``validate_network`` accepts your own graph too. ``Lane`` holds the orders and
shipments in transit on one edge; the information regimes decide who sees what.
"""

from .builders import (
    beer_game,
    default_network,
    divergent_tree,
    layered_network,
    product_portfolio,
    serial_chain,
)
from .errors import ConfigError
from .io import read_network, write_network
from .lanes import Lane
from .regimes import REGIMES, Board, InformationRegime, Observation, make_regime
from .registry import Registry
from .schema import KINDS, validate_network
from .topology import Topology

__all__ = [
    "KINDS",
    "REGIMES",
    "Board",
    "ConfigError",
    "InformationRegime",
    "Lane",
    "Observation",
    "Registry",
    "Topology",
    "beer_game",
    "default_network",
    "divergent_tree",
    "layered_network",
    "make_regime",
    "product_portfolio",
    "read_network",
    "serial_chain",
    "validate_network",
    "write_network",
]
