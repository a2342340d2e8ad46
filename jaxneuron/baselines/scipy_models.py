"""NumPy vector fields integrated with `scipy.integrate.solve_ivp`: the reference a SciPy user
would write. Used by tests (as an independent implementation of the same equations) and
benchmarks (as the baseline). Not part of the differentiable core.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

HH_DEFAULTS = dict(C_m=1.0, g_Na=120.0, g_K=36.0, g_L=0.3, E_Na=50.0, E_K=-77.0,
                   E_L=-54.387, temperature_c=6.3)
"""Default HH parameters of the NumPy baseline (those of `HodgkinHuxley`, rest at -65 mV):
µF/cm², mS/cm², mV, °C."""


def _vtrap(x):
    """x / (1 - exp(-x)) with the x -> 0 limit."""
    return np.where(np.abs(x) < 1e-6, 1.0 + x / 2.0, x / -np.expm1(-np.where(x == 0, 1, x)))


def hh_rates(V, temperature_c=6.3):
    """HH opening/closing rates (1/ms) at V (mV), Q10 = 3 from 6.3 °C."""
    phi = 3.0 ** ((temperature_c - 6.3) / 10.0)
    a_m = _vtrap((V + 40.0) / 10.0)
    b_m = 4.0 * np.exp(-(V + 65.0) / 18.0)
    a_h = 0.07 * np.exp(-(V + 65.0) / 20.0)
    b_h = 1.0 / (1.0 + np.exp(-(V + 35.0) / 10.0))
    a_n = 0.1 * _vtrap((V + 55.0) / 10.0)
    b_n = 0.125 * np.exp(-(V + 65.0) / 80.0)
    return tuple(phi * r for r in (a_m, b_m, a_h, b_h, a_n, b_n))


def hh_initial_state(v_init=-65.0, temperature_c=6.3):
    """`(V, m, h, n)` with gates at steady state at `v_init` (mV)."""
    a_m, b_m, a_h, b_h, a_n, b_n = hh_rates(v_init, temperature_c)
    return np.array([v_init, a_m / (a_m + b_m), a_h / (a_h + b_h), a_n / (a_n + b_n)])


def hh_vector_field(t, y, params: dict, current: Callable[[float], float]):
    """d(V, m, h, n)/dt of Hodgkin–Huxley; units mV, ms, µA/cm², mS/cm², µF/cm²."""
    V, m, h, n = y
    a_m, b_m, a_h, b_h, a_n, b_n = hh_rates(V, params["temperature_c"])
    i_ion = (params["g_Na"] * m**3 * h * (V - params["E_Na"])
             + params["g_K"] * n**4 * (V - params["E_K"])
             + params["g_L"] * (V - params["E_L"]))
    return np.array([
        (current(t) - i_ion) / params["C_m"],
        a_m * (1.0 - m) - b_m * m,
        a_h * (1.0 - h) - b_h * h,
        a_n * (1.0 - n) - b_n * n,
    ])


def step_current(amplitude: float, t_start: float = 0.0, t_stop: float = np.inf):
    """A NumPy step current: `amplitude` for `t_start <= t < t_stop`."""
    return lambda t: amplitude if t_start <= t < t_stop else 0.0


@dataclass
class ScipyResult:
    """`ts` (ms), `states` `(n, n_states)`, `spike_times` (ms, exact event roots), `nfev`."""

    ts: np.ndarray
    states: np.ndarray
    spike_times: np.ndarray
    nfev: int


def simulate_hh_scipy(
    current: Callable[[float], float],
    *,
    t1: float,
    t0: float = 0.0,
    params: dict | None = None,
    t_eval: np.ndarray | None = None,
    method: str = "RK45",
    rtol: float = 1e-6,
    atol: float = 1e-6,
    threshold: float = 0.0,
    y0: np.ndarray | None = None,
    max_step: float = np.inf,
) -> ScipyResult:
    """Hodgkin–Huxley with `solve_ivp`; spikes are upward roots of V - threshold (events)."""
    p = dict(HH_DEFAULTS, **(params or {}))
    if y0 is None:
        y0 = hh_initial_state(temperature_c=p["temperature_c"])

    def spike(t, y, *_):
        return y[0] - threshold

    spike.direction = 1.0
    sol = solve_ivp(hh_vector_field, (t0, t1), y0, method=method, t_eval=t_eval, rtol=rtol,
                    atol=atol, args=(p, current), events=spike, max_step=max_step)
    if sol.status < 0:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    return ScipyResult(ts=sol.t, states=sol.y.T, spike_times=sol.t_events[0], nfev=sol.nfev)
