"""Who decides: consumers and firms, and the rules they decide by.

Each building block is a class registered by name, so a scenario or a network
attribute can refer to it and a researcher can add one without editing pullchain:
``POLICIES``, ``FORECASTS``, ``DEMANDS`` and ``ALLOCATIONS``.
"""

from .allocation import ALLOCATIONS, AllocationRule
from .consumers import Consumer
from .demand import DEMANDS, DemandProcess
from .firms import Brand, Distributor, Firm, Producer, Retailer, Supplier
from .forecasts import FORECASTS, Forecast
from .policies import POLICIES, OrderingPolicy, Situation

__all__ = [
    "ALLOCATIONS",
    "DEMANDS",
    "FORECASTS",
    "POLICIES",
    "AllocationRule",
    "Brand",
    "Consumer",
    "DemandProcess",
    "Distributor",
    "Firm",
    "Forecast",
    "OrderingPolicy",
    "Producer",
    "Retailer",
    "Situation",
    "Supplier",
]
