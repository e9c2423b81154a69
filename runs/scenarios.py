"""Scenarios: everything a run takes, in one TOML file that a person can read and edit.

A scenario names a network (a builder and its arguments, or a saved graph file),
then overrides node and edge attributes in layers, most general first:
``[edges]`` (every firm->firm edge), ``[consumers]``, ``[firms]``, ``[kinds.<kind>]``,
``[nodes."<label or id>"]``. ``[regime]`` sets the information regime and its
knobs; ``steps``, ``warm_up``, ``seed`` and ``replications`` say how to run it;
``service`` asks ``compare`` to compare the regimes at one consumer fill rate, and
``safety_factor`` sets one adaptive safety factor z for the whole chain (the last layer).
Every field is documented in docs/scenarios.md. Unknown fields are an error.

Why not Mesa's ``Scenario``? It is a flat bag of parameters (and experimental in
Mesa 3.5); a supply chain's settings are a tree (per kind, per node). A
``Scenario`` here is that tree, checked, and ``model()`` turns it into a
``SupplyChainModel``.
"""

from __future__ import annotations

import copy
import inspect
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
import tomli_w

from pullchain.agents import kinds
from pullchain.network import builders
from pullchain.network.disruptions import parse as parse_disruption
from pullchain.network.errors import ConfigError, check_number
from pullchain.network.io import read_network
from pullchain.network.limits import (
    LimitError,
    check_depth,
    check_input_file,
    check_parts,
    check_recording,
    check_runs,
    check_text,
)
from pullchain.network.params import Param
from pullchain.network.regimes import REGIMES, InformationRegime, make_regime, regime_knobs
from pullchain.network.schema import (
    EDGE_PARAMS,
    FIRM_KINDS,
    NODE_PARAMS,
    node_field,
    validate_network,
)
from pullchain.network.topology import Topology

from .plugins import Plugin, load_all, merged

if TYPE_CHECKING:
    from .model import SupplyChainModel

BUILDERS: dict[str, Callable[..., nx.DiGraph]] = {
    "serial": builders.serial_chain,
    "beer_game": builders.beer_game,
    "divergent": builders.divergent_tree,
    "layered": builders.layered_network,
    "portfolio": builders.product_portfolio,
}
"""Network builders a scenario can name in ``network.builder`` (plus ``"file"``)."""

TOP_LEVEL = {
    "name",
    "description",
    "steps",
    "warm_up",
    "seed",
    "replications",
    "service",
    "safety_factor",
    "network",
    "regime",
    "edges",
    "consumers",
    "firms",
    "kinds",
    "nodes",
    "disruptions",
    "plugins",
}
EDGE_FIELDS = set(EDGE_PARAMS)
CONSUMER_LAYER_PARAMS: dict[str, Param] = {
    "preorder_share": Param(
        None, "only in `[consumers]`: the share of consumers who pre-order. They get "
        "`backorder = true` (they wait, up to their `patience`), the others `backorder = "
        "false` (they buy elsewhere). The pre-orderers are spread evenly in node order (with "
        "0.5, every second consumer). It replaces `backorder` of the `[consumers]` layer; "
        "`[kinds.consumer]` and `[nodes]` still override it", type="float", unit="fraction",
        minimum=0, maximum=1, default_doc="not set (each consumer's `backorder` applies)",
    ),
    "label": Param(
        None, "the name shown in plots and tables, and by which `[nodes]` finds the node. "
        "Setting one label on every consumer makes them indistinguishable by label",
        type="str", unit="text", default_doc="set by the builder",
    ),
}  # fmt: skip
"""Fields of the ``[consumers]`` layer beyond a consumer's attributes."""


