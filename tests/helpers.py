"""Shared test helpers."""

import numpy as np

import jaxneuron as jn
from jaxneuron.baselines import simulate_hh_scipy, step_current


def scipy_hh_spikes(amplitude, t1, **params):
    """Reference spike times (ms) from SciPy DOP853 at tight tolerance with event roots."""
    result = simulate_hh_scipy(step_current(amplitude), t1=t1, params=params, method="DOP853",
                               rtol=1e-11, atol=1e-11)
    return result.spike_times


def spike_time_error(trace: jn.Trace, reference) -> float:
    """Max |Δt| (ms) between matched spikes; inf if the counts differ."""
    n = int(trace.n_spikes)
    if n != len(reference):
        return float("inf")
    return float(np.max(np.abs(np.asarray(trace.spike_times[:n]) - reference))) if n else 0.0
