"""One sweep at a time per results folder: a lock file naming its owner's host and pid.

A cluster job submitted twice, or a sweep started again in a second terminal, must
not run every run a second time into the same folder. ``FolderLock`` holds
``DIR/.pullchain.lock`` (JSON: host, pid, start time) while a sweep writes there:

- held by a live process: refused, naming it;
- left by a process that died on this machine (an OS lock is released when its
  holder dies, and its pid is gone): taken over, with a message;
- left by a process on another machine: refused, since this machine cannot tell
  whether it still runs; the message says which file to remove if it does not.

Where the file system offers ``flock``, it decides who holds the lock (the kernel
releases it when the holder dies, whatever the pid); where it does not (some network
file systems), the pid in the file does.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pullchain.network.errors import ConfigError

try:
    import fcntl
except ImportError:  # not on Windows
    fcntl = None  # type: ignore[assignment]

LOCK = ".pullchain.lock"


class FolderLocked(ConfigError):
    """Another sweep holds the folder."""


class FolderLock:
    """The lock of one results folder; use as a context manager around the writing."""

    def __init__(self, folder: Path, say: Callable[[str], None] = lambda message: None) -> None:
        self.path = Path(folder) / LOCK
        self.say = say
        self._fd: int | None = None

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock or raise FolderLocked; a stale one is taken over, with a message."""
        for _ in range(10):  # the file may be replaced under us: try again on a new one
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
            try:
                if self._take(fd):
                    self._fd = fd
                    return
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
        raise FolderLocked("--out", str(self.path.parent), "a folder whose lock can be taken")

    def _take(self, fd: int) -> bool:
        """True when ``fd`` is now ours; False if the file was replaced meanwhile."""
        locked = _flock(fd)
        holder = _read(fd)
        if locked is False:
            raise self._refusal(holder, "is writing into it")
        if not _same_file(fd, self.path):
            return False
        if holder:
            self._take_over(holder, flock_held=locked is True)
        _write(fd, _me())
        return True

    def _take_over(self, holder: dict[str, Any], *, flock_held: bool) -> None:
        """A lock left in the file by a sweep that did not end cleanly."""
        here = holder.get("host") == socket.gethostname()
        pid = holder.get("pid")
        if not here:
            raise self._refusal(holder, "may still be writing into it (from another machine)")
        if not flock_held and isinstance(pid, int) and _alive(pid):
            raise self._refusal(holder, "is writing into it")
        self.say(
            f"note: taking over the lock of a sweep that did not finish ({_who(holder)}; "
            "that process is gone)"
        )

    def _refusal(self, holder: dict[str, Any], doing: str) -> FolderLocked:
        expected = (
            f"a folder no other sweep is writing into: {_who(holder)} {doing}. Wait for it "
            f"to finish, or, if that process is no longer running, remove {self.path}"
        )
        return FolderLocked("--out", str(self.path.parent), expected)

    def release(self) -> None:
        """Remove the lock file and let go of it (the file first: no one takes a dead one)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            if _same_file(self._fd, self.path):
                self.path.unlink()
        os.close(self._fd)
        self._fd = None


def _flock(fd: int) -> bool | None:
    """True if we hold an OS lock on ``fd`` now, False if another process does, None if
    the file system has none."""
    if fcntl is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # ENOLCK, EOPNOTSUPP ...: no OS locks here
        return None
    return True


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``path`` still names the file ``fd`` has open (not removed or replaced)."""
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _read(fd: int) -> dict[str, Any]:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = json.loads(os.read(fd, 4096) or b"{}")
    except (OSError, ValueError):
        return {"host": "?", "pid": None}  # unreadable: someone's, but whose is unknown
    return data if isinstance(data, dict) else {"host": "?", "pid": None}


def _write(fd: int, data: dict[str, Any]) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, (json.dumps(data) + "\n").encode())
    os.fsync(fd)


def _me() -> dict[str, Any]:
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "time": time.time(),
    }


def _who(holder: dict[str, Any]) -> str:
    return f"pid {holder.get('pid')} on host {holder.get('host')}" + (
        f", since {holder['started']}" if holder.get("started") else ""
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except OSError:
        return True
    return True
