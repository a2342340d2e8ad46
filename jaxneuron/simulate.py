"""`simulate`: integrate one neuron model under one stimulus with Diffrax."""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp

from ._checks import check_time_grid
from .analysis.spikes import crossing_time, detect_spikes, empty_spike_buffer, record_spike
from .models.base import AbstractNeuron
from .solvers import NeuronTerm, resolve_solver
from .stimuli import AbstractStimulus
from .trace import Trace

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
    - `adjoint`: Diffrax adjoint for the adaptive path (default: recursive checkpointing).
    - `y0`: initial state, shape `(n_states,)`; default `model.initial_state()`.
    - `threshold`: voltage (mV) whose upward crossing counts as a spike.
    - `max_spikes`: capacity of `Trace.spike_times`.
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
    n_steps = check_time_grid(t0, t1, dt)
    steps_per_save = _steps_per_save(save_every, dt, n_steps)
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

    if stepsize == "fixed":
        if isinstance(solver, diffrax.AbstractImplicitSolver):
            raise ValueError(f"solver {type(solver).__name__} is implicit: use it with "
                             "stepsize='adaptive'")
        if adjoint is not None:
            raise ValueError("adjoint applies to stepsize='adaptive' only; fixed steps are "
                             "differentiated by backpropagation through the steps")
        trace = _simulate_fixed(term, solver, y0, t0, dt, n_steps, steps_per_save,
                                threshold, max_spikes)
    else:
        trace = _simulate_adaptive(term, solver, y0, t0, t1, dt, n_steps, steps_per_save,
                                   rtol, atol, max_steps, adjoint, threshold, max_spikes)
    if throw:
        trace = eqx.error_if(
            trace, ~trace.ok,
            "simulation failed: the state became NaN/inf or the solver hit max_steps "
            "(check parameters, use a smaller dt, or pass throw=False to get Trace.ok)",
        )
    return trace


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


def _make_trace(term, ts, states, spike_times, n_spikes, ok):
    model = term.vector_field.model
    v = jax.vmap(model.voltage)(states)
    final = states[-1]
    ok = ok & jnp.all(jnp.isfinite(final))
    return Trace(ts=ts, states=states, v=v, spike_times=spike_times, n_spikes=n_spikes,
                 final_state=final, ok=ok, state_names=tuple(model.state_names))


def _simulate_fixed(term, solver, y0, t0, dt, n_steps, steps_per_save, threshold, max_spikes):
    voltage = term.vector_field.model.voltage
    n_save = n_steps // steps_per_save

    # The carry holds the state as separate columns (a tuple of scalars): under vmap each
    # becomes a contiguous (batch,) array, which lets XLA fuse a whole step without copies.
    def one_step(carry, k):
        columns, solver_state, spikes, count = carry
        y = jnp.stack(columns)
        t = t0 + k * dt
        y1, _, _, solver_state, _ = solver.step(term, t, t + dt, y, None, solver_state,
                                                made_jump=False)
        t_cross, crossed = crossing_time(t, voltage(y), t + dt, voltage(y1), threshold)
        spikes, count = record_spike(spikes, count, t_cross, crossed)
        return (tuple(y1), solver_state, spikes, count), None

    def one_save_interval(carry, j):
        steps = j * steps_per_save + jnp.arange(steps_per_save)
        carry, _ = jax.lax.scan(one_step, carry, steps)
        return carry, jnp.stack(carry[0])

    solver_state = solver.init(term, t0, t0 + dt, y0, None)
    spikes = empty_spike_buffer(max_spikes, y0.dtype)
    carry = (tuple(y0), solver_state, spikes, jnp.asarray(0, dtype=jnp.int32))
    carry, saved = jax.lax.scan(one_save_interval, carry, jnp.arange(n_save))
    states = jnp.concatenate([y0[None], saved], axis=0)
    ts = t0 + dt * steps_per_save * jnp.arange(n_save + 1, dtype=y0.dtype)
    _, _, spikes, count = carry
    return _make_trace(term, ts, states, spikes[:-1], count, jnp.asarray(True))


def _simulate_adaptive(term, solver, y0, t0, t1, dt, n_steps, steps_per_save, rtol, atol,
                       max_steps, adjoint, threshold, max_spikes):
    n_save = n_steps // steps_per_save
    ts = t0 + dt * steps_per_save * jnp.arange(n_save + 1, dtype=y0.dtype)
    jumps = term.vector_field.stimulus.discontinuities()
    jumps = jnp.where(jnp.isfinite(jumps) & (jumps > t0) & (jumps < t1), jumps, t1 + 1.0)
    controller = diffrax.ClipStepSizeController(
        diffrax.PIDController(rtol=rtol, atol=atol), jump_ts=jumps if jumps.size else None
    )
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
    return _make_trace(term, ts, states, spikes, count, ok)

