"""Spike detection and recording inside the engines, on NaN-padded fixed-size arrays.

Spike times are upward crossings located inside the step (or the sampling interval) by
linear interpolation. Arrays of spike times have a fixed size (so they work under
`jit`/`vmap`) and are padded with NaN after the last spike. The statistics that a sweep's
default summary needs (`steady_firing_rate`) live here too, so the engines and `sweep`
depend on no analysis module; `jaxneuron.analysis.spikes` re-exports them.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, Int


class SpikeRecord(eqx.Module):
    """What a run records of its spikes.

    **Fields:**
    - `max_spikes`: capacity of `Trace.spike_times` (static, >= 1); more spikes are counted
      in `Trace.n_spikes` and flagged by `Trace.spikes_overflowed`.
    - `threshold`: voltage (mV) whose upward crossing counts as a spike, for smooth models
      (spiking models use their own `spike_condition`).
    """

    max_spikes: int = eqx.field(static=True, default=64)
    threshold: float = 0.0

    def __check_init__(self):
        if not isinstance(self.max_spikes, int) or isinstance(self.max_spikes, bool) or (
                self.max_spikes < 1):
            raise ValueError(f"max_spikes must be a positive int; got {self.max_spikes!r}")


def crossing_time(t_prev, v_prev, t_next, v_next, threshold):
    """Time (ms) at which the line from `(t_prev, v_prev)` to `(t_next, v_next)` reaches
    `threshold`, and whether it crosses upward in this interval. Broadcasts."""
    crossed = (v_prev < threshold) & (v_next >= threshold)
    dv = jnp.where(crossed, v_next - v_prev, 1.0)
    frac = jnp.where(crossed, (threshold - v_prev) / dv, 0.0)
    return t_prev + frac * (t_next - t_prev), crossed


def empty_spike_buffer(max_spikes: int, dtype) -> Float[Array, " max_spikes+1"]:
    """A NaN spike buffer for `record_spike`: `max_spikes` slots plus one discard slot."""
    return jnp.full((max_spikes + 1,), jnp.nan, dtype=dtype)


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
