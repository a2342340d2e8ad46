"""Standard benchmark networks."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ..._checks import check_int
from ...models.conductance_lif import ConductanceLIF
from ...network.connectivity import fixed_probability
from ...network.engine import Network, Population, Projection
from ...network.synapses import StateJump


def coba_network(n: int = 4000, seed: int = 0, *, p: float = 0.02,
                 max_events: int | None = None) -> Network:
    """The COBA network of Brette et al. 2007 (J. Comput. Neurosci. 23:349, Benchmark 1),
    as in its Brian reference code: `n` ConductanceLIF cells (80 % excitatory), tau_m =
    20 ms (200 pF, 10 nS), V_rest = V_reset = -60 mV, V_th = -50 mV, 5 ms refractory,
    E_e = 0 mV, E_i = -80 mV, tau_e = 5 ms, tau_i = 10 ms; every pair connected with
    probability `p` (autapses allowed, as in the reference), jumps of 0.6 (excitatory) and
    6.7 (inhibitory) leak conductances, i.e. 6 nS into g_e and 67 nS into g_i; no external
    drive. Initial V ~ N(-65, 5) mV, g_e ~ N(4, 1.5) and g_i ~ N(20, 12) leak conductances.

    Population 0 is excitatory, 1 inhibitory. Run it with `dt = 0.1` ms. `seed` fixes the
    synapses and initial states.
    """
    n = check_int("n", n, 10)
    n_exc = int(round(0.8 * n))
    sizes = (n_exc, n - n_exc)
    g_leak = 10.0
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    pops = []
    for size in sizes:
        y0 = np.stack([rng.normal(-65.0, 5.0, size), g_leak * rng.normal(4.0, 1.5, size),
                       g_leak * rng.normal(20.0, 12.0, size)], axis=1)
        pops.append(Population(ConductanceLIF(), size, y0=jnp.asarray(y0),
                               max_events=max_events))
    projections = []
    for pre, (target, weight) in enumerate((("g_e", 0.6 * g_leak), ("g_i", 6.7 * g_leak))):
        for post in range(2):
            conn = fixed_probability(sizes[pre], sizes[post], p, weight,
                                     seed=np.random.SeedSequence([seed, 1, pre, post]))
            projections.append(Projection(pre, post, conn, StateJump(target)))
    return Network(pops, projections)
