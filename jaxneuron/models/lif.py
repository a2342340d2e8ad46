"""Leaky integrate-and-fire neuron (Lapicque 1907; Gerstner et al. 2014, "Neuronal
Dynamics", ch. 1)."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import as_parameter, check_positive
from .._fields import param
from .base import (
    AbstractGatedNeuron,
    AbstractSpikingNeuron,
    finite,
    non_negative,
    positive,
    reset_below,
)


class LIF(AbstractGatedNeuron, AbstractSpikingNeuron):
    """$\\tau_m\\, dV/dt = -(V - V_{rest}) + R I$; at $V = V_{th}$ a spike, $V \\to V_{reset}$,
    then V is held for `t_ref`.

    State `(V,)` in mV; input current in nA (so R I is in mV for R in MΩ).

    **Arguments:**
    - `tau_m`: membrane time constant, ms (> 0).
    - `R`: input resistance, MΩ (> 0).
    - `V_rest`, `V_th`, `V_reset`: resting, threshold and reset potentials, mV.
    - `t_ref`: absolute refractory period, ms (>= 0).
    - `v_init`: initial V, mV (default `V_rest`).
    """

    state_names: ClassVar[tuple[str, ...]] = ("V",)
    input_unit: ClassVar[str] = "nA"
    """Unit of the input current (`args`): nA."""

    tau_m: Float[Array, ""] = param(10.0)
    R: Float[Array, ""] = param(10.0)
    V_rest: Float[Array, ""] = param(-65.0)
    V_th: Float[Array, ""] = param(-50.0)
    V_reset: Float[Array, ""] = param(-65.0)
    t_ref: Float[Array, ""] = param(2.0)
    v_init: Float[Array, ""] | None = eqx.field(default=None, converter=lambda x: x if x is None
                                                else as_parameter(x))

    def domain(self):
        """tau_m, R > 0; t_ref >= 0; potentials finite."""
        return {**positive(self, "tau_m", "R"), **non_negative(self, "t_ref"),
                **finite(self, "V_rest", "V_th", "V_reset", "v_init"),
                **reset_below(self, "V_reset", "V_th")}

    @classmethod
    def from_conductance(cls, g_L: float, C: float, **kwargs) -> LIF:
        """An LIF from leak conductance `g_L` (nS) and capacitance `C` (pF):
        tau_m = C / g_L (ms), R = 1000 / g_L (MΩ)."""
        check_positive("g_L", g_L)
        check_positive("C", C)
        return cls(tau_m=jnp.asarray(C) / g_L, R=1000.0 / jnp.asarray(g_L), **kwargs)

    def initial_state(self):
        v = self.V_rest if self.v_init is None else self.v_init
        return jnp.stack([v])

    def voltage(self, y):
        return y[0]

    def exponential_split(self, t, y, args):
        return (1.0 / self.tau_m)[None], (self.V_rest + self.R * args)[None]

    def spike_condition(self, y):
        return y[0] - self.V_th

    def reset(self, y):
        return jnp.stack([self.V_reset])

    @property
    def refractory_period(self):
        return self.t_ref
