"""Example circuits of typed neurons: ready-made `Network`s that also serve as templates."""

from __future__ import annotations

import math

import numpy as np

from ...models.generalized import GeneralizedNeuron
from ...models.izhikevich import Izhikevich
from ...network.connectivity import fixed_probability, from_edges
from ...network.engine import Network, Population, Projection
from ...network.inputs import CurrentInput, GaussianInput, PoissonInput
from ...network.plasticity import STDP
from ...network.synapses import StateJump

SENSORY, PYRAMIDAL, INTERNEURON = 0, 1, 2
POPULATION_NAMES = ("sensory", "pyramidal", "interneuron")


def sensory_cortical_circuit(sensory_gain=1.0, interneuron_drive=100.0, *,
                             n_sensory: int = 20, n_pyramidal: int = 80,
                             n_interneuron: int = 20, input_rate: float = 2000.0,
                             input_weight: float = 16.0, stdp: STDP | None = None,
                             seed: int = 0) -> Network:
    """A recurrent circuit of `GeneralizedNeuron` presets: brainstem sensory relay cells
    driven by afferent Poisson input project to cortical pyramidal cells, which excite each
    other (onto distal dendrites, plastic with `stdp` if given) and fast-spiking
    interneurons; the interneurons inhibit the pyramidal cells perisomatically, and also
    receive the sensory input (feed-forward inhibition) and a bias current.

    Populations: `SENSORY` (0), `PYRAMIDAL` (1), `INTERNEURON` (2). Projections, in order:
    sensory->pyramidal (p 0.5, 3 nS x `sensory_gain`, proximal g_e), pyramidal->pyramidal
    (p 0.1, 1 nS, distal g_e_distal; `stdp`), pyramidal->interneuron (p 0.3, 2 nS),
    sensory->interneuron (p 0.5, 2 nS), interneuron->pyramidal (p 0.25, 1.5 nS, g_i).

    **Arguments:**
    - `sensory_gain`: scale of the sensory->pyramidal synapses (their `gain`).
    - `interneuron_drive`: bias current into every interneuron, pA.
    - `input_rate` (Hz), `input_weight` (nS): afferent Poisson input per sensory cell.
    - `stdp`: plasticity of the recurrent pyramidal synapses (None: static).
    - `seed`: connectivity seed. Networks differing only in `sensory_gain`,
      `interneuron_drive` or the rule's parameters stack for `vmap`.
    """
    sizes = (n_sensory, n_pyramidal, n_interneuron)
    cells = ("sensory", "pyramidal", "interneuron")
    pops = [Population(GeneralizedNeuron.preset(c), n, max_events=n)
            for c, n in zip(cells, sizes, strict=True)]

    def connect(pre, post, p, weight, target, **kw):
        conn = fixed_probability(sizes[pre], sizes[post], p, weight,
                                 seed=np.random.SeedSequence([seed, pre, post]),
                                 autapses=pre != post)
        return Projection(pre, post, conn, StateJump(target), **kw)

    projections = [
        connect(SENSORY, PYRAMIDAL, 0.5, 3.0, "g_e", gain=sensory_gain),
        connect(PYRAMIDAL, PYRAMIDAL, 0.1, 1.0, "g_e_distal", plasticity=stdp),
        connect(PYRAMIDAL, INTERNEURON, 0.3, 2.0, "g_e"),
        connect(SENSORY, INTERNEURON, 0.5, 2.0, "g_e"),
        connect(INTERNEURON, PYRAMIDAL, 0.25, 1.5, "g_i"),
    ]
    inputs = [PoissonInput(SENSORY, input_rate, input_weight),
              CurrentInput(INTERNEURON, interneuron_drive)]
    return Network(pops, projections, inputs)


def izhikevich_2003_network(n_exc: int = 800, n_inh: int = 200, *, dt: float = 0.5,
                            seed: int = 0, max_events: int | None = None) -> Network:
    """The random network of Izhikevich (2003, IEEE Trans. Neural Netw. 14:1569, Fig. 3
    and its MATLAB code): `n_exc` excitatory cells (regular spiking to chattering:
    $c = -65 + 15 r^2$, $d = 8 - 6 r^2$) and `n_inh` inhibitory ones (fast spiking to
    low-threshold: $a = 0.02 + 0.08 r$, $b = 0.25 - 0.05 r$), all-to-all coupled with
    weights $0.5 U(0, 1)$ from excitatory and $-U(0, 1)$ from inhibitory cells, driven by
    thalamic noise of standard deviation 5 (excitatory) and 2 (inhibitory).

    The original adds a presynaptic spike's weight, and the noise, to the input current for
    one 1-ms step, which moves v by about weight x 1 ms; here both are jumps of `v` (mV,
    `StateJump("v")`), and the noise drawn every `dt` is scaled by $\\sqrt{dt / 1 ms}$ so its
    variance per millisecond is the original's. Populations: 0 excitatory, 1 inhibitory;
    run with `dt` (ms) and a `key`. `max_events` (default: every neuron) bounds the spikes
    propagated per step: population bursts recruit nearly every cell at once.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2003]))
    re, ri = rng.random(n_exc), rng.random(n_inh)
    exc = Izhikevich(a=0.02, b=0.2, c=-65.0 + 15.0 * re**2, d=8.0 - 6.0 * re**2)
    inh = Izhikevich(a=0.02 + 0.08 * ri, b=0.25 - 0.05 * ri, c=-65.0, d=2.0)
    sizes = (n_exc, n_inh)
    pops = [Population(exc, n_exc, max_events=min(n_exc, max_events or n_exc)),
            Population(inh, n_inh, max_events=min(n_inh, max_events or n_inh))]
    projections = []
    for pre, scale in ((0, 0.5), (1, -1.0)):
        for post in (0, 1):
            pre_idx, post_idx = np.meshgrid(np.arange(sizes[pre]), np.arange(sizes[post]),
                                            indexing="ij")
            weights = scale * rng.random(pre_idx.size)
            conn = from_edges(pre_idx.ravel(), post_idx.ravel(), weights, sizes[pre],
                              sizes[post])
            projections.append(Projection(pre, post, conn, StateJump("v")))
    noise = math.sqrt(dt / 1.0)
    inputs = [GaussianInput(0, 0.0, 5.0 * noise), GaussianInput(1, 0.0, 2.0 * noise)]
    return Network(pops, projections, inputs)
