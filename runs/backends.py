"""Where a sweep's chunks run: in this process, local worker processes, or a Dask cluster.

Each backend maps chunks of runs to their results. A worker that dies has its chunk
run again; a run that kills its worker twice is recorded as failed.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import multiprocessing
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from pullchain.network.errors import ConfigError

from . import __version__
from .execute import Task, died, run_chunk
from .sweep_file import Run


@dataclass
class Chunk:
    runs: list[Run]
    losses: int = 0

    @property
    def name(self) -> str:
        digest = hashlib.sha256("".join(r.key for r in self.runs).encode()).hexdigest()[:16]
        return f"part-{self.runs[0].cell:05d}-{digest}"


Result = list[tuple[dict[str, Any], dict[str, Any] | None]]


class InProcess:
    """Runs chunks one after another in this process (``--workers 1``)."""

    workers = 1

    def describe(self) -> str:
        """Where the runs go, as the sweep's first line says it: 'running 8 <this>'."""
        return "in this process"

    def map(self, make_task: Callable[[list[Run]], Task], chunks: Iterable[Chunk]):
        for chunk in chunks:
            yield chunk, run_chunk(make_task(chunk.runs))

    def close(self) -> None:
        pass


# What a worker imports before its first run: the engine that will run it (Mesa, which
# the agent model needs, takes a second or more to import; the batch engine does not).
PRELOAD = {
    "agents": ["pullchain.runs.execute", "pullchain.runs.model"],
    "batch": ["pullchain.runs.execute", "pullchain.runs.batch_model"],
}


def _init_worker(driver: int, modules: tuple[str, ...] = tuple(PRELOAD["agents"])) -> None:
    """In a worker: import the engine now (not in the first run's time), and exit when the
    driver is gone (it was killed, not shut down: no one would read the results).

    Under forkserver a worker's parent is the fork server, which lives as long as any
    of its workers does, so the driver is watched by its process id.
    """
    import importlib

    for name in modules:
        importlib.import_module(name)

    parent = os.getppid()

    def gone() -> bool:
        if os.getppid() != parent:
            return True
        try:
            os.kill(driver, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # alive, someone else's: the id was reused
            return True
        return False

    def watch() -> None:
        while not gone():
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="pullchain-watch-driver").start()


class LocalProcesses:
    """Chunks in spawned worker processes on this machine.

    A worker that dies (killed, out of memory) breaks the pool: the chunks it was
    running are submitted again to a new pool; a chunk lost twice is run one run at a
    time in a pool of its own, and a run that kills that worker is recorded as failed.
    """

    def __init__(self, workers: int, engine: str = "agents") -> None:
        self.workers = workers
        self._preload = tuple(PRELOAD.get(engine, PRELOAD["agents"]))
        self.say: Callable[[str], None] = lambda message: None
        # A fork server that has imported pullchain forks workers in milliseconds, also
        # when a pool is rebuilt after a worker died; where there is none, spawn.
        if "forkserver" in multiprocessing.get_all_start_methods():
            self._ctx = multiprocessing.get_context("forkserver")
            self._ctx.set_forkserver_preload(list(self._preload))
        else:
            self._ctx = multiprocessing.get_context("spawn")

    def describe(self) -> str:
        return f"on {self.workers} local worker processes"

    def _pool(self, n: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=n,
            mp_context=self._ctx,
            initializer=_init_worker,
            initargs=(os.getpid(), self._preload),
        )

    def map(self, make_task: Callable[[list[Run]], Task], chunks: Iterable[Chunk]):
        """Run ``chunks`` (an iterator: a sweep's runs are never all made at once), a few
        per worker in flight at a time; yield each (chunk, result) as it finishes."""
        fresh = iter(chunks)
        lost: list[Chunk] = []
        while True:
            for chunk in [c for c in lost if c.losses >= 2]:
                yield from self._isolated(make_task, chunk)
            source = itertools.chain([c for c in lost if c.losses < 2], fresh)
            lost = []
            yield from self._pool_round(make_task, source, lost)
            if not lost:
                return
            self.say(f"a worker process died; running the {len(lost)} chunks it took "
                     "down with it again")  # fmt: skip

    def _pool_round(self, make_task, source: Iterator[Chunk], lost: list[Chunk]):
        """One pool, fed from ``source`` until it is empty or the pool breaks (a worker
        died); chunks that were running then go to ``lost``."""
        pool = self._pool(self.workers)
        futures: dict[Any, Chunk] = {}
        broken = False

        def fill() -> None:
            nonlocal broken
            while not broken and len(futures) < 2 * self.workers:
                chunk = next(source, None)
                if chunk is None:
                    return
                try:
                    futures[pool.submit(run_chunk, make_task(chunk.runs))] = chunk
                except BrokenProcessPool:
                    lost.append(chunk)  # not this chunk's fault: no loss counted
                    broken = True

        try:
            fill()
            while futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in done:
                    chunk = futures.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        chunk.losses += 1
                        lost.append(chunk)
                        broken = True
                        continue
                    yield chunk, result
                fill()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _isolated(self, make_task: Callable[[list[Run]], Task], chunk: Chunk):
        """One run at a time, each in a fresh single-worker pool if the last one died."""
        pool = self._pool(1)
        try:
            for run in chunk.runs:
                single = Chunk([run])
                try:
                    result = pool.submit(run_chunk, make_task([run])).result()
                except BrokenProcessPool:
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = self._pool(1)
                    result = [died(run)]
                yield single, result
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        pass


