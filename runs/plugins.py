"""Plug-ins: modules that register policies, demands, regimes ... for a sweep's runs.

A sweep's ``imports`` name installed modules or .py files; the text of a file travels
with every task, so a worker (local or on a cluster) needs nothing installed.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pullchain.network.errors import ConfigError
from pullchain.network.limits import check_input_file

_LOADED: set[str] = set()


class PluginError(ConfigError):
    """A plug-in module that would not import (it raised, or called sys.exit)."""


def load_imports(items: Any, folder: Path) -> tuple[list[str], dict[str, str]]:
    if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
        raise ConfigError("imports", items, "a list of module names or .py files")
    modules, plugins = [], {}
    for item in items:
        if item.endswith(".py"):
            path = Path(item) if Path(item).is_absolute() else folder / item
            check_input_file("imports", path)
            try:
                text = path.read_text("utf-8-sig")
            except (OSError, UnicodeDecodeError) as err:
                raise ConfigError("imports", item, f"a readable .py file ({err})") from None
            name = f"pullchain_plugin_{path.stem}_{hashlib.sha256(text.encode()).hexdigest()[:8]}"
            plugins[name] = text
            modules.append(name)
        else:
            modules.append(item)
    for item, name in zip(items, modules, strict=True):
        try:
            load_plugins([name], plugins)
        except PluginError as err:
            raise ConfigError("imports", item, err.expected) from None
    return modules, plugins


def load_plugins(modules: Sequence[str], plugins: Mapping[str, str]) -> None:
    """Import each module once per process; ``plugins`` carries the text of .py files.

    Workers (local or on a cluster) get the text with their tasks, so a researcher's
    policy file need not be installed anywhere.
    """
    for name in modules:
        if name in _LOADED:
            continue
        try:
            _load(name, plugins)
        except KeyboardInterrupt:
            raise
        except BaseException as err:  # SystemExit too: a plug-in does not end pullchain
            raise PluginError(
                "imports", name, f"a module that imports cleanly (it raised {err!r})"
            ) from None
        _LOADED.add(name)


def _load(name: str, plugins: Mapping[str, str]) -> None:
    if name not in plugins:
        importlib.import_module(name)
        return
    module = types.ModuleType(name)
    module.__file__ = f"<sweep import {name}>"
    sys.modules[name] = module
    try:
        exec(compile(plugins[name], module.__file__, "exec"), module.__dict__)
    except BaseException:
        sys.modules.pop(name, None)
        raise
