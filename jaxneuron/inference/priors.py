"""Priors over named model parameters: independent uniform or log-uniform bounds.

A `Prior` is the one place where the inference routes (NUTS, NPE, restarts) learn which
parameters are inferred, in which order, and inside which bounds. Parameter vectors are
arrays `theta` of shape `(..., n_parameters)`, columns in the order of `Prior.names`.

Each bounded marginal comes with a bijection (a `jaxneuron.transforms` transform) between
the real line and its open interval, so samplers, flows and optimisers work unconstrained
and their results always respect the bounds.
"""

from __future__ import annotations

import abc
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from .._fields import check_parameter_names
from .._keys import check_key
from ..transforms import AbstractTransform, Bounded, LogBounded


class AbstractMarginal(eqx.Module):
    """A one-dimensional prior on the open interval `(low, high)`."""

    low: eqx.AbstractVar[float]
    high: eqx.AbstractVar[float]

    @abc.abstractmethod
    def transform(self) -> AbstractTransform:
        """The bijection R -> (low, high) used to work unconstrained."""

    @abc.abstractmethod
    def numpyro(self) -> dist.Distribution:
        """The same prior as a NumPyro distribution."""

    def numpyro_site(self, name: str):
        """Draw this parameter as NumPyro sample site(s) named after `name` inside a NumPyro
        model; returns the value. NUTS then works in the unconstrained coordinate of
        `transform()`."""
        return numpyro.sample(name, self.numpyro())

    def unconstrained_init(self, name: str, value) -> dict:
        """{site name: unconstrained value} that starts `numpyro_site(name)` at `value`."""
        return {name: self.transform().inverse(value)}

    def log_prob(self, value):
        """Log density at `value` (any shape); -inf outside the bounds."""
        return self.numpyro().log_prob(jnp.clip(value, self.low, self.high)) + jnp.where(
            (value > self.low) & (value < self.high), 0.0, -jnp.inf)


def _check_bounds(kind: str, low, high, positive: bool) -> tuple[float, float]:
    try:
        low, high = float(low), float(high)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{kind} bounds must be two numbers; got {low!r}, {high!r}") from error
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"{kind} needs finite bounds with low < high; got ({low}, {high})")
    if positive and low <= 0:
        raise ValueError(f"{kind} needs low > 0; got low={low}")
    return low, high


class Uniform(AbstractMarginal):
    """Uniform on `(low, high)` (finite, low < high)."""

    low: float
    high: float

    def __init__(self, low, high):
        self.low, self.high = _check_bounds("Uniform", low, high, positive=False)

    def transform(self) -> AbstractTransform:
        return Bounded(self.low, self.high)

    def numpyro(self) -> dist.Distribution:
        return dist.Uniform(self.low, self.high)


class LogUniform(AbstractMarginal):
    """Uniform in log(value) on `(low, high)`, 0 < low < high: density ∝ 1/value."""

    low: float
    high: float

    def __init__(self, low, high):
        self.low, self.high = _check_bounds("LogUniform", low, high, positive=True)

    def transform(self) -> AbstractTransform:
        return LogBounded(self.low, self.high)

    def numpyro(self) -> dist.Distribution:
        return dist.LogUniform(self.low, self.high)

    def numpyro_site(self, name: str):
        """A uniform site `<name>_log` on (log low, log high) and the deterministic site
        `name` = exp of it: NUTS then moves in log space (through `LogBounded`), where
        ratios of conductances are straight lines."""
        log_value = numpyro.sample(f"{name}_log",
                                   dist.Uniform(math.log(self.low), math.log(self.high)))
        return numpyro.deterministic(name, jnp.exp(log_value))

    def unconstrained_init(self, name: str, value) -> dict:
        return {f"{name}_log": self.transform().inverse(value)}


