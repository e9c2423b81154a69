"""Parameter sweeps: many paired runs, on a laptop or a Dask cluster, with nothing lost.

The sweep runs every combination of the parameter values (a *cell*) under every
regime in every replication, and writes one row per run to Parquet as chunks of runs
finish (``pullchain.runs.store``). The parts, one job each:

- ``sweep_file``: parsing and checking the sweep file (``load_sweep``, ``parse_sweep``);
- ``plugins``: the plug-ins a sweep loads, sent to every worker with their text;
- ``execute``: one run to one results row (``execute``, ``run_chunk``, ``rerun``);
- ``backends``: in-process, local processes, or a Dask scheduler;
- this module: the driver (``run_sweep``): the folder, the manifest, resuming.

**Nothing lost, nothing twice.** Each run has a key (a hash of its parameters, regime
and replication); a folder that already holds results is resumed: finished runs are
skipped. A run that raises is recorded as ``failed`` with its error and the sweep goes
on; a worker process that dies has its chunk run again (a run that kills its worker
twice is recorded as failed).
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import math
import platform
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pullchain.network import limits
from pullchain.network.errors import ConfigError

from . import __version__, plugins, store
from .backends import Chunk, make_backend
from .batch import choose
from .execute import Task, rerun
from .folder_lock import FolderLock
from .sweep_file import Run, Sweep, load_sweep, parse_sweep

__all__ = ["Outcome", "load_sweep", "parse_sweep", "rerun", "run_sweep"]

STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}
"""Errors of writing files: the disk or the folder, not the sweep."""
PACKAGES = ("numpy", "mesa", "networkx", "pandas", "pyarrow", "dask", "distributed")


@dataclass
class Outcome:
    """What a sweep did: counts and times."""

    total: int
    done_before: int
    ran: int = 0
    failed: int = 0
    wall_s: float = 0.0
    run_s: float = 0.0
    first_s: float = math.nan  # wall time until the first chunk came back (start-up + 1 chunk)
    backend: str = ""
    out: Path | None = None

    @property
    def complete(self) -> bool:
        return self.done_before + self.ran >= self.total


def chunk_runs(
    runs: Iterable[Run], count: int, workers: int, engine: str = "agents", per_cell: int = 1
) -> Iterator[Chunk]:
    """The ``count`` runs in chunks of about an eighth of a worker's share: few round
    trips, yet an even finish. Chunks are made as they are asked for.

    For the batch engine (a chunk's runs of one cell run as one batch), about a quarter of
    a worker's share, of whole cells (``per_cell`` runs each) where cells are smaller than
    that, else pieces of one cell, so that every worker has a share of a big one.
    """
    if engine == "agents":
        size = max(1, count // (workers * 8))
        runs = iter(runs)
        while chunk := list(itertools.islice(runs, size)):
            yield Chunk(chunk)
        return
    size = max(1, math.ceil(count / (workers * 4)))
    if per_cell > size:  # a big cell in pieces of equal size
        size = math.ceil(per_cell / math.ceil(per_cell / size))
    current: list[Run] = []
    for run in runs:
        if current and run.cell != current[-1].cell:
            if len(current) + per_cell > size:  # the next cell would overflow the chunk
                yield Chunk(current)
                current = []
        elif len(current) >= size:  # the next piece of a big cell
            yield Chunk(current)
            current = []
        current.append(run)
    if current:
        yield Chunk(current)


def chunk_groups(runs: Iterable[Run]) -> Iterator[Chunk]:
    """One chunk per cell and regime, its replications in order: a tuned group is run,
    written and resumed whole. Runs come cell by cell, so a cell's chunks are made once
    its runs have all been seen."""
    groups: dict[str, list[Run]] = {}
    cell = None
    for run in runs:
        if run.cell != cell and groups:
            yield from (Chunk(group) for group in groups.values())
            groups = {}
        cell = run.cell
        groups.setdefault(run.regime, []).append(run)
    yield from (Chunk(group) for group in groups.values())


def check_out(out: Path) -> None:
    """``out`` can be a sweep folder: a folder (or nothing yet) in an existing folder."""
    if out.exists() and not out.is_dir():
        raise ConfigError("--out", str(out), "a folder (this is a file)")
    if not out.resolve().parent.is_dir():
        raise ConfigError("--out", str(out), f"a folder inside an existing one "
                          f"({out.resolve().parent} is missing)")  # fmt: skip


def prepare_folder(
    sweep: Sweep, out: Path, say: Callable[[str], None] = lambda message: None
) -> set[str]:
    """Check ``out`` can take this sweep; return the keys of runs already there (resume).

    On resume, every chunk is read whole: damaged ones (unreadable, foreign, written
    twice, links) are moved to ``quarantine/`` and their runs run again; runs whose
    worker died are run again, up to ``PULLCHAIN_MAX_RETRIES`` resumes each.
    """
    out = Path(out)
    check_out(out)
    if not out.exists() or not any(p for p in out.iterdir() if not p.name.startswith(".")):
        return set()
    if not (out / store.MANIFEST).is_file():
        raise ConfigError("--out", str(out), "a new or empty folder, or a sweep folder to resume "
                          f"(this one holds files but no {store.MANIFEST})")  # fmt: skip
    manifest = store.read_manifest(out)
    mine = sweep.spec()
    theirs = manifest["spec"]
    for key in mine:
        if mine[key] != theirs.get(key):
            raise ConfigError(
                "--out", str(out),
                f"a sweep folder of this sweep file, to resume it; its `{key}` differs from "
                f"the one in {out / store.MANIFEST} (use a new --out for a different sweep)",
            )  # fmt: skip
    if manifest.get("pullchain") != __version__:
        say(f"note: {out} was started with pullchain {manifest.get('pullchain')}, "
            f"this is {__version__}")  # fmt: skip
    store.clean_leftovers(out)
    found = store.scan(out, theirs)
    for item in found.damaged:
        moved = store.quarantine(out, [item])
        where = f"moved it to {moved[0]}" if moved else "it is gone now"
        say(f"note: {item}; {where}, its runs will run again")
    return found.done - _retry_died(out, found, say)


def _retry_died(out: Path, found: store.Scan, say: Callable[[str], None]) -> set[str]:
    """Take the runs whose worker died out of the folder, to run again; return their keys.

    Each is retried on at most PULLCHAIN_MAX_RETRIES resumes (``retries.json`` counts
    them); after that it stays failed, as a run that raised does.
    """
    if not found.died:
        return set()
    counts = store.read_retries(out)
    allowed = int(limits.RETRIES.value())
    retry = {key for key in found.died if counts.get(key, 0) < allowed}
    kept = len(found.died) - len(retry)
    if retry:
        store.write_json(
            out / store.RETRIES, {**counts, **{k: counts.get(k, 0) + 1 for k in retry}}
        )
        store.drop_runs(out, retry)
        say(f"note: running again {len(retry)} runs whose worker process died")
    if kept:
        say(f"note: {kept} runs killed their worker on each of {allowed} resumes; they stay "
            f"failed ({limits.RETRIES.env} allows more)")  # fmt: skip
    return retry


def manifest(sweep: Sweep) -> dict[str, Any]:
    """What a sweep folder records about how it was made."""
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = None
    return {
        "format": 2,
        "sweep_file": str(sweep.source) if sweep.source else None,
        "sweep_text": sweep.text,
        "spec": sweep.spec(),
        "plugins": [p.record() | {"text": p.text} for p in sweep.plugins],
        "installed": [p.record() for p in plugins.load_installed()],
        "runs": sweep.n_runs,
        "cells": sweep.n_cells,
        "pullchain": __version__,
        "packages": packages,
        "python": sys.version,
        "platform": platform.platform(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def run_sweep(
    sweep: Sweep,
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    backend: Any = None,
    progress: Callable[[int], Any] | None = None,
    say: Callable[[str], None] = lambda message: None,
    engine: str = "auto",
) -> Outcome:
    """Run (or resume) ``sweep`` into the folder ``out``.

    Everything is checked before the first run (the folder, the manifest of a sweep
    being resumed, the scheduler). ``progress(total)`` returns a context manager with
    ``update(n)`` (a tqdm bar), fed as runs finish. ``engine`` as in ``compare``: each
    cell's runs as one batch (``batch``, ``auto`` where the batch engine covers the cell)
    or one agent model per run (``agents``); the results are the same table.
    """
    out = Path(out)
    check_out(out)
    created = not out.exists()
    try:
        out.mkdir(exist_ok=True)
        with FolderLock(out, say):
            return _run_locked(sweep, out, workers, scheduler, backend, progress, say, engine)
    except OSError as err:  # a full disk, a read-only folder: the machine's, not a bug
        if err.filename is None and err.errno not in STORAGE_ERRNOS:
            raise
        raise ConfigError(
            "--out", str(out),
            f"a folder pullchain can write in ({err.strerror or err}: {err.filename or out}); "
            "every run finished so far is kept, and the same command resumes",
        ) from None  # fmt: skip
    finally:
        if created:  # refused or failed before writing anything: leave nothing behind
            with contextlib.suppress(OSError):
                out.rmdir()


def _run_locked(
    sweep: Sweep,
    out: Path,
    workers: int | None,
    scheduler: str | None,
    backend: Any,
    progress: Callable[[int], Any] | None,
    say: Callable[[str], None],
    engine: str,
) -> Outcome:
    done = prepare_folder(sweep, out, say)
    outcome = Outcome(total=sweep.n_runs, done_before=len(done), out=out)
    n_todo = outcome.total - outcome.done_before
    if n_todo <= 0:
        return outcome
    todo = (r for r in sweep.runs() if r.key not in done)
    # Checked before any run (a cell may still fall back to the agent model under auto).
    chosen = choose(engine, sweep.base, sweep.regimes, say)
    backend = backend or make_backend(workers, scheduler, chosen)
    if hasattr(backend, "say"):
        backend.say = say
    try:
        outcome.backend = backend.describe()
        # The manifest first: a folder with anything in it has one, so it can be resumed.
        if not (out / store.MANIFEST).exists():
            store.write_json(out / store.MANIFEST, manifest(sweep))
        if not (out / store.SCENARIO).exists():
            store.atomic_write_bytes(out / store.SCENARIO, sweep.base.to_toml().encode("utf-8"))
        (out / store.RESULTS).mkdir(exist_ok=True)
        if sweep.record_every:
            (out / store.TIMESERIES).mkdir(exist_ok=True)
        say(f"sweep {sweep.name}: {sweep.describe()}"
            + (f", {outcome.done_before} already done" if outcome.done_before else "")
            + f"; running {n_todo} {outcome.backend}")  # fmt: skip
        tuned = sweep.tunes  # then a chunk is one cell and regime: tuned, written, resumed whole
        per_cell = len(sweep.regimes) * sweep.replications
        chunks = (
            chunk_groups(todo)
            if tuned
            else chunk_runs(todo, n_todo, backend.workers, chosen, per_cell)
        )
        types_ = sweep.param_types()
        settings = limits.current()  # the limits the user raised travel to every worker

        def make_task(some: list[Run]) -> Task:
            return Task(sweep.base, some, sweep.record_every, sweep.plugins, settings, engine)

        start = time.perf_counter()
        bar = progress(n_todo) if progress else contextlib.nullcontext()
        with bar as b:
            for chunk, result in backend.map(make_task, chunks):
                rows = [row for row, _ in result]
                series = [s for _, s in result if s]
                if math.isnan(outcome.first_s):
                    outcome.first_s = time.perf_counter() - start
                store.write_chunk(out, chunk.name, rows, types_, series)
                outcome.ran += len(rows)
                outcome.failed += sum(row["status"] != "ok" for row in rows)
                outcome.run_s += sum(r["elapsed_s"] for r in rows if not math.isnan(r["elapsed_s"]))
                if b is not None:
                    b.update(len(rows))
        outcome.wall_s = time.perf_counter() - start
    finally:
        backend.close()
    return outcome
