"""External inputs to a population: Poisson spike trains through a synapse, and currents."""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import check_finite, check_int, check_positive, static_int
from .._fields import param
from ..stimuli import AbstractStimulus
from .synapses import AbstractSynapse, StateJump


class AbstractRandomInput(eqx.Module):
    """External input delivered like spikes: each step, `delta(key, dt, n)` gives the summed
    weight arriving at each of the `n` targets, which the input's `synapse` delivers (the
    engine treats it like a projection). Needs the `key` of `simulate_network`. Concrete
    inputs have the fields `target` (population index, static) and `synapse`."""

    @abc.abstractmethod
    def delta(self, key, dt, n: int):
        """Summed weights arriving at each of the `n` targets in one step, `(n,)`."""


class PoissonInput(AbstractRandomInput):
    """Independent Poisson spike trains onto every neuron of population `target`.

    Each neuron receives spikes at `rate` (Hz; scalar or `(n,)`, the total rate of all its
    external sources), each of weight `weight` (nS or pA, as the synapse needs), through
    `synapse` (default: `StateJump("g_e")`). Per step of `dt` a neuron gets a
    Poisson(rate dt) number of spikes, drawn from the key passed to `simulate_network`.
    """

    target: int = eqx.field(static=True, converter=static_int)
    rate: Float[Array, " n"] = param()
    weight: Float[Array, " n"] = param()
    synapse: AbstractSynapse = StateJump()

    def __check_init__(self):
        check_int("target", self.target, 0)
        check_positive("rate", self.rate, allow_zero=True)
        check_finite("rate", self.rate)
        check_finite("weight", self.weight)

    def delta(self, key, dt, n: int):
        """Summed weights arriving at each of the `n` targets in one step, `(n,)`."""
        lam = jnp.broadcast_to(self.rate * (dt / 1000.0), (n,))
        counts = jax.random.poisson(key, lam, (n,))
        return self.weight * counts.astype(lam.dtype)


class GaussianInput(AbstractRandomInput):
    """Independent Gaussian kicks onto every neuron of population `target`: each step of
    `dt`, each neuron receives `mean + std * N(0, 1)` through `synapse` (default
    `StateJump("v")`: a jump of the membrane potential `v`, in mV), as in the thalamic
    noise of Izhikevich (2003). `mean`, `std`: scalar or `(n,)`; the draw is
    per step, so choose them for the `dt` used."""

    target: int = eqx.field(static=True, converter=static_int)
    mean: Float[Array, " n"] = param(0.0)
    std: Float[Array, " n"] = param(1.0)
    synapse: AbstractSynapse = StateJump("v")

    def __check_init__(self):
        check_int("target", self.target, 0)
        check_finite("mean", self.mean)
        check_positive("std", self.std, allow_zero=True)
        check_finite("std", self.std)

    def delta(self, key, dt, n: int):
        noise = jax.random.normal(key, (n,), jnp.result_type(self.std))
        return jnp.broadcast_to(self.mean, (n,)) + jnp.broadcast_to(self.std, (n,)) * noise


class CurrentInput(eqx.Module):
    """A current into population `target`: `amplitude` (scalar or `(n,)`, a constant bias
    per neuron) plus `stimulus(t)` (any `AbstractStimulus`, the same for every neuron), in
    the model's current unit (pA for `ConductanceLIF`)."""

    target: int = eqx.field(static=True, converter=static_int)
    amplitude: Float[Array, " n"] = param(0.0)
    stimulus: AbstractStimulus | None = None

    def __check_init__(self):
        check_int("target", self.target, 0)
        check_finite("amplitude", self.amplitude)
        if self.stimulus is not None and not isinstance(self.stimulus, AbstractStimulus):
            raise ValueError(f"stimulus must be a jaxneuron stimulus or None; got "
                             f"{type(self.stimulus).__name__}")

    def current(self, t):
        """The current at time `t` (ms): scalar or `(n,)`."""
        return self.amplitude if self.stimulus is None else self.amplitude + self.stimulus(t)
