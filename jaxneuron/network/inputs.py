"""External inputs to a population: Poisson spike trains through a synapse, and currents."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import check_finite, check_positive
from .._fields import param
from ..stimuli import AbstractStimulus
from .synapses import AbstractSynapse, ExponentialConductance


class PoissonInput(eqx.Module):
    """Independent Poisson spike trains onto every neuron of population `target`.

    Each neuron receives spikes at `rate` (Hz; scalar or `(n,)`, the total rate of all its
    external sources), each of weight `weight` (nS or pA, as the synapse needs), through
    `synapse` (default: `ExponentialConductance("g_e")`). Per step of `dt` a neuron gets a
    Poisson(rate dt) number of spikes, drawn from the key passed to `simulate_network`.
    """

    target: int = eqx.field(static=True)
    rate: Float[Array, " n"] = param()
    weight: Float[Array, " n"] = param()
    synapse: AbstractSynapse = ExponentialConductance()

    def __check_init__(self):
        check_positive("rate", self.rate, allow_zero=True)
        check_finite("weight", self.weight)

    def delta(self, key, dt, n: int):
        """Summed weights arriving at each of the `n` targets in one step, `(n,)`."""
        lam = jnp.broadcast_to(self.rate * (dt / 1000.0), (n,))
        counts = jax.random.poisson(key, lam, (n,))
        return self.weight * counts.astype(lam.dtype)


class CurrentInput(eqx.Module):
    """A current into population `target`: `amplitude` (scalar or `(n,)`, a constant bias
    per neuron) plus `stimulus(t)` (any `AbstractStimulus`, the same for every neuron), in
    the model's current unit (pA for `ConductanceLIF`)."""

    target: int = eqx.field(static=True)
    amplitude: Float[Array, " n"] = param(0.0)
    stimulus: AbstractStimulus | None = None

    def __check_init__(self):
        check_finite("amplitude", self.amplitude)

    def current(self, t):
        """The current at time `t` (ms): scalar or `(n,)`."""
        return self.amplitude if self.stimulus is None else self.amplitude + self.stimulus(t)
