"""Spike detection and spike-shape landmarks as eFEL computes them (its C++ core,
`SpikeEvent.cpp` and `SpikeShape.cpp`), in NumPy, on a trace already on eFEL's grid.

Every function returns sample indices (int arrays) or None where eFEL fails (eFEL's
"feature could not be computed", including an empty result)."""

from __future__ import annotations

import numpy as np


def peak_indices(v: np.ndarray, threshold: float) -> np.ndarray | None:
    """The index of the first maximum of each spike: between an upward crossing of
    `threshold` (mV; strict: `v[i-1] < threshold < v[i]`) and the next downward crossing.
    A trace that starts above threshold loses that first excursion; a spike with no
    downward crossing before the end is dropped. None when `v` never crosses (eFEL fails)."""
    above, below = v > threshold, v < threshold
    up = np.flatnonzero(above[1:] & below[:-1]) + 1
    down = np.flatnonzero(below[1:] & above[:-1]) + 1
    if down.size == 0 or up.size == 0:
        return None
    down = down[down >= up[0]]
    up = up[:min(up.size, down.size)]
    peaks = [u + int(np.argmax(v[u:d + 1])) for u, d in zip(up, down, strict=False)]
    peaks = np.asarray(peaks, dtype=int)
    return peaks if peaks.size else None


def first_min_element(values: np.ndarray) -> int:
    """eFEL's `first_min_element`: the first running minimum followed by two values not
    below it, else the first global minimum (index into `values`; 0 for an empty array)."""
    if values.size == 0:
        return 0
    running = np.minimum.accumulate(values)
    new_min = np.ones(values.size, dtype=bool)
    new_min[1:] = values[1:] < running[:-1]
    candidates = np.flatnonzero(new_min[:-2] & ~new_min[1:-1] & ~new_min[2:])
    return int(candidates[0]) if candidates.size else int(np.argmin(values))


def min_ahp_indices(v: np.ndarray, peaks: np.ndarray) -> np.ndarray | None:
    """The first minimum after each spike: between consecutive peaks, and after the last
    peak up to the end of the trace, unless it falls on the last sample (eFEL's
    `min_AHP_indices` with `strict_stiminterval` off)."""
    bounds = np.append(peaks, v.size)
    found = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        index = a + first_min_element(v[a:b])
        if index != v.size - 1:
            found.append(index)
    return np.asarray(found, dtype=int) if found else None


def central_derivative(t: np.ndarray, v: np.ndarray) -> np.ndarray:
    """dV/dt (mV/ms) as eFEL computes it: central differences of `v` over central
    differences of `t`, one-sided at both ends."""
    return np.gradient(v) / np.gradient(t)


def _stim_begin_index(t: np.ndarray, stim_start: float) -> int:
    """The first index with `t >= stim_start` (`t.size` when none)."""
    return int(np.searchsorted(t, stim_start, side="left"))


def ap_begin_indices(t, v, peaks, ahp, stim_start, derivative_threshold,
                     derivative_window) -> np.ndarray | None:
    """The onset of each spike after `stim_start`: searching back from the peak, the last
    sample where dV/dt is at or below `derivative_threshold` (mV/ms) that is followed by
    `derivative_window` samples all at or above it (eFEL's `AP_begin_indices`); a spike with
    no such onset after the previous AHP minimum is skipped."""
    dvdt = central_derivative(t, v)
    begin_index = _stim_begin_index(t, stim_start)
    first = begin_index - 2 if begin_index > 1 else begin_index - 1 if begin_index == 1 \
        else begin_index
    minima = [first] + ([int(a) for a in ahp if a > begin_index] if ahp is not None else [])
    after = [int(p) for p in peaks if p > begin_index]
    if len(minima) < len(after):
        return None
    end = t.size
    found = []
    for peak, lowest in zip(after, minima, strict=False):
        newbegin, skip = peak, False
        while True:
            below = np.flatnonzero(dvdt[lowest:newbegin] <= derivative_threshold)
            begin = lowest + int(below[-1]) + 1 if below.size else lowest
            begin = min(begin, end - derivative_window)
            if begin == lowest:
                skip = True
                break
            newbegin = begin - 1
            if not np.any(dvdt[begin:begin + derivative_window] < derivative_threshold):
                break
        if not skip:
            found.append(begin)
    return np.asarray(found, dtype=int) if found else None


def ap_end_indices(t, v, peaks, stim_start, down_derivative_threshold) -> np.ndarray | None:
    """The end of each spike after `stim_start`: after the steepest fall that follows the
    peak, the first sample where dV/dt is back at or above `down_derivative_threshold`
    (mV/ms), searched up to the next peak (eFEL's `AP_end_indices`)."""
    dvdt = central_derivative(t, v)
    begin_index = _stim_begin_index(t, stim_start)
    bounds = [int(p) for p in peaks if p > begin_index] + [v.size - 1]
    found = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        start = a + 1
        if start >= b or b >= dvdt.size:
            continue
        steepest = start + int(np.argmin(dvdt[start:b]))
        back = np.flatnonzero(dvdt[steepest:b] >= down_derivative_threshold)
        if back.size:
            found.append(steepest + int(back[0]))
    return np.asarray(found, dtype=int) if found else None


def ap_rise_indices(v, begins, peaks) -> np.ndarray | None:
    """Per spike, the sample between onset and peak closest to their mean voltage (eFEL
    pairs the i-th onset with the i-th peak); None if a peak precedes its onset."""
    n = min(begins.size, peaks.size)
    found = []
    for b, p in zip(begins[:n], peaks[:n], strict=True):
        if p < b:
            return None
        half = (v[p] + v[b]) / 2.0
        found.append(b + (int(np.argmin(np.abs(v[b:p] - half))) if p > b else 0))
    return np.asarray(found, dtype=int) if found else None


def ap_fall_indices(v, begins, ends, peaks) -> np.ndarray | None:
    """Per spike, the sample between peak and end closest to the mean of peak and onset
    voltages (eFEL pairs the i-th onset, end and peak); -1 where the end is missing or
    precedes the peak (eFEL leaves index 0 there, which gives a negative width)."""
    n = min(begins.size, peaks.size)
    found = np.full(n, -1, dtype=int)
    for i in range(n):
        if i >= ends.size or peaks[i] > ends[i]:
            continue
        p, b, e = peaks[i], begins[i], ends[i]
        half = (v[p] + v[b]) / 2.0
        found[i] = p + (int(np.argmin(np.abs(v[p:e] - half))) if e > p else 0)
    return found if n else None
