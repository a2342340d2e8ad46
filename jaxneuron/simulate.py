"""`simulate`: integrate one neuron model under one stimulus with an engine."""

from __future__ import annotations

import math
from collections.abc import Sequence

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._checks import is_concrete
from .engines import AbstractEngine, SaveSpec, SpikeRecord, TimeGrid, build_engine
from .engines.accuracy import warn_inaccurate
from .engines.base import check_precision
from .engines.terms import neuron_term
from .models.base import AbstractNeuron, domain_status
from .spike_surrogates import AbstractSurrogate
from .stimuli import AbstractStimulus
from .trace import (
    STATUS_OK,
    STATUS_OUTSIDE_DOMAIN,
    STATUS_REASONS,
    STATUS_SOLVER_FAILED,
    STATUS_SPIKES_OVERFLOWED,
    Trace,
)


def simulate(
    model: AbstractNeuron,
    stimulus: AbstractStimulus,
    *,
    t1: float,
    t0: float = 0.0,
    dt: float = 0.025,
    engine: AbstractEngine | None = None,
    save_every: float | None = None,
    save_states: Sequence[str] | None = None,
    y0=None,
    threshold: float | None = None,
    max_spikes: int = 64,
    record: SpikeRecord | None = None,
    throw: bool = True,
    solver: str | diffrax.AbstractSolver | None = None,
    stepsize: str | None = None,
    spiking: str | None = None,
    surrogate: AbstractSurrogate | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    max_steps: int | None = None,
    adjoint: diffrax.AbstractAdjoint | None = None,
) -> Trace:
    """Integrate `model` driven by `stimulus` from `t0` to `t1` (ms) with `engine`.

    Works under `jax.jit`, `jax.grad` and `jax.vmap` (over model and stimulus fields).

    **Arguments:**
    - `model`, `stimulus`: the neuron and its input (scalar parameters; `vmap` to batch).
    - `t1`, `t0`: end and start time, ms (`t1 > t0`).
    - `dt`: the step (ms) of fixed-step engines; the initial step of adaptive ones.
    - `engine`: how to integrate: `FixedSteps(solver)`, `AdaptiveSteps(solver, rtol,
      atol, ...)` for smooth models; `ClockSpiking(solver, surrogate)`,
      `ExactSpiking(solver, rtol, atol, ...)` for spiking (threshold-and-reset) models.
      Default (`jaxneuron.engines.default_engine`): `ClockSpiking()` for spiking models,
      `FixedSteps()` otherwise.
    - `save_every`: spacing (ms) of saved states, a multiple of `dt`; defaults to `dt`.
      `0` or a negative value saves only `t0` and `t1` (cheapest, for sweeps).
    - `save_states`: which states to save at the save times, names from
      `model.state_names`, e.g. `("V",)`; `None` (default) saves every state, `()` none.
      `Trace.v` (from `model.voltage` of the full state) is saved at every save time
      whatever this says, and `Trace.final_state` is always the full final state; only
      `Trace.states` (`(n_save, len(save_states))`) and `Trace.state_names` shrink. With
      `save_states=()` a sweep that keeps traces stores only the voltage.
    - `y0`: initial state, shape `(n_states,)`; default `model.initial_state()`.
    - `threshold`: voltage (mV, finite) whose upward crossing counts as a spike (smooth
      models; default the model's `spike_threshold`, 0 mV unless it says otherwise;
      spiking models use their `spike_condition`).
    - `max_spikes`: capacity of `Trace.spike_times`. More spikes than this raise (or, with
      `throw=False`, set `Trace.spikes_overflowed` and `Trace.status` 3).
    - `record`: what to record of the spikes, a `jaxneuron.engines.SpikeRecord`
      (`max_spikes`, `threshold`, `times`: the spike-time list, `stats`: online
      statistics in `Trace.spike_stats`); replaces `threshold` and `max_spikes`. E.g.
      `SpikeRecord(times=False, stats=True)` keeps count, first/last spike and ISI moments
      without a list (a sweep's default for `spike_summary`).
    - `throw`: raise if the run blows up, the solver fails, the spike buffer overflows or
      the parameters lie outside the model's domain (`AbstractNeuron.domain`, checked at run
      time, so also for values set inside `jit`/`vmap`), with a message naming the reason;
      with `False` the failure is flagged in `Trace.ok` and `Trace.status`. A fixed step
      too coarse for the model (status 7, `Trace.accuracy`) does not raise: outside `jit`
      and `vmap` it warns (`UserWarning`) with the step to use.
    - `solver`, `stepsize` (`"fixed"`/`"adaptive"`), `spiking` (`"clock"`/`"exact"`),
      `surrogate`, `rtol`, `atol`, `max_steps`, `adjoint`: conveniences that build the
      engine instead (see `jaxneuron.engines.build_engine`); not together with `engine`.

    **Returns:** a `Trace`.

    **Raises:** `ValueError` for invalid times, options, shapes, solver names, unknown or
    repeated `save_states`, a non-finite `threshold` or `y0`, or an engine that cannot run
    the model.
    """
    if not isinstance(model, AbstractNeuron):
        raise ValueError(f"model must be a jaxneuron AbstractNeuron; got {type(model).__name__}")
    if not isinstance(stimulus, AbstractStimulus):
        raise ValueError(
            f"stimulus must be a jaxneuron AbstractStimulus; got {type(stimulus).__name__}"
        )
    engine = build_engine(model, engine, solver=solver, stepsize=stepsize, spiking=spiking,
                          surrogate=surrogate, rtol=rtol, atol=atol, max_steps=max_steps,
                          adjoint=adjoint)
    if record is None:
        threshold = model.spike_threshold if threshold is None else threshold
        record = SpikeRecord(max_spikes=max_spikes, threshold=threshold)
    elif not isinstance(record, SpikeRecord):
        raise ValueError(f"record must be a jaxneuron.engines.SpikeRecord; got {record!r}")
    elif max_spikes != 64 or threshold is not None:
        raise ValueError("record: pass max_spikes and threshold as fields of "
                         "SpikeRecord(...), not next to record=")
    else:
        threshold = record.threshold
    if is_concrete(threshold) and not (np.ndim(threshold) == 0 and math.isfinite(threshold)):
        raise ValueError(f"threshold must be a finite voltage (mV); got {threshold!r}")
    grid = TimeGrid.build(t0, t1, dt, save_every, SaveSpec.build(model.state_names,
                                                                  save_states))
    y0 = _initial_state(model, stimulus, y0, t0)
    _check_input_events(model, stimulus, t0)
    check_precision(engine, y0.dtype)
    trace = _run(engine, model, stimulus, y0, grid, record, threshold, throw)
    if throw:  # status 7 is a warning: it does not raise
        warn_inaccurate(trace, grid.dt)
    return trace


