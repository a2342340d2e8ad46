"""Criticality of population activity: neuronal avalanches, power-law fits, branching ratio.

Post-processing in NumPy (never inside `jit`):
- `population_counts` / `detect_avalanches`: spikes of all neurons summed per time bin
  (bin = the mean inter-event interval of the pooled spike train unless given); an
  avalanche is a run of non-empty bins between empty ones (Beggs & Plenz 2003, J. Neurosci.
  23:11167). Its size is its number of spikes, its duration its number of bins.
- `fit_power_law`: the `powerlaw` package (Alstott et al. 2014, PLoS ONE 9:e85777):
  maximum-likelihood exponent above the KS-optimal `xmin`, and the log-likelihood ratio
  against an exponential with its p-value.
- `branching_ratio`: the multistep-regression (MR) estimator of `mrestimator` (Wilting &
  Priesemann 2018, Nat. Commun. 9:2325), unbiased under subsampling.
- `growth_branching_ratio`: the same estimator on the ignition transient of trials that
  start from rest, for super-critical networks whose stationary (saturated) activity
  fluctuates around a stable high state and reads m < 1 there.
- `classify`: sub-critical / critical / super-critical from the branching ratio.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from dataclasses import dataclass

import numpy as np

from .._checks import check_int, check_real

SUBCRITICAL_BELOW = 0.95
SUPERCRITICAL_ABOVE = 1.05


@dataclass(frozen=True)
class Avalanches:
    """Avalanches found in population activity.

    - `sizes`: spikes per avalanche `(n_avalanches,)` int.
    - `durations`: bins per avalanche `(n_avalanches,)` int (times `bin_ms` for ms).
    - `starts`: index of each avalanche's first bin `(n_avalanches,)` int.
    - `counts`: the binned activity (spikes per bin) they were found in `(n_bins,)` int.
    - `bin_steps`, `bin_ms`: bin width in simulation steps and in ms.
    """

    sizes: np.ndarray
    durations: np.ndarray
    starts: np.ndarray
    counts: np.ndarray
    bin_steps: int
    bin_ms: float

    @property
    def n(self) -> int:
        return int(self.sizes.size)


@dataclass(frozen=True)
class PowerLawFit:
    """A power law $p(x) \\propto x^{\\text{exponent}}$ fitted for $x \\ge$ `xmin`.

    - `exponent`: the slope of the density (negative, e.g. -1.5); `alpha = -exponent`.
    - `sigma`: standard error of `alpha`; `xmin`: lower cut-off; `n_tail`: samples >= xmin.
    - `loglikelihood_ratio`, `p_value`: power law vs exponential (R > 0 favours the power
      law; `p_value` the significance of the sign of R).
    - `ks_distance`: Kolmogorov–Smirnov distance of the fit above `xmin`.
    """

    exponent: float
    alpha: float
    sigma: float
    xmin: float
    n_tail: int
    loglikelihood_ratio: float
    p_value: float
    ks_distance: float
    discrete: bool

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class BranchingRatio:
    """Multistep-regression estimate of the branching ratio.

    - `m`: branching ratio per bin; `tau_ms`: intrinsic timescale $-\\Delta t / \\ln m$ (ms,
      `inf` at m >= 1).
    - `bin_ms`: the bin (ms) the activity was counted in; `ks`, `rk`: lags (bins) and the
      regression slopes $r_k$ the exponential $r_k = b\\,m^k$ was fitted to.
    """

    m: float
    tau_ms: float
    bin_ms: float
    ks: np.ndarray
    rk: np.ndarray


def population_counts(raster) -> np.ndarray:
    """Spikes per step summed over neurons: `(n_steps, n)` bool/int raster -> `(n_steps,)`.
    A 1-D input is taken as counts already and returned as int."""
    raster = np.asarray(raster)
    if raster.ndim == 2:
        return raster.astype(np.int64).sum(axis=1)
    if raster.ndim == 1:
        return raster.astype(np.int64)
    raise ValueError(f"raster must be (n_steps, n) or counts (n_steps,); got shape "
                     f"{raster.shape}")


def mean_interevent_steps(counts) -> float:
    """Mean interval (in steps) between successive spikes of the pooled population train,
    `(last - first spike step) / (n_spikes - 1)`; spikes in one step count as 0 apart."""
    counts = population_counts(counts)
    active = np.nonzero(counts)[0]
    total = int(counts.sum())
    if total < 2:
        raise ValueError("need at least 2 spikes to compute an inter-event interval")
    return float(active[-1] - active[0]) / (total - 1)


def bin_counts(counts, bin_steps: int) -> np.ndarray:
    """Sum `counts` (`(n_steps,)`) in consecutive bins of `bin_steps` (a trailing partial bin
    is dropped)."""
    counts = population_counts(counts)
    bin_steps = check_int("bin_steps", bin_steps, 1)
    n_bins = counts.size // bin_steps
    return counts[: n_bins * bin_steps].reshape(n_bins, bin_steps).sum(axis=1)


def detect_avalanches(activity, dt: float, *, bin_ms: float | None = None) -> Avalanches:
    """Avalanches in a raster `(n_steps, n)` or population counts per step `(n_steps,)`
    sampled every `dt` ms.

    Steps are summed into bins of `bin_ms` (rounded to a whole number of steps, at least
    1); default the mean inter-event interval of the pooled spikes. An avalanche is a
    maximal run of non-empty bins preceded and followed by an empty bin; runs touching the
    first or last bin are incomplete and dropped.

    **Raises:** `ValueError` for `dt <= 0`, `bin_ms <= 0` or fewer than 2 spikes (default bin).
    """
    dt = check_real("dt (ms)", dt, gt=0)
    counts = population_counts(activity)
    if bin_ms is None:
        bin_steps = max(1, int(round(mean_interevent_steps(counts))))
    else:
        bin_ms = check_real("bin_ms", bin_ms, gt=0)
        bin_steps = max(1, int(round(bin_ms / dt)))
    binned = bin_counts(counts, bin_steps)
    active = np.concatenate([[0], (binned > 0).astype(np.int8), [0]])
    edges = np.diff(active)
    starts = np.nonzero(edges == 1)[0]
    ends = np.nonzero(edges == -1)[0]  # exclusive
    complete = (starts > 0) & (ends < binned.size)
    starts, ends = starts[complete], ends[complete]
    cumulative = np.concatenate([[0], np.cumsum(binned)])
    return Avalanches(sizes=(cumulative[ends] - cumulative[starts]).astype(np.int64),
                      durations=(ends - starts).astype(np.int64), starts=starts,
                      counts=binned, bin_steps=bin_steps, bin_ms=bin_steps * float(dt))


@contextlib.contextmanager
def _quiet():
    """Silence the chatter of powerlaw / mrestimator (prints, warnings, progress bars)."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def fit_power_law(samples, *, discrete: bool = True, xmin: float | None = None,
                  xmax: float | None = None) -> PowerLawFit:
    """Maximum-likelihood power-law fit of `samples` (avalanche sizes or durations) with the
    `powerlaw` package; `xmin` chosen by minimal KS distance unless given.

    **Raises:** `ValueError` if fewer than 10 positive samples.
    """
    import powerlaw

    x = np.asarray(samples, dtype=float).ravel()
    x = x[np.isfinite(x) & (x > 0)]
    if x.size < 10:
        raise ValueError(f"need at least 10 positive samples to fit a power law; got {x.size}")
    with _quiet():
        fit = powerlaw.Fit(x, discrete=discrete, xmin=xmin, xmax=xmax, verbose=False)
        ratio, p = fit.distribution_compare("power_law", "exponential",
                                            normalized_ratio=True)
        law = fit.power_law
        alpha, sigma, x0, d = float(law.alpha), float(law.sigma), float(law.xmin), \
            float(law.D)
    return PowerLawFit(exponent=-alpha, alpha=alpha, sigma=sigma, xmin=x0,
                       n_tail=int(np.sum(x >= x0)), loglikelihood_ratio=float(ratio),
                       p_value=float(p), ks_distance=d, discrete=discrete)


