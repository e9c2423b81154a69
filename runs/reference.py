"""The reference tables of every declared parameter, in Markdown, read from the declarations.

docs/scenarios.md holds these tables between ``<!-- generated: NAME -->`` and
``<!-- end generated -->``; ``python -m pullchain.runs.reference docs/scenarios.md``
rewrites them from the code (tests/test_docs.py checks they are current), and
``pullchain params`` prints them, a researcher's plug-ins included.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from pullchain.network.params import Param, declared, describe_default
from pullchain.network.regimes import REGIMES, InformationRegime, regime_knobs
from pullchain.network.schema import (
    CONSUMER_PARAMS,
    EDGE_PARAMS,
    FIRM_KINDS,
    FIRM_PARAMS,
    NODE_PARAMS,
)

LINKS = {
    "policy": "a [policy](#ordering-policies)",
    "forecast": "a [forecast](#forecasts)",
    "demand": "a [demand process](#demand-processes)",
    "allocation": "an [allocation rule](#allocation-rules)",
    "regime": "a [regime](#information-regimes)",
    "agent class": "an [agent class](#agent-classes) of the node's kind",
}
"""How a name that refers to a registry is described in the "allowed" column."""


def _registries() -> dict[str, object]:
    from pullchain.agents import ALLOCATIONS, DEMANDS, FORECASTS, POLICIES
    from pullchain.agents.kinds import AGENTS, BUILT_IN, builtin

    from . import game  # noqa: F401  (registers the classroom game's `player` policy)

    for kind in BUILT_IN:  # the built-in agent classes register when their module loads
        builtin(kind)
    return {
        "policy": POLICIES,
        "forecast": FORECASTS,
        "demand": DEMANDS,
        "allocation": ALLOCATIONS,
        "regime": REGIMES,
        "agent class": AGENTS,
    }


def allowed(p: Param) -> str:
    """The "allowed" column: what a valid value is."""
    if p.registry:
        return LINKS.get(p.registry, f"a registered {p.registry}")
    if p.type == "dict":
        return "a table of its parameters"
    if p.numeric and p.minimum is None and p.maximum is None and not p.allow_inf:
        return "any number"
    return re.sub(r"^an? ", "", p.expected())


def default(p: Param) -> str:
    """The "default" column: the value in backticks, a note, or the rule that works it out."""
    shown = describe_default(p)
    if p.default is None:
        return shown
    return f"`{shown}`" + (f" ({p.default_doc})" if p.default_doc else "")


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def summary(cls: type) -> str:
    """A class's first docstring paragraph, on one line, as Markdown."""
    doc = (cls.__doc__ or "").strip().split("\n\n")[0]
    return _cell(doc.replace("``", "`"))


def _sentence(doc: str) -> str:
    doc = doc.strip()
    return (doc[:1].upper() + doc[1:] + ("" if doc.endswith(".") else ".")) if doc else ""


def field_rows(params: Mapping[str, Param], extra: Callable[[str], str] | None = None) -> list:
    return [
        [f"`{name}`", p.unit or "-", default(p), allowed(p), _sentence(p.doc)]
        + ([extra(name)] if extra else [])
        for name, p in params.items()
    ]


def table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


FIELD_HEAD = ["field", "unit", "default", "allowed", "what it does"]


def firms() -> str:
    """Every firm attribute, and the kinds that take it."""
    every: dict[str, Param] = {}
    for kind in FIRM_KINDS:
        every.update(NODE_PARAMS[kind])

    def kinds_of(name: str) -> str:
        have = [k for k in FIRM_KINDS if name in NODE_PARAMS[k]]
        return "all firms" if len(have) == len(FIRM_KINDS) else ", ".join(have)

    rows = field_rows({n: p for n, p in every.items() if n != "class"}, kinds_of)
    return table([*FIELD_HEAD, "kinds"], rows)


def consumers() -> str:
    from .scenarios import CONSUMER_LAYER_PARAMS

    params = {n: p for n, p in CONSUMER_PARAMS.items() if n != "class"}
    return table(FIELD_HEAD, field_rows({**params, **CONSUMER_LAYER_PARAMS}))


def edges() -> str:
    return table(FIELD_HEAD, field_rows(EDGE_PARAMS))


