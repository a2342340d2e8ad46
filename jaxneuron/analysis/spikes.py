"""Spike detection and spike-train statistics on NaN-padded fixed-size spike-time arrays.

Spike times are upward crossings of a voltage threshold, located inside the sampling
interval by linear interpolation. Arrays of spike times have a fixed size (so they work
under `jit`/`vmap`) and are padded with NaN after the last spike.
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float, Int


def crossing_time(t_prev, v_prev, t_next, v_next, threshold):
    """Time (ms) at which the line from `(t_prev, v_prev)` to `(t_next, v_next)` reaches
    `threshold`, and whether it crosses upward in this interval. Broadcasts."""
    crossed = (v_prev < threshold) & (v_next >= threshold)
    dv = jnp.where(crossed, v_next - v_prev, 1.0)
    frac = jnp.where(crossed, (threshold - v_prev) / dv, 0.0)
    return t_prev + frac * (t_next - t_prev), crossed


def record_spike(spike_times, n_spikes, t_cross, crossed):
    """Append `t_cross` to the spike buffer if `crossed`.

    `spike_times` has one extra trailing "discard" slot (see `empty_spike_buffer`) that
    receives non-spikes and overflow, so every write is in bounds and unconditional, the
    cheapest scatter XLA can do. `n_spikes` counts every crossing, also beyond capacity.
    """
    discard = spike_times.shape[-1] - 1
    index = jnp.where(crossed, jnp.minimum(n_spikes, discard), discard)
    spike_times = spike_times.at[index].set(
        t_cross, mode="promise_in_bounds", unique_indices=True, indices_are_sorted=True
    )
    return spike_times, n_spikes + crossed.astype(n_spikes.dtype)


def empty_spike_buffer(max_spikes: int, dtype) -> Float[Array, " max_spikes+1"]:
    """A NaN spike buffer for `record_spike`: `max_spikes` slots plus one discard slot."""
    return jnp.full((max_spikes + 1,), jnp.nan, dtype=dtype)


def detect_spikes(
    ts: Float[Array, " n"], v: Float[Array, " n"], threshold: float, max_spikes: int
) -> tuple[Float[Array, " max_spikes"], Int[Array, ""]]:
    """Upward threshold crossings of a sampled voltage trace.

    **Returns:** `(spike_times, n_spikes)`: the first `max_spikes` crossing times (ms),
    NaN-padded, and the total number of crossings.
    """
    t_cross, crossed = crossing_time(ts[:-1], v[:-1], ts[1:], v[1:], threshold)
    order = jnp.cumsum(crossed) - 1
    index = jnp.where(crossed, order, max_spikes)
    spike_times = jnp.full((max_spikes,), jnp.nan, dtype=ts.dtype)
    spike_times = spike_times.at[index].set(t_cross, mode="drop")
    return spike_times, jnp.sum(crossed).astype(jnp.int32)


def spike_count(spike_times, t_start=-jnp.inf, t_stop=jnp.inf):
    """Number of spikes with `t_start <= t < t_stop` in a NaN-padded array (last axis)."""
    inside = (spike_times >= t_start) & (spike_times < t_stop)
    return jnp.sum(inside, axis=-1)


def firing_rate(spike_times, t_start, t_stop):
    """Mean firing rate (Hz) over the window `[t_start, t_stop)` in ms."""
    return 1000.0 * spike_count(spike_times, t_start, t_stop) / (t_stop - t_start)


def interspike_intervals(spike_times):
    """Intervals (ms) between consecutive spikes; NaN where either spike is missing.

    Shape: one less than `spike_times` on the last axis.
    """
    return jnp.diff(spike_times, axis=-1)


def steady_firing_rate(spike_times, n_last: int = 3):
    """Steady-state firing rate (Hz): 1000 / mean of the last `n_last` interspike intervals.

    NaN when fewer than `n_last + 1` spikes were recorded.
    """
    isi = interspike_intervals(spike_times)
    valid = ~jnp.isnan(isi)
    n_valid = jnp.sum(valid, axis=-1)
    position = jnp.cumsum(valid, axis=-1)
    last = valid & (position > (n_valid - n_last)[..., None])
    mean_isi = jnp.sum(jnp.where(last, isi, 0.0), axis=-1) / n_last
    return jnp.where(n_valid >= n_last, 1000.0 / mean_isi, jnp.nan)


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
    short = interspike_intervals(spike_times) < max_isi
    previous = jnp.concatenate([jnp.zeros_like(short[..., :1]), short[..., :-1]], axis=-1)
    return jnp.sum(short & ~previous, axis=-1)
