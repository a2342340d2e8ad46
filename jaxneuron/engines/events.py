"""The adaptive stepping loop with in-step event detection, shared by `AdaptiveSteps` (smooth
models: threshold crossings of V) and `ExactSpiking` (threshold-and-reset models).

Each iteration takes one Diffrax solver step under a PID controller. A step never crosses a
stop (a jump of the stimulus, `stimulus.next_jump`; an input event; the end of a refractory
period; `t1`). When the event condition is below zero at the start of an accepted step and
at or above it at its end or at one of `INTERIOR_SAMPLES` points of the dense output inside
it (a grazing crossing goes over threshold and back within one step), the first crossing is
root-found on the dense output (safeguarded Newton), so a spike is found where it happens,
whatever the save grid. With a reset (spiking models) the step is cut
there, the reset applied and stepping continues from the spike time; without one (smooth
models) the crossing is recorded and the step kept (at most one crossing per accepted step
is seen: a step long enough to hold a whole spike would need tolerances far looser than any
that resolve the spike). Because every parameter set keeps its own step sequence, a
`vmap`ped batch costs the largest number of steps any member needs.

Crossing times are differentiable by the implicit function theorem: the root is found
without gradients and then refined by one Newton step that carries them.
"""

from __future__ import annotations

from collections.abc import Callable

import diffrax
import equinox as eqx
import equinox.internal as eqxi
import jax
import jax.numpy as jnp
from diffrax._root_finder import use_stepsize_tol

from .solvers import with_stage_loop
from .spikes import assemble_trace, empty_spike_buffer, record_spike
from .terms import input_events

SAVES_PER_STEP = 16  # a step is shortened so that at most this many saves fall inside it
INTERIOR_SAMPLES = 4  # points inside each step where the event condition is also checked


def _merged_stops(stimulus, y0, t0, t1):
    """Sorted input-event times in (t0, t1) with the state jumps due at each; equal times
    merged; unused slots at +inf. Shapes `(k,)`, `(k, n)`. (The stimulus's own jumps are
    stops too, found as the loop goes by `stimulus.next_jump`.)"""
    times, jumps = input_events(stimulus, y0)
    times = jnp.asarray(times, y0.dtype)
    jumps = jnp.asarray(jumps, y0.dtype)
    times = jnp.where(jnp.isfinite(times) & (times > t0) & (times < t1), times, jnp.inf)
    order = jnp.argsort(times)
    times, jumps = times[order], jumps[order]
    k = times.shape[0]
    if k == 0:
        return jnp.full((1,), jnp.inf, y0.dtype), jnp.zeros((1, y0.shape[0]), y0.dtype)
    group = jnp.cumsum(jnp.concatenate([jnp.zeros(1, jnp.int32),
                                        (times[1:] != times[:-1]).astype(jnp.int32)]))
    merged_times = jax.ops.segment_min(times, group, num_segments=k)
    merged_jumps = jax.ops.segment_sum(jumps, group, num_segments=k)
    # A trailing +inf slot so that `stops[i]` is defined once every stop has passed.
    return (jnp.concatenate([merged_times, jnp.full((1,), jnp.inf, y0.dtype)]),
            jnp.concatenate([merged_jumps, jnp.zeros((1, y0.shape[0]), y0.dtype)]))


def _with_controller_tolerances(solver, controller):
    """An implicit solver whose root finder takes the step-size controller's tolerances
    (Diffrax's default, `use_stepsize_tol`) with them filled in, as `diffeqsolve` does."""
    if not isinstance(solver, diffrax.AbstractImplicitSolver):
        return solver
    names = [n for n in ("rtol", "atol", "norm")
             if getattr(solver.root_finder, n) is use_stepsize_tol]
    return eqx.tree_at(lambda s: tuple(getattr(s.root_finder, n) for n in names), solver,
                       tuple(getattr(controller, n) for n in names))


