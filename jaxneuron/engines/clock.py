"""`ClockSpiking`: threshold-and-reset models on a fixed step (what Brian2 does), with the
crossing interpolated inside the step and the refractory period resolved to a fraction of
a step.

A spike is an upward zero crossing of the model's `spike_condition` inside a step, its time
linearly interpolated (so spike times carry gradients); the reset is applied at the end of
the step as `y + s (reset(y) - y)`. Without a surrogate, `s` is a constant 0/1 (the
"detached reset" of Zenke & Vogels 2021, Neural Comput. 33:899); with one, `s` is a
Heaviside step whose derivative is the surrogate (`jaxneuron.spike_surrogates`), so
gradients also flow through the reset. Steep surrogates can make these gradients grow step
after step while the state hovers near threshold: lower the slope if they explode.
"""

from __future__ import annotations

from typing import NamedTuple

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp

from ..models.base import AbstractGatedNeuron, AbstractSpikingNeuron
from ..spike_surrogates import AbstractSurrogate
from ..trace import assemble_trace
from .base import AbstractEngine, require_explicit, require_spiking
from .grid import scan_fixed_steps
from .solvers import (
    ExponentialMidpoint,
    check_solver_fits,
    solver_from_name,
)
from .solvers.runge_kutta import fixed_step, init_fixed_step
from .spikes import empty_spike_buffer, record_spike
from .terms import SpikingVectorField, input_events, local_time_term


class ClockStep(NamedTuple):
    """The outcome of one clock-driven step of one neuron (`ClockSpiking.step`).

    **Fields:**
    - `y`: the state at `t + dt` after any reset, `(n_states,)`.
    - `release`: the time (ms) at which the clamped states restart (`-inf` while running).
    - `t_spike`: the spike time (ms): the interpolated crossing, or `t` for a spike at the
      start of the step or none.
    - `spiked`: whether the neuron spiked in this step (bool).
    - `fired`: the spike as a float, exactly `spiked` in value; with a surrogate,
      differentiable through it.
    """

    y: jax.Array
    release: jax.Array
    t_spike: jax.Array
    spiked: jax.Array
    fired: jax.Array


