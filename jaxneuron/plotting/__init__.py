"""Matplotlib figures from traces and results (kept out of the simulation core).

One module per subject; the general figures live in `figures` and are re-exported here.
Every function draws one figure: with `path=` it writes a PNG there, closes the figure and
returns the path (what the workflows do); without, it returns the open `Figure`, which a
notebook shows inline. Importing this package does not choose a matplotlib backend.
"""

from .figures import (
    avalanche_distributions,
    fit_overview,
    rate_heatmap,
    regimes_raster,
    spike_fit_overview,
    spike_time_errors,
    voltage_panels,
)
from .recordings import recording_fit_figure

__all__ = [
    "avalanche_distributions",
    "fit_overview",
    "rate_heatmap",
    "recording_fit_figure",
    "regimes_raster",
    "spike_fit_overview",
    "spike_time_errors",
    "voltage_panels",
]
