"""The staggered exponential integrator of NEURON (Hines 1984)."""

from __future__ import annotations

import diffrax
import jax.numpy as jnp

from ..._arrays import unstack
from .exponential import AbstractExponentialSolver, relax, relax_columns


class StaggeredExponential(AbstractExponentialSolver):
    """Staggered exponential integrator (the scheme of NEURON, Hines 1984): second order for
    about the cost of one model evaluation per step.

    Voltages are advanced exactly over $[t_n, t_{n+1}]$ with the gates frozen at
    $t_{n+1/2}$; gates are then advanced from $t_{n+1/2}$ to $t_{n+3/2}$ with rates at the
    new voltage $V_{n+1}$. The half-step gates travel in the solver state; the returned
    state holds gates synchronised to $t_{n+1}$ (a free by-product of the same
    exponentials). A step with `made_jump=True` (e.g. after a reset) re-synchronises.
    Fixed steps only. Needs an `AbstractGatedNeuron` whose first `n_voltages` states are
    voltages.
    """

    def order(self, terms):
        return 2

    def init(self, terms, t0, t1, y0, args):
        return self._half_step_gates(terms, t0, y0, t1 - t0, args)

    def _half_step_gates(self, terms, t, y, dt, args):
        k = terms.vector_field.model.n_voltages
        rate, target = terms.vector_field.split(t, y, args)
        return tuple(relax(y[k:], rate[k:], target[k:], 0.5 * dt))

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        k = terms.vector_field.model.n_voltages
        n = y0.shape[0]
        dt = t1 - t0
        columns = unstack(y0)
        if made_jump is False:  # static: the fixed-step engine knows no jump happened
            gates_half = solver_state
        else:
            resync = self._half_step_gates(terms, t0, y0, dt, args)
            gates_half = tuple(
                jnp.where(made_jump, a, b) for a, b in zip(resync, solver_state, strict=True)
            )
        rate, target = map(unstack, terms.vector_field.split(
            t0 + 0.5 * dt, jnp.stack([*columns[:k], *gates_half]), args))
        v1 = list(relax_columns(columns[:k], rate[:k], target[:k], dt))
        rate, target = map(unstack, terms.vector_field.split(t1, jnp.stack([*v1, *gates_half]),
                                                             args))
        gates1, gates_next = [], []
        for i in range(k, n):
            decay_half = jnp.exp(-rate[i] * (0.5 * dt))
            g1 = target[i] + (gates_half[i - k] - target[i]) * decay_half
            gates1.append(g1)
            gates_next.append(target[i] + (g1 - target[i]) * decay_half)
        y1 = jnp.stack(v1 + gates1)
        return y1, None, dict(y0=y0, y1=y1), tuple(gates_next), diffrax.RESULTS.successful
