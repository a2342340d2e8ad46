"""The accuracy estimate of fixed-step runs: a local-error estimate on every run, and status
7 (`STATUS_INACCURATE`) when it is far above what the step should give.

**How.** While the loop runs, a watch carried beside the state keeps the two consecutive
steps around the fastest change of the membrane potential: the step `n` with the largest
$|V_{n+1} - V_n|$ and the step before it (where, on a spike's upstroke, the acceleration
and so the error is largest). Steps that contain a spike, a reset, a refractory period, an
input event or a declared input jump (`stimulus.discontinuities()`) never qualify, nor do
their neighbours. After the loop both kept steps are recomputed from their start states by
a fine reference (16 Tsit5 sub-steps: order 5, so its own error is negligible), and the
difference from what the engine computed is the local error of those steps. The cost is a
few selects per step plus two reference steps per run.

**The rule.** A well-resolved step changes V by a small fraction of a millivolt to tens of
millivolts and errs by far less. The run is flagged when, in a probed step,
- a voltage (`model.voltage`, and the first `n_voltages` states of a gated model) errs by
  more than `V_TOLERANCE` = 5 mV, or
- another state errs by more than `STATE_RTOL` = 10 % of its largest magnitude in the
  probed steps (plus `STATE_ATOL` = 1e-6 in its own unit, so states at zero never flag).
Measured (float64, default solvers): Hodgkin–Huxley under 10 µA/cm² errs by at most
0.08 mV per step at dt = 0.025 ms, 2.7 mV at 0.1, 14 at 0.2, 38 at 0.5 and 66 at 1 ms
(where it fires 2 spikes instead of 4); Izhikevich RS (Heun) 0.14 mV at 0.05 ms, 0.8 at
0.1, 6.5 at 0.25 and 240 at 1 ms (spike times 6 ms off). The tolerance sits between the
runs that keep their spike counts and times and those that do not.
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
REFERENCE_SUBSTEPS = 16
"""Tsit5 sub-steps of the reference that recomputes a probed step."""


class Watch(NamedTuple):
    """What the loop carries for the estimate (each entry a scalar per neuron).

    **Fields:**
    - `prev`: the state at the start of the previous step, as columns.
    - `prev_clean`: whether the previous step may be probed (bool).
    - `score`: $|\\Delta V|$ of the kept step (mV), 0 before one is kept.
    - `t`: start of the kept step `n` (ms), NaN before one is kept.
    - `window`: the states at the starts of steps `n - 1`, `n` and at the end of step `n`,
      as three tuples of columns.
    """

    prev: tuple
    prev_clean: jax.Array
    score: jax.Array
    t: jax.Array
    window: tuple


def check_accuracy_option(value) -> None:
    """Raise `ValueError` unless an engine's `accuracy` option is a bool."""
    if not isinstance(value, bool):
        raise ValueError(f"accuracy must be True (estimate the local error) or False; got "
                         f"{value!r}")


