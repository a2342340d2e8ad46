"""`FixedSteps`: a smooth model on a fixed step, spikes detected in every step."""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax.numpy as jnp

from .._arrays import unstack
from ..models.base import AbstractGatedNeuron
from .accuracy import check_accuracy_option, estimate, flag_inaccurate, unwatch, watch_steps
from .base import AbstractEngine, require_explicit, require_smooth
from .grid import scan_fixed_steps
from .solvers import StaggeredExponential, check_solver_fits, solver_from_name
from .solvers.runge_kutta import fixed_step, init_fixed_step
from .spikes import (
    assemble_trace,
    crossing_time,
    empty_spike_buffer,
    record_spike,
    unresolved_input,
)
from .terms import local_time_term, neuron_term, step_input


class FixedSteps(AbstractEngine):
    """A `lax.scan` over solver steps of `dt`, for smooth (non-spiking) models; upward
    crossings of the threshold are interpolated inside every step.

    Differentiates in forward and reverse mode (through the steps; reverse mode stores each
    step's state and recomputes the step on the way back) and under `vmap`.

    **Fields:**
    - `solver`: a name (`"staggered"`, `"exp_midpoint"`, `"exp_euler"`, `"euler"`,
      `"heun"`, `"midpoint"`, `"tsit5"`, ...) or an explicit Diffrax solver; default
      `"staggered"` for `AbstractGatedNeuron`s (conductance-based models), `"tsit5"`
      otherwise.
    - `accuracy`: estimate the local error of the run and flag it (`Trace.status` 7,
      `Trace.accuracy`) when the step is too coarse (static, default True; see
      `jaxneuron.engines.accuracy`). False skips the estimate.
    """

    solver: diffrax.AbstractSolver | None = eqx.field(default=None, converter=solver_from_name)
    accuracy: bool = eqx.field(static=True, default=True)

    def __check_init__(self):
        check_accuracy_option(self.accuracy)

    def run(self, model, stimulus, y0, grid, record):
        require_smooth(self, model, stimulus)
        solver = self.solver
        if solver is None:
            solver = StaggeredExponential() if isinstance(model, AbstractGatedNeuron) else (
                diffrax.Tsit5())
        check_solver_fits(solver, model)
        require_explicit(self, solver)
        t0, dt = grid.t0, grid.dt

        def one_step(carry, x):
            columns, solver_state, spikes, count = carry
            k, _ = x
            y = jnp.stack(columns)
            t = t0 + k * dt
            term = neuron_term(model, step_input(stimulus, t, dt))
            y1, solver_state = fixed_step(solver, local_time_term(term, t), dt, y, None,
                                          solver_state)
            t_cross, crossed = crossing_time(t, model.voltage(y), t + dt, model.voltage(y1),
                                             record.threshold)
            spikes, count = record_spike(spikes, count, t_cross, crossed)
            return (unstack(y1), solver_state, spikes, count), None

        solver_state = init_fixed_step(
            solver, local_time_term(neuron_term(model, step_input(stimulus, t0, dt)), t0), dt,
            y0, None)
        spikes = empty_spike_buffer(record.max_spikes, y0.dtype)
        carry = (unstack(y0), solver_state, spikes, jnp.asarray(0, dtype=jnp.int32))
        flush, block = None, 1
        if self.accuracy:
            one_step, carry, flush, block = watch_steps(one_step, carry, model, stimulus, grid,
                                                        solver_state=lambda rest: rest[0])
        carry, saved = scan_fixed_steps(one_step, carry, y0, grid, flush=flush, block=block,
                                        save=lambda y: grid.save(model, y), checkpoint=True)
        carry, watch = unwatch(carry) if self.accuracy else (carry, None)
        columns, _, spikes, count = carry
        trace = assemble_trace(model, grid.save_times(y0.dtype), saved, spikes[:-1], count,
                               jnp.asarray(True), jnp.stack(columns), save=grid.save,
                               record=record, flags=unresolved_input(stimulus, grid))
        if not self.accuracy:
            return trace

        def advance(t, columns, state):
            term = neuron_term(model, step_input(stimulus, t, dt))
            y1, state = fixed_step(solver, local_time_term(term, t), dt, jnp.stack(columns),
                                   None, state)
            return unstack(y1), state

        return flag_inaccurate(trace, estimate(watch, model, stimulus, dt, solver.order(None),
                                               advance))
