"""Electrodiffusion basics: physical constants, Nernst and Goldman–Hodgkin–Katz (GHK) equations,
and named ion-concentration sets.

Pure JAX functions: vectorised by broadcasting, and safe under `jax.jit`, `jax.grad` and
`jax.vmap`. Units: mV, mM, °C, cm/s (permeability) and µA/cm² (current density). Bad values
(non-positive concentrations, temperatures at or below absolute zero) raise `ValueError`
when they are concrete (outside `jit`); traced values are not inspected.

Sign convention: membrane potential is inside minus outside; a positive (outward) current
carries positive charge out of the cell.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ._checks import as_float, check_positive, is_concrete

# Exact SI values since the 2019 redefinition (BIPM, "The International System of Units",
# 9th ed., 2019; CODATA 2018, Tiesinga et al., Rev. Mod. Phys. 93:025010, 2021).
ELEMENTARY_CHARGE = 1.602176634e-19
"""Elementary charge e, C (exact)."""
AVOGADRO = 6.02214076e23
"""Avogadro constant N_A, 1/mol (exact)."""
BOLTZMANN = 1.380649e-23
"""Boltzmann constant k, J/K (exact)."""
FARADAY = ELEMENTARY_CHARGE * AVOGADRO
"""Faraday constant F = N_A e = 96485.33212... C/mol (exact)."""
GAS_CONSTANT = BOLTZMANN * AVOGADRO
"""Molar gas constant R = N_A k = 8.314462618... J/(mol K) (exact)."""
ZERO_CELSIUS = 273.15
"""0 °C in kelvin (definition of the Celsius scale)."""


def _check_temperature(temperature_c) -> None:
    if not is_concrete(temperature_c):
        return
    t = np.asarray(temperature_c, dtype=float)
    if np.any(np.isnan(t) | (t <= -ZERO_CELSIUS)):
        raise ValueError(f"temperature_c must be > -273.15 °C (above absolute zero) and not "
                         f"NaN; got {temperature_c!r}")


def _check_valence(name: str, valence, *, monovalent: bool = False) -> None:
    if not is_concrete(valence):
        return
    z = np.asarray(valence, dtype=float)
    if monovalent and not np.all(np.abs(z) == 1.0):
        raise ValueError(f"{name} must be +1 or -1 (the closed-form GHK voltage equation holds "
                         f"for monovalent ions only); got {valence!r}")
    if np.any(np.isnan(z) | (z == 0)):
        raise ValueError(f"{name} must be a non-zero charge number (e.g. 1, -1, 2); "
                         f"got {valence!r}")


def kelvin(temperature_c: ArrayLike) -> Float[Array, "*shape"]:
    """Absolute temperature (K) from °C.

    **Raises:** `ValueError` if `temperature_c <= -273.15` (concrete values only).
    """
    _check_temperature(temperature_c)
    return as_float(temperature_c) + ZERO_CELSIUS


def thermal_voltage(temperature_c: ArrayLike = 37.0) -> Float[Array, "*shape"]:
    """$RT/F$ in mV (26.73 mV at 37 °C).

    **Raises:** `ValueError` if `temperature_c <= -273.15` (concrete values only).
    """
    return 1e3 * GAS_CONSTANT * kelvin(temperature_c) / FARADAY


def nernst(c_out: ArrayLike, c_in: ArrayLike, valence: ArrayLike,
           temperature_c: ArrayLike = 37.0) -> Float[Array, "*shape"]:
    """Nernst equilibrium potential $E = \\frac{RT}{zF} \\ln \\frac{c_{out}}{c_{in}}$, in mV.

    **Arguments** (broadcast against each other):
    - `c_out`, `c_in`: extra- and intracellular concentrations, mM (> 0).
    - `valence`: charge number z (e.g. 1 for K+, -1 for Cl-, 2 for Ca2+; non-zero).
    - `temperature_c`: temperature, °C (> -273.15).

    **Returns:** the reversal potential, mV.

    **Raises:** `ValueError` for non-positive concentrations, zero valence or a temperature at
    or below absolute zero (concrete values only).
    """
    check_positive("c_out", c_out)
    check_positive("c_in", c_in)
    _check_valence("valence", valence)
    c_out, c_in = as_float(c_out), as_float(c_in)
    return thermal_voltage(temperature_c) / as_float(valence) * jnp.log(
        c_out / c_in)


def ghk_voltage(permeabilities: ArrayLike, c_out: ArrayLike, c_in: ArrayLike,
                valences: ArrayLike, temperature_c: ArrayLike = 37.0) -> Float[Array, "*shape"]:
    """GHK voltage equation: the zero-current potential of a membrane permeable to several
    monovalent ions, in mV.

    $V = \\frac{RT}{F} \\ln \\frac{\\sum_{z=+1} P c_{out} + \\sum_{z=-1} P c_{in}}
    {\\sum_{z=+1} P c_{in} + \\sum_{z=-1} P c_{out}}$

    **Arguments** (the last axis runs over ions; leading axes broadcast):
    - `permeabilities`: permeabilities, any common unit (only ratios matter; >= 0, at least
      one > 0), shape `(..., n_ions)`.
    - `c_out`, `c_in`: extra- and intracellular concentrations, mM (>= 0), `(..., n_ions)`.
    - `valences`: +1 (cations such as K+, Na+) or -1 (anions such as Cl-), `(n_ions,)`.
    - `temperature_c`: temperature, °C, broadcast against the leading axes.

    **Returns:** the resting (zero-current) potential, mV, shape `(...)`.

    **Raises:** `ValueError` for negative concentrations or permeabilities, all-zero
    permeabilities, valences other than ±1, or a temperature at or below absolute zero
    (concrete values only). For mixtures with divalent ions, find the zero of the summed
    `ghk_current` instead.

    Example: `ghk_voltage([1, 0.05, 0.45], [5, 145, 110], [140, 15, 10], [1, 1, -1])` is
    -64.9 mV (mammalian concentrations, 37 °C).
    """
    check_positive("c_out", c_out, allow_zero=True)
    check_positive("c_in", c_in, allow_zero=True)
    check_positive("permeabilities", permeabilities, allow_zero=True)
    _check_valence("valences", valences, monovalent=True)
    if is_concrete(permeabilities) and np.any(
            np.sum(np.asarray(permeabilities, dtype=float), axis=-1) <= 0):
        raise ValueError(f"permeabilities must include at least one value > 0; "
                         f"got {permeabilities!r}")
    p = as_float(permeabilities)
    c_out, c_in = as_float(c_out), as_float(c_in)
    cation = as_float(valences) > 0
    numerator = jnp.sum(p * jnp.where(cation, c_out, c_in), axis=-1)
    denominator = jnp.sum(p * jnp.where(cation, c_in, c_out), axis=-1)
    return thermal_voltage(temperature_c) * jnp.log(numerator / denominator)


# Below _SERIES the closed forms lose digits to cancellation; there the Taylor series
# u / (1 - e^-u) = 1 + u/2 + u^2/12 - u^4/720 + ... is used. Its first omitted term,
# u^6 / 30240, is below 4e-17 there, and the slope series's below 2e-14.
_SERIES = 1e-2


def _series(u):
    u2 = u * u
    return 1.0 + 0.5 * u + (1.0 / 12.0) * u2 - (1.0 / 720.0) * u2 * u2


def _series_slope(u):
    return 0.5 + (1.0 / 6.0) * u - (1.0 / 180.0) * u * u * u


@jax.custom_jvp
def x_over_one_minus_exp(u):
    """$g(u) = u / (1 - e^{-u})$, finite with finite derivatives for every real u (used by the
    GHK current and by Hodgkin–Huxley's rate functions).

    Near 0 (a removable singularity) a Taylor series; elsewhere the closed form evaluated at a
    "safe" argument (the double-where trick), so neither branch can produce NaN. The custom
    JVP computes the slope once per evaluation, so a forward-mode tangent costs a multiply.
    """
    small = jnp.abs(u) < _SERIES
    u_safe = jnp.where(small, 1.0, u)
    return jnp.where(small, _series(u), u_safe / -jnp.expm1(-u_safe))


@x_over_one_minus_exp.defjvp
def _x_over_one_minus_exp_jvp(primals, tangents):
    # g'(u) = (1 - e^-u - u e^-u) / (1 - e^-u)^2. For u << 0 both e^-u terms overflow; g' -> 0
    # there, reached by clamping u where e^-u would overflow.
    (u,), (u_dot,) = primals, tangents
    small = jnp.abs(u) < _SERIES
    u_safe = jnp.where(small, 1.0, u)
    value = jnp.where(small, _series(u), u_safe / -jnp.expm1(-u_safe))
    u_clamped = jnp.maximum(u_safe, -0.9 * jnp.log(jnp.finfo(jnp.result_type(u)).max))
    e = jnp.exp(-u_clamped)
    one_minus = -jnp.expm1(-u_clamped)
    slope = jnp.where(small, _series_slope(u),
                      (one_minus - u_clamped * e) / (one_minus * one_minus))
    return value, slope * u_dot


def ghk_current(voltage: ArrayLike, permeability: ArrayLike, c_out: ArrayLike, c_in: ArrayLike,
                valence: ArrayLike, temperature_c: ArrayLike = 37.0) -> Float[Array, "*shape"]:
    """GHK current equation: the current density carried by one ion through a membrane of
    permeability P, in µA/cm² (outward positive).

    $I = P z F \\, u \\, \\frac{c_{in} - c_{out} e^{-u}}{1 - e^{-u}}$ with
    $u = zFV/(RT)$, computed as $P z F \\, [(c_{in} - c_{out})\\, g(u) + c_{out} u]$ with
    $g(u) = u / (1 - e^{-u})$ evaluated without the removable singularity at V = 0: value
    and gradient are finite for all V (at V = 0, $I = P z F (c_{in} - c_{out})$).

    **Arguments** (broadcast against each other):
    - `voltage`: membrane potential (inside minus outside), mV.
    - `permeability`: P, cm/s (>= 0).
    - `c_out`, `c_in`: extra- and intracellular concentrations, mM (>= 0).
    - `valence`: charge number z (non-zero).
    - `temperature_c`: temperature, °C (> -273.15).

    **Returns:** current density, µA/cm² (with P in cm/s and c in mM, $P z F c$ is in
    µA/cm² directly: 1 cm/s x 1 C/mol x 1 mM = 1e-6 A/cm²).

    **Raises:** `ValueError` for negative concentrations or permeability, zero valence or a
    temperature at or below absolute zero (concrete values only).
    """
    check_positive("c_out", c_out, allow_zero=True)
    check_positive("c_in", c_in, allow_zero=True)
    check_positive("permeability", permeability, allow_zero=True)
    _check_valence("valence", valence)
    z = as_float(valence)
    c_out, c_in = as_float(c_out), as_float(c_in)
    u = z * as_float(voltage) / thermal_voltage(temperature_c)
    flux = (c_in - c_out) * x_over_one_minus_exp(u) + c_out * u
    return as_float(permeability) * z * FARADAY * flux


@dataclasses.dataclass(frozen=True)
class IonConcentrations:
    """A named set of free ion concentrations (mM) with its source.

    **Fields:** `name`; `Na_o`, `Na_i`, `K_o`, `K_i`, `Cl_o`, `Cl_i` (mM, outside / inside);
    `temperature_c` (°C, the temperature the source's equilibrium potentials refer to);
    `source` (citation).
    """

    name: str
    Na_o: float
    Na_i: float
    K_o: float
    K_i: float
    Cl_o: float
    Cl_i: float
    temperature_c: float
    source: str

    def as_dict(self) -> dict[str, float]:
        """The six concentrations as `{"Na_o": ..., ..., "Cl_i": ...}` (mM), e.g. as keyword
        arguments of `jaxneuron.RestingMembrane`."""
        return {k: getattr(self, k) for k in ("Na_o", "Na_i", "K_o", "K_i", "Cl_o", "Cl_i")}


CONCENTRATION_SETS: dict[str, IonConcentrations] = {
    s.name: s for s in (
        IonConcentrations(
            "mammalian_neuron", Na_o=145.0, Na_i=15.0, K_o=5.0, K_i=140.0, Cl_o=110.0,
            Cl_i=10.0, temperature_c=37.0,
            source="Purves et al., Neuroscience (Sinauer), Table 2.1 'Extracellular and "
                   "intracellular ion concentrations', mammalian neuron: K+ 5 out / 140 in, "
                   "Na+ 145 / 5-15, Cl- 110 / 4-30 mM (Na_i 15 and Cl_i 10 chosen in the "
                   "ranges)"),
        IonConcentrations(
            "squid_axon", Na_o=440.0, Na_i=50.0, K_o=20.0, K_i=400.0, Cl_o=560.0, Cl_i=52.0,
            temperature_c=20.0,
            source="Kandel et al., Principles of Neural Science, 5th ed. (2013), Table 7-1: "
                   "squid giant axon, K+ 20 / 400, Na+ 440 / 50, Cl- 560 / 52 mM; E_K -75, "
                   "E_Na +55, E_Cl -60 mV"),
        IonConcentrations(
            "mammalian_skeletal_muscle", Na_o=145.0, Na_i=12.0, K_o=4.0, K_i=155.0,
            Cl_o=123.0, Cl_i=4.2, temperature_c=37.0,
            source="Hille, Ion Channels of Excitable Membranes, 3rd ed. (2001), Table 1.1: "
                   "Na+ 145 / 12, K+ 4 / 155, Cl- 123 / 4.2 mM; E_Na +67, E_K -98, "
                   "E_Cl -90 mV at 37 °C"),
    )
}
"""Named concentration sets: `"mammalian_neuron"`, `"squid_axon"`,
`"mammalian_skeletal_muscle"`."""


def concentration_set(name: str) -> IonConcentrations:
    """The named `IonConcentrations` (see `CONCENTRATION_SETS`).

    **Raises:** `ValueError` for an unknown name.
    """
    if name not in CONCENTRATION_SETS:
        raise ValueError(f"name must be one of {sorted(CONCENTRATION_SETS)}; got {name!r}")
    return CONCENTRATION_SETS[name]
