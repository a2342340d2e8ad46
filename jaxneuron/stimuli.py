"""Input protocols as Modules evaluated at time t (ms).

They return a current in the unit the driven model states (µA/cm² or nA).

Every field is an array, so stimuli batch under `vmap` (e.g. a vector of step amplitudes)
and are differentiable. `discontinuities()` lists the times where the current jumps, so
adaptive solvers can step onto them.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._checks import check_finite, check_parameter_values, check_positive, is_concrete
from ._fields import param


class AbstractStimulus(eqx.Module):
    """An input current as a pure function of time."""

    def __check_init__(self):
        check_parameter_values(self)  # text where a number belongs: ValueError naming it

    @abc.abstractmethod
    def __call__(self, t) -> Float[Array, ""]:
        """Current at time `t` (ms)."""

    def discontinuities(self) -> Float[Array, " k"]:
        """Times (ms) where the current jumps; empty for smooth inputs."""
        return jnp.zeros((0,))

    def events(self) -> tuple[Float[Array, " k"], Float[Array, "k n_states"]] | None:
        """Input events `(times, jumps)` that add `jumps[k]` to the state at `times[k]`
        (ms, ascending), or None. Only spiking models accept them."""
        return None


def _window(t, t_start, t_stop):
    return (t >= t_start) & (t < t_stop)


class StepCurrent(AbstractStimulus):
    """Constant `amplitude` between `t_start` (inclusive) and `t_stop` (exclusive), zero elsewhere.

    `StepCurrent(10.0)` is a constant current switched on at t = 0 for ever.
    """

    amplitude: Float[Array, ""] = param()
    t_start: Float[Array, ""] = param(0.0)
    t_stop: Float[Array, ""] = param(jnp.inf)

    def __check_init__(self):
        check_finite("amplitude", self.amplitude)
        _check_window(self.t_start, self.t_stop)

    def __call__(self, t):
        return jnp.where(_window(t, self.t_start, self.t_stop), self.amplitude, 0.0)

    def discontinuities(self):
        return jnp.stack([self.t_start, self.t_stop])


class RampCurrent(AbstractStimulus):
    """Linear ramp from `start_amplitude` at `t_start` to `end_amplitude` at `t_stop`;
    zero outside."""

    start_amplitude: Float[Array, ""] = param()
    end_amplitude: Float[Array, ""] = param()
    t_start: Float[Array, ""] = param()
    t_stop: Float[Array, ""] = param()

    def __check_init__(self):
        check_finite("start_amplitude", self.start_amplitude)
        check_finite("end_amplitude", self.end_amplitude)
        check_finite("t_stop", self.t_stop)
        _check_window(self.t_start, self.t_stop)

    def __call__(self, t):
        frac = (t - self.t_start) / (self.t_stop - self.t_start)
        value = self.start_amplitude + frac * (self.end_amplitude - self.start_amplitude)
        return jnp.where(_window(t, self.t_start, self.t_stop), value, 0.0)

    def discontinuities(self):
        return jnp.stack([self.t_start, self.t_stop])


class PulseTrain(AbstractStimulus):
    """Rectangular pulses of `amplitude` and `width` (ms) every `period` (ms), from `t_start`
    until `t_stop`."""

    amplitude: Float[Array, ""] = param()
    width: Float[Array, ""] = param()
    period: Float[Array, ""] = param()
    t_start: Float[Array, ""] = param(0.0)
    t_stop: Float[Array, ""] = param(jnp.inf)

    def __check_init__(self):
        check_finite("amplitude", self.amplitude)
        check_positive("width", self.width)
        check_positive("period", self.period)
        if is_concrete(self.width) and is_concrete(self.period):
            if jnp.any(self.width > self.period):
                raise ValueError(
                    f"width must be <= period; got width={self.width}, period={self.period}"
                )
        _check_window(self.t_start, self.t_stop)

    def __call__(self, t):
        phase = jnp.mod(t - self.t_start, self.period)
        on = _window(t, self.t_start, self.t_stop) & (phase < self.width)
        return jnp.where(on, self.amplitude, 0.0)


class SineCurrent(AbstractStimulus):
    """`offset + amplitude * sin(2π f (t - t_start) + phase)` for t >= t_start, zero before.

    `frequency_hz` in Hz (t is in ms), `phase` in radians.
    """

    amplitude: Float[Array, ""] = param()
    frequency_hz: Float[Array, ""] = param()
    phase: Float[Array, ""] = param(0.0)
    offset: Float[Array, ""] = param(0.0)
    t_start: Float[Array, ""] = param(0.0)

    def __check_init__(self):
        check_finite("amplitude", self.amplitude)
        check_positive("frequency_hz", self.frequency_hz, allow_zero=True)
        check_finite("t_start", self.t_start)

    def __call__(self, t):
        angle = 2.0 * jnp.pi * self.frequency_hz * 1e-3 * (t - self.t_start) + self.phase
        return jnp.where(t >= self.t_start, self.offset + self.amplitude * jnp.sin(angle), 0.0)

    def discontinuities(self):
        return self.t_start[None]


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
        check_finite("values", self.values)
        check_positive("dt", self.dt)

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


def _check_window(t_start, t_stop):
    check_finite("t_start", t_start)
    if is_concrete(t_start) and is_concrete(t_stop) and jnp.any(t_stop <= t_start):
        raise ValueError(f"t_stop must be > t_start; got t_start={t_start}, t_stop={t_stop}")


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
        if is_concrete(self.times):
            if jnp.any(jnp.isnan(self.times)) or jnp.any(jnp.diff(self.times) < 0):
                raise ValueError("times must be ascending and not NaN (use +inf for padding)")
        check_finite("jumps", self.jumps)

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

    def events(self):
        return self.times, self.jumps
