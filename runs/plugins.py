"""Plug-ins: modules that register policies, demand processes, regimes, agent classes ...

Three ways in, all recorded with what a run wrote (docs/extending.md):

- an installed package that declares an entry point in the group ``pullchain.plugins``
  (loaded by every command, and whenever a name is not found);
- ``--plugin MODULE_OR_FILE`` on ``run``, ``compare``, ``sweep``, ``app`` and ``params``;
- ``plugins = [...]`` in a scenario or sweep file (files relative to it).

A ``.py`` file is imported from its text as a module named by its file name
(``policies/pout.py`` is ``pout``), so one plug-in file can import another
(``from pout import ProportionalOUT``), and its text travels with every task of a
sweep: a worker, local or on a cluster, needs nothing installed. Loading a plug-in
again is harmless. A plug-in that cannot be imported (missing, a syntax error, an
exception or ``SystemExit`` at import) is a ``ConfigError`` naming it, and whatever
it registered before failing is taken back.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from importlib.metadata import entry_points, packages_distributions, version
from pathlib import Path
from typing import Any

from pullchain.network.errors import ConfigError
from pullchain.network.limits import check_input_file
from pullchain.network.registry import Registry

GROUP = "pullchain.plugins"
"""The entry-point group installed plug-ins declare (``[project.entry-points]``)."""


@dataclass(frozen=True)
class Plugin:
    """A loaded plug-in: what was asked for, what it is, and how to load it again."""

    name: str  # the module's name
    spec: str  # as recorded: the module name, or the file's absolute path
    kind: str  # "file", "module" or "entry point"
    version: str | None = None  # the distribution's version (modules, entry points)
    sha256: str | None = None  # of the text (files, and modules that are one file)
    text: str | None = field(default=None, repr=False, compare=False)  # a file's text

    def record(self) -> dict[str, Any]:
        """What outputs record (everything but the text)."""
        out = asdict(self)
        out.pop("text")
        return out

    def identity(self) -> str:
        """What a sweep being resumed must match: the hash, else the version."""
        return self.sha256 or self.version or self.kind


_LOADED: dict[str, Plugin] = {}  # module name -> plug-in, in load order
_SOURCES: dict[str, tuple[str, str]] = {}  # file plug-ins' module name -> (text, origin)
_INSTALLED_DONE = False


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves the file plug-ins' modules from their text, by their module names."""

    def find_spec(self, name: str, path: Any = None, target: Any = None):
        if name in _SOURCES:
            return importlib.util.spec_from_loader(name, self, origin=_SOURCES[name][1])
        return None

    def create_module(self, spec):  # the default module
        return None

    def exec_module(self, module) -> None:
        text, origin = _SOURCES[module.__name__]
        module.__file__ = origin
        exec(compile(text, origin, "exec"), module.__dict__)


_FINDER = _Finder()
if not any(isinstance(f, _Finder) for f in sys.meta_path):
    sys.meta_path.insert(0, _FINDER)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@contextlib.contextmanager
def _guarded(where: str, spec: str, name: str) -> Iterator[None]:
    """Import a plug-in; on any failure take back what it registered, one ConfigError."""
    before = [(r, r.snapshot()) for r in Registry.instances]
    try:
        yield
    except KeyboardInterrupt:
        raise
    except BaseException as err:  # SystemExit too: a plug-in must not end the command
        for registry, snapshot in before:
            registry.restore(snapshot)
        sys.modules.pop(name, None)
        _SOURCES.pop(name, None)
        if isinstance(err, ConfigError):
            detail = str(err)
        elif isinstance(err, SystemExit):
            detail = f"SystemExit({err.code!r}) at import"
        else:
            detail = f"{type(err).__name__}: {err}"
        raise ConfigError(where, spec, f"a plug-in that imports cleanly ({detail})") from None


def load(spec: str, folder: str | Path | None = None, where: str = "--plugin") -> Plugin:
    """Load one plug-in (once per process): a module name, or a ``.py`` file's path
    (relative to ``folder``, by default the working folder)."""
    return load_all([spec], folder, where)[0]


