"""Diffrax Runge–Kutta solvers stepped so that forward mode, reverse mode and `vmap` all work.

A Diffrax Runge–Kutta solver runs its stages in an inner loop whose kind is its
`scan_kind`. Left at `None`, that loop is `"checkpointed"`: a `custom_vjp`, which
`jax.jvp` cannot pass through. `diffeqsolve` swaps the kind for its own adjoints, but our
own stepping loops call the solver directly, so they choose here:

- fixed steps (`FixedSteps`, `ClockSpiking`) take an explicit Runge–Kutta step with its
  stages unrolled from the solver's Butcher tableau (`fixed_step`): plain JAX, so every
  transform passes through, and XLA fuses the stages instead of looping over them;
- the exact engine's adaptive loop needs the solver's error estimate and dense output, so
  it sets the stage loop's kind to match its own loop (`with_stage_loop`).
"""

from __future__ import annotations

from typing import Literal

import diffrax
import equinox as eqx

StageLoop = Literal["lax", "checkpointed", "bounded"]


def with_stage_loop(solver: diffrax.AbstractSolver, kind: StageLoop) -> diffrax.AbstractSolver:
    """`solver` with its Runge–Kutta stage loop set to `kind` unless the caller set one.

    `"bounded"` differentiates in forward and reverse mode; `"lax"` in forward mode only;
    `"checkpointed"` in reverse mode only. Solvers that are not Runge–Kutta pass through.
    """
    if isinstance(solver, diffrax.AbstractRungeKutta) and solver.scan_kind is None:
        return eqx.tree_at(lambda s: s.scan_kind, solver, kind, is_leaf=lambda x: x is None)
    return solver


def unrolls(solver: diffrax.AbstractSolver) -> bool:
    """Whether `fixed_step` unrolls `solver`: an explicit Runge–Kutta method with one
    Butcher tableau."""
    return (isinstance(solver, diffrax.AbstractRungeKutta)
            and isinstance(solver.tableau, diffrax.ButcherTableau)
            and not solver.tableau.implicit)


def init_fixed_step(solver: diffrax.AbstractSolver, term, dt: float, y0, args):
    """The solver state before the first `fixed_step` (`None` for unrolled solvers)."""
    return None if unrolls(solver) else solver.init(term, 0.0, dt, y0, args)


def fixed_step(solver: diffrax.AbstractSolver, term: diffrax.ODETerm, dt: float, y, args,
               solver_state):
    """One step of `solver` over the local interval `[0, dt]` (see
    `jaxneuron.engines.terms.local_time_term`).

    Explicit Runge–Kutta solvers are unrolled from their tableau: stage i is evaluated at
    $c_i\\,dt$ with $y + dt \\sum_j a_{ij} k_j$ and the step is $y + dt \\sum_i b_i k_i$;
    stages that the solution does not use (the FSAL stage) are skipped. Other solvers
    (our exponential ones, `Euler`) take their own `step`.

    **Returns:** `(y1, solver_state)`.
    """
    if not unrolls(solver):
        y1, _, _, solver_state, _ = solver.step(term, 0.0, dt, y, args, solver_state,
                                                made_jump=False)
        return y1, solver_state
    rows, nodes, weights, needed = _plan(solver)
    stages = []
    for i, (row, c) in enumerate(zip(rows, nodes, strict=True)):
        if not needed[i]:
            stages.append(None)
            continue
        increment = [a * stages[j] for j, a in enumerate(row) if a != 0.0]
        y_stage = y if not increment else y + dt * sum(increment[1:], increment[0])
        stages.append(term.vf(c * dt, y_stage, args))
    update = [w * k for w, k in zip(weights, stages, strict=True) if w != 0.0]
    return y + dt * sum(update[1:], update[0]), solver_state


def _plan(solver: diffrax.AbstractSolver):
    """The Butcher tableau of `solver` as Python floats: `(rows, nodes, weights, needed)`,
    `needed[i]` False for stages the solution does not use. Euler is the one-stage tableau."""
    if isinstance(solver, diffrax.Euler):
        return [()], [0.0], [1.0], [True]
    tableau = solver.tableau
    rows = [()] + [tuple(float(a) for a in row) for row in tableau.a_lower]
    nodes = [0.0] + [float(c) for c in tableau.c]
    weights = [float(b) for b in tableau.b_sol]
    needed = [w != 0.0 for w in weights]
    for i in reversed(range(len(rows))):
        if needed[i]:
            for j, a in enumerate(rows[i]):
                needed[j] = needed[j] or a != 0.0
    return rows, nodes, weights, needed


def steps_columns(solver: diffrax.AbstractSolver) -> bool:
    """Whether `fixed_step_columns` can step `solver`: Euler or an unrolled explicit
    Runge–Kutta method (see `unrolls`)."""
    return isinstance(solver, diffrax.Euler) or unrolls(solver)


def fixed_step_columns(solver: diffrax.AbstractSolver, field, dt: float, y: tuple) -> tuple:
    """One explicit step of `solver` over the local interval `[0, dt]` on a state held as
    a tuple of columns (one scalar per state).

    `field(tau, y)` returns the derivative as a tuple of columns at local time `tau`. The
    arithmetic is the same as `fixed_step`'s, done column by column: under `vmap` each
    column is a contiguous `(batch,)` array, so XLA fuses the step with no stacking,
    slicing or transposes between layouts.

    **Returns:** the state at `dt`, a tuple of columns.
    """
    rows, nodes, weights, needed = _plan(solver)

    def combine(base, coefficients, stages):
        terms = [(a, stages[j]) for j, a in enumerate(coefficients) if a != 0.0]
        if not terms:
            return base
        return tuple(
            b + dt * sum((a * k[i] for a, k in terms[1:]), terms[0][0] * terms[0][1][i])
            for i, b in enumerate(base))

    stages = []
    for i, (row, c) in enumerate(zip(rows, nodes, strict=True)):
        stages.append(field(c * dt, combine(y, row, stages)) if needed[i] else None)
    return combine(y, weights, stages)
