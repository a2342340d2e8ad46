"""`ExactSpiking`: event-driven spiking, one adaptive stepping loop with in-step spike
detection (`jaxneuron.engines.events.event_loop`).

When the model's `spike_condition` changes sign inside an accepted step, the crossing is
root-found on the solver's dense output, the step is cut there, the reset is applied and
stepping continues from the spike time. Spike times are differentiable by the implicit
function theorem.
"""

from __future__ import annotations

import diffrax
import equinox as eqx

from .base import AbstractAdaptiveEngine, require_error_estimate, require_spiking
from .events import event_loop
from .solvers import check_solver_fits, solver_from_name
from .terms import SpikingVectorField


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
        require_error_estimate(self, solver)
        return event_loop(
            model, stimulus, y0, grid, record, solver=solver,
            terms=diffrax.ODETerm(SpikingVectorField(model, stimulus)), rtol=self.rtol,
            atol=self.atol, max_steps=self.max_steps, adjoint=self.adjoint, params=model,
            condition=lambda m, y: m.spike_condition(y), reset=model.reset,
            refractory=model.refractory_period)