@dataclass
class Scenario:
    """A checked scenario: the parsed TOML tree and where it came from.

    Build one with ``Scenario.from_toml``, ``from_file``, ``preset`` or from a dict;
    every constructor checks the whole tree, so a bad field fails before any run.
    """

    data: dict[str, Any]
    source: Path | None = field(default=None, compare=False)
    plugins: list[Plugin] = field(default_factory=list, init=False, compare=False, repr=False)
    """The plug-ins its ``plugins`` field loaded (before anything else is checked)."""

    def __post_init__(self) -> None:
        if not isinstance(self.data, Mapping):
            raise ConfigError("scenario", self.data, "a table of scenario fields")
        check_depth("scenario", self.data)  # before deepcopy recurses into it
        self.data = copy.deepcopy(dict(self.data))
        folder = self.source.parent if self.source is not None else None
        self.plugins = load_all(self.data.get("plugins", []), folder, where="plugins")
        self._check()

    # -- constructors ---------------------------------------------------------------
    @classmethod
    def from_toml(cls, text: str, source: Path | None = None) -> Scenario:
        """Parse TOML text; a syntax error names the file and the line."""
        return cls(load_toml(text, str(source) if source else "scenario"), source)

    @classmethod
    def from_file(cls, path: str | Path) -> Scenario:
        """Read a scenario file."""
        path = Path(path)
        return cls.from_toml(read_text("scenario", path, "an existing .toml file"), path.resolve())

    @classmethod
    def preset(cls, name: str) -> Scenario:
        """A built-in scenario by name (see ``preset_names()``)."""
        if name not in preset_names():
            raise ConfigError(
                "scenario", name, "a preset (" + ", ".join(preset_names()) + ") or a .toml file"
            )
        return cls.from_toml(preset_text(name))

    @classmethod
    def load(cls, name_or_path: str | Path | None) -> Scenario:
        """A preset by name, or a file by path; ``None`` is the ``default`` preset."""
        if name_or_path is None:
            return cls.preset("default")
        text = str(name_or_path)
        if text in preset_names():
            return cls.preset(text)
        if text.endswith(".toml") or "/" in text or Path(text).exists():
            return cls.from_file(text)
        return cls.preset(text)

    # -- reading --------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        """A top-level value with the documented default."""
        return self.data.get(key, DEFAULTS.get(key, default))

    @property
    def name(self) -> str:
        return self.data.get("name", self.source.stem if self.source else "scenario")

    @property
    def steps(self) -> int:
        return self.get("steps")

    @property
    def warm_up(self) -> int:
        return self.get("warm_up")

    @property
    def seed(self) -> int:
        return self.get("seed")

    @property
    def replications(self) -> int:
        return self.get("replications")

    @property
    def service(self) -> float | None:
        """The consumer fill rate ``compare`` tunes both regimes to, or None (``false``)."""
        value = self.data.get("service", False)
        return None if value is False else float(value)

    @property
    def safety_factor(self) -> float | None:
        """The chain-wide safety factor z, or None (each firm keeps its own settings)."""
        value = self.data.get("safety_factor")
        return None if value is None else float(value)

    def with_overrides(self, assignments: Mapping[str, Any]) -> Scenario:
        """A copy with dotted-path fields set (``network.lead_time = 4``), checked again."""
        data = copy.deepcopy(self.data)
        for path, value in assignments.items():
            set_path(data, path, value)
        return Scenario(data, self.source)

    def resolved(self, plugins: Sequence[Plugin] = (), **top: Any) -> Scenario:
        """A copy with top-level fields (seed, steps, regime name ...) written out in full,
        and ``plugins`` listing its own plug-ins and ``plugins`` (by absolute path or
        module name), so that the copy runs the same again from anywhere."""
        data = copy.deepcopy(self.data)
        data.setdefault("name", self.name)  # a copy saved as scenario.toml keeps the name
        for key in ("steps", "warm_up", "seed", "replications"):
            data.setdefault(key, DEFAULTS[key])
        regime = top.pop("regime", None)
        data.update(top)
        if regime is not None:
            data.setdefault("regime", {})["name"] = regime
        if self.source is not None and data["network"].get("builder") == "file":
            # Keep the graph file findable from wherever the resolved copy is written.
            data["network"]["path"] = str(self._network_path())
        used = merged(self.plugins, plugins)
        if used:
            data["plugins"] = [p.spec for p in used]
        return Scenario(data, self.source)

    def naming_plugins(self) -> Scenario:
        """A copy whose ``plugins`` name its plug-ins by module name, not by path: for a
        copy that travels where they are loaded already (a sweep's tasks carry their text)."""
        if not self.plugins:
            return self
        data = copy.deepcopy(self.data)
        data["plugins"] = [p.name for p in self.plugins]
        return Scenario(data, self.source)

    def to_toml(self) -> str:
        """The scenario as TOML text, ready to save and run again."""
        return tomli_w.dumps(self.data)

    # -- turning it into a model ----------------------------------------------------
    def network(self) -> nx.DiGraph:
        """Build the network and apply every override layer; validated."""
        spec = dict(self.data["network"])
        builder = spec.pop("builder")
        if builder == "file":
            G = read_network(self._network_path())
        else:
            accepted = inspect.signature(BUILDERS[builder]).parameters
            if "seed" in accepted and "seed" not in spec:
                spec["seed"] = self.seed  # the same network every time the scenario is built
            consumers = self.data.get("consumers", {})
            for key in ("demand", "demand_params"):
                # Given to the builder, so its steady-state starting stock fits the demand.
                if key in consumers and key in accepted and key not in spec:
                    spec[key] = copy.deepcopy(consumers[key])
            G = _call_builder(builder, spec)
        _apply_overrides(G, self.data)
        G = validate_network(G)
        if "safety_factor" in self.data:
            apply_safety_factor(G, self.data["safety_factor"])
        return G

    def regime(self, name: str | None = None) -> InformationRegime:
        """The information regime, by the scenario's name or ``name``, with its knobs.

        A regime takes the knobs it declares; the others are still checked. ``opaque``
        declares none: it is the push baseline, where nothing is shared.
        """
        section = dict(self.data.get("regime", {}))
        preset = name or section.pop("name", "opaque")
        section.pop("name", None)
        return make_regime(preset, **section)

    @property
    def shared_regime(self) -> str:
        """The regime ``compare`` sets against opaque: the scenario's, or transparent."""
        name = self.data.get("regime", {}).get("name", "opaque")
        return "transparent" if name == "opaque" else name

    def model(
        self,
        *,
        regime: str | None = None,
        seed: int | None = None,
        model_class: type[SupplyChainModel] | None = None,
        **kwargs: Any,
    ) -> SupplyChainModel:
        """A ``SupplyChainModel`` (or ``model_class``) for this scenario; ``regime`` and
        ``seed`` override the scenario's."""
        try:
            return self._model(regime, seed, model_class, **kwargs)
        except LimitError as err:  # the model's horizon is the scenario's steps
            if err.field != "horizon":
                raise
            raise LimitError("steps", self.steps, err.limit, err.amount, derived=True) from None

    def _model(
        self, regime: str | None, seed: int | None, model_class: type | None, **kwargs: Any
    ) -> SupplyChainModel:
        from .model import SupplyChainModel  # Mesa is slow to import: only when a run needs it

        return (model_class or SupplyChainModel)(
            self.network(),
            regime=self.regime(regime),
            horizon=self.steps,
            warm_up=self.warm_up,
            disruptions=copy.deepcopy(self.data.get("disruptions", [])),
            rng=self.seed if seed is None else seed,
            **kwargs,
        )

    def _network_path(self) -> Path:
        path = Path(self.data["network"]["path"])
        if not path.is_absolute() and self.source is not None:
            path = self.source.parent / path
        return path

    # -- checking -------------------------------------------------------------------
    def _check(self) -> None:
        data = self.data
        _no_unknown("", data, TOP_LEVEL)
        for key in ("name", "description"):
            if key in data and not isinstance(data[key], str):
                raise ConfigError(key, data[key], "text")
        data["steps"] = check_number("steps", self.get("steps"), minimum=1, integer=True)
        data["warm_up"] = check_number("warm_up", self.get("warm_up"), minimum=0, integer=True)
        if data["warm_up"] >= data["steps"]:
            raise ConfigError(
                "warm_up", data["warm_up"], f"fewer periods than steps = {data['steps']}"
            )
        data["seed"] = check_number("seed", self.get("seed"), minimum=0, integer=True)
        data["replications"] = check_number(
            "replications", self.get("replications"), minimum=2, integer=True
        )
        check_runs("replications", 2 * data["replications"])  # a comparison runs two regimes
        if "service" in data:
            data["service"] = check_service("service", data["service"])
        if "safety_factor" in data:
            data["safety_factor"] = float(check_number("safety_factor", data["safety_factor"]))
        self._check_network()
        self._check_regime()
        self._check_layers()
        # Build once so that builder arguments, attribute values and names all fail now.
        G = self.network()
        from .recorder import values_per_period  # numpy and pandas: only when checking

        firms = sum(kind != "consumer" for _, kind in G.nodes(data="kind"))
        # Every run records at least its firms in every period (consumers: see model()).
        values = values_per_period(firms, G.number_of_nodes() - firms, consumers_too=False)
        check_recording("steps", data["steps"], data["steps"], values)
        check_components(G)
        self.regime()
        self._check_disruptions(G)

    def _check_network(self) -> None:
        net = self.data.get("network")
        if not isinstance(net, dict):
            raise ConfigError("network", net, "a [network] table with a builder")
        builder = net.get("builder")
        choices = [*BUILDERS, "file"]
        if builder not in choices:
            raise ConfigError("network.builder", builder, "one of " + ", ".join(choices))
        if builder == "file":
            _no_unknown("network", net, {"builder", "path"})
            if not isinstance(net.get("path"), str):
                raise ConfigError(
                    "network.path", net.get("path"), "the path of a .json or .graphml network"
                )

    def _check_regime(self) -> None:
        section = self.data.get("regime", {})
        if not isinstance(section, dict):
            raise ConfigError("regime", section, "a [regime] table")
        _no_unknown("regime", section, {"name", *regime_knobs()})
        if "name" in section and section["name"] not in REGIMES:
            raise ConfigError("regime.name", section["name"], "one of " + ", ".join(REGIMES))

    def _check_layers(self) -> None:
        """The layers' shape; their fields are checked against the classes of the nodes
        they reach when the network is built (``_apply_overrides``)."""
        data = self.data
        _table(data, "edges")
        _no_unknown("edges", data.get("edges", {}), EDGE_FIELDS)
        _table(data, "consumers")
        consumers = data.get("consumers", {})
        if "preorder_share" in consumers:
            share = CONSUMER_LAYER_PARAMS["preorder_share"]
            consumers["preorder_share"] = share.check(
                "consumers.preorder_share", consumers["preorder_share"]
            )
        _table(data, "firms")
        if "class" in data.get("firms", {}):
            raise ConfigError(
                "firms.class", data["firms"]["class"],
                "a class per kind ([kinds.retailer] class = ...) or per node: a class plays "
                "one kind of firm",
            )  # fmt: skip
        _table(data, "kinds")
        for kind, attrs in data.get("kinds", {}).items():
            if kind not in NODE_PARAMS:
                raise ConfigError(f"kinds.{kind}", attrs, "a kind: " + ", ".join(NODE_PARAMS))
            _table(data["kinds"], kind, f"kinds.{kind}")
        _table(data, "nodes")
        for key in data.get("nodes", {}):
            _table(data["nodes"], key, f'nodes."{key}"')
        layers = [("consumers", consumers), ("firms", data.get("firms", {}))]
        layers += [(f"kinds.{k}", v) for k, v in data.get("kinds", {}).items()]
        layers += [(f'nodes."{k}"', v) for k, v in data.get("nodes", {}).items()]
        for where, attrs in layers:
            for key in ("demand_params", "policy_params", "allocation_params"):
                if key in attrs and not isinstance(attrs[key], dict):
                    raise ConfigError(f"{where}.{key}", attrs[key], "a table of parameters")
            if "label" in attrs and not isinstance(attrs["label"], str):
                raise ConfigError(f"{where}.label", attrs["label"], "text (a name to show)")

    def _check_disruptions(self, G: nx.DiGraph) -> None:
        """``[[disruptions]]``: a list of tables naming firms and edges of the network."""
        specs = self.data.get("disruptions", [])
        if not isinstance(specs, list):
            raise ConfigError("disruptions", specs, "a list of [[disruptions]] tables")
        topology = Topology(G)
        for i, spec in enumerate(specs):
            parse_disruption(spec, topology, f"disruptions[{i}]")


