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
        dt = t1 - t0
        columns = unstack(y0)
        if made_jump is False:  # static: the fixed-step engine knows no jump happened
            gates_half = solver_state
        else:
            resync = self._half_step_gates(terms, t0, y0, dt, args)
            gates_half = tuple(
                jnp.where(made_jump, a, b) for a, b in zip(resync, solver_state, strict=True)
            )
        split = terms.vector_field.split
        v1 = voltage_step(lambda tau, c: map(unstack, split(t0 + tau, jnp.stack(c), args)), dt,
                          columns[:k], gates_half)
        rate, target = map(unstack, split(t1, jnp.stack([*v1, *gates_half]), args))
        gates1, gates_next = gate_half_steps(gates_half, rate[k:], target[k:], dt)
        y1 = jnp.stack([*v1, *gates1])
        return y1, None, dict(y0=y0, y1=y1), tuple(gates_next), diffrax.RESULTS.successful


def voltage_step(split, dt: float, voltages: tuple, gates_half: tuple) -> tuple:
    """The voltages after one staggered step of `dt` (ms), relaxed exactly with the gates
    frozen at the half step: `split(tau, columns) -> (rates, targets)` at local time `tau`
    (columns); `voltages`, `gates_half` columns. **Returns:** the new voltages (columns)."""
    k = len(voltages)
    rate, target = split(0.5 * dt, (*voltages, *gates_half))
    return relax_columns(voltages, tuple(rate)[:k], tuple(target)[:k], dt)


def gate_half_steps(gates: tuple, rate: tuple, target: tuple, dt: float, keep=False) -> tuple:
    """The gates relaxed twice by `dt / 2` (ms) with the same rates: `(after one half step,
    after both)`, each columns. The staggered scheme moves its gates this way from
    $t_{n-1/2}$ through $t_n$ (synchronised with the voltages) to $t_{n+1/2}$. Where `keep`
    (bool, broadcast), the first half step is skipped: the gates are already at $t_n$."""
    middle, after = [], []
    for g, r, target_i in zip(gates, rate, target, strict=True):
        decay_half = jnp.exp(-r * (0.5 * dt))
        g1 = target_i + (g - target_i) * decay_half
        if keep is not False:
            g1 = jnp.where(keep, g, g1)
        middle.append(g1)
        after.append(target_i + (g1 - target_i) * decay_half)
    return tuple(middle), tuple(after)
