"""Diffrax terms and solvers for neuron models.

`NeuronTerm` turns a model plus a stimulus into a Diffrax term: the stimulus is evaluated at
`t` and passed to the model's vector field. `ExponentialEuler` (Rush–Larsen) and
`ExponentialMidpoint` are Diffrax solvers for `AbstractGatedNeuron` models: each state is
advanced by the exact solution of its linear relaxation with frozen rate and target, which is
stable at any step size and needs no Jacobian.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp

from .models.base import AbstractGatedNeuron, AbstractNeuron
from .stimuli import AbstractStimulus


class NeuronVectorField(eqx.Module):
    """$f(t, y) = $ `model.vector_field(t, y, stimulus(t))`, the callable inside a `NeuronTerm`."""

    model: AbstractNeuron
    stimulus: AbstractStimulus

    def __call__(self, t, y, args):
        return self.model.vector_field(t, y, self.stimulus(t))

    def split(self, t, y, args=None):
        """`(rate, target)` of a gated model at `(t, y)`; see `AbstractGatedNeuron`."""
        return self.model.exponential_split(t, y, self.stimulus(t))


def NeuronTerm(model: AbstractNeuron, stimulus: AbstractStimulus) -> diffrax.ODETerm:  # noqa: N802
    """The Diffrax ODE term of `model` driven by `stimulus` (usable with every Diffrax solver)."""
    return diffrax.ODETerm(NeuronVectorField(model, stimulus))


class LocalTimeVectorField(eqx.Module):
    """`inner` evaluated at `t_start + t`: fixed-step loops step their solver over the
    static interval `[0, dt]` with it, instead of `[t, t + dt]` with a traced `t`.

    The step size is then exactly `dt`: `(t + dt) - t` in float32 is off by up to 4 % of
    a 0.025-ms step at t = 10 s, which cost a float32 relaxation 0.03 mV (now 6e-5 mV; see
    tests/test_float32_time.py). A constant step size also lets XLA fold more of the step
    (the COBA cells' `euler` update: 0.83 -> 0.51 s per simulated second; no change for the
    others measured). Forwards `split` and `model`, which the exponential solvers use.
    """

    inner: eqx.Module
    t_start: jax.Array

    def __call__(self, t, y, args):
        return self.inner(self.t_start + t, y, args)

    def split(self, t, y, args=None):
        return self.inner.split(self.t_start + t, y, args)

    @property
    def model(self):
        return self.inner.model


def local_time_term(term: diffrax.ODETerm, t_start) -> diffrax.ODETerm:
    """`term` on local time: step it over `[0, dt]` for the global `[t_start, t_start + dt]`
    (see `LocalTimeVectorField`)."""
    return diffrax.ODETerm(LocalTimeVectorField(term.vector_field, t_start))


def _relax(y, rate, target, dt):
    """Exact solution after `dt` of $dy/dt = r (y_\\infty - y)$ with r, y_inf frozen.

    Works component by component on the unstacked columns, which keeps batched (vmapped)
    states contiguous in memory and lets XLA fuse the whole step.
    """
    return jnp.stack([
        target[i] + (y[i] - target[i]) * jnp.exp(-rate[i] * dt) for i in range(y.shape[0])
    ])


class _AbstractExponentialSolver(diffrax.AbstractSolver):
    term_structure: ClassVar = diffrax.ODETerm
    interpolation_cls: ClassVar[Callable[..., diffrax.LocalLinearInterpolation]] = (
        diffrax.LocalLinearInterpolation
    )

    def init(self, terms, t0, t1, y0, args):
        return None

    def func(self, terms, t0, y0, args):
        return terms.vf(t0, y0, args)


class ExponentialEuler(_AbstractExponentialSolver):
    """Exponential Euler (Rush & Larsen 1978): first order, one model evaluation per step.

    Fixed steps only (no error estimate).
    """

    def order(self, terms):
        return 1

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        del solver_state, made_jump
        rate, target = terms.vector_field.split(t0, y0, args)
        y1 = _relax(y0, rate, target, t1 - t0)
        return y1, None, dict(y0=y0, y1=y1), None, diffrax.RESULTS.successful


class ExponentialMidpoint(_AbstractExponentialSolver):
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
        y1 = _relax(y0, rate_mid, target_mid, dt)
        y1_euler = target0 + (y0 - target0) * decay_half * decay_half
        return y1, y1 - y1_euler, dict(y0=y0, y1=y1), None, diffrax.RESULTS.successful


class StaggeredExponential(_AbstractExponentialSolver):
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
        return tuple(_relax(y[k:], rate[k:], target[k:], 0.5 * dt))

    def step(self, terms, t0, t1, y0, args, solver_state, made_jump):
        k = terms.vector_field.model.n_voltages
        n = y0.shape[0]
        dt = t1 - t0
        if made_jump is False:  # static: the fixed-step engine knows no jump happened
            gates_half = solver_state
        else:
            resync = self._half_step_gates(terms, t0, y0, dt, args)
            gates_half = tuple(
                jnp.where(made_jump, a, b) for a, b in zip(resync, solver_state, strict=True)
            )
        rate, target = terms.vector_field.split(t0 + 0.5 * dt, jnp.stack([*y0[:k], *gates_half]),
                                              args)
        v1 = [target[i] + (y0[i] - target[i]) * jnp.exp(-rate[i] * dt) for i in range(k)]
        rate, target = terms.vector_field.split(t1, jnp.stack([*v1, *gates_half]), args)
        gates1, gates_next = [], []
        for i in range(k, n):
            decay_half = jnp.exp(-rate[i] * (0.5 * dt))
            g1 = target[i] + (gates_half[i - k] - target[i]) * decay_half
            gates1.append(g1)
            gates_next.append(target[i] + (g1 - target[i]) * decay_half)
        y1 = jnp.stack(v1 + gates1)
        return y1, None, dict(y0=y0, y1=y1), tuple(gates_next), diffrax.RESULTS.successful


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


def resolve_solver(solver, model: AbstractNeuron) -> diffrax.AbstractSolver:
    """Turn a solver name or instance into a Diffrax solver usable with `model`.

    `None` picks the default: `"staggered"` for models with an exponential split (the
    fastest accurate choice for conductance-based models, see benchmarks/README.md),
    `"tsit5"` otherwise.

    **Raises:** `ValueError` for an unknown name, or an exponential solver with a model
    that is not an `AbstractGatedNeuron`.
    """
    if solver is None:
        solver = "staggered" if isinstance(model, AbstractGatedNeuron) else "tsit5"
    if isinstance(solver, str):
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {sorted(SOLVERS)} or a Diffrax solver; "
                             f"got {solver!r}")
        solver = SOLVERS[solver]()
    if not isinstance(solver, diffrax.AbstractSolver):
        raise ValueError(f"solver must be a name or a diffrax.AbstractSolver; got {solver!r}")
    if isinstance(solver, _AbstractExponentialSolver) and not isinstance(
        model, AbstractGatedNeuron
    ):
        raise ValueError(
            f"solver {type(solver).__name__} needs a model with an exponential split "
            f"(an AbstractGatedNeuron); {type(model).__name__} is not one: use 'tsit5' or "
            "'kvaerno5'"
        )
    return solver



def adaptive_controller(stimulus: AbstractStimulus, t0, t1, rtol: float, atol: float):
    """A PID step-size controller at `rtol`/`atol` that steps exactly onto the stimulus's
    discontinuities inside `(t0, t1)`."""
    jumps = stimulus.discontinuities()
    jumps = jnp.where(jnp.isfinite(jumps) & (jumps > t0) & (jumps < t1), jumps, t1 + 1.0)
    return diffrax.ClipStepSizeController(
        diffrax.PIDController(rtol=rtol, atol=atol), jump_ts=jumps if jumps.size else None
    )
