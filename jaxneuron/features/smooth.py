"""Differentiable versions of the eFEL features (JAX), for losses under `jax.grad`,
`jax.vmap` and `jax.jit`.

Each tends to the exact feature (`jaxneuron.features.extract`, eFEL's definition) as
`smoothing` goes to zero:
- a threshold crossing is a step of $\\sigma((V - \\theta)/s)$, so the spike count is the
  sum of its downward steps (eFEL counts a spike when the voltage comes back below
  threshold) and the spikes are numbered by the running sum of its upward steps;
- the peak of spike k is a softmax over the samples of that spike, with temperature s (mV):
  its time and voltage are softmax-weighted means, which tend to the first maximum;
- the minimum during the stimulus (`sag_amplitude`) is a softmax-weighted mean with
  temperature s; the window means (`voltage_base`, `steady_state_voltage`,
  `ohmic_input_resistance`) are linear in the voltage and need no smoothing.

A feature that is undefined for the trace (eFEL returns None) is NaN here, chosen with
`jnp.where` so that the gradient of the defined ones stays finite. The spike onsets of
`AP_amplitude` and `AP_duration_half_width` (a dV/dt threshold, searched backwards) and the
first local minimum of `AHP_depth_abs` have no smooth form: asking for them is an error."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_int, check_real, is_concrete
from .inputs import (
    FEATURES,
    check_names,
    check_stimulus_current,
    check_trace,
    check_window,
    interpolate,
)

NO_SMOOTH_FORM = {
    "AP_amplitude": "its spike onset is where dV/dt last falls below a threshold, searched "
                    "backwards from the peak; use peak_voltage and voltage_base instead",
    "AP_duration_half_width": "it needs the spike onset and end from dV/dt thresholds; "
                              "use peak_voltage and the spike times instead",
    "AHP_depth_abs": "it is the first local minimum after each spike (eFEL's "
                     "first_min_element); use extract for it",
}
"""The features of `FEATURES` with no smooth version, and why."""

SMOOTH_FEATURES = tuple(name for name in FEATURES if name not in NO_SMOOTH_FORM)
"""The feature names `smooth` computes."""

_PRECISION = 1e-10  # eFEL's precision_threshold (ms), the end of voltage_base's window


def _masked_mean(mask, v):
    count = jnp.sum(mask)
    return jnp.where(count > 0, jnp.sum(jnp.where(mask, v, 0.0)) / jnp.maximum(count, 1),
                     jnp.nan)


def _soft_min(mask, v, s):
    logits = jnp.where(mask, -v / s, -jnp.inf)
    weights = jax.nn.softmax(jnp.where(jnp.any(mask), logits, 0.0))
    return jnp.where(jnp.any(mask), jnp.sum(weights * jnp.where(mask, v, 0.0)), jnp.nan)


class _Spikes:
    """Soft spikes of one trace: count, and per spike k < max_spikes its soft peak time,
    soft peak voltage and soft existence."""

    def __init__(self, t, v, threshold, s, max_spikes):
        above = jax.nn.sigmoid((v - threshold) / s)
        steps = jnp.diff(above)
        ups = jnp.concatenate([jnp.zeros(1, v.dtype), jax.nn.relu(steps)])
        number = jnp.cumsum(ups)  # which spike (1, 2, ...) a sample belongs to
        self.count = jax.nn.relu(jnp.sum(jax.nn.relu(-steps)) - above[0])
        k = jnp.arange(1, max_spikes + 1, dtype=v.dtype)[:, None]
        member = above[None, :] * jax.nn.relu(1.0 - jnp.abs(number[None, :] - k))
        some = member > 0
        logits = jnp.where(some, jnp.log(jnp.where(some, member, 1.0)) + v[None, :] / s,
                           -jnp.inf)
        logits = jnp.where(jnp.any(some, axis=-1, keepdims=True), logits, 0.0)
        weights = jax.nn.softmax(logits, axis=-1)
        self.times = weights @ t
        self.peaks = weights @ v
        self.exists = jnp.clip(self.count - k[:, 0] + 1.0, 0.0, 1.0)
        self.overflow = self.count > max_spikes + 0.5


def _spike_features(t, v, names, start, end, threshold, s, max_spikes, ignore_first_isi):
    sp = _Spikes(t, v, threshold, s, max_spikes)
    nan = jnp.nan
    out = {}
    inside = ((sp.times >= start) & (sp.times <= end)).astype(v.dtype) * sp.exists
    in_count = jnp.sum(inside)
    if "Spikecount" in names:
        out["Spikecount"] = sp.count
    if "time_to_first_spike" in names:
        out["time_to_first_spike"] = jnp.where(sp.count > 0.5, sp.times[0] - start, nan)
    if "peak_voltage" in names:
        out["peak_voltage"] = jnp.where((sp.exists > 0.5) & ~sp.overflow, sp.peaks, nan)
    if "mean_frequency" in names:
        following = jnp.concatenate([inside[1:], jnp.zeros(1, v.dtype)])
        last = inside * (1.0 - following)
        last_time = jnp.sum(last * sp.times) / jnp.maximum(jnp.sum(last), 1e-12)
        span = jnp.where(in_count > 0.5, last_time - start, -start)
        ok = (sp.count > 0.5) & (jnp.abs(span) > 0) & ~sp.overflow
        out["mean_frequency"] = jnp.where(ok, 1000.0 * in_count / jnp.where(ok, span, 1.0),
                                          nan)
    isis = jnp.diff(sp.times)
    if "ISI_CV" in names:
        weights = sp.exists[1:]
        if ignore_first_isi:
            weights = weights.at[0].set(0.0)
        total = jnp.sum(weights)
        ok = (total > 1.5) & ~sp.overflow
        mean = jnp.sum(weights * isis) / jnp.maximum(total, 1e-12)
        var = jnp.sum(weights * (isis - mean) ** 2) / jnp.where(ok, total - 1.0, 1.0)
        out["ISI_CV"] = jnp.where(ok, jnp.sqrt(jnp.where(ok, var, 1.0))
                                  / jnp.where(ok, mean, 1.0), nan)
    if "adaptation_index2" in names:
        before = jnp.concatenate([jnp.zeros(1, v.dtype), inside[:-1]])
        first = inside * (1.0 - before)
        pair = inside[1:] * inside[:-1] * (1.0 - first[:-1])  # ISI k -> k+1, not the first
        both = pair[1:] * pair[:-1]
        total = isis[1:] + isis[:-1]  # 0 between spikes that do not exist
        ratio = (isis[1:] - isis[:-1]) / jnp.where(both > 0, total, 1.0)
        ok = (in_count > 3.5) & (sp.count > 3.5) & ~sp.overflow
        out["adaptation_index2"] = jnp.where(
            ok, jnp.sum(both * ratio) / jnp.maximum(jnp.sum(both), 1e-12), nan)
    return out


def _subthreshold_features(t, v, names, start, end, s, current):
    out = {}
    nan = jnp.nan
    base = jnp.where(0.9 * start < start,
                     _masked_mean((t >= 0.9 * start) & (t - start < _PRECISION), v), nan)
    settled = _masked_mean((t >= end - 0.1 * (end - start)) & (t < end), v)
    if "voltage_base" in names:
        out["voltage_base"] = base
    if "steady_state_voltage" in names:
        out["steady_state_voltage"] = _masked_mean(t > end, v)
    if "sag_amplitude" in names:
        lowest = _soft_min((t >= start) & (t < jnp.minimum(end, t[-1])), v, s)
        out["sag_amplitude"] = jnp.where(settled - base <= 0, settled - lowest, nan)
    if "ohmic_input_resistance" in names:
        after = t > end
        stop = jnp.where(jnp.any(after), jnp.argmax(after), 0)
        index = jnp.arange(t.size)
        window = _masked_mean((index >= stop - 10) & (index < stop - 5), v)
        deflection = jnp.where(stop >= 10, window - _masked_mean(t < start, v), nan)
        out["ohmic_input_resistance"] = deflection / current
    return out


def smooth(time_ms, voltage_mv, names, *, stim_start: float, stim_end: float,
           smoothing: float = 1.0, threshold: float = -20.0,
           stimulus_current: float | None = None, interp_step: float | None = None,
           max_spikes: int = 32, ignore_first_isi: bool = True) -> dict:
    """Differentiable eFEL features of one trace (JAX), tending to `extract`'s values as
    `smoothing` goes to zero.

    Works under `jax.grad`, `jax.vmap` and `jax.jit` of `voltage_mv` (and `time_ms`, when
    `interp_step` is None). Use `jax.vmap` for a batch of traces.

    **Arguments:**
    - `time_ms`, `voltage_mv`: the trace, shape `(n,)` each (ms, mV), time strictly
      increasing.
    - `names`: a name or a sequence of names from `SMOOTH_FEATURES`.
    - `stim_start`, `stim_end`: the stimulus window (ms), Python numbers.
    - `smoothing`: s (mV), the width of the soft threshold and the temperature of the soft
      maxima and minima; smaller is closer to the exact value, with gradients only from
      samples within a few s of the threshold or the extremum.
    - `threshold`: spike detection threshold (mV).
    - `stimulus_current`: the step's amplitude (nA), for `ohmic_input_resistance`.
    - `interp_step`: None (default) uses the samples as they are (e.g. the simulation's
      save grid); a step (ms) interpolates first as eFEL does (`time_ms` must then be a
      concrete array, not traced).
    - `max_spikes`: how many spikes get a soft peak (static); the spike-time features and
      `peak_voltage` are NaN for a trace with more.
    - `ignore_first_isi`: eFEL's `ignore_first_ISI` (for `ISI_CV`).

    **Returns:** a dict from name to a JAX scalar (`peak_voltage`: shape `(max_spikes,)`,
    NaN after the last spike); NaN where the feature is undefined (where `extract` gives
    None).

    **Raises:** `ValueError` for an unknown name, a feature with no smooth form
    (`NO_SMOOTH_FORM`), a damaged concrete trace, a stimulus window outside it, or
    `ohmic_input_resistance` without a nonzero `stimulus_current`.
    """
    requested = (names,) if isinstance(names, str) else names
    for name in requested if isinstance(requested, list | tuple) else ():
        if isinstance(name, str) and name in NO_SMOOTH_FORM:
            raise ValueError(f"names: {name!r} has no smooth form ({NO_SMOOTH_FORM[name]}); "
                             f"smooth supports {list(SMOOTH_FEATURES)}")
    names = check_names(names, SMOOTH_FEATURES)
    start = check_real("stim_start", stim_start)
    end = check_real("stim_end", stim_end)
    s = check_real("smoothing", smoothing, gt=0)
    threshold = check_real("threshold", threshold)
    max_spikes = check_int("max_spikes", max_spikes, minimum=1)
    current = check_stimulus_current(names, stimulus_current)
    concrete = is_concrete(time_ms) and is_concrete(voltage_mv)
    if concrete:
        t_np, _ = check_trace(time_ms, voltage_mv)
        check_window(start, end, t_np[0], t_np[-1])
    elif is_concrete(time_ms):
        t_np = np.asarray(time_ms, dtype=float)
        check_window(start, end, t_np[0], t_np[-1])
    else:
        t_np = None
    if jnp.ndim(time_ms) != 1 or jnp.shape(voltage_mv) != jnp.shape(time_ms):
        raise ValueError(f"time_ms and voltage_mv must be 1-D of one length; got shapes "
                         f"{jnp.shape(time_ms)} and {jnp.shape(voltage_mv)} (vmap a batch)")
    if not start < end:
        raise ValueError(f"stim_end must be > stim_start ({start!r} ms); got {end!r}")
    v = jnp.asarray(voltage_mv)
    v = v if jnp.issubdtype(v.dtype, jnp.inexact) else v.astype(float)
    if interp_step is None:
        t = jnp.asarray(time_ms, dtype=v.dtype)
    else:
        if t_np is None:
            raise ValueError("time_ms must be a concrete array (not traced inside jit) when "
                             "interp_step is given; pass interp_step=None to use the samples")
        grid, _ = interpolate(t_np, np.zeros_like(t_np), interp_step)
        t = jnp.asarray(grid, dtype=v.dtype)
        v = jnp.interp(t, jnp.asarray(t_np, dtype=v.dtype), v)
    return _features(t, v, start, end, threshold, s, current, names=names,
                     max_spikes=max_spikes, ignore_first_isi=bool(ignore_first_isi))


@functools.partial(jax.jit, static_argnames=("names", "max_spikes", "ignore_first_isi"))
def _features(t, v, start, end, threshold, s, current, *, names, max_spikes,
              ignore_first_isi):
    """The features of one prepared trace, compiled once per set of names and shapes."""
    out = {}
    out.update(_spike_features(t, v, names, start, end, threshold, s, max_spikes,
                               ignore_first_isi))
    out.update(_subthreshold_features(t, v, names, start, end, s, current))
    return {name: out[name] for name in names}


__all__ = ["NO_SMOOTH_FORM", "SMOOTH_FEATURES", "smooth"]
