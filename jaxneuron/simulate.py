"""`simulate`: integrate one neuron model under one stimulus with Diffrax."""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp

from ._checks import check_time_grid
from ._grid import save_times, scan_fixed_steps
from .analysis.spikes import crossing_time, detect_spikes, empty_spike_buffer, record_spike
from .models.base import AbstractGatedNeuron, AbstractNeuron, AbstractSpikingNeuron
from .solvers import (
    NeuronTerm,
    StaggeredExponential,
    adaptive_controller,
    local_time_term,
    resolve_solver,
)
from .spike_surrogates import AbstractSurrogate
from .spiking import SPIKING_MODES, simulate_clock
from .spiking_exact import simulate_exact
from .stimuli import AbstractStimulus
from .trace import Trace, assemble_trace

STEPSIZE_MODES = ("fixed", "adaptive")


def simulate(
    model: AbstractNeuron,
    stimulus: AbstractStimulus,
    *,
    t1: float,
    t0: float = 0.0,
    dt: float = 0.025,
    solver: str | diffrax.AbstractSolver | None = None,
    stepsize: str = "fixed",
    rtol: float = 1e-6,
    atol: float = 1e-6,
    save_every: float | None = None,
    max_steps: int = 1_000_000,
    adjoint: diffrax.AbstractAdjoint | None = None,
    y0=None,
    threshold: float = 0.0,
    max_spikes: int = 64,
    spiking: str = "clock",
    surrogate: AbstractSurrogate | None = None,
    throw: bool = True,
) -> Trace:
    """Integrate `model` driven by `stimulus` from `t0` to `t1` (ms).

    Works under `jax.jit`, `jax.grad` and `jax.vmap` (over model and stimulus fields).

    **Arguments:**
    - `model`, `stimulus`: the neuron and its input (scalar parameters; `vmap` to batch).
    - `t1`, `t0`: end and start time, ms (`t1 > t0`).
    - `dt`: the step (ms) for `stepsize="fixed"`; the initial step for `"adaptive"`.
    - `solver`: a name (`"staggered"`, `"exp_midpoint"`, `"exp_euler"`, `"tsit5"`,
      `"kvaerno5"`, `"heun"`, ...) or any Diffrax solver instance. Default: `"staggered"` for
      conductance-based (`AbstractGatedNeuron`) models, `"tsit5"` otherwise.
    - `stepsize`: `"fixed"` (a `lax.scan` over solver steps, spikes detected every step) or
      `"adaptive"` (`diffrax.diffeqsolve` with a PID controller at `rtol`/`atol`; spikes
      detected on the save grid).
    - `save_every`: spacing (ms) of saved states, a multiple of `dt`; defaults to `dt`.
      `0` or a negative value saves only `t0` and `t1` (cheapest, for sweeps).
    - `max_steps`: step budget of the adaptive solver.
    - `adjoint`: Diffrax adjoint for the adaptive and exact paths (default: recursive
      checkpointing, for reverse mode; pass `diffrax.ForwardMode()` to differentiate with
      `jax.jvp`/`jax.jacfwd`, as `fit` does in forward mode).
    - `y0`: initial state, shape `(n_states,)`; default `model.initial_state()`.
    - `threshold`: voltage (mV) whose upward crossing counts as a spike.
    - `max_spikes`: capacity of `Trace.spike_times`. More spikes than this raise (or, with
      `throw=False`, set `Trace.spikes_overflowed`).
    - `spiking`: for spiking (threshold-and-reset) models: `"clock"` (fixed steps of `dt`,
      reset at the end of the step, surrogate gradients through spikes; default solver
      `"exp_midpoint"` for gated models such as LIF, `"heun"` otherwise) or `"exact"`
      (adaptive `diffeqsolve` segments ended by root-found spike events at `rtol`/`atol`;
      differentiable, solver-accurate spike times; default solver `"tsit5"`). `threshold`
      is not used: the model's `spike_condition` defines spikes.
    - `surrogate`: clock mode only: a surrogate derivative of the spike (e.g.
      `jaxneuron.FastSigmoid(slope=0.2)`, see `jaxneuron.spike_surrogates`) through which
      gradients flow across resets; `None` (default) treats the reset as a constant
      (spike-time gradients still flow through the interpolated crossing).
    - `throw`: raise if the run blows up; with `False` the failure is flagged in `Trace.ok`.

    **Returns:** a `Trace`.

    **Raises:** `ValueError` for invalid times, options, shapes or solver names.
    """
    if not isinstance(model, AbstractNeuron):
        raise ValueError(f"model must be a jaxneuron AbstractNeuron; got {type(model).__name__}")
    if not isinstance(stimulus, AbstractStimulus):
        raise ValueError(
            f"stimulus must be a jaxneuron AbstractStimulus; got {type(stimulus).__name__}"
        )
    if stepsize not in STEPSIZE_MODES:
        raise ValueError(f"stepsize must be one of {STEPSIZE_MODES}; got {stepsize!r}")
    if not isinstance(max_spikes, int) or max_spikes < 1:
        raise ValueError(f"max_spikes must be a positive int; got {max_spikes!r}")
    if not (rtol > 0 and atol > 0):
        raise ValueError(f"rtol and atol must be > 0; got rtol={rtol}, atol={atol}")
    if spiking not in SPIKING_MODES:
        raise ValueError(f"spiking must be one of {SPIKING_MODES}; got {spiking!r}")
    if surrogate is not None and not isinstance(surrogate, AbstractSurrogate):
        raise ValueError(f"surrogate must be a jaxneuron.spike_surrogates surrogate such as "
                         f"FastSigmoid(slope); got {surrogate!r}")
    n_steps = check_time_grid(t0, t1, dt)
    steps_per_save = _steps_per_save(save_every, dt, n_steps)
    if solver is None and isinstance(model, AbstractSpikingNeuron):
        solver = default_spiking_solver(model, spiking)
    solver = resolve_solver(solver, model)

    expected = (len(model.state_names),)
    batch_hint = ("Parameters with a batch axis need jax.vmap (see jaxneuron.batch_axes) or "
                  "jaxneuron.sweep.")
    if y0 is None:
        try:
            y0 = model.initial_state()
        except (TypeError, ValueError) as error:
            raise ValueError(f"model.initial_state() failed: {error}. {batch_hint}") from error
    y0 = jnp.asarray(y0, dtype=float)
    if y0.shape != expected:
        raise ValueError(
            f"the initial state must have shape {expected} ({', '.join(model.state_names)}); "
            f"got {y0.shape}. {batch_hint}"
        )
    term = NeuronTerm(model, stimulus)
    try:
        out = jax.eval_shape(term.vf, t0, y0, None)
    except (TypeError, ValueError) as error:
        raise ValueError(f"the model's vector field failed: {error}. {batch_hint}") from error
    if out.shape != expected:
        raise ValueError(f"the vector field returned shape {out.shape}, expected {expected}. "
                         f"{batch_hint}")

    if isinstance(model, AbstractSpikingNeuron):
        trace = _simulate_spiking(model, stimulus, solver, y0, t0, t1, dt, n_steps,
                                  steps_per_save, stepsize, spiking, surrogate, rtol, atol,
                                  max_steps, adjoint, max_spikes)
    elif stimulus.events() is not None:
        raise ValueError(f"input spike events (SpikeInput) need a spiking model; "
                         f"{type(model).__name__} is not an AbstractSpikingNeuron")
    elif stepsize == "fixed":
        if isinstance(solver, diffrax.AbstractImplicitSolver):
            raise ValueError(f"solver {type(solver).__name__} is implicit: use it with "
                             "stepsize='adaptive'")
        _check_fixed_step_adjoint(adjoint)
        trace = _simulate_fixed(term, solver, y0, t0, dt, n_steps, steps_per_save,
                                threshold, max_spikes)
    else:
        trace = _simulate_adaptive(term, solver, y0, t0, t1, dt, n_steps, steps_per_save,
                                   rtol, atol, max_steps, adjoint, threshold, max_spikes)
    if throw:
        trace = eqx.error_if(
            trace, trace.spikes_overflowed,
            f"more spikes than max_spikes = {max_spikes}: pass a larger max_spikes (or "
            "throw=False and check Trace.spikes_overflowed)",
        )
        trace = eqx.error_if(
            trace, ~trace.ok,
            "simulation failed: the state became NaN/inf or the solver hit max_steps "
            "(check parameters, use a smaller dt, or pass throw=False to get Trace.ok)",
        )
    return trace


