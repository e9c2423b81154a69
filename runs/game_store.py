"""Where classroom games live: one JSON file per game, under a folder of their own.

- **Codes.** A game is joined by a short code, six characters from 30 that cannot be
  misread on a projector (no 0/O, 1/I/L, U): about 729 million codes, drawn with
  ``secrets``, so a class cannot guess its way into another class's game. The
  facilitator's controls need a second, longer secret (the host key).
- **No path from a code.** A code is checked against its alphabet before it is used,
  and the file is always ``<folder>/<CODE>.json``: nothing a user types can name
  another file.
- **Writes are atomic.** Every change rewrites the file: a temporary file in the same
  folder, renamed over the old one, then flushed to the disk. A crash leaves the last
  whole game, never half of one.
- **One process.** Every browser session of a game shares one ``Game`` object (the
  ``Hub`` of the server process). Two servers on one folder would not see each
  other's orders: run one.

The default folder is ``$XDG_DATA_HOME/pullchain/games`` (``~/.local/share/...``),
made readable by its owner only; ``pullchain app --games DIR`` picks another.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
import threading
from pathlib import Path
from typing import Any

from pullchain.network.errors import ConfigError

from .game import Game, Settings

ENV_GAMES = "PULLCHAIN_APP_GAMES"
ENV_JOIN = "PULLCHAIN_APP_JOIN"
"""The address players on the LAN join at, when the server listens beyond this machine."""
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 6
_CODE = re.compile(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")
MAX_FILE_BYTES = 2_000_000
"""A game file is a few kilobytes; a larger one is not read."""


def default_folder() -> Path:
    """``$XDG_DATA_HOME/pullchain/games``, else ``~/.local/share/pullchain/games``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "pullchain" / "games"


def games_folder() -> Path:
    """The folder the app keeps games in: ``pullchain app --games DIR``, else the default."""
    env = os.environ.get(ENV_GAMES)
    return Path(env).expanduser().resolve() if env else default_folder()


def clean_code(text: Any) -> str | None:
    """A code as a person types it (any case, spaces or dashes), or None if it is none."""
    code = re.sub(r"[\s-]", "", str(text or "")).upper()
    return code if _CODE.fullmatch(code) else None


class GameStore:
    """Game files in one folder: create, read, write (atomically)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder).expanduser().resolve()
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as err:
            problem = f"a folder to write in ({err})"
            raise ConfigError("--games", str(self.folder), problem) from None
        if not os.access(self.folder, os.W_OK):
            raise ConfigError("--games", str(self.folder), "a folder this user can write in")

    def path(self, code: str) -> Path:
        """The file of game ``code``; ValueError for anything that is not a code."""
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise ValueError(f"not a game code: {code!r}")
        return self.folder / f"{code}.json"

    def new_code(self) -> str:
        """A code no game in the folder has, reserved by creating its file."""
        for _ in range(100):
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            try:
                fd = os.open(self.path(code), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                continue
            os.close(fd)
            return code
        raise RuntimeError(f"no free game code in {self.folder}")  # pragma: no cover

    def write(self, record: dict[str, Any]) -> None:
        """Replace a game's file with its record (``Game.to_record``), atomically.

        The new file is whole before it replaces the old (a rename), so a reader or a
        crash of the server never meets half a game. The flush to the disk itself
        (fsync, 100-250 ms on a busy shared disk here) runs just after in the
        background: a player's page does not wait for it, and what a power cut in
        that moment can lose is the last order, never the file.
        """
        code = record["code"]
        target = self.path(code)
        data = json.dumps(record, indent=1).encode()
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{code}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        threading.Thread(target=_flush_to_disk, args=(target,), daemon=True).start()

    def read(self, code: str, **kwargs: Any) -> Game | None:
        """The game ``code`` as its file has it, or None if there is no such game.

        ConfigError when the file is there but is not a whole game.
        """
        path = self.path(code)
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise ConfigError(f"game file {path}", path.stat().st_size, "a game file")
            text = path.read_bytes()
        except FileNotFoundError:
            return None
        if not text:  # reserved by new_code, never written: no game
            return None
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ConfigError(f"game file {path}", "(not JSON)", f"a game file ({err})") from None
        try:
            game = Game.from_record(data, save=self.write, **kwargs)
        except ConfigError as err:
            raise ConfigError(f"game file {path}: {err.field}", err.value, err.expected) from None
        except (KeyError, TypeError, ValueError) as err:
            raise ConfigError(f"game file {path}", type(err).__name__, "a whole game") from None
        if game.code != code:
            raise ConfigError(f"game file {path}", game.code, f"the game {code}")
        return game


def _flush_to_disk(path: Path) -> None:
    """fsync a file and its folder (the rename), where the system allows it."""
    for target, flags in ((path, os.O_RDONLY), (path.parent, os.O_RDONLY)):
        try:
            fd = os.open(target, flags)
        except OSError:  # replaced again meanwhile, or a folder that cannot be opened
            continue
        try:
            os.fsync(fd)
        except OSError:  # pragma: no cover
            pass
        finally:
            os.close(fd)


class Hub:
    """The games of one server process, by code: each loaded once and shared by every
    browser session that plays it."""

    def __init__(self, store: GameStore) -> None:
        self.store = store
        self._games: dict[str, Game] = {}
        self._lock = threading.Lock()

    def create(self, settings: Settings) -> Game:
        """A new game with a fresh code and host key, written to disk at once."""
        settings.check()
        with self._lock:
            code = self.store.new_code()
            game = Game(code, secrets.token_urlsafe(16), settings, save=self.store.write)
            self.store.write(game.to_record())
            self._games[code] = game
            return game

    def get(self, code: Any) -> Game | None:
        """The game a typed code names, loading it from disk if need be; None if none."""
        clean = clean_code(code)
        if clean is None:
            return None
        with self._lock:
            game = self._games.get(clean)
            if game is None:
                game = self.store.read(clean)
                if game is not None:
                    self._games[clean] = game
            return game


_HUBS: dict[Path, Hub] = {}
_HUBS_LOCK = threading.Lock()


def hub(folder: str | Path | None = None) -> Hub:
    """The hub of ``folder`` (by default ``games_folder()``), one per folder and process."""
    path = Path(folder).expanduser().resolve() if folder is not None else games_folder()
    with _HUBS_LOCK:
        if path not in _HUBS:
            _HUBS[path] = Hub(GameStore(path))
        return _HUBS[path]