DEFAULTS: dict[str, Any] = {"steps": 100, "warm_up": 20, "seed": 1, "replications": 10}
"""Top-level defaults used when a scenario leaves a field out."""


def check_service(field: str, value: Any) -> float | bool:
    """A target consumer fill rate strictly between 0 and 1, or ``false`` (none)."""
    if value is False:
        return False
    expected = "a fill rate > 0 and < 1 (1 needs infinite stock under random demand), or false"
    try:
        rate = check_number(field, value, minimum=0, maximum=1)
    except ConfigError:
        raise ConfigError(field, value, expected) from None
    if not 0 < rate < 1:
        raise ConfigError(field, value, expected)
    return float(rate)


def takes_safety_factor(policy: str) -> bool:
    """Whether the registered policy ``policy`` has a ``safety_factor`` parameter."""
    from pullchain.agents.policies import POLICIES

    if policy not in POLICIES:
        return False
    return "safety_factor" in POLICIES.declared(policy)


SAFETY_TARGETS = ("safety_factor", "service_level", "fill_rate")


def apply_safety_factor(G: nx.DiGraph, z: float) -> list[Any]:
    """Give every firm whose policy takes a safety factor ``safety_factor = z`` (replacing
    its own service target, if any); return those firms. None takes one: ConfigError."""
    firms = []
    for node, attrs in G.nodes(data=True):
        if attrs["kind"] != "consumer" and takes_safety_factor(attrs["policy"]):
            params = {k: v for k, v in attrs["policy_params"].items() if k not in SAFETY_TARGETS}
            attrs["policy_params"] = {**params, "safety_factor": float(z)}
            firms.append(node)
    if not firms:
        raise ConfigError(
            "safety_factor", z, "a network with a firm whose policy takes a safety factor "
            "(order_up_to, base_stock, echelon_base_stock, or a policy of your own)",
        )  # fmt: skip
    return firms