def default_spiking_solver(model, spiking):
    """The solver name used when `solver` is not given: tsit5 for exact mode; for clock mode
    exp_midpoint for gated models, else heun."""
    if spiking == "exact":
        return "tsit5"
    return "exp_midpoint" if isinstance(model, AbstractGatedNeuron) else "heun"


def _check_fixed_step_adjoint(adjoint):
    if adjoint is not None and not isinstance(
        adjoint, diffrax.ForwardMode | diffrax.RecursiveCheckpointAdjoint | diffrax.DirectAdjoint
    ):
        raise ValueError("fixed steps are differentiated through the steps in either mode; "
                         f"adjoint {type(adjoint).__name__} applies to adaptive solves only")


def _simulate_spiking(model, stimulus, solver, y0, t0, t1, dt, n_steps, steps_per_save,
                      stepsize, spiking, surrogate, rtol, atol, max_steps, adjoint,
                      max_spikes):
    if stepsize != "fixed":
        raise ValueError("spiking models choose their stepping with spiking='clock' (fixed "
                         "steps) or spiking='exact' (adaptive, event-driven); leave stepsize "
                         "at 'fixed'")
    if spiking == "clock":
        if isinstance(solver, diffrax.AbstractImplicitSolver):
            raise ValueError(f"solver {type(solver).__name__} is implicit: use it with "
                             "spiking='exact'")
        _check_fixed_step_adjoint(adjoint)
        return simulate_clock(model, stimulus, solver, y0, t0, dt, n_steps, steps_per_save,
                              max_spikes, surrogate)
    if isinstance(solver, StaggeredExponential):
        raise ValueError("solver StaggeredExponential needs fixed steps: use "
                         "spiking='clock' or another solver")
    ts = save_times(t0, dt, n_steps, steps_per_save, y0.dtype)
    return simulate_exact(model, stimulus, solver, y0, t0, t1, dt, ts, rtol, atol, max_steps,
                          adjoint, max_spikes)


