"""Input protocols as Modules evaluated at time t (ms).

They return a current in the unit the driven model states (µA/cm² or nA).

Every field is an array, so stimuli batch under `vmap` (e.g. a vector of step amplitudes)
and are differentiable. Each stimulus states its valid `domain()` (checked at construction
and again at run time, so a value set inside `jit`/`vmap` by a sweep is flagged too), the
times where its current jumps (`next_jump`, `discontinuities`), so adaptive and exact
engines step onto them, and its shortest pulse (`shortest_pulse`), so fixed-step engines
can flag a pulse their step cannot resolve.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Bool, Float

from ._checks import check_int, check_parameter_values, check_real, is_concrete
from ._fields import param
from .models.base import check_domain, finite, positive


class AbstractStimulus(eqx.Module):
    """An input current as a pure function of time."""

    def __check_init__(self):
        check_parameter_values(self)  # text where a number belongs: ValueError naming it
        check_domain(self)

    @abc.abstractmethod
    def __call__(self, t) -> Float[Array, ""]:
        """Current at time `t` (ms)."""

    def domain(self) -> dict[str, Bool[Array, "*shape"]]:
        """The stimulus's valid domain, as `AbstractNeuron.domain`: constraint sentence ->
        boolean array. Checked at construction (`ValueError`) and at run time by
        `simulate` (status 4, so also for values set by `sweep` inside `vmap`)."""
        return {}

    def discontinuities(self) -> Float[Array, " k"]:
        """Times (ms) where the current jumps, a finite list; empty for smooth inputs.
        Periodic inputs list none here and state their jumps through `next_jump`."""
        return jnp.zeros((0,))

    def next_jump(self, t) -> Float[Array, ""]:
        """The first time (ms) after `t` (strictly) at which the current jumps, `inf` if
        none. Adaptive and exact engines stop their steps there."""
        jumps = jnp.asarray(self.discontinuities())
        t = jnp.asarray(t)
        if jumps.size == 0:
            return jnp.full_like(t, jnp.inf, dtype=jnp.result_type(t, float))
        later = jnp.where(jumps > t, jumps, jnp.inf)
        return jnp.min(later).astype(jnp.result_type(t, later))

    def integral(self, a, b) -> Float[Array, ""] | None:
        """The charge `∫_a^b I(t) dt` (current × ms) delivered over `[a, b]`, exactly, or
        None where the stimulus has no closed form. Fixed-step engines feed a step that
        contains a jump with the step's mean current (this integral over `dt`), so a pulse
        delivers its exact charge whatever the step."""
        return None

    def step_mean(self, t, dt) -> Float[Array, ""] | None:
        """The mean current (exactly) over the step `[t, t + dt]`, for stimuli that are
        constant between their jumps (steps, pulse trains), else None. Fixed-step engines
        feed such a stimulus to each step as this constant: every pulse delivers its exact
        charge, and the step costs no more than sampling the current would. Computed in
        the step's local time, so it is exact where the step lies inside a pulse, also in
        float32 far from t = 0."""
        return None

    def shortest_pulse(self, t0, t1) -> Float[Array, ""]:
        """The shortest stretch (ms) between two jumps of the current that lies inside
        `[t0, t1]` and changes the current (a pulse, or the gap between two pulses), `inf`
        if none. A fixed step longer than it may step over the pulse without sampling it:
        fixed-step engines flag such a run (status 8)."""
        return jnp.asarray(jnp.inf)

    def events(self) -> tuple[Float[Array, " k"], Float[Array, "k n_states"]] | None:
        """Input events `(times, jumps)` that add `jumps[k]` to the state at `times[k]`
        (ms, ascending), or None. Only spiking models accept them."""
        return None


def _first_after(t, *times):
    """The earliest of `times` strictly after `t` (`inf` if none), elementwise: no stacked
    reduction, so that inside a fixed-step loop it fuses with the step."""
    t = jnp.asarray(t)
    first = jnp.full_like(t, jnp.inf, dtype=jnp.result_type(t, float))
    for time in times:
        first = jnp.minimum(first, jnp.where(time > t, time, jnp.inf))
    return first


def _window(t, t_start, t_stop):
    return (t >= t_start) & (t < t_stop)


def _xp(*values):
    return np if all(is_concrete(v) for v in values) else jnp


def _window_domain(t_start, t_stop, *, finite_stop: bool = False) -> dict:
    """`t_start` finite and `t_stop > t_start` (not NaN; `inf` allowed unless
    `finite_stop`)."""
    xp = _xp(t_start, t_stop)
    stop_ok = (xp.asarray(t_stop) > t_start) & ~xp.isnan(t_stop)
    if finite_stop:
        stop_ok = stop_ok & xp.isfinite(t_stop)
    return {"t_start must be finite": xp.isfinite(t_start),
            "t_stop must be > t_start" + (" and finite" if finite_stop else " (inf: never)"):
                stop_ok}


def _overlap(a, b, t_start, t_stop):
    """`(lo, hi)`: the part of `[a, b]` inside `[t_start, t_stop]` (`hi == lo` if none)."""
    lo = jnp.clip(a, t_start, t_stop)
    return lo, jnp.maximum(jnp.clip(b, t_start, t_stop), lo)


def _pulse(t_start, t_stop, amplitude, t0, t1):
    """The length of the pulse `[t_start, t_stop)` of `amplitude` if it changes the current
    inside `[t0, t1]`, else inf."""
    inside = (t_stop > t0) & (t_start < t1) & (amplitude != 0)
    return jnp.where(inside, t_stop - t_start, jnp.inf)


class StepCurrent(AbstractStimulus):
    """Constant `amplitude` between `t_start` (inclusive) and `t_stop` (exclusive), zero elsewhere.

    `StepCurrent(10.0)` is a constant current switched on at t = 0 for ever.
    """

    amplitude: Float[Array, ""] = param()
    t_start: Float[Array, ""] = param(0.0)
    t_stop: Float[Array, ""] = param(jnp.inf)

    def domain(self):
        """amplitude and t_start finite; t_stop > t_start."""
        return {**finite(self, "amplitude"), **_window_domain(self.t_start, self.t_stop)}

    def __call__(self, t):
        return jnp.where(_window(t, self.t_start, self.t_stop), self.amplitude, 0.0)

    def discontinuities(self):
        return jnp.stack([self.t_start, self.t_stop])

    def next_jump(self, t):
        return _first_after(t, self.t_start, self.t_stop)

    def integral(self, a, b):
        lo, hi = _overlap(a, b, self.t_start, self.t_stop)
        return self.amplitude * (hi - lo)

    def step_mean(self, t, dt):
        on = jnp.clip(self.t_stop - t, 0.0, dt) - jnp.clip(self.t_start - t, 0.0, dt)
        return self.amplitude * (on / dt)

    def shortest_pulse(self, t0, t1):
        return _pulse(self.t_start, self.t_stop, self.amplitude, t0, t1)


class RampCurrent(AbstractStimulus):
    """Linear ramp from `start_amplitude` at `t_start` to `end_amplitude` at `t_stop`;
    zero outside."""

    start_amplitude: Float[Array, ""] = param()
    end_amplitude: Float[Array, ""] = param()
    t_start: Float[Array, ""] = param()
    t_stop: Float[Array, ""] = param()

    def domain(self):
        """Amplitudes and times finite; t_stop > t_start."""
        return {**finite(self, "start_amplitude", "end_amplitude"),
                **_window_domain(self.t_start, self.t_stop, finite_stop=True)}

    def __call__(self, t):
        frac = (t - self.t_start) / (self.t_stop - self.t_start)
        value = self.start_amplitude + frac * (self.end_amplitude - self.start_amplitude)
        return jnp.where(_window(t, self.t_start, self.t_stop), value, 0.0)

    def discontinuities(self):
        return jnp.stack([self.t_start, self.t_stop])

    def next_jump(self, t):
        return _first_after(t, self.t_start, self.t_stop)

    def integral(self, a, b):
        lo, hi = _overlap(a, b, self.t_start, self.t_stop)
        slope = (self.end_amplitude - self.start_amplitude) / (self.t_stop - self.t_start)
        mid = self.start_amplitude + slope * (0.5 * (lo + hi) - self.t_start)
        return mid * (hi - lo)

    def shortest_pulse(self, t0, t1):
        size = jnp.maximum(jnp.abs(self.start_amplitude), jnp.abs(self.end_amplitude))
        return _pulse(self.t_start, self.t_stop, size, t0, t1)


class PulseTrain(AbstractStimulus):
    """Rectangular pulses of `amplitude` and `width` (ms) every `period` (ms), from `t_start`
    until `t_stop`."""

    amplitude: Float[Array, ""] = param()
    width: Float[Array, ""] = param()
    period: Float[Array, ""] = param()
    t_start: Float[Array, ""] = param(0.0)
    t_stop: Float[Array, ""] = param(jnp.inf)

    def domain(self):
        """amplitude and t_start finite; width, period > 0 and finite; width <= period;
        t_stop > t_start."""
        xp = _xp(self.width, self.period)
        return {**finite(self, "amplitude"), **positive(self, "width", "period"),
                "width must be <= period": xp.asarray(self.width) <= self.period,
                **_window_domain(self.t_start, self.t_stop)}

    def __call__(self, t):
        phase = jnp.mod(t - self.t_start, self.period)
        on = _window(t, self.t_start, self.t_stop) & (phase < self.width)
        return jnp.where(on, self.amplitude, 0.0)

    def next_jump(self, t):
        """The next pulse onset or offset after `t`, or `t_start`/`t_stop`."""
        t = jnp.asarray(t)
        n = jnp.floor((t - self.t_start) / self.period)
        onset = self.t_start + n * self.period
        # Pulse edges count inside [t_start, t_stop] only; t_start and t_stop always.
        edges = [jnp.where((e >= self.t_start) & (e <= self.t_stop), e, jnp.inf)
                 for e in (onset + self.width, onset + self.period,
                           onset + self.period + self.width)]
        return _first_after(t, *edges, self.t_start, self.t_stop)

    def integral(self, a, b):
        def on_time(t):  # time spent on in [t_start, t], for t_start <= t <= t_stop
            elapsed = t - self.t_start
            n = jnp.floor(elapsed / self.period)
            return n * self.width + jnp.clip(elapsed - n * self.period, 0.0, self.width)

        lo, hi = _overlap(a, b, self.t_start, self.t_stop)
        return self.amplitude * (on_time(hi) - on_time(lo))

    def step_mean(self, t, dt):
        n = jnp.floor((t - self.t_start) / self.period)
        base = self.t_start + n * self.period  # the onset of t's period (t_start's grid)

        def on_time(x):  # time on in [base, base + x], x >= 0
            k = jnp.floor(x / self.period)
            return k * self.width + jnp.clip(x - k * self.period, 0.0, self.width)

        first, last = self.t_start - base, self.t_stop - base  # the train's window, local
        a = jnp.clip(t - base, first, last)
        b = jnp.clip(t - base + dt, first, last)
        return self.amplitude * ((on_time(b) - on_time(a)) / dt)

    def shortest_pulse(self, t0, t1):
        gap = self.period - self.width
        shortest = jnp.where(gap > 0, jnp.minimum(self.width, gap), self.width)
        inside = (self.t_stop > t0) & (self.t_start < t1) & (self.amplitude != 0)
        return jnp.where(inside, shortest, jnp.inf)


class SineCurrent(AbstractStimulus):
    """`offset + amplitude * sin(2π f (t - t_start) + phase)` for t >= t_start, zero before.

    `frequency_hz` in Hz (t is in ms), `phase` in radians.
    """

    amplitude: Float[Array, ""] = param()
    frequency_hz: Float[Array, ""] = param()
    phase: Float[Array, ""] = param(0.0)
    offset: Float[Array, ""] = param(0.0)
    t_start: Float[Array, ""] = param(0.0)

    def domain(self):
        """amplitude, phase, offset and t_start finite; frequency_hz >= 0 and finite."""
        xp = _xp(self.frequency_hz)
        return {**finite(self, "amplitude", "phase", "offset", "t_start"),
                "frequency_hz must be >= 0 and finite": (xp.asarray(self.frequency_hz) >= 0)
                & xp.isfinite(self.frequency_hz)}

    def __call__(self, t):
        angle = 2.0 * jnp.pi * self.frequency_hz * 1e-3 * (t - self.t_start) + self.phase
        return jnp.where(t >= self.t_start, self.offset + self.amplitude * jnp.sin(angle), 0.0)

    def discontinuities(self):
        return self.t_start[None]

    def next_jump(self, t):
        return _first_after(t, self.t_start)

    def integral(self, a, b):
        lo, hi = _overlap(a, b, self.t_start, jnp.inf)
        omega = 2.0 * jnp.pi * self.frequency_hz * 1e-3  # rad/ms
        angle_lo = omega * (lo - self.t_start) + self.phase
        angle_hi = omega * (hi - self.t_start) + self.phase
        safe = jnp.where(omega > 0, omega, 1.0)
        # ∫ sin = (cos(lo) - cos(hi)) / omega = 2 sin(mid) sin(half) / omega, without the
        # cancellation of two nearly equal cosines over a short step
        half = 0.5 * (angle_hi - angle_lo)
        swing = jnp.where(omega > 0, 2.0 * jnp.sin(0.5 * (angle_lo + angle_hi)) * jnp.sin(half)
                          / safe, jnp.sin(self.phase) * (hi - lo))
        return self.offset * (hi - lo) + self.amplitude * swing


class SampledCurrent(AbstractStimulus):
    """An arbitrary waveform sampled every `dt` ms from `t0`, linearly interpolated;
    zero outside the sampled window (beyond 1e-6 sample intervals of its ends, plus a few
    rounding units of t).

    **Arguments:**
    - `values`: shape `(n_samples,)`, the current at `t0 + k dt`.
    - `dt`: sample spacing, ms (> 0).
    - `t0`: time of the first sample, ms.
    """

    values: Float[Array, " n_samples"] = param()
    dt: Float[Array, ""] = param()
    t0: Float[Array, ""] = param(0.0)

    def __check_init__(self):
        if self.values.ndim != 1 or self.values.shape[0] < 2:
            raise ValueError(
                f"values must be a 1-D array of at least 2 samples; got shape {self.values.shape}"
            )

    def domain(self):
        """values and t0 finite; dt > 0 and finite."""
        xp = _xp(self.values)
        return {"values must be finite": xp.all(xp.isfinite(self.values)),
                **positive(self, "dt"), **finite(self, "t0")}

    def __call__(self, t):
        n = self.values.shape[0]
        position = (t - self.t0) / self.dt
        index = jnp.clip(jnp.floor(position), 0, n - 2).astype(jnp.int32)
        frac = jnp.clip(position - index, 0.0, 1.0)  # the ends hold within the slack
        value = self.values[index] * (1.0 - frac) + self.values[index + 1] * frac
        # The ends count as inside within 1e-6 sample intervals plus a few rounding units
        # of t: a solver stage at the last sample time may land ulps beyond it (in
        # float32 at t = 200 ms one ulp is 3e-5 intervals of 0.5 ms).
        slack = 1e-6 + 8 * jnp.finfo(position.dtype).eps * (jnp.abs(t) / self.dt + 1)
        inside = (position >= -slack) & (position <= n - 1 + slack)
        return jnp.where(inside, value, 0.0)


MAX_JUMPS = 256
"""Default for `HeldCurrent.from_samples`: a command with more jumps than this is not a
step protocol (a ramp, a sine, noise) and stays a `SampledCurrent`."""

HOLD_TOLERANCE = 1e-3
"""Default for `HeldCurrent.from_samples`: samples within this fraction of the command's
range (0 included) of each other count as one held level."""


def _held_levels(values, tolerance: float | None = None, max_jumps: int = MAX_JUMPS):
    """`(jumps, levels)` of the samples `values` `(n,)` held piecewise-constant, zero
    before and after them, or `(None, reason)` where they are not: `jumps` `(k,)` the
    sample indices where the level changes (`n`: the end of the samples), `levels`
    `(k + 1,)` (first and last 0). See `HeldCurrent.from_samples`."""
    values = np.asarray(values)
    eps = np.finfo(values.dtype if np.issubdtype(values.dtype, np.floating) else float).eps
    values = values.astype(float)
    n = values.shape[0]
    if tolerance is None:  # the rounding unit is that of the given dtype (e.g. float32)
        size = float(np.max(np.abs(values), initial=0.0))
        spread = float(np.max(values, initial=0.0) - np.min(values, initial=0.0))
        tolerance = HOLD_TOLERANCE * spread + 16 * float(eps) * size
    starts = np.concatenate([[0], np.flatnonzero(np.abs(np.diff(values)) > tolerance) + 1])
    ends = np.concatenate([starts[1:], [n]])
    if len(starts) - 1 > max_jumps:
        return None, (f"{len(starts) - 1} jumps (tolerance {tolerance:g}) > max_jumps = "
                      f"{max_jumps}")
    levels = [0.0]
    jumps = []
    for start, end in zip(starts, ends, strict=True):
        segment = values[start:end]
        if segment.max() - segment.min() > tolerance:
            return None, (f"samples {start} to {end - 1} drift by "
                          f"{segment.max() - segment.min():g} > tolerance {tolerance:g} "
                          "without a jump")
        # The first sample plus the mean departure from it: exact where all are equal.
        level = float(segment[0] + np.mean(segment - segment[0]))
        if level != levels[-1]:
            jumps.append(start)
            levels.append(level)
    if levels[-1] != 0.0:
        jumps.append(n)
        levels.append(0.0)
    if len(jumps) > max_jumps:
        return None, (f"{len(jumps)} jumps (tolerance {tolerance:g}) > max_jumps = "
                      f"{max_jumps}")
    return np.asarray(jumps, dtype=int), np.asarray(levels)


class HeldCurrent(AbstractStimulus):
    """A piecewise-constant current with declared jumps: `levels[0]` before `times[0]`,
    `levels[i]` on `[times[i-1], times[i])` and `levels[k]` from `times[k-1]` on.

    A recorded command, held sample by sample as an amplifier holds it (zero-order hold),
    is one: build it with `HeldCurrent.from_samples`. Engines step onto its jumps and
    fixed steps receive its exact charge, so a recorded step drives a model exactly as
    `StepCurrent` does.

    **Arguments:**
    - `times`: jump times, ms, shape `(k,)`, ascending; `+inf` entries are padding (no
      jump), so that stimuli with different jump counts stack for `jax.vmap`.
    - `levels`: the current on each stretch, shape `(k + 1,)` (after padding, repeat the
      last level).
    """

    times: Float[Array, " k"] = param()
    levels: Float[Array, " k_plus_1"] = param()

    def __check_init__(self):
        check_parameter_values(self)  # text before shapes: a ValueError naming the field
        if self.times.ndim != 1 or self.levels.shape != (self.times.shape[0] + 1,):
            raise ValueError(f"times must have shape (k,) and levels (k + 1,); got "
                             f"{self.times.shape} and {self.levels.shape}")

    def domain(self):
        """times ascending and not NaN (+inf pads); levels finite."""
        xp = _xp(self.times, self.levels)
        times = xp.asarray(self.times)
        ascending = xp.all(times[1:] >= times[:-1]) if times.shape[0] > 1 else xp.asarray(True)
        return {"times must be ascending and not NaN (use +inf for padding)":
                    ascending & ~xp.any(xp.isnan(times)),
                "levels must be finite": xp.all(xp.isfinite(self.levels))}

    @classmethod
    def from_samples(cls, values, dt: float, t0: float = 0.0, *,
                     tolerance: float | None = None, max_jumps: int = MAX_JUMPS):
        """The samples `values` held: sample `j` holds from `t0 + j dt` to `t0 + (j + 1) dt`
        (ms), and the current is 0 before `t0` and from `t0 + n dt` on (so a command that
        does not start or end at 0 jumps there).

        Consecutive samples that differ by more than `tolerance` start a new level; each
        level is the mean of its samples, and every sample must lie within `tolerance` of
        the others of its level. The held current then delivers the samples' exact charge
        and differs from each sample by at most `tolerance`.

        **Arguments:**
        - `values`: the command, shape `(n,)` (n >= 1), in the model's current unit.
        - `dt`: the sample interval, ms (> 0); `t0`: the first sample's time, ms.
        - `tolerance`: in the unit of `values`; default `HOLD_TOLERANCE` (1e-3) of the
          range of `values` and 0, plus 16 rounding units of the largest `|values|`.
        - `max_jumps`: the most jumps a step command may have (default `MAX_JUMPS`, 256).

        **Raises:** `ValueError` naming `values` where the command is not piecewise
        constant (it drifts within a level, or jumps more than `max_jumps` times: keep a
        ramp, sine or noisy command a `SampledCurrent`), or naming a bad argument.
        """
        values = np.asarray(values)
        if values.ndim != 1 or values.shape[0] < 1 or not np.issubdtype(values.dtype,
                                                                          np.number):
            raise ValueError(f"values must be a 1-D array of numbers (at least 1 sample); "
                             f"got shape {values.shape} of {values.dtype}")
        if not np.all(np.isfinite(values)):
            raise ValueError(f"values must be finite; sample "
                             f"{int(np.argmax(~np.isfinite(values)))} is not")
        dt = check_real("dt", dt, gt=0)
        t0 = check_real("t0", t0)
        if tolerance is not None:
            tolerance = check_real("tolerance", tolerance, ge=0)
        max_jumps = check_int("max_jumps", max_jumps, 0)
        jumps, levels = _held_levels(values, tolerance, max_jumps)
        if jumps is None:
            raise ValueError(f"values must be piecewise constant to be held; {levels} "
                             "(a ramp, sine or noisy command: use SampledCurrent)")
        return cls(times=t0 + jumps * dt, levels=levels)

    def _stretches(self):
        """`(lo, hi)`, the bounds of every level's stretch, shape `(k + 1,)` each."""
        inf = jnp.full((1,), jnp.inf, self.times.dtype)
        return jnp.concatenate([-inf, self.times]), jnp.concatenate([self.times, inf])

    def __call__(self, t):
        t = jnp.asarray(t)
        count = jnp.sum(self.times <= t[..., None], axis=-1)  # jumps at or before t
        return self.levels[count]

    def discontinuities(self):
        """The jump times, `(k,)` (`+inf`: padding, no jump)."""
        return self.times

    def next_jump(self, t):
        t = jnp.asarray(t)
        later = jnp.where(self.times > t[..., None], self.times, jnp.inf)
        return jnp.min(later, axis=-1, initial=jnp.inf).astype(jnp.result_type(t, float))

    def integral(self, a, b):
        lo, hi = self._stretches()
        a, b = jnp.asarray(a)[..., None], jnp.asarray(b)[..., None]
        on = jnp.maximum(jnp.minimum(b, hi) - jnp.maximum(a, lo), 0.0)
        return jnp.sum(self.levels * on, axis=-1)

    def step_mean(self, t, dt):
        lo, hi = self._stretches()
        t = jnp.asarray(t)[..., None]
        on = jnp.clip(hi - t, 0.0, dt) - jnp.clip(lo - t, 0.0, dt)  # local time, as StepCurrent
        return jnp.sum(self.levels * (on / dt), axis=-1)  # on / dt: 1 inside a level

    def shortest_pulse(self, t0, t1):
        """The shortest inner stretch overlapping `[t0, t1]` whose level differs from a
        neighbour's."""
        lo, hi = self.times[:-1], self.times[1:]
        inner = self.levels[1:-1]
        changes = (inner != self.levels[:-2]) | (inner != self.levels[2:])
        inside = (hi > t0) & (lo < t1) & jnp.isfinite(hi) & (hi > lo) & changes
        length = jnp.where(inside, hi - jnp.where(inside, lo, 0.0), jnp.inf)
        return jnp.min(length, initial=jnp.inf)


