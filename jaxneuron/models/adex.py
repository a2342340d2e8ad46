"""Adaptive exponential integrate-and-fire (Brette & Gerstner 2005, J. Neurophysiol. 94:3637)."""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, Float

from .._fields import param
from .base import AbstractSpikingNeuron, finite, non_negative, positive, reset_below

# Cap on (V - V_T) / Delta_T: far above any spike cut-off, it keeps the exponential finite in
# the intermediate stages of a solver step that overshoots during the upswing.
_MAX_EXPONENT = 40.0



class AdEx(AbstractSpikingNeuron):
    """$C V' = -g_L (V - E_L) + g_L \\Delta_T e^{(V - V_T)/\\Delta_T} - w + I$,
    $\\tau_w w' = a (V - E_L) - w$; at $V = V_{peak}$: $V \\to V_r$, $w \\to w + b$.

    State `(V, w)`: V in mV, w in pA; input current in pA. Defaults are the fit to a
    cortical pyramidal cell in Brette & Gerstner (2005), Table 1. The spike cut-off
    `V_peak` defaults to $V_T + 5\\Delta_T$: past it the exponential term drives V to
    infinity within a fraction of a millisecond, so spike times hardly depend on the
    cut-off, while a higher one makes the equations needlessly stiff.

    **Arguments:** `C` (pF), `g_L` (nS), `E_L` (mV), `V_T` (mV), `Delta_T` (mV), `tau_w`
    (ms), `a` (nS), `b` (pA), `V_r` (reset, mV), `V_peak` (spike cut-off, mV), `t_ref`
    (ms), `v_init` (mV; w starts at 0). `C`, `g_L`, `Delta_T`, `tau_w` > 0, `t_ref` >= 0,
    all finite.
    """

    state_names: ClassVar[tuple[str, ...]] = ("V", "w")
    input_unit: ClassVar[str] = "pA"
    """Unit of the input current (`args`): pA."""

    C: Float[Array, ""] = param(281.0)
    g_L: Float[Array, ""] = param(30.0)
    E_L: Float[Array, ""] = param(-70.6)
    V_T: Float[Array, ""] = param(-50.4)
    Delta_T: Float[Array, ""] = param(2.0)
    tau_w: Float[Array, ""] = param(144.0)
    a: Float[Array, ""] = param(4.0)
    b: Float[Array, ""] = param(80.5)
    V_r: Float[Array, ""] = param(-70.6)
    V_peak: Float[Array, ""] = param(-40.4)
    t_ref: Float[Array, ""] = param(0.0)
    v_init: Float[Array, ""] = param(-70.6)

    def domain(self):
        """C, g_L, Delta_T, tau_w > 0; t_ref >= 0; the rest finite."""
        return {**positive(self, "C", "g_L", "Delta_T", "tau_w"),
                **non_negative(self, "t_ref"),
                **finite(self, "E_L", "V_T", "a", "b", "V_r", "V_peak", "v_init"),
                **reset_below(self, "V_r", "V_peak")}

    def initial_state(self):
        return jnp.stack([self.v_init, jnp.zeros_like(self.v_init)])

    def voltage(self, y):
        return y[0]

    def vector_field(self, t, y, args):
        V, w = y[0], y[1]
        exponent = jnp.minimum((V - self.V_T) / self.Delta_T, _MAX_EXPONENT)
        dV = (-self.g_L * (V - self.E_L) + self.g_L * self.Delta_T * jnp.exp(exponent) - w
              + args) / self.C
        dw = (self.a * (V - self.E_L) - w) / self.tau_w
        return jnp.stack([dV, dw])

    def spike_condition(self, y):
        return y[0] - self.V_peak

    def reset(self, y):
        return jnp.stack([self.V_r, y[1] + self.b])

    @property
    def refractory_period(self):
        return self.t_ref
