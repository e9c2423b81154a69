"""Named, pluggable building blocks (policies, forecasts, demand, regimes, ...).

A registry maps a short name, as written in a network attribute or a scenario
file, to a class. Researchers add their own with ``@REGISTRY.register("name")``
and use the name at once, without editing pullchain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .errors import ConfigError


class Registry[T]:
    """A name -> class table with clear errors for unknown names and bad params."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._classes: dict[str, type[T]] = {}

    def register(self, name: str, *, replace: bool = False) -> Callable[[type[T]], type[T]]:
        """Class decorator: make ``cls`` available under ``name``.

        A name already taken is an error unless ``replace=True``: silently shadowing a
        built-in would change results without a word.
        """

        def add(cls: type[T]) -> type[T]:
            if name in self._classes and not replace and self._classes[name] is not cls:
                raise ValueError(
                    f"{self.what} {name!r} is already registered "
                    f"({self._classes[name].__name__}); pass replace=True to replace it"
                )
            self._classes[name] = cls
            cls.registry_name = name  # type: ignore[attr-defined]
            return cls

        return add

    def unregister(self, name: str) -> None:
        """Remove ``name`` (for tests and notebooks that register temporary classes)."""
        self._classes.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._classes

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._classes))

    def get(self, name: str, field: str = "") -> type[T]:
        """The class registered as ``name``; ConfigError naming ``field`` if none is."""
        try:
            return self._classes[name]
        except (KeyError, TypeError):
            raise ConfigError(
                field or self.what, name, f"a known {self.what}: " + ", ".join(self)
            ) from None

    def create(self, name: str, params: Mapping[str, Any] | None, field: str = "") -> T:
        """Build the named class with keyword ``params``; bad keywords become ConfigError."""
        cls = self.get(name, field)
        params = dict(params or {})
        try:
            return cls(**params)
        except TypeError as err:
            # A keyword the class does not take: name it and list the ones it does.
            import inspect

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