def branching_ratio(counts, *, bin_ms: float = 1.0, max_lag: int = 40,
                    method: str = "ts") -> BranchingRatio:
    """Branching ratio $m$ of binned activity `counts` (`(n_bins,)` spikes per bin, or
    `(n_trials, n_bins)`) by `mrestimator`'s multistep regression: slopes $r_k$ of
    $A_{t+k}$ on $A_t$ for $k = 1..$`max_lag`, fitted by $r_k = b\\,m^k$.

    `bin_ms` is the bin width (ms), only used for `tau_ms`; `method` is mrestimator's
    `"ts"` (trial-separated) or `"sm"` (stationary mean).

    **Raises:** `ValueError` for too short or constant activity.
    """
    import mrestimator as mre

    max_lag = check_int("max_lag", max_lag, 2)
    bin_ms = check_real("bin_ms", bin_ms, gt=0)
    data = np.atleast_2d(np.asarray(counts, dtype=float))
    if data.ndim != 2 or data.shape[1] < 3 * max_lag or max_lag < 2:
        raise ValueError(f"counts must hold at least 3 * max_lag = {3 * max_lag} bins "
                         f"(max_lag >= 2); got shape {np.shape(counts)}")
    if not np.all(np.var(data, axis=1) > 0):
        raise ValueError("counts are constant: the branching ratio is undefined")
    if method not in ("ts", "sm"):
        raise ValueError(f"method must be 'ts' or 'sm'; got {method!r}")
    logging.getLogger("mrestimator").setLevel(logging.ERROR)
    with _quiet():
        mre.disable_progressbar()
        rk = mre.coefficients(data, method=method, steps=(1, max_lag), dt=bin_ms,
                              dtunit="ms", numboot=0)
        fit = mre.fit(rk, fitfunc=mre.f_exponential, numboot=0)
    m = float(fit.mre)
    tau = float(-bin_ms / np.log(m)) if 0 < m < 1 else float("inf")
    return BranchingRatio(m=m, tau_ms=tau, bin_ms=float(bin_ms), ks=np.asarray(rk.steps),
                          rk=np.asarray(rk.coefficients))


