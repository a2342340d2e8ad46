"""The exponential midpoint rule."""

from __future__ import annotations

import diffrax
import jax.numpy as jnp

from .exponential import AbstractExponentialSolver, relax, relax_columns


class ExponentialMidpoint(AbstractExponentialSolver, diffrax.AbstractAdaptiveSolver):
    """Exponential midpoint rule: second order, two model evaluations per step.

    A half step of exponential Euler gives the midpoint state; rates and targets frozen
    there advance the full step. The difference from the exponential-Euler full step is
    an embedded first-order error estimate, so adaptive step sizing works too.
    """

    def order(self, terms):
        return 2

    def error_order(self, terms):
        return 1

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        del solver_state, made_jump
        dt = t1 - t0
        rate0, target0 = terms.vector_field.split(t0, y0, args)
        decay_half = jnp.exp(-rate0 * (0.5 * dt))
        y_half = target0 + (y0 - target0) * decay_half
        rate_mid, target_mid = terms.vector_field.split(t0 + 0.5 * dt, y_half, args)
        y1 = relax(y0, rate_mid, target_mid, dt)
        y1_euler = target0 + (y0 - target0) * decay_half * decay_half
        return y1, y1 - y1_euler, dict(y0=y0, y1=y1), None, diffrax.RESULTS.successful

    def step_columns(self, split, dt, y):
        rate0, target0 = split(0.0, y)
        decay_half = [jnp.exp(-r * (0.5 * dt)) for r in rate0]
        y_half = tuple(g + (yi - g) * d for yi, g, d in zip(y, target0, decay_half,
                                                            strict=True))
        return relax_columns(y, *split(0.5 * dt, y_half), dt)
