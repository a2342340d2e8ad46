"""Exponential Euler (Rush & Larsen 1978)."""

from __future__ import annotations

import diffrax

from .exponential import AbstractExponentialSolver, relax, relax_columns


class ExponentialEuler(AbstractExponentialSolver):
    """Exponential Euler (Rush & Larsen 1978): first order, one model evaluation per step.

    Fixed steps only (no error estimate).
    """

    def order(self, terms):
        return 1

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        del solver_state, made_jump
        rate, target = terms.vector_field.split(t0, y0, args)
        y1 = relax(y0, rate, target, t1 - t0)
        return y1, None, dict(y0=y0, y1=y1), None, diffrax.RESULTS.successful

    def step_columns(self, split, dt, y):
        return relax_columns(y, *split(0.0, y), dt)
