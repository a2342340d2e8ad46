"""A layered feed-forward conductance-LIF classifier built with `jaxneuron.network`.

Populations (in this order): the `n_in` pixel sources (`PoissonRelay` for Poisson rate
coding, `LatencySource` for latency coding), `n_hidden` and `n_out` `ConductanceLIF`
cells, and `n_out` `SpikeCounter`s that read the output spikes differentiably. Signed
trainable weights (nS) are split into two all-to-all projections per layer: the positive
part into `g_e` (excitatory, reversal 0 mV) and the negative part into `g_i` (inhibitory,
-80 mV), so every synapse stays a conductance >= 0. Optional lateral inhibition: every
output cell inhibits every other one with a fixed `lateral_inhibition` nS into `g_i`.

Images are `(n_in,)` intensities in [0, 1] (see `jaxneuron.apps.digits.digits`); one image is
one network run of `t1` ms. Everything is vmapped over images and over candidate weight
sets (a leading axis on the `LayeredWeights` leaves), and differentiable with a surrogate.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from ...models.conductance_lif import ConductanceLIF
from ...network import (
    CurrentInput,
    Network,
    NetworkResult,
    PoissonInput,
    Population,
    Projection,
    StateJump,
    all_to_all,
    from_edges,
    simulate_network,
)
from ...spike_surrogates import AbstractSurrogate
from .digits import ENCODINGS, latency_rates, poisson_rates
from .sources import LatencySource, PoissonRelay, SpikeCounter

INPUT, HIDDEN, OUTPUT, COUNTER = range(4)


class LayeredWeights(eqx.Module):
    """The trainable parameters: signed weights in nS (> 0 excitatory, < 0 inhibitory).

    - `w_in`: `(n_in, n_hidden)`, pixels -> hidden.
    - `w_out`: `(n_hidden, n_out)`, hidden -> output.
    A leading batch axis on both makes a population of candidate networks.
    """

    w_in: Float[Array, "n_in n_hidden"]
    w_out: Float[Array, "n_hidden n_out"]


class Readout(eqx.Module):
    """What a run of the classifier yields per output neuron, each `(n_out,)`.

    - `counts`: output spike counts (float; differentiable with a surrogate).
    - `area`: $\\sum_k (t_1 - t_k)$ over the output spikes (ms), early spikes weigh more
      (differentiable first-spike proxy).
    - `first_spike`: time of the first spike (ms, end of its step; `inf` if none; not
      differentiable).
    - `hidden_spikes`: total hidden-layer spikes (scalar int, not differentiable).
    """

    counts: Float[Array, " n_out"]
    area: Float[Array, " n_out"]
    first_spike: Float[Array, " n_out"]
    hidden_spikes: Int[Array, ""]


class LayeredNetwork(eqx.Module):
    """The classifier's fixed architecture; the weights are passed separately.

    **Arguments:**
    - `n_in`, `n_hidden`, `n_out`: layer sizes.
    - `encoding`: `"poisson"` (rate coding, `max_rate` Hz at intensity 1) or `"latency"`
      (one spike per pixel at `t_first + (1 - x)(t_last - t_first)` ms; none for x = 0).
    - `t1`, `dt`: presentation window and step (ms).
    - `cell`: the `ConductanceLIF` of the hidden and output layers (default: COBA cell with
      `C = 100` pF, so tau_m = 10 ms).
    - `lateral_inhibition`: output -> output inhibitory weight (nS; 0 = none).
    - `bias_hidden`, `bias_out`: constant input current to every hidden / output cell (pA).
      A tonic drive near rheobase (100 pA for the default cell) keeps cells near threshold,
      where their surrogate derivative is largest.

    **Raises:** `ValueError` for an unknown encoding or non-positive sizes/times.
    """

    n_in: int = eqx.field(static=True)
    n_hidden: int = eqx.field(static=True)
    n_out: int = eqx.field(static=True)
    encoding: str = eqx.field(static=True)
    t1: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    max_rate: float = eqx.field(static=True)
    t_first: float = eqx.field(static=True)
    t_last: float = eqx.field(static=True)
    skeleton: Network

    def __init__(self, n_in: int = 64, n_hidden: int = 32, n_out: int = 10, *,
                 encoding: str = "poisson", t1: float = 50.0, dt: float = 1.0,
                 max_rate: float = 200.0, t_first: float = 2.0, t_last: float = 30.0,
                 cell: ConductanceLIF | None = None, lateral_inhibition: float = 0.0,
                 bias_hidden: float = 0.0, bias_out: float = 0.0):
        for name, n in (("n_in", n_in), ("n_hidden", n_hidden), ("n_out", n_out)):
            if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
                raise ValueError(f"{name} must be a positive int; got {n!r}")
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {ENCODINGS}; got {encoding!r}")
        for name, value in (("t1", t1), ("dt", dt), ("max_rate", max_rate)):
            if not value > 0:
                raise ValueError(f"{name} must be > 0; got {value!r}")
        if not 0 < t_first < t_last:
            raise ValueError(f"need 0 < t_first < t_last (ms); got {t_first}, {t_last}")
        if not lateral_inhibition >= 0:
            raise ValueError(f"lateral_inhibition must be >= 0 nS; got {lateral_inhibition}")
        self.n_in, self.n_hidden, self.n_out = int(n_in), int(n_hidden), int(n_out)
        self.encoding, self.t1, self.dt = encoding, float(t1), float(dt)
        self.max_rate, self.t_first, self.t_last = float(max_rate), float(t_first), float(t_last)
        cell = ConductanceLIF(C=100.0) if cell is None else cell
        if encoding == "poisson":
            source = Population(PoissonRelay(gain=2.0 / dt), n_in, max_events=n_in)
            inputs = (PoissonInput(INPUT, jnp.zeros(n_in), 1.0,
                                   StateJump("pending")),)
        else:
            source = Population(LatencySource(rate=jnp.zeros(n_in)), max_events=n_in)
            inputs = ()
        inputs = inputs + tuple(CurrentInput(p, bias) for p, bias in
                                ((HIDDEN, bias_hidden), (OUTPUT, bias_out)) if bias != 0.0)
        pops = (source,
                Population(cell, n_hidden, max_events=n_hidden),
                Population(cell, n_out, max_events=n_out),
                Population(SpikeCounter(), n_out, max_events=1))
        sizes = {INPUT: n_in, HIDDEN: n_hidden, OUTPUT: n_out}
        projections = [
            Projection(pre, post, all_to_all(sizes[pre], sizes[post], 0.0),
                       StateJump(kind))
            for pre, post in ((INPUT, HIDDEN), (HIDDEN, OUTPUT)) for kind in ("g_e", "g_i")
        ] + [
            Projection(OUTPUT, COUNTER, from_edges(np.arange(n_out), np.arange(n_out), 1.0,
                                                   n_out, n_out),
                       StateJump("count")),
        ]
        if lateral_inhibition > 0 and n_out > 1:
            lateral = all_to_all(n_out, n_out, lateral_inhibition * (1 - np.eye(n_out)))
            projections.append(Projection(OUTPUT, OUTPUT, lateral,
                                          StateJump("g_i")))
        self.skeleton = Network(pops, projections, inputs)

    @property
    def n_steps(self) -> int:
        return int(round(self.t1 / self.dt))

    def encode(self, network: Network, image: Float[Array, " n_in"]) -> Network:
        """`network` (whose population `INPUT` and first input are this classifier's pixel
        sources) showing `image` (traceable)."""
        if self.encoding == "poisson":
            return eqx.tree_at(lambda n: n.inputs[0].rate, network,
                               poisson_rates(image, self.max_rate))
        return eqx.tree_at(lambda n: n.populations[INPUT].model.rate, network,
                           latency_rates(image, self.t_first, self.t_last))

    def network(self, weights: LayeredWeights, image: Float[Array, " n_in"]) -> Network:
        """The `Network` for one image and one weight set (traceable)."""
        w_in, w_out = weights.w_in.reshape(-1), weights.w_out.reshape(-1)
        net = self.encode(self.skeleton, image)
        return eqx.tree_at(
            lambda n: [n.projections[i].connectivity.weights for i in range(4)], net,
            [jax.nn.relu(w_in), jax.nn.relu(-w_in), jax.nn.relu(w_out), jax.nn.relu(-w_out)])

    def simulate(self, weights: LayeredWeights, image, key,
                 surrogate: AbstractSurrogate | None = None) -> NetworkResult:
        """One presentation of `image` (`(n_in,)` in [0, 1]); `key` draws the Poisson
        spikes. **Returns:** the `NetworkResult` (populations in the module's order)."""
        return simulate_network(self.network(weights, image), self.t1, self.dt, key,
                                surrogate=surrogate, throw=False)

    def readout(self, weights: LayeredWeights, image, key,
                surrogate: AbstractSurrogate | None = None) -> Readout:
        """The `Readout` of one image (jit/vmap/grad-safe; with a `surrogate`, gradients
        reach every neuron, see `simulate_network`)."""
        result = self.simulate(weights, image, key, surrogate)
        return _readout(result.final[COUNTER], result.raster(OUTPUT),
                        jnp.sum(result.n_spikes[HIDDEN]), self.dt)

    def batch_readout(self, weights: LayeredWeights, images: Float[Array, "batch n_in"],
                      key, surrogate: AbstractSurrogate | None = None) -> Readout:
        """`readout` vmapped over `images` (`(batch, n_in)`), one Poisson key per image."""
        keys = jax.random.split(key, images.shape[0])
        return jax.vmap(lambda x, k: self.readout(weights, x, k, surrogate))(images, keys)

    def population_readout(self, weights: LayeredWeights, images, key) -> Readout:
        """`batch_readout` vmapped over candidate weight sets (a leading axis on the
        weights); every candidate sees the same Poisson spikes (common random numbers).
        Leaves have shape `(n_candidates, batch, ...)`."""
        return jax.vmap(lambda w: self.batch_readout(w, images, key))(weights)

    def predict(self, readout: Readout) -> Int[Array, " *batch"]:
        """Predicted class: most output spikes (Poisson coding) or earliest first spike
        (latency coding); ties go to the larger `area` (earlier spikes)."""
        if self.encoding == "poisson":
            return jnp.argmax(readout.counts + 1e-3 * readout.area / self.t1, axis=-1)
        never = jnp.isinf(readout.first_spike)
        first = jnp.where(never, 2.0 * self.t1, readout.first_spike)
        return jnp.argmax(-first + 1e-3 * readout.area / self.t1, axis=-1)

    def logits(self, readout: Readout) -> Float[Array, "*batch n_out"]:
        """Differentiable class scores: spike counts (Poisson coding) or `area / dt`
        (latency coding: first-spike weighted)."""
        if self.encoding == "poisson":
            return readout.counts
        return readout.area / self.t1


def init_weights(key, n_in: int = 64, n_hidden: int = 32, n_out: int = 10, *,
                 mean_in: float = 0.2, std_in: float = 1.0, mean_out: float = 0.5,
                 std_out: float = 2.0) -> LayeredWeights:
    """Gaussian initial weights (nS): `w_in ~ N(mean_in, std_in^2 / n_in) * ...`, scaled by
    `1/sqrt(fan_in)` for the standard deviations: `N(mean, (std / sqrt(fan_in))^2)`."""
    k1, k2 = jax.random.split(key)
    w_in = mean_in + std_in / np.sqrt(n_in) * jax.random.normal(k1, (n_in, n_hidden))
    w_out = mean_out + std_out / np.sqrt(n_hidden) * jax.random.normal(k2, (n_hidden, n_out))
    return LayeredWeights(w_in=w_in, w_out=w_out)


def _readout(counter, raster, hidden_spikes, dt) -> Readout:
    """A `Readout` from the counters' final states `(n_out, 2)`, the output raster
    `(n_steps, n_out)` and the total hidden spikes."""
    steps = jnp.arange(1, raster.shape[0] + 1, dtype=counter.dtype)
    first = jnp.min(jnp.where(raster, steps[:, None], jnp.inf), axis=0) * dt
    return Readout(counts=counter[:, 0], area=counter[:, 1], first_spike=first,
                   hidden_spikes=hidden_spikes)
