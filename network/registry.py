"""Named, pluggable building blocks (policies, forecasts, demand, regimes, agent classes).

A registry maps a short name, as written in a network attribute or a scenario
file, to a class. Researchers add their own with ``@REGISTRY.register("name")`` in a
plug-in (docs/extending.md) and use the name at once, without editing pullchain.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

from .errors import ConfigError
from .params import Param, declared


class Registry[T]:
    """A name -> class table with clear errors for unknown names and bad params.

    Args:
        what: what it holds, in words ("ordering policy").
        variable: how a plug-in reaches it (``POLICIES``), for the error that tells a
            user how to add a name.
    """

    instances: ClassVar[list[Registry]] = []
    """Every registry, so that plug-in loading can take back what a failed import added."""
    finders: ClassVar[list[Callable[[], bool]]] = []
    """Called, in order, when a name is not found; each may register more (installed
    plug-ins, ``pullchain.runs.plugins``) and returns whether it loaded anything."""

    def __init__(self, what: str, variable: str = "") -> None:
        self.what = what
        self.variable = variable
        self._classes: dict[str, type[T]] = {}
        Registry.instances.append(self)

    def register(self, name: str, *, replace: bool = False) -> Callable[[type[T]], type[T]]:
        """Class decorator: make ``cls`` available under ``name``.

        A name already taken is an error unless ``replace=True``: silently shadowing a
        built-in would change results without a word. The same class registered again,
        because its module was imported again (a plug-in loaded twice), is no error.
        """

        def add(cls: type[T]) -> type[T]:
            old = self._classes.get(name)
            if old is not None and not replace and not _same_class(old, cls):
                raise ValueError(
                    f"{self.what} {name!r} is already registered "
                    f"({old.__module__}.{old.__qualname__}); pass replace=True to replace it"
                )
            self._classes[name] = cls
            cls.registry_name = name  # type: ignore[attr-defined]
            cls.registry_what = self.what  # type: ignore[attr-defined]
            return cls

        return add

    def unregister(self, name: str) -> None:
        """Remove ``name`` (for tests and notebooks that register temporary classes)."""
        self._classes.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._classes

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._classes))

    def snapshot(self) -> dict[str, type[T]]:
        """The table as it is now (``restore`` puts it back)."""
        return dict(self._classes)

    def restore(self, snapshot: Mapping[str, type[T]]) -> None:
        self._classes = dict(snapshot)

    def get(self, name: str, field: str = "") -> type[T]:
        """The class registered as ``name``; ConfigError naming ``field`` if none is."""
        if isinstance(name, str) and name not in self._classes:
            for find in self.finders:
                if find() and name in self._classes:
                    break
        try:
            return self._classes[name]
        except (KeyError, TypeError):
            raise ConfigError(field or self.what, name, self.expected()) from None

    def expected(self) -> str:
        """What a valid name is, and how to add one."""
        how = f'@{self.variable}.register("name") ' if self.variable else "registering one "
        return (
            f"a known {self.what}: {', '.join(self)} (or your own: {how}"
            "in a plug-in loaded with --plugin FILE or plugins = [...]; see docs/extending.md)"
        )

    def declared(self, name: str, field: str = "") -> dict[str, Param]:
        """The declared parameters of the class registered as ``name``."""
        return declared(self.get(name, field))

    def create(self, name: str, params: Mapping[str, Any] | None, field: str = "") -> T:
        """Build the named class with keyword ``params``; bad keywords become ConfigError."""
        cls = self.get(name, field)
        params = dict(params or {})
        try:
            return cls(**params)
        except TypeError as err:
            # A plug-in class with a constructor of its own: name the keyword it lacks.
            accepted = [
                p for p in inspect.signature(cls).parameters if p not in ("self", "args", "kwargs")
            ]
            unknown = [k for k in params if k not in accepted]
            if unknown:
                raise ConfigError(
                    f"{field or self.what}.{unknown[0]}",
                    params[unknown[0]],
                    f"a parameter of {self.what} {name!r}: " + (", ".join(accepted) or "none"),
                ) from None
            raise ConfigError(field or self.what, params, f"valid parameters: {err}") from None
        except ConfigError as err:
            if field and not err.field.startswith(field):
                raise ConfigError(f"{field}.{err.field}", err.value, err.expected) from None
            raise


def _same_class(old: type, new: type) -> bool:
    """The same class, or the same one defined again by its module imported again."""
    return old is new or (old.__module__ == new.__module__ and old.__qualname__ == new.__qualname__)
