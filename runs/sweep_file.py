"""The sweep file: parsing and checking what a sweep varies (docs/sweeps.md).

A sweep file (TOML) names a base scenario, the scenario fields to vary (dotted
paths, each a list of values or a range), the regimes, the replications and the
seed. ``parse_sweep`` checks all of it before any run: each parameter value is
applied to the base scenario with ``Scenario.with_overrides``, which validates it.
Replication r of every cell and every regime runs with seed
``replication_seeds(seed, replications)[r]``, so regimes and cells are paired.

At equal service (``service`` in the sweep file, the base scenario's ``service``, or
``service`` as a parameter), each cell and regime is tuned to its target fill rate before
its runs (``pullchain.runs.service``), on those same seeds, so the tuned factor is the
same however often, wherever and in whatever order the sweep runs.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pullchain.network.errors import ConfigError, check_number
from pullchain.network.limits import VALUES, check_divisor, check_runs, check_values

from .plugins import Plugin, load_all, merged
from .scenarios import Scenario, load_toml, read_text

if TYPE_CHECKING:
    import pyarrow as pa


SWEEP_FIELDS = {"scenario", "description", "regimes", "replications", "seed", "parameters", "set",
                "record", "plugins", "service"}  # fmt: skip
RECORD_FIELDS = {"timeseries", "every"}
RANGE_FIELDS = {"start", "stop", "num", "step"}
NOT_PARAMETERS = {
    "seed": "runs take their seeds from the sweep's `seed` and their replication",
    "replications": "set `replications` at the top of the sweep file",
    "regime.name": "list the regimes in `regimes = [...]`",
}


@dataclass(frozen=True)
class Run:
    """One run of a sweep: a cell's parameter values, a regime, a replication and its seed."""

    key: str
    cell: int
    params: tuple[tuple[str, Any], ...]
    regime: str
    replication: int
    seed: int

    @property
    def params_dict(self) -> dict[str, Any]:
        return dict(self.params)


@dataclass
class Sweep:
    """A checked sweep file. Build one with ``load_sweep`` or ``parse_sweep``."""

    name: str
    text: str
    source: Path | None
    scenario_ref: str
    base: Scenario  # the named scenario with [set] applied, resolved
    parameters: dict[str, list[Any]]
    regimes: list[str]
    replications: int
    seed: int
    record_every: int  # 0: no time series
    plugins: list[Plugin] = field(default_factory=list)  # the sweep's, its scenario's, --plugin

    def cells(self) -> Iterator[dict[str, Any]]:
        """Every combination of the parameter values, the first parameter varying slowest,
        one at a time (a sweep may have more than fit in memory at once)."""
        names = list(self.parameters)
        for combo in itertools.product(*self.parameters.values()):
            yield dict(zip(names, combo, strict=True))

    @property
    def n_cells(self) -> int:
        """How many cells, counted without listing them."""
        return math.prod(len(v) for v in self.parameters.values())

    @property
    def n_runs(self) -> int:
        """How many runs: cells x regimes x replications."""
        return self.n_cells * len(self.regimes) * self.replications

    def seeds(self) -> list[int]:
        from .compare import replication_seeds

        return replication_seeds(self.seed, self.replications)

    def runs(self) -> Iterator[Run]:
        """Every run, in order: cell, then replication, then regime (pairs side by side),
        made one at a time as they are asked for."""
        seeds = self.seeds()
        for c, params in enumerate(self.cells()):
            items = tuple(params.items())
            for r, seed in enumerate(seeds):
                for regime in self.regimes:
                    yield Run(run_key(params, regime, r), c, items, regime, r, seed)

    def param_types(self) -> dict[str, pa.DataType]:
        """The Parquet type of each parameter's column."""
        import pyarrow as pa

        types_ = {}
        for name, values in self.parameters.items():
            kind = _kind(values[0])
            types_[name] = {"bool": pa.bool_(), "int": pa.int64(), "float": pa.float64()}.get(
                kind, pa.string()
            )
        return types_

    def spec(self) -> dict[str, Any]:
        """What the results depend on: compared with the manifest when a sweep resumes."""
        return {
            "scenario": self.base.to_toml(),
            "parameters": {k: list(v) for k, v in self.parameters.items()},
            "regimes": list(self.regimes),
            "replications": self.replications,
            "seed": self.seed,
            "record": {"timeseries": self.record_every > 0, "every": self.record_every},
            "plugins": {p.name: p.identity() for p in self.plugins},
        }

    @property
    def tunes(self) -> bool:
        """Whether any cell is compared at equal service (its runs tuned, cell by regime)."""
        varied = self.parameters.get("service", [])
        return bool(self.base.service) or any(value is not False for value in varied)

    def describe(self) -> str:
        tuned = ", each cell and regime first tuned to its service target" if self.tunes else ""
        return _describe(self.n_cells, len(self.regimes), self.replications) + tuned


def _describe(cells: int, regimes: int, replications: int) -> str:
    return (f"{cells} cell{'s' * (cells != 1)} x {regimes} regimes x {replications} "
            f"replications = {cells * regimes * replications} runs")  # fmt: skip