def _frozen(tree):
    """`tree` with gradients stopped on its floating-point arrays."""
    arrays, rest = eqx.partition(tree, eqx.is_inexact_array)
    return eqx.combine(jax.lax.stop_gradient(arrays), rest)


def _crossing_time(condition, a, b, ga, gb, search, tolerance, max_iterations=30):
    """Root of `condition(t)` in `[a, b]` with `ga < 0 <= gb`: Newton from the secant
    guess, falling back to bisection whenever Newton leaves the bracket. No gradients.
    Where `search` is False the secant guess is returned without iterating."""

    def cond(state):
        _, _, _, _, step, i = state
        return (jnp.abs(step) > tolerance) & (i < max_iterations)

    def body(state):
        t, a, b, _, _, i = state
        g, slope = jax.jvp(condition, (t,), (jnp.ones_like(t),))
        a, b = jnp.where(g < 0, t, a), jnp.where(g < 0, b, t)
        newton = t - g / jnp.where(slope > 0, slope, 1.0)
        inside = (slope > 0) & (newton > a) & (newton < b)
        t_new = jnp.where(inside, newton, 0.5 * (a + b))
        return t_new, a, b, g, t_new - t, i + 1

    t = a - ga * (b - a) / (gb - ga)
    init = (t, a, b, ga, jnp.where(search, jnp.inf, 0.0).astype(t.dtype), 0)
    return jax.lax.while_loop(cond, body, jax.tree.map(jax.lax.stop_gradient, init))[0]


