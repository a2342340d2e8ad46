"""The accuracy estimate of fixed-step runs: a local-error estimate on every run, and status
7 (`STATUS_INACCURATE`) when it is far above what the step should give.

**How.** While the loop runs, once per block of steps (see `watch_steps`) the watch keeps
the state where V changes fastest, $|dV/dt|$ from one evaluation of the vector field; the
step itself does no extra work. States that are refractory never qualify. After the loop,
up to `PROBE_STEPS` steps from the kept state are taken again by the engine's own step and
from the same starts by a fine reference (8 or more Tsit5 sub-steps of at most 0.04 ms:
order 5, so its own error is negligible); the difference is each step's local error. A
step whose reference is not finite is not probed. The probe stops at a step that
contains a spike, a jump of the stimulus (`stimulus.next_jump`) or an input event,
so resets and input jumps never raise a false alarm.

**The rule.** A well-resolved step changes V by a small fraction of a millivolt to tens of
millivolts and errs by far less. The run is flagged when, in a probed step,
- a voltage (`model.voltage`, and the first `n_voltages` states of a gated model) errs by
  more than `V_TOLERANCE` = 5 mV, or
- another state errs by more than `STATE_RTOL` = 10 % of its largest magnitude in the
  probed steps (plus `STATE_ATOL` = 1e-6 in its own unit, so states at zero never flag).
Measured (float64, default solvers): Hodgkin–Huxley under 10 µA/cm² errs by at most
0.08 mV per step at dt = 0.025 ms, 2.7 mV at 0.1, 14 at 0.2, 38 at 0.5 and 66 at 1 ms
(where it fires 2 spikes instead of 4); Izhikevich RS (Heun) 0.14 mV at 0.05 ms, 0.8 at
0.1, 6.5 at 0.25 and 240 at 1 ms (spike times 6 ms off). Runs above the tolerance have spike
times off by about half a millisecond or more, or wrong spike counts; the usual steps (HH at
0.025 ms, spiking models at 0.01-0.1 ms) stay several times below it. A long run is judged
on the states it samples (about `WATCH_STEPS`), so on a sample of its spikes.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp

from .._arrays import unstack
from .._checks import is_concrete
from ..models.base import AbstractGatedNeuron
from ..trace import STATUS_INACCURATE, STATUS_PRECEDENCE, AccuracyEstimate, Trace
from .solvers.runge_kutta import fixed_step_columns

V_TOLERANCE = 5.0
"""Largest local error of a voltage per step (mV) before a run is flagged inaccurate."""
STATE_RTOL = 0.1
"""Largest local error per step of a non-voltage state, relative to its magnitude."""
STATE_ATOL = 1e-6
"""Absolute floor (in the state's own unit) of the non-voltage states' tolerance."""
WATCH_STEPS = 128
"""Runs longer than twice this many steps look for the state to probe once per block of
steps, at about this many evenly spread states (see `watch_steps`)."""
PROBE_STEPS = 3
"""Steps probed from the kept state."""
REFERENCE_SUBSTEPS = 8
"""Tsit5 sub-steps of the reference that recomputes a probed step (at least; more for
steps above `REFERENCE_STEP`)."""
REFERENCE_STEP = 0.04
"""Longest sub-step of the reference (ms): inside the stability region of Tsit5 for rates up
to ~80/ms (Hodgkin–Huxley's gates reach ~20/ms)."""


def check_accuracy_option(value) -> None:
    """Raise `ValueError` unless an engine's `accuracy` option is a bool."""
    if not isinstance(value, bool):
        raise ValueError(f"accuracy must be True (estimate the local error) or False; got "
                         f"{value!r}")


class Watch(NamedTuple):
    """What the loop carries for the estimate.

    **Fields:**
    - `k`: steps done (int, the same for every neuron of a batch).
    - `score`: $|dV/dt|$ (mV/ms) at the kept state, 0 before one is kept.
    - `t`: time of the kept state (ms), NaN before one is kept.
    - `y`: the kept state, as columns.
    - `solver_state`: the engine's solver state there (None for stateless solvers).
    - `prev`: the previous block's `(y, solver_state, t)` (`t` NaN where it may not be
      kept), in runs that keep the state one block before the fastest; else None.
    """

    k: jax.Array
    score: jax.Array
    t: jax.Array
    y: tuple
    solver_state: object
    prev: tuple | None


def watch_steps(one_step, carry, model, stimulus, grid, *, flush=None, block: int = 1,
                eligible=None, solver_state=None, stop=None, sync=None):
    """Wrap a fixed-step loop so that it also keeps the state to probe.

    `one_step(carry, (k, per_step))` is the engine's body for `scan_fixed_steps`, its carry
    starting with the state's columns; `flush` and `block` the engine's own (None and 1
    when it has none). At the end of every block of steps the state with the largest
    $|dV/dt|$ so far is kept (one evaluation of the vector field per block, nothing per
    step). Blocks are one step long in runs of up to `2 * WATCH_STEPS` steps, which keep
    the state one step before the fastest (the start of the steep part, where a spike's
    upstroke errs most); longer runs observe once per recording block of the engine or
    every `n_steps // WATCH_STEPS` steps, and keep the fastest state itself.

    `eligible(rest)` (`rest`: the engine's carry after the columns) says whether the state
    may be kept (e.g. not refractory); `solver_state(rest)` picks the solver state to keep
    with it (None: none); `stop(y0, y1)` (stacked states) whether a step from `y0` to `y1`
    would spike: a state whose two Euler steps spike is not kept in long runs. A loop whose
    columns are not the model's state gives `sync(columns, k)`, the state after k >= 1
    steps (the kept state is then a model state, and `solver_state` should be None).

    **Returns:** `(body, carry, flush, block)` for `scan_fixed_steps`: the carry is
    `(columns, watch, *rest)`, so `carry[0]` stays the columns and `carry[-1]` the rest's
    last entry; `unwatch` takes the watch back out after the loop.
    """
    columns, *rest = carry
    dtype = columns[0].dtype
    lag = grid.n_steps <= 2 * WATCH_STEPS  # keep the state one step before the fastest
    if lag:
        block = 1
    elif flush is None:
        block = grid.n_steps // WATCH_STEPS
    state = None if solver_state is None else solver_state(rest)
    nan = jnp.full((), jnp.nan, dtype)
    watch = Watch(k=jnp.asarray(0, jnp.int32), score=jnp.zeros((), dtype), t=nan, y=columns,
                  solver_state=state, prev=(columns, state, nan) if lag else None)
    # no gradient flows through the watch, so a differentiated loop carries none for it
    watch = jax.tree.map(lambda x: jax.lax.stop_gradient(x) if eqx.is_inexact_array(x) else x,
                         watch)

    def body(carry, x):
        columns, watch, *rest = carry
        after, out = one_step((columns, *rest), x)
        return (after[0], watch._replace(k=watch.k + 1), *after[1:]), out

    def observe(carry, outputs):
        if flush is not None:
            carry = flush(carry, outputs)
        columns, watch, *rest = carry
        state = columns if sync is None else sync(columns, watch.k)
        t = grid.t0 + watch.k.astype(dtype) * grid.dt
        y = jax.lax.stop_gradient(jnp.stack(state))
        f = model.vector_field(t, y, stimulus(t))
        speed = jax.lax.stop_gradient(jnp.abs(jax.jvp(model.voltage, (y,), (f,))[1]))
        ok = jnp.asarray(True) if eligible is None else eligible(rest)
        now = jax.lax.stop_gradient((state, None if solver_state is None else
                                     solver_state(rest), jnp.where(ok, t, jnp.nan)))
        if lag:
            candidate, prev = watch.prev, now
        else:
            if stop is not None:
                ok = ok & ~stop(y, y + 2 * grid.dt * f)  # two Euler steps ahead
            candidate, prev = (now[0], now[1], jnp.where(ok, t, jnp.nan)), None
        better = jnp.isfinite(candidate[2]) & (speed > watch.score)
        kept = jax.tree.map(lambda new, old: jnp.where(better, new, old), candidate,
                            (watch.y, watch.solver_state, watch.t))
        watch = watch._replace(score=jnp.where(better, speed, watch.score), y=kept[0],
                               solver_state=kept[1], t=kept[2], prev=prev)
        return (columns, watch, *rest)

    return body, (columns, watch, *rest), observe, block


def unwatch(carry):
    """`(carry, watch)`: the engine's own carry and the watch, from a `watch_steps` loop."""
    columns, watch, *rest = carry
    return (columns, *rest), watch


def estimate(watch: Watch, model, stimulus, dt: float, order: int, advance,
             stop=None) -> AccuracyEstimate:
    """The `AccuracyEstimate` of the `PROBE_STEPS` steps from the kept state: each step
    taken again as the engine takes it, `advance(t, columns, solver_state) -> (columns,
    solver_state)`, and from the same start by the reference; their difference is the
    step's local error. The probe ends at the first step with a jump of the stimulus or
    input event, or where `stop(y0, y1)` (stacked states) says the step would spike.
    `order` is the solver's order (for `dt_hint`). No gradient flows through it."""
    model, stimulus, watch = jax.tree.map(
        lambda x: jax.lax.stop_gradient(x) if eqx.is_inexact_array(x) else x,
        (model, stimulus, watch))
    dtype = watch.t.dtype
    events = stimulus.events()
    jumps = (jnp.zeros((0,), dtype) if events is None
             else jnp.ravel(jnp.asarray(events[0], dtype)))
    voltage_states = _voltage_states(model, jnp.stack(watch.y))

    def probe(carry, j):  # one probed step (a scan, so the step is compiled once)
        columns, state, valid = carry
        t = watch.t + j * dt
        y0 = jnp.stack(columns)
        columns, state = jax.lax.stop_gradient(advance(t, columns, state))
        y1 = jnp.stack(columns)
        # an input jump in (t, t + dt] (one at t itself is seen by the whole step)
        valid = valid & (jnp.sum(jumps <= t + dt) == jnp.sum(jumps <= t))
        valid = valid & ~(stimulus.next_jump(t) <= t + dt)  # the current jumps in the step
        if stop is not None:
            valid = valid & ~stop(y0, y1)
        reference = _reference_step(model, stimulus, t, dt, y0)
        valid = valid & jnp.all(jnp.isfinite(reference))  # else no information: not probed
        error = jnp.abs(y1 - reference)
        v_error = jnp.abs(model.voltage(y1) - model.voltage(reference))
        scale = jnp.maximum(jnp.abs(y0), jnp.abs(y1))
        ratio = jnp.where(voltage_states, error / V_TOLERANCE,
                          error / (STATE_RTOL * scale + STATE_ATOL))
        ratio = jnp.maximum(jnp.max(ratio), v_error / V_TOLERANCE)
        ratio = jnp.where(jnp.isnan(ratio), jnp.inf, ratio)  # the engine's step blew up
        out = (jnp.where(valid, ratio, 0.0), jnp.where(valid, v_error, 0.0), t)
        return (columns, state, valid), out

    start = (watch.y, watch.solver_state, jnp.isfinite(watch.t))
    _, (ratios, v_errors, ts) = jax.lax.scan(probe, start, jnp.arange(PROBE_STEPS))
    worst = jnp.argmax(ratios)
    error_ratio = ratios[worst]
    shrink = jnp.clip((0.5 / error_ratio) ** (1.0 / (order + 1)), 0.0, 1.0)
    return jax.lax.stop_gradient(AccuracyEstimate(
        error=error_ratio, v_error=jnp.max(v_errors), t=ts[worst],
        dt_hint=dt * jnp.where(error_ratio > 1, shrink, 1.0)))


def flag_inaccurate(trace: Trace, accuracy: AccuracyEstimate) -> Trace:
    """`trace` with its `accuracy` and, where `accuracy.error > 1`, status 7 unless a code
    that comes first in `STATUS_PRECEDENCE` applies (`ok` unchanged: status 7 is a
    warning)."""
    order = list(STATUS_PRECEDENCE)
    rank = jnp.asarray([order.index(c) if c in order else len(order)
                        for c in range(max(order) + 1)], jnp.int32)
    status = jnp.asarray(trace.status, jnp.int32)
    wins = (accuracy.error > 1) & (rank[status] > order.index(STATUS_INACCURATE))
    status = jnp.where(wins, STATUS_INACCURATE, status).astype(jnp.int32)
    return eqx.tree_at(lambda t: (t.status, t.accuracy), trace, (status, accuracy),
                       is_leaf=lambda x: x is None)


def advice(accuracy: AccuracyEstimate, dt: float) -> str:
    """One line of advice for a run flagged inaccurate (concrete, unbatched `accuracy`)."""
    hint = _round_down(float(accuracy.dt_hint))
    return (f"the step dt={dt:g} ms is too coarse for this model: local error estimate "
            f"{float(accuracy.v_error):.3g} mV per step near t={float(accuracy.t):g} ms "
            f"({float(accuracy.error):.3g}x the tolerance, {V_TOLERANCE:g} mV for V); try "
            f"dt <= {hint:g} ms, or an adaptive/exact engine (status 7)")


def warn_inaccurate(trace: Trace, dt: float) -> None:
    """Warn (`UserWarning`, one line of `advice`) if `trace` is concrete, unbatched and
    flagged inaccurate (status 7). Traced values (inside `jit`, `vmap`, `grad`) pass."""
    status = trace.status
    if trace.accuracy is None or not is_concrete(status) or jnp.ndim(status) != 0:
        return
    if int(status) == STATUS_INACCURATE:
        warnings.warn(advice(trace.accuracy, dt), UserWarning, stacklevel=3)


def _round_down(dt: float) -> float:
    """The largest of 1, 2, 2.5 or 5 times a power of ten not above `dt` (> 0)."""
    if not dt > 0:
        return dt
    power = 10.0 ** math.floor(math.log10(dt))
    return max(m * power for m in (1.0, 2.0, 2.5, 5.0) if m * power <= dt * (1 + 1e-9))


def _voltage(model, columns: tuple):
    return model.voltage(jnp.stack(columns))


def _voltage_states(model, y) -> jax.Array:
    """Which states are voltages, `(n_states,)` bool: those `model.voltage` reads, and the
    first `n_voltages` of a gated model."""
    reads = jax.grad(lambda z: jnp.sum(model.voltage(z)))(y) != 0
    if isinstance(model, AbstractGatedNeuron):
        reads = reads | (jnp.arange(y.shape[0]) < model.n_voltages)
    return reads


def _reference_step(model, stimulus, t, dt: float, y):
    """The state after `dt` (ms) from `y` at `t`: Tsit5 sub-steps (`REFERENCE_SUBSTEPS`, or
    more to keep them below `REFERENCE_STEP`) of the model's vector field (no reset, no
    clamp)."""
    n = max(REFERENCE_SUBSTEPS, math.ceil(dt / REFERENCE_STEP))
    h = dt / n

    def substep(j, columns):
        start = t + j * h

        def field(tau, columns):
            now = start + tau
            return unstack(model.vector_field(now, jnp.stack(columns), stimulus(now)))

        return fixed_step_columns(diffrax.Tsit5(), field, h, columns)

    return jnp.stack(jax.lax.fori_loop(0, n, substep, unstack(y)))