class Prior(eqx.Module):
    """Independent bounded priors over named parameters.

    `Prior({"g_Na": LogUniform(60, 240), "g_K": (18, 72)})`: a `(low, high)` tuple means
    `Uniform(low, high)`. Columns of every `theta` array follow the order given here.

    **Raises:** `ValueError` for an empty dict, a non-string name, or bad bounds.
    """

    names: tuple[str, ...] = eqx.field(static=True)
    marginals: tuple[AbstractMarginal, ...]

    def __init__(self, marginals: dict):
        if not isinstance(marginals, dict) or not marginals:
            raise ValueError("prior: give a non-empty dict {parameter name: Uniform/LogUniform "
                             f"or (low, high)}}; got {marginals!r}")
        parts = []
        for name, spec in marginals.items():
            if not isinstance(name, str):
                raise ValueError(f"prior: parameter names must be strings; got {name!r}")
            if isinstance(spec, tuple | list) and len(spec) == 2:
                spec = Uniform(*spec)
            if not isinstance(spec, AbstractMarginal):
                raise ValueError(f"prior[{name!r}] must be Uniform(low, high), "
                                 f"LogUniform(low, high) or a (low, high) tuple; got {spec!r}")
            parts.append(spec)
        self.names = tuple(marginals)
        self.marginals = tuple(parts)

    @property
    def dim(self) -> int:
        """Number of parameters."""
        return len(self.names)

    @property
    def low(self) -> jax.Array:
        """Lower bounds, shape `(dim,)`."""
        return jnp.array([m.low for m in self.marginals])

    @property
    def high(self) -> jax.Array:
        """Upper bounds, shape `(dim,)`."""
        return jnp.array([m.high for m in self.marginals])

    def check(self, module: eqx.Module, argument: str = "prior") -> None:
        """Raise `ValueError` naming `argument` if a name is not a parameter of `module`."""
        check_parameter_names(module, self.names, argument)

    def transforms(self) -> dict[str, AbstractTransform]:
        """Name -> bijection from the real line onto that parameter's bounds."""
        return {n: m.transform() for n, m in zip(self.names, self.marginals, strict=True)}

    def to_unconstrained(self, theta) -> jax.Array:
        """`theta` `(..., dim)` inside the bounds -> unconstrained `u` `(..., dim)`."""
        theta = self._columns(theta, "theta")
        return jnp.stack([m.transform().inverse(theta[..., i])
                          for i, m in enumerate(self.marginals)], axis=-1)

    def from_unconstrained(self, u) -> jax.Array:
        """Unconstrained `u` `(..., dim)` -> `theta` `(..., dim)`, always inside the bounds."""
        u = self._columns(u, "u")
        return jnp.stack([m.transform().forward(u[..., i])
                          for i, m in enumerate(self.marginals)], axis=-1)

    def log_abs_det_jacobian(self, u) -> jax.Array:
        """$\\log |\\det d\\theta/du|$ of `from_unconstrained` at `u` `(..., dim)` -> `(...)`."""
        u = self._columns(u, "u")
        total = 0.0
        for i, m in enumerate(self.marginals):
            slope = jnp.vectorize(jax.grad(m.transform().forward))(u[..., i])
            total = total + jnp.log(jnp.abs(slope))
        return total

    def sample(self, key, n: int) -> jax.Array:
        """`n` independent draws, shape `(n, dim)`.

        **Raises:** `ValueError` if `key` is not a JAX PRNG key or `n` is not an int >= 0."""
        check_key(key)
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise ValueError(f"n must be an int >= 0 (number of draws); got {n!r}")
        keys = jax.random.split(key, self.dim)
        return jnp.stack([m.numpyro().sample(k, (n,))
                          for k, m in zip(keys, self.marginals, strict=True)], axis=-1)

    def log_prob(self, theta) -> jax.Array:
        """Log prior density of `theta` `(..., dim)` -> `(...)`; -inf outside the bounds."""
        theta = self._columns(theta, "theta")
        return sum(m.log_prob(theta[..., i]) for i, m in enumerate(self.marginals))

    def contains(self, theta) -> jax.Array:
        """Whether each row of `theta` `(..., dim)` lies strictly inside the bounds."""
        theta = self._columns(theta, "theta")
        return jnp.all((theta > self.low) & (theta < self.high), axis=-1)

    def as_dict(self, theta) -> dict[str, jax.Array]:
        """`theta` `(..., dim)` -> {name: values `(...)`}."""
        theta = self._columns(theta, "theta")
        return {n: theta[..., i] for i, n in enumerate(self.names)}

    def from_dict(self, values: dict) -> jax.Array:
        """{name: values `(...)`} -> `theta` `(..., dim)`.

        **Raises:** `ValueError` if a name of the prior is missing.
        """
        missing = [n for n in self.names if n not in values]
        if missing:
            raise ValueError(f"values: missing parameter(s) {missing}; need {list(self.names)}")
        return jnp.stack([jnp.asarray(values[n], dtype=float) for n in self.names], axis=-1)

    def _columns(self, x, argument: str) -> jax.Array:
        x = jnp.asarray(x, dtype=float)
        if x.ndim < 1 or x.shape[-1] != self.dim:
            raise ValueError(f"{argument} must have shape (..., {self.dim}) with columns "
                             f"{list(self.names)}; got {x.shape}")
        return x
