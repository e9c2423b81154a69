"""One colour per tier and one per regime, everywhere pullchain draws (app, game, figures).

A chart on a projector is read by its colours: the retailers must be the same colour
in the orders chart, the stock chart and the network, and "transparent" the same blue
on every page. Every chart takes its colours from here, never from a list of its own.
Colours are Tableau's (matplotlib's default cycle), readable on white.
"""

from __future__ import annotations

DEMAND_COLOR = "#000000"
"""Consumer demand, the reference line every orders chart is read against."""

KIND_COLORS: dict[str, str] = {
    "retailer": "#ff7f0e",  # orange
    "distributor": "#9467bd",  # purple
    "brand": "#2ca02c",  # green
    "supplier": "#d62728",  # red
    "consumer": "#7f7f7f",  # grey
}
"""By kind of firm: a tier is drawn in the colour of its kind."""

TIER_COLORS: tuple[str, ...] = ("#ff7f0e", "#8c564b", "#9467bd", "#2ca02c", "#d62728", "#e377c2")
"""By tier number (1 = retailers) where one kind fills several tiers (the beer game)."""

REGIME_COLORS: dict[str, str] = {
    "opaque": "#d62728",  # red: push, nothing shared
    "transparent": "#1f77b4",  # blue: pull, data shared
    "vmi": "#17becf",  # cyan: the vendor manages the retailer's stock
}
"""By information regime."""

_OTHER = ("#bcbd22", "#e377c2", "#8c564b", "#7f7f7f")


def regime_color(name: str, index: int = 0) -> str:
    """The colour of a regime; a researcher's own regime gets one of the spare colours."""
    return REGIME_COLORS.get(name, _OTHER[index % len(_OTHER)])


def tier_color(tier: int, kind: str | None = None, *, one_kind_per_tier: bool = True) -> str:
    """The colour of tier ``tier`` (1 = retailers): its kind's colour when every tier holds
    a different kind, else its place in ``TIER_COLORS``."""
    if kind is not None and one_kind_per_tier and kind in KIND_COLORS:
        return KIND_COLORS[kind]
    return TIER_COLORS[(tier - 1) % len(TIER_COLORS)]


BAND_COLORS: dict[str, str] = {
    "warm-up": "#e6e6e6",  # light grey: not counted in the headline figures
    "fad": "#fde7b0",  # light amber: a fad's season
    "outage": "#f2c4de",  # light pink: a firm is down
    "lead-time spike": "#cfe3f3",  # light blue: an edge takes longer
}
"""Shaded periods behind the time-series charts, by what happens in them."""

PART_COLORS: tuple[str, ...] = ("#8c8c8c", "#bcbd22", "#c5b0d5", "#c49c94", "#9edae5", "#dbdb8d")
"""Parts of a whole (cost by kind, stacked): muted, and none a tier's or a regime's colour."""