def event_loop(model, stimulus, y0, grid, record, *, solver: diffrax.AbstractSolver,
               terms: diffrax.AbstractTerm, rtol: float, atol: float, max_steps: int,
               adjoint, params, condition: Callable, reset: Callable | None, refractory):
    """Integrate `terms` from `y0` over `grid` with adaptive steps of `solver`, stopping at
    the stimulus's jumps and input events, saving on the grid from the dense output, and
    recording upward zero crossings of `condition(params, y)` (`params`: the pytree the
    condition reads, e.g. the model, whose gradients the crossing times carry).

    `reset(y)`: the state after a crossing (the step is cut at it), or None to record the
    crossing without touching the state. `refractory`: time (ms) after a crossing during
    which the model's clamped states are held and no crossing counts (`terms` reads the
    release time as its `args`).

    **Returns:** a `Trace` (`ok` False where the step budget ran out or the state blew up).
    """
    t0, t1, dt0 = grid.t0, grid.t1, grid.dt
    ts = grid.save_times(y0.dtype)
    max_spikes = record.max_spikes
    controller = diffrax.PIDController(rtol=rtol, atol=atol)
    error_order = solver.error_order(terms)
    stop_times, stop_jumps = _merged_stops(stimulus, y0, t0, t1)
    t_ref = jnp.asarray(refractory, y0.dtype)
    dtype = y0.dtype
    t0, t1 = jnp.asarray(t0, dtype), jnp.asarray(t1, dtype)
    root_tolerance = (1e-12 if dtype == jnp.float64 else 1e-6) * jnp.maximum(jnp.abs(t1),
                                                                             1.0)
    loop_kind = ("lax" if isinstance(adjoint, diffrax.ForwardMode) else
                 "bounded" if isinstance(adjoint, diffrax.DirectAdjoint) else "checkpointed")
    solver = with_stage_loop(_with_controller_tolerances(solver, controller), loop_kind)

    # Saves: ts padded with +inf and states with spare rows, so a window of SAVES_PER_STEP
    # entries starting at any index stays in bounds.
    n_save, window = ts.shape[0], min(SAVES_PER_STEP, ts.shape[0])
    ts_padded = jnp.concatenate([ts, jnp.full((window,), jnp.inf, dtype)])
    at_start = ts_padded <= t0
    states = jax.tree.map(
        lambda x: jnp.where(at_start.reshape((-1,) + (1,) * x.ndim), x,
                            jnp.full((n_save + window, *x.shape), jnp.nan, dtype)),
        grid.save(model, y0))  # (columns, v) as the grid's SaveSpec chose them
    i_save = jnp.sum(at_start, dtype=jnp.int32)

    def event_value(y, t, refractory_until):
        return jnp.where(t < refractory_until, -1.0, condition(params, y))

    def step(carry):
        (t, y, t_next, solver_state, ctrl_state, made_jump, refractory_until, i_stop, spikes,
         count, states, i_save, n_steps, ok) = carry
        if reset is not None:
            # A state at or above threshold at the start of a step, not refractory (lifted
            # there by an input jump, or so at t0 or at the release), fires at once: a
            # root-finder only sees crossings inside a step.
            kicked = event_value(y, t, refractory_until) >= 0
            y = jnp.where(kicked, reset(y), y)
            refractory_until = jnp.where(kicked, t + t_ref, refractory_until)
            spikes, count = record_spike(spikes, count, t, kicked)
            made_jump = made_jump | kicked
        jump = jax.lax.stop_gradient(stimulus.next_jump(t)).astype(dtype)
        stop = jnp.minimum(jnp.minimum(stop_times[i_stop], jump), t1)
        stop = jnp.where(refractory_until > t, jnp.minimum(stop, refractory_until), stop)
        last_save = ts_padded[i_save + window - 1]
        t_end = jnp.minimum(jnp.minimum(t_next, stop), jnp.maximum(last_save, t))
        # A step never straddles the release (it is a stop), so whether the clamped states
        # are held is decided once per step, at its start: a stage at the step's end,
        # t_end == refractory_until, must not see them free.
        held_until = jnp.where(t < refractory_until, jnp.inf, -jnp.inf).astype(dtype)
        y1, y_error, dense, solver_state1, result = solver.step(
            terms, t, t_end, y, held_until, solver_state, made_jump)
        y_error = jnp.where(jnp.isnan(y_error), jnp.inf, y_error)
        keep, _, next_t1, _, ctrl_state, _ = controller.adapt_step_size(
            t, t_end, y, y1, held_until, y_error, error_order, ctrl_state)
        keep = keep & (result == diffrax.RESULTS.successful)
        h_next = jax.lax.stop_gradient(next_t1 - jnp.where(keep, t_end, t))

        interpolation = solver.interpolation_cls(t0=t, t1=t_end, **dense)
        g0 = event_value(y, t, refractory_until)
        g1 = event_value(y1, t_end, refractory_until)
        frozen_params, frozen_interpolation = _frozen((params, interpolation))
        # The condition at INTERIOR_SAMPLES points inside the step too (dense output): a
        # grazing crossing, over threshold and back inside one step, has both ends below.
        # The first sample at or above zero closes the bracket of the first crossing.
        inside = t + (t_end - t) * jnp.arange(1, INTERIOR_SAMPLES + 1, dtype=dtype) / (
            INTERIOR_SAMPLES + 1)
        g_inside = jax.vmap(lambda s: jnp.where(
            s < refractory_until, -1.0,
            condition(frozen_params, frozen_interpolation.evaluate(s))))(inside)
        times = jax.lax.stop_gradient(jnp.concatenate([t[None], inside, t_end[None]]))
        values = jax.lax.stop_gradient(jnp.concatenate([g0[None], g_inside, g1[None]]))
        above = values[1:] >= 0
        first = jnp.argmax(above)  # the first point at or above threshold, after t
        crossed = keep & (g0 < 0) & jnp.any(above)

        def g(s):
            return condition(params, interpolation.evaluate(s))

        root = _crossing_time(
            lambda s: condition(frozen_params, frozen_interpolation.evaluate(s)),
            times[first], times[first + 1], jnp.where(crossed, values[first], -1.0),
            jnp.where(crossed, values[first + 1], 1.0), crossed, root_tolerance)
        _, slope = jax.jvp(g, (root,), (jnp.ones_like(root),))
        t_spike = root - g(root) / jax.lax.stop_gradient(jnp.where(slope > 0, slope, 1.0))
        t_spike = jnp.clip(t_spike, t, t_end)
        y_spike = interpolation.evaluate(t_spike)

        if reset is None:  # record the crossing, keep the step
            cut = jnp.asarray(False)
            t_new = jnp.where(keep, t_end, t)
            y_new = jnp.where(keep, y1, y)
        else:
            cut = crossed
            t_new = jnp.where(crossed, t_spike, jnp.where(keep, t_end, t))
            y_before = jnp.where(crossed, y_spike, jnp.where(keep, y1, y))
            y_new = jnp.where(crossed, reset(y_spike), y_before)
        hit_stop = keep & (t_new >= stop_times[i_stop])
        y_new = y_new + jnp.where(hit_stop, stop_jumps[i_stop], 0.0)
        i_stop = i_stop + hit_stop.astype(i_stop.dtype)
        refractory_until = jnp.where(crossed, t_spike + t_ref, refractory_until)
        spikes, count = record_spike(spikes, count, t_spike, crossed)

        # Saves in (t, t_new]: from the dense output, or the post-jump state at t_new.
        idx = i_save + jnp.arange(window)
        save_t = ts_padded[idx]
        due = keep & (save_t <= t_new)
        values = jax.vmap(interpolation.evaluate)(jnp.minimum(save_t, t_end))
        values = jnp.where((save_t == t_new)[:, None], y_new, values)
        values = jax.vmap(lambda y: grid.save(model, y))(values)

        def write(buffer, new):
            old = jax.lax.dynamic_slice_in_dim(buffer, i_save, window)
            due_ = due.reshape((-1,) + (1,) * (new.ndim - 1))
            return jax.lax.dynamic_update_slice_in_dim(
                buffer, jnp.where(due_, new, old), i_save, axis=0)

        states = jax.tree.map(write, states, values)
        i_save = i_save + jnp.sum(due, dtype=i_save.dtype)

        # The vector field jumps at a reset, an input event, a stimulus jump and a release:
        # FSAL solvers must evaluate it afresh there.
        made_jump = jnp.where(keep, cut | hit_stop | (t_new >= jump)
                              | (t_end == refractory_until), made_jump)
        solver_state = jax.tree.map(lambda a, b: jnp.where(keep, a, b), solver_state1,
                                    solver_state)
        ok = ok & jnp.all(jnp.isfinite(y_new))
        return (t_new, y_new, t_new + h_next, solver_state, ctrl_state, made_jump,
                refractory_until, i_stop, spikes, count, states, i_save, n_steps + 1, ok)

    def running(carry):
        t, count, n_steps, ok = carry[0], carry[9], carry[12], carry[13]
        return (t < t1) & ok & (count <= max_spikes) & (n_steps < max_steps)

    args0 = jnp.asarray(-jnp.inf, dtype)
    t_next, ctrl_state = controller.init(terms, t0, t1, y0, dt0, args0, solver.func,
                                         error_order)
    solver_state = solver.init(terms, t0, t_next, y0, args0)
    init = (t0, y0, jnp.asarray(t_next, dtype), solver_state, ctrl_state, jnp.asarray(False),
            args0, jnp.asarray(0, jnp.int32), empty_spike_buffer(max_spikes, dtype),
            jnp.asarray(0, jnp.int32), states, i_save, jnp.asarray(0, jnp.int32),
            jnp.asarray(True))
    final = eqxi.while_loop(running, step, init, max_steps=max_steps, kind=loop_kind)
    t, y, spikes, count = final[0], final[1], final[8], final[9]
    states, ok = final[10], final[13]
    return assemble_trace(model, ts, jax.tree.map(lambda x: x[:n_save], states),
                          spikes[:-1], count, ok & (t >= t1), y, save=grid.save,
                          record=record)
