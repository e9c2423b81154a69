"""Limits: what pullchain refuses before it allocates or starts anything.

A typo such as ``lead_time = 1000000000`` or ``--steps 1000000000000`` must not take a
shared machine down: each limit below is checked before the memory or the runs it
bounds exist, and its error names the value, the limit, and how to raise it. Every
limit is read from an environment variable when that is set, so a user who means it
raises it on purpose (``PULLCHAIN_MAX_RUNS=5000000 pullchain sweep ...``); sweeps take
the driver's limits to their workers, so every backend checks the same numbers.

The check functions are small and know nothing of scenarios or schemas: each takes
the field to name and the value to check.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import ConfigError


@dataclass(frozen=True)
class Limit:
    """One limit: its environment variable, its default and what it counts."""

    env: str
    default: float
    what: str  # what is counted, as the error message words it
    unit: str = ""  # "bytes": shown as KiB, MiB, GiB

    def value(self) -> float:
        """The limit in force: the environment variable if set, else the default."""
        text = _settings.get().get(self.env, os.environ.get(self.env))
        if text is None or not text.strip():
            return self.default
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (value > 0 and math.isfinite(value)):
            raise ConfigError(self.env, text, f"a positive number: the limit on {self.what}")
        return value

    def check(self, field: str, amount: float, *, shown: Any = None) -> None:
        """Raise LimitError naming ``field`` if ``amount`` exceeds the limit.

        ``shown`` is the value the user gave, when the amount is derived from it (the
        bytes a number of steps would record).
        """
        if amount > self.value():
            # A number the amount is derived from (steps, for bytes) is followed by the
            # amount; a description (of a file, of a sweep) says it already.
            derived = shown is not None and not isinstance(shown, str)
            raise LimitError(
                field, amount if shown is None else shown, self, amount, derived=derived
            )

    def format(self, amount: float) -> str:
        """An amount in this limit's unit, for messages (amounts may be huge integers)."""
        if self.unit == "bytes" and amount < 2**60:
            for power, name in ((50, "PiB"), (40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")):
                if amount >= 2**power:
                    return f"{amount / 2**power:.3g} {name}"
        if amount < 1e15 and amount == int(amount):
            return f"{int(amount):,}" + (" bytes" if self.unit == "bytes" else "")
        try:
            return f"{float(amount):.3g}"
        except OverflowError:  # an integer beyond any float: give its order of magnitude
            return f"about 1e{math.floor(math.log10(amount))}"


class LimitError(ConfigError):
    """A value beyond one of pullchain's limits; the message says how to raise it."""

    def __init__(
        self, field: str, value: Any, limit: Limit, amount: float, *, derived: bool = False
    ) -> None:
        self.limit = limit
        self.amount = amount
        needs = f", and this needs {limit.format(amount)}" if derived else ""
        if amount < 1e18:
            setting = f"{limit.env}={_round_up(amount)}"
            how = f"to go beyond it on purpose, set {setting} in the environment"
        else:
            how = f"this is far beyond any machine, whatever {limit.env} says"
        expected = f"at most {limit.format(limit.value())} {limit.what}{needs} ({how})"
        super().__init__(field, value, expected)


RUNS = Limit("PULLCHAIN_MAX_RUNS", 1_000_000, "runs in one sweep or comparison")
VALUES = Limit("PULLCHAIN_MAX_VALUES", 100_000, "values of one swept parameter")
AGENTS = Limit("PULLCHAIN_MAX_AGENTS", 100_000, "agents (nodes) in one network")
DELAY = Limit(
    "PULLCHAIN_MAX_DELAY",
    10_000,
    "periods of delay (lead time, order delay, production lead time, information delay)",
)
WINDOW = Limit(
    "PULLCHAIN_MAX_WINDOW", 10_000, "periods in a window (a forecast's, or a safety stock's errors)"
)
RECORD_BYTES = Limit(
    "PULLCHAIN_MAX_RECORD_BYTES", 512 * 2**20, "recorded by one run (8 bytes a value)", "bytes"
)
INPUT_BYTES = Limit("PULLCHAIN_MAX_INPUT_BYTES", 64 * 2**20, "in one input file or text", "bytes")
DEPTH = Limit(
    "PULLCHAIN_MAX_DEPTH", 64, "levels of nesting in an input (tables, arrays, dotted-key parts)"
)
QUANTITY = Limit("PULLCHAIN_MAX_QUANTITY", 1e12, "in magnitude for a number in an input")
RETRIES = Limit(
    "PULLCHAIN_MAX_RETRIES", 3, "retries, on resuming a sweep, of a run whose worker died"
)
BATCH_BYTES = Limit(
    "PULLCHAIN_MAX_BATCH_BYTES",
    512 * 2**20,
    "held by one batch of replications stepped together (a bigger batch is split)",
    "bytes",
)

ALL: tuple[Limit, ...] = (
    RUNS, VALUES, AGENTS, DELAY, WINDOW, RECORD_BYTES, INPUT_BYTES, DEPTH, QUANTITY, RETRIES,
    BATCH_BYTES,
)  # fmt: skip
"""Every limit, in the order docs/scenarios.md lists them."""

_settings: ContextVar[Mapping[str, str]] = ContextVar(
    "pullchain_limits", default=MappingProxyType({})
)


def current() -> dict[str, str]:
    """The limits set in the environment (or by ``applied``), as environment settings.

    A sweep sends these with its tasks, so a worker on another machine checks the
    limits the user raised where the sweep was started.
    """
    out = {}
    for limit in ALL:
        text = _settings.get().get(limit.env, os.environ.get(limit.env))
        if text and text.strip():
            out[limit.env] = text
    return out


@contextmanager
def applied(settings: Mapping[str, str]) -> Iterator[None]:
    """Check against ``settings`` (from ``current()``) while the block runs, in this thread."""
    token = _settings.set({**_settings.get(), **settings})
    try:
        yield
    finally:
        _settings.reset(token)


# -- the checks ------------------------------------------------------------------------------
def check_runs(field: str, runs: int, shown: Any = None) -> None:
    """A sweep or comparison of ``runs`` runs, counted before any is built."""
    RUNS.check(field, runs, shown=shown)


def check_values(field: str, count: int) -> None:
    """A swept parameter with ``count`` values, counted before they are listed."""
    VALUES.check(field, count)


def check_agents(field: str, value: Any, agents: int) -> None:
    """A network of ``agents`` nodes, counted before it is built (``value`` is shown)."""
    AGENTS.check(field, agents, shown=value)


def check_delay(field: str, periods: int) -> None:
    """A lead time, order delay, production lead time or information delay."""
    DELAY.check(field, periods)


def check_window(field: str, periods: int) -> None:
    """A forecast's or a safety stock's window, which it keeps in memory."""
    WINDOW.check(field, periods)


def check_recording(field: str, value: Any, periods: int, values_per_period: int) -> None:
    """A run that records ``values_per_period`` numbers (8 bytes each) for ``periods``."""
    RECORD_BYTES.check(field, 8 * periods * values_per_period, shown=value)


def batch_size(field: str, runs: int, bytes_per_replication: int) -> int:
    """How many replications one batch may hold: as many as fit in the batch limit (a
    bigger batch is split); LimitError naming ``field`` if not even one does."""
    BATCH_BYTES.check(field, bytes_per_replication, shown=f"{runs:,} replications")
    return max(1, min(runs, int(BATCH_BYTES.value() // max(bytes_per_replication, 1))))


def check_quantity(field: str, value: float) -> None:
    """A number from an input, within the limit in magnitude (``1e308`` units of stock
    would make every metric infinite)."""
    if abs(value) > QUANTITY.value():
        raise LimitError(field, value, QUANTITY, abs(value))


def check_divisor(field: str, value: float) -> None:
    """A size that orders are divided by (a batch, a reorder quantity, a range's step):
    0 or at least one over the quantity limit, so a quotient stays finite."""
    smallest = 1 / QUANTITY.value()
    if 0 < abs(value) < smallest:
        raise ConfigError(
            field, value, f"0 or a number of at least {smallest:g} in magnitude (one over "
            f"pullchain's limit {QUANTITY.env})",
        )  # fmt: skip


def check_input_file(field: str, path: Path) -> None:
    """An input file's size, before it is read."""
    try:
        size = path.stat().st_size
    except OSError:
        return  # the reader names the missing or unreadable file
    INPUT_BYTES.check(field, size, shown=f"{path} ({INPUT_BYTES.format(size)})")


def check_text(field: str, text: str) -> None:
    """TOML or JSON text, before it is parsed: its size and its nesting depth."""
    INPUT_BYTES.check(field, len(text), shown=f"text of {len(text):,} characters")
    depth = text_depth(text)
    DEPTH.check(field, depth, shown=f"text nested {depth} deep")


def check_depth(field: str, value: Any) -> None:
    """A value built in Python (tables in tables), before it is copied or walked."""
    depth = value_depth(value, DEPTH.value())
    DEPTH.check(field, depth, shown=f"a value nested {depth} deep")


def check_parts(field: str, parts: int) -> None:
    """A dotted field path of ``parts`` parts (each one a table level)."""
    DEPTH.check(field, parts, shown=f"a path of {parts} parts")


# -- measuring nesting without recursion -----------------------------------------------------
def value_depth(value: Any, stop: float = math.inf) -> int:
    """Levels of dicts and lists in ``value`` (a scalar is 0); stops counting past ``stop``."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth > stop:
            return depth
        stack.extend((child, depth + 1) for child in children)
    return deepest


_TOKENS = re.compile(r"[\"'#\[\]{},=\n.]")


def text_depth(text: str) -> int:
    """An upper bound on the nesting depth of TOML or JSON ``text``, found in one pass.

    Counts open brackets and braces outside strings and comments, plus the dots of
    the key being written (``a.b.c = 1`` nests three tables): a TOML parser recurses,
    or works quadratically, on both. Strings ("..", '..', and the triple-quoted forms)
    and # comments are skipped, so a bracket inside text is not counted.
    """
    depth = dots = deepest = 0
    i = 0
    search = _TOKENS.search
    while (match := search(text, i)) is not None:
        ch = match.group()
        i = match.end()
        if ch in "\"'":
            i = _skip_string(text, match.start())
            continue
        if ch == "#":
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        if ch in "[{":
            depth += 1
            dots = 0
        elif ch in "]}":
            depth = max(depth - 1, 0)
            dots = 0
        elif ch == ".":
            dots += 1
        else:  # , = or a new line: the next key starts
            dots = 0
        deepest = max(deepest, depth + dots)
    return deepest


def _skip_string(text: str, i: int) -> int:
    """The index after the string that starts at ``i`` (unclosed: the end of its line)."""
    quote = text[i]
    triple = text.startswith(quote * 3, i)
    close = quote * 3 if triple else quote
    j = i + len(close)
    while True:
        k = text.find(close, j)
        if not triple:
            line_end = text.find("\n", j, len(text) if k < 0 else k)
            if line_end >= 0:
                return line_end  # a one-line string ends at the end of its line
        if k < 0:
            return len(text)
        if quote == '"':  # a basic string: a backslash escapes the quote after it
            run = k
            while run > j and text[run - 1] == "\\":
                run -= 1
            if (k - run) % 2:
                j = k + 1
                continue
        return k + len(close)


def _round_up(value: float) -> str:
    """A round number at least ``value``: the setting to suggest."""
    if value <= 10:
        return str(math.ceil(value))
    exponent = math.floor(math.log10(value))
    lead = math.ceil(round(value / 10**exponent, 9))
    return str(lead * 10**exponent) if exponent < 15 else f"{lead}e{exponent}"
