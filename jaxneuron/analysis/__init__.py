"""Analysis of simulated activity: spikes, rates, intervals, adaptation and bursts."""

from . import activation_fit, excitability, summaries
from .excitability import fi_curve, rheobase, rheobases, spike_shape, sustained_rate
from .spikes import (
    adaptation_index,
    burst_count,
    crossing_time,
    detect_spikes,
    firing_rate,
    interspike_intervals,
    spike_count,
    steady_firing_rate,
)

__all__ = [
    "activation_fit", "excitability", "summaries", "fi_curve", "rheobase", "rheobases",
    "spike_shape",
    "sustained_rate",
    "adaptation_index",
    "burst_count",
    "crossing_time",
    "detect_spikes",
    "firing_rate",
    "interspike_intervals",
    "spike_count",
    "steady_firing_rate",
]