def kinds() -> str:
    """The fields each kind takes (in ``[kinds.<kind>]`` and ``[nodes]``)."""
    rows = []
    for kind, params in NODE_PARAMS.items():
        rows.append([f"`{kind}`", ", ".join(f"`{n}`" for n in params) + ", `label`"])
    return table(["kind", "fields"], rows)


def regime_fields() -> str:
    """``[regime]``: the name and every knob of a registered regime, and who takes it."""
    regs = _registries()["regime"]
    name = Param("opaque", "the information regime of `pullchain run` and `scenario.model()`",
                 unit="name", registry="regime")  # fmt: skip
    rows = [[*field_rows({"name": name})[0], "-"]]
    for knob, owners in regime_knobs().items():
        decls = {o: declared(regs.get(o))[knob] for o in owners}
        first = InformationRegime.params.get(knob) or next(iter(decls.values()))
        shown = default(first)
        others = [f"`{describe_default(p)}` under `{o}`" for o, p in decls.items()
                  if p.default != first.default]  # fmt: skip
        if others:
            shown += " (" + ", ".join(others) + ")"
        row = field_rows({knob: first})[0]
        row[2] = shown
        row[4] += "".join(f" Under `{o}`: {_sentence(p.doc)}" for o, p in decls.items()
                          if p.doc != first.doc)  # fmt: skip
        rows.append([*row, ", ".join(f"`{o}`" for o in owners)])
    return table([*FIELD_HEAD, "regimes"], rows)


def registered(what: str, head: str) -> str:
    """One registry's classes: a row each, then a row per declared parameter."""
    registry = _registries()[what]
    rows = []
    for name in registry:
        cls = registry.get(name)
        params = declared(cls)
        if what == "agent class":
            kind = getattr(cls, "kind", "")
            params = {n: p for n, p in params.items() if n not in NODE_PARAMS.get(kind, {})}
        rows.append([f"`{name}`", "", "", "", "", summary(cls)])
        for row in field_rows(params):
            rows.append(["", *row])
    return table([head, "parameter", "unit", "default", "allowed", "what it does"], rows)


def agent_classes() -> str:
    from pullchain.agents.kinds import own_params

    registry = _registries()["agent class"]
    rows = []
    for name in registry:
        cls = registry.get(name)
        kind = getattr(cls, "kind", "")
        rows.append([f"`{name}`", f"`{kind}`", "", "", "", "", summary(cls)])
        own = {n: p for n, p in own_params(cls).items() if n not in NODE_PARAMS.get(kind, {})}
        rows += [["", "", *row] for row in field_rows(own)]
    head = ["class", "kind", "parameter", "unit", "default", "allowed", "what it does"]
    return table(head, rows)


SECTIONS: dict[str, Callable[[], str]] = {
    "firms": firms,
    "consumers": consumers,
    "edges": edges,
    "kinds": kinds,
    "regime": regime_fields,
    "policies": lambda: registered("policy", "policy"),
    "forecasts": lambda: registered("forecast", "forecast"),
    "demands": lambda: registered("demand", "demand"),
    "allocations": lambda: registered("allocation", "allocation"),
    "regimes": lambda: registered("regime", "regime"),
    "agent-classes": agent_classes,
}
"""Every generated table, by the name its markers carry."""

_BLOCK = re.compile(r"(<!-- generated: ([\w-]+) -->\n)(.*?)(<!-- end generated -->)", re.S)


def render(text: str) -> str:
    """``text`` with every generated block rewritten from the declarations."""

    def fill(m: re.Match) -> str:
        name = m.group(2)
        if name not in SECTIONS:
            raise KeyError(f"unknown generated section {name!r}")
        return f"{m.group(1)}{SECTIONS[name]()}\n{m.group(4)}"

    return _BLOCK.sub(fill, text)


def everything() -> str:
    """Every table, with a heading each (``pullchain params``)."""
    return "\n\n".join(f"## {name}\n\n{make()}" for name, make in SECTIONS.items()) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m pullchain.runs.reference FILE``: rewrite FILE's generated tables."""
    args = sys.argv[1:] if argv is None else argv
    for path in map(Path, args):
        text = path.read_text(encoding="utf-8")
        new = render(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"rewrote the generated tables of {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["FIRM_PARAMS", "SECTIONS", "everything", "render"]
