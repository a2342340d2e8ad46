"""Example circuits of typed neurons: ready-made `Network`s that also serve as templates."""

from __future__ import annotations

import numpy as np

from ..models.generalized import GeneralizedNeuron
from .connectivity import fixed_probability
from .engine import Network, Population, Projection
from .inputs import CurrentInput, PoissonInput
from .plasticity import STDP
from .synapses import ExponentialConductance

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
        return Projection(pre, post, conn, ExponentialConductance(target), **kw)

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
