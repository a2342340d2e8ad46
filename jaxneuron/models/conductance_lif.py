"""Conductance-based leaky integrate-and-fire neuron with exponentially decaying synaptic
conductances (the COBA cell of Brette et al. 2007, J. Comput. Neurosci. 23:349)."""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, Float

from .._fields import param
from .base import (
    AbstractGatedNeuron,
    AbstractSpikingNeuron,
    finite,
    non_negative,
    positive,
    reset_below,
)


class ConductanceLIF(AbstractGatedNeuron, AbstractSpikingNeuron):
    """$C V' = g_L (E_L - V) + g_e (E_e - V) + g_i (E_i - V) + I$,
    $g_e' = -g_e / \\tau_e$, $g_i' = -g_i / \\tau_i$; at $V = V_{th}$: $V \\to V_{reset}$,
    held for `t_ref` while the conductances keep decaying.

    State `(V, g_e, g_i)`: V in mV, conductances in nS; input current in pA. Input spikes
    add their weight (nS) to `g_e` or `g_i` (see `jaxneuron.SpikeInput`). Defaults are the
    COBA benchmark cell (Brette et al. 2007, Benchmark 1: 200 pF, 10 nS leak so
    tau_m = 20 ms, threshold -50 mV, reset -60 mV, 5 ms refractory, E_e = 0 mV,
    E_i = -80 mV, tau_e = 5 ms, tau_i = 10 ms).
    """

    state_names: ClassVar[tuple[str, ...]] = ("V", "g_e", "g_i")
    input_unit: ClassVar[str] = "pA"
    """Unit of the input current (`args`): pA."""

    C: Float[Array, ""] = param(200.0)
    g_L: Float[Array, ""] = param(10.0)
    E_L: Float[Array, ""] = param(-60.0)
    V_th: Float[Array, ""] = param(-50.0)
    V_reset: Float[Array, ""] = param(-60.0)
    t_ref: Float[Array, ""] = param(5.0)
    E_e: Float[Array, ""] = param(0.0)
    E_i: Float[Array, ""] = param(-80.0)
    tau_e: Float[Array, ""] = param(5.0)
    tau_i: Float[Array, ""] = param(10.0)
    v_init: Float[Array, ""] = param(-60.0)

    def domain(self):
        """C, g_L, tau_e, tau_i > 0; t_ref >= 0; potentials finite."""
        return {**positive(self, "C", "g_L", "tau_e", "tau_i"), **non_negative(self, "t_ref"),
                **finite(self, "E_L", "V_th", "V_reset", "E_e", "E_i", "v_init"),
                **reset_below(self, "V_reset", "V_th")}

    def initial_state(self):
        zero = jnp.zeros_like(self.v_init)
        return jnp.stack([self.v_init, zero, zero])

    def voltage(self, y):
        return y[0]

    def exponential_split(self, t, y, args):
        g_e, g_i = y[1], y[2]
        g_total = self.g_L + g_e + g_i
        v_target = (self.g_L * self.E_L + g_e * self.E_e + g_i * self.E_i + args) / g_total
        rate = jnp.stack([g_total / self.C, 1.0 / self.tau_e, 1.0 / self.tau_i])
        target = jnp.stack([v_target, jnp.zeros_like(g_e), jnp.zeros_like(g_i)])
        return rate, target

    def spike_condition(self, y):
        return y[0] - self.V_th

    def reset(self, y):
        return jnp.stack([self.V_reset, y[1], y[2]])

    @property
    def refractory_period(self):
        return self.t_ref
