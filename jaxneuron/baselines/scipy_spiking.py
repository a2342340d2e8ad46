"""Event-restart integration of threshold-and-reset models with `scipy.integrate.solve_ivp`:
integrate until the terminal spike event, apply the reset, hold the clamped states through
the refractory period, restart. The reference a SciPy user would write; tests and
benchmarks only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.integrate import solve_ivp


def simulate_spiking_scipy(
    vector_field: Callable, y0, spike_condition: Callable, reset: Callable, *, t1: float,
    t0: float = 0.0, t_ref: float = 0.0, clamped: tuple[int, ...] = (0,),
    method: str = "DOP853", rtol: float = 1e-10, atol: float = 1e-10,
) -> np.ndarray:
    """Spike times (ms) of `dy/dt = vector_field(t, y)` with a spike when
    `spike_condition(y)` crosses zero upwards, then `y -> reset(y)` and the `clamped` states
    held for `t_ref` ms."""
    def held(t, y):
        dy = np.asarray(vector_field(t, y), dtype=float)
        dy[list(clamped)] = 0.0
        return dy

    def event(t, y):
        return spike_condition(y)

    event.terminal, event.direction = True, 1.0
    spikes, t, y = [], t0, np.asarray(y0, dtype=float)
    while t < t1:
        sol = solve_ivp(vector_field, (t, t1), y, method=method, rtol=rtol, atol=atol,
                        events=event)
        if not sol.t_events[0].size:
            break
        t, y = float(sol.t_events[0][0]), reset(sol.y_events[0][0])
        spikes.append(t)
        if t_ref > 0 and t < t1:
            t_end = min(t + t_ref, t1)
            y = solve_ivp(held, (t, t_end), y, method=method, rtol=rtol, atol=atol).y[:, -1]
            t = t_end
    return np.asarray(spikes)


def izhikevich_spikes_scipy(a, b, c, d, current: float, *, t1: float, v_init=-65.0,
                            v_peak=30.0, **kwargs) -> np.ndarray:
    """Izhikevich (2003) spike times (ms) under a constant `current` from t = 0."""
    def vector_field(t, y):
        v, u = y
        return [0.04 * v * v + 5.0 * v + 140.0 - u + current, a * (b * v - u)]

    return simulate_spiking_scipy(vector_field, [v_init, b * v_init], lambda y: y[0] - v_peak,
                                  lambda y: np.array([c, y[1] + d]), t1=t1, **kwargs)


def lif_spikes_scipy(tau_m, R, V_rest, V_th, V_reset, t_ref, current: float, *, t1: float,
                     **kwargs) -> np.ndarray:
    """LIF spike times (ms) under a constant `current` (nA) from t = 0, starting at rest."""
    def vector_field(t, y):
        return [(-(y[0] - V_rest) + R * current) / tau_m]

    return simulate_spiking_scipy(vector_field, [V_rest], lambda y: y[0] - V_th,
                                  lambda y: np.array([V_reset]), t1=t1, t_ref=t_ref, **kwargs)
