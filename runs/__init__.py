"""Running and watching: the Mesa model, its recorder and metrics, and the command line."""

from importlib.metadata import PackageNotFoundError, version

from .model import SupplyChainModel

try:
    __version__ = version("pullchain")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["SupplyChainModel", "__version__"]
