"""The Hodgkin–Huxley (1952) squid giant axon model in the modern convention (rest near -65 mV)."""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, Float

from .._arrays import unstack
from .._fields import param
from ..biophysics import x_over_one_minus_exp
from .base import AbstractGatedNeuron, finite, greater_than, non_negative, positive


class HodgkinHuxley(AbstractGatedNeuron):
    """Hodgkin & Huxley (1952), J. Physiol. 117:500, with V shifted so rest is about -65 mV.

    State `(V, m, h, n)`: V in mV, gating variables dimensionless in [0, 1].
    Input current density in µA/cm² (positive depolarises).

    **Arguments (all fields are parameters, batchable and differentiable):**
    - `C_m`: membrane capacitance, µF/cm² (> 0).
    - `g_Na`, `g_K`: maximal conductances, mS/cm² (>= 0); `g_L`: leak conductance, mS/cm² (> 0).
    - `E_Na`, `E_K`, `E_L`: reversal potentials, mV.
    - `temperature_c`: temperature, °C (> -273.15); rates scale by $Q_{10}^{(T - 6.3)/10}$
      with $Q_{10} = 3$.
    - `v_init`: membrane potential of the initial state, mV (gates start at steady state there).
    """

    state_names: ClassVar[tuple[str, ...]] = ("V", "m", "h", "n")
    input_unit: ClassVar[str] = "uA/cm**2"
    """Unit of the input current (`args`): uA/cm**2."""

    C_m: Float[Array, ""] = param(1.0)
    g_Na: Float[Array, ""] = param(120.0)
    g_K: Float[Array, ""] = param(36.0)
    g_L: Float[Array, ""] = param(0.3)
    E_Na: Float[Array, ""] = param(50.0)
    E_K: Float[Array, ""] = param(-77.0)
    E_L: Float[Array, ""] = param(-54.387)
    temperature_c: Float[Array, ""] = param(6.3)
    v_init: Float[Array, ""] = param(-65.0)

    q10: ClassVar[float] = 3.0
    reference_temperature_c: ClassVar[float] = 6.3

    def domain(self):
        """C_m, g_L > 0; g_Na, g_K >= 0; temperature above absolute zero; potentials
        finite."""
        return {**positive(self, "C_m", "g_L"), **non_negative(self, "g_Na", "g_K"),
                **greater_than(self, "temperature_c", -273.15, "°C, above absolute zero"),
                **finite(self, "E_Na", "E_K", "E_L", "v_init")}

    def rates(self, V):
        """Opening and closing rates (1/ms) of m, h, n at V (mV).

        **Returns:** `(a_m, b_m, a_h, b_h, a_n, b_n)`.
        """
        phi = self.q10 ** ((self.temperature_c - self.reference_temperature_c) / 10.0)
        a_m = x_over_one_minus_exp((V + 40.0) / 10.0)
        b_m = 4.0 * jnp.exp(-(V + 65.0) / 18.0)
        a_h = 0.07 * jnp.exp(-(V + 65.0) / 20.0)
        b_h = 1.0 / (1.0 + jnp.exp(-(V + 35.0) / 10.0))
        a_n = 0.1 * x_over_one_minus_exp((V + 55.0) / 10.0)
        b_n = 0.125 * jnp.exp(-(V + 65.0) / 80.0)
        return tuple(phi * r for r in (a_m, b_m, a_h, b_h, a_n, b_n))

    def steady_state_gates(self, V):
        """Steady-state `(m, h, n)` at V (mV)."""
        a_m, b_m, a_h, b_h, a_n, b_n = self.rates(V)
        return a_m / (a_m + b_m), a_h / (a_h + b_h), a_n / (a_n + b_n)

    def initial_state(self):
        m, h, n = self.steady_state_gates(self.v_init)
        return jnp.stack([self.v_init, m, h, n])

    def voltage(self, y):
        return unstack(y)[0]

    def plausible(self, y):
        """|V| <= 1000 mV and the gates m, h, n within [0, 1] (to 1e-3: an explicit solver
        at a coarse step overshoots them)."""
        gates = unstack(y)[1:]
        inside = jnp.all(jnp.stack([(g >= -1e-3) & (g <= 1.0 + 1e-3) for g in gates]))
        return super().plausible(y) & inside

    def ionic_conductances(self, y):
        """Conductances `(g_Na m^3 h, g_K n^4, g_L)` in mS/cm² at state y."""
        _, m, h, n = unstack(y)
        return self.g_Na * m**3 * h, self.g_K * n**4, self.g_L

    def exponential_split(self, t, y, args):
        V = unstack(y)[0]
        g_na, g_k, g_l = self.ionic_conductances(y)
        g_total = g_na + g_k + g_l
        v_target = (args + g_na * self.E_Na + g_k * self.E_K + g_l * self.E_L) / g_total
        a_m, b_m, a_h, b_h, a_n, b_n = self.rates(V)
        s_m, s_h, s_n = a_m + b_m, a_h + b_h, a_n + b_n
        rate = jnp.stack([g_total / self.C_m, s_m, s_h, s_n])
        target = jnp.stack([v_target, a_m / s_m, a_h / s_h, a_n / s_n])
        return rate, target
