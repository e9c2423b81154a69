"""Save and load supply networks as node-link JSON or GraphML.

The format follows the file's suffix. Files are written from the validated network
(every default filled in), so a file says everything the model will use, and
``read_network(p)`` after ``write_network(G, p)`` gives back ``validate_network(G)``
exactly: the same nodes, edges, attributes, types and order.

GraphML stores only scalars and gives node ids back as text, so for GraphML the
writer records two graph attributes, removed again on reading:
``pullchain_node_ids`` ("int" or "str") and ``pullchain_json`` (which attributes
were written as JSON text: dicts, lists, None, or a name whose values mix types).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from .errors import ConfigError
from .limits import DEPTH, check_depth, check_input_file, check_text
from .schema import validate_network

SUFFIXES: tuple[str, ...] = (".json", ".graphml")
_ID_TYPE = "pullchain_node_ids"
_JSON_ATTRS = "pullchain_json"
_SCALARS = (bool, int, float, str)


def _format(path: Path) -> str:
    """The file format named by the suffix, or ConfigError."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ConfigError("path", str(path), "a file name ending in " + " or ".join(SUFFIXES))
    return suffix


def _json_default(value: Any) -> Any:
    """NumPy values as plain JSON; anything else JSON cannot hold is an error."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _check_ids(G: nx.DiGraph) -> str:
    """'int' or 'str': the files keep only these node ids faithfully."""
    if all(isinstance(n, int) and not isinstance(n, bool) for n in G):
        return "int"
    if all(isinstance(n, str) for n in G):
        return "str"
    odd = next(n for n in G if not isinstance(n, str))
    raise ConfigError(f"node {odd!r}", odd, "node ids that are all int or all str, to be saved")


def write_network(G: nx.DiGraph, path: str | Path) -> None:
    """Validate ``G`` and write it to ``path`` (.json node-link or .graphml).

    Raises:
        ConfigError: for an invalid network, a bad suffix, node ids that are
            neither all int nor all str, or a value the format cannot hold.
    """
    path = Path(path)
    suffix = _format(path)
    H = validate_network(G)
    _check_ids(H)
    try:
        if suffix == ".json":
            text = json.dumps(nx.node_link_data(H, edges="edges"), indent=1, default=_json_default)
            path.write_text(text + "\n", encoding="utf-8")
        else:
            nx.write_graphml(_to_graphml(H), path)
    except (TypeError, ValueError, nx.NetworkXError) as err:
        expected = f"a network whose values fit the file ({err})"
        raise ConfigError("path", str(path), expected) from None
    except OSError as err:
        raise ConfigError("path", str(path), f"a writable file ({err.strerror})") from None


def read_network(path: str | Path) -> nx.DiGraph:
    """Read a network written by ``write_network`` (or by hand) and validate it.

    Raises:
        ConfigError: for a missing or unreadable file, a bad suffix, content that
            is not node-link JSON or GraphML, or an invalid network.
    """
    path = Path(path)
    suffix = _format(path)
    if not path.is_file():
        raise ConfigError("path", str(path), "an existing file")
    check_input_file("path", path)  # before a byte is parsed
    try:
        G = _read_json(path) if suffix == ".json" else _read_graphml(path)
    except OSError as err:
        raise ConfigError("path", str(path), f"a readable file ({err.strerror})") from None
    try:
        return validate_network(G)
    except ConfigError as err:
        err.add_note(f"while reading the network in {path}")
        raise


def _read_json(path: Path) -> nx.DiGraph:
    """Node-link JSON to a graph; any malformation becomes ConfigError naming the file."""
    expected = "a node-link JSON network"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError("path", str(path), f"{expected} (UTF-8 text)") from None
    try:  # the C parser is linear and stops cleanly when nesting is too deep for Python
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError("path", str(path), f"{expected} (line {err.lineno}: {err.msg})") from None
    except RecursionError:
        raise ConfigError(
            "path", str(path), f"{expected} nested at most {DEPTH.format(DEPTH.value())} deep "
            f"({DEPTH.env}; this is nested deeper than Python can read)",
        ) from None  # fmt: skip
    check_depth(f"path {str(path)!r}", data)
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise ConfigError("path", str(path), f"{expected} (an object with a 'nodes' list)")
    data.setdefault("directed", True)
    data.setdefault("multigraph", False)
    try:
        return nx.node_link_graph(data, edges="edges")
    except (KeyError, TypeError, ValueError, AttributeError, nx.NetworkXError) as err:
        raise ConfigError("path", str(path), f"{expected} ({type(err).__name__}: {err})") from None


def _read_graphml(path: Path) -> nx.DiGraph:
    """GraphML to a graph with original id types and JSON-encoded attributes decoded."""
    expected = "a GraphML network"
    try:
        G = nx.read_graphml(path)
    except ET.ParseError as err:
        raise ConfigError("path", str(path), f"{expected} (XML: {err})") from None
    except (KeyError, TypeError, ValueError, nx.NetworkXError) as err:
        raise ConfigError("path", str(path), f"{expected} ({type(err).__name__}: {err})") from None
    try:
        return _from_graphml(G)
    except (ValueError, TypeError, AttributeError, RecursionError) as err:
        raise ConfigError("path", str(path), f"{expected} (bad pullchain data: {err})") from None


def _json_names(items: list[dict[str, Any]]) -> list[str]:
    """Attribute names GraphML cannot store as typed scalars (so they go as JSON)."""
    types: dict[str, set[type]] = {}
    for data in items:
        for name, value in data.items():
            types.setdefault(name, set()).add(type(value))
    return sorted(n for n, t in types.items() if len(t) > 1 or not t.issubset(_SCALARS))


def _encode(data: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """The attributes with those in ``names`` as JSON text."""
    return {k: json.dumps(v, default=_json_default) if k in names else v for k, v in data.items()}


def _to_graphml(H: nx.DiGraph) -> nx.DiGraph:
    """A copy of a validated network that GraphML can store and ``_from_graphml`` undo."""
    nodes = [d for _, d in H.nodes(data=True)]
    edges = [d for _, _, d in H.edges(data=True)]
    names = {
        "graph": _json_names([H.graph]),
        "node": _json_names(nodes),
        "edge": _json_names(edges),
    }
    out = nx.DiGraph()
    out.graph.update(_encode(H.graph, names["graph"]))
    out.graph[_ID_TYPE] = _check_ids(H)
    out.graph[_JSON_ATTRS] = json.dumps(names)
    for n, d in H.nodes(data=True):
        out.add_node(n, **_encode(d, names["node"]))
    for u, v, d in H.edges(data=True):
        out.add_edge(u, v, **_encode(d, names["edge"]))
    return out


def _decode(data: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """Undo ``_encode``; ``Infinity``/``NaN`` come back as floats."""
    return {k: _json_value(k, v) if k in names else v for k, v in data.items()}


def _json_value(name: str, text: Any) -> Any:
    """One attribute written as JSON text, its depth checked before it is decoded."""
    if not isinstance(text, str):
        raise ValueError(f"attribute {name!r} should hold JSON text, not {type(text).__name__}")
    check_text(f"attribute {name!r}", text)
    return json.loads(text)


def _from_graphml(G: nx.DiGraph) -> nx.DiGraph:
    """Restore what ``_to_graphml`` changed: JSON attributes, int ids, extra graph keys."""
    graph = dict(G.graph)
    for key in ("node_default", "edge_default"):
        if graph.get(key) == {}:
            del graph[key]
    id_type = graph.pop(_ID_TYPE, "str")
    names = _json_value(_JSON_ATTRS, graph.pop(_JSON_ATTRS, "{}"))
    if not isinstance(names, dict) or not all(
        isinstance(v, list) and all(isinstance(n, str) for n in v) for v in names.values()
    ):
        raise ValueError(f"{_JSON_ATTRS} should map graph, node and edge to lists of names")
    names = {k: list(names.get(k, [])) for k in ("graph", "node", "edge")}
    as_id = int if id_type == "int" else str
    out = G.__class__()
    out.graph.update(_decode(graph, names["graph"]))
    for n, d in G.nodes(data=True):
        out.add_node(as_id(n), **_decode(d, names["node"]))
    for u, v, d in G.edges(data=True):
        out.add_edge(as_id(u), as_id(v), **_decode(d, names["edge"]))
    return out