def check_components(G: nx.DiGraph) -> None:
    """Every agent class, policy, allocation rule and demand process in ``G`` exists and
    takes its parameters."""
    from pullchain.agents.allocation import ALLOCATIONS
    from pullchain.agents.demand import DEMANDS
    from pullchain.agents.policies import POLICIES

    for node, attrs in G.nodes(data=True):
        field = f"node {node!r}"
        kind = attrs["kind"]
        spec = kinds.class_spec(kind, attrs)
        if spec != kind:  # a class of a researcher's: its own attributes too
            cls = kinds.resolve(kind, spec, f"{field}.class")
            kinds.node_config(kind, cls, attrs, field)
        if kind == "consumer":
            DEMANDS.create(attrs["demand"], attrs["demand_params"], f"{field}.demand_params")
        else:
            POLICIES.create(attrs["policy"], attrs["policy_params"], f"{field}.policy")
            ALLOCATIONS.create(
                attrs["allocation"], attrs["allocation_params"], f"{field}.allocation"
            )


def _table(data: dict, key: str, where: str | None = None) -> None:
    if key in data and not isinstance(data[key], dict):
        raise ConfigError(where or key, data[key], "a table of fields")


def _no_unknown(where: str, table: Mapping, known: set[str]) -> None:
    for key in table:
        if key not in known:
            path = f"{where}.{key}" if where else key
            raise ConfigError(path, table[key], "a known field: " + ", ".join(sorted(known)))