class ClockSpiking(AbstractEngine):
    """Clock-driven spiking: fixed steps of `dt`, spikes interpolated inside the step, reset
    at the end of the step, refractory periods resolved to a fraction of a step.

    Differentiates in forward and reverse mode and under `vmap`; spike times carry
    gradients through the interpolated crossing.

    **Fields:**
    - `solver`: a name or explicit Diffrax solver; default `"exp_midpoint"` for
      `AbstractGatedNeuron`s (such as `LIF`), `"heun"` otherwise.
    - `surrogate`: a surrogate derivative of the spike (e.g. `jaxneuron.FastSigmoid(0.2)`)
      through which gradients flow across resets; `None` (default) treats the reset as a
      constant (spike-time gradients still flow through the interpolated crossing).
    """

    solver: diffrax.AbstractSolver | None = eqx.field(default=None, converter=solver_from_name)
    surrogate: AbstractSurrogate | None = None

    def __check_init__(self):
        if self.surrogate is not None and not isinstance(self.surrogate, AbstractSurrogate):
            raise ValueError(f"surrogate must be a jaxneuron.spike_surrogates surrogate such "
                             f"as FastSigmoid(slope); got {self.surrogate!r}")

    def solver_for(self, model: AbstractSpikingNeuron) -> diffrax.AbstractSolver:
        """The solver this engine steps `model` with (the default resolved).

        **Raises:** `ValueError` if the solver does not fit the model or is implicit.
        """
        require_spiking(self, model)
        solver = self.solver
        if solver is None:
            solver = ExponentialMidpoint() if isinstance(model, AbstractGatedNeuron) else (
                diffrax.Heun())
        check_solver_fits(solver, model)
        require_explicit(self, solver)
        return solver

    def step(self, model: AbstractSpikingNeuron, drive, t, dt: float, y, release) -> ClockStep:
        """One clock-driven step of one neuron over `[t, t + dt]` (ms), the reset included.

        This is the public contract for other stepping loops (`jaxneuron.network` vmaps it
        over the neurons of a population).

        **Arguments:**
        - `model`: the spiking model (scalar parameters).
        - `drive`: the input, callable as `drive(t)` -> current (a stimulus).
        - `t`, `dt`: start of the step and its length, ms (`dt` a Python number).
        - `y`: the state at `t`, `(n_states,)`.
        - `release`: the time (ms) at which the clamped states restart after the last spike
          (`-inf` while running).

        A state that starts the step at or above threshold (pushed there by an input jump
        at the end of the previous step) spikes at `t`: it is reset before the step.

        **Returns:** a `ClockStep`.
        """
        solver = self.solver_for(model)
        surrogate = self.surrogate
        term = diffrax.ODETerm(SpikingVectorField(model, drive, clock=True))
        c_start = model.spike_condition(y)
        kicked = (release == -jnp.inf) & (c_start >= 0)
        kick = kicked.astype(y.dtype)  # no surrogate here: a crossing's gradient is taken once
        y = y + kick * (model.reset(y) - y)
        release = jnp.where(kicked, t + model.refractory_period, release)
        pending = release > -jnp.inf
        free = jnp.where(pending, jnp.clip((t + dt - release) / dt, 0.0, 2.0), 1.0)
        local = local_time_term(term, t)  # a static step size: see LocalTimeVectorField
        y1, _ = fixed_step(solver, local, dt, y, free, init_fixed_step(solver, local, dt, y, free))
        c0, c1 = model.spike_condition(y), model.spike_condition(y1)
        # A neuron can fire in the step in which its refractory period ends (the clamped
        # states move for the free part of that step), but not before the release time.
        can_fire = (t + dt > release) & (c0 < 0) & ~kicked  # one spike per step at most
        crossed = can_fire & (c1 >= 0)
        fired = crossed.astype(y.dtype) if surrogate is None else surrogate(c1) * can_fire
        frac = jnp.where(crossed, c0 / jnp.where(crossed, c0 - c1, 1.0), 0.0)
        t_cross = jnp.maximum(t + frac * dt, jnp.where(pending & ~kicked, release, t))
        through_reset = surrogate is None or not surrogate.detach_reset
        gate = fired if through_reset else jax.lax.stop_gradient(fired)
        y1 = y1 + gate * (model.reset(y1) - y1)
        release = jnp.where(t + dt >= release, -jnp.inf, release)
        release = jnp.where(crossed, t_cross + model.refractory_period, release)
        return ClockStep(y1, release, t_cross, crossed | kicked, fired + kick)

    def run(self, model, stimulus, y0, grid, record):
        self.solver_for(model)  # validates the pairing before tracing the loop
        t0, dt, n_steps = grid.t0, grid.dt, grid.n_steps
        times, jumps = input_events(stimulus, y0)
        # Input events in (t_k, t_k + dt] are added at the end of step k.
        step_of_event = jnp.ceil((times - t0) / dt).astype(jnp.int32) - 1
        step_of_event = jnp.where(jnp.isfinite(times), jnp.maximum(step_of_event, 0), n_steps)
        jumps_per_step = jax.ops.segment_sum(jumps, step_of_event, num_segments=n_steps)

        def one_step(carry, x):
            columns, release, spikes, count = carry
            k, jump = x
            out = self.step(model, stimulus, t0 + k * dt, dt, jnp.stack(columns), release)
            spikes, count = record_spike(spikes, count, out.t_spike, out.spiked)
            return (tuple(out.y + jump), out.release, spikes, count), None

        carry = (tuple(y0), jnp.asarray(-jnp.inf, y0.dtype),
                 empty_spike_buffer(record.max_spikes, y0.dtype), jnp.asarray(0, jnp.int32))
        carry, states = scan_fixed_steps(one_step, carry, y0, grid, jumps_per_step)
        spikes, count = carry[2], carry[3]
        return assemble_trace(model, grid.save_times(y0.dtype), states, spikes[:-1], count,
                              jnp.asarray(True))
