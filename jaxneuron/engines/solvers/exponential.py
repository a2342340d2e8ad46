"""The base of the exponential (Rush–Larsen-type) solvers: each state advances by the exact
solution of its linear relaxation with frozen rate and target, which is stable at any step
size and needs no Jacobian. They need an `AbstractGatedNeuron` (a model with an
`exponential_split`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import diffrax
import jax.numpy as jnp

from ..._arrays import unstack


def relax_columns(y: tuple, rate: tuple, target: tuple, dt) -> tuple:
    """`relax` on states held as columns (tuples of equal-shape arrays)."""
    return tuple(g + (y_i - g) * jnp.exp(-r * dt) for y_i, r, g in zip(y, rate, target,
                                                                       strict=True))


def relax(y, rate, target, dt):
    """Exact solution after `dt` of $dy/dt = r (y_\\infty - y)$ with r, y_inf frozen.

    Works component by component on the unstacked columns, which keeps batched (vmapped)
    states contiguous in memory and lets XLA fuse the whole step.
    """
    if y.shape[0] == 0:  # e.g. the gates of a model whose states are all voltages
        return y
    return jnp.stack(relax_columns(unstack(y), unstack(rate), unstack(target), dt))


class AbstractExponentialSolver(diffrax.AbstractSolver):
    """A Diffrax solver whose term's vector field has `split(t, y, args) -> (rate, target)`
    (see `jaxneuron.engines.terms`)."""

    term_structure: ClassVar = diffrax.ODETerm
    interpolation_cls: ClassVar[Callable[..., diffrax.LocalLinearInterpolation]] = (
        diffrax.LocalLinearInterpolation
    )

    def init(self, terms, t0, t1, y0, args):
        return None

    def step_columns(self, split, dt: float, y: tuple) -> tuple | None:
        """One step over the local interval `[0, dt]` on a state held as a tuple of
        columns, the arithmetic of `step` done column by column (under `vmap` each column
        is a contiguous `(batch,)` array: no stacked `(batch, n_states)` temporaries).

        `split(tau, y)` returns `(rates, targets)` at local time `tau`, each a tuple of
        columns. **Returns:** the state at `dt` as columns, or None for a solver that
        steps only stacked states (its caller then takes `step`)."""
        return None

    def func(self, terms, t0, y0, args):
        return terms.vf(t0, y0, args)
