"""Izhikevich (2003) simple spiking model, IEEE Trans. Neural Networks 14:1569."""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, Float

from .._fields import param
from .base import AbstractSpikingNeuron, finite, reset_below

# (a, b, c, d) of the cell classes in Izhikevich (2003), Fig. 2.
PRESETS: dict[str, dict[str, float]] = {
    "RS": dict(a=0.02, b=0.2, c=-65.0, d=8.0),    # regular spiking (cortical excitatory)
    "IB": dict(a=0.02, b=0.2, c=-55.0, d=4.0),    # intrinsically bursting
    "CH": dict(a=0.02, b=0.2, c=-50.0, d=2.0),    # chattering
    "FS": dict(a=0.1, b=0.2, c=-65.0, d=2.0),     # fast spiking (inhibitory)
    "LTS": dict(a=0.02, b=0.25, c=-65.0, d=2.0),  # low-threshold spiking
    "TC": dict(a=0.02, b=0.25, c=-65.0, d=0.05),  # thalamo-cortical
    "RZ": dict(a=0.1, b=0.26, c=-65.0, d=2.0),    # resonator
}



class Izhikevich(AbstractSpikingNeuron):
    """$v' = k_2 v^2 + k_1 v + k_0 - u + I$, $u' = a (b v - u)$; when $v \\ge v_{peak}$:
    $v \\to c$, $u \\to u + d$ (Izhikevich 2003).

    State `(v, u)`: v in mV, u the recovery variable (mV/ms); time in ms; the input I is in
    the model's dimensionless current unit (mV/ms).

    **Arguments:** `a` (1/ms), `b`, `c` (mV), `d` (mV/ms), `v_peak` (mV, 30), the quadratic
    coefficients `k2` (0.04 /mV/ms), `k1` (5 /ms), `k0` (140 mV/ms), and `v_init` (mV,
    -65; u starts at b v_init). `Izhikevich.preset(name)` gives the cell classes RS, IB,
    CH, FS, LTS, TC, RZ of the 2003 paper.
    """

    state_names: ClassVar[tuple[str, ...]] = ("v", "u")
    input_unit: ClassVar[str] = "1"
    """Unit of the input current (`args`): 1 (dimensionless: I in mV/ms)."""

    a: Float[Array, ""] = param(0.02)
    b: Float[Array, ""] = param(0.2)
    c: Float[Array, ""] = param(-65.0)
    d: Float[Array, ""] = param(8.0)
    v_peak: Float[Array, ""] = param(30.0)
    k2: Float[Array, ""] = param(0.04)
    k1: Float[Array, ""] = param(5.0)
    k0: Float[Array, ""] = param(140.0)
    v_init: Float[Array, ""] = param(-65.0)

    def domain(self):
        """Every parameter finite."""
        return {**finite(self, "a", "b", "c", "d", "v_peak", "k2", "k1", "k0", "v_init"),
                **reset_below(self, "c", "v_peak")}

    @classmethod
    def preset(cls, name: str, **overrides) -> Izhikevich:
        """The 2003 cell class `name` (one of `PRESETS`), with any field overridden."""
        if name not in PRESETS:
            raise ValueError(f"name must be one of {sorted(PRESETS)}; got {name!r}")
        return cls(**{**PRESETS[name], **overrides})

    def initial_state(self):
        return jnp.stack([self.v_init, self.b * self.v_init])

    def voltage(self, y):
        return y[0]

    def vector_field(self, t, y, args):
        v, u = y[0], y[1]
        dv = self.k2 * v * v + self.k1 * v + self.k0 - u + args
        du = self.a * (self.b * v - u)
        return jnp.stack([dv, du])

    def spike_condition(self, y):
        return y[0] - self.v_peak

    def reset(self, y):
        return jnp.stack([self.c, y[1] + self.d])