def _call_builder(name: str, kwargs: dict[str, Any]) -> nx.DiGraph:
    builder = BUILDERS[name]
    accepted = set(inspect.signature(builder).parameters)
    for key in kwargs:
        if key not in accepted:
            raise ConfigError(
                f"network.{key}",
                kwargs[key],
                f"an argument of builder {name!r}: " + ", ".join(sorted(accepted)),
            )
    try:
        return builder(**kwargs)
    except ConfigError as err:
        if err.field.startswith(("node", "edge", "network")):
            raise
        raise ConfigError(f"network.{err.field}", err.value, err.expected) from None


def _node_names(G: nx.DiGraph) -> dict[str, Any]:
    """Each node by its id written as text, and by its label where that is unique."""
    names: dict[str, Any] = {}
    labels: dict[str, list[Any]] = {}
    for node, label in G.nodes(data="label"):
        names[str(node)] = node
        if label is not None:
            labels.setdefault(str(label), []).append(node)
    for label, nodes in labels.items():
        names.setdefault(label, nodes[0] if len(nodes) == 1 else _Ambiguous(nodes))
    return names


class _Ambiguous(list):
    """A label that several nodes share: it cannot address one of them."""


def _resolve_names(G: nx.DiGraph, nodes: Mapping[str, Any]) -> dict[str, Any]:
    """The node each ``[nodes]`` key addresses, named as the network was built."""
    names = _node_names(G)
    out = {}
    for key, attrs in nodes.items():
        node = names.get(key)
        if node is None:
            raise ConfigError(f'nodes."{key}"', attrs, "a node label or id of the network")
        if isinstance(node, _Ambiguous):
            ids = ", ".join(str(n) for n in node)
            raise ConfigError(f'nodes."{key}"', attrs, f"a unique label (nodes {ids} share it)")
        out[key] = node
    return out


