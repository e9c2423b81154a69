"""Play's thread (runs/app_play.py): one thread while playing, none otherwise, whatever
order Play and Pause come in. No Solara needed."""

from __future__ import annotations

import threading
import time

from pullchain.runs import app_play
from pullchain.runs.app_play import Player


class Counter:
    """A tick that counts, and records how many threads were inside it at once."""

    def __init__(self, stop_at: int = 10**9, hold: float = 0.0) -> None:
        self.n = 0
        self.inside = 0
        self.most_inside = 0
        self.stop_at = stop_at
        self.hold = hold
        self.lock = threading.Lock()

    def __call__(self) -> bool:
        with self.lock:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        time.sleep(self.hold)
        with self.lock:
            self.inside -= 1
            self.n += 1
            return self.n < self.stop_at


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def playing_threads() -> int:
    return sum(t.name == "pullchain-play" and t.is_alive() for t in threading.enumerate())


def test_pause_and_play_in_any_order_leave_one_thread(monkeypatch):
    monkeypatch.setattr(app_play, "MIN_PAUSE", 0.001)
    tick = Counter(hold=0.002)
    player = Player(tick, interval=lambda: 0.0)
    for _ in range(200):  # the clicks that froze the old loop: Pause and Play together
        player.play()
        player.pause()
        player.play()
    assert player.playing
    before = tick.n
    wait_for(lambda: tick.n > before + 5)  # still advancing
    assert tick.most_inside == 1, "two threads ticked at once"
    assert playing_threads() == 1
    player.pause()
    player.join(2)
    assert not player.playing
    assert playing_threads() == 0
    stopped = tick.n
    time.sleep(0.05)
    assert tick.n == stopped, "a tick after Pause had finished"


def test_the_end_of_the_run_stops_playing_and_says_so():
    stops = []
    tick = Counter(stop_at=3)
    player = Player(tick, interval=lambda: 0.0, on_stop=stops.append)
    player.play()
    wait_for(lambda: stops)
    assert stops == [None] and tick.n == 3 and not player.playing
    player.play()  # at the end: one tick finds nothing to do, and stops again
    wait_for(lambda: len(stops) == 2)
    assert not player.playing


def test_a_lost_page_stops_playing():
    connected = [True]
    stops = []
    tick = Counter()
    player = Player(
        tick, interval=lambda: 0.0, on_stop=stops.append, keep_going=lambda: connected[0]
    )
    player.play()
    wait_for(lambda: tick.n >= 2)
    connected[0] = False
    wait_for(lambda: stops)
    assert not player.playing
    player.join(2)
    assert playing_threads() == 0


def test_an_error_in_a_tick_stops_playing_and_is_handed_on():
    stops = []

    def tick() -> bool:
        raise ValueError("no more")

    player = Player(tick, interval=lambda: 0.0, on_stop=stops.append)
    player.play()
    wait_for(lambda: stops)
    assert isinstance(stops[0], ValueError) and not player.playing