def run_key(params: Mapping[str, Any], regime: str, replication: int) -> str:
    """A stable key for one run: a hash of its parameter values, regime and replication."""
    text = json.dumps(
        {"params": dict(sorted(params.items())), "regime": regime, "replication": replication},
        sort_keys=True, separators=(",", ":"),
    )  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def load_sweep(path: str | Path, plugins: Sequence[Plugin] = ()) -> Sweep:
    """Read and check a sweep file; ``plugins`` are loaded already (``--plugin``)."""
    path = Path(path)
    text = read_text("sweep", path, "an existing sweep .toml file")
    return parse_sweep(text, path.resolve(), plugins)


def parse_sweep(text: str, source: Path | None = None, plugins: Sequence[Plugin] = ()) -> Sweep:
    """Check a sweep file's text; every problem is a ConfigError naming the field."""
    data = load_toml(text, str(source or "sweep"))
    if "imports" in data:
        raise ConfigError("imports", data["imports"], "plugins = [...] (the field's new name)")
    for key in data:
        if key not in SWEEP_FIELDS:
            raise ConfigError(key, data[key], "a sweep field: " + ", ".join(sorted(SWEEP_FIELDS)))
    folder = source.parent if source else Path.cwd()

    own = load_all(data.get("plugins", []), folder, where="plugins")

    ref = data.get("scenario", "default")
    if not isinstance(ref, str) or not ref:
        raise ConfigError("scenario", ref, "a preset name or the path of a scenario .toml file")
    base = _load_base(ref, folder)
    fixed = _flatten("set", data.get("set", {}), ranges=False)
    if fixed:
        try:
            base = base.with_overrides(fixed)
        except ConfigError as err:
            raise ConfigError(f"set.{err.field}", err.value, err.expected) from None
    if "service" in data:  # shorthand for [set] service = ...
        if "service" in fixed:
            raise ConfigError("service", data["service"], "service set once (here or in [set])")
        base = base.with_overrides({"service": data["service"]})
    # Its plug-ins by module name: workers load them from the text the tasks carry.
    base = base.resolved().naming_plugins()

    regimes = _regimes(data.get("regimes", ["opaque", base.shared_regime]), base)
    replications = check_number(
        "replications", data.get("replications", base.replications), minimum=1, integer=True
    )
    seed = check_number("seed", data.get("seed", base.seed), minimum=0, integer=True)

    # Count the runs before any value is listed or checked: a sweep of 7 fields x 10
    # values is 10 million cells, refused at once rather than built.
    specs = _flatten("parameters", data.get("parameters", {}), ranges=True)
    counts = {path: _count_values(f'parameters."{path}"', spec) for path, spec in specs.items()}
    n_cells = math.prod(counts.values())
    check_runs("sweep", n_cells * len(regimes) * replications,
               shown=_describe(n_cells, len(regimes), replications))  # fmt: skip

    parameters: dict[str, list[Any]] = {}
    for path, spec in specs.items():
        where = f'parameters."{path}"'
        if path in NOT_PARAMETERS:
            raise ConfigError(where, spec, f"another field ({NOT_PARAMETERS[path]})")
        if path in fixed:
            raise ConfigError(where, spec, f"a field not also fixed in [set] ({path})")
        values = _values(where, spec)
        for value in values:
            try:
                base.with_overrides({path: value})
            except ConfigError as err:
                raise ConfigError(where, value, f"a valid value of this field: {err}") from None
        parameters[path] = values

    if "safety_factor" in parameters and (base.service or "service" in parameters):
        raise ConfigError(
            'parameters."safety_factor"', parameters["safety_factor"],
            "a sweep that either varies the safety factor or tunes it to a service target "
            "(service), not both",
        )  # fmt: skip
    record = data.get("record", {})
    if not isinstance(record, dict):
        raise ConfigError("record", record, "a [record] table (timeseries, every)")
    for key in record:
        if key not in RECORD_FIELDS:
            raise ConfigError(f"record.{key}", record[key], "timeseries or every")
    timeseries = record.get("timeseries", False)
    if not isinstance(timeseries, bool):
        raise ConfigError("record.timeseries", timeseries, "true or false")
    every = check_number("record.every", record.get("every", 1), minimum=1, integer=True)
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ConfigError("description", description, "text")
    return Sweep(
        name=source.stem if source else "sweep",
        text=text,
        source=source,
        scenario_ref=ref,
        base=base,
        parameters=parameters,
        regimes=regimes,
        replications=replications,
        seed=seed,
        record_every=every if timeseries else 0,
        plugins=merged(plugins, own, base.plugins),
    )


def _regimes(regimes: Any, base: Scenario) -> list[str]:
    if not isinstance(regimes, list) or not regimes:
        raise ConfigError("regimes", regimes, 'a non-empty list, e.g. ["opaque", "transparent"]')
    for name in regimes:
        if not isinstance(name, str):
            raise ConfigError("regimes", name, "a regime name (text)")
        try:
            base.regime(name)
        except ConfigError as err:
            raise ConfigError("regimes", name, err.expected) from None
    if len(set(regimes)) != len(regimes):
        raise ConfigError("regimes", regimes, "each regime once")
    return regimes