class SpikeInput(AbstractStimulus):
    """Input spike trains: each event adds a jump to the model state (e.g. a synaptic weight
    in nS to a conductance), plus an optional input current.

    Build it with `SpikeInput.for_model(model, {"g_e": (times, weights), ...})`. Events at
    `+inf` are padding (no event), so batches may have different event counts.

    **Fields:**
    - `times`: event times, ms, ascending, shape `(k,)`.
    - `jumps`: the state increment of each event, shape `(k, n_states)`.
    - `current`: an input current stimulus (default none).
    """

    times: Float[Array, " k"] = param()
    jumps: Float[Array, "k n_states"] = param()
    current: AbstractStimulus | None = None

    def __check_init__(self):
        if self.times.ndim != 1 or self.jumps.ndim != 2 or (
            self.jumps.shape[0] != self.times.shape[0]
        ):
            raise ValueError(f"times must have shape (k,) and jumps (k, n_states); got "
                             f"{self.times.shape} and {self.jumps.shape}")
        if self.current is not None and not isinstance(self.current, AbstractStimulus):
            raise ValueError(f"current must be a jaxneuron stimulus or None; got "
                             f"{self.current!r}")

    def domain(self):
        """times ascending and not NaN (+inf pads), jumps finite, and the domain of
        `current` (its keys prefixed `current.`)."""
        xp = _xp(self.times, self.jumps)
        times = xp.asarray(self.times)
        ascending = xp.all(times[1:] >= times[:-1]) if times.shape[0] > 1 else xp.asarray(True)
        inner = {} if self.current is None else {
            f"current.{key}": value for key, value in self.current.domain().items()}
        return {"times must be ascending and not NaN (use +inf for padding)":
                    ascending & ~xp.any(xp.isnan(times)),
                "jumps must be finite": xp.all(xp.isfinite(self.jumps)), **inner}

    @classmethod
    def for_model(cls, model, trains: dict, current: AbstractStimulus | None = None):
        """Input spikes for `model` from `{state_name: (times, weights)}`.

        Each train's `weights` (same shape as its `times`, or a scalar for all) are added to
        the named state at its `times` (ms).

        **Raises:** `ValueError` for an unknown state name or mismatched shapes.
        """
        names = tuple(model.state_names)
        all_times, all_jumps = [], []
        for name, (times, weights) in trains.items():
            if name not in names:
                raise ValueError(f"trains: state name must be one of {names}; got {name!r}")
            times = jnp.atleast_1d(jnp.asarray(times, dtype=float))
            weights = jnp.broadcast_to(jnp.asarray(weights, dtype=float), times.shape)
            jumps = jnp.zeros((times.shape[0], len(names))).at[:, names.index(name)].set(weights)
            all_times.append(times)
            all_jumps.append(jumps)
        times = jnp.concatenate(all_times) if all_times else jnp.zeros((0,))
        jumps = jnp.concatenate(all_jumps) if all_jumps else jnp.zeros((0, len(names)))
        order = jnp.argsort(times, stable=True)
        return cls(times=times[order], jumps=jumps[order], current=current)

    def __call__(self, t):
        return jnp.zeros_like(t, dtype=float) if self.current is None else self.current(t)

    def discontinuities(self):
        return jnp.zeros((0,)) if self.current is None else self.current.discontinuities()

    def next_jump(self, t):
        return super().next_jump(t) if self.current is None else self.current.next_jump(t)

    def integral(self, a, b):
        return (jnp.zeros_like(jnp.asarray(b - a)) if self.current is None
                else self.current.integral(a, b))

    def step_mean(self, t, dt):
        return (jnp.zeros_like(jnp.asarray(t)) if self.current is None
                else self.current.step_mean(t, dt))

    def shortest_pulse(self, t0, t1):
        return (super().shortest_pulse(t0, t1) if self.current is None
                else self.current.shortest_pulse(t0, t1))

    def events(self):
        return self.times, self.jumps