def classify(m: float, *, low: float = SUBCRITICAL_BELOW,
             high: float = SUPERCRITICAL_ABOVE) -> str:
    """The regime of a branching ratio `m`: `"sub-critical"` if m < `low` (0.95),
    `"critical"` if `low` <= m <= `high` (1.05), `"super-critical"` if m > `high`.

    **Raises:** `ValueError` for a non-finite `m` or `low > high`.
    """
    if not np.isfinite(m):
        raise ValueError(f"m must be finite; got {m!r}")
    if not low <= high:
        raise ValueError(f"low must be <= high; got {low}, {high}")
    if m < low:
        return "sub-critical"
    if m > high:
        return "super-critical"
    return "critical"


@dataclass(frozen=True)
class RegimeStats:
    """Criticality measures of one network run (all populations pooled): `rate_hz` per
    neuron, branching ratio `m` and its `regime`, avalanches found on bins of `bin_ms`, and
    `quiescent`, the fraction of empty bins of the branching-ratio binning."""

    gain: float
    rate_hz: float
    m: float
    regime: str
    n_avalanches: int
    bin_ms: float
    overflow: bool
    quiescent: float = float("nan")

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def measure(counts, dt: float, *, gain: float = float("nan"), n_neurons: int = 1,
            overflow: bool = False, max_lag: int = 40, bin_ms: float | None = None,
            mr_bin_ms: float | None = None) -> tuple[RegimeStats, Avalanches]:
    """Avalanches and branching ratio of population counts per step `(n_steps,)` sampled
    every `dt` ms: avalanches on bins of `bin_ms` (default the mean inter-event interval),
    the MR branching ratio on bins of `mr_bin_ms` (default the avalanche bin)."""
    dt = check_real("dt (ms)", dt, gt=0)
    n_neurons = check_int("n_neurons", n_neurons, 1)
    counts = population_counts(counts)
    duration_s = counts.size * dt / 1000.0
    rate = float(counts.sum()) / n_neurons / duration_s
    if counts.sum() < 2:
        return RegimeStats(gain, rate, float("nan"), "silent", 0, float("nan"), overflow,
                           1.0), None
    av = detect_avalanches(counts, dt, bin_ms=bin_ms)
    if mr_bin_ms is None:
        binned, width = av.counts, av.bin_ms
    else:
        steps = max(1, int(round(mr_bin_ms / dt)))
        binned, width = bin_counts(counts, steps), steps * float(dt)
    lag = min(max_lag, binned.size // 3)
    try:
        m = branching_ratio(binned, bin_ms=width, max_lag=lag).m
    except ValueError:
        m = float("nan")
    regime = classify(m) if np.isfinite(m) else "undetermined"
    return RegimeStats(gain, rate, m, regime, av.n, av.bin_ms, overflow,
                       float(np.mean(binned == 0))), av


def growth_branching_ratio(trials, *, fraction: float = 0.5, plateau: float | None = None,
                           max_lag: int = 5, bin_ms: float = 1.0) -> tuple[BranchingRatio, int]:
    """MR branching ratio of the ignition of activity, before saturation.

    `trials` `(n_trials, n_bins)` are counts per bin of runs that start from rest. In
    each trial the growth ends at the first bin that reaches `fraction` of `plateau`
    (default: that trial's mean count over its second half) and starts at its first
    non-empty bin; all trials are cut to the shortest such window, aligned at their ends,
    and the trial-separated MR estimator (`method="ts"`) with lags `1..max_lag` (at most a
    third of the window) is applied to them. Trials that never reach the level are left out.

    **Returns:** `(BranchingRatio, n_window_bins)`.

    **Raises:** `ValueError` if no trial grows, the window is shorter than 6 bins, or
    `fraction` is not in (0, 1].
    """
    data = np.atleast_2d(np.asarray(trials, dtype=float))
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1]; got {fraction!r}")
    windows = {}
    for i, row in enumerate(data):
        level = float(np.mean(row[row.size // 2:])) if plateau is None else plateau
        reached = np.nonzero(row >= fraction * level)[0]
        active = np.nonzero(row > 0)[0]
        if level > 0 and reached.size and active.size and reached[0] > active[0]:
            windows[i] = (int(active[0]), int(reached[0]))
    if not windows:
        raise ValueError("no trial grows from rest to the plateau")
    length = min(end - begin for begin, end in windows.values())
    if length < 6:
        raise ValueError(f"the growth window has {length} bins; need at least 6")
    rows = np.stack([data[i, end - length:end] for i, (_, end) in windows.items()])
    lag = max(2, min(max_lag, length // 3))
    return branching_ratio(rows, bin_ms=bin_ms, max_lag=lag, method="ts"), length
