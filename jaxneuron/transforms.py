"""Parameter constraints as explicit bijections between an unconstrained space (where the
optimiser works) and the parameter's allowed range."""

from __future__ import annotations

import abc
import math

import equinox as eqx
import jax
import jax.numpy as jnp

from ._checks import check_finite, is_concrete


class AbstractTransform(eqx.Module):
    """A bijection `forward: R -> allowed range` with its `inverse`."""

    @abc.abstractmethod
    def forward(self, u):
        """Unconstrained value -> parameter value."""

    @abc.abstractmethod
    def inverse(self, value):
        """Parameter value -> unconstrained value."""


class Identity(AbstractTransform):
    """No constraint; `scale` sets the optimiser's unit (value = scale * u)."""

    scale: float = 1.0

    def forward(self, u):
        return self.scale * u

    def inverse(self, value):
        return value / self.scale


class Positive(AbstractTransform):
    """value = exp(u) > 0: steps are relative changes, whatever the parameter's magnitude."""

    def forward(self, u):
        return jnp.exp(u)

    def inverse(self, value):
        return jnp.log(value)


class Negative(AbstractTransform):
    """value = -exp(u) < 0."""

    def forward(self, u):
        return -jnp.exp(u)

    def inverse(self, value):
        return jnp.log(-value)


class Bounded(AbstractTransform):
    """value = low + (high - low) * sigmoid(u), inside the open interval (low, high)."""

    low: float
    high: float

    def __check_init__(self):
        check_finite("Bounded low", self.low)
        check_finite("Bounded high", self.high)
        if is_concrete(self.low) and is_concrete(self.high) and not self.high > self.low:
            raise ValueError(f"Bounded needs high > low; got low={self.low}, high={self.high}")

    def forward(self, u):
        return self.low + (self.high - self.low) * jax.nn.sigmoid(u)

    def inverse(self, value):
        frac = (value - self.low) / (self.high - self.low)
        return jnp.log(frac) - jnp.log1p(-frac)


class LogBounded(AbstractTransform):
    """value = exp(log_low + (log_high - log_low) * sigmoid(u)), inside (low, high), low > 0:
    `Bounded` on the logarithm, so equal steps in u are equal relative changes."""

    low: float
    high: float

    def __check_init__(self):
        check_finite("LogBounded high", self.high)
        if not 0 < self.low < self.high:
            raise ValueError(f"LogBounded needs 0 < low < high; got low={self.low}, "
                             f"high={self.high}")

    def forward(self, u):
        return jnp.exp(Bounded(math.log(self.low), math.log(self.high)).forward(u))

    def inverse(self, value):
        return Bounded(math.log(self.low), math.log(self.high)).inverse(jnp.log(value))


def default_transform(value) -> AbstractTransform:
    """Keep the sign a parameter starts with: `Positive` for > 0, `Negative` for < 0,
    `Identity` for 0."""
    value = float(value)
    if value > 0:
        return Positive()
    if value < 0:
        return Negative()
    return Identity()
