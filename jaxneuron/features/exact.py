"""Exact electrophysiology features with eFEL's names and definitions, in NumPy.

A feature eFEL cannot compute (it returns None: no spike for `time_to_first_spike`, fewer
than 4 spikes in the stimulus for `adaptation_index2`, a depolarising step for
`sag_amplitude`, ...) is None here too, never a number; a feature eFEL returns as several
values (one per spike) is a 1-D NumPy array with at least one entry."""

from __future__ import annotations

import numpy as np

from .._checks import check_int, check_real
from . import spikes
from .inputs import (
    FEATURES,
    check_names,
    check_stimulus_current,
    check_trace,
    check_window,
    interpolate,
)

PRECISION = 1e-10
"""eFEL's `precision_threshold` (ms): the tolerance of the end of `voltage_base`'s window."""


class _Trace:
    """One trace on eFEL's grid with its settings; each landmark computed once, on demand."""

    def __init__(self, t, v, start, end, threshold, current, derivative_threshold,
                 down_derivative_threshold, derivative_window, voltage_base_mode,
                 ignore_first_isi):
        self.t, self.v, self.start, self.end = t, v, start, end
        self.threshold, self.current = threshold, current
        self.derivative_threshold = derivative_threshold
        self.down_derivative_threshold = down_derivative_threshold
        self.derivative_window = derivative_window
        self.voltage_base_mode = voltage_base_mode
        self.ignore_first_isi = ignore_first_isi
        self._cache = {}

    def get(self, name):
        if name not in self._cache:
            self._cache[name] = getattr(self, "_" + name)()
        return self._cache[name]

    # --- landmarks (indices) ---
    def _peaks(self):
        return spikes.peak_indices(self.v, self.threshold)

    def _peak_times(self):
        peaks = self.get("peaks")
        return None if peaks is None else self.t[peaks]

    def _ahp(self):
        peaks = self.get("peaks")
        return None if peaks is None else spikes.min_ahp_indices(self.v, peaks)

    def _begins(self):
        peaks = self.get("peaks")
        if peaks is None:
            return None
        return spikes.ap_begin_indices(self.t, self.v, peaks, self.get("ahp"), self.start,
                                       self.derivative_threshold, self.derivative_window)

    def _ends(self):
        peaks = self.get("peaks")
        if peaks is None:
            return None
        return spikes.ap_end_indices(self.t, self.v, peaks, self.start,
                                     self.down_derivative_threshold)

    def _isis(self):
        times = self.get("peak_times")
        return None if times is None or times.size < 2 else np.diff(times)

    def _minimum_voltage(self):
        t, stop = self.t, min(self.end, self.t[-1])
        first = int(np.searchsorted(t, self.start, side="left"))
        last = int(np.searchsorted(t, stop, side="left"))
        if first >= t.size or last >= t.size:
            return None
        return float(np.min(self.v[first:last])) if last > first else float(self.v[last])

    def _ssv_stimend(self):
        t = self.t
        window = (t >= self.end - 0.1 * (self.end - self.start)) & (t < self.end)
        return float(np.mean(self.v[window])) if np.any(window) else None

    def _voltage_deflection(self):
        t, v = self.t, self.v
        base = t < self.start
        after = np.flatnonzero(t > self.end)
        stop = int(after[0]) if after.size else 0
        if not np.any(base) or stop < 10:
            return None
        return float(np.mean(v[stop - 10:stop - 5]) - np.mean(v[base]))

    # --- features ---
    def _Spikecount(self):
        peaks = self.get("peaks")
        return 0 if peaks is None else int(peaks.size)

    def _mean_frequency(self):
        times = self.get("peak_times")
        if times is None:
            return None
        inside = times[(times >= self.start) & (times <= self.end)]
        last = inside[-1] if inside.size else 0.0
        if last == self.start:
            return None
        return float(inside.size * 1000 / (last - self.start)) + 0.0  # never -0.0

    def _time_to_first_spike(self):
        times = self.get("peak_times")
        return None if times is None else float(times[0] - self.start)

    def _ISI_CV(self):
        isis = self.get("isis")
        if isis is None:
            return None
        isis = isis[1:] if self.ignore_first_isi else isis
        if isis.size < 2:
            return None
        return float(np.std(isis, ddof=1) / np.mean(isis))

    def _peak_voltage(self):
        peaks = self.get("peaks")
        return None if peaks is None else self.v[peaks]

    def _AP_amplitude(self):
        times, begins = self.get("peak_times"), self.get("begins")
        if times is None or begins is None:
            return None
        during = self.v[self.get("peaks")][(times >= self.start) & (times <= self.end)]
        if during.size == 0 or during.size > begins.size:
            return None
        return during - self.v[begins[:during.size]]

    def _AP_duration_half_width(self):
        peaks, begins, ends = self.get("peaks"), self.get("begins"), self.get("ends")
        if peaks is None or begins is None or ends is None:
            return None
        rise = spikes.ap_rise_indices(self.v, begins, peaks)
        fall = spikes.ap_fall_indices(self.v, begins, ends, peaks)
        if rise is None or fall is None:
            return None
        return np.where(fall >= 0, self.t[fall] - self.t[rise], np.nan)

    def _AHP_depth_abs(self):
        ahp = self.get("ahp")
        return None if ahp is None else self.v[ahp]

    def _voltage_base(self):
        t, start, stop = self.t, 0.9 * self.start, 1.0 * self.start
        if start >= stop:
            return None
        first = np.flatnonzero(t >= start)
        first = int(first[0]) if first.size else 0
        before = np.flatnonzero(t[1:] - stop < PRECISION)
        last = int(before[-1]) + 2 if before.size else t.size
        window = self.v[first:last]
        if window.size == 0:
            return None
        reduce = np.median if self.voltage_base_mode == "median" else np.mean
        return float(reduce(window))

    def _steady_state_voltage(self):
        after = self.v[self.t > self.end]
        return float(np.mean(after)) if after.size else None

    def _sag_amplitude(self):
        ssv, base, low = self.get("ssv_stimend"), self.get("voltage_base"), \
            self.get("minimum_voltage")
        if ssv is None or base is None or low is None or ssv - base > 0:
            return None
        return ssv - low

    def _ohmic_input_resistance(self):
        deflection = self.get("voltage_deflection")
        return None if deflection is None else deflection / self.current

    def _adaptation_index2(self):
        times = self.get("peak_times")
        if times is None or times.size < 4:
            return None
        inside = times[(times >= self.start) & (times <= self.end)]
        if inside.size < 4:
            return None
        isis = np.diff(inside[1:])
        return float(np.mean((isis[1:] - isis[:-1]) / (isis[1:] + isis[:-1])))


