"""Resting membrane potential from ion gradients, leak permeabilities and the Na+/K+ pump,
with optional concentration dynamics (a single-compartment cell in a bath)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .. import biophysics as bp
from .._checks import as_parameter, check_positive, is_concrete
from .._fields import param
from .base import AbstractNeuron, finite, greater_than, non_negative, positive

LEAK_FORMS = ("ghk", "conductance")
ION_DYNAMICS = ("fixed", "intracellular", "finite_bath")
IONS = ("Na", "K", "Cl")
VALENCE = {"Na": 1.0, "K": 1.0, "Cl": -1.0}
_NEWTON_ITERATIONS = 16

# Sphere of 20 µm diameter: area pi d^2, volume pi d^3 / 6.
_AREA = float(np.pi * 20.0**2)
_VOLUME = float(np.pi * 20.0**3 / 6.0)


class RestingMembrane(AbstractNeuron):
    """A single-compartment membrane with K+, Na+ and Cl- leaks, an electrogenic Na+/K+ pump
    and, optionally, intracellular (and extracellular) concentration dynamics.

    $C_m\\, dV/dt = I_{app} - (I_{Na} + I_K + I_{Cl} + I_{pump})$

    - Leaks, `leak="ghk"` (default): GHK current equation, $I_X$ =
      `biophysics.ghk_current(V, P_X, [X]_o, [X]_i, z_X)`; `leak="conductance"`:
      $I_X = g_X (V - E_X)$ with $E_X$ the Nernst potential at the current concentrations.
    - Pump (3 Na+ out, 2 K+ in per cycle, one net charge out), saturating in [Na]i and [K]o
      as in Luo & Rudy (1994), Circ. Res. 74:1071 (voltage dependence left out):
      $I_{pump} = \\bar I_{pump} \\frac{1}{1 + (K_{Na} / [Na]_i)^{n}}
      \\frac{[K]_o}{[K]_o + K_K}$.
    - Mass balance (`ion_dynamics` other than `"fixed"`): each ion's net outward current
      (leak, plus $3 I_{pump}$ for Na+ and $-2 I_{pump}$ for K+) changes the intracellular
      concentration by $d[X]_i/dt = -I_X A / (z_X F \\, vol)$ (and the bath's by the opposite
      amount over `bath_volume` with `"finite_bath"`). Total charge
      $C_m V A - F\\, vol \\sum_X z_X [X]_i$ is conserved when $I_{app} = 0$, and so are the
      amounts $vol [X]_i + vol_{bath} [X]_o$ with a finite bath. The applied current is
      carried by an ion that is not tracked.

    State: `V` (mV), then with `ion_dynamics="intracellular"` `Na_i, K_i, Cl_i` (mM), and
    with `"finite_bath"` also `Na_o, K_o, Cl_o` (mM). The input current `args` is in µA/cm²
    (positive depolarises). Time in ms: V settles in about 10 ms, concentrations over
    minutes; use `stepsize="adaptive"` (with `solver="kvaerno5"` for runs of seconds or more)
    and float64 for concentration dynamics (changes of ~1e-5 mM per ms are below float32
    resolution at 140 mM).

    The defaults (mammalian neuron concentrations, `biophysics.concentration_set(
    "mammalian_neuron")`, 37 °C, 20 µm sphere) are a steady state of every mode: `P_Na` and
    `pump_max` are the values of `RestingMembrane.balanced()` (rounded to 5 digits), so V
    rests at $E_{Cl} = -64.09$ mV, Na+ influx matches 3x and K+ efflux 2x the pump rate.
    The conductance defaults are the GHK chord conductances at that rest (slope conductance
    for Cl-), so both leak forms share the same rest.

    **Arguments (all numeric fields are parameters, batchable and differentiable):**
    - `leak`: `"ghk"` or `"conductance"` (static).
    - `ion_dynamics`: `"fixed"` (state `V` only), `"intracellular"` or `"finite_bath"`
      (static).
    - `C_m`: membrane capacitance, µF/cm² (> 0).
    - `P_K`, `P_Na`, `P_Cl`: permeabilities, cm/s (>= 0), used by `leak="ghk"`.
    - `g_K`, `g_Na`, `g_Cl`: leak conductances, mS/cm² (>= 0), used by `leak="conductance"`.
    - `pump_max`: maximal pump current, µA/cm² (>= 0); `pump_km_Na` (mM, > 0, 10),
      `pump_km_K` (mM, > 0, 1.5) and `pump_hill_Na` (> 0, 1.5): half-activation and Hill
      coefficient of the saturating dependence (Luo & Rudy 1994).
    - `Na_o`, `Na_i`, `K_o`, `K_i`, `Cl_o`, `Cl_i`: concentrations, mM (> 0): fixed values,
      or the initial state where they are dynamic.
    - `temperature_c`: °C (> -273.15).
    - `area`: membrane area, µm² (> 0); `volume`: cell volume, µm³ (> 0); `bath_volume`:
      extracellular volume for `"finite_bath"`, µm³ (> 0; default a quarter of `volume`,
      about the brain's extracellular fraction of 0.2, Syková & Nicholson 2008, Physiol. Rev.
      88:1277).
    - `v_init`: initial V, mV; None (default) starts at `resting_potential()`.

    **Raises:** `ValueError` naming the argument for values outside these ranges and unknown
    `leak` / `ion_dynamics`.
    """

    input_unit: ClassVar[str] = "uA/cm**2"
    """Unit of the input current (`args`): uA/cm**2."""

    leak: str = eqx.field(static=True, default="ghk")
    ion_dynamics: str = eqx.field(static=True, default="fixed")
    C_m: Float[Array, ""] = param(1.0)
    P_K: Float[Array, ""] = param(1e-6)
    P_Na: Float[Array, ""] = param(8.0696e-8)
    P_Cl: Float[Array, ""] = param(4.5e-7)
    g_K: Float[Array, ""] = param(0.078754)
    g_Na: Float[Array, ""] = param(0.023651)
    g_Cl: Float[Array, ""] = param(0.042850)
    pump_max: Float[Array, ""] = param(1.97408)
    pump_km_Na: Float[Array, ""] = param(10.0)
    pump_km_K: Float[Array, ""] = param(1.5)
    pump_hill_Na: Float[Array, ""] = param(1.5)
    Na_o: Float[Array, ""] = param(145.0)
    Na_i: Float[Array, ""] = param(15.0)
    K_o: Float[Array, ""] = param(5.0)
    K_i: Float[Array, ""] = param(140.0)
    Cl_o: Float[Array, ""] = param(110.0)
    Cl_i: Float[Array, ""] = param(10.0)
    temperature_c: Float[Array, ""] = param(37.0)
    area: Float[Array, ""] = param(_AREA)
    volume: Float[Array, ""] = param(_VOLUME)
    bath_volume: Float[Array, ""] = param(_VOLUME / 4.0)
    v_init: Float[Array, ""] | None = eqx.field(
        default=None, converter=lambda x: x if x is None else as_parameter(x))

    def __check_init__(self):
        if self.leak not in LEAK_FORMS:
            raise ValueError(f"leak must be one of {LEAK_FORMS}; got {self.leak!r}")
        if self.ion_dynamics not in ION_DYNAMICS:
            raise ValueError(f"ion_dynamics must be one of {ION_DYNAMICS}; "
                             f"got {self.ion_dynamics!r}")

    def domain(self):
        """Capacitance, concentrations, pump constants, area and volumes > 0; permeabilities,
        conductances and pump_max >= 0 with at least one leak of the chosen form > 0;
        temperature above absolute zero; v_init finite (if set)."""
        leaks = ("P_K", "P_Na", "P_Cl") if self.leak == "ghk" else ("g_K", "g_Na", "g_Cl")
        total = sum(getattr(self, n) for n in leaks)
        xp = np if is_concrete(total) else jnp
        return {
            **positive(self, "C_m", "pump_km_Na", "pump_km_K", "pump_hill_Na", "area",
                       "volume", "bath_volume",
                       *(f"{ion}_{side}" for ion in IONS for side in "oi")),
            **non_negative(self, "P_K", "P_Na", "P_Cl", "g_K", "g_Na", "g_Cl", "pump_max"),
            f"{', '.join(leaks)}: at least one must be > 0 (leak={self.leak!r})":
                xp.asarray(total) > 0,
            **greater_than(self, "temperature_c", -273.15, "°C, above absolute zero"),
            **finite(self, "v_init"),
        }

    # ---- the model contract -------------------------------------------------------------

    @property
    def state_names(self) -> tuple[str, ...]:
        """`("V",)`, plus `Na_i, K_i, Cl_i` and `Na_o, K_o, Cl_o` when those are dynamic."""
        names = ("V",)
        if self.ion_dynamics != "fixed":
            names += tuple(f"{ion}_i" for ion in IONS)
        if self.ion_dynamics == "finite_bath":
            names += tuple(f"{ion}_o" for ion in IONS)
        return names

    def initial_state(self):
        v = self.resting_potential() if self.v_init is None else self.v_init
        values = {"V": v, **{f"{ion}_{s}": getattr(self, f"{ion}_{s}")
                             for ion in IONS for s in "io"}}
        return jnp.stack([values[name] for name in self.state_names])

    def voltage(self, y):
        return y[0]

    def vector_field(self, t, y, args):
        conc = self.concentrations(y)
        currents = self._currents(y[0], conc)
        dv = (args - sum(currents.values())) / self.C_m
        if self.ion_dynamics == "fixed":
            return dv[None]
        ion_current = {"Na": currents["Na"] + 3.0 * currents["pump"],
                       "K": currents["K"] - 2.0 * currents["pump"], "Cl": currents["Cl"]}
        # µA/cm² x µm² / (C/mol x µm³) x 10 = mM/ms
        rate_in = 10.0 * self.area / (bp.FARADAY * self.volume)
        d_in = [-rate_in * ion_current[ion] / VALENCE[ion] for ion in IONS]
        if self.ion_dynamics == "intracellular":
            return jnp.stack([dv, *d_in])
        rate_out = 10.0 * self.area / (bp.FARADAY * self.bath_volume)
        d_out = [rate_out * ion_current[ion] / VALENCE[ion] for ion in IONS]
        return jnp.stack([dv, *d_in, *d_out])

    # ---- quantities at a state ----------------------------------------------------------

    def concentrations(self, y) -> dict[str, Float[Array, ""]]:
        """`{"Na_o", "Na_i", "K_o", "K_i", "Cl_o", "Cl_i"}` (mM) at state `y`: from the state
        where dynamic, else from the fields."""
        names = self.state_names
        return {f"{ion}_{s}": (y[names.index(f"{ion}_{s}")] if f"{ion}_{s}" in names
                               else getattr(self, f"{ion}_{s}"))
                for ion in IONS for s in "oi"}

    def reversal_potentials(self, y) -> dict[str, Float[Array, ""]]:
        """Nernst potentials `{"Na", "K", "Cl"}` (mV) at state `y`."""
        c = self.concentrations(y)
        return {ion: bp.nernst(c[f"{ion}_o"], c[f"{ion}_i"], VALENCE[ion], self.temperature_c)
                for ion in IONS}

    def currents(self, y) -> dict[str, Float[Array, ""]]:
        """Membrane currents `{"Na", "K", "Cl", "pump"}` (µA/cm², outward positive) at `y`:
        the three leaks and the pump's net (electrogenic) current."""
        return self._currents(y[0], self.concentrations(y))

    def _currents(self, v, c):
        out = {}
        for ion in IONS:
            c_o, c_i = c[f"{ion}_o"], c[f"{ion}_i"]
            if self.leak == "ghk":
                out[ion] = bp.ghk_current(v, getattr(self, f"P_{ion}"), c_o, c_i, VALENCE[ion],
                                          self.temperature_c)
            else:
                e = bp.nernst(c_o, c_i, VALENCE[ion], self.temperature_c)
                out[ion] = getattr(self, f"g_{ion}") * (v - e)
        out["pump"] = self.pump_current(c["Na_i"], c["K_o"])
        return out

    def pump_current(self, na_i, k_o) -> Float[Array, "*shape"]:
        """Net outward pump current (µA/cm²) at intracellular Na+ `na_i` and extracellular K+
        `k_o` (mM); it moves 3x this as Na+ out and 2x as K+ in."""
        ratio = jnp.maximum(na_i, 1e-12) / self.pump_km_Na
        f_na = 1.0 / (1.0 + ratio ** -self.pump_hill_Na)
        return self.pump_max * f_na * k_o / (k_o + self.pump_km_K)

    def resting_potential(self) -> Float[Array, "*shape"]:
        """The potential (mV) at which the net membrane current (leaks + pump) is zero, at the
        concentrations in the fields and no applied current.

        Closed form for `leak="conductance"`; for `"ghk"`, Newton's method started at the GHK
        voltage (16 iterations), differentiated implicitly (`jax.lax.custom_root`).
        Broadcasts over batched fields.
        """
        c = {f"{ion}_{s}": getattr(self, f"{ion}_{s}") for ion in IONS for s in "oi"}
        pump = self.pump_current(c["Na_i"], c["K_o"])
        if self.leak == "conductance":
            e = {ion: bp.nernst(c[f"{ion}_o"], c[f"{ion}_i"], VALENCE[ion], self.temperature_c)
                 for ion in IONS}
            g = {ion: getattr(self, f"g_{ion}") for ion in IONS}
            return (sum(g[i] * e[i] for i in IONS) - pump) / sum(g.values())
        num = self.P_K * c["K_o"] + self.P_Na * c["Na_o"] + self.P_Cl * c["Cl_i"]
        den = self.P_K * c["K_i"] + self.P_Na * c["Na_i"] + self.P_Cl * c["Cl_o"]
        v = bp.thermal_voltage(self.temperature_c) * jnp.log(num / den)

        def net(v):
            return sum(self._currents(v, c).values())

        def newton(f, v):
            def step(_, v):
                value, slope = jax.jvp(f, (v,), (jnp.ones_like(v),))
                return v - value / slope
            return jax.lax.fori_loop(0, _NEWTON_ITERATIONS, step, v)

        # Derivatives by the implicit function theorem, not through the iterations.
        return jax.lax.custom_root(net, v, newton, lambda g, y: y / g(jnp.ones_like(y)))

    # ---- constructors and scenarios -------------------------------------------------------

    @classmethod
    def balanced(cls, concentrations: str | bp.IonConcentrations | None = None,
                 **kwargs) -> RestingMembrane:
        """A membrane whose concentrations are a steady state: `P_Na` (or `g_Na` with
        `leak="conductance"`) and `pump_max` are set so that, at $V = E_{Cl}$, the Na+ leak
        influx is 3x and the K+ leak efflux 2x the pump rate (Cl- at equilibrium, zero net
        current).

        **Arguments:**
        - `concentrations`: a name from `biophysics.CONCENTRATION_SETS` or an
          `IonConcentrations`; its concentrations and temperature are used unless given in
          `kwargs`. None keeps the defaults.
        - `kwargs`: any other fields (`P_Na`/`g_Na` and `pump_max` are overwritten).

        **Raises:** `ValueError` unless $E_K < E_{Cl} < E_{Na}$ (no balance exists then), or
        for invalid fields.
        """
        if isinstance(concentrations, str):
            concentrations = bp.concentration_set(concentrations)
        if concentrations is not None:
            kwargs = {**concentrations.as_dict(), "temperature_c": concentrations.temperature_c,
                      **kwargs}
        model = cls(**kwargs)
        c = {f"{ion}_{s}": getattr(model, f"{ion}_{s}") for ion in IONS for s in "oi"}
        e = {ion: bp.nernst(c[f"{ion}_o"], c[f"{ion}_i"], VALENCE[ion], model.temperature_c)
             for ion in IONS}
        if all(is_concrete(x) for x in e.values()) and not np.all(
                (np.asarray(e["K"]) < np.asarray(e["Cl"]))
                & (np.asarray(e["Cl"]) < np.asarray(e["Na"]))):
            raise ValueError(f"concentrations: balanced() needs E_K < E_Cl < E_Na; got E_K = "
                             f"{e['K']}, E_Cl = {e['Cl']}, E_Na = {e['Na']} mV")
        v = e["Cl"]
        if model.leak == "ghk":
            i_k = bp.ghk_current(v, model.P_K, c["K_o"], c["K_i"], 1.0, model.temperature_c)
            i_na_per_p = bp.ghk_current(v, 1.0, c["Na_o"], c["Na_i"], 1.0, model.temperature_c)
            leak_na = {"P_Na": -1.5 * i_k / i_na_per_p}
        else:
            i_k = model.g_K * (v - e["K"])
            leak_na = {"g_Na": -1.5 * i_k / (v - e["Na"])}
        pump_per_max = model.replace(pump_max=1.0).pump_current(c["Na_i"], c["K_o"])
        return model.replace(**leak_na, pump_max=0.5 * i_k / pump_per_max)

    def replace(self, **values) -> RestingMembrane:
        """A copy with the named fields set to `values` (scalars, or arrays with a batch
        axis), validated like the constructor's arguments."""
        return dataclasses.replace(self, **values)

    def pin_start(self) -> RestingMembrane:
        """A copy whose initial V is fixed (`v_init`) at this model's initial V, so that
        parameter changes made afterwards start from this model's rest: the scenarios below
        build on it."""
        if self.v_init is not None:
            return self
        return self.replace(v_init=self.resting_potential())

    def raise_potassium(self, K_o) -> RestingMembrane:
        """Scenario: the bath's [K+] becomes `K_o` (mM; an array gives a batch), starting
        from this model's rest (with `"finite_bath"`: K+ added to the bath at t = 0)."""
        return self.pin_start().replace(K_o=K_o)

    def block_pump(self, fraction=1.0) -> RestingMembrane:
        """Scenario: a fraction (0..1; 1 = complete, as with ouabain) of the Na+/K+ pumps is
        blocked, starting from this model's rest."""
        if is_concrete(fraction) and np.any((np.asarray(fraction) < 0)
                                            | (np.asarray(fraction) > 1)):
            raise ValueError(f"fraction must be in [0, 1]; got {fraction!r}")
        return self.pin_start().replace(pump_max=self.pump_max * (1.0 - jnp.asarray(fraction)))

    def scale_permeabilities(self, *, K=1.0, Na=1.0, Cl=1.0) -> RestingMembrane:
        """Scenario: leak permeabilities (and conductances) multiplied by `K`, `Na`, `Cl`
        (>= 0; arrays give a batch), starting from this model's rest."""
        factors = {"K": K, "Na": Na, "Cl": Cl}
        for ion, f in factors.items():
            check_positive(ion, f, allow_zero=True)
        values = {}
        for ion, f in factors.items():
            values[f"P_{ion}"] = getattr(self, f"P_{ion}") * jnp.asarray(f)
            values[f"g_{ion}"] = getattr(self, f"g_{ion}") * jnp.asarray(f)
        return self.pin_start().replace(**values)


def stack_models(models: Sequence[RestingMembrane]) -> RestingMembrane:
    """One model whose parameter fields carry a leading batch axis, from models with the
    same `leak`, `ion_dynamics` and scalar fields (e.g. several scenarios): run them together
    with `jax.vmap(..., in_axes=(jaxneuron.batch_axes(batch),))`.

    **Raises:** `ValueError` if the models differ in structure (static options, or `v_init`
    set in some but not all; use `pin_start()` on each).
    """
    models = list(models)
    if not models:
        raise ValueError("models: give at least one model")
    structures = {jax.tree.structure(m) for m in models}
    if len(structures) != 1:
        raise ValueError("models: all must share leak, ion_dynamics and whether v_init is set "
                         "(call pin_start() on each)")
    return jax.tree.map(lambda *xs: jnp.stack(xs), *models)
