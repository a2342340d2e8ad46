"""Matplotlib figures from traces and results (kept out of the simulation core).

One module per subject; the general figures live in `figures` and are re-exported here.
Every function takes `path=` and writes a PNG (Agg backend, no screen needed).
"""

from .figures import (
    avalanche_distributions,
    fit_overview,
    plt,
    rate_heatmap,
    regimes_raster,
    spike_fit_overview,
    spike_time_errors,
    voltage_panels,
)

__all__ = [
    "avalanche_distributions",
    "fit_overview",
    "plt",
    "rate_heatmap",
    "regimes_raster",
    "spike_fit_overview",
    "spike_time_errors",
    "voltage_panels",
]
