"""`FixedSteps`: a smooth model on a fixed step, spikes detected in every step."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import diffrax
import equinox as eqx
import jax.numpy as jnp

from .._arrays import unstack
from ..models.base import AbstractGatedNeuron
from .accuracy import (
    WATCH_STEPS,
    check_accuracy_option,
    estimate,
    flag_inaccurate,
    unwatch,
    watch_steps,
)
from .base import AbstractEngine, require_explicit, require_smooth
from .grid import scan_fixed_steps
from .solvers import StaggeredExponential, check_solver_fits, solver_from_name
from .solvers.runge_kutta import fixed_step, init_fixed_step
from .solvers.staggered import gate_half_steps, voltage_step
from .spikes import (
    RECORD_BLOCK,
    assemble_trace,
    crossing_time,
    emit,
    finish_record,
    flush_record,
    record_step,
    start_record,
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

    def solver_for(self, model) -> diffrax.AbstractSolver:
        """The solver this engine steps `model` with (the default resolved).

        **Raises:** `ValueError` if the solver does not fit the model or is implicit."""
        solver = self.solver
        if solver is None:
            solver = StaggeredExponential() if isinstance(model, AbstractGatedNeuron) else (
                diffrax.Tsit5())
        check_solver_fits(solver, model)
        require_explicit(self, solver)
        return solver

    def run(self, model, stimulus, y0, grid, record):
        require_smooth(self, model, stimulus)
        solver = self.solver_for(model)
        t0, dt = grid.t0, grid.dt
        plan = _staggered_plan(model, stimulus, t0, dt, y0) if isinstance(
            solver, StaggeredExponential) else _solver_plan(solver, model, stimulus, t0, dt, y0)
        # The spikes of a step go to the list (and statistics) one block of steps at a time
        # (`record_block`).
        blocks = record.times or record.stats

        def one_step(carry, x):
            columns, solver_state, spikes = carry
            k, _ = x
            t = t0 + k * dt
            columns1, solver_state = plan.step(k, t, columns, solver_state)
            t_cross, crossed = crossing_time(t, model.voltage(jnp.stack(columns)), t + dt,
                                             model.voltage(jnp.stack(columns1)),
                                             record.threshold)
            if blocks:  # emitted for the block's record (`record_block`)
                spikes, emitted = emit(spikes, t_cross, crossed)
            else:
                spikes, emitted = record_step(spikes, t_cross, crossed), None
            return (columns1, solver_state, spikes), emitted

        carry = (plan.columns, plan.solver_state, start_record(record, y0.dtype))
        # long runs: blocks about as long as the accuracy watch's (it observes once a block)
        flush = flush_record if blocks else None
        block = RECORD_BLOCK * -(-grid.n_steps // (WATCH_STEPS * RECORD_BLOCK))
        if self.accuracy:
            one_step, carry, flush, block = watch_steps(one_step, carry, model, stimulus, grid,
                                                        flush=flush, block=block,
                                                        sync=plan.sync)
        carry, saved = scan_fixed_steps(one_step, carry, y0, grid, flush=flush, block=block,
                                        save=lambda y: grid.save(model, y), checkpoint=True,
                                        sync=plan.sync)
        carry, watch = unwatch(carry) if self.accuracy else (carry, None)
        columns, _, spikes = carry
        final = jnp.stack(plan.sync(columns, grid.n_steps))
        no_spike = (jnp.zeros((), y0.dtype), jnp.asarray(False))  # each step recorded its own
        spike_times, count, stats = finish_record(spikes, no_spike, record, blocks)
        trace = assemble_trace(model, grid.save_times(y0.dtype), saved, spike_times, count,
                               jnp.asarray(True), final, save=grid.save, spike_stats=stats,
                               record=record, flags=unresolved_input(stimulus, grid))
        if not self.accuracy:
            return trace
        return flag_inaccurate(trace, estimate(watch, model, stimulus, dt, solver.order(None),
                                               plan.advance))


class _Plan(NamedTuple):
    """How `FixedSteps` steps a solver: the loop's initial `columns` and `solver_state`;
    `step(k, t, columns, solver_state) -> (columns, solver_state)` for step k from t (ms);
    `sync(columns, k) -> columns`, the model's state after k steps from the loop's
    columns; `advance(t, columns, solver_state) -> (columns, solver_state)`, one step
    from a model state (as the accuracy probe takes it)."""

    columns: tuple
    solver_state: object
    step: Callable
    sync: Callable
    advance: Callable


def _solver_plan(solver, model, stimulus, t0, dt: float, y0) -> _Plan:
    """Any explicit solver: the loop carries the model's state and the solver's state."""

    def term_at(t):
        return local_time_term(neuron_term(model, step_input(stimulus, t, dt)), t)

    def advance(t, columns, solver_state):
        y1, solver_state = fixed_step(solver, term_at(t), dt, jnp.stack(columns), None,
                                      solver_state)
        return unstack(y1), solver_state

    return _Plan(unstack(y0), init_fixed_step(solver, term_at(t0), dt, y0, None),
                 lambda k, t, columns, state: advance(t, columns, state),
                 lambda columns, k: columns, advance)


def _staggered_plan(model, stimulus, t0, dt: float, y0) -> _Plan:
    """The staggered scheme with its loop rotated: the loop carries `(V_n, gates_{n-1/2})`
    (`(V_0, gates_0)` before the first step) and no solver state. A step first moves the
    gates through $t_n$ to $t_{n+1/2}$ with the rates at $V_n$ (those the unrotated step
    evaluates at the end of the step before), then the voltages: the arithmetic of
    `StaggeredExponential.step`, but the gates at $t_n$ are computed only where they are
    used (`sync`: saves, the accuracy watch, the final state), not carried every step."""
    n_v = model.n_voltages

    def split_at(t, tau, columns):  # the rates of the step that starts at t, at t + tau
        term = local_time_term(neuron_term(model, step_input(stimulus, t, dt)), t)
        return map(unstack, term.vector_field.split(tau, jnp.stack(columns), None))

    def gates(columns, t, first):
        """`(gates at t, gates at t + dt/2)` from the loop's columns at t (ms); `first`: the
        columns hold the gates at t (the start of the run, or a model state), whose rates
        are this step's at its start; else the step before's at its end."""
        rate, target = split_at(jnp.where(first, t, t - dt), jnp.where(first, 0.0, dt),
                                columns)
        return gate_half_steps(columns[n_v:], rate[n_v:], target[n_v:], dt, keep=first)

    def step(k, t, columns, solver_state):
        _, half = gates(columns, t, k == 0)
        v1 = voltage_step(lambda tau, c: split_at(t, tau, c), dt, columns[:n_v], half)
        return (*v1, *half), solver_state

    def sync(columns, k):
        return (*columns[:n_v], *gates(columns, t0 + k * dt, k == 0)[0])

    def advance(t, columns, solver_state):  # from a model state (V_n, gates_n) at t
        lean, _ = step(0, t, columns, None)
        return (*lean[:n_v], *gates(lean, t + dt, False)[0]), solver_state

    return _Plan(unstack(y0), None, step, sync, advance)