def load_all(
    specs: Iterable[str], folder: str | Path | None = None, where: str = "--plugin"
) -> list[Plugin]:
    """Load several plug-ins, in order; files are all made importable first, so one may
    import another listed after it."""
    if isinstance(specs, str) or not isinstance(specs, Sequence):
        raise ConfigError(where, specs, "a list of module names or .py files")
    files = {}
    for spec in specs:
        if not isinstance(spec, str) or not spec.strip():
            raise ConfigError(where, spec, "a module name or the path of a .py file")
        path = _as_file(spec.strip(), folder)
        if path is not None:
            files[spec] = _read(path, spec, where)
    prepared = [_prepare(*files[s], where) for s in files]
    try:
        return [
            _import_file(*files[s], where) if s in files else _load_module(s.strip(), where)
            for s in specs
        ]
    finally:  # a file made importable but never imported (an earlier one failed)
        for name in prepared:
            if name not in _LOADED and name not in sys.modules:
                _SOURCES.pop(name, None)


def _as_file(spec: str, folder: str | Path | None) -> Path | None:
    if not (spec.endswith(".py") or "/" in spec or "\\" in spec):
        return None
    path = Path(spec).expanduser()
    if not path.is_absolute():
        path = Path(folder or Path.cwd()) / path
    return path.resolve()


