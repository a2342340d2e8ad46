"""Analysis of simulated activity: spikes, rates, intervals, adaptation and bursts."""

from .spikes import (
    adaptation_index,
    burst_count,
    crossing_time,
    detect_spikes,
    firing_rate,
    interspike_intervals,
    record_spike,
    spike_count,
    steady_firing_rate,
)

__all__ = [
    "adaptation_index",
    "burst_count",
    "crossing_time",
    "detect_spikes",
    "firing_rate",
    "interspike_intervals",
    "record_spike",
    "spike_count",
    "steady_firing_rate",
]