def extract(time_ms, voltage_mv, names, *, stim_start: float, stim_end: float,
            threshold: float = -20.0, stimulus_current: float | None = None,
            interp_step: float | None = 0.1, derivative_threshold: float = 10.0,
            down_derivative_threshold: float = -12.0, derivative_window: int = 3,
            voltage_base_mode: str = "mean", ignore_first_isi: bool = True) -> dict:
    """eFEL features of one current-clamp trace, with eFEL's names, definitions and default
    settings (eFEL 5.7).

    The trace is first interpolated linearly onto a uniform grid of `interp_step` ms from
    its first time, as eFEL does; spikes are the maxima between upward and downward
    crossings of `threshold`. `voltage_base` is the mean (or median) voltage over
    `[0.9, 1.0] * stim_start`, `steady_state_voltage` the mean after `stim_end`,
    `sag_amplitude` the steady state over the last 10 % of the stimulus minus the minimum
    during it (for a hyperpolarising step only), `ohmic_input_resistance` the voltage
    deflection (mean of 5 samples ending 5 samples before `stim_end`, minus the mean
    before `stim_start`) over `stimulus_current` (MOhm for nA), `adaptation_index2` the
    mean of `(ISI[i] - ISI[i-1]) / (ISI[i] + ISI[i-1])` over the spikes inside the stimulus
    from its second spike.

    **Arguments:**
    - `time_ms`: sample times (ms), shape `(n,)`, increasing (any spacing; a time may
      repeat, as rounded time stamps do, unless `interp_step` is None).
    - `voltage_mv`: membrane potential (mV), shape `(n,)`, finite.
    - `names`: a feature name or a sequence of names from `FEATURES`.
    - `stim_start`, `stim_end`: the stimulus window (ms), inside the trace.
    - `threshold`: spike detection threshold (mV), eFEL's `Threshold`.
    - `stimulus_current`: the step's amplitude (nA), needed by `ohmic_input_resistance`.
    - `interp_step`: eFEL's `interp_step` (ms); None keeps the samples as they are.
    - `derivative_threshold`, `down_derivative_threshold` (mV/ms), `derivative_window`
      (samples): eFEL's spike onset and end settings.
    - `voltage_base_mode`: `"mean"` (eFEL's default) or `"median"`.
    - `ignore_first_isi`: eFEL's `ignore_first_ISI` (used by `ISI_CV`).

    **Returns:** a dict from each name to its value: a float (`Spikecount`: an int), a
    1-D float array for the per-spike features (`peak_voltage`, `AP_amplitude`,
    `AP_duration_half_width`, `AHP_depth_abs`), or None where the feature is undefined
    (where eFEL returns None, or NaN: `steady_state_voltage` with no sample after
    `stim_end`). One deviation: where
    eFEL finds no end for a spike it reports a negative `AP_duration_half_width`
    (`t[0] - t[rise]`); that entry is NaN here.

    **Raises:** `ValueError` for an unknown name, a damaged trace (different lengths,
    NaN, time not increasing), a stimulus window outside the trace or empty, or
    `ohmic_input_resistance` without a nonzero `stimulus_current`.
    """
    names = check_names(names)
    t, v = check_trace(time_ms, voltage_mv, strict=interp_step is None)
    start, end = check_window(stim_start, stim_end, t[0], t[-1])
    threshold = check_real("threshold", threshold)
    stimulus_current = check_stimulus_current(names, stimulus_current)
    if voltage_base_mode not in ("mean", "median"):
        raise ValueError(f"voltage_base_mode must be 'mean' or 'median'; got "
                         f"{voltage_base_mode!r}")
    ti, vi = interpolate(t, v, interp_step)
    trace = _Trace(ti, vi, start, end, threshold, stimulus_current,
                   check_real("derivative_threshold", derivative_threshold),
                   check_real("down_derivative_threshold", down_derivative_threshold),
                   check_int("derivative_window", derivative_window, minimum=1),
                   voltage_base_mode, bool(ignore_first_isi))
    return {name: trace.get(name) for name in names}


__all__ = ["FEATURES", "extract"]
