"""Spike detection and recording inside the engines, on NaN-padded fixed-size arrays.

Spike times are upward crossings located inside the step (or the sampling interval) by
linear interpolation. Arrays of spike times have a fixed size (so they work under
`jit`/`vmap`) and are padded with NaN after the last spike. The statistics that a sweep's
default summary needs (`steady_firing_rate`) live here too, so the engines and `sweep`
depend on no analysis module; `jaxneuron.analysis.spikes` re-exports them.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from ..trace import (
    N_RECENT,
    STATUS_NONFINITE,
    STATUS_OK,
    STATUS_SOLVER_FAILED,
    STATUS_SPIKES_OVERFLOWED,
    SpikeStats,
    Trace,
)


class SpikeRecord(eqx.Module):
    """What a run records of its spikes.

    **Fields:**
    - `max_spikes`: capacity of `Trace.spike_times` (static, >= 1); more spikes are counted
      in `Trace.n_spikes` and flagged by `Trace.spikes_overflowed`.
    - `threshold`: voltage (mV) whose upward crossing counts as a spike, for smooth models
      (spiking models use their own `spike_condition`).
    - `times`: keep the list of spike times, `Trace.spike_times` (static, default True).
      False leaves it empty (shape `(0,)`), which nothing can overflow.
    - `stats`: keep online spike statistics, `Trace.spike_stats` (a `SpikeStats`: count,
      first and last spike, ISI mean and variance, the last four spike times; static,
      default False). The clock engine computes them elementwise inside its loop, at the
      cost of a few additions per step, whatever the number of spikes.
    """

    max_spikes: int = eqx.field(static=True, default=64)
    threshold: float = 0.0
    times: bool = eqx.field(static=True, default=True)
    stats: bool = eqx.field(static=True, default=False)

    def __check_init__(self):
        if not isinstance(self.max_spikes, int) or isinstance(self.max_spikes, bool) or (
                self.max_spikes < 1):
            raise ValueError(f"max_spikes must be a positive int; got {self.max_spikes!r}")
        for name in ("times", "stats"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool; got {getattr(self, name)!r}")

    @property
    def capacity(self) -> int:
        """Length of `Trace.spike_times`: `max_spikes`, or 0 when `times` is False."""
        return self.max_spikes if self.times else 0


# Positions in the vector of online statistics of one neuron (`stats_init`).
_FIRST, _LAST, _SHIFT, _S1, _S2, _RING = 0, 1, 2, 3, 4, 5


def stats_init(dtype) -> Float[Array, " 9"]:
    """The online statistics before the first spike: a vector of first and last spike, the
    shift (first ISI), the sums of shifted ISIs and of their squares, and a ring of the last
    `N_RECENT` spike times (see `block_stats`)."""
    nan = jnp.nan
    return jnp.asarray([nan, nan, nan, 0.0, 0.0] + [nan] * N_RECENT, dtype)


def stats_finish(m: Float[Array, " 9"], count: Int[Array, ""]) -> SpikeStats:
    """The `SpikeStats` of the online statistics after `count` spikes."""
    n_isi = (count - 1).astype(m.dtype)
    mean_d = m[_S1] / jnp.maximum(n_isi, 1.0)
    var = (m[_S2] - n_isi * mean_d * mean_d) / jnp.maximum(n_isi - 1.0, 1.0)
    ring = m[_RING:]
    recent = jnp.stack([ring[(count + j) % N_RECENT] for j in range(N_RECENT)])
    return SpikeStats(
        n_spikes=count, first=m[_FIRST], last=m[_LAST],
        isi_mean=jnp.where(count >= 2, (m[_LAST] - m[_FIRST]) / jnp.maximum(n_isi, 1.0),
                           jnp.nan),
        isi_var=jnp.where(count >= 3, jnp.maximum(var, 0.0), jnp.nan), recent=recent)


def stats_from_times(spike_times: Float[Array, " k"], n_spikes: Int[Array, ""]) -> SpikeStats:
    """`SpikeStats` of a NaN-padded list of spike times (for engines that record the list;
    exact when the list holds every spike)."""
    listed = jnp.sum(~jnp.isnan(spike_times), dtype=jnp.int32)
    m = block_stats(stats_init(spike_times.dtype), jnp.asarray(0, jnp.int32), spike_times)
    return eqx.tree_at(lambda s: s.n_spikes, stats_finish(m, listed),
                       n_spikes.astype(jnp.int32))


def block_stats(m: Float[Array, " 9"], count: Int[Array, ""],
                times: Float[Array, " block"]) -> Float[Array, " 9"]:
    """Add a block of steps to the online statistics `m`: `times` holds each step's spike time
    (ms), NaN for steps without a spike, `count` the spikes before the block.

    Vectorised over the block (a cumulative sum and maximum, and reductions), so the
    stepping loop only emits one number per step and the statistics cost a few passes
    over each block instead of kernels in every step."""
    spiked = ~jnp.isnan(times)
    index = count + jnp.cumsum(spiked) - 1  # the run's spike number of each step's spike
    seen = jax.lax.cummax(jnp.where(spiked, times, -jnp.inf))
    previous = jnp.concatenate([jnp.full((1,), -jnp.inf, times.dtype), seen[:-1]])
    previous = jnp.where(previous == -jnp.inf, m[_LAST], previous)
    isi = times - previous
    has_isi = spiked & (index >= 1)

    def pick(where_, old):  # the latest spike time where `where_`, else `old`
        return jnp.where(jnp.any(where_), jnp.max(jnp.where(where_, times, -jnp.inf)), old)

    first_isi = has_isi & (index == 1)
    shift = jnp.where(jnp.any(first_isi), jnp.sum(jnp.where(first_isi, isi, 0.0)),
                      m[_SHIFT])
    d = jnp.where(has_isi, isi - shift, 0.0)
    ring = [pick(spiked & (index % N_RECENT == i), m[_RING + i]) for i in range(N_RECENT)]
    return jnp.stack([pick(spiked & (index == 0), m[_FIRST]), pick(spiked, m[_LAST]), shift,
                      m[_S1] + jnp.sum(d), m[_S2] + jnp.sum(d * d), *ring])


def stats_update(m: Float[Array, " 9"], count: Int[Array, ""], t_spike, spiked):
    """Add the spike at `t_spike` (ms) where `spiked`, after `count` spikes: elementwise, no
    scatter. Returns the updated vector (`stats_init`).

    The ISI sums are shifted by the first ISI (the shifted-data algorithm), so the variance
    of regular spike trains keeps its precision in float32. The recent spike times are a
    ring written at slot `count mod N_RECENT`, so every entry depends on itself only."""
    isi = t_spike - m[_LAST]
    has_isi = spiked & (count >= 1)
    shift = jnp.where(has_isi & (count == 1), isi, m[_SHIFT])
    d = jnp.where(has_isi, isi - shift, 0.0)
    slot = count % N_RECENT
    ring = [jnp.where(spiked & (slot == i), t_spike, m[_RING + i]) for i in range(N_RECENT)]
    return jnp.stack([jnp.where(spiked & (count == 0), t_spike, m[_FIRST]),
                      jnp.where(spiked, t_spike, m[_LAST]), shift, m[_S1] + d,
                      m[_S2] + d * d, *ring])


class BlockRecord(eqx.Module):
    """The spikes of a run as the clock loop records them: each step updates the count and
    the online statistics elementwise and emits where its spike goes in the list
    (`record_step`); after a block of steps one scatter writes the block's spikes
    (`record_block`), instead of a scatter per step.

    **Fields:** `times`: `(max_spikes + 1,)` with a trailing discard slot (`(1,)` without a
    list); `count`: spikes so far, also beyond capacity; `stats`: the online statistics
    vector (`stats_init`), or None."""

    times: Float[Array, " max_spikes+1"]
    count: Int[Array, ""]
    stats: Float[Array, " 9"] | None = None


def record_step(record: BlockRecord, t_spike, spiked):
    """`(record, (slot, t_spike))`: the spike at `t_spike` (ms) where `spiked` counted and
    added to the statistics, and its slot in the list (the discard slot without a spike or
    past capacity), to emit as a scan output for `record_block`."""
    discard = record.times.shape[-1] - 1
    slot = jnp.where(spiked, jnp.minimum(record.count, discard), discard)
    stats = (None if record.stats is None
             else stats_update(record.stats, record.count, t_spike, spiked))
    count = record.count + spiked.astype(record.count.dtype)
    return BlockRecord(record.times, count, stats), (slot, t_spike)


def record_block(record: BlockRecord, emitted) -> BlockRecord:
    """Write a block's emitted `(slots, t_spikes)` (each `(block,)`) into the list."""
    slots, t_spikes = emitted
    times = record.times.at[slots].set(t_spikes, mode="promise_in_bounds")
    return BlockRecord(times, record.count, record.stats)


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


