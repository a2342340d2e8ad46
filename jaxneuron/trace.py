"""`Trace`: the result of one simulation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

if TYPE_CHECKING:
    from .engines.spikes import SpikeStats

# Why a run failed: `Trace.status` (and `SweepResult.status`) holds one of these codes.
STATUS_OK = 0
STATUS_NONFINITE = 1
STATUS_SOLVER_FAILED = 2
STATUS_SPIKES_OVERFLOWED = 3
STATUS_OUTSIDE_DOMAIN = 4
STATUS_SUMMARY_NOT_FINITE = 5  # set by `jaxneuron.sweep` only
STATUS_REASONS: dict[int, str] = {
    STATUS_OK: "ok",
    STATUS_NONFINITE: "the state became NaN/inf",
    STATUS_SOLVER_FAILED: "the solver failed (max_steps reached, the step size collapsed, or "
                          "the state became NaN/inf inside an adaptive step)",
    STATUS_SPIKES_OVERFLOWED: "more spikes than max_spikes (the spike list is truncated)",
    STATUS_OUTSIDE_DOMAIN: "parameters outside the model's valid domain",
    STATUS_SUMMARY_NOT_FINITE: "a summary was infinite",
}


def status_reason(code) -> str:
    """The text of a status code (`STATUS_REASONS`), e.g. for `Trace.status`."""
    return STATUS_REASONS.get(int(code), f"unknown status {int(code)}")


class Trace(eqx.Module):
    """A simulated trajectory with its spikes.

    Under `vmap` every field gains a leading batch axis.

    **Fields:**
    - `ts`: save times (ms), shape `(n_save,)`.
    - `states`: saved states, shape `(n_save, n_states)`, columns named by `state_names`.
    - `v`: membrane potential (mV) at the save times, shape `(n_save,)`.
    - `spike_times`: upward threshold crossings (ms), interpolated inside the step,
      shape `(max_spikes,)`, NaN after the last one; shape `(0,)` when the run was asked
      not to record them (`SpikeRecord(times=False)`).
    - `n_spikes`: total number of crossings (may exceed `max_spikes`; see `spikes_overflowed`).
    - `final_state`: state at `t1`, shape `(n_states,)`.
    - `ok`: False if the run blew up (non-finite state), the solver failed (e.g.
      max_steps) or the parameters lie outside the model's domain (`AbstractNeuron.domain`).
      A run whose spike buffer overflowed keeps `ok` (its states and `n_spikes` are right)
      but its `spike_times` are truncated: `status` is 3 and `spikes_overflowed` is True;
      `jaxneuron.sweep` counts such a set as failed.
    - `status`: why the run is not fully trustworthy, one code (`STATUS_REASONS`,
      `status_reason`): 0 ok, 1 the state became NaN/inf, 2 the solver failed (max_steps or
      step-size collapse; adaptive and event-driven engines report a blow-up so), 3 more
      spikes than `max_spikes`, 4 parameters outside the model's domain (the first that
      applies in the order 4, 2, 1, 3). `status == 0` means `ok`
      and a complete spike list.
    - `spike_stats`: online spike statistics (`jaxneuron.engines.SpikeStats`: count, first
      and last spike, ISI mean and variance, recent spike times) when the run recorded them
      (`SpikeRecord(stats=True)`), else None.
    """

    ts: Float[Array, " n_save"]
    states: Float[Array, "n_save n_states"]
    v: Float[Array, " n_save"]
    spike_times: Float[Array, " max_spikes"]
    n_spikes: Int[Array, ""]
    final_state: Float[Array, " n_states"]
    ok: Bool[Array, ""]
    state_names: tuple[str, ...] = eqx.field(static=True)
    status: Int[Array, ""] | int = 0
    spike_stats: SpikeStats | None = None

    @property
    def spikes_overflowed(self) -> Bool[Array, ""]:
        """True where more spikes occurred than `spike_times` can hold (never when no list
        was recorded)."""
        capacity = self.spike_times.shape[-1]
        return (self.n_spikes > capacity) & (capacity > 0)

    def state(self, name: str) -> Float[Array, " n_save"]:
        """The saved trajectory of the state called `name`."""
        if name not in self.state_names:
            raise ValueError(f"name must be one of {self.state_names}; got {name!r}")
        return self.states[..., self.state_names.index(name)]


def assemble_trace(model, ts, states, spike_times, n_spikes, ok, final_state=None, *,
                   spike_stats=None, record=None) -> Trace:
    """A `Trace` of `model` from saved `states` `(n_save, n_states)`; `final_state`
    defaults to the last saved state, and a non-finite final state clears `ok`. `ok` from
    the engine is False where its solver failed; `status` says which failure it was.

    `record` (a `SpikeRecord`) says what to keep: without `times` the list is dropped;
    with `stats` and no online `spike_stats` from the engine, they are computed from the
    engine's list (`spike_times`, whose overflow is then still flagged)."""
    from .engines.spikes import stats_from_times  # the engines import this module

    final = states[-1] if final_state is None else final_state
    finite = jnp.all(jnp.isfinite(final))
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
    return Trace(ts=ts, states=states, v=jax.vmap(model.voltage)(states),
                 spike_times=spike_times, n_spikes=n_spikes, final_state=final,
                 ok=ok & jnp.all(jnp.isfinite(final)), state_names=tuple(model.state_names),
                 status=status.astype(jnp.int32), spike_stats=spike_stats)