@eqx.filter_jit
def _run(engine, model, stimulus, y0, grid, record, threshold, throw: bool) -> Trace:
    """The compiled part of `simulate`: run the engine, flag parameters outside the model's
    domain, and raise (with `throw`) naming the reason. Compiled once per model structure,
    engine, grid and record (array parameters are traced), so repeated calls with new
    parameter values reuse it."""
    trace = engine.run(model, stimulus, y0, grid, record)
    constraints = {**model.domain(),
                   **{f"stimulus {key}": value for key, value in stimulus.domain().items()},
                   "threshold must be finite": jnp.isfinite(jnp.asarray(threshold))}
    valid, first = domain_status(constraints)
    status = jnp.asarray(trace.status, jnp.int32)
    status = jnp.where(trace.ok | (status != STATUS_OK), status, STATUS_SOLVER_FAILED)
    status = jnp.where(valid, status, STATUS_OUTSIDE_DOMAIN).astype(jnp.int32)
    trace = eqx.tree_at(lambda t: (t.ok, t.status), trace, (trace.ok & valid, status),
                        is_leaf=lambda x: x is None)
    if throw:
        trace = eqx.branched_error_if(
            trace, ~valid, first,
            [f"parameters outside the "
             f"{'stimulus' if key.startswith('stimulus ') else 'model'}'s domain: "
             f"{key.removeprefix('stimulus ')} (pass throw=False to get Trace.ok False and "
             "Trace.status 4 instead)" for key in constraints],
        )
        trace = eqx.error_if(
            trace, trace.spikes_overflowed | (trace.status == STATUS_SPIKES_OVERFLOWED),
            f"more spikes than max_spikes = {record.max_spikes}: pass a larger max_spikes (or "
            "throw=False and check Trace.spikes_overflowed)",
        )
        codes = range(max(STATUS_REASONS) + 1)
        trace = eqx.branched_error_if(
            trace, ~trace.ok, status,
            [f"simulation failed: {STATUS_REASONS.get(c, 'unknown')} (status {c}; check "
             "parameters, use a smaller dt, or pass throw=False to get Trace.ok and "
             "Trace.status)" for c in codes],
        )
    return trace