def _apply_overrides(G: nx.DiGraph, data: Mapping[str, Any]) -> dict[str, Any]:
    """Set attributes in layers: edges, consumers, firms, kinds, nodes; return the named nodes.

    A layer's field reaches the nodes whose class declares it (``capacity`` only
    producers, a class's own field only the nodes that class plays); a field no node
    reached could take is an error naming it, and so is a ``[nodes]`` field its node's
    class does not declare.
    """
    named = _resolve_names(G, data.get("nodes", {}))  # before any layer relabels a node
    for u, v in G.edges:
        if G.nodes[v]["kind"] != "consumer":
            G.edges[u, v].update(copy.deepcopy(data.get("edges", {})))
    consumers = dict(data.get("consumers", {}))
    share = consumers.pop("preorder_share", None)
    firm = data.get("firms", {})
    by_kind = data.get("kinds", {})
    by_node = {named[key]: (key, attrs) for key, attrs in data.get("nodes", {}).items()}
    fields = _node_fields(G, consumers, by_kind, by_node)
    _check_layer_fields(G, fields, consumers, firm, by_kind)
    preorders = _preorderers(G, share) if share is not None else None
    for node, kind in G.nodes(data="kind"):
        attrs = G.nodes[node]
        mine = fields[node]
        layers = [consumers] if kind == "consumer" else [firm]
        for layer in [*layers, by_kind.get(kind, {})]:
            attrs.update({k: copy.deepcopy(v) for k, v in layer.items() if k in mine})
            if layer is consumers and preorders is not None:
                attrs["backorder"] = node in preorders  # pre-orderers wait; others leave
    for node, (key, attrs) in by_node.items():
        _no_unknown(f'nodes."{key}"', attrs, fields[node])
        G.nodes[node].update(copy.deepcopy(attrs))
    return named


def _node_fields(
    G: nx.DiGraph, consumers: Mapping, by_kind: Mapping, by_node: Mapping
) -> dict[Any, set[str]]:
    """The fields each node takes: those of the class the layers give it, and ``label``."""
    out = {}
    for node, kind in G.nodes(data="kind"):
        spec, where = kinds.class_spec(kind, G.nodes[node]), node_field(node, "class")
        layers = [("consumers", consumers)] if kind == "consumer" else []
        layers.append((f"kinds.{kind}", by_kind.get(kind, {})))
        if node in by_node:
            layers.append((f'nodes."{by_node[node][0]}"', by_node[node][1]))
        for path, layer in layers:
            if "class" in layer:
                spec, where = layer["class"], f"{path}.class"
        out[node] = {*kinds.node_params(kind, spec, where), "label", "class"}
    return out


