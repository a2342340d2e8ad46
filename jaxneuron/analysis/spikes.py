"""Spike detection and spike-train statistics on NaN-padded fixed-size spike-time arrays.

Spike times are upward crossings of a voltage threshold, located inside the sampling
interval by linear interpolation. Arrays of spike times have a fixed size (so they work
under `jit`/`vmap`) and are padded with NaN after the last spike. Detection and the
statistics the engines need live in `jaxneuron.engines.spikes` and are re-exported here.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .._checks import check_finite, check_real, is_concrete
from ..engines.spikes import (
    crossing_time,
    detect_spikes,
    interspike_intervals,
    steady_firing_rate,
)


def spike_count(spike_times, t_start=-jnp.inf, t_stop=jnp.inf):
    """Number of spikes with `t_start <= t < t_stop` in a NaN-padded array (last axis)."""
    inside = (spike_times >= t_start) & (spike_times < t_stop)
    return jnp.sum(inside, axis=-1)


def firing_rate(spike_times, t_start, t_stop):
    """Mean firing rate (Hz) over the window `[t_start, t_stop)` in ms.

    **Raises:** `ValueError` if concrete window ends are not finite with t_stop > t_start."""
    if is_concrete(t_start) and is_concrete(t_stop):
        check_finite("t_start", t_start)
        check_finite("t_stop", t_stop)
        if not np.all(np.asarray(t_stop, float) > np.asarray(t_start, float)):
            raise ValueError(f"t_stop must be > t_start (ms); got t_start={t_start!r}, "
                             f"t_stop={t_stop!r}")
    return 1000.0 * spike_count(spike_times, t_start, t_stop) / (t_stop - t_start)


def adaptation_index(spike_times):
    """Mean normalised change of consecutive ISIs, $\\langle (ISI_{k+1} - ISI_k) /
    (ISI_{k+1} + ISI_k) \\rangle$ (the Allen Cell Types definition): > 0 for adapting,
    about 0 for regular, < 0 for accelerating firing. NaN with fewer than 3 spikes."""
    isi = interspike_intervals(spike_times)
    change = (isi[..., 1:] - isi[..., :-1]) / (isi[..., 1:] + isi[..., :-1])
    valid = ~jnp.isnan(change)
    total = jnp.sum(jnp.where(valid, change, 0.0), axis=-1)
    n = jnp.sum(valid, axis=-1)
    return jnp.where(n > 0, total / jnp.maximum(n, 1), jnp.nan)


def burst_count(spike_times, max_isi: float = 10.0):
    """Number of bursts: runs of spikes separated by ISIs shorter than `max_isi` (ms)."""
    if is_concrete(max_isi):
        check_real("max_isi", max_isi, gt=0)
    short = interspike_intervals(spike_times) < max_isi
    previous = jnp.concatenate([jnp.zeros_like(short[..., :1]), short[..., :-1]], axis=-1)
    return jnp.sum(short & ~previous, axis=-1)


__all__ = ["adaptation_index", "burst_count", "crossing_time", "detect_spikes", "firing_rate",
           "interspike_intervals", "spike_count", "steady_firing_rate"]
