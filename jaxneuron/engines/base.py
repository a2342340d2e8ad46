"""`AbstractEngine`: how a model is integrated, as an object (as Diffrax's solvers are).

An engine holds its solver and options as fields and implements one method, `run`, which
integrates a model under a stimulus over a `TimeGrid` and returns a `Trace`. Concrete
engines are final: `FixedSteps`, `AdaptiveSteps` (smooth models), `ClockSpiking`,
`ExactSpiking` (threshold-and-reset models).
"""

from __future__ import annotations

import abc

import diffrax
import equinox as eqx
import jax.numpy as jnp

from .._checks import is_concrete
from ..models.base import AbstractNeuron, AbstractSpikingNeuron
from ..stimuli import AbstractStimulus
from ..trace import Trace
from .grid import TimeGrid
from .spikes import SpikeRecord


class AbstractEngine(eqx.Module):
    """A way of integrating a neuron model: fixed or adaptive steps, clock-driven or exact
    spiking. Pass one to `jaxneuron.simulate(..., engine=...)`."""

    @abc.abstractmethod
    def run(self, model: AbstractNeuron, stimulus: AbstractStimulus, y0, grid: TimeGrid,
            record: SpikeRecord) -> Trace:
        """Integrate `model` under `stimulus` from the state `y0` (`(n_states,)`) over
        `grid`, saving at the grid's save times what `grid.save` (a `SaveSpec`) says (the
        chosen state columns and V, `model.voltage` of the full state) and the full final
        state, and recording spikes as `record` says.

        **Returns:** a `Trace` (`ok` False where the run blew up or the solver failed).

        **Raises:** `ValueError` if this engine cannot run `model` (with the engine to use
        instead) or its solver does not fit the model.
        """


class AbstractAdaptiveEngine(AbstractEngine):
    """An engine with error-controlled steps: a solver with an error estimate, tolerances,
    a step budget and a Diffrax adjoint (how gradients are taken through the loop)."""

    solver: eqx.AbstractVar[diffrax.AbstractSolver | None]
    rtol: eqx.AbstractVar[float]
    atol: eqx.AbstractVar[float]
    max_steps: eqx.AbstractVar[int]
    adjoint: eqx.AbstractVar[diffrax.AbstractAdjoint | None]

    def __check_init__(self):
        check_tolerances(self.rtol, self.atol, self.max_steps)
        if self.adjoint is not None and not isinstance(self.adjoint, diffrax.AbstractAdjoint):
            raise ValueError(f"adjoint must be a diffrax.AbstractAdjoint or None; got "
                             f"{self.adjoint!r}")


def check_tolerances(rtol: float, atol: float, max_steps: int) -> None:
    """Raise `ValueError` unless `rtol > 0`, `atol > 0` and `max_steps` is a positive int."""
    if not (rtol > 0 and atol > 0):
        raise ValueError(f"rtol and atol must be > 0; got rtol={rtol}, atol={atol}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"max_steps must be a positive int; got {max_steps!r}")


def check_precision(engine: AbstractEngine, dtype) -> None:
    """Raise `ValueError` if `engine` asks for a relative tolerance that states of `dtype`
    cannot resolve (rtol below 4 machine epsilons, e.g. 4.8e-7 in float32): the step-size
    controller would shrink the step until the solver fails."""
    if not isinstance(engine, AbstractAdaptiveEngine) or not is_concrete(engine.rtol):
        return
    floor = 4 * float(jnp.finfo(dtype).eps)
    if float(engine.rtol) < floor:
        raise ValueError(
            f"rtol={engine.rtol} is below what {jnp.dtype(dtype).name} states resolve "
            f"(rtol >= {floor:.1e}); loosen rtol or enable float64 with "
            "jax.config.update('jax_enable_x64', True)")


def require_smooth(engine: AbstractEngine, model: AbstractNeuron,
                   stimulus: AbstractStimulus) -> None:
    """Raise `ValueError` if `model` is a spiking model, which `engine` cannot reset, or
    `stimulus` has input spike events (state jumps need a spiking engine)."""
    if isinstance(model, AbstractSpikingNeuron):
        raise ValueError(
            f"engine {type(engine).__name__} integrates smooth models; "
            f"{type(model).__name__} is a spiking (threshold-and-reset) model: use "
            "engine=ClockSpiking() or engine=ExactSpiking()")
    if not isinstance(model, AbstractNeuron):
        raise ValueError(f"model must be a jaxneuron AbstractNeuron; got {type(model).__name__}")
    if stimulus.events() is not None:
        raise ValueError(f"input spike events (SpikeInput) need a spiking model; "
                         f"{type(model).__name__} is not an AbstractSpikingNeuron")


def require_spiking(engine: AbstractEngine, model: AbstractNeuron) -> None:
    """Raise `ValueError` if `model` is not an `AbstractSpikingNeuron`."""
    if not isinstance(model, AbstractSpikingNeuron):
        raise ValueError(
            f"engine {type(engine).__name__} runs spiking (threshold-and-reset) models; "
            f"{type(model).__name__} is not an AbstractSpikingNeuron: use "
            "engine=FixedSteps() or engine=AdaptiveSteps()")


def require_error_estimate(engine: AbstractEngine, solver: diffrax.AbstractSolver) -> None:
    """Raise `ValueError` if `solver` has no error estimate (e.g. Euler, ExponentialEuler,
    StaggeredExponential), which adaptive steps need: solvers with one are Diffrax's
    `AbstractAdaptiveSolver`s."""
    if not isinstance(solver, diffrax.AbstractAdaptiveSolver):
        raise ValueError(f"solver {type(solver).__name__} has no error estimate: "
                         f"{type(engine).__name__} needs one (e.g. 'tsit5', 'dopri5', "
                         "'kvaerno5', 'exp_midpoint')")


def require_explicit(engine: AbstractEngine, solver: diffrax.AbstractSolver) -> None:
    """Raise `ValueError` for an implicit solver in a fixed-step engine."""
    if isinstance(solver, diffrax.AbstractImplicitSolver):
        raise ValueError(f"solver {type(solver).__name__} is implicit: engine "
                         f"{type(engine).__name__} takes explicit solvers; use it with adaptive "
                         "steps: AdaptiveSteps() (stepsize='adaptive') or ExactSpiking() "
                         "(spiking='exact')")
