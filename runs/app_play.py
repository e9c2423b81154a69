"""Play for the browser app: one thread per session that advances the chains until told
to stop. No Solara here: the app hands it what to do each tick.

Why a thread owned by the session, not Solara's ``use_task`` keyed on a ``playing``
flag (what the app did first, and why Play froze): there the loop lived as long as
it saw ``playing`` true, and a new loop started only when a render ran the task's
effect with changed dependencies. A Pause and a Play that reach the server close
together (a double click; any two clicks while the play thread is busy drawing, so
that Solara draws both changes in one render) leave ``playing`` true in that render:
no new loop starts, while the old one has seen "false" and ended. The page then
shows Pause over a chain that never moves, and Step stays disabled. The opposite
order leaves two loops stepping at once, whose state changes keep a render from
ever finishing ("Too many renders triggered"), and the page is replaced by a
traceback. ``Player`` keeps the wish to play and the thread that serves it under one
lock, so there is exactly one thread while playing is wanted and none otherwise,
whatever order the clicks come in.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

MIN_PAUSE = 0.03
"""Seconds between two ticks at the least, so a click's render always gets its turn."""


class Player:
    """Calls ``tick()`` over and over in one background thread while playing.

    Args:
        tick: advances the session by one tick and draws it; returns False when there
            is nothing left to play (the end of the run).
        interval: seconds a tick should take (the speed), read before every tick.
        on_stop: called from the thread when it stops by itself (the end of the run,
            ``keep_going`` false, or ``tick`` raising), so the page can say so.
        keep_going: checked before every tick; False stops playing (the app passes
            "a browser page of this session is still connected": a closed laptop or a
            lost connection must not leave a chain playing on the server for hours).
    """

    def __init__(
        self,
        tick: Callable[[], bool],
        interval: Callable[[], float],
        on_stop: Callable[[BaseException | None], None] = lambda error: None,
        keep_going: Callable[[], bool] = lambda: True,
    ) -> None:
        self._tick = tick
        self._interval = interval
        self._on_stop = on_stop
        self._keep_going = keep_going
        self._lock = threading.Lock()
        self._wanted = False
        self._thread: threading.Thread | None = None

    @property
    def playing(self) -> bool:
        """Whether playing is wanted (and so a thread serves it)."""
        with self._lock:
            return self._wanted

    def play(self) -> None:
        """Start playing; does nothing more if already playing."""
        with self._lock:
            self._wanted = True
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="pullchain-play", daemon=True
                )
                self._thread.start()

    def pause(self) -> None:
        """Stop after the tick under way (at most one more tick is drawn)."""
        with self._lock:
            self._wanted = False

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end (tests, and closing a session)."""
        with self._lock:
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _still_wanted(self) -> bool:
        with self._lock:
            if not self._wanted:
                self._thread = None  # decided under the lock: play() starts a new one
            return self._wanted

    def _stop(self, error: BaseException | None) -> None:
        with self._lock:
            self._wanted = False
            self._thread = None
        self._on_stop(error)

    def _loop(self) -> None:
        try:
            while self._still_wanted():
                if not self._keep_going():
                    self._stop(None)
                    return
                start = time.monotonic()
                if not self._tick():
                    self._stop(None)
                    return
                took = time.monotonic() - start
                time.sleep(max(self._interval() - took, MIN_PAUSE))
        except Exception as err:  # shown in the page by on_stop; the thread ends cleanly
            self._stop(err)
