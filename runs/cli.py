"""The ``pullchain`` command: run a scenario, compare regimes, list and show scenarios.

Conventions: results go to stdout, messages and progress to stderr; exit 0 on
success, 2 on bad input or usage (one line naming the problem, no traceback),
1 on an internal error. Output folders are written whole or not at all.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import secrets
import shutil
import sys
import tomllib
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pullchain.network.errors import INT_MAX, ConfigError, printable

from . import __version__
from . import plugins as plugin_loader
from .formatting import format_number as _fmt
from .scenarios import Scenario, parse_value, preset_names, preset_text

if TYPE_CHECKING:
    import pandas as pd

EXAMPLES = {
    "run": """examples:
  pullchain run                          the default scenario, opaque regime
  pullchain run beer-game --regime transparent
  pullchain run my.toml --steps 500 --seed 7 --set network.lead_time=4
  pullchain run --out runs/first         also write timeseries.parquet, summary.json, scenario.toml
  pullchain run runs/first/scenario.toml reproduce that run, bit for bit
  pullchain run --json | jq .total_cost""",
    "compare": """examples:
  pullchain compare                      opaque vs transparent on the default scenario
  pullchain compare beer-game --plot beer.png
  pullchain compare --replications 30 --set regime.delay=2 --set regime.participation=0.5
  pullchain compare --service 0.98       both regimes tuned to a 98 % consumer fill rate first
  pullchain compare --service off        at the firms' own safety stock, whatever the scenario says
  pullchain compare --regimes opaque,vmi  vendor-managed inventory against push
  pullchain compare my.toml --plugin my_rules.py   with a policy of your own
  pullchain compare --out cmp/ --json""",
    "frontier": """examples:
  pullchain frontier --plot frontier.png    fill rate against stock and cost, both regimes
  pullchain frontier --factors 0:2:0.5 --replications 20
  pullchain frontier beer-game              (an error: Sterman's rule takes no safety factor)
  pullchain frontier --json""",
    "scenarios": """examples:
  pullchain scenarios                    list the presets
  pullchain scenarios show beer-game > mine.toml   copy one to edit""",
}


class UsageError(Exception):
    """Bad command-line input that is not a scenario field."""


class Parser(argparse.ArgumentParser):
    """argparse, with usage errors reported as one line and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The command line, one subcommand per job."""
    parser = Parser(
        prog="pullchain",
        description="Push (opaque) against pull (transparent) supply chains, as agents on Mesa.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Start with `pullchain compare`. Each command has --help with examples.",
    )
    parser.add_argument("--version", action="version", version=f"pullchain {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    def plugin_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--plugin", action="append", default=[], metavar="MODULE_OR_FILE",
            help="load a plug-in first: a module name or a .py file (repeatable; "
            "docs/extending.md)",
        )  # fmt: skip

    def common(p: argparse.ArgumentParser) -> None:
        plugin_option(p)
        p.add_argument(
            "scenario", nargs="?", default="default",
            help="a preset name (see `pullchain scenarios`) or a .toml file (default: default)",
        )  # fmt: skip
        p.add_argument(
            "--steps", type=_positive_int("--steps"),
            help="periods per run (a warm-up that would not fit shrinks to a fifth of them)",
        )  # fmt: skip
        p.add_argument("--seed", type=_seed, help="random seed (an integer >= 0)")
        p.add_argument(
            "--set", action="append", default=[], metavar="KEY=VALUE",
            help="override a scenario field by its dotted path, e.g. network.lead_time=4",
        )  # fmt: skip
        p.add_argument("--out", type=Path, metavar="DIR", help="write results into this folder")
        p.add_argument("--json", action="store_true", help="print results as JSON, nothing else")
        p.add_argument("--quiet", action="store_true", help="no progress or messages on stderr")

    run = sub.add_parser(
        "run", help="run one scenario under one regime", epilog=EXAMPLES["run"],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run one model and print its summary metrics.",
    )  # fmt: skip
    common(run)
    run.add_argument("--regime", help="opaque, transparent, or another registered regime")

    cmp = sub.add_parser(
        "compare", help="opaque against transparent, paired on the same demand",
        epilog=EXAMPLES["compare"], formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run both regimes on the same consumer demand (common random numbers), "
        "R paired replications, and print each metric's change with its 95% confidence interval.",
    )  # fmt: skip
    common(cmp)
    cmp.add_argument(
        "--replications", type=_int_at_least("--replications", 2), help="paired replications"
    )
    cmp.add_argument("--plot", type=Path, metavar="FILE", help="write the comparison figure (PNG)")
    cmp.add_argument(
        "--service", type=_service, metavar="RATE",
        help="compare at equal service: tune each regime's chain-wide safety factor to this "
        "consumer fill rate first (e.g. 0.98; 'off' for none; default: the scenario's)",
    )  # fmt: skip
    cmp.add_argument(
        "--regimes", metavar="A,B",
        help="the two regimes to pair, baseline first (default: opaque and the scenario's "
        "shared regime, e.g. opaque,transparent or opaque,vmi)",
    )  # fmt: skip
    _engine_option(cmp)

    front = sub.add_parser(
        "frontier", help="the inventory-service frontier: fill rate against stock and cost",
        epilog=EXAMPLES["frontier"], formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run both regimes at a range of chain-wide safety factors z, on the same "
        "seeds, and print (and draw) each point's mean fill rate, stock and cost per period "
        "with 95% confidence intervals. The horizontal distance between the two curves is "
        "the stock that sharing information saves at the same service.",
    )  # fmt: skip
    common(front)
    front.add_argument(
        "--replications", type=_int_at_least("--replications", 2), help="paired replications"
    )
    front.add_argument(
        "--factors", metavar="Z", default="0:3:0.25",
        help="safety factors: a list 0,0.5,1 or a range START:STOP:STEP (default: 0:3:0.25)",
    )  # fmt: skip
    front.add_argument("--plot", type=Path, metavar="FILE", help="write the frontier figure")
    _engine_option(front)
    front.add_argument(
        "--service", type=_service, metavar="RATE",
        help="the fill rate at which to measure the distance (default: the scenario's service)",
    )  # fmt: skip

    scen = sub.add_parser(
        "scenarios", help="list the built-in scenarios, or show one as TOML",
        epilog=EXAMPLES["scenarios"], formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    scen.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    scen.add_argument("name", nargs="?", help="the preset to show")

    sweep = sub.add_parser(
        "sweep", help="a parameter sweep: every combination x regime x replication, resumable",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run a sweep file (docs/sweeps.md) into DIR: one Parquet row per run, written "
        "as chunks finish. Run it again on the same DIR to resume where it stopped.",
        epilog="""examples:
  pullchain sweep examples/sweep-lead-time.toml --out sweeps/lead-time
  pullchain sweep my-sweep.toml --out sw --workers 1        in this process
  pullchain sweep my-sweep.toml --out sw --scheduler tcp://10.0.0.5:8786   on a Dask cluster
  pullchain report sweeps/lead-time --out figs              paired differences and figures""",
    )  # fmt: skip
    sweep.add_argument("file", type=Path, help="the sweep file (.toml)")
    sweep.add_argument("--out", type=Path, required=True, metavar="DIR",
                       help="results folder (new, or one to resume)")  # fmt: skip
    sweep.add_argument("--workers", type=_positive_int("--workers"),
                       help="local processes (default: all cores; 1 runs in-process)")  # fmt: skip
    sweep.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on a Dask scheduler, e.g. tcp://host:8786")  # fmt: skip
    sweep.add_argument("--quiet", action="store_true", help="no progress or messages on stderr")
    plugin_option(sweep)
    _engine_option(sweep)

    report = sub.add_parser(
        "report", help="paired regime differences of a sweep, per cell, with figures",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="For each parameter cell of a sweep folder, the paired difference of each "
        "regime against the first (transparent - opaque) with its 95% CI.",
        epilog="""examples:
  pullchain report sweeps/lead-time
  pullchain report sweeps/lead-time --out figs   also draw the gain against each parameter
  pullchain report sweeps/lead-time --json""",
    )  # fmt: skip
    report.add_argument("dir", type=Path, metavar="DIR", help="a folder written by pullchain sweep")
    report.add_argument("--out", type=Path, metavar="FIGDIR", help="write the figures here")
    report.add_argument("--json", action="store_true", help="print results as JSON, nothing else")
    report.add_argument("--quiet", action="store_true", help="no messages on stderr")

    app = sub.add_parser(
        "app", help="the browser app: both chains side by side, sweep explorer, classroom game",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serve the browser app (docs/app.md) and print its address. "
        "Needs the app extra: pip install 'pullchain[app]'.",
        epilog="""examples:
  pullchain app                          the default scenario at http://localhost:8765/
  pullchain app beer-game --port 9000
  pullchain app my.toml --results sweeps  explore the sweep folders in ./sweeps
  pullchain app --host 0.0.0.0 --games class-games   a classroom game players join on the LAN""",
    )  # fmt: skip
    app.add_argument(
        "scenario", nargs="?", default="default",
        help="a preset name or a .toml file to open with (default: default)",
    )  # fmt: skip
    app.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default: 127.0.0.1, this machine)")  # fmt: skip
    app.add_argument("--port", type=_int_at_least("--port", 1, 65535), default=8765,
                     help="port, 1 to 65535 (default: 8765)")  # fmt: skip
    app.add_argument("--results", type=Path, default=Path("sweeps"), metavar="DIR",
                     help="sweep results the explorer may open (default: ./sweeps)")  # fmt: skip
    app.add_argument("--games", type=Path, metavar="DIR",
                     help="where classroom games are kept (default: "
                     "~/.local/share/pullchain/games)")  # fmt: skip
    plugin_option(app)

    params = sub.add_parser(
        "params", help="every declared parameter of every registered class, as Markdown",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Print the reference tables of docs/scenarios.md, written from the "
        "declarations: node and edge fields, regime knobs, and each registered policy, "
        "forecast, demand process, allocation rule, regime and agent class with its "
        "parameters, plug-ins' classes included.",
        epilog="""examples:
  pullchain params                       everything
  pullchain params policies              one table (firms, consumers, edges, kinds, regime,
                                         policies, forecasts, demands, allocations, regimes,
                                         agent-classes)
  pullchain params agent-classes --plugin examples/perishable/perishable.py""",
    )  # fmt: skip
    params.add_argument("table", nargs="?", help="one table (default: all)")
    plugin_option(params)
    return parser


def _engine_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engine", choices=["auto", "batch", "agents"], default="auto",
        help="batch: replications stepped together as arrays (fast); agents: one agent model "
        "per run; auto (default): batch where it covers the scenario. Same results.",
    )  # fmt: skip


def _int_at_least(flag: str, minimum: int, maximum: int = INT_MAX) -> Callable[[str], int]:
    expected = f"an integer >= {minimum}" + (f" and <= {maximum}" if maximum < INT_MAX else "")

    def parse(text: str) -> int:
        try:
            value = int(text) if len(text) <= 100 else None
        except ValueError:
            value = None
        if value is None or not minimum <= value <= maximum:
            shown = text if len(text) <= 40 else text[:30] + f"... ({len(text)} characters)"
            raise argparse.ArgumentTypeError(
                printable(f"{flag}: got {shown!r}, expected {expected}")
            )
        return value

    return parse


def _positive_int(flag: str) -> Callable[[str], int]:
    return _int_at_least(flag, 1)


_seed = _int_at_least("--seed", 0)


def _service(text: str) -> float | bool:
    """--service: a fill rate, or off (checked as the scenario's service field)."""
    if text.strip().lower() in ("off", "false", "none"):
        return False
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--service: got {text!r}, expected a fill rate between 0 and 1, or off"
        ) from None


# -- shared steps ---------------------------------------------------------------------------
def load_scenario(args: argparse.Namespace) -> Scenario:
    """The scenario with --set, --steps and --seed applied; checked as a whole."""
    scenario = Scenario.load(args.scenario)
    overrides: dict[str, Any] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError("--set", item, "KEY=VALUE, e.g. network.lead_time=4")
        overrides[key.strip()] = parse_value(value.strip())
    if args.seed is not None:
        overrides["seed"] = args.seed
    if getattr(args, "service", None) is not None:
        overrides["service"] = args.service
    if args.steps is not None:
        overrides["steps"] = args.steps
        if "warm_up" not in overrides and scenario.warm_up >= args.steps:
            overrides["warm_up"] = args.steps // 5  # a short run keeps most of its periods
    return scenario.with_overrides(overrides) if overrides else scenario


def check_out(out: Path | None) -> None:
    """Fail before any work if ``out`` cannot take the results."""
    if out is None:
        return
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError("--out", str(out), "a new or empty folder (this one holds files)")
    parent = out.resolve().parent
    if not parent.is_dir():
        raise ConfigError(
            "--out", str(out), f"a folder inside an existing one ({parent} is missing)"
        )


@contextlib.contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A temporary folder beside ``out`` that becomes ``out`` only if everything was written."""
    parent = out.resolve().parent
    while True:  # made with the user's umask (tempfile.mkdtemp would make it 0700)
        tmp = parent / f".{out.name}.{secrets.token_hex(6)}"
        try:
            tmp.mkdir()
            break
        except FileExistsError:
            continue
    try:
        yield tmp
        if out.exists():
            out.rmdir()  # empty, checked before
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def dump_json(data: Any) -> str:
    return json.dumps(_clean(data), indent=2, sort_keys=False)


def _say(args: argparse.Namespace, message: str) -> None:
    if not args.quiet and not getattr(args, "json", False):
        print(printable(message), file=sys.stderr)


def _progress(args: argparse.Namespace, total: int, what: str):
    """A progress bar on a terminal; nothing when piped, with --quiet or --json."""
    from tqdm import tqdm

    disable = args.quiet or not sys.stderr.isatty()
    return tqdm(total=total, desc=what, unit="run", disable=disable, file=sys.stderr, leave=False)


# -- commands --------------------------------------------------------------------------------
def used_plugins(args: argparse.Namespace, scenario: Scenario) -> list[plugin_loader.Plugin]:
    """The plug-ins a run used: the scenario's, --plugin's, and the installed ones."""
    return plugin_loader.merged(
        scenario.plugins, args.plugins_loaded, plugin_loader.load_installed()
    )


def cmd_run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args)
    regime = args.regime or scenario.data.get("regime", {}).get("name", "opaque")
    used = used_plugins(args, scenario)
    resolved = scenario.resolved(regime=regime, plugins=used)
    model = resolved.model()  # checks the regime name too
    check_out(args.out)
    with _progress(args, resolved.steps, f"{scenario.name} ({regime})") as bar:
        while model.running:
            model.step()
            bar.update(1)
    summary = {
        "scenario": scenario.name,
        "regime": regime,
        "seed": resolved.seed,
        "plugins": [p.record() for p in used],
        **model.summary(),
    }
    if args.out:
        with staged(args.out) as tmp:
            model.to_parquet(tmp / "timeseries.parquet")
            (tmp / "summary.json").write_text(dump_json(summary) + "\n")
            (tmp / "scenario.toml").write_text(resolved.to_toml())
        _say(args, f"wrote {args.out}/timeseries.parquet, summary.json, scenario.toml")
    if args.json:
        print(dump_json(summary))
    else:
        head = (f"{scenario.name}: {regime} regime, seed {resolved.seed}, {resolved.steps} "
                f"periods (metrics after a warm-up of {resolved.warm_up})")  # fmt: skip
        print(printable(head))
        width = max(len(k) for k in summary)
        for key, value in summary.items():
            if key in ("scenario", "regime", "seed", "plugins"):
                continue
            print(f"  {key:<{width}}  {_fmt(value):>12}")
    return 0


def comparison_rows(table: pd.DataFrame, regimes: Sequence[str]) -> list[dict[str, Any]]:
    """The comparison table as records, for JSON."""
    a, b = regimes
    return [
        {
            "metric": metric,
            a: row[a],
            b: row[b],
            "change": row["change"],
            "ci_low": row["ci_low"],
            "ci_high": row["ci_high"],
            "change_pct": row["change_pct"],
            "pairs": int(row["pairs"]),
        }
        for metric, row in table.iterrows()
    ]


SHOWN = [
    "total_cost", "holding_cost", "in_transit_cost", "backlog_cost", "lost_sale_cost",
    "order_cost", "capital_cost", "writeoff_cost", "revenue", "profit", "fill_rate",
    "on_hand_mean", "backlog_mean", "lost_sales", "written_off", "mean_wait",
    "recovery_time", "unserved_after_shock", "bullwhip_after_shock",
]  # fmt: skip


def print_comparison(comparison, table: pd.DataFrame) -> None:
    a, b = comparison.regimes
    quiet = {
        "order_cost", "capital_cost", "writeoff_cost", "written_off", "lost_sale_cost",
        "in_transit_cost",
    }  # fmt: skip
    metrics = [
        m for m in SHOWN if m in table.index and not (m in quiet and not table.loc[m, [a, b]].any())
    ]  # a cost nobody pays is left out
    tiers = [m for m in table.index if m.startswith("on_hand_tier")]  # where the stock sits
    if "on_hand_mean" in metrics:
        at = metrics.index("on_hand_mean") + 1
        metrics[at:at] = tiers
    metrics += [
        m for m in table.index if m.startswith(("bullwhip_tier", "felt_tier", "reaction_tier"))
    ]
    print(
        printable(f"{comparison.scenario.name}: ")
        + f"{a} vs {b}, {len(comparison.seeds)} paired replications "
        f"(same consumer demand in each pair), {comparison.scenario.steps} periods, "
        f"metrics after a warm-up of {comparison.scenario.warm_up}"
    )
    if comparison.tunings:
        print_tunings(comparison)
    head = (
        f"  {'metric':<16} {a:>12} {b:>12} {'change':>12}   {'95% CI of change':<25} {'change':>8}"
    )
    print(head)
    print("  " + "-" * (len(head) - 2))
    for m in metrics:
        row = table.loc[m]
        ci = f"[{_fmt(row.ci_low)}, {_fmt(row.ci_high)}]"
        pct = "n/a" if math.isnan(row.change_pct) else f"{row.change_pct:+.1f}%"
        flag = " *" if row.ci_low > 0 or row.ci_high < 0 else ""
        print(
            f"  {m:<20} {_fmt(row[a]):>12} {_fmt(row[b]):>12} {_fmt(row.change):>12}   "
            f"{ci:<25} {pct:>8}{flag}"
        )
    print("  * the 95% confidence interval of the paired change excludes zero")


def print_tunings(comparison) -> None:
    """The equal-service block: each regime's tuned safety factor and the fill rate reached."""
    a, b = comparison.regimes
    ta, tb = comparison.tunings[a], comparison.tunings[b]
    print(
        f"  at equal service: each regime's chain-wide safety factor z tuned until its mean "
        f"consumer fill rate is {ta.target:.3f} +- {ta.tolerance:g}"
    )
    print(f"  {'':<20} {a:>12} {b:>12}")
    print(f"  {'safety factor z':<20} {ta.safety_factor:>12.3f} {tb.safety_factor:>12.3f}")
    print(f"  {'fill rate reached':<20} {ta.fill_rate:>12.4f} {tb.fill_rate:>12.4f}")
    print(f"  {'model runs to tune':<20} {ta.runs:>12} {tb.runs:>12}")
    for t in (ta, tb):
        if not t.reached:
            print(f"  note: {t.regime} got no closer than {t.fill_rate:.4f} (the fill rate jumps)")


def regime_pair(text: str | None, scenario: Scenario) -> tuple[str, str]:
    """``--regimes A,B``: two distinct regimes, each checked (default: opaque and the
    scenario's shared regime)."""
    if text is None:
        pair = ("opaque", scenario.shared_regime)
    else:
        pair = tuple(part.strip() for part in text.split(","))
        if len(pair) != 2 or not all(pair) or pair[0] == pair[1]:
            raise ConfigError("--regimes", text, "two different regimes, e.g. opaque,vmi")
    for name in pair:
        try:
            scenario.regime(name)
        except ConfigError as err:
            raise ConfigError("--regimes", name, err.expected) from None
    return pair  # type: ignore[return-value]


def cmd_compare(args: argparse.Namespace) -> int:
    from .compare import compare

    scenario = load_scenario(args)
    replications = args.replications or scenario.replications
    used = used_plugins(args, scenario)
    resolved = scenario.resolved(replications=replications, plugins=used)
    regimes = regime_pair(args.regimes, resolved)
    for regime in regimes:
        resolved.model(regime=regime)  # check every node before any run
    check_out(args.out)
    if args.plot is not None:
        _check_plot_path(args.plot)
    total = None if resolved.service else 2 * replications  # tuning: as many as it takes
    with _progress(args, total, f"{scenario.name}: {' vs '.join(regimes)}") as bar:
        comparison = compare(
            resolved, replications=replications, regimes=regimes, progress=bar.update,
            engine=args.engine, say=lambda message: _say(args, message),
        )  # fmt: skip
    table = comparison.table()
    if args.plot is not None:
        from .plots import save_comparison_figure

        write_plot(args, lambda path: save_comparison_figure(comparison, path))
    result = {
        "scenario": scenario.name,
        "regimes": list(comparison.regimes),
        "replications": replications,
        "seed": resolved.seed,
        "seeds": comparison.seeds,
        "service": comparison.service,
        "tuning": {r: t.record() for r, t in comparison.tunings.items()} or None,
        "plugins": [p.record() for p in used],
        "metrics": comparison_rows(table, comparison.regimes),
    }
    if args.out:
        _write_out(args, resolved, comparison.runs, "comparison", result)
    if args.json:
        print(dump_json(result))
    else:
        print_comparison(comparison, table)
    return 0


def cmd_frontier(args: argparse.Namespace) -> int:
    from .frontier import frontier, parse_factors

    scenario = load_scenario(args)
    replications = args.replications or scenario.replications
    used = used_plugins(args, scenario)
    resolved = scenario.resolved(replications=replications, plugins=used)
    factors = parse_factors(args.factors)
    resolved.model(regime=resolved.shared_regime)  # check the regime before any run
    check_out(args.out)
    if args.plot is not None:
        _check_plot_path(args.plot)
    total = 2 * replications * len(factors)
    with _progress(args, total, f"{scenario.name}: frontier") as bar:
        result = frontier(
            resolved, factors=factors, replications=replications, progress=bar.update,
            engine=args.engine, say=lambda message: _say(args, message),
        )  # fmt: skip
    target = resolved.service
    table = result.table()
    if args.plot is not None:
        from .plots import save_frontier_figure

        write_plot(args, lambda path: save_frontier_figure(result, path, target))
    gaps = _frontier_gaps(result, target)
    record = {
        "scenario": scenario.name,
        "regimes": list(result.regimes),
        "replications": replications,
        "seed": resolved.seed,
        "seeds": result.seeds,
        "factors": list(result.factors),
        "service": target,
        "at_service": gaps,
        "plugins": [p.record() for p in used],
        "points": table.to_dict(orient="records"),
    }
    if args.out:
        _write_out(args, resolved, result.runs, "frontier", record)
    if args.json:
        print(dump_json(record))
        return 0
    print(
        f"{scenario.name}: inventory-service frontier, {' and '.join(result.regimes)}, "
        f"{replications} paired replications, {resolved.steps} periods, metrics after a "
        f"warm-up of {resolved.warm_up}; each row one chain-wide safety factor z (mean and "
        "95% CI over the replications)"
    )
    head = f"  {'regime':<12} {'z':>5}   {'fill rate':<17} {'stock on hand':<19} cost per period"
    print(head)
    print("  " + "-" * (len(head) - 2))
    for row in table.itertuples():
        print(
            f"  {row.regime:<12} {row.safety_factor:>5.2f}   "
            f"{row.fill_rate:.4f} +- {row.fill_rate_ci:.4f}   "
            f"{_fmt(row.on_hand_mean):>7} +- {_fmt(row.on_hand_mean_ci):<8}  "
            f"{_fmt(row.cost_per_period):>7} +- {_fmt(row.cost_per_period_ci)}"
        )
    if gaps:
        base, other = result.regimes[:2]
        for metric, label in (("on_hand_mean", "stock on hand"), ("cost_per_period", "cost")):
            g = gaps[metric]
            pct = "n/a" if math.isnan(g["change_pct"]) else f"{g['change_pct']:+.1f}%"
            print(
                f"  at a fill rate of {target:.1%}, {label}: {base} {_fmt(g[base])}, "
                f"{other} {_fmt(g[other])} ({_fmt(g['change'])}, {pct}), read off each curve"
            )
    return 0


def _write_out(args: argparse.Namespace, resolved: Any, runs: Any, name: str, record: dict) -> None:
    """``--out``: the runs, the result as ``name``.json and the scenario, staged (a folder
    appears whole or not at all)."""
    with staged(args.out) as tmp:
        runs.to_parquet(tmp / "runs.parquet", index=False)
        (tmp / f"{name}.json").write_text(dump_json(record) + "\n")
        (tmp / "scenario.toml").write_text(resolved.to_toml())
    _say(args, f"wrote {args.out}/runs.parquet, {name}.json, scenario.toml")


def _frontier_gaps(result, target: float | None) -> dict[str, dict[str, float]]:
    """Stock and cost of each regime at ``target``, interpolated along its frontier."""
    if target is None or len(result.regimes) < 2:
        return {}
    base, other = result.regimes[:2]
    out = {}
    for metric in ("on_hand_mean", "cost_per_period"):
        a, b = result.at_fill(base, target, metric), result.at_fill(other, target, metric)
        out[metric] = {
            base: a, other: b, "change": b - a,
            "change_pct": 100 * (b - a) / a if a else math.nan,
        }  # fmt: skip
    return out


def write_plot(args: argparse.Namespace, draw: Callable[[Path], Any]) -> None:
    """``draw`` the figure into a temporary file that becomes ``--plot`` only when whole."""
    tmp = args.plot.with_name(f".{args.plot.name}.tmp{args.plot.suffix}")
    try:
        draw(tmp)
        tmp.replace(args.plot)
    finally:
        tmp.unlink(missing_ok=True)
    _say(args, f"wrote {args.plot}")


def _check_plot_path(path: Path) -> None:
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise ConfigError("--plot", str(path), "a file name ending in .png, .svg or .pdf")
    if not path.resolve().parent.is_dir():
        raise ConfigError("--plot", str(path), "a file in an existing folder")


def cmd_scenarios(args: argparse.Namespace) -> int:
    if args.action == "show":
        if not args.name:
            raise UsageError(
                "scenarios show: name the preset to show, e.g. `scenarios show default`"
            )
        if args.name not in preset_names():
            raise ConfigError("scenario", args.name, "a preset: " + ", ".join(preset_names()))
        sys.stdout.write(preset_text(args.name))
        return 0
    for name in preset_names():
        description = tomllib.loads(preset_text(name)).get("description", "").strip()
        first = description.replace("\n", " ").split(". ")[0]
        print(f"{name:<12} {first}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from .sweep import load_sweep, run_sweep

    if args.workers is not None and args.scheduler:
        raise UsageError("sweep: --workers is for local processes; a --scheduler brings its own")
    sweep = load_sweep(args.file, plugins=args.plugins_loaded)
    outcome = run_sweep(
        sweep, args.out, workers=args.workers, scheduler=args.scheduler, engine=args.engine,
        progress=lambda total: _progress(args, total, f"sweep {sweep.name}"),
        say=lambda message: _say(args, message),
    )  # fmt: skip
    ok = outcome.total - outcome.failed if outcome.done_before == 0 else None
    print(
        printable(f"sweep {sweep.name}: {outcome.total} runs in {args.out}; ")
        + f"ran {outcome.ran} now"
        + (f" in {outcome.wall_s:.1f} s" if outcome.ran else "")
        + (f", {outcome.done_before} were done before" if outcome.done_before else "")
        + (f"; {outcome.failed} failed (see the status and error columns)" if outcome.failed
           else "" if ok is None else "; all ok")
    )  # fmt: skip
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report import report

    return report(args.dir, out=args.out, as_json=args.json, say=lambda m: _say(args, m))


def cmd_app(args: argparse.Namespace) -> int:
    from .app_server import serve

    specs = [p.spec for p in args.plugins_loaded]
    return serve(args.scenario, args.host, args.port, args.results, args.games, plugins=specs)


def cmd_params(args: argparse.Namespace) -> int:
    from .reference import SECTIONS, everything

    if args.table is None:
        sys.stdout.write(everything())
        return 0
    if args.table not in SECTIONS:
        raise ConfigError("params", args.table, "one of " + ", ".join(SECTIONS))
    print(SECTIONS[args.table]())
    return 0


COMMANDS = {
    "app": cmd_app,
    "run": cmd_run,
    "compare": cmd_compare,
    "frontier": cmd_frontier,
    "scenarios": cmd_scenarios,
    "sweep": cmd_sweep,
    "report": cmd_report,
    "params": cmd_params,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pullchain`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        # Installed plug-ins first, then --plugin's: before any scenario names their classes.
        args.plugins_loaded = []
        if hasattr(args, "plugin"):
            plugin_loader.load_installed()
            args.plugins_loaded = plugin_loader.load_all(args.plugin)
        return COMMANDS[args.command](args)
    except (ConfigError, UsageError) as err:
        return _user_error(str(err))
    except KeyboardInterrupt:
        print("pullchain: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as err:  # the machine's doing (a full disk, a read-only folder, ...)
        where = f"{err.filename}: " if err.filename else ""
        return _user_error(f"{where}{err.strerror or err} (a problem with files or the network)")
    except MemoryError:
        return _user_error("out of memory (make the network, the steps or the sweep smaller)")
    except SystemExit as err:  # code pullchain ran for the user (a plug-in) called sys.exit
        return _user_error(f"code run for this command called sys.exit({err.code!r})")
    except Exception as err:  # a bug in pullchain, not the user's input
        message = printable(f"pullchain: internal error: {type(err).__name__}: {err}")
        print(message, file=sys.stderr)
        if os.environ.get("PULLCHAIN_DEBUG"):
            traceback.print_exc()
        else:
            print(
                "  (set PULLCHAIN_DEBUG=1 to see the traceback, and please report it)",
                file=sys.stderr,
            )
        return 1


def _user_error(message: str) -> int:
    """Exit status 2 with one line: the problem is the input or the machine, not pullchain."""
    line = " ".join(printable(message).splitlines())
    print(f"pullchain: error: {line}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
