"""`ExactSpiking`: event-driven spiking, one adaptive stepping loop with in-step spike
detection.

Each iteration takes one Diffrax solver step under a PID controller. A step never crosses a
stop (a stimulus discontinuity, an input event, the end of a refractory period, `t1`). When
the model's `spike_condition` changes sign inside an accepted step, the crossing is
root-found on the solver's dense output (safeguarded Newton), the step is cut there, the
reset is applied and stepping continues from the spike time. Because every parameter set
keeps its own step sequence, a `vmap`ped batch costs the largest number of steps any member
needs, not the sum over spikes of the slowest member's segment.

Spike times are differentiable by the implicit function theorem: the root is found without
gradients and then refined by one Newton step that carries them.
"""

from __future__ import annotations

import diffrax
import equinox as eqx
import equinox.internal as eqxi
import jax
import jax.numpy as jnp

from .base import AbstractAdaptiveEngine, require_error_estimate, require_spiking
from .solvers import check_solver_fits, solver_from_name, with_stage_loop
from .spikes import assemble_trace, empty_spike_buffer, record_spike
from .terms import SpikingVectorField, input_events

SAVES_PER_STEP = 16  # a step is shortened so that at most this many saves fall inside it


def _merged_stops(stimulus, y0, t0, t1):
    """Sorted stop times in (t0, t1) with the state jumps due at each (zero for stimulus
    discontinuities); equal times merged; unused slots at +inf. Shapes `(k,)`, `(k, n)`."""
    times, jumps = input_events(stimulus, y0)
    disc = jnp.asarray(stimulus.discontinuities(), y0.dtype).reshape(-1)
    times = jnp.concatenate([times, disc])
    jumps = jnp.concatenate([jumps, jnp.zeros((disc.shape[0], y0.shape[0]), y0.dtype)])
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


class ExactSpiking(AbstractAdaptiveEngine):
    """Exact (event-driven) spiking: adaptive solver steps, each spike root-found on the
    solver's dense output inside the step, the step cut there and the reset applied.
    Spike times are solver-accurate (about 1e-7 ms at tolerances 1e-10 in float64) and
    differentiable.

    **Fields:**
    - `solver`: a name or Diffrax solver with an error estimate (default `"tsit5"`).
    - `rtol`, `atol`: tolerances of the PID controller (> 0).
    - `max_steps`: step budget; a run that needs more is flagged (`Trace.ok` False).
    - `adjoint`: how the loop is differentiated: default (`None`) a checkpointed loop for
      reverse mode; `diffrax.ForwardMode()` for `jax.jvp`/`jax.jacfwd` only;
      `diffrax.DirectAdjoint()` for both (see `jaxneuron.engines.forward_mode`).
    """

    solver: diffrax.AbstractSolver | None = eqx.field(default=None, converter=solver_from_name)
    rtol: float = 1e-6
    atol: float = 1e-6
    max_steps: int = eqx.field(static=True, default=1_000_000)
    adjoint: diffrax.AbstractAdjoint | None = None

    def run(self, model, stimulus, y0, grid, record):
        require_spiking(self, model)
        solver = diffrax.Tsit5() if self.solver is None else self.solver
        check_solver_fits(solver, model)
        adjoint, max_steps, max_spikes = self.adjoint, self.max_steps, record.max_spikes
        t0, t1, dt0 = grid.t0, grid.t1, grid.dt
        ts = grid.save_times(y0.dtype)
        terms = diffrax.ODETerm(SpikingVectorField(model, stimulus))
        require_error_estimate(self, solver)
        controller = diffrax.PIDController(rtol=self.rtol, atol=self.atol)
        error_order = solver.error_order(terms)
        stop_times, stop_jumps = _merged_stops(stimulus, y0, t0, t1)
        t_ref = jnp.asarray(model.refractory_period, y0.dtype)
        dtype = y0.dtype
        t0, t1 = jnp.asarray(t0, dtype), jnp.asarray(t1, dtype)
        root_tolerance = (1e-12 if dtype == jnp.float64 else 1e-6) * jnp.maximum(jnp.abs(t1),
                                                                                 1.0)
        loop_kind = ("lax" if isinstance(adjoint, diffrax.ForwardMode) else
                     "bounded" if isinstance(adjoint, diffrax.DirectAdjoint) else "checkpointed")
        solver = with_stage_loop(solver, loop_kind)

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

        def condition(y, t, refractory_until):
            return jnp.where(t < refractory_until, -1.0, model.spike_condition(y))

        def step(carry):
            (t, y, t_next, solver_state, ctrl_state, made_jump, refractory_until, i_stop, spikes,
             count, states, i_save, n_steps, ok) = carry
            stop = jnp.minimum(stop_times[i_stop], t1)
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
            g0 = condition(y, t, refractory_until)
            g1 = condition(y1, t_end, refractory_until)
            crossed = keep & (g0 < 0) & (g1 >= 0)

            def g(s):
                return model.spike_condition(interpolation.evaluate(s))

            frozen_model, frozen_interpolation = _frozen((model, interpolation))
            root = _crossing_time(
                lambda s: frozen_model.spike_condition(frozen_interpolation.evaluate(s)),
                t, t_end, jnp.where(crossed, g0, -1.0), jnp.where(crossed, g1, 1.0), crossed,
                root_tolerance)
            _, slope = jax.jvp(g, (root,), (jnp.ones_like(root),))
            t_spike = root - g(root) / jax.lax.stop_gradient(jnp.where(slope > 0, slope, 1.0))
            t_spike = jnp.clip(t_spike, t, t_end)
            y_spike = interpolation.evaluate(t_spike)

            t_new = jnp.where(crossed, t_spike, jnp.where(keep, t_end, t))
            y_before = jnp.where(crossed, y_spike, jnp.where(keep, y1, y))
            y_new = jnp.where(crossed, model.reset(y_spike), y_before)
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

            made_jump = jnp.where(keep, crossed | hit_stop | (t_end == refractory_until),
                                  made_jump)
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
