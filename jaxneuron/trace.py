"""`Trace`: the result of one simulation."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

# Why a run failed: `Trace.status` (and `SweepResult.status`) holds one of these codes.
STATUS_OK = 0
STATUS_NONFINITE = 1
STATUS_SOLVER_FAILED = 2
STATUS_SPIKES_OVERFLOWED = 3
STATUS_OUTSIDE_DOMAIN = 4
STATUS_SUMMARY_NOT_FINITE = 5  # set by `jaxneuron.sweep` only
STATUS_IMPLAUSIBLE = 6
STATUS_INACCURATE = 7
STATUS_INPUT_UNRESOLVED = 8
STATUS_NOT_COMPUTED = 9  # set by `jaxneuron.sweep` stores only
STATUS_REASONS: dict[int, str] = {
    STATUS_OK: "ok",
    STATUS_NONFINITE: "the state became NaN/inf",
    STATUS_SOLVER_FAILED: "the solver failed (max_steps reached, the step size collapsed, or "
                          "the state became NaN/inf inside an adaptive step)",
    STATUS_SPIKES_OVERFLOWED: "more spikes than max_spikes (the spike list is truncated)",
    STATUS_OUTSIDE_DOMAIN: "parameters outside the model's or the stimulus's valid domain",
    STATUS_SUMMARY_NOT_FINITE: "a summary was infinite",
    STATUS_IMPLAUSIBLE: "a state left the model's plausible range, or the spike condition "
                        "still held after a reset (numerical overshoot: use a smaller dt or "
                        "float64)",
    STATUS_INACCURATE: "the fixed step's local error estimate is far above what the step "
                       "should give (use a smaller dt, or an adaptive/exact engine)",
    STATUS_INPUT_UNRESOLVED: "the stimulus has a pulse narrower than the step, which a fixed "
                             "step cannot resolve (use a smaller dt, or an adaptive/exact "
                             "engine)",
    STATUS_NOT_COMPUTED: "this set was never computed (an unfinished store: run the sweep "
                         "again to resume it)",
}
# Which code a run reports when several apply: the first of this order.
STATUS_PRECEDENCE: tuple[int, ...] = (
    STATUS_NOT_COMPUTED, STATUS_OUTSIDE_DOMAIN, STATUS_SOLVER_FAILED, STATUS_NONFINITE,
    STATUS_IMPLAUSIBLE, STATUS_INPUT_UNRESOLVED, STATUS_INACCURATE, STATUS_SPIKES_OVERFLOWED,
    STATUS_SUMMARY_NOT_FINITE)
# Codes whose run keeps `Trace.ok` True: the states are computed, but a result derived from
# them may be incomplete (a truncated spike list) or inaccurate (a warning, not a failure).
# `jaxneuron.sweep` counts them as flagged sets all the same.
STATUS_WARNINGS: frozenset[int] = frozenset({STATUS_SPIKES_OVERFLOWED, STATUS_INACCURATE})


def status_reason(code) -> str:
    """The text of a status code (`STATUS_REASONS`), e.g. for `Trace.status`."""
    return STATUS_REASONS.get(int(code), f"unknown status {int(code)}")


# How many spike times `SpikeStats.recent` keeps (enough for `steady_firing_rate`'s default).
N_RECENT = 4


class SpikeStats(eqx.Module):
    """Spike statistics of one run, computed online (without a list of spike times).

    Under `vmap` every field gains a leading batch axis.

    **Fields:**
    - `n_spikes`: number of spikes (int).
    - `first`, `last`: first and last spike time (ms), NaN without spikes.
    - `isi_mean`: mean interspike interval (ms), NaN with fewer than 2 spikes.
    - `isi_var`: sample variance (ddof 1) of the interspike intervals (ms²), NaN with fewer
      than 3 spikes.
    - `recent`: the last `N_RECENT` (4) spike times (ms), oldest first, NaN where fewer.
    """

    n_spikes: Int[Array, ""]
    first: Float[Array, ""]
    last: Float[Array, ""]
    isi_mean: Float[Array, ""]
    isi_var: Float[Array, ""]
    recent: Float[Array, " 4"]

    def steady_rate(self, n_last: int = 3) -> Float[Array, ""]:
        """Steady firing rate (Hz): 1000 / mean of the last `n_last` (1-3) interspike
        intervals, NaN with fewer than `n_last + 1` spikes (as `steady_firing_rate`)."""
        if not 1 <= n_last < N_RECENT:
            raise ValueError(f"n_last must be between 1 and {N_RECENT - 1}; got {n_last!r}")
        span = self.recent[..., -1] - self.recent[..., -1 - n_last]
        return jnp.where(self.n_spikes > n_last, 1000.0 * n_last / span, jnp.nan)



class AccuracyEstimate(eqx.Module):
    """The local-error estimate of a fixed-step run (`jaxneuron.engines.accuracy`): a few
    steps from where V changes fastest (away from spikes, resets and input jumps) taken
    again and compared with a fine reference.

    Under `vmap` every field gains a leading batch axis.

    **Fields:**
    - `error`: the estimate over its tolerance, the worst state of the probed steps
      (dimensionless, 0 when no step could be probed); above 1 the run's status is 7
      (`STATUS_INACCURATE`).
    - `v_error`: the estimated local error of V in the probed steps, mV per step.
    - `t`: start of the probed step that errs most, ms (NaN when no state was kept, e.g.
      V never moved).
    - `dt_hint`: a step (ms) that should bring `error` below 1 (the local error scaled
      as $dt^{p+1}$ for a solver of order p); `dt` itself where `error` is already below 1.
    """

    error: Float[Array, ""]
    v_error: Float[Array, ""]
    t: Float[Array, ""]
    dt_hint: Float[Array, ""]


class Trace(eqx.Module):
    """A simulated trajectory with its spikes.

    Under `vmap` every field gains a leading batch axis.

    **Fields:**
    - `ts`: save times (ms), shape `(n_save,)`.
    - `states`: saved states, shape `(n_save, n_saved)`, columns named by `state_names`:
      every state by default, those chosen with `simulate(..., save_states=...)` otherwise
      (`(n_save, 0)` for `save_states=()`).
    - `v`: membrane potential (mV) at the save times, shape `(n_save,)`, saved whatever
      `save_states` chose.
    - `spike_times`: upward threshold crossings (ms), interpolated inside the step,
      shape `(max_spikes,)`, NaN after the last one; shape `(0,)` when the run was asked
      not to record them (`SpikeRecord(times=False)`).
    - `n_spikes`: total number of crossings (may exceed `max_spikes`; see `spikes_overflowed`).
    - `state_names`: the names of the columns of `states` (static).
    - `final_state`: the full state at `t1`, shape `(n_states,)` (every state, whatever
      `save_states` chose).
    - `ok`: False if the run blew up (non-finite state), the solver failed (e.g.
      max_steps) or the parameters lie outside the model's domain (`AbstractNeuron.domain`).
      A run whose spike buffer overflowed keeps `ok` (its states and `n_spikes` are right)
      but its `spike_times` are truncated: `status` is 3 and `spikes_overflowed` is True;
      `jaxneuron.sweep` counts such a set as failed.
    - `status`: why the run is not fully trustworthy, one code (`STATUS_REASONS`,
      `status_reason`): 0 ok, 1 the state became NaN/inf, 2 the solver failed (max_steps or
      step-size collapse; adaptive and event-driven engines report a blow-up so), 3 more
      spikes than `max_spikes`, 4 parameters outside the model's or the stimulus's domain,
      6 an implausible state (beyond `model.plausible`, or above threshold after a reset),
      7 the fixed step is too coarse (`accuracy`; `ok` stays True: a warning), 8 a pulse of
      the stimulus shorter than the fixed step; the first that applies in
      `STATUS_PRECEDENCE`. `status == 0` means `ok` and a complete spike list.
    - `accuracy`: the local-error estimate of a fixed-step run (an `AccuracyEstimate`;
      status 7 when it is far above what the step should give), None for other engines or
      with the estimate turned off.
    - `spike_stats`: online spike statistics (`jaxneuron.engines.SpikeStats`: count, first
      and last spike, ISI mean and variance, recent spike times) when the run recorded them
      (`SpikeRecord(stats=True)`), else None.
    """

    ts: Float[Array, " n_save"]
    states: Float[Array, "n_save n_saved"]
    v: Float[Array, " n_save"]
    spike_times: Float[Array, " max_spikes"]
    n_spikes: Int[Array, ""]
    final_state: Float[Array, " n_states"]
    ok: Bool[Array, ""]
    state_names: tuple[str, ...] = eqx.field(static=True)
    status: Int[Array, ""] | int = 0
    spike_stats: SpikeStats | None = None
    accuracy: AccuracyEstimate | None = None

    @property
    def spikes_overflowed(self) -> Bool[Array, ""]:
        """True where more spikes occurred than `spike_times` can hold (never when no list
        was recorded)."""
        capacity = self.spike_times.shape[-1]
        return (self.n_spikes > capacity) & (capacity > 0)

    def state(self, name: str) -> Float[Array, " n_save"]:
        """The saved trajectory of the state called `name` (one of `state_names`, the saved
        states)."""
        if name not in self.state_names:
            raise ValueError(f"name must be one of {self.state_names}; got {name!r}")
        return self.states[..., self.state_names.index(name)]
