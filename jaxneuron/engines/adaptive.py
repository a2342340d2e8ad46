"""`AdaptiveSteps`: a smooth model under error-controlled steps, threshold crossings found
inside every accepted step (`jaxneuron.engines.events.event_loop`)."""

from __future__ import annotations

import diffrax
import equinox as eqx

from .base import AbstractAdaptiveEngine, require_error_estimate, require_smooth
from .events import event_loop
from .solvers import check_solver_fits, solver_from_name
from .terms import neuron_term


class AdaptiveSteps(AbstractAdaptiveEngine):
    """Error-controlled steps (a PID controller stepping exactly onto the stimulus's jumps),
    for smooth models; upward threshold crossings of V are root-found on the solver's dense
    output inside every accepted step, so spikes are found where they happen, whatever
    `save_every` says.

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
        require_error_estimate(self, solver)
        return event_loop(
            model, stimulus, y0, grid, record, solver=solver,
            terms=neuron_term(model, stimulus), rtol=self.rtol, atol=self.atol,
            max_steps=self.max_steps, adjoint=self.adjoint,
            params=(model, record.threshold),
            condition=lambda p, y: p[0].voltage(y) - p[1], reset=None, refractory=0.0)
