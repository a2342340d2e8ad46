"""Spike-source "neurons" that let a network population emit given input spike trains.

The network engine (`jaxneuron.network`) feeds external spikes to a population only
through `PoissonInput` (one weight per target neuron). To send pixel spike trains through
a trainable weight MATRIX, the pixels become a population of their own whose spikes travel
along an ordinary `Projection`. These two models make such a population:

- `PoissonRelay`: fires once for every external spike it receives. Driven by a
  `PoissonInput` of weight 1 into its `pending` state, it emits a Poisson spike train at the
  input's `rate` (one step later; at most one spike per step, further ones wait a step).
- `LatencySource`: fires exactly once, at `1 / rate` ms (latency coding); `rate = 0`
  never fires.

Both are ordinary `AbstractSpikingNeuron`s, so the engine steps them like any cell.
"""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, Float

from ..._checks import check_positive
from ..._fields import param
from ...models.base import AbstractSpikingNeuron


class PoissonRelay(AbstractSpikingNeuron):
    """Relays external spikes: $v' = g\\,q$, a spike when $v$ reaches 1, then
    $v \\to 0$, $q \\to q - 1$.

    State `(v, pending)`: `v` a dimensionless ramp, `pending` the number of received but not
    yet relayed spikes (external spikes add 1 to it through
    `StateJump("pending")`). `gain` (1/ms) must be at least `1 / dt` so a
    pending spike crosses within one step; use `gain = 2 / dt`.
    """

    state_names: ClassVar[tuple[str, ...]] = ("v", "pending")

    gain: Float[Array, ""] = param(2.0)

    def __check_init__(self):
        check_positive("gain", self.gain)

    def initial_state(self):
        zero = jnp.zeros_like(self.gain)
        return jnp.stack([zero, zero])

    def vector_field(self, t, y, args):
        return jnp.stack([self.gain * y[1], jnp.zeros_like(y[1])])

    def voltage(self, y):
        return y[0]

    def spike_condition(self, y):
        return y[0] - 1.0

    def reset(self, y):
        return jnp.stack([jnp.zeros_like(y[0]), y[1] - 1.0])


class LatencySource(AbstractSpikingNeuron):
    """One spike at $t = 1/r$ ms: $\\phi' = r$, a spike when $\\phi$ reaches 1, then held
    (infinite refractory period). State `(phase,)`; `rate` $r$ in 1/ms (0: no spike)."""

    state_names: ClassVar[tuple[str, ...]] = ("phase",)

    rate: Float[Array, ""] = param(0.0)

    def __check_init__(self):
        check_positive("rate", self.rate, allow_zero=True)

    def initial_state(self):
        return jnp.zeros_like(self.rate)[None]

    def vector_field(self, t, y, args):
        return jnp.broadcast_to(self.rate, y.shape)

    def voltage(self, y):
        return y[0]

    def spike_condition(self, y):
        return y[0] - 1.0

    def reset(self, y):
        return y

    @property
    def refractory_period(self):
        return jnp.asarray(jnp.inf)


class SpikeCounter(AbstractSpikingNeuron):
    """A readout that never fires and integrates the spikes it receives:
    `count` jumps by the arriving weight (through `StateJump("count")`), and
    $a' = $ `count` (ms), so at the end of a window of length $T$, $a = \\sum_k (T - t_k)$
    weighs early spikes more (a differentiable proxy of the first spike). With a
    surrogate in `simulate_network`, both carry gradients of the spikes of the source."""

    state_names: ClassVar[tuple[str, ...]] = ("count", "area")

    def initial_state(self):
        return jnp.zeros((2,))

    def vector_field(self, t, y, args):
        return jnp.stack([jnp.zeros_like(y[0]), y[0]])

    def voltage(self, y):
        return y[0]

    def spike_condition(self, y):
        return -jnp.ones_like(y[0])

    def reset(self, y):
        return y
