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

from .._arrays import unstack
from .._checks import is_concrete
from ..models.base import AbstractGatedNeuron, AbstractSpikingNeuron
from ..spike_surrogates import AbstractSurrogate
from ..trace import STATUS_IMPLAUSIBLE
from .accuracy import check_accuracy_option, estimate, flag_inaccurate, unwatch, watch_steps
from .base import AbstractEngine, require_explicit, require_spiking
from .grid import scan_fixed_steps
from .solvers import (
    AbstractExponentialSolver,
    ExponentialMidpoint,
    check_solver_fits,
    solver_from_name,
)
from .solvers.runge_kutta import (
    fixed_step,
    fixed_step_columns,
    init_fixed_step,
    steps_columns,
)
from .spikes import (
    RECORD_BLOCK,
    assemble_trace,
    emit,
    finish_record,
    flush_record,
    record_step,
    start_record,
    unresolved_input,
)
from .terms import SpikingVectorField, input_events, local_time_term, step_input


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

    Differentiates in forward and reverse mode (reverse mode stores each step's state and
    recomputes the step on the way back) and under `vmap`; spike times carry gradients
    through the interpolated crossing.

    **Fields:**
    - `solver`: a name or explicit Diffrax solver; default `"exp_midpoint"` for
      `AbstractGatedNeuron`s (such as `LIF`), `"heun"` otherwise.
    - `surrogate`: a surrogate derivative of the spike (e.g. `jaxneuron.FastSigmoid(0.2)`)
      through which gradients flow across resets; `None` (default) treats the reset as a
      constant (spike-time gradients still flow through the interpolated crossing).
    - `accuracy`: estimate the local error of `run` away from spikes, resets and input
      jumps, and flag the run (`Trace.status` 7, `Trace.accuracy`) when the step is too
      coarse (static, default True; see `jaxneuron.engines.accuracy`). False skips it.
    """

    solver: diffrax.AbstractSolver | None = eqx.field(default=None, converter=solver_from_name)
    surrogate: AbstractSurrogate | None = None
    accuracy: bool = eqx.field(static=True, default=True)

    def __check_init__(self):
        if self.surrogate is not None and not isinstance(self.surrogate, AbstractSurrogate):
            raise ValueError(f"surrogate must be a jaxneuron.spike_surrogates surrogate such "
                             f"as FastSigmoid(slope); got {self.surrogate!r}")
        check_accuracy_option(self.accuracy)

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
        columns, release, t_cross, spiked, fired = self.step_columns(
            model, drive, t, dt, _columns(y), release)
        return ClockStep(jnp.stack(columns), release, t_cross, spiked, fired)

    def step_columns(self, model: AbstractSpikingNeuron, drive, t, dt: float, y: tuple,
                     release, *, kicks: bool = True):
        """`step` on a state held as a tuple of columns (one scalar per state), which is
        how the loops carry it: the arithmetic on the state is done column by column, so
        that under `vmap` XLA fuses the step over contiguous `(batch,)` arrays with no
        stacking, slicing or transposes. The model's functions see `(n_states,)` arrays.

        `kicks` (static): whether the state can start the step at or above threshold, i.e.
        whether inputs jump the state between steps. A loop without input jumps passes
        False and handles the initial state with `kick` before its first step: the
        check and the reset at the start of every step then drop out of the compiled
        step, which halves its cost on a CPU (the reset before the step feeds every
        output of the step).

        **Returns:** `(y, release, t_spike, spiked, fired)` as the fields of `ClockStep`,
        `y` a tuple of columns.
        """
        solver = self.solver_for(model)
        surrogate = self.surrogate
        refractory = jnp.asarray(model.refractory_period, release.dtype)
        if kicks:
            y, release, kicked, kick = self.kick(model, t, y, release)
        else:
            kicked, kick = jnp.asarray(False), jnp.zeros((), y[0].dtype)
        pending = release > -jnp.inf
        free = jnp.where(pending, jnp.clip((t + dt - release) / dt, 0.0, 2.0), 1.0)
        y1 = _advance(solver, model, drive, t, dt, y, free)
        c0, c1 = model.spike_condition(jnp.stack(y)), model.spike_condition(jnp.stack(y1))
        # A neuron can fire in the step in which its refractory period ends (the clamped
        # states move for the free part of that step), but not before the release time.
        can_fire = (t + dt > release) & (c0 < 0) & ~kicked  # one spike per step at most
        crossed = can_fire & (c1 >= 0)
        fired = crossed.astype(c1.dtype) if surrogate is None else surrogate(c1) * can_fire
        frac = jnp.where(crossed, c0 / jnp.where(crossed, c0 - c1, 1.0), 0.0)
        t_cross = jnp.maximum(t + frac * dt, jnp.where(pending & ~kicked, release, t))
        through_reset = surrogate is None or not surrogate.detach_reset
        gate = fired if through_reset else jax.lax.stop_gradient(fired)
        y1 = _towards(y1, _columns(model.reset(jnp.stack(y1))), gate)
        release = jnp.where(t + dt >= release, -jnp.inf, release)
        release = jnp.where(crossed, t_cross + refractory, release)
        return y1, release, t_cross, crossed | kicked, fired + kick

    def kick(self, model: AbstractSpikingNeuron, t, y: tuple, release):
        """The spike at `t` (ms) of a state `y` (columns) that starts a step at or above
        threshold while not refractory: `(y, release, kicked, kick)`, the state reset,
        the release time set, whether it spiked, and the spike as a float (no surrogate:
        a crossing's gradient is taken once)."""
        kicked = (release == -jnp.inf) & (model.spike_condition(jnp.stack(y)) >= 0)
        kick = kicked.astype(y[0].dtype)
        y = _towards(y, _columns(model.reset(jnp.stack(y))), kick)
        refractory = jnp.asarray(model.refractory_period, release.dtype)
        return y, jnp.where(kicked, t + refractory, release), kicked, kick

    def run(self, model, stimulus, y0, grid, record):
        self.solver_for(model)  # validates the pairing before tracing the loop
        t0, dt, n_steps = grid.t0, grid.dt, grid.n_steps
        jumps_per_step = None
        if stimulus.events() is not None:
            times, jumps = input_events(stimulus, y0)
            # Input events in (t_k, t_k + dt] are added at the end of step k.
            step_of_event = jnp.ceil((times - t0) / dt).astype(jnp.int32) - 1
            step_of_event = jnp.where(jnp.isfinite(times), jnp.maximum(step_of_event, 0),
                                      n_steps)
            jumps_per_step = jax.ops.segment_sum(jumps, step_of_event, num_segments=n_steps)

        # The recording is one step behind: step k records the spike of step k - 1 from
        # the carry, where it is already in memory. Recording the step's own spike would
        # make XLA fuse the whole step into every recording output and compute it once per
        # output (a CPU has no multi-output fusion): with online statistics, 3.5x slower.
        kicks = jumps_per_step is not None  # without input jumps only y0 can start above
        # Without input jumps and refractory period (`lean`), the release time after a step
        # is the step's spike time where it spiked: the loop carries whether it spiked, and
        # the time is the release time's (one array fewer to carry and copy every step).
        lean = not kicks and _static_zero(lambda: model.refractory_period)

        # A run that keeps only the count adds every step's spike; one that keeps the list
        # or the statistics emits them and adds them once per block (`record_block`).
        blocks = record.times or record.stats

        def one_step(carry, x):
            if lean:
                columns, release, stuck, spiked_prev, spikes = carry
                t_prev = release
            else:
                columns, release, stuck, (t_prev, spiked_prev), spikes = carry
            k, jump = x
            if blocks:
                spikes, emitted = emit(spikes, t_prev, spiked_prev)
            else:
                spikes, emitted = record_step(spikes, t_prev, spiked_prev), None
            t = t0 + k.astype(y0.dtype) * dt  # in the state's dtype, also under x64
            columns, release, t_spike, spiked, _ = self.step_columns(
                model, step_input(stimulus, t, dt), t, dt, columns, release, kicks=kicks)
            # A state that ends a step at or above threshold has either not been reset by
            # its spike (a reset that does not bring it below threshold) or stepped there
            # while unable to fire: it can never cross again, and its spikes are lost.
            stuck = stuck | (model.spike_condition(jnp.stack(columns)) >= 0)
            if jump is not None:
                columns = tuple(c + jump[i] for i, c in enumerate(columns))
            if lean:
                return (columns, release, stuck, spiked, spikes), emitted
            return (columns, release, stuck, (t_spike, spiked), spikes), emitted

        release = jnp.asarray(-jnp.inf, y0.dtype)
        columns, spiked_at_t0 = tuple(y0), jnp.asarray(False)
        if not kicks:  # the first step's kick, taken here (lean: its release time is t0)
            columns, release, spiked_at_t0, _ = self.kick(model, jnp.asarray(t0, y0.dtype),
                                                          columns, release)
        last = (spiked_at_t0,) if lean else ((jnp.asarray(t0, y0.dtype), spiked_at_t0),)
        carry = (columns, release, jnp.asarray(False), *last, start_record(record, y0.dtype))
        flush, block = (flush_record if blocks else None), RECORD_BLOCK
        spikes = lambda y0, y1: (model.spike_condition(y0) >= 0) | (  # noqa: E731
            model.spike_condition(y1) >= 0)
        if self.accuracy:  # never a refractory state
            one_step, carry, flush, block = watch_steps(
                one_step, carry, model, stimulus, grid, flush=flush, block=block,
                eligible=lambda rest: rest[0] == -jnp.inf, stop=spikes)
        carry, saved = scan_fixed_steps(one_step, carry, y0, grid, jumps_per_step,
                                        flush=flush, block=block,
                                        save=lambda y: grid.save(model, y), checkpoint=True)
        carry, watch = unwatch(carry) if self.accuracy else (carry, None)
        last = (carry[1], carry[3]) if lean else carry[3]
        times, count, stats = finish_record(carry[-1], last, record, blocks)
        flags = {**unresolved_input(stimulus, grid), STATUS_IMPLAUSIBLE: carry[2]}
        trace = assemble_trace(model, grid.save_times(y0.dtype), saved, times, count,
                               jnp.asarray(True), jnp.stack(carry[0]), save=grid.save,
                               spike_stats=stats, record=record, flags=flags)
        if not self.accuracy:
            return trace
        solver = self.solver_for(model)
        return flag_inaccurate(trace, estimate(
            watch, model, stimulus, dt, solver.order(None),
            lambda t, y, _: (_advance(solver, model, step_input(stimulus, t, dt), t, dt, y,
                                      1.0), None),
            stop=spikes))


def _static_zero(value) -> bool:
    """Whether `value()` is known while tracing (not a traced value) and 0 everywhere."""
    with jax.ensure_compile_time_eval():
        x = jnp.asarray(value())
        return is_concrete(x) and not bool(jnp.any(x != 0))


def _columns(y) -> tuple:
    """The columns of a state `(n_states,)`, one scalar per state (`unstack`: one split,
    which reverse mode transposes to one concatenate instead of a padded copy per entry)."""
    return unstack(y)


def _towards(y: tuple, target: tuple, s) -> tuple:
    """`(1 - s) y + s target` column by column (a reset applied with weight `s`). Written so
    that `s = 1` gives `target` exactly: `y + s (target - y)` cancels to 0 in float32 when a
    step overshoots to |y| >> |target| (e.g. V = 1e17 mV in the upswing of an exponential
    model), leaving the state above threshold."""
    return tuple((1 - s) * a + s * b for a, b in zip(y, target, strict=True))


def _advance(solver, model, drive, t, dt: float, y: tuple, free) -> tuple:
    """The solver step over `[t, t + dt]` of a state held as columns, the model's
    `clamped_states` moving for the `free` fraction of the step (see
    `SpikingVectorField`). Explicit Runge–Kutta solvers, Euler and the exponential solvers
    that can (`AbstractExponentialSolver.step_columns`) step column by column; the others
    take their own step on the stacked state."""
    held = set(model.clamped_states)
    if steps_columns(solver):

        def field(tau, columns):
            derivative = _columns(model.vector_field(t + tau, jnp.stack(columns),
                                                     drive(t + tau)))
            return tuple(d * free if i in held else d for i, d in enumerate(derivative))

        return fixed_step_columns(solver, field, dt, y)
    if isinstance(solver, AbstractExponentialSolver):

        def split(tau, columns):
            rate, target = model.exponential_split(t + tau, jnp.stack(columns),
                                                   drive(t + tau))
            return (tuple(r * free if i in held else r for i, r in enumerate(_columns(rate))),
                    _columns(target))

        y1 = solver.step_columns(split, dt, y)
        if y1 is not None:
            return y1
    term = diffrax.ODETerm(SpikingVectorField(model, drive, clock=True))
    local = local_time_term(term, t)  # a static step size: see LocalTimeVectorField
    y = jnp.stack(y)
    y1, _ = fixed_step(solver, local, dt, y, free, init_fixed_step(solver, local, dt, y, free))
    return _columns(y1)
