"""Summary statistics of a voltage trace under a step stimulus, as pure JAX functions.

These are the features of the `sbi` Hodgkin–Huxley example (Gonçalves et al. 2020, eLife
9:e56261): spike count, resting mean and standard deviation, and the mean, variance,
skewness and kurtosis of V during the stimulus, plus the shape of the first spike (from
`analysis.excitability`). Every function
takes the save times `ts` (ms) and voltages `v` (mV) of one trace, shape `(n_save,)`, uses
masks instead of boolean indexing (fixed shapes), and so works under `jit`, `vmap` and
inside `jaxneuron.sweep(summary=HHSummaries(...))`.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import check_real, is_concrete
from ..trace import Trace
from .excitability import spike_shape_from_voltage
from .spikes import crossing_time

SBI_HH_NAMES = ("n_spikes", "rest_mean", "rest_std", "stim_mean", "stim_var",
                "stim_skewness", "stim_kurtosis")
SHAPE_NAMES = ("first_spike_latency", "threshold_mv", "peak_mv", "half_width_ms",
               "ahp_depth_mv")


def _masked_mean(x, mask):
    return jnp.sum(jnp.where(mask, x, 0.0)) / jnp.maximum(jnp.sum(mask), 1)


def resting_stats(ts: Float[Array, " n"], v: Float[Array, " n"], t_on: float
                  ) -> dict[str, Float[Array, ""]]:
    """Resting potential before the stimulus, as in the sbi example: `rest_mean` (mV), the
    mean of V over `ts < t_on`, and `rest_std` (mV), the standard deviation of V over the
    last tenth of that period, `0.9 t_on <= ts < t_on`. NaN if no sample lies there."""
    before = ts < t_on
    late = before & (ts >= 0.9 * t_on)
    mean = jnp.where(jnp.any(before), _masked_mean(v, before), jnp.nan)
    late_mean = _masked_mean(v, late)
    std = jnp.sqrt(_masked_mean((v - late_mean) ** 2, late))
    return {"rest_mean": mean, "rest_std": jnp.where(jnp.any(late), std, jnp.nan)}


def stimulus_moments(ts: Float[Array, " n"], v: Float[Array, " n"], t_on: float, t_off: float
                     ) -> dict[str, Float[Array, ""]]:
    """Moments of V over `t_on < ts < t_off`: `stim_mean` (mV), `stim_var` (mV², population
    variance), `stim_skewness` $m_3/m_2^{3/2}$ and `stim_kurtosis` $m_4/m_2^2$ (not excess;
    3 for a Gaussian). Skewness and kurtosis are NaN for a constant trace."""
    inside = (ts > t_on) & (ts < t_off)
    mean = _masked_mean(v, inside)
    centred = v - mean
    m2 = _masked_mean(centred**2, inside)
    m3 = _masked_mean(centred**3, inside)
    m4 = _masked_mean(centred**4, inside)
    return {"stim_mean": mean, "stim_var": m2, "stim_skewness": m3 / m2**1.5,
            "stim_kurtosis": m4 / m2**2}


def spike_features(ts: Float[Array, " n"], v: Float[Array, " n"], t_on: float, t_off: float,
                   threshold: float = -10.0) -> dict[str, Float[Array, ""]]:
    """Spikes during the stimulus: upward crossings of `threshold` (mV) at times inside
    `(t_on, t_off)` (linearly interpolated, see `analysis.spikes.crossing_time`).

    **Returns:** `n_spikes` (count), `first_spike_latency` (ms after `t_on`; `t_off - t_on`
    without spikes) and `t_first`, `t_second` (ms, crossing times of the first two spikes in
    the window; NaN and inf when missing).
    """
    t_cross, crossed = crossing_time(ts[:-1], v[:-1], ts[1:], v[1:], threshold)
    counted = crossed & (t_cross > t_on) & (t_cross < t_off)
    n_spikes = jnp.sum(counted)
    first = jnp.min(jnp.where(counted, t_cross, jnp.inf))
    second = jnp.min(jnp.where(counted & (t_cross > first), t_cross, jnp.inf))
    return {"n_spikes": n_spikes.astype(v.dtype),
            "first_spike_latency": jnp.where(n_spikes > 0, first, t_off) - t_on,
            "t_first": jnp.where(n_spikes > 0, first, jnp.nan), "t_second": second}


def first_spike_shape(ts: Float[Array, " n"], v: Float[Array, " n"], t_on: float,
                      t_off: float, threshold: float = -10.0) -> dict[str, Float[Array, ""]]:
    """Shape of the first action potential during the stimulus (`SHAPE_NAMES`), from
    `analysis.excitability.spike_shape_from_voltage` (threshold by dV/dt, parabolic peak,
    half width, after-hyperpolarisation depth), plus its latency after `t_on` (ms). The
    shape features are NaN when the cell does not fire; they need a fine save grid."""
    spikes = spike_features(ts, v, t_on, t_off, threshold)
    shape = spike_shape_from_voltage(ts, v, spikes["t_first"], spikes["t_second"])
    return {"first_spike_latency": spikes["first_spike_latency"],
            **{k: shape[k] for k in SHAPE_NAMES[1:]}}


def hh_summary_statistics(ts: Float[Array, " n"], v: Float[Array, " n"], *, t_on: float,
                          t_off: float, threshold: float = -10.0, shape: bool = False
                          ) -> dict[str, Float[Array, ""]]:
    """The sbi Hodgkin–Huxley summary statistics of one trace (names `SBI_HH_NAMES`), plus
    the spike-shape features (`SHAPE_NAMES`) when `shape` is True. `t_on`, `t_off`: the
    stimulus window (ms); `threshold`: spike threshold (mV)."""
    stats = {"n_spikes": spike_features(ts, v, t_on, t_off, threshold)["n_spikes"],
             **resting_stats(ts, v, t_on), **stimulus_moments(ts, v, t_on, t_off)}
    if shape:
        stats.update(first_spike_shape(ts, v, t_on, t_off, threshold))
    return stats


class HHSummaries(eqx.Module):
    """`summary(trace) -> dict` for `jaxneuron.sweep`: `hh_summary_statistics` of the
    trace's `(ts, v)` over the stimulus window `(t_on, t_off)` (ms).

    Pass a save grid to the sweep (`save_every=...`): with the sweep's default of saving
    only the end points there is nothing to summarise.
    """

    t_on: float
    t_off: float
    threshold: float = -10.0
    shape: bool = eqx.field(default=False, static=True)

    def __check_init__(self):
        values = (self.t_on, self.t_off, self.threshold)
        if all(is_concrete(x) for x in values):
            t_on, t_off = check_real("t_on", self.t_on), check_real("t_off", self.t_off)
            check_real("threshold", self.threshold)
            if not t_off > t_on:
                raise ValueError(f"t_off must be > t_on (the stimulus window, ms); got "
                                 f"t_on={t_on:g}, t_off={t_off:g}")
        if not isinstance(self.shape, bool):
            raise ValueError(f"shape must be True or False; got {self.shape!r}")

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the statistics, in the order of `vector`."""
        return SBI_HH_NAMES + (SHAPE_NAMES if self.shape else ())

    def __call__(self, trace: Trace) -> dict[str, Float[Array, ""]]:
        return self.from_voltage(trace.ts, trace.v)

    def from_voltage(self, ts, v) -> dict[str, Float[Array, ""]]:
        """The statistics of a sampled trace `(ts, v)`, each `(n_save,)`."""
        return hh_summary_statistics(ts, v, t_on=self.t_on, t_off=self.t_off,
                                     threshold=self.threshold, shape=self.shape)

    def vector(self, ts, v) -> Float[Array, " n_stats"]:
        """The statistics of `(ts, v)` stacked in the order of `names`; `v` may carry leading
        batch axes `(..., n_save)`."""
        def one(v1):
            stats = self.from_voltage(ts, v1)
            return jnp.stack([stats[k] for k in self.names])

        v = jnp.asarray(v)
        flat = v.reshape(-1, v.shape[-1])
        return jax.vmap(one)(flat).reshape(*v.shape[:-1], len(self.names))
