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
- **exact**: adaptive `diffrax.diffeqsolve` segments, each ended by a `diffrax.Event` on
  `spike_condition` (root-found on the solver's dense output), the end of a refractory
  period, or an input event. Spike times are solver-accurate and differentiable (implicit
  function theorem through the root find).
"""

from __future__ import annotations

import diffrax
import equinox as eqx
import equinox.internal as eqxi
import jax
import jax.numpy as jnp
import optimistix as optx

from ._grid import save_times, scan_fixed_steps
from .analysis.spikes import empty_spike_buffer, record_spike
from .models.base import AbstractSpikingNeuron
from .solvers import adaptive_controller
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
        held = jnp.asarray(self.model.clamped_states)
        factor = args if self.clock else jnp.where(t < args, 0.0, 1.0)
        return jnp.ones(len(self.model.state_names)).at[held].set(factor)

    def __call__(self, t, y, args):
        return self.model.vector_field(t, y, self.stimulus(t)) * self._free(t, args)

    def split(self, t, y, args):
        """`(rate, target)` for exponential solvers; held states get rate 0."""
        rate, target = self.model.exponential_split(t, y, self.stimulus(t))
        return rate * self._free(t, args), target


def _events(stimulus, y0):
    events = stimulus.events()
    if events is None:
        return jnp.zeros((0,), y0.dtype), jnp.zeros((0, y0.shape[0]), y0.dtype)
    times, jumps = events
    if jumps.shape[-1] != y0.shape[0]:
        raise ValueError(f"stimulus events have jumps for {jumps.shape[-1]} states; the model "
                         f"has {y0.shape[0]}")
    return times, jumps


def simulate_clock(model, stimulus, solver, y0, t0, dt, n_steps, steps_per_save, max_spikes,
                   surrogate: AbstractSurrogate | None):
    """Clock-driven run on the grid `t0 + k dt`; returns a `Trace`."""
    term = diffrax.ODETerm(SpikingVectorField(model, stimulus, clock=True))
    times, jumps = _events(stimulus, y0)
    # Input events in (t_k, t_k + dt] are added at the end of step k.
    step_of_event = jnp.ceil((times - t0) / dt).astype(jnp.int32) - 1
    step_of_event = jnp.where(jnp.isfinite(times), jnp.maximum(step_of_event, 0), n_steps)
    jumps_per_step = jax.ops.segment_sum(jumps, step_of_event, num_segments=n_steps)
    t_ref = model.refractory_period

    def one_step(carry, x):
        columns, release, spikes, count = carry
        k, jump = x
        y = jnp.stack(columns)
        t = t0 + k * dt
        # `release`: when the clamped states restart after the last spike (-inf: running).
        pending = release > -jnp.inf
        free = jnp.where(pending, jnp.clip((t + dt - release) / dt, 0.0, 2.0), 1.0)
        state = solver.init(term, t, t + dt, y, free)
        y1 = solver.step(term, t, t + dt, y, free, state, made_jump=False)[0]
        c0, c1 = model.spike_condition(y), model.spike_condition(y1)
        can_fire = (t >= release) & (c0 < 0)
        crossed = can_fire & (c1 >= 0)
        fired = crossed.astype(y.dtype) if surrogate is None else surrogate(c1) * can_fire
        frac = jnp.where(crossed, c0 / jnp.where(crossed, c0 - c1, 1.0), 0.0)
        t_cross = t + frac * dt
        y1 = y1 + fired * (model.reset(y1) - y1) + jump
        release = jnp.where(t + dt >= release, -jnp.inf, release)
        release = jnp.where(crossed, t_cross + t_ref, release)
        spikes, count = record_spike(spikes, count, t_cross, crossed)
        return (tuple(y1), release, spikes, count), None

    carry = (tuple(y0), jnp.asarray(-jnp.inf, y0.dtype), empty_spike_buffer(max_spikes, y0.dtype),
             jnp.asarray(0, jnp.int32))
    carry, states = scan_fixed_steps(one_step, carry, y0, n_steps, steps_per_save,
                                     jumps_per_step)
    ts = save_times(t0, dt, n_steps, steps_per_save, y0.dtype)
    spikes, count = carry[2], carry[3]
    return assemble_trace(model, ts, states, spikes[:-1], count, jnp.asarray(True))


def simulate_exact(model, stimulus, solver, y0, t0, t1, dt0, ts, rtol, atol, max_steps,
                   adjoint, max_spikes):
    """Event-driven run: `diffeqsolve` segments between spikes, refractory ends and input
    events; states saved at `ts`; returns a `Trace`."""
    term = diffrax.ODETerm(SpikingVectorField(model, stimulus))
    times, jumps = _events(stimulus, y0)
    n_events = times.shape[0]
    t_ref = model.refractory_period
    # Newton on the dense output. Its stopping test needs |condition| < atol as well as a
    # small step in t; near a steep upswing the condition cannot get below its rounding
    # (|dV/dt| x ulp(t)), hence atol well above that. Newton's last step is then far smaller.
    f64 = y0.dtype == jnp.float64
    newton = optx.Newton(rtol=1e-12 if f64 else 1e-6, atol=1e-9 if f64 else 1e-2)
    event = diffrax.Event(
        lambda t, y, args, **kwargs: jnp.where(t < args, -1.0, model.spike_condition(y)),
        root_finder=newton,
        direction=True,
    )
    controller = adaptive_controller(stimulus, t0, t1, rtol, atol)
    loop_kind = ("lax" if isinstance(adjoint, diffrax.ForwardMode) else
                 "bounded" if isinstance(adjoint, diffrax.DirectAdjoint) else "checkpointed")
    adjoint = diffrax.RecursiveCheckpointAdjoint() if adjoint is None else adjoint
    # Each spike costs at most two segments (spike, end of refractoriness); each input
    # event one; plus the last. One spike more than the buffer holds marks the overflow.
    max_segments = 2 * (max_spikes + 1) + n_events + 1

    def segment(carry):
        t, y, refractory_until, n_done, spikes, count, states, done, ok, _ = carry
        next_input = times[jnp.minimum(n_done, n_events - 1)] if n_events else jnp.inf
        next_input = jnp.where(n_done < n_events, next_input, jnp.inf)
        t_end = jnp.minimum(jnp.minimum(t1, next_input),
                            jnp.where(refractory_until > t, refractory_until, jnp.inf))
        t_end = jnp.where(done, t, t_end)
        sol = diffrax.diffeqsolve(
            term, solver, t, t_end, dt0, y, args=refractory_until, event=event,
            saveat=diffrax.SaveAt(subs=[diffrax.SubSaveAt(ts=jnp.clip(ts, t, t_end)),
                                        diffrax.SubSaveAt(t1=True)]),
            stepsize_controller=controller, max_steps=max_steps, adjoint=adjoint, throw=False,
        )
        t_stop, y_stop = sol.ts[1][-1], sol.ys[1][-1]
        seg_ok = (sol.result == diffrax.RESULTS.successful) | (
            sol.result == diffrax.RESULTS.event_occurred)
        spiked = sol.event_mask & ~done
        spikes, count = record_spike(spikes, count, t_stop, spiked)
        y_next = jnp.where(spiked, model.reset(y_stop), y_stop)
        refractory_until = jnp.where(spiked, t_stop + t_ref, refractory_until)
        if n_events:
            due = (times <= t_stop) & (jnp.arange(n_events) >= n_done) & ~done
            y_next = y_next + jnp.sum(jnp.where(due[:, None], jumps, 0.0), axis=0)
            n_done = n_done + jnp.sum(due, dtype=n_done.dtype)
        # Saved states are right-continuous: a grid point at a spike or input event gets
        # the state after the reset/jump.
        states = jnp.where(((ts > t) & (ts < t_stop) & ~done)[:, None], sol.ys[0], states)
        states = jnp.where(((ts == t_stop) & ~done)[:, None], y_next, states)
        ok = ok & (seg_ok | done)
        done = done | (t_stop >= t1) | ~seg_ok
        return (t_stop, y_next, refractory_until, n_done, spikes, count, states, done, ok,
                count > max_spikes)

    def not_finished(carry):
        done, overflowed = carry[7], carry[9]
        return ~done & ~overflowed

    states = jnp.full((ts.shape[0], y0.shape[0]), jnp.nan, y0.dtype).at[0].set(y0)
    init = (jnp.asarray(t0, y0.dtype), y0, jnp.asarray(-jnp.inf, y0.dtype),
            jnp.asarray(0, jnp.int32), empty_spike_buffer(max_spikes, y0.dtype),
            jnp.asarray(0, jnp.int32), states, jnp.asarray(False), jnp.asarray(True),
            jnp.asarray(False))
    final = eqxi.while_loop(not_finished, segment, init, max_steps=max_segments,
                            kind=loop_kind)
    _, y, _, _, spikes, count, states, done, ok, _ = final
    return assemble_trace(model, ts, states, spikes[:-1], count, ok & done, final_state=y)
