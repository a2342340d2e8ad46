"""Differentiable losses for `jaxneuron.fit` and `jaxneuron.inference.fit_restarts`.

Every loss here is a callable `loss(trace, target) -> scalar` (an `AbstractLoss`) that works
under `jax.jit`, `jax.grad` and `jax.vmap`, and checks its target before a fit starts
(`AbstractLoss.check_target`):

- `voltage_mse`, `voltage_mse_in(windows)`: mean squared voltage difference (mV²), over the
  whole save grid or only inside time windows (e.g. the subthreshold parts);
- `MultiscaleVoltageMSE`: the voltage MSE averaged over Gaussian-smoothed versions of the
  difference (several time scales): for spiking traces of conductance-based models, where
  the smoothed terms give a gradient to spikes that do not yet overlap their targets;
- `spike_time_mse`: the first k spike times against k target times (extra spikes ignored);
  `spike_match_mse`: every spike counts, missing and extra ones against a phantom spike at
  the end of the run;
- `SoftDTW` (and the function `soft_dtw`): soft dynamic time warping (Cuturi & Blondel
  2017) of optionally max-pooled voltage traces;
- `feature_zscores`, `feature_zscore_loss`: BluePyOpt's z-scores of electrophysiology
  features against experimental means and SDs, with a finite penalty where a feature is
  undefined.

`warn_if_spiking` tells the user when voltage MSE is the wrong loss for a target.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Mapping

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._checks import check_int, check_real, is_concrete
from .observed import check_observed
from .trace import Trace

__all__ = [
    "AbstractLoss",
    "MultiscaleVoltageMSE",
    "SoftDTW",
    "SpikeMatchMSE",
    "SpikeTimeMSE",
    "VoltageMSE",
    "feature_zscore_loss",
    "feature_zscores",
    "soft_dtw",
    "spike_match_mse",
    "spike_time_mse",
    "voltage_mse",
    "voltage_mse_in",
    "warn_if_spiking",
]


class AbstractLoss(eqx.Module):
    """A loss `loss(trace, target) -> scalar` that knows what target it takes.

    `check_target(trace, target, *, argument, t0, t1)` is called by `fit` before any
    simulation, with `trace` the shapes of one run (`jax.eval_shape` of `simulate`); it
    returns the target as the loss will use it or raises `ValueError` naming `argument`.
    The default accepts any target whose numeric arrays are finite.
    """

    def __call__(self, trace: Trace, target) -> jax.Array:
        """The loss (a scalar) of `trace` against `target`."""
        raise NotImplementedError

    def check_target(self, trace: Trace, target, *, argument: str, t0: float, t1: float):
        """Check `target` for this loss (see the class docstring)."""
        return check_numeric_target(argument, target)


def check_numeric_target(argument: str, target):
    """Check that every numeric array in `target` (any PyTree) is finite (`ValueError`
    naming `argument`); other leaves pass as they are. Returns `target`."""
    for leaf in jax.tree.leaves(target):
        if _is_numeric(leaf):
            check_observed(argument, leaf)
    return target


# ---------------------------------------------------------------- voltage


class VoltageMSE(AbstractLoss):
    """Mean squared difference (mV²) between the simulated voltage and a target voltage
    trace on the save grid, shape `(n_save,)`; with `windows`, only over the save times
    inside them (closed intervals `(start, end)` in ms, joined). Build windowed ones with
    `voltage_mse_in`."""

    windows: tuple[tuple[float, float], ...] | None = eqx.field(
        static=True, default=None, converter=lambda w: None if w is None else _as_windows(w))

    def __call__(self, trace: Trace, target) -> jax.Array:
        """The (windowed) voltage MSE, mV²."""
        squared = (trace.v - target) ** 2
        if self.windows is None:
            return jnp.mean(squared)
        mask = jnp.broadcast_to(self.mask(trace.ts), squared.shape)
        return jnp.sum(jnp.where(mask, squared, 0.0)) / jnp.sum(mask)

    def mask(self, ts) -> jax.Array:
        """Which save times `ts` (ms) lie in a window (all of them without windows)."""
        ts = jnp.asarray(ts)
        if self.windows is None:
            return jnp.ones(ts.shape, bool)
        slack = 1e-6 * (ts[..., -1:] - ts[..., :1])  # save times carry rounding
        inside = [(ts >= a - slack) & (ts <= b + slack) for a, b in self.windows]
        return jnp.any(jnp.stack(inside), axis=0)

    def check_target(self, trace: Trace, target, *, argument: str, t0: float, t1: float):
        """A finite 1-D voltage trace on the save grid; every window inside `[t0, t1]`
        holding at least one save time. Warns (`warn_if_spiking`) if the compared part of
        the target has spikes."""
        n_save = trace.v.shape[-1]
        target = check_observed(
            argument, target, shape=trace.v.shape,
            what=f"a 1-D voltage trace on the save grid, shape {trace.v.shape} for t1={t1} "
                 "and these dt/save_every")
        ts = np.linspace(t0, t1, n_save)
        keep = np.ones(n_save, bool)
        if self.windows is not None:
            for a, b in self.windows:
                if a < t0 or b > t1:
                    raise ValueError(f"windows: ({a:g}, {b:g}) ms lies outside the run "
                                     f"[t0, t1] = [{t0:g}, {t1:g}] ms")
            keep = np.asarray(self.mask(ts))
            for a, b in self.windows:
                if not np.any(np.asarray(VoltageMSE(((a, b),)).mask(ts))):
                    raise ValueError(f"windows: ({a:g}, {b:g}) ms holds no save time (the "
                                     f"save grid has a step of {ts[1] - ts[0]:g} ms)")
        warn_if_spiking(target, mask=keep, argument=argument)
        return target


def voltage_mse_in(windows) -> VoltageMSE:
    """Voltage MSE (mV²) restricted to time windows: one `(start, end)` pair or a sequence
    of them (ms, start < end, closed intervals on the save grid; overlaps count once), e.g.
    `voltage_mse_in([(0, 10), (60, 100)])` for the parts before and after a stimulus.

    **Raises:** `ValueError` for a window that is not a finite pair with start < end (and,
    when a fit checks its target, one outside the run or holding no save time).
    """
    return VoltageMSE(windows)


def _as_windows(windows) -> tuple[tuple[float, float], ...]:
    try:
        array = np.asarray(windows, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"windows must be (start, end) pairs in ms; got {windows!r}") from error
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != 2 or array.shape[0] == 0:
        raise ValueError(f"windows must be one (start, end) pair or a sequence of them (ms); "
                         f"got {windows!r}")
    pairs = []
    for a, b in array:
        if not (math.isfinite(a) and math.isfinite(b)) or not a < b:
            raise ValueError(f"windows: each must be finite with start < end (ms); got "
                             f"({a:g}, {b:g})")
        pairs.append((float(a), float(b)))
    return tuple(pairs)


voltage_mse = VoltageMSE()
"""Mean squared difference (mV²) between the simulated and the target voltage trace."""


class MultiscaleVoltageMSE(AbstractLoss):
    """The voltage MSE (mV²) averaged over time scales: for each scale s in `scales_ms`, the
    mean square of the difference `v - target` smoothed by a Gaussian of SD s (ms; 0: not
    smoothed), over the save times where the smoothing kernel fits inside the trace.

    Plain voltage MSE gives no gradient to a spike that does not yet overlap its target
    (moving it a little changes nothing) and many local minima; the smoothed terms see a
    spike's area some s away, so a fit from afar is pulled towards aligned spikes, while
    the unsmoothed term keeps the minimum where the traces match sample by sample. All
    terms are zero at a perfect match.

    **Arguments:**
    - `scales_ms`: the Gaussian SDs (ms, >= 0), e.g. `(0.0, 2.0, 8.0)`.
    - `dt_ms`: the spacing of the save grid (ms), which sets the kernels' lengths (static).
    """

    scales_ms: tuple[float, ...] = eqx.field(static=True)
    dt_ms: float = eqx.field(static=True)

    def __init__(self, scales_ms=(0.0, 2.0, 8.0), dt_ms: float = 0.1):
        if isinstance(scales_ms, int | float):
            scales_ms = (scales_ms,)
        scales = tuple(check_real("scales_ms", s, ge=0.0) for s in scales_ms)
        if not scales:
            raise ValueError("scales_ms must hold at least one scale (ms, >= 0)")
        self.scales_ms = scales
        self.dt_ms = check_real("dt_ms", dt_ms, gt=0.0)

    def kernel(self, scale: float) -> np.ndarray:
        """The normalised Gaussian of SD `scale` ms on the save grid, out to 3 SD."""
        half = int(math.ceil(3.0 * scale / self.dt_ms))
        x = np.arange(-half, half + 1) * self.dt_ms
        k = np.exp(-0.5 * (x / scale) ** 2)
        return k / k.sum()

    def __call__(self, trace: Trace, target) -> jax.Array:
        """The multiscale voltage MSE, mV²."""
        diff = trace.v - target
        terms = []
        for scale in self.scales_ms:
            if scale == 0.0:
                terms.append(jnp.mean(diff ** 2))
                continue
            k = jnp.asarray(self.kernel(scale), diff.dtype)
            if k.shape[0] > diff.shape[-1]:
                raise ValueError(f"scales_ms: {scale:g} ms needs {k.shape[0]} samples of "
                                 f"{self.dt_ms:g} ms; the trace has {diff.shape[-1]}")
            terms.append(jnp.mean(jnp.convolve(diff, k, mode="valid") ** 2))
        return sum(terms) / len(terms)

    def check_target(self, trace: Trace, target, *, argument: str, t0: float, t1: float):
        """A finite 1-D voltage trace on the save grid (spikes welcome)."""
        return check_observed(
            argument, target, shape=trace.v.shape,
            what=f"a 1-D voltage trace on the save grid, shape {trace.v.shape}")


def warn_if_spiking(v, *, mask=None, threshold: float = -20.0, drop: float = 10.0,
                    argument: str = "target", stacklevel: int | None = None) -> bool:
    """Warn (`UserWarning`, one line) if the voltage trace `v` (mV, `(n,)`) has spikes,
    which make voltage MSE the wrong loss (a small shift of a spike costs as much as
    missing it, so a fit drifts, e.g. a membrane time constant far from the truth).

    A spike is an upward crossing of `threshold` (mV; eFEL's default -20) or a fall of
    more than `drop` mV between two samples (the reset of an integrate-and-fire model);
    only pairs of samples both in `mask` (boolean `(n,)`, default all) count. The warning
    points at `stacklevel` (default: the first caller outside jaxneuron and Equinox).

    **Returns:** True if it warned.
    """
    v = np.asarray(v, dtype=float)
    both = np.ones(v.size - 1, bool) if mask is None else (mask[:-1] & mask[1:])
    crossings = np.sum(both & (v[:-1] < threshold) & (v[1:] >= threshold))
    resets = np.sum(both & (v[:-1] - v[1:] > drop))
    n = int(max(crossings, resets))
    if n == 0:
        return False
    warnings.warn(
        f"{argument}: the voltage trace has about {n} spike(s); voltage MSE is the wrong loss "
        "for spikes (it can pull parameters far off): use spike times "
        "(jaxneuron.losses.spike_match_mse), features (feature_zscore_loss), SoftDTW, or "
        "voltage_mse_in(windows) on the subthreshold parts", UserWarning,
        stacklevel=_outside_level() if stacklevel is None else stacklevel)
    return True


def _outside_level() -> int:
    """The `stacklevel` of the first frame outside jaxneuron and Equinox, for a warning
    issued by this module's caller (level 1)."""
    inside = (os.path.dirname(os.path.abspath(__file__)), os.path.dirname(eqx.__file__))
    frame, level = sys._getframe(2), 2
    while frame is not None and frame.f_code.co_filename.startswith(inside):
        frame, level = frame.f_back, level + 1
    return level


# ---------------------------------------------------------------- spike times


def _check_spike_target(trace: Trace, target, argument: str, min_length: int):
    capacity = trace.spike_times.shape[-1]
    if capacity == 0:
        raise ValueError(f"{argument}: the run records no spike times (SpikeRecord("
                         "times=False)); a spike-time loss needs them")
    target = check_observed(
        argument, target, ndim=1, min_length=min_length, max_length=capacity,
        what=f"a 1-D array of {min_length} to max_spikes={capacity} spike times (ms)")
    if np.any(np.diff(target) < 0):
        raise ValueError(f"{argument} spike times must be sorted (non-decreasing); got "
                         f"{target.tolist()}")
    return target


class SpikeTimeMSE(AbstractLoss):
    """Mean squared difference (ms²) between the first k simulated spike times and the k
    target spike times (ms, `(k,)`, 1 <= k <= `max_spikes`); extra simulated spikes are
    ignored. Use the instance `spike_time_mse`."""

    def __call__(self, trace: Trace, target) -> jax.Array:
        """The spike-time MSE, ms²."""
        target = jnp.asarray(target)
        times = trace.spike_times[..., : target.shape[-1]]
        times = jnp.where(jnp.isnan(times), trace.ts[..., -1:], times)
        return jnp.mean((times - target) ** 2)

    def check_target(self, trace: Trace, target, *, argument: str, t0: float, t1: float):
        """A finite, sorted 1-D array of 1 to `max_spikes` spike times."""
        return _check_spike_target(trace, target, argument, 1)


spike_time_mse = SpikeTimeMSE()
"""Mean squared difference (ms²) between the first k simulated spike times and the k
`target` spike times (ms, shape `(k,)`, k <= `max_spikes`). A spike the model does not
fire counts as one at the end of the run, so a missing spike costs more the earlier it
was due; extra spikes cost nothing (see `spike_match_mse`). Spike times are
differentiable with either spiking engine (`ClockSpiking` interpolates them inside the
step, `ExactSpiking` root-finds them)."""


class SpikeMatchMSE(AbstractLoss):
    """Spike-time loss that counts missing and extra spikes (ms²): the i-th simulated
    spike is matched with the i-th target spike; a target spike with no simulated partner
    (missing) and a simulated spike with no target partner (extra) are each matched with
    a phantom spike at the end of the run `T` (`trace.ts[-1]`), so

    $$L = \\frac{1}{\\max(k, 1)}\\Big[\\sum_{i<\\min(n,k)} (s_i - t_i)^2
        + \\sum_{i=n}^{k-1} (T - t_i)^2 + \\sum_{i=k}^{n-1} (T - s_i)^2\\Big]$$

    for n simulated and k target spikes. It is differentiable through the spike times
    (`trace.spike_times`, NaN-padded), pushes an extra spike towards the end of the run
    and a missing one into it, and is NaN when the spike buffer overflowed (the extra
    spikes beyond `max_spikes` are unknown: raise `max_spikes`). Use `spike_match_mse`."""

    def __call__(self, trace: Trace, target) -> jax.Array:
        """The matched spike-time loss, ms²."""
        target = jnp.asarray(target)
        k = target.shape[-1]
        end = trace.ts[..., -1:]
        times = jnp.where(jnp.isnan(trace.spike_times), end, trace.spike_times)
        matched = jnp.sum((times[..., :k] - target) ** 2, axis=-1)
        extra = jnp.sum((end - times[..., k:]) ** 2, axis=-1)
        value = (matched + extra) / max(k, 1)
        return jnp.where(trace.spikes_overflowed, jnp.nan, value)

    def check_target(self, trace: Trace, target, *, argument: str, t0: float, t1: float):
        """A finite, sorted 1-D array of 0 to `max_spikes` spike times."""
        return _check_spike_target(trace, target, argument, 0)


spike_match_mse = SpikeMatchMSE()
"""Spike-time loss (ms²) counting missing and extra spikes against a phantom spike at the
end of the run; see `SpikeMatchMSE`."""


# ---------------------------------------------------------------- soft-DTW


def soft_dtw(x, y, gamma: float) -> jax.Array:
    """Soft dynamic time warping between sequences `x` `(n,)` and `y` `(m,)` with squared
    differences as costs (Cuturi & Blondel 2017):
    $R_{ij} = (x_i - y_j)^2 + \\mathrm{softmin}_\\gamma(R_{i-1,j-1}, R_{i-1,j}, R_{i,j-1})$,
    $\\mathrm{softmin}_\\gamma(a) = -\\gamma \\log \\sum_k e^{-a_k/\\gamma}$; returns
    $R_{n-1,m-1}$ (units of the squared values). Tends to the exact DTW as `gamma` -> 0
    (within `gamma log 3` per step of the path). One `lax.scan` over the n + m - 1
    anti-diagonals, each computed at once; `jit`, `grad` and `vmap` work.

    **Raises:** `ValueError` if `gamma` is not a finite number > 0 or a sequence is not
    1-D and non-empty.
    """
    gamma = check_real("gamma", gamma, gt=0.0)
    x, y = jnp.asarray(x), jnp.asarray(y)
    for name, seq in (("x", x), ("y", y)):
        if seq.ndim != 1 or seq.shape[0] == 0:
            raise ValueError(f"{name} must be a non-empty 1-D sequence; got shape {seq.shape}")
    dtype = jnp.result_type(x, y, float)
    x, y = x.astype(dtype), y.astype(dtype)
    n, m = x.shape[0], y.shape[0]
    # Cells outside the matrix hold a large finite value, not inf, so no gradient is NaN.
    big = jnp.asarray(jnp.finfo(dtype).max / 1e6, dtype)
    rows = jnp.arange(n)

    def diagonal(carry, d):
        before, last = carry  # anti-diagonals d - 2 and d - 1, index i + 1 for row i
        cols = d - rows
        cost = (x - y[jnp.clip(cols, 0, m - 1)]) ** 2
        r = cost + _softmin(before[:-1], last[:-1], last[1:], gamma)
        r = jnp.where((cols >= 0) & (cols < m), r, big)
        return (last, jnp.concatenate([big[None], r])), None

    start = jnp.full(n + 1, big).at[0].set(0.0)  # R[-1, -1] = 0
    (_, final), _ = jax.lax.scan(diagonal, (start, jnp.full(n + 1, big)),
                                 jnp.arange(n + m - 1))
    return final[n]


def _softmin(a, b, c, gamma):
    stacked = jnp.stack([a, b, c])
    low = jnp.min(stacked, axis=0)
    return low - gamma * jnp.log(jnp.sum(jnp.exp(-(stacked - low) / gamma), axis=0))


def _max_pool(v, size: int):
    if size == 1:
        return v
    n = v.shape[-1]
    pad = -n % size
    v = jnp.concatenate([v, jnp.repeat(v[..., -1:], pad, axis=-1)], axis=-1)
    return jnp.max(v.reshape(*v.shape[:-1], -1, size), axis=-1)


class SoftDTW(AbstractLoss):
    """Soft-DTW loss between the simulated and a target voltage trace on the save grid
    (`(n_save,)`), each first max-pooled over `pool` samples (the last window padded with
    its edge value), as Jaxley fits recordings.

    **Fields:**
    - `gamma`: smoothing (mV², > 0); smaller is closer to exact DTW, larger is smoother.
    - `pool`: max-pooling window, samples (>= 1; 1 = none).
    - `divergence`: if True (default), the soft-DTW divergence
      $D(x, y) = \\mathrm{sdtw}(x, y) - \\frac12[\\mathrm{sdtw}(x, x) + \\mathrm{sdtw}(y, y)]$
      (Blondel, Mensch & Vert 2021), which is >= 0 and 0 only at x = y, so its minimum is
      the match; if False, plain soft-DTW (which can be negative and is not least at x = y).
    """

    gamma: float = eqx.field(static=True, default=1.0)
    pool: int = eqx.field(static=True, default=1)
    divergence: bool = eqx.field(static=True, default=True)

    def __check_init__(self):
        check_real("gamma", self.gamma, gt=0.0)
        check_int("pool", self.pool, 1)
        if not isinstance(self.divergence, bool):
            raise ValueError(f"divergence must be True or False; got {self.divergence!r}")

    def __call__(self, trace: Trace, target) -> jax.Array:
        """The soft-DTW (divergence) of the pooled traces, mV²."""
        x = _max_pool(trace.v, self.pool)
        y = _max_pool(jnp.asarray(target, x.dtype), self.pool)
        if not self.divergence:
            return soft_dtw(x, y, self.gamma)
        pairs = jax.vmap(lambda a, b: soft_dtw(a, b, self.gamma))(
            jnp.stack([x, x, y]), jnp.stack([y, x, y]))
        return pairs[0] - 0.5 * (pairs[1] + pairs[2])

    def check_target(self, trace: Trace, target, *, argument: str, t0: float, t1: float):
        """A finite 1-D voltage trace on the save grid."""
        return check_observed(
            argument, target, shape=trace.v.shape,
            what=f"a 1-D voltage trace on the save grid, shape {trace.v.shape}")


# ---------------------------------------------------------------- features


def feature_zscores(features: Mapping, targets_mean: Mapping, targets_sd: Mapping, *,
                    penalty: float = 250.0) -> dict[str, jax.Array]:
    """BluePyOpt's feature scores: `|value - mean| / sd` per feature (and per sweep or
    element, where a value is an array broadcasting with its mean and SD), and `penalty`
    where the simulated value is undefined (NaN or inf), with no NaN in the gradient.

    **Arguments:**
    - `features`: name -> simulated feature value (scalar or array, differentiable);
      names not in the targets are not scored.
    - `targets_mean`, `targets_sd`: name -> experimental mean and SD (same names; SD > 0,
      both finite), in the feature's unit.
    - `penalty`: the score of an undefined feature (finite, >= 0; BluePyOpt uses 250).

    **Returns:** name -> z-scores, shaped like the broadcast value.

    **Raises:** `ValueError` for mismatched names, a target name missing from `features`,
    an SD <= 0, a non-finite mean or SD, or a penalty that is not finite and >= 0.
    """
    penalty = check_real("penalty", penalty, ge=0.0)
    _check_feature_targets(features, targets_mean, targets_sd)
    scores = {}
    for name in targets_mean:
        value = jnp.asarray(features[name])
        mean, sd = jnp.asarray(targets_mean[name]), jnp.asarray(targets_sd[name])
        defined = jnp.isfinite(value)
        safe = jnp.where(defined, value, mean)  # the double-where: no NaN in the gradient
        scores[name] = jnp.where(defined, jnp.abs(safe - mean) / sd, penalty)
    return scores


def feature_zscore_loss(features: Mapping, targets_mean: Mapping, targets_sd: Mapping, *,
                        penalty: float = 250.0) -> jax.Array:
    """The sum of `feature_zscores` over features and sweeps (dimensionless; see there for
    the arguments). Use it in a `fit` loss as, e.g.,
    `loss=lambda trace, target: feature_zscore_loss(my_features(trace), *target)` with
    `target = (means, sds)`."""
    scores = feature_zscores(features, targets_mean, targets_sd, penalty=penalty)
    return sum(jnp.sum(z) for z in scores.values())


def _check_feature_targets(features, means, sds) -> None:
    for name, value in (("features", features), ("targets_mean", means),
                        ("targets_sd", sds)):
        if not isinstance(value, Mapping) or not value:
            raise ValueError(f"{name} must be a non-empty dict of feature name -> value; "
                             f"got {type(value).__name__}")
    if set(means) != set(sds):
        raise ValueError(f"targets_mean and targets_sd must name the same features; only in "
                         f"targets_mean: {sorted(set(means) - set(sds))}, only in "
                         f"targets_sd: {sorted(set(sds) - set(means))}")
    missing = sorted(set(means) - set(features))
    if missing:
        raise ValueError(f"features has no value for the target feature(s) {missing}")
    for name in means:
        mean, sd = means[name], sds[name]
        if is_concrete(mean) and not np.all(np.isfinite(np.asarray(mean, dtype=float))):
            raise ValueError(f"targets_mean[{name!r}] must be finite; got {mean!r}")
        if is_concrete(sd):
            arr = np.asarray(sd, dtype=float)
            if not np.all(np.isfinite(arr) & (arr > 0)):
                raise ValueError(f"targets_sd[{name!r}] must be finite and > 0; got {sd!r}")
        try:
            np.broadcast_shapes(np.shape(features[name]), np.shape(mean), np.shape(sd))
        except ValueError as error:
            raise ValueError(f"features[{name!r}] of shape {np.shape(features[name])} does "
                             f"not broadcast with its mean {np.shape(mean)} and SD "
                             f"{np.shape(sd)}") from error


def _is_numeric(leaf) -> bool:
    if not is_concrete(leaf):
        return False
    try:
        np.asarray(leaf, dtype=float)
    except (TypeError, ValueError):
        return False
    return True
