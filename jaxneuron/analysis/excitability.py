"""Excitability of any neuron model under current steps: f-I curves, rheobase and the shape
of the action potential.

Two kinds of function live here:
- per-trace features, pure JAX (`sustained_rate`, `initial_rate`, `nth_spike_after`,
  `step_response`, `spike_shape`, `spike_shape_from_voltage`, `aligned_waveform`): they
  work under `jit` and `vmap`, can be passed to `jaxneuron.sweep` as (parts of) its
  `summary`, and the rates are differentiable through the spike times (with
  `simulate(..., engine=ExactSpiking())`, d rate / d parameter is exact);
- drivers built on `jaxneuron.sweep` (`fi_curve`, `rheobase`, `rheobases`): each f-I
  curve, and each search round, is one vmapped sweep over (parameter value, step
  amplitude) pairs. They run on the host (NumPy in, NumPy out) and are not themselves
  `jit`-able or differentiable.

Nothing here knows which model it drives: any `AbstractNeuron` works, in the current unit
that model states (µA/cm² for Hodgkin–Huxley, nA for LIF, pA for AdEx, ...).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._checks import check_int, check_real, is_concrete
from ..models.base import AbstractNeuron
from ..stimuli import StepCurrent
from ..sweep import sweep
from ..trace import Trace
from .spikes import crossing_time, spike_count, steady_firing_rate

CRITERIA = ("spike", "repetitive")
MAX_RATE_HZ = 500.0  # rate that sizes the default spike buffer of `fi_curve` and `rheobase`


# ---------------------------------------------------------------------------------------
# per-trace features (pure JAX)


def sustained_rate(spike_times: Float[Array, "*batch max_spikes"], t_start, t_stop,
                   n_last: int = 3, stop_factor: float = 1.5) -> Float[Array, "*batch"]:
    """Steady firing rate (Hz) of firing that lasts until `t_stop` (ms).

    Only spikes at `t_start <= t < t_stop` count. The rate is 1000 / the mean of the last
    `n_last` interspike intervals (`analysis.steady_firing_rate`); it is 0 when fewer than
    `n_last + 1` spikes fall in the window, or when firing stopped: the last spike lies
    more than `stop_factor` mean intervals before `t_stop` (a transient burst, such as the
    few spikes Hodgkin–Huxley fires just below its repetitive-firing threshold). Rates
    below about `1000 (n_last + 1) / (t_stop - t_start)` Hz cannot be seen.

    **Raises:** `ValueError` unless `n_last` is an int >= 1 and a concrete `stop_factor`
    a finite number > 0.
    """
    if not isinstance(n_last, jax.Array):  # a JAX array (traced or not) is the caller's
        n_last = check_int("n_last", n_last, 1)
    if is_concrete(stop_factor):
        check_real("stop_factor", stop_factor, gt=0)
    inside = (spike_times >= t_start) & (spike_times < t_stop)
    times = jnp.where(inside, spike_times, jnp.nan)
    rate = steady_firing_rate(times, n_last=n_last)
    last = jnp.max(jnp.where(inside, spike_times, -jnp.inf), axis=-1)
    ongoing = (t_stop - last) * rate / 1000.0 <= stop_factor
    return jnp.where(jnp.isfinite(rate) & ongoing, rate, 0.0)


def step_response(trace: Trace, *, t_start: float | None = None, n_last: int = 3
                  ) -> dict[str, Float[Array, ""]]:
    """Firing of one trace in response to a step switched on at `t_start` (ms; default the
    start of the run, `trace.ts[0]`) and held to the end of the trace. A `summary` for
    `jaxneuron.sweep` (jit/vmap safe).

    **Returns:** `n_spikes` (spikes at `t >= t_start`, overflow included), `rate_hz` (the
    `sustained_rate`, 0 without sustained firing), `mean_rate_hz` (count / window),
    `latency_ms` (first spike after `t_start`, NaN if none) and `overflowed` (1.0 when the
    spike buffer was too small, so `rate_hz` is unreliable).
    """
    t_stop = trace.ts[-1]
    t_start = trace.ts[0] if t_start is None else t_start
    before = spike_count(trace.spike_times, -jnp.inf, t_start)
    n_after = trace.n_spikes - before
    after = trace.spike_times >= t_start
    first = jnp.min(jnp.where(after, trace.spike_times, jnp.inf))
    dtype = trace.v.dtype
    return {
        "n_spikes": n_after.astype(dtype),
        "rate_hz": sustained_rate(trace.spike_times, t_start, t_stop, n_last),
        "mean_rate_hz": 1000.0 * n_after / (t_stop - t_start),
        "latency_ms": jnp.where(jnp.isfinite(first), first - t_start, jnp.nan),
        "overflowed": trace.spikes_overflowed.astype(dtype),
    }


def nth_spike_after(spike_times: Float[Array, " max_spikes"], t_start, n: int = 0
                    ) -> Float[Array, ""]:
    """Time (ms) of the `n`-th spike (0 = first) at or after `t_start`; NaN if there is none.
    **Raises:** `ValueError` unless `n` is an int >= 0."""
    if not isinstance(n, jax.Array):
        n = check_int("n", n, 0)
    after = spike_times >= t_start
    chosen = after & (jnp.cumsum(after) == n + 1)
    return jnp.where(jnp.any(chosen), jnp.sum(jnp.where(chosen, spike_times, 0.0)), jnp.nan)


def initial_rate(spike_times: Float[Array, " max_spikes"], t_start) -> Float[Array, ""]:
    """Rate (Hz) from the first interspike interval after `t_start` (ms): 1000 / (t_2 - t_1).
    Compared with `sustained_rate` it measures adaptation. NaN with fewer than two spikes."""
    return 1000.0 / (nth_spike_after(spike_times, t_start, 1)
                     - nth_spike_after(spike_times, t_start, 0))


SHAPE_FEATURES = ("threshold_mv", "threshold_ms", "peak_mv", "peak_ms", "amplitude_mv",
                  "half_width_ms", "ahp_mv", "ahp_depth_mv", "max_dvdt", "min_dvdt")


@jax.jit
def spike_shape_from_voltage(ts: Float[Array, " n"], v: Float[Array, " n"], t_spike,
                             t_next=jnp.inf, *, dvdt_threshold: float = 20.0,
                             before: float = 3.0, after: float = 10.0
                             ) -> dict[str, Float[Array, ""]]:
    """Shape of the action potential that crosses the detection level at `t_spike` (ms), from
    a finely sampled voltage trace `(ts, v)` (ms, mV; shapes `(n,)`).

    The spike's window runs from `t_spike - before` to `min(t_spike + after, t_next)`, with
    `t_next` the next spike (ms; `inf` if none). Derivatives are first differences at the
    interval midpoints; crossings are linearly interpolated, extrema refined by a parabola
    through three samples, so features are accurate to O(dt²) for smooth waveforms.

    **Returns** (NaN when `t_spike` is NaN or a feature is not found):
    - `threshold_mv`, `threshold_ms`: V and time where dV/dt last rises through
      `dvdt_threshold` (mV/ms; 20 is the Allen Cell Types detection cut-off) before the peak;
    - `peak_mv`, `peak_ms`: the maximum of V after `t_spike` in the window;
    - `amplitude_mv`: peak minus threshold;
    - `half_width_ms`: width at half amplitude (half-way between threshold and peak);
    - `ahp_mv`: the trough after the peak in the window; `ahp_depth_mv`: threshold minus
      trough (> 0 when the after-hyperpolarisation dips below threshold);
    - `max_dvdt`, `min_dvdt`: fastest rise and fall in the window, mV/ms.

    Pure JAX: works under `jit` and `vmap`; gradients with respect to `v` flow through the
    interpolated values (not through the choice of sample). Meant for models whose trace
    contains the action potential (conductance-based models), not threshold-and-reset ones.
    A current step makes dV/dt jump by I / C at its onset: keep `dvdt_threshold` above that
    jump, or a spike fired right at the onset gets the onset as its threshold.
    """
    t_end = jnp.minimum(t_spike + after, t_next)
    t_begin = t_spike - before
    in_window = (ts >= t_begin) & (ts <= t_end)
    index = jnp.arange(ts.shape[0])

    # peak: the largest sample at or after t_spike, refined by a parabola
    i_peak = jnp.argmax(jnp.where(in_window & (ts >= t_spike), v, -jnp.inf))
    t_peak, v_peak = _parabolic_extremum(ts, v, i_peak)

    # threshold: last upward crossing of dvdt_threshold before the peak
    tm = 0.5 * (ts[1:] + ts[:-1])
    vm = 0.5 * (v[1:] + v[:-1])
    dvdt = jnp.diff(v) / jnp.diff(ts)
    t_cross, crossed = crossing_time(tm[:-1], dvdt[:-1], tm[1:], dvdt[1:], dvdt_threshold)
    candidates = crossed & (tm[:-1] >= t_begin) & (tm[1:] <= t_peak)
    i_thr = jnp.max(jnp.where(candidates, index[:-2], -1))
    found_thr = i_thr >= 0
    i_thr = jnp.maximum(i_thr, 0)
    frac = (t_cross[i_thr] - tm[i_thr]) / (tm[i_thr + 1] - tm[i_thr])
    v_thr = jnp.where(found_thr, vm[i_thr] + frac * (vm[i_thr + 1] - vm[i_thr]), jnp.nan)
    t_thr = jnp.where(found_thr, t_cross[i_thr], jnp.nan)

    # half width: last upward crossing of the half level before the peak, first downward after
    v_half = 0.5 * (v_thr + v_peak)
    t_up, up = crossing_time(ts[:-1], v[:-1], ts[1:], v[1:], v_half)
    t_down, down = crossing_time(ts[:-1], -v[:-1], ts[1:], -v[1:], -v_half)
    rise = jnp.max(jnp.where(up & (ts[:-1] >= t_begin) & (ts[1:] <= t_peak), t_up, -jnp.inf))
    fall = jnp.min(jnp.where(down & (ts[:-1] >= t_peak) & (ts[1:] <= t_end), t_down, jnp.inf))
    half_width = fall - rise

    # after-hyperpolarisation: the trough after the peak
    i_ahp = jnp.argmin(jnp.where(in_window & (ts > t_peak), v, jnp.inf))
    has_ahp = jnp.any(in_window & (ts > t_peak))
    _, v_ahp = _parabolic_extremum(ts, v, i_ahp)

    window_mid = (tm >= t_begin) & (tm <= t_end)
    features = {
        "threshold_mv": v_thr,
        "threshold_ms": t_thr,
        "peak_mv": v_peak,
        "peak_ms": t_peak,
        "amplitude_mv": v_peak - v_thr,
        "half_width_ms": jnp.where(jnp.isfinite(half_width), half_width, jnp.nan),
        "ahp_mv": jnp.where(has_ahp, v_ahp, jnp.nan),
        "ahp_depth_mv": jnp.where(has_ahp, v_thr - v_ahp, jnp.nan),
        "max_dvdt": jnp.max(jnp.where(window_mid, dvdt, -jnp.inf)),
        "min_dvdt": jnp.min(jnp.where(window_mid, dvdt, jnp.inf)),
    }
    missing = jnp.isnan(t_spike) | ~jnp.any(in_window & (ts >= t_spike))
    return {k: jnp.where(missing, jnp.nan, x) for k, x in features.items()}


def spike_shape(trace: Trace, *, t_start: float = -jnp.inf, n: int = 0,
                dvdt_threshold: float = 20.0, before: float = 3.0, after: float = 10.0
                ) -> dict[str, Float[Array, ""]]:
    """`spike_shape_from_voltage` of the `n`-th spike (0 = first) at or after `t_start` (ms)
    of a `Trace` saved on a fine grid (`save_every` of about 0.025 ms or less). Its window
    ends at the next spike. A `summary` for `jaxneuron.sweep` (jit/vmap safe)."""
    t_spike = nth_spike_after(trace.spike_times, t_start, n)
    t_next = nth_spike_after(trace.spike_times, t_start, n + 1)
    return spike_shape_from_voltage(trace.ts, trace.v, t_spike,
                                    jnp.where(jnp.isnan(t_next), jnp.inf, t_next),
                                    dvdt_threshold=dvdt_threshold, before=before, after=after)


def aligned_waveform(ts: Float[Array, " n"], v: Float[Array, " n"], t_spike,
                     offsets: Float[Array, " k"]) -> Float[Array, " k"]:
    """V (mV) at `t_spike + offsets` (ms), linearly interpolated: spikes aligned for overlay
    plots. NaN where `t_spike` is NaN or outside the trace."""
    t = t_spike + offsets
    inside = (t >= ts[0]) & (t <= ts[-1])
    return jnp.where(inside, jnp.interp(t, ts, v), jnp.nan)


def _parabolic_extremum(ts, v, i):
    """Time and value of the vertex of the parabola through samples i-1, i, i+1 (clipped to
    the sample when it is at an end of the trace or the samples are collinear)."""
    n = ts.shape[0]
    j = jnp.clip(i, 1, n - 2)
    y0, y1, y2 = v[j - 1], v[j], v[j + 1]
    curvature = y0 - 2.0 * y1 + y2
    safe = (i == j) & (jnp.abs(curvature) > 0)
    shift = jnp.where(safe, 0.5 * (y0 - y2) / jnp.where(safe, curvature, 1.0), 0.0)
    shift = jnp.clip(shift, -0.5, 0.5)
    step = 0.5 * (ts[j + 1] - ts[j - 1])
    t = jnp.where(safe, ts[j] + shift * step, ts[i])
    value = jnp.where(safe, y1 - 0.25 * (y0 - y2) * shift, v[i])
    return t, value


# ---------------------------------------------------------------------------------------
# drivers built on `sweep`


@dataclasses.dataclass
class FICurve:
    """Firing rate against step amplitude, per parameter set.

    **Fields:**
    - `amplitudes`: step amplitudes `(n_amplitudes,)`, in the model's current unit.
    - `params`: model field name -> values `(n_values,)` (empty dict: the model as given,
      `n_values = 1`).
    - `rate_hz`: sustained steady rate `(n_values, n_amplitudes)` (`sustained_rate`).
    - `summaries`: every summary of the sweep, each `(n_values, n_amplitudes, ...)`
      (`step_response` keys plus those of `extra_summary`).
    - `ok`: `(n_values, n_amplitudes)`, False where the simulation failed.
    """

    amplitudes: np.ndarray
    params: dict[str, np.ndarray]
    rate_hz: np.ndarray
    summaries: dict[str, np.ndarray]
    ok: np.ndarray

    def rows(self) -> list[dict]:
        """One dict per (parameter set, amplitude) with the scalar summaries, for CSV."""
        rows = []
        scalar = {k: v for k, v in self.summaries.items() if v.ndim == 2}
        for i in range(self.rate_hz.shape[0]):
            for j, amplitude in enumerate(self.amplitudes):
                row = {k: float(v[i]) for k, v in self.params.items()}
                row["amplitude"] = float(amplitude)
                row.update({k: float(v[i, j]) for k, v in scalar.items()})
                row["ok"] = bool(self.ok[i, j])
                rows.append(row)
        return rows


def fi_curve(model: AbstractNeuron, amplitudes, *, params: dict | None = None,
             duration: float = 500.0, delay: float = 0.0, n_last: int = 3,
             extra_summary: Callable[[Trace], dict] | None = None,
             max_spikes: int | None = None, progress: bool = False,
             **simulate_kwargs) -> FICurve:
    """f-I curves: the sustained firing rate (Hz) of `model` under current steps of each
    amplitude, for each parameter set, as ONE vmapped `jaxneuron.sweep` over the grid
    (parameter set x amplitude).

    The step switches on at `delay` (ms; time for a model whose parameters move its rest to
    settle) and lasts `duration` ms to the end of the run. Spikes before `delay` are ignored.

    **Arguments:**
    - `model`: any `AbstractNeuron`; unswept fields keep their values.
    - `amplitudes`: `(n_amplitudes,)` step amplitudes in the model's current unit.
    - `params`: model field name -> values `(n_values,)`, zipped (not crossed) with each
      other and crossed with `amplitudes`.
    - `n_last`: interspike intervals averaged for the steady rate (`sustained_rate`).
    - `extra_summary`: `trace -> dict` of further JAX summaries per run (e.g. `spike_shape`;
      pass `save_every` for those that need the voltage trace).
    - `max_spikes`: spike buffer per run; default enough for 500 Hz.
    - `simulate_kwargs`: passed through `sweep` to `simulate` (`dt`, `solver`, `spiking`,
      `chunk_size`, `save_every`, ...).

    **Returns:** an `FICurve`. Runs whose spike buffer overflowed get a warning.

    **Raises:** `ValueError` for empty, non-1-D or non-finite `amplitudes` or `params`
    values, mismatched lengths, `duration <= 0`, `delay < 0`, unknown parameter names.
    """
    amplitudes = _vector("amplitudes", amplitudes)
    values = _parameter_columns(params)
    _check_timing(duration, delay, n_last)
    n_values = len(next(iter(values.values()))) if values else 1
    columns = {k: np.repeat(v, amplitudes.size) for k, v in values.items()}
    summaries, ok = _step_sweep(model, columns, np.tile(amplitudes, n_values), duration,
                                delay, n_last, extra_summary, max_spikes, progress,
                                simulate_kwargs)
    shape = (n_values, amplitudes.size)
    summaries = {k: v.reshape(shape + v.shape[1:]) for k, v in summaries.items()}
    return FICurve(amplitudes=amplitudes, params=values, rate_hz=summaries["rate_hz"],
                   summaries=summaries, ok=ok.reshape(shape))


@dataclasses.dataclass
class Rheobase:
    """The result of `rheobase`, one entry per parameter set.

    **Fields:** `current` (midpoint of the final bracket), `low` (highest tested amplitude
    that did not fire), `high` (lowest tested amplitude that fired), `onset_rate_hz` (the
    sustained rate at `high`: near 0 for type I, finite for type II excitability), each
    `(n_values,)` and NaN where the initial bracket did not bracket; `params`, `criterion`,
    and `n_simulations` (runs in all rounds of the search, all criteria together).
    """

    current: np.ndarray
    low: np.ndarray
    high: np.ndarray
    onset_rate_hz: np.ndarray
    params: dict[str, np.ndarray]
    criterion: str
    n_simulations: int


def rheobase(model: AbstractNeuron, *, low, high, params: dict | None = None,
             criterion: str = "spike", n_points: int = 8, rounds: int = 3,
             duration: float = 500.0, delay: float = 0.0, n_last: int = 3,
             max_spikes: int | None = None, progress: bool = False,
             **simulate_kwargs) -> Rheobase:
    """The smallest step amplitude that makes `model` fire, by k-section search: each round
    is one vmapped `sweep` over `n_points` amplitudes inside every parameter set's bracket,
    which shrinks the bracket `n_points + 1`-fold (final width
    `(high - low) / (n_points + 1) ** rounds`).

    **Arguments:**
    - `low`, `high`: the initial bracket, scalars or `(n_values,)` (model current unit).
      The first round also runs both ends: sets where `low` fires or `high` does not get
      NaN (with a warning). Non-finite entries are skipped (NaN).
    - `criterion`: `"spike"` (at least one spike during the step: the classical rheobase)
      or `"repetitive"` (sustained firing to the end of the step, see `sustained_rate`:
      the onset of the f-I curve).
    - `params`, `duration`, `delay`, `n_last`, `max_spikes`, `simulate_kwargs`: as in
      `fi_curve`.

    Assumes firing is monotone in the amplitude inside the bracket (the first firing point
    of each round is taken). `rheobases` searches several criteria in the same sweeps.

    **Returns:** a `Rheobase`.

    **Raises:** `ValueError` for an unknown `criterion`, `n_points` or `rounds` < 1,
    `low >= high` where both are finite, or the errors of `fi_curve`.
    """
    return rheobases(model, {criterion: (low, high)}, params=params, n_points=n_points,
                     rounds=rounds, duration=duration, delay=delay, n_last=n_last,
                     max_spikes=max_spikes, progress=progress, **simulate_kwargs)[criterion]


def rheobases(model: AbstractNeuron, brackets: dict[str, tuple], *, params: dict | None = None,
              n_points: int = 8, rounds: int = 3, duration: float = 500.0, delay: float = 0.0,
              n_last: int = 3, max_spikes: int | None = None, progress: bool = False,
              **simulate_kwargs) -> dict[str, Rheobase]:
    """`rheobase` for several criteria at once, all searched in one sweep per round.

    `brackets` maps each criterion (`CRITERIA`) to its initial `(low, high)`; the other
    arguments are those of `rheobase`. **Returns:** criterion -> `Rheobase`.
    """
    if not brackets:
        raise ValueError("brackets must name at least one criterion")
    unknown = [c for c in brackets if c not in CRITERIA]
    if unknown:
        raise ValueError(f"criterion must be one of {CRITERIA}; got {unknown}")
    n_points, rounds = check_int("n_points", n_points, 1), check_int("rounds", rounds, 1)
    values = _parameter_columns(params)
    _check_timing(duration, delay, n_last)
    n_values = len(next(iter(values.values()))) if values else 1
    names = list(brackets)
    lo, hi = (np.concatenate([_bracket_end(brackets[c][k], n_values, ("low", "high")[k])
                              for c in names]) for k in (0, 1))
    active = np.isfinite(lo) & np.isfinite(hi)
    if np.any(lo[active] >= hi[active]):
        raise ValueError(f"low must be < high for every parameter set; got low={lo}, high={hi}")
    lo[~active], hi[~active] = np.nan, np.nan
    criterion = np.repeat(np.arange(len(names)), n_values)  # row -> criterion index
    set_index = np.tile(np.arange(n_values), len(names))     # row -> parameter set
    onset = np.full(lo.size, np.nan)
    n_simulations = 0
    for round_ in range(rounds):
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        fractions = np.linspace(0.0, 1.0, n_points + 2)
        if round_ > 0:
            fractions = fractions[1:-1]
        amps = lo[rows, None] + (hi - lo)[rows, None] * fractions[None, :]
        columns = {k: np.repeat(v[set_index[rows]], fractions.size) for k, v in values.items()}
        summaries, _ = _step_sweep(model, columns, amps.ravel(), duration, delay, n_last,
                                   None, max_spikes, progress, simulate_kwargs)
        n_simulations += amps.size
        spiked = summaries["n_spikes"].reshape(amps.shape) >= 1
        rates = summaries["rate_hz"].reshape(amps.shape)
        repetitive = (np.asarray(names)[criterion[rows]] == "repetitive")[:, None]
        fires = np.where(repetitive, rates > 0, spiked)
        if round_ == 0:
            bad = fires[:, 0] | ~fires[:, -1]
            for c in np.unique(criterion[rows[bad]]):
                which = rows[bad & (criterion[rows] == c)]
                warnings.warn(f"rheobase: the bracket [low, high] does not bracket the "
                              f"'{names[c]}' threshold for parameter set(s) "
                              f"{set_index[which].tolist()}; their rheobase is NaN",
                              RuntimeWarning, stacklevel=2)
            active[rows[bad]] = False
            lo[rows[bad]], hi[rows[bad]] = np.nan, np.nan
            keep = ~bad
            rows, amps, fires, rates = rows[keep], amps[keep], fires[keep], rates[keep]
        else:
            amps = np.column_stack([lo[rows], amps, hi[rows]])
            fires = np.column_stack([np.zeros(rows.size, bool), fires,
                                     np.ones(rows.size, bool)])
            rates = np.column_stack([np.zeros(rows.size), rates, onset[rows]])
        first = np.argmax(fires, axis=1)
        pick = np.arange(rows.size)
        lo[rows], hi[rows] = amps[pick, first - 1], amps[pick, first]
        onset[rows] = rates[pick, first]
    out = {}
    for c, name in enumerate(names):
        part = slice(c * n_values, (c + 1) * n_values)
        out[name] = Rheobase(current=0.5 * (lo[part] + hi[part]), low=lo[part],
                             high=hi[part], onset_rate_hz=onset[part], params=values,
                             criterion=name, n_simulations=n_simulations)
    return out


def _bracket_end(x, n_values, name) -> np.ndarray:
    try:
        return np.broadcast_to(np.asarray(x, dtype=float), (n_values,)).copy()
    except ValueError as error:
        raise ValueError(f"{name} must be a scalar or have shape ({n_values},), one per "
                         f"parameter set; got shape {np.shape(x)}") from error


def _step_sweep(model, columns, amplitudes, duration, delay, n_last, extra_summary,
                max_spikes, progress, simulate_kwargs):
    """One sweep of steps `amplitudes` `(n_sets,)` with model `columns`; returns
    `(summaries, ok)` as NumPy arrays with a leading `(n_sets,)` axis."""
    t1 = float(delay + duration)
    if max_spikes is None:
        max_spikes = int(np.ceil(t1 * MAX_RATE_HZ / 1000.0)) + 16

    def summary(trace):
        out = step_response(trace, t_start=delay, n_last=n_last)
        if extra_summary is not None:
            out.update(extra_summary(trace))
        return out

    stimulus = StepCurrent(0.0, t_start=float(delay))
    result = sweep(model, columns, stimulus, stimulus_params={"amplitude": amplitudes},
                   summary=summary, t1=t1, max_spikes=max_spikes, progress=progress,
                   **simulate_kwargs)
    n_overflowed = int(np.sum(result.summaries["overflowed"] > 0))
    if n_overflowed:
        warnings.warn(f"{n_overflowed} run(s) fired more than max_spikes = {max_spikes} spikes; "
                      "their rate_hz is unreliable: pass a larger max_spikes",
                      RuntimeWarning, stacklevel=3)
    return result.summaries, result.ok


def _vector(name, x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 1 or x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be a non-empty 1-D array of finite values; got "
                         f"shape {x.shape}: {x!r}")
    return x


def _parameter_columns(params) -> dict[str, np.ndarray]:
    values = {k: _vector(f"params[{k!r}]", v) for k, v in (params or {}).items()}
    lengths = {k: v.size for k, v in values.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"params: every value array must have the same length; got {lengths}")
    return values


def _check_timing(duration, delay, n_last):
    if not (np.isfinite(duration) and duration > 0):
        raise ValueError(f"duration must be > 0 ms; got {duration!r}")
    if not (np.isfinite(delay) and delay >= 0):
        raise ValueError(f"delay must be >= 0 ms; got {delay!r}")
    check_int("n_last", n_last, 1)


__all__ = [
    "CRITERIA", "FICurve", "Rheobase", "SHAPE_FEATURES", "aligned_waveform", "fi_curve",
    "initial_rate",
    "nth_spike_after", "rheobase", "rheobases", "spike_shape", "spike_shape_from_voltage",
    "step_response", "sustained_rate",
]
