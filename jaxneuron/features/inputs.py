"""Checks and conversions shared by the exact and the smooth features: the trace, the
stimulus window, the feature names, and eFEL's linear interpolation onto a uniform grid."""

from __future__ import annotations

import numpy as np

from .._checks import check_real
from ..observed import check_observed

FEATURES = (
    "Spikecount",
    "mean_frequency",
    "time_to_first_spike",
    "ISI_CV",
    "AP_amplitude",
    "peak_voltage",
    "AP_duration_half_width",
    "AHP_depth_abs",
    "voltage_base",
    "steady_state_voltage",
    "sag_amplitude",
    "ohmic_input_resistance",
    "adaptation_index2",
)
"""The eFEL feature names `jaxneuron.features.extract` computes (eFEL's definitions)."""


def check_names(names, supported=FEATURES) -> tuple[str, ...]:
    """`names` (a string or a sequence of strings) as a tuple of supported feature names.

    **Raises:** `ValueError` naming `names` and listing the supported ones.
    """
    if isinstance(names, str):
        names = (names,)
    try:
        names = tuple(names)
    except TypeError as error:
        raise ValueError(f"names must be a feature name or a sequence of them, from "
                         f"{list(supported)}; got {names!r}") from error
    if not names:
        raise ValueError(f"names must name at least one feature from {list(supported)}")
    for name in names:
        if not isinstance(name, str) or name not in supported:
            raise ValueError(f"names: unknown feature {name!r}; supported: {list(supported)}")
    return names


def trace_arrays(trace) -> tuple[np.ndarray, np.ndarray]:
    """The save times (ms) and membrane potential (mV) of one `jaxneuron.Trace`, as NumPy
    arrays of shape `(n_save,)`, to pass to `extract` or `smooth`
    (`extract(*trace_arrays(trace), names, ...)`).

    **Raises:** `ValueError` for a batched trace (vmapped: index one set first).
    """
    ts, v = np.asarray(trace.ts), np.asarray(trace.v)
    if ts.ndim != 1 or v.ndim != 1:
        raise ValueError(f"trace must be one trace (ts and v of shape (n_save,)); got ts "
                         f"shape {ts.shape} and v shape {v.shape}: index the batch first")
    return ts, v


def check_trace(time_ms, voltage_mv, *, strict: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """`time_ms` and `voltage_mv` as float64 arrays of one length (at least 3 samples,
    finite, time strictly increasing; with `strict=False`, non-decreasing: a time written
    twice, as in text files with rounded time stamps, is allowed where the trace is then
    interpolated onto a grid).

    **Raises:** `ValueError` naming the argument at fault: different lengths, NaN/inf, or
    time going back (or repeated, when `strict`).
    """
    t = np.asarray(check_observed("time_ms", time_ms, ndim=1), dtype=float)
    v = np.asarray(check_observed("voltage_mv", voltage_mv, ndim=1), dtype=float)
    if t.size < 3:
        raise ValueError(f"time_ms must hold at least 3 samples; got {t.size}")
    if v.shape != t.shape:
        raise ValueError(f"voltage_mv must have the length of time_ms ({t.size}); got "
                         f"{v.size} samples")
    steps = np.diff(t)
    bad = steps <= 0 if strict else steps < 0
    if np.any(bad):
        first = int(np.argmax(bad))
        allowed = "strictly increasing" if strict else "non-decreasing"
        raise ValueError(f"time_ms must be {allowed}; time_ms[{first + 1}] = "
                         f"{t[first + 1]!r} after time_ms[{first}] = {t[first]!r}")
    if t[-1] <= t[0]:
        raise ValueError(f"time_ms must span a positive duration; got {t[0]!r} to {t[-1]!r}")
    return t, v


def check_window(stim_start, stim_end, t_first: float, t_last: float) -> tuple[float, float]:
    """The stimulus window (ms) as floats: `t_first <= stim_start < stim_end <= t_last`.

    **Raises:** `ValueError` naming `stim_start` or `stim_end` and the trace's time range.
    """
    start = check_real("stim_start", stim_start)
    end = check_real("stim_end", stim_end)
    t_first, t_last = float(t_first), float(t_last)
    if not t_first <= start < t_last:
        raise ValueError(f"stim_start must lie inside the trace, in [{t_first!r}, {t_last!r}) "
                         f"ms; got {start!r}")
    if not start < end <= t_last:
        raise ValueError(f"stim_end must be > stim_start ({start!r} ms) and <= the trace's "
                         f"last time ({t_last!r} ms); got {end!r}")
    return start, end


def interpolate(time_ms: np.ndarray, voltage_mv: np.ndarray, step: float | None):
    """eFEL's `LinearInterpolation`: the trace on the grid `t[0], t[0] + step, ...` (built by
    repeated addition, as eFEL does), one point past `t[-1]` holding `v[-1]` where the grid
    does not land on it; `step=None` returns the trace unchanged.

    **Returns:** `(t_grid, v_grid)`, float64 arrays of one length.
    """
    if step is None:
        return time_ms, voltage_mv
    step = check_real("interp_step", step, gt=0)
    start, stop = time_ms[0], time_ms[-1]
    size = int(np.ceil((stop - start) / step))
    grid = np.cumsum(np.concatenate([[start], np.full(size, step)]))  # sequential sums
    grid = grid if grid[size - 1] < stop else grid[:size]
    j = np.searchsorted(time_ms, grid, side="left") - 1
    j = np.clip(j, 0, time_ms.size - 1)
    inside = j < time_ms.size - 1
    jj = np.where(inside, j, time_ms.size - 2)
    slope = (voltage_mv[jj + 1] - voltage_mv[jj]) / (time_ms[jj + 1] - time_ms[jj])
    values = np.where(inside, voltage_mv[jj] + slope * (grid - time_ms[jj]), voltage_mv[-1])
    return grid, values


def check_stimulus_current(names, stimulus_current) -> float | None:
    """The step current (nA) that `ohmic_input_resistance` divides by: None where `names`
    does not ask for it; else a finite nonzero float.

    **Raises:** `ValueError` naming `stimulus_current` when it is needed and missing or 0.
    """
    if "ohmic_input_resistance" not in names:
        return None
    if stimulus_current is None:
        raise ValueError("stimulus_current (nA) is needed for ohmic_input_resistance; got None")
    current = check_real("stimulus_current", stimulus_current)
    if current == 0:
        raise ValueError("stimulus_current must be nonzero (nA) for ohmic_input_resistance; "
                         "got 0")
    return current