def _check_input_events(model: AbstractNeuron, stimulus: AbstractStimulus, t0: float) -> None:
    """Raise `ValueError` for input events (concrete `SpikeInput` times and jumps) before
    `t0`, which no engine can deliver, or with a negative jump into a conductance state
    (`model.conductance_states()`), which would make the conductance negative."""
    events = stimulus.events()
    if events is None:
        return
    times, jumps = events
    if is_concrete(times) and times.size and np.nanmin(np.asarray(times)) < t0:
        raise ValueError(f"stimulus: input events before t0 = {t0} ms cannot be delivered; "
                         f"got an event at {float(np.nanmin(np.asarray(times))):g} ms")
    names = tuple(model.state_names)
    if not is_concrete(jumps) or jumps.shape[-1] != len(names):
        return
    for name in model.conductance_states():
        lowest = np.asarray(jumps)[..., names.index(name)].min(initial=0.0)
        if lowest < 0:
            raise ValueError(f"stimulus: input jumps into the conductance {name!r} of "
                             f"{type(model).__name__} must be >= 0 (a negative jump makes the "
                             f"conductance negative; for inhibition use a positive weight "
                             f"into an inhibitory conductance); got {lowest:g}")


def _initial_state(model: AbstractNeuron, stimulus: AbstractStimulus, y0, t0: float):
    """`y0` (or the model's initial state) as a float array of shape `(n_states,)`, checked
    against the model's vector field, in the precision the vector field computes in."""
    expected = (len(model.state_names),)
    batch_hint = ("Parameters with a batch axis need jax.vmap (see jaxneuron.batch_axes) or "
                  "jaxneuron.sweep.")
    if y0 is None:
        try:
            y0 = model.initial_state()
        except (TypeError, ValueError) as error:
            raise ValueError(f"model.initial_state() failed: {error}. {batch_hint}") from error
    elif is_concrete(y0):
        values = np.asarray(y0, dtype=object if isinstance(y0, str) else None)
        if values.dtype.kind in "USO" or not np.all(np.isfinite(values.astype(float))):
            raise ValueError(f"y0 must be finite numbers (the initial state, "
                             f"{', '.join(model.state_names)}); got {y0!r}")
    y0 = jnp.asarray(y0)
    if not jnp.issubdtype(y0.dtype, jnp.inexact):
        y0 = y0.astype(float)
    if y0.shape != expected:
        raise ValueError(
            f"the initial state must have shape {expected} ({', '.join(model.state_names)}); "
            f"got {y0.shape}. {batch_hint}"
        )
    try:
        out = jax.eval_shape(neuron_term(model, stimulus).vf, t0, y0, None)
    except (TypeError, ValueError) as error:
        raise ValueError(f"the model's vector field failed: {error}. {batch_hint}") from error
    if out.shape != expected:
        raise ValueError(f"the vector field returned shape {out.shape}, expected {expected}. "
                         f"{batch_hint}")
    # The run's precision is the model's and the stimulus's: float32 parameters step a
    # float32 state also under jax_enable_x64, unless the vector field promotes it.
    return y0.astype(jnp.result_type(y0.dtype, out.dtype))
