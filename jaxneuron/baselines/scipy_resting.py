"""The resting-membrane equations of `jaxneuron.RestingMembrane` written again in NumPy for
`scipy.integrate.solve_ivp` and `scipy.optimize.brentq`: an independent implementation for
tests and the baseline for `benchmarks/resting_sweep.py`. Not part of the differentiable core.

Units as in the model: mV, ms, mM, µA/cm², cm/s, mS/cm², µF/cm², µm², µm³.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from .scipy_models import ScipyResult

FARADAY = 1.602176634e-19 * 6.02214076e23  # e N_A, C/mol (exact SI values)
GAS_CONSTANT = 1.380649e-23 * 6.02214076e23  # k N_A, J/(mol K)

RESTING_DEFAULTS = dict(
    C_m=1.0, P_K=1e-6, P_Na=8.0696e-8, P_Cl=4.5e-7, g_K=0.078754, g_Na=0.023651, g_Cl=0.042850,
    pump_max=1.97408, pump_km_Na=10.0, pump_km_K=1.5, pump_hill_Na=1.5,
    Na_o=145.0, Na_i=15.0, K_o=5.0, K_i=140.0, Cl_o=110.0, Cl_i=10.0, temperature_c=37.0,
    area=np.pi * 400.0, volume=np.pi * 8000.0 / 6.0, bath_volume=np.pi * 8000.0 / 24.0,
)
VALENCES = {"Na": 1, "K": 1, "Cl": -1}
STATE_NAMES = {
    "fixed": ("V",),
    "intracellular": ("V", "Na_i", "K_i", "Cl_i"),
    "finite_bath": ("V", "Na_i", "K_i", "Cl_i", "Na_o", "K_o", "Cl_o"),
}


def rt_over_f(temperature_c: float) -> float:
    """RT/F in mV."""
    return 1e3 * GAS_CONSTANT * (temperature_c + 273.15) / FARADAY


def ghk_current_np(v, p, c_out, c_in, z, temperature_c):
    """GHK current density (µA/cm², outward positive), the textbook form, with the V -> 0
    limit taken by a tiny offset."""
    u = z * v / rt_over_f(temperature_c)
    u = np.where(np.abs(u) < 1e-9, 1e-9, u)
    return p * z * FARADAY * u * (c_in - c_out * np.exp(-u)) / (1.0 - np.exp(-u))


def _concentrations(y, params, ion_dynamics):
    names = STATE_NAMES[ion_dynamics]
    return {f"{ion}_{s}": (y[names.index(f"{ion}_{s}")] if f"{ion}_{s}" in names
                           else params[f"{ion}_{s}"]) for ion in VALENCES for s in "oi"}


def resting_currents(v, conc: dict, params: dict, leak: str = "ghk") -> dict:
    """Leak and pump currents (µA/cm², outward positive) at V (mV) and concentrations (mM)."""
    t = params["temperature_c"]
    out = {}
    for ion, z in VALENCES.items():
        c_o, c_i = conc[f"{ion}_o"], conc[f"{ion}_i"]
        if leak == "ghk":
            out[ion] = ghk_current_np(v, params[f"P_{ion}"], c_o, c_i, z, t)
        else:
            out[ion] = params[f"g_{ion}"] * (v - rt_over_f(t) / z * np.log(c_o / c_i))
    na = conc["Na_i"]
    f_na = na ** params["pump_hill_Na"] / (na ** params["pump_hill_Na"]
                                           + params["pump_km_Na"] ** params["pump_hill_Na"])
    out["pump"] = params["pump_max"] * f_na * conc["K_o"] / (conc["K_o"] + params["pump_km_K"])
    return out


def resting_vector_field(t, y, params: dict, current: Callable[[float], float],
                         leak: str = "ghk", ion_dynamics: str = "fixed"):
    """dy/dt of the resting membrane (see `jaxneuron.RestingMembrane`)."""
    conc = _concentrations(y, params, ion_dynamics)
    i = resting_currents(y[0], conc, params, leak)
    dv = (current(t) - (i["Na"] + i["K"] + i["Cl"] + i["pump"])) / params["C_m"]
    if ion_dynamics == "fixed":
        return np.array([dv])
    net = {"Na": i["Na"] + 3.0 * i["pump"], "K": i["K"] - 2.0 * i["pump"], "Cl": i["Cl"]}
    scale_in = 10.0 * params["area"] / (FARADAY * params["volume"])
    d_in = [-scale_in * net[ion] / z for ion, z in VALENCES.items()]
    if ion_dynamics == "intracellular":
        return np.array([dv, *d_in])
    scale_out = 10.0 * params["area"] / (FARADAY * params["bath_volume"])
    return np.array([dv, *d_in, *(scale_out * net[ion] / z for ion, z in VALENCES.items())])


def resting_potential_brentq(params: dict | None = None, leak: str = "ghk",
                             bracket=(-150.0, 100.0), xtol: float = 1e-12) -> float:
    """V (mV) of zero net membrane current at the concentrations in `params`, by brentq."""
    p = dict(RESTING_DEFAULTS, **(params or {}))
    conc = {k: p[k] for k in ("Na_o", "Na_i", "K_o", "K_i", "Cl_o", "Cl_i")}
    return brentq(lambda v: sum(resting_currents(v, conc, p, leak).values()), *bracket,
                  xtol=xtol, rtol=4 * np.finfo(float).eps)


def resting_initial_state(params: dict | None = None, leak: str = "ghk",
                          ion_dynamics: str = "fixed", v_init: float | None = None):
    """The start state: V at `v_init` (default the brentq rest) and the concentrations."""
    p = dict(RESTING_DEFAULTS, **(params or {}))
    v = resting_potential_brentq(p, leak) if v_init is None else v_init
    values = {"V": v, **{k: p[k] for k in ("Na_o", "Na_i", "K_o", "K_i", "Cl_o", "Cl_i")}}
    return np.array([values[n] for n in STATE_NAMES[ion_dynamics]])


def simulate_resting_scipy(
    current: Callable[[float], float] = lambda t: 0.0,
    *,
    t1: float,
    t0: float = 0.0,
    params: dict | None = None,
    leak: str = "ghk",
    ion_dynamics: str = "fixed",
    y0: np.ndarray | None = None,
    t_eval: np.ndarray | None = None,
    method: str = "RK45",
    rtol: float = 1e-6,
    atol: float = 1e-6,
) -> ScipyResult:
    """Integrate the resting membrane with `solve_ivp` (use `"LSODA"`, `"BDF"` or `"Radau"`
    for runs of seconds or more, where concentrations change). `y0` defaults to the rest at
    the concentrations in `params`."""
    p = dict(RESTING_DEFAULTS, **(params or {}))
    if y0 is None:
        y0 = resting_initial_state(p, leak, ion_dynamics)
    sol = solve_ivp(resting_vector_field, (t0, t1), np.asarray(y0, dtype=float), method=method,
                    t_eval=t_eval, rtol=rtol, atol=atol, args=(p, current, leak, ion_dynamics))
    if sol.status < 0:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    return ScipyResult(ts=sol.t, states=sol.y.T, spike_times=np.zeros(0), nfev=sol.nfev)
