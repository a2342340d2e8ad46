"""Diffrax Runge–Kutta solvers built so that forward mode, reverse mode and `vmap` all work.

A Diffrax Runge–Kutta solver runs its stages in an inner loop whose kind is its
`scan_kind`. Left at `None`, that loop is `"checkpointed"`: a `custom_vjp`, which
`jax.jvp` cannot pass through. `diffeqsolve` swaps the kind for its own adjoints, but
our own stepping loops (fixed steps, clock and exact spiking) call `solver.step`
directly, so they choose the kind here.
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