def _check_layer_fields(
    G: nx.DiGraph, fields: Mapping, consumers: Mapping, firm: Mapping, by_kind: Mapping
) -> None:
    """Every field of ``[consumers]``, ``[firms]`` and ``[kinds.*]`` is one some node
    it reaches (or its kind's own class) takes: anything else is a typo."""
    known: dict[str, set[str]] = {k: {*NODE_PARAMS[k], "label", "class"} for k in NODE_PARAMS}
    for node, kind in G.nodes(data="kind"):
        known[kind] |= fields[node]
    for kind, table in by_kind.items():
        if "class" in table:
            known[kind] |= set(kinds.node_params(kind, table["class"], f"kinds.{kind}.class"))
        _no_unknown(f"kinds.{kind}", table, known[kind])
    _no_unknown("consumers", consumers, known["consumer"])
    _no_unknown("firms", firm, set().union(*(known[k] for k in FIRM_KINDS)) - {"class", "label"})


def _preorderers(G: nx.DiGraph, share: float) -> set[Any]:
    """Consumers who pre-order: ``share`` of them, spread evenly in node order."""
    consumers = [n for n, k in G.nodes(data="kind") if k == "consumer"]
    return {n for i, n in enumerate(consumers) if int((i + 1) * share) > int(i * share)}


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``data[a][b][c] = value`` for ``path = "a.b.c"``, making tables as needed.

    A quoted part keeps its dots: ``nodes."retailer 1".policy``.
    """
    check_text("--set", path)
    parts = _split_path(path)
    check_parts(path, len(parts))
    if not parts or any(not p for p in parts):
        raise ConfigError("--set", path, "a dotted field path such as network.lead_time")
    table = data
    for i, part in enumerate(parts[:-1]):
        nxt = table.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ConfigError(".".join(parts[: i + 1]), nxt, "a table, to set a field inside it")
        table = nxt
    table[parts[-1]] = value


def _split_path(path: str) -> list[str]:
    parts, current, quoted = [], "", False
    for ch in path:
        if ch == '"':
            quoted = not quoted
        elif ch == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    if quoted:
        raise ConfigError("--set", path, 'a path whose quotes are closed, e.g. nodes."r 1".policy')
    parts.append(current)
    return [p.strip() for p in parts]


def parse_value(text: str) -> Any:
    """A ``--set`` value: a TOML value (number, bool, string, array, inline table), or bare text."""
    check_text("--set", text)
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, ValueError, RecursionError):
        return text  # bare text (a 5,000-digit number is text too: Python will not read it)
    # Dates and times are TOML values too, but no scenario field takes one: keep the text.
    return value if isinstance(value, str | int | float | bool | list | dict) else text


def read_text(field: str, path: Path, expected: str) -> str:
    """An input file's text: UTF-8 (a byte-order mark is allowed), size checked first."""
    if not path.is_file():
        raise ConfigError(field, str(path), expected)
    check_input_file(field, path)
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(field, str(path), f"a readable UTF-8 file ({err})") from None


def load_toml(text: str, where: str) -> dict[str, Any]:
    """Parse TOML text after checking its size and depth; errors name ``where``."""
    text = text.removeprefix("\ufeff")  # a byte-order mark, as some editors write
    check_text(where, text)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(where, "(TOML text)", f"valid TOML: {err}") from None
    except (ValueError, RecursionError) as err:  # e.g. an integer of 5,000 digits
        raise ConfigError(where, "(TOML text)", f"TOML that Python can read ({err})") from None


def preset_names() -> list[str]:
    """Names of the built-in scenarios."""
    folder = resources.files("pullchain.runs") / "presets"
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def preset_text(name: str) -> str:
    """The TOML text of a built-in scenario."""
    return (resources.files("pullchain.runs") / "presets" / f"{name}.toml").read_text("utf-8")
