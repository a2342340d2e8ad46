"""The hybrid (threshold-and-reset) engine behind `simulate` for `AbstractSpikingNeuron`s.

Two modes share one model definition and return the same `Trace`:

- **clock**: fixed Diffrax solver steps; a spike is an upward zero crossing of the model's
  `spike_condition` inside a step, its time linearly interpolated (so spike times carry
  gradients); the reset is applied at the end of the step as `y + s (reset(y) - y)`, and
  the refractory period is counted in whole steps. Without a surrogate, `s` is a constant
  0/1 (the "detached reset" of Zenke & Vogels 2021, Neural Comput. 33:899); with one, `s` is
  a Heaviside step whose derivative is the surrogate (`jaxneuron.spike_surrogates`), so
  gradients also flow through the reset. Steep surrogates can make these gradients grow
  step after step while the state hovers near threshold: lower the slope if they explode.
- **exact**: adaptive solver steps with spike times root-found on the solver's dense output
  inside the step, solver-accurate and differentiable (see `jaxneuron.spiking_exact`).
"""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp

from ._grid import save_times, scan_fixed_steps
from .analysis.spikes import empty_spike_buffer, record_spike
from .models.base import AbstractSpikingNeuron
from .solvers import local_time_term
from .spike_surrogates import AbstractSurrogate
from .stimuli import AbstractStimulus
from .trace import assemble_trace

SPIKING_MODES = ("clock", "exact")


class SpikingVectorField(eqx.Module):
    """The vector field of a spiking model under a stimulus, with the model's
    `clamped_states` slowed or held by `args`.

    Exact mode (`clock=False`): `args` is the time (ms) at which the refractory period ends;
    before it the clamped states are held. Clock mode (`clock=True`): `args` is the free
    fraction of the step for the clamped states (0 = held all step, 1 = free, up to 2 in
    the step after a reset, to catch up the part of the previous step after the crossing).
    """

    model: AbstractSpikingNeuron
    stimulus: AbstractStimulus
    clock: bool = eqx.field(static=True, default=False)

    def _free(self, t, args):
        held = jnp.asarray(self.model.clamped_states, dtype=int)
        factor = args if self.clock else jnp.where(t < args, 0.0, 1.0)
        return jnp.ones(len(self.model.state_names)).at[held].set(factor)

    def __call__(self, t, y, args):
        return self.model.vector_field(t, y, self.stimulus(t)) * self._free(t, args)

    def split(self, t, y, args):
        """`(rate, target)` for exponential solvers; held states get rate 0."""
        rate, target = self.model.exponential_split(t, y, self.stimulus(t))
        return rate * self._free(t, args), target


def input_events(stimulus, y0):
    """The stimulus's input events `(times, jumps)` checked against the state size; empty
    arrays when it has none."""
    events = stimulus.events()
    if events is None:
        return jnp.zeros((0,), y0.dtype), jnp.zeros((0, y0.shape[0]), y0.dtype)
    times, jumps = events
    if jumps.shape[-1] != y0.shape[0]:
        raise ValueError(f"stimulus events have jumps for {jumps.shape[-1]} states; the model "
                         f"has {y0.shape[0]}")
    return times, jumps


def clock_step(model, solver, term, t, dt, y, release, surrogate: AbstractSurrogate | None):
    """One clock-mode step of one neuron over `[t, t + dt]`, the reset included.

    `term` is the `diffrax.ODETerm` of a `SpikingVectorField(model, ..., clock=True)`;
    `release` is the time (ms) at which the clamped states restart after the last spike
    (`-inf` while running). Shared by `simulate_clock` and `jaxneuron.network` (which
    vmaps it over the neurons of a population).

    A state that starts the step at or above threshold (pushed there by an input jump at
    the end of the previous step) spikes at `t`: it is reset before the step is taken.

    **Returns:** `(y1, release, t_cross, crossed, fired)`: the state at `t + dt` after any
    reset, the updated release time, the spike time (ms: the interpolated crossing, `t` for
    a spike at the start, `t` if none), whether the neuron spiked in this step (bool), and
    the spike as a float (exactly `crossed` in value; with a surrogate, differentiable
    through it).
    """
    c_start = model.spike_condition(y)
    kicked = (release == -jnp.inf) & (c_start >= 0)
    kick = kicked.astype(y.dtype)  # no surrogate here: a crossing's gradient is taken once
    y = y + kick * (model.reset(y) - y)
    release = jnp.where(kicked, t + model.refractory_period, release)
    pending = release > -jnp.inf
    free = jnp.where(pending, jnp.clip((t + dt - release) / dt, 0.0, 2.0), 1.0)
    local = local_time_term(term, t)  # a static step size: see LocalTimeVectorField
    state = solver.init(local, 0.0, dt, y, free)
    y1 = solver.step(local, 0.0, dt, y, free, state, made_jump=False)[0]
    c0, c1 = model.spike_condition(y), model.spike_condition(y1)
    # A neuron can fire in the step in which its refractory period ends (the clamped states
    # move for the free part of that step), but not before the release time.
    can_fire = (t + dt > release) & (c0 < 0) & ~kicked  # one spike per step at most
    crossed = can_fire & (c1 >= 0)
    fired = crossed.astype(y.dtype) if surrogate is None else surrogate(c1) * can_fire
    frac = jnp.where(crossed, c0 / jnp.where(crossed, c0 - c1, 1.0), 0.0)
    t_cross = jnp.maximum(t + frac * dt, jnp.where(pending & ~kicked, release, t))
    gate = fired if surrogate is None or not surrogate.detach_reset else jax.lax.stop_gradient(
        fired)
    y1 = y1 + gate * (model.reset(y1) - y1)
    release = jnp.where(t + dt >= release, -jnp.inf, release)
    release = jnp.where(crossed, t_cross + model.refractory_period, release)
    return y1, release, t_cross, crossed | kicked, fired + kick


def simulate_clock(model, stimulus, solver, y0, t0, dt, n_steps, steps_per_save, max_spikes,
                   surrogate: AbstractSurrogate | None):
    """Clock-driven run on the grid `t0 + k dt`; returns a `Trace`."""
    term = diffrax.ODETerm(SpikingVectorField(model, stimulus, clock=True))
    times, jumps = input_events(stimulus, y0)
    # Input events in (t_k, t_k + dt] are added at the end of step k.
    step_of_event = jnp.ceil((times - t0) / dt).astype(jnp.int32) - 1
    step_of_event = jnp.where(jnp.isfinite(times), jnp.maximum(step_of_event, 0), n_steps)
    jumps_per_step = jax.ops.segment_sum(jumps, step_of_event, num_segments=n_steps)

    def one_step(carry, x):
        columns, release, spikes, count = carry
        k, jump = x
        t = t0 + k * dt
        y1, release, t_cross, crossed, _ = clock_step(model, solver, term, t, dt,
                                                      jnp.stack(columns), release, surrogate)
        y1 = y1 + jump
        spikes, count = record_spike(spikes, count, t_cross, crossed)
        return (tuple(y1), release, spikes, count), None

    carry = (tuple(y0), jnp.asarray(-jnp.inf, y0.dtype), empty_spike_buffer(max_spikes, y0.dtype),
             jnp.asarray(0, jnp.int32))
    carry, states = scan_fixed_steps(one_step, carry, y0, n_steps, steps_per_save,
                                     jumps_per_step)
    ts = save_times(t0, dt, n_steps, steps_per_save, y0.dtype)
    spikes, count = carry[2], carry[3]
    return assemble_trace(model, ts, states, spikes[:-1], count, jnp.asarray(True))
