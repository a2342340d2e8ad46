"""Analysis of simulated activity: spikes, rates and intervals."""

from .spikes import (
    crossing_time,
    detect_spikes,
    firing_rate,
    interspike_intervals,
    record_spike,
    spike_count,
    steady_firing_rate,
)

__all__ = [
    "crossing_time",
    "detect_spikes",
    "firing_rate",
    "interspike_intervals",
    "record_spike",
    "spike_count",
    "steady_firing_rate",
]