def assemble_trace(model, ts, saved, spike_times, n_spikes, ok, final_state, *, save,
                   spike_stats=None, record=None) -> Trace:
    """A `Trace` of `model` from what the engine saved, `saved = (states, v)`: the saved
    columns `(n_save, n_saved)` and the membrane potential `(n_save,)`, as `save` (the
    grid's `SaveSpec`) chose them. `final_state` is the full state at the end of the run
    `(n_states,)`; a non-finite final state clears `ok`. `ok` from the engine is False where
    its solver failed; `status` says which failure it was.

    `record` (a `SpikeRecord`) says what to keep: without `times` the list is dropped;
    with `stats` and no online `spike_stats` from the engine, they are computed from the
    engine's list (`spike_times`, whose overflow is then still flagged)."""
    states, v = saved
    finite = jnp.all(jnp.isfinite(final_state))
    overflowed = n_spikes > spike_times.shape[-1]
    if record is not None and not record.times:
        if record.stats and spike_stats is None:  # from the engine's list: overflow counts
            spike_stats = stats_from_times(spike_times, n_spikes)
        else:  # online statistics or only the count: nothing can be truncated
            overflowed = jnp.asarray(False)
        spike_times = spike_times[..., :0]
    elif record is not None and record.stats and spike_stats is None:
        spike_stats = stats_from_times(spike_times, n_spikes)
    status = jnp.where(~ok, STATUS_SOLVER_FAILED, jnp.where(
        ~finite, STATUS_NONFINITE, jnp.where(overflowed, STATUS_SPIKES_OVERFLOWED, STATUS_OK)))
    return Trace(ts=ts, states=states, v=v, spike_times=spike_times, n_spikes=n_spikes,
                 final_state=final_state, ok=ok & finite,
                 state_names=save.names(model.state_names),
                 status=status.astype(jnp.int32), spike_stats=spike_stats)
