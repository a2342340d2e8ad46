"""Solvers for neuron models: our exponential solvers (one file each) and every Diffrax
solver by name.

`ExponentialEuler` (Rush–Larsen), `ExponentialMidpoint` and `StaggeredExponential` advance
each state of an `AbstractGatedNeuron` by the exact solution of its linear relaxation;
any Diffrax solver works with every model.
"""

from __future__ import annotations

from collections.abc import Callable

import diffrax

from ...models.base import AbstractGatedNeuron, AbstractNeuron
from .exponential import AbstractExponentialSolver
from .exponential_euler import ExponentialEuler
from .exponential_midpoint import ExponentialMidpoint
from .runge_kutta import with_stage_loop
from .staggered import StaggeredExponential

SOLVERS: dict[str, Callable[[], diffrax.AbstractSolver]] = {
    "staggered": StaggeredExponential,
    "exp_euler": ExponentialEuler,
    "exp_midpoint": ExponentialMidpoint,
    "euler": diffrax.Euler,
    "heun": diffrax.Heun,
    "midpoint": diffrax.Midpoint,
    "bosh3": diffrax.Bosh3,
    "tsit5": diffrax.Tsit5,
    "dopri5": diffrax.Dopri5,
    "dopri8": diffrax.Dopri8,
    "kvaerno5": diffrax.Kvaerno5,
}
"""Solver names accepted wherever `solver=` takes a string, each mapped to its class."""


def solver_from_name(solver) -> diffrax.AbstractSolver | None:
    """A solver from its name (one of `SOLVERS`); instances and `None` pass through.

    **Raises:** `ValueError` for an unknown name or something that is not a solver.
    """
    if solver is None or isinstance(solver, diffrax.AbstractSolver):
        return solver
    if isinstance(solver, str):
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {sorted(SOLVERS)} or a Diffrax solver; "
                             f"got {solver!r}")
        return SOLVERS[solver]()
    raise ValueError(f"solver must be a name or a diffrax.AbstractSolver; got {solver!r}")


def check_solver_fits(solver: diffrax.AbstractSolver, model: AbstractNeuron) -> None:
    """Raise `ValueError` if `solver` cannot integrate `model` (an exponential solver needs
    an `AbstractGatedNeuron`)."""
    if isinstance(solver, AbstractExponentialSolver) and not isinstance(model,
                                                                        AbstractGatedNeuron):
        raise ValueError(
            f"solver {type(solver).__name__} needs a model with an exponential split "
            f"(an AbstractGatedNeuron); {type(model).__name__} is not one: use 'tsit5' or "
            "'kvaerno5'"
        )


__all__ = ["SOLVERS", "AbstractExponentialSolver", "ExponentialEuler", "ExponentialMidpoint",
           "StaggeredExponential", "check_solver_fits", "solver_from_name", "with_stage_loop"]