def _load_base(ref: str, folder: Path) -> Scenario:
    from .scenarios import preset_names

    if ref in preset_names():
        return Scenario.preset(ref)
    path = Path(ref)
    if not path.is_absolute():
        path = folder / path
    if not path.is_file():
        raise ConfigError(
            "scenario", ref,
            "a preset (" + ", ".join(preset_names()) + ") or a scenario file "
            f"(relative to the sweep file: {path} does not exist)",
        )  # fmt: skip
    try:
        return Scenario.from_file(path)
    except ConfigError as err:
        raise ConfigError(f"scenario ({ref}): {err.field}", err.value, err.expected) from None


def _flatten(where: str, table: Any, *, ranges: bool) -> dict[str, Any]:
    """Dotted paths from a table: quoted dotted keys, or nested TOML tables, or both."""
    if not isinstance(table, dict):
        raise ConfigError(where, table, "a table of dotted field paths")
    out: dict[str, Any] = {}

    def walk(prefix: str, node: dict[str, Any]) -> None:
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else key
            is_range = ranges and isinstance(value, dict) and bool(set(value) & RANGE_FIELDS)
            if isinstance(value, dict) and "." not in key and not is_range:
                if not value:
                    raise ConfigError(f"{where}.{path}", value, "values to vary or set")
                walk(path, value)
            else:
                out[path] = value

    walk("", table)
    return out


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list | dict):
        return "json"
    return type(value).__name__


def _count_values(where: str, spec: Any) -> int:
    """How many values a parameter takes, without listing them (a range is counted)."""
    if isinstance(spec, dict):
        count = _range_count(where, spec)
    elif isinstance(spec, list):
        count = len(spec)
    else:
        count = 1  # not a list: _values names the problem
    check_values(where, count)
    return count


def _values(where: str, spec: Any) -> list[Any]:
    """The values of one parameter: a list, or a range table {start, stop, num | step}."""
    if isinstance(spec, dict):
        values = _expand_range(where, spec)
    elif isinstance(spec, list):
        values = list(spec)
        if not values:
            raise ConfigError(where, spec, "a non-empty list of values, or a range")
    else:
        raise ConfigError(
            where, spec, "a list of values, or a range {start, stop, num} or {start, stop, step}"
        )
    kinds = {_kind(v) for v in values}
    if kinds <= {"int", "float"} and len(kinds) == 2:
        values = [float(v) for v in values]
        kinds = {"float"}
    if len(kinds) != 1:
        raise ConfigError(where, spec, "values of one type (numbers, text, true/false or tables)")
    if kinds - {"int", "float", "bool", "str", "json"}:
        raise ConfigError(where, spec, "numbers, text, true/false, arrays or tables")
    seen = set()
    for v in values:
        text = json.dumps(v, sort_keys=True)
        if text in seen:
            raise ConfigError(where, v, "each value once")
        seen.add(text)
    return values


def _range_bounds(where: str, spec: dict[str, Any]) -> tuple[float, float]:
    for key in spec:
        if key not in RANGE_FIELDS:
            raise ConfigError(f"{where}.{key}", spec[key], "start, stop, and num or step")
    for key in ("start", "stop"):
        if key not in spec:
            raise ConfigError(f"{where}.{key}", None, "a number (a range needs start and stop)")
        check_number(f"{where}.{key}", spec[key])
    if ("num" in spec) == ("step" in spec):
        raise ConfigError(where, spec, "a range with either num or step (one of them)")
    return spec["start"], spec["stop"]


def _range_count(where: str, spec: dict[str, Any]) -> int:
    """How many values the range {start, stop, num | step} holds, checked."""
    start, stop = _range_bounds(where, spec)
    if "num" in spec:
        return check_number(f"{where}.num", spec["num"], minimum=1, integer=True)
    step = check_number(f"{where}.step", spec["step"])
    check_divisor(f"{where}.step", step)
    if step == 0 or (stop - start) * step < 0:
        raise ConfigError(
            f"{where}.step", step, f"a step that leads from {start} to {stop} (non-zero, that sign)"
        )
    span = (stop - start) / step  # finite: both bounded, the step not tiny
    if span >= VALUES.value():
        check_values(where, math.floor(span) + 1)
    return math.floor(span + 1e-9) + 1


def _expand_range(where: str, spec: dict[str, Any]) -> list[Any]:
    count = _range_count(where, spec)
    check_values(where, count)
    start, stop = spec["start"], spec["stop"]
    ints = isinstance(start, int) and isinstance(stop, int)
    if "num" in spec:
        if count == 1:
            return [start]
        values = [start + (stop - start) * i / (count - 1) for i in range(count)]
        values = [round(v, 12) for v in values]
        if ints and all(float(v).is_integer() for v in values):
            return [int(v) for v in values]
        return [float(v) for v in values]
    step = spec["step"]
    if ints and isinstance(step, int):
        return [start + i * step for i in range(count)]
    return [float(round(start + i * step, 12)) for i in range(count)]