class DaskCluster:
    """Chunks as tasks on a Dask distributed scheduler."""

    def __init__(self, address: str, timeout: float = 10.0) -> None:
        self.address = address
        self.client = connect(address, timeout)
        self.workers = max(1, sum(self.client.nthreads().values()))

    def describe(self) -> str:
        return f"on Dask scheduler {self.address} ({self.workers} worker threads)"

    def map(self, make_task: Callable[[list[Run]], Task], chunks: Iterable[Chunk]):
        """Run ``chunks`` as tasks, a few per worker thread in flight at a time."""
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        source = iter(chunks)
        futures: dict[Any, Chunk] = {}
        running = as_completed(loop=self.client.loop)

        def submit(chunk: Chunk) -> None:
            future = self.client.submit(
                run_chunk, make_task(chunk.runs), pure=False,
                key=f"pullchain-sweep-{chunk.name}-{chunk.losses}-{time.monotonic_ns()}",
            )  # fmt: skip
            futures[future] = chunk
            running.add(future)

        for chunk in itertools.islice(source, 2 * self.workers):
            submit(chunk)
        for future in running:
            chunk = futures.pop(future)
            try:
                result = future.result()
            except KilledWorker:
                if len(chunk.runs) == 1:
                    yield chunk, [died(chunk.runs[0])]
                else:  # run its runs one by one, to find the one that kills workers
                    for run in chunk.runs:
                        submit(Chunk([run], chunk.losses + 1))
                continue
            finally:
                future.release()
            yield chunk, result
            following = next(source, None)
            if following is not None:
                submit(following)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()


def connect(address: str, timeout: float = 10.0):
    """A Dask client for ``address``, within ``timeout`` seconds of wall-clock time from
    the first byte to the last; a ConfigError naming --scheduler if it cannot be had."""
    _check_address(address)
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError(
            "--scheduler", address,
            "Dask distributed installed (pip install 'pullchain[sweep]')",
        ) from None  # fmt: skip
    deadline = time.monotonic() + timeout
    _handshake(address, timeout)
    client = None
    try:
        left = max(deadline - time.monotonic(), 1.0)
        client = Client(address, timeout=left, set_as_default=False)
        _check_workers(client, address)
    except BaseException as err:
        if client is not None:
            with contextlib.suppress(Exception):
                client.close(timeout=2)
        if isinstance(err, ConfigError | KeyboardInterrupt):
            raise
        raise ConfigError(
            "--scheduler", address,
            f"a Dask scheduler that answers within {timeout:g} s ({type(err).__name__}: {err})",
        ) from None  # fmt: skip
    return client


def _check_address(address: str) -> None:
    """A scheduler address Dask can dial: ``tcp://host:port`` (or tls://), port a number."""
    expected = "a scheduler address such as tcp://host:8786"
    scheme, sep, location = address.partition("://")
    if not sep or not scheme or not location:
        raise ConfigError("--scheduler", address, expected)
    if scheme in ("tcp", "tls"):
        host, colon, port = location.rpartition(":")
        if not colon or not host.strip("[]") or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError("--scheduler", address, expected + " (a port from 1 to 65535)")


def _handshake(address: str, timeout: float) -> None:
    """Reach the scheduler and exchange Dask's greeting, all within ``timeout``.

    ``Client(timeout=...)`` bounds only the TCP connection: a port that accepts and
    never answers held it for ever. Dask's own ``connect`` under asyncio's ``wait_for``
    is bounded from the first byte to the last; it runs in a thread of its own, so a
    notebook's running event loop is no obstacle.
    """
    host, _, port = address.partition("://")[2].rpartition(":")
    if address.startswith("tcp://"):
        try:  # a refused connection fails now, not after Dask's retries until the timeout
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
        except OSError as err:
            expected = f"a reachable Dask scheduler ({err.strerror or err})"
            raise ConfigError("--scheduler", address, expected) from None
    failure: list[BaseException] = []
    thread = threading.Thread(
        target=_greet, args=(address, timeout, failure), daemon=True, name="pullchain-connect"
    )
    thread.start()
    thread.join(timeout + 5)  # wait_for ends it within the timeout; this is a backstop
    if thread.is_alive() or (failure and isinstance(failure[0], TimeoutError)):
        raise ConfigError(
            "--scheduler", address, f"a Dask scheduler that answers within {timeout:g} s"
        )
    if failure:
        err = failure[0]
        reason = getattr(err, "strerror", None) or f"{type(err).__name__}: {err}"
        raise ConfigError("--scheduler", address, f"a reachable Dask scheduler ({reason})")


def _greet(address: str, timeout: float, failure: list[BaseException]) -> None:
    import asyncio

    from distributed.comm import connect as dask_connect

    async def greet() -> None:
        comm = await asyncio.wait_for(dask_connect(address, timeout=timeout), timeout)
        await comm.close()

    try:
        asyncio.run(greet())
    except BaseException as err:  # handed to the caller's thread
        failure.append(err)


def _check_workers(client, address: str) -> None:
    ours = {"pullchain": __version__}
    theirs = client.run(_worker_versions)
    if not theirs:
        raise ConfigError("--scheduler", address, "a scheduler with at least one worker")
    for worker, versions in theirs.items():
        if versions != ours:
            raise ConfigError(
                "--scheduler", address,
                f"workers running pullchain {__version__} "
                f"(worker {worker} has {versions.get('pullchain')})",
            )  # fmt: skip


def _worker_versions() -> dict[str, str]:
    from pullchain.runs import __version__ as v

    return {"pullchain": v}


def make_backend(workers: int | None = None, scheduler: str | None = None, engine="agents"):
    """The backend for these options (connecting to a scheduler checks it answers);
    ``engine``: what local workers import before their first run."""
    if scheduler:
        return DaskCluster(scheduler)
    n = workers or _cpu_count()
    return InProcess() if n == 1 else LocalProcesses(n, engine)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
