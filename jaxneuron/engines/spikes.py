"""Spike detection and recording inside the engines, on NaN-padded fixed-size arrays.

Spike times are upward crossings located inside the step (or the sampling interval) by
linear interpolation. Arrays of spike times have a fixed size (so they work under
`jit`/`vmap`) and are padded with NaN after the last spike. The statistics that a sweep's
default summary needs (`steady_firing_rate`) live here too, so the engines and `sweep`
depend on no analysis module; `jaxneuron.analysis.spikes` re-exports them.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from ..models.base import PLAUSIBLE_VOLTAGE
from ..trace import (
    N_RECENT,
    STATUS_IMPLAUSIBLE,
    STATUS_INPUT_UNRESOLVED,
    STATUS_NONFINITE,
    STATUS_OK,
    STATUS_PRECEDENCE,
    STATUS_SOLVER_FAILED,
    STATUS_SPIKES_OVERFLOWED,
    STATUS_WARNINGS,
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
      default False). The clock engine computes them inside its loop, without a list:
      under `vmap`, once per block of steps for each spike rank of the busiest neuron
      (`record_block`), so they cost little more than the count.
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


class OnlineStats(NamedTuple):
    """The online spike statistics of one neuron, each a scalar, so that a loop carries them
    as separate arrays (under `vmap`, one contiguous `(batch,)` array each: no stacking).

    The ISI mean needs no sum of its own (it is `(last - first) / (n - 1)`); the squared
    ISIs are summed shifted by the first ISI (the shifted-data algorithm), so the variance
    of regular spike trains keeps its precision in float32. `recent` is a shift register
    of the last `N_RECENT` spike times, oldest first, NaN where fewer; its last entry is
    the last spike. (A ring indexed by `count mod N_RECENT` costs twice as much on a CPU:
    integer remainders do not vectorise.)"""

    first: Float[Array, ""]
    shift: Float[Array, ""]
    sum_sq: Float[Array, ""]
    recent: tuple


def stats_init(dtype) -> OnlineStats:
    """The online statistics before the first spike."""
    nan = jnp.full((), jnp.nan, dtype)
    return OnlineStats(nan, nan, jnp.zeros((), dtype), (nan,) * N_RECENT)


def stats_update(m: OnlineStats, count: Int[Array, ""], t_spike, spiked) -> OnlineStats:
    """Add the spike at `t_spike` (ms) where `spiked`, after `count` spikes: elementwise, no
    scatter."""
    isi = t_spike - m.recent[-1]
    has_isi = spiked & (count >= 1)
    shift = jnp.where(has_isi & (count == 1), isi, m.shift)
    d = jnp.where(has_isi, isi - shift, 0.0)
    recent = tuple(jnp.where(spiked, new, old)
                   for old, new in zip(m.recent, (*m.recent[1:], t_spike), strict=True))
    return OnlineStats(jnp.where(spiked & (count == 0), t_spike, m.first), shift,
                       m.sum_sq + d * d, recent)


def stats_finish(m: OnlineStats, count: Int[Array, ""]) -> SpikeStats:
    """The `SpikeStats` of the online statistics after `count` spikes."""
    last = m.recent[-1]
    n_isi = (count - 1).astype(last.dtype)
    isi_mean = (last - m.first) / jnp.maximum(n_isi, 1.0)
    mean_d = isi_mean - m.shift
    var = (m.sum_sq - n_isi * mean_d * mean_d) / jnp.maximum(n_isi - 1.0, 1.0)
    return SpikeStats(
        n_spikes=count, first=m.first, last=last,
        isi_mean=jnp.where(count >= 2, isi_mean, jnp.nan),
        isi_var=jnp.where(count >= 3, jnp.maximum(var, 0.0), jnp.nan),
        recent=jnp.stack(m.recent))


def stats_from_times(spike_times: Float[Array, " k"], n_spikes: Int[Array, ""]) -> SpikeStats:
    """`SpikeStats` of a NaN-padded list of spike times (for engines that record the list;
    exact when the list holds every spike)."""
    listed = jnp.sum(~jnp.isnan(spike_times), dtype=jnp.int32)
    m = stats_init(spike_times.dtype)
    if spike_times.shape[-1]:
        shift = (spike_times[1] if spike_times.shape[-1] > 1 else jnp.nan) - spike_times[0]
        isi = jnp.diff(spike_times)
        d = jnp.where(jnp.isnan(isi), 0.0, isi - shift)
        padded = jnp.concatenate([jnp.full((N_RECENT,), jnp.nan, spike_times.dtype),
                                  spike_times])
        recent = jax.lax.dynamic_slice(padded, (listed,), (N_RECENT,))
        m = OnlineStats(spike_times[0], shift, jnp.sum(d * d), tuple(recent))
    return eqx.tree_at(lambda s: s.n_spikes, stats_finish(m, listed),
                       n_spikes.astype(jnp.int32))


# Steps per block of the recording: each step emits its spike time (NaN without a spike)
# and `record_block` adds the block's spikes to the list and the statistics at its end.
RECORD_BLOCK = 20


class BlockRecord(eqx.Module):
    """The spikes of a run as the fixed-step loops record them. A loop that keeps only the
    count adds each step's spike (`record_step`). A loop that keeps the list or the
    statistics emits each step's spike time (`emit`) and adds a block of steps at a time
    (`record_block`): under `vmap` that costs a few batch-wide operations per spike rank
    of the busiest neuron, instead of a scatter of every neuron and a statistics update at
    every step.

    **Fields:** `times`: `(max_spikes,)` (`(0,)` without a list); `count`: spikes so far,
    also beyond capacity (those of the blocks added); `stats`: the online statistics
    (`OnlineStats`), or None."""

    times: Float[Array, " max_spikes"]
    count: Int[Array, ""]
    stats: OnlineStats | None = None


def start_record(record: SpikeRecord, dtype) -> BlockRecord:
    """The `BlockRecord` of a fixed-step loop before its first step, keeping what `record`
    asks for (the list of spike times, the online statistics)."""
    return BlockRecord(jnp.full((record.capacity,), jnp.nan, dtype), jnp.asarray(0, jnp.int32),
                       stats_init(dtype) if record.stats else None)


def record_step(record: BlockRecord, t_spike, spiked) -> BlockRecord:
    """The record with the spike at `t_spike` (ms) added where `spiked`: the list, the
    statistics and the count (a loop that keeps only the count calls it every step)."""
    capacity = record.times.shape[-1]
    times = record.times
    if capacity:
        # no write without a spike or beyond capacity (an index past the end is dropped):
        # under vmap the scatter touches only the rows of the neurons that spiked
        slot = jnp.where(spiked, jnp.minimum(record.count, capacity), capacity)
        times = times.at[slot].set(t_spike, mode="drop", unique_indices=True)
    stats = (None if record.stats is None
             else stats_update(record.stats, record.count, t_spike, spiked))
    return BlockRecord(times, record.count + spiked.astype(record.count.dtype), stats)


def emit(record: BlockRecord, t_spike, spiked) -> tuple[BlockRecord, Array]:
    """`(record, emitted)`: the record as it was (`record_block` counts the spike and adds
    it to the list and the statistics) and what the step emits for `record_block`, its
    spike time (ms) where `spiked`, NaN without a spike."""
    return record, jnp.where(spiked, t_spike, jnp.nan)


def record_block(record: BlockRecord, emitted: Float[Array, " block"]) -> BlockRecord:
    """The record with a block's emitted spike times (`(block,)`, in step order, NaN
    without a spike) counted and added to the list and the statistics."""
    added = add_block(record, emitted)
    # the count added here (one pass over the block), not by `add_block` (the same number):
    # a run whose list and statistics go unused then compiles without them
    spiked = [(~jnp.isnan(emitted[k])).astype(record.count.dtype)
              for k in range(emitted.shape[0])]
    return BlockRecord(added.times, record.count + sum(spiked[1:], spiked[0]), added.stats)


@jax.custom_jvp
def add_block(record: BlockRecord, emitted: Float[Array, " block"]) -> BlockRecord:
    """`record_step` of each step of a block in turn (`emitted` as in `record_block`),
    computed by spike rank.

    Under `vmap` (`_record_ranks`) the k-th spike of every neuron in the block is added
    in one batch-wide step, for k up to the busiest neuron's count: spikes are sparse, so a
    block of 20 steps takes one or two such steps. Differentiable in forward and reverse
    mode: the tangents are those of `record_step` step by step (`_record_steps`)."""
    leaves, treedef = jax.tree.flatten(record)
    return treedef.unflatten(_record_ranks_vmappable(treedef, emitted, *leaves))


@add_block.defjvp
def _add_block_jvp(primals, tangents):
    _, d_record = jax.jvp(_record_steps, primals, tangents)
    return add_block(*primals), d_record


def _record_steps(record: BlockRecord, emitted) -> BlockRecord:
    """`add_block` step by step (the reference whose tangents `add_block` takes)."""
    def one(record, t):
        return record_step(record, t, ~jnp.isnan(t)), None

    return jax.lax.scan(one, record, emitted)[0]


def _record_ranks_vmappable(treedef, emitted, *leaves):
    @jax.custom_batching.custom_vmap
    def ranks(emitted, *leaves):
        batched = [x[None] for x in leaves]
        return [x[0] for x in _record_ranks(treedef, emitted[:, None], batched)]

    @ranks.def_vmap
    def rule(axis_size, in_batched, emitted, *leaves):
        emitted, *leaves = (
            x if batched else jnp.broadcast_to(x, (axis_size, *x.shape))
            for x, batched in zip((emitted, *leaves), in_batched, strict=True))
        out = _record_ranks(treedef, jnp.moveaxis(emitted, 0, 1), leaves)
        return out, [True] * len(out)

    return ranks(emitted, *leaves)


def _record_ranks(treedef, emitted, leaves):
    """`add_block` of a batch by spike rank: `emitted` `(block, batch)` (steps by
    neurons, the layout in which the loop stacked them), `leaves` those of a batched
    `BlockRecord`. Returns the new leaves.

    Every pass over the block is written row by row (`_next_step`), which
    XLA fuses into one loop over the neurons reading the block's rows side by side; a
    reduction over the block axis would read each neuron's steps a row apart (no
    vectorisation, a cache line per element) and cost more than the steps themselves."""
    block, batch = emitted.shape
    spiked = [~jnp.isnan(emitted[k]) for k in range(block)]
    rows = jnp.arange(batch)

    def add_rank(_, carry):
        leaves, step = carry
        t_spike = emitted[jnp.minimum(step, block - 1), rows]
        record = jax.vmap(record_step)(treedef.unflatten(leaves), t_spike, step < block)
        return jax.tree.leaves(record), _next_step(spiked, step)

    leaves, _ = jax.lax.while_loop(lambda carry: jnp.any(carry[1] < block),
                                   lambda carry: add_rank(None, carry),
                                   (list(leaves), _next_step(spiked, -1)))
    return leaves


def _next_step(spiked: list, after):
    """The step of each neuron's next spike after step `after` (`len(spiked)`: none), from
    the rows `spiked[k]` (bools, one per neuron) of a block."""
    block = len(spiked)
    step = jnp.full(jnp.shape(spiked[0]), block, jnp.int32)
    for k in reversed(range(block)):
        step = jnp.where(spiked[k] & (k > after), k, step)
    return step


def flush_record(carry, emitted):
    """`scan_fixed_steps`' `flush` for loops whose carry ends with a `BlockRecord`: add a
    block's emitted spikes (`record_block`)."""
    return (*carry[:-1], record_block(carry[-1], emitted))


