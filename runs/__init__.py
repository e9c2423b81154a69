"""Running and watching: the Mesa model, its recorder and metrics, and the command line."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("pullchain")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

if TYPE_CHECKING:
    from .model import SupplyChainModel

__all__ = ["SupplyChainModel", "__version__"]


def __getattr__(name: str) -> Any:
    # Mesa takes seconds to import; `pullchain --help` should not wait for it.
    if name == "SupplyChainModel":
        from .model import SupplyChainModel

        return SupplyChainModel
    raise AttributeError(name)