def watch_steps(one_step, carry, model, stimulus, grid, quiet=None):
    """Wrap a fixed-step loop body so that it also keeps the steps to probe.

    `one_step(carry, (k, per_step))` is the engine's body for `scan_fixed_steps`, its carry
    starting with the state's columns. Returns `(body, carry)`: the wrapped body and its
    initial carry, `(columns, watch, *rest)` (so `carry[0]` stays the columns and
    `carry[-1]` the rest's last entry); `unwatch` takes the watch back out after the loop.
    `quiet(before, after)` (the engine's own carries around a step) says whether the step is
    free of spikes, resets and refractory periods; None: always.
    """
    columns = carry[0]
    dtype = columns[0].dtype
    jumps = jnp.ravel(jnp.asarray(stimulus.discontinuities(), dtype))
    nan = jnp.full((), jnp.nan, dtype)
    watch = Watch(prev=columns, prev_clean=jnp.asarray(False), score=jnp.zeros((), dtype),
                  t=nan, window=(columns, columns, columns))

    def body(carry, x):
        columns, watch, *rest = carry
        after, out = one_step((columns, *rest), x)
        k, jump = x
        t = grid.t0 + k.astype(dtype) * grid.dt
        # an input jump in (t, t + dt] (one at t itself is seen by the whole step)
        clean = jnp.sum(jumps <= t + grid.dt) == jnp.sum(jumps <= t)
        if jump is not None:
            clean = clean & jnp.all(jump == 0)
        if quiet is not None:
            clean = clean & quiet((columns, *rest), after)
        y1 = after[0]
        step = jax.lax.stop_gradient((watch.prev, columns, y1))
        dv = jnp.abs(_voltage(model, step[2]) - _voltage(model, step[1]))
        better = clean & watch.prev_clean & (dv > watch.score)
        watch = Watch(prev=step[1], prev_clean=clean, score=jnp.where(better, dv, watch.score),
                      t=jnp.where(better, t, watch.t),
                      window=jax.tree.map(lambda new, old: jnp.where(better, new, old), step,
                                          watch.window))
        return (y1, watch, *after[1:]), out

    return body, (columns, watch, *carry[1:])


def unwatch(carry):
    """`(carry, watch)`: the engine's own carry and the watch, from a `watch_steps` loop."""
    columns, watch, *rest = carry
    return (columns, *rest), watch


def estimate(watch: Watch, model, stimulus, dt: float, order: int) -> AccuracyEstimate:
    """The `AccuracyEstimate` of the two kept steps: each recomputed from its start state by
    the reference and compared with the engine's result. `order` is the solver's order
    (for `dt_hint`). No gradient flows through it."""
    model, stimulus, watch = jax.tree.map(
        lambda x: jax.lax.stop_gradient(x) if eqx.is_inexact_array(x) else x,
        (model, stimulus, watch))
    before, start, end = (jnp.stack(y) for y in watch.window)
    starts = jnp.stack([before, start])
    engine = jnp.stack([start, end])
    ts = jnp.stack([watch.t - dt, watch.t])
    reference = jax.vmap(lambda t, y: _reference_step(model, stimulus, t, dt, y))(ts, starts)
    error = jnp.abs(engine - reference)  # (2, n_states)
    voltage = _voltage_states(model, start)
    v_error = jnp.abs(jax.vmap(model.voltage)(engine) - jax.vmap(model.voltage)(reference))
    scale = jnp.max(jnp.abs(jnp.stack([before, start, end])), axis=0)
    ratio = jnp.where(voltage, error / V_TOLERANCE, error / (STATE_RTOL * scale + STATE_ATOL))
    ratio = jnp.maximum(jnp.max(ratio, axis=1), v_error / V_TOLERANCE)  # (2,)
    kept = jnp.isfinite(watch.t)
    ratio = jnp.where(kept, jnp.where(jnp.isnan(ratio), jnp.inf, ratio), 0.0)
    worst = jnp.argmax(ratio)
    error_ratio = ratio[worst]
    shrink = jnp.clip((0.5 / error_ratio) ** (1.0 / (order + 1)), 0.0, 1.0)
    return AccuracyEstimate(error=error_ratio,
                            v_error=jnp.where(kept, jnp.max(v_error), 0.0),
                            t=ts[worst], dt_hint=dt * jnp.where(error_ratio > 1, shrink, 1.0))


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
    """The state after `dt` (ms) from `y` at `t`: `REFERENCE_SUBSTEPS` Tsit5 steps of the
    model's vector field (no reset, no clamp)."""
    h = dt / REFERENCE_SUBSTEPS

    def substep(j, columns):
        start = t + j * h

        def field(tau, columns):
            now = start + tau
            return unstack(model.vector_field(now, jnp.stack(columns), stimulus(now)))

        return fixed_step_columns(diffrax.Tsit5(), field, h, columns)

    return jnp.stack(jax.lax.fori_loop(0, REFERENCE_SUBSTEPS, substep, unstack(y)))
