"""`AdaptiveSteps`: a smooth model under `diffrax.diffeqsolve` with a PID controller."""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax.numpy as jnp

from ..stimuli import AbstractStimulus
from .base import AbstractAdaptiveEngine, require_error_estimate, require_smooth
from .solvers import check_solver_fits, solver_from_name
from .spikes import assemble_trace, detect_spikes
from .terms import neuron_term


class AdaptiveSteps(AbstractAdaptiveEngine):
    """Error-controlled steps (`diffrax.diffeqsolve`, PID controller stepping exactly onto
    the stimulus's discontinuities), for smooth models; spikes are detected on the save grid.

    **Fields:**
    - `solver`: a name or Diffrax solver with an error estimate (`"tsit5"`, default;
      `"kvaerno5"` for stiff runs; `"exp_midpoint"` for gated models; ...).
    - `rtol`, `atol`: relative and absolute tolerances (> 0).
    - `max_steps`: step budget; a run that needs more is flagged (`Trace.ok` False).
    - `adjoint`: a Diffrax adjoint; default `RecursiveCheckpointAdjoint` (reverse mode).
      For `jax.jvp`/`jax.jacfwd` pass `diffrax.ForwardMode()` (forward only) or
      `diffrax.DirectAdjoint()` (both); `jaxneuron.engines.forward_mode(engine)` does
      this, and `fit`, `fit_restarts` and `run_nuts` do it when they use forward mode.
    """

    solver: diffrax.AbstractSolver | None = eqx.field(default=None, converter=solver_from_name)
    rtol: float = 1e-6
    atol: float = 1e-6
    max_steps: int = eqx.field(static=True, default=1_000_000)
    adjoint: diffrax.AbstractAdjoint | None = None

    def run(self, model, stimulus, y0, grid, record):
        require_smooth(self, model, stimulus)
        solver = diffrax.Tsit5() if self.solver is None else self.solver
        check_solver_fits(solver, model)
        term = neuron_term(model, stimulus)
        require_error_estimate(self, solver)
        ts = grid.save_times(y0.dtype)
        sol = diffrax.diffeqsolve(
            term, solver, grid.t0, grid.t1, grid.dt, y0,
            saveat=diffrax.SaveAt(subs=(
                diffrax.SubSaveAt(ts=ts, fn=lambda t, y, args: grid.save(model, y)),
                diffrax.SubSaveAt(t1=True))),
            stepsize_controller=adaptive_controller(stimulus, grid.t0, grid.t1, self.rtol,
                                                    self.atol),
            max_steps=self.max_steps,
            adjoint=diffrax.RecursiveCheckpointAdjoint() if self.adjoint is None
            else self.adjoint,
            throw=False,
        )
        saved, final = sol.ys  # (columns, v) at ts; the full state at t1
        spikes, count = detect_spikes(ts, saved[1], record.threshold, record.max_spikes)
        ok = sol.result == diffrax.RESULTS.successful
        return assemble_trace(model, ts, saved, spikes, count, ok, final[-1], save=grid.save,
                              record=record)


def adaptive_controller(stimulus: AbstractStimulus, t0, t1, rtol: float, atol: float):
    """A PID step-size controller at `rtol`/`atol` that steps exactly onto the stimulus's
    discontinuities inside `(t0, t1)`."""
    jumps = stimulus.discontinuities()
    jumps = jnp.where(jnp.isfinite(jumps) & (jumps > t0) & (jumps < t1), jumps, t1 + 1.0)
    return diffrax.ClipStepSizeController(
        diffrax.PIDController(rtol=rtol, atol=atol), jump_ts=jumps if jumps.size else None
    )