def _read(path: Path, spec: str, where: str) -> tuple[str, str, str]:
    """(module name, text, origin) of a plug-in file (its size checked first)."""
    if path.is_file():
        check_input_file(where, path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        problem = "it does not exist" if not path.exists() else str(err)
        raise ConfigError(where, spec, f"a readable .py plug-in file ({problem})") from None
    if not path.stem.isidentifier():
        raise ConfigError(where, spec, "a .py file whose name is a Python module name")
    return path.stem, text, str(path)


def install_file(name: str, text: str, origin: str, where: str = "--plugin") -> Plugin:
    """Import a file plug-in's ``text`` as module ``name`` (a worker does this with the
    text a sweep task carries; ``origin`` is the path it was read from)."""
    _prepare(name, text, origin, where)
    return _import_file(name, text, origin, where)


def _prepare(name: str, text: str, origin: str, where: str) -> str:
    """Make a file plug-in importable by its name (checking the name is free)."""
    old = _LOADED.get(name)
    if old is not None:
        if old.kind == "file" and old.sha256 == _sha(text):
            return name  # loaded already (from here or a copy elsewhere): harmless
        if old.kind != "file" or old.spec != origin:
            raise ConfigError(
                where, origin,
                f"a plug-in file whose name is free ({name!r} is {old.spec} already; rename one)",
            )  # fmt: skip
    elif name in _SOURCES:
        if _SOURCES[name][1] != origin:
            raise ConfigError(
                where, origin, f"a plug-in file whose name is free ({name!r} is "
                f"{_SOURCES[name][1]} too; rename one)",
            )  # fmt: skip
    elif name in sys.modules or _importable_elsewhere(name, origin):
        raise ConfigError(
            where, origin,
            f"a plug-in file whose name is not a module's already ({name!r} is; rename it)",
        )  # fmt: skip
    _SOURCES[name] = (text, origin)
    return name


def _import_file(name: str, text: str, origin: str, where: str) -> Plugin:
    sha = _sha(text)
    old = _LOADED.get(name)
    if old is not None and old.sha256 == sha:  # the same code: not imported again
        return old if old.spec == origin else Plugin(name, origin, "file", sha256=sha, text=text)
    with _guarded(where, origin, name):
        if old is not None and name in sys.modules:  # the same file, edited: import again
            importlib.reload(sys.modules[name])
        elif name not in sys.modules:  # (else another plug-in file imported it already)
            importlib.import_module(name)
    _LOADED[name] = plugin = Plugin(name, origin, "file", sha256=sha, text=text)
    return plugin


def _importable_elsewhere(name: str, origin: str) -> bool:
    """Whether ``name`` is a module Python would find without us (not the file itself)."""
    if name in sys.builtin_module_names or name in sys.stdlib_module_names:
        return True
    found = importlib.machinery.PathFinder.find_spec(name)
    return found is not None and Path(found.origin or "").resolve() != Path(origin).resolve()


def _load_module(name: str, where: str, kind: str = "module") -> Plugin:
    if name in _LOADED:
        return _LOADED[name]
    with _guarded(where, name, name):
        module = importlib.import_module(name)
    plugin = Plugin(name, name, kind, version=_version(name), sha256=_module_sha(module))
    _LOADED[name] = plugin
    return plugin


def _version(module: str) -> str | None:
    top = module.split(".")[0]
    for dist in packages_distributions().get(top, []):
        with contextlib.suppress(Exception):
            return version(dist)
    return None


def _module_sha(module: Any) -> str | None:
    """The hash of a module that is one file and not part of an installed package."""
    path = getattr(module, "__file__", None)
    if not path or path.endswith("__init__.py") or _version(module.__name__):
        return None
    try:
        return _sha(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def load_installed() -> list[Plugin]:
    """Load every installed plug-in (entry points of ``GROUP``), once per process."""
    global _INSTALLED_DONE
    if _INSTALLED_DONE:
        return [p for p in _LOADED.values() if p.kind == "entry point"]
    _INSTALLED_DONE = True
    out = []
    for ep in entry_points(group=GROUP):
        if ep.module in _LOADED:
            out.append(_LOADED[ep.module])
            continue
        where = f"installed plug-in {ep.name!r} ({ep.value})"
        with _guarded(where, ep.value, ep.module):
            ep.load()
        dist = ep.dist.version if ep.dist is not None else _version(ep.module)
        _LOADED[ep.module] = plugin = Plugin(ep.module, ep.module, "entry point", version=dist)
        out.append(plugin)
    return out


def _find_installed() -> bool:
    """A registry's finder: a name not found may belong to a plug-in not loaded yet."""
    return bool(not _INSTALLED_DONE and load_installed())


if _find_installed not in Registry.finders:
    Registry.finders.append(_find_installed)


def install(plugins: Iterable[Plugin]) -> None:
    """Load plug-ins as they were recorded (a sweep's workers, ``rerun``): files from
    their text, modules and installed plug-ins by name."""
    for p in plugins:
        if p.kind == "file":
            if p.text is None:
                raise ConfigError("plugins", p.spec, "the plug-in file's text (not recorded)")
            install_file(p.name, p.text, p.spec, "plugins")
        elif p.kind == "entry point":
            load_installed()
            _load_module(p.name, "plugins", p.kind)
        else:
            _load_module(p.name, "plugins", p.kind)


def from_records(records: Iterable[dict[str, Any]]) -> list[Plugin]:
    """Plug-ins from what a sweep's manifest recorded (text included)."""
    return [Plugin(**{k: r.get(k) for k in Plugin.__dataclass_fields__}) for r in records]


def loaded() -> list[Plugin]:
    """Every plug-in loaded in this process, in the order they were loaded."""
    return list(_LOADED.values())


def merged(*groups: Iterable[Plugin]) -> list[Plugin]:
    """Plug-ins of several groups, each once, in order."""
    out: dict[str, Plugin] = {}
    for group in groups:
        for p in group:
            out.setdefault(p.name, p)
    return list(out.values())


@contextlib.contextmanager
def scoped() -> Iterator[None]:
    """Whatever plug-ins load inside is forgotten afterwards: registries, modules and
    records as they were (tests, notebooks)."""
    global _INSTALLED_DONE
    registries = [(r, r.snapshot()) for r in Registry.instances]
    loaded_before, sources_before = dict(_LOADED), dict(_SOURCES)
    modules_before, installed_before = set(sys.modules), _INSTALLED_DONE
    try:
        yield
    finally:
        for registry, snapshot in registries:
            registry.restore(snapshot)
        for name in set(_LOADED) - set(loaded_before):
            if name not in modules_before:
                sys.modules.pop(name, None)
        _LOADED.clear()
        _LOADED.update(loaded_before)
        _SOURCES.clear()
        _SOURCES.update(sources_before)
        _INSTALLED_DONE = installed_before
