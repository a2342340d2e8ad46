"""A recorded signal onto another time grid, with anti-aliasing (NumPy/SciPy, at the
boundary; nothing here is traced)."""

from __future__ import annotations

import numpy as np

from ..observed import check_observed

ATTENUATION_DB = 80.0
"""Stop-band attenuation (dB) of the anti-aliasing filter: components above the new
Nyquist frequency shrink 1e4-fold; the pass-band ripple is 1e-4."""

PASS_FRACTION = 0.8
"""The filter passes (within the ripple) frequencies up to this fraction of the new Nyquist
frequency and stops everything above the new Nyquist frequency."""


def lowpass_filter(dt: float, dt_new: float) -> np.ndarray:
    """The zero-phase (symmetric, odd-length) Kaiser-window FIR low-pass for sampling a
    signal recorded every `dt` ms again every `dt_new` ms (> dt): pass band up to
    `PASS_FRACTION` of the new Nyquist frequency, stop band from the new Nyquist frequency
    on, `ATTENUATION_DB` in the stop band. Taps sum to 1 (unit gain at DC)."""
    from scipy import signal

    nyquist_ratio = dt / dt_new  # new Nyquist as a fraction of the original one (< 1)
    width = (1.0 - PASS_FRACTION) * nyquist_ratio
    numtaps, beta = signal.kaiserord(ATTENUATION_DB, width)
    numtaps += 1 - numtaps % 2  # odd: a whole-sample delay, removed by centring
    cutoff = (1.0 + PASS_FRACTION) / 2.0 * nyquist_ratio
    return signal.firwin(numtaps, cutoff, window=("kaiser", beta))


def resample(time, values, ts, *, argument: str = "ts") -> np.ndarray:
    """`values` sampled at the uniform `time` (ms, shape `(n,)`), sampled again at `ts`
    (ms, shape `(m,)`, ascending).

    Where `ts` is coarser than the recording (its largest spacing > the recording's `dt`),
    the signal is first low-pass filtered (`lowpass_filter`, zero phase, the ends extended
    by odd reflection so the filter sees no step there) at the Nyquist frequency of that
    spacing, so that faster components are removed instead of aliased. Within half the
    filter's length of either end (`lowpass_filter(dt, spacing).size // 2` samples, about
    5 new sampling intervals) the filter sees the reflected extension, so components above
    the new Nyquist frequency are only partly removed there; slower ones are kept. Then, where every
    `ts` falls on a sample (an integer decimation, e.g. 20 kHz onto 0.1 ms), the filtered
    samples are taken as they are; elsewhere the filtered signal is interpolated by a
    cubic spline. Where `ts` is as fine as the recording or finer, the samples are
    interpolated linearly (exact at the samples, nothing invented between them).

    **Raises:** `ValueError` naming `argument` when `ts` is not a finite ascending 1-D
    array, or reaches outside `[time[0], time[-1]]`.
    """
    time = np.asarray(time, dtype=float)
    values = np.asarray(values, dtype=float)
    ts = check_observed(argument, ts, ndim=1, min_length=1).astype(float)
    if ts.size > 1 and np.any(np.diff(ts) <= 0):
        raise ValueError(f"{argument} must be strictly increasing times (ms)")
    dt = (time[-1] - time[0]) / (time.size - 1)
    slack = 1e-6 * dt
    if ts[0] < time[0] - slack or ts[-1] > time[-1] + slack:
        raise ValueError(f"{argument} must lie inside the recorded time span "
                         f"[{time[0]:g}, {time[-1]:g}] ms; got [{ts[0]:g}, {ts[-1]:g}] ms")
    position = np.clip((ts - time[0]) / dt, 0.0, time.size - 1)
    spacing = float(np.max(np.diff(ts))) if ts.size > 1 else dt
    if spacing <= dt * (1 + 1e-9):
        return np.interp(position, np.arange(time.size), values)
    taps = lowpass_filter(dt, spacing)
    half = taps.size // 2
    from scipy import signal

    padded = np.pad(values, half, mode="reflect", reflect_type="odd")
    filtered = signal.fftconvolve(padded, taps, mode="valid")
    nearest = np.rint(position)
    if np.all(np.abs(position - nearest) <= 1e-6):
        return filtered[nearest.astype(int)]
    from scipy.interpolate import CubicSpline

    return CubicSpline(np.arange(time.size), filtered)(position)