def finish_record(spikes: BlockRecord, last, record: SpikeRecord, blocks: bool):
    """`(spike_times, n_spikes, spike_stats)` of a fixed-step loop's record once the spike of
    the last step, `last = (t_spike, spiked)` (ms, bool), is added (by `record_block` if
    the loop records by `blocks`): the list and the `SpikeStats`
    (None unless `record.stats`)."""
    if blocks:
        spikes, emitted = emit(spikes, *last)
        spikes = record_block(spikes, emitted[None])
    else:
        spikes = record_step(spikes, *last)
    stats = None if spikes.stats is None else stats_finish(spikes.stats, spikes.count)
    return spikes.times, spikes.count, stats


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


def unresolved_input(stimulus, grid) -> dict:
    """The flag of a fixed-step run whose stimulus has a pulse (or a gap between pulses)
    shorter than the step inside the run, which the step may not sample at all:
    `{STATUS_INPUT_UNRESOLVED: bool}` for `assemble_trace`."""
    shortest = stimulus.shortest_pulse(grid.t0, grid.t1)
    return {STATUS_INPUT_UNRESOLVED: jnp.asarray(shortest) < grid.dt}


def assemble_trace(model, ts, saved, spike_times, n_spikes, ok, final_state, *, save,
                   spike_stats=None, record=None, flags=None) -> Trace:
    """A `Trace` of `model` from what the engine saved, `saved = (states, v)`: the saved
    columns `(n_save, n_saved)` and the membrane potential `(n_save,)`, as `save` (the
    grid's `SaveSpec`) chose them. `final_state` is the full state at the end of the run
    `(n_states,)`; a non-finite final state clears `ok`, and so does an implausible one
    (`model.plausible` of the final state, or a saved V beyond `PLAUSIBLE_VOLTAGE`). `ok`
    from the engine is False where its solver failed; `status` says which failure it was.
    `flags` maps further status codes (e.g. `STATUS_INPUT_UNRESOLVED`) to booleans raised by
    the engine; codes in `STATUS_WARNINGS` keep `ok`.

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
    implausible = ~model.plausible(final_state) | jnp.any(jnp.abs(v) > PLAUSIBLE_VOLTAGE)
    raised = {STATUS_SOLVER_FAILED: ~ok, STATUS_NONFINITE: ~finite,
              STATUS_IMPLAUSIBLE: implausible, STATUS_SPIKES_OVERFLOWED: overflowed,
              **(flags or {})}
    status, failed = jnp.asarray(STATUS_OK), jnp.asarray(False)
    for code in reversed(STATUS_PRECEDENCE):  # the first in the order wins
        if code in raised:
            status = jnp.where(raised[code], code, status)
            if code not in STATUS_WARNINGS:
                failed = failed | raised[code]
    return Trace(ts=ts, states=states, v=v, spike_times=spike_times, n_spikes=n_spikes,
                 final_state=final_state, ok=~failed,
                 state_names=save.names(model.state_names),
                 status=status.astype(jnp.int32), spike_stats=spike_stats)
