"""Surrogate derivatives of the spike (Heaviside) function for clock-driven gradients.

A spike is the step $H(c)$ of the model's spike condition $c$. Its true derivative is zero
almost everywhere, so gradients through a clock-driven reset vanish; a surrogate keeps the
exact forward value ($0$ or $1$) and replaces the derivative by a smooth bump of width
about `1 / slope` (in the unit of the condition, usually mV). Every bump here integrates
to 1, so it is a smoothed Dirac delta (Neftci, Mostafa & Zenke 2019, IEEE Signal
Processing Magazine 36:51, review the shapes).
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._checks import as_float_array, check_finite, check_positive


class AbstractSurrogate(eqx.Module):
    """Heaviside step with a surrogate derivative of width ~ `1 / slope` (slope in 1/mV).

    `detach_reset=True` stops the gradient through the reset's spike flag: the state after a
    spike is still `reset(y)`, and gradients flow through `y` and the propagated spikes, but
    not through the choice of resetting. This keeps gradients from compounding from spike to
    spike in long runs (Zenke & Vogels 2021, Neural Comput. 33:899); the forward run is the
    same.
    """

    slope: Float[Array, ""] = eqx.field(default=1.0, converter=as_float_array)
    detach_reset: bool = eqx.field(default=False, static=True)

    def __check_init__(self):
        check_positive("slope", self.slope)
        check_finite("slope", self.slope)
        if not isinstance(self.detach_reset, bool):
            raise ValueError(f"detach_reset must be True or False; got {self.detach_reset!r}")

    @abc.abstractmethod
    def derivative(self, x):
        """The surrogate $dH/dx$, a bump that integrates to 1."""

    def __call__(self, x):
        """$H(x)$ = 1.0 where `x >= 0`, else 0.0, differentiated with `derivative`."""
        return spike_step(x, self)


class FastSigmoid(AbstractSurrogate):
    """SuperSpike (Zenke & Ganguli 2018): $\\frac{s/2}{(1 + s|x|)^2}$."""

    def derivative(self, x):
        return 0.5 * self.slope / (1.0 + self.slope * jnp.abs(x)) ** 2


class Sigmoid(AbstractSurrogate):
    """Derivative of the logistic function $\\sigma(s x)$: $s\\,\\sigma(sx)(1 - \\sigma(sx))$."""

    def derivative(self, x):
        sig = jax.nn.sigmoid(self.slope * x)
        return self.slope * sig * (1.0 - sig)


class Arctan(AbstractSurrogate):
    """Derivative of $\\arctan(s x)/\\pi$: $\\frac{s}{\\pi (1 + (s x)^2)}$."""

    def derivative(self, x):
        return self.slope / (jnp.pi * (1.0 + (self.slope * x) ** 2))


class Triangle(AbstractSurrogate):
    """Piecewise linear bump (Esser et al. 2016): $s \\max(0, 1 - s|x|)$."""

    def derivative(self, x):
        return self.slope * jnp.maximum(0.0, 1.0 - self.slope * jnp.abs(x))


@jax.custom_jvp
def spike_step(x, surrogate: AbstractSurrogate):
    """Heaviside step of `x` whose derivative is `surrogate.derivative(x)`."""
    return (x >= 0).astype(jnp.result_type(x, float))


@spike_step.defjvp
def _spike_step_jvp(primals, tangents):
    x, surrogate = primals
    x_dot, _ = tangents
    return spike_step(x, surrogate), surrogate.derivative(x) * x_dot