def _steps_per_save(save_every, dt, n_steps):
    if save_every is None:
        return 1
    if save_every <= 0:
        return n_steps
    ratio = save_every / dt
    k = round(ratio)
    if k < 1 or abs(ratio - k) > 1e-6 * ratio or n_steps % k != 0:
        raise ValueError(
            f"save_every must be a whole multiple of dt = {dt} ms that divides t1 - t0; "
            f"got {save_every}"
        )
    return k


def _simulate_fixed(term, solver, y0, t0, dt, n_steps, steps_per_save, threshold, max_spikes):
    voltage = term.vector_field.model.voltage

    def one_step(carry, x):
        columns, solver_state, spikes, count = carry
        k, _ = x
        y = jnp.stack(columns)
        t = t0 + k * dt
        y1, _, _, solver_state, _ = solver.step(local_time_term(term, t), 0.0, dt, y, None,
                                                solver_state, made_jump=False)
        t_cross, crossed = crossing_time(t, voltage(y), t + dt, voltage(y1), threshold)
        spikes, count = record_spike(spikes, count, t_cross, crossed)
        return (tuple(y1), solver_state, spikes, count), None

    solver_state = solver.init(term, t0, t0 + dt, y0, None)
    spikes = empty_spike_buffer(max_spikes, y0.dtype)
    carry = (tuple(y0), solver_state, spikes, jnp.asarray(0, dtype=jnp.int32))
    carry, states = scan_fixed_steps(one_step, carry, y0, n_steps, steps_per_save)
    ts = save_times(t0, dt, n_steps, steps_per_save, y0.dtype)
    _, _, spikes, count = carry
    return assemble_trace(term.vector_field.model, ts, states, spikes[:-1], count,
                          jnp.asarray(True))


def _simulate_adaptive(term, solver, y0, t0, t1, dt, n_steps, steps_per_save, rtol, atol,
                       max_steps, adjoint, threshold, max_spikes):
    ts = save_times(t0, dt, n_steps, steps_per_save, y0.dtype)
    controller = adaptive_controller(term.vector_field.stimulus, t0, t1, rtol, atol)
    sol = diffrax.diffeqsolve(
        term, solver, t0, t1, dt, y0,
        saveat=diffrax.SaveAt(ts=ts),
        stepsize_controller=controller,
        max_steps=max_steps,
        adjoint=diffrax.RecursiveCheckpointAdjoint() if adjoint is None else adjoint,
        throw=False,
    )
    states = sol.ys
    v = jax.vmap(term.vector_field.model.voltage)(states)
    spikes, count = detect_spikes(ts, v, threshold, max_spikes)
    ok = sol.result == diffrax.RESULTS.successful
    return assemble_trace(term.vector_field.model, ts, states, spikes, count, ok)

