"""`Sweep` (one current-clamp sweep with its units) and `Recording` (the ordered sweeps of
a protocol)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

import numpy as np

from .._checks import check_int, check_real
from ..observed import check_observed
from ..units import check_current_unit, conversion_factor, model_input_unit
from .resample import resample

TIME_TOLERANCE = 1e-4
"""A sampling interval may differ from the sweep's mean interval by this fraction of it
plus a float32 rounding unit of the largest time (at most 1 % of the interval), so that
time columns stored in float32 (as many files hold them) read as the uniform grid they
are."""

STIM_THRESHOLD = 0.01
"""Default for `Sweep.stim_times`: a sample departs from the baseline (the first sample)
where it differs from it by more than this fraction of the largest departure."""


@dataclasses.dataclass(frozen=True, eq=False)
class Sweep:
    """One current-clamp sweep: the membrane voltage and the injected current on a uniform
    time grid, with units.

    **Arguments:**
    - `time`: sample times, ms, shape `(n,)` (n >= 2), strictly increasing and uniform.
    - `voltage`: membrane potential, mV, shape `(n,)`.
    - `current`: the injected (command) current, shape `(n,)`, in `current_unit`; None for
      voltage-only data (then `current_unit` must be None too).
    - `current_unit`: unit string of `current` (`"pA"`, `"nA"`, `"A"`, `"uA/cm**2"`, ...).
    - `name`: a label used in messages (e.g. the file's series name).
    - `metadata`: anything else (source file, sweep number, ...).
    - `stim_start`, `stim_end`: the stimulus window, ms, where known; otherwise
      `stim_times()` finds it from the current.

    `dt_ms` (the sampling interval, ms) is `(time[-1] - time[0]) / (n - 1)`.

    **Raises:** `ValueError` naming the sweep: arrays not 1-D, of different lengths or
    shorter than 2 samples; NaN or infinite samples (with the first bad index); times not
    strictly increasing or not uniform; a current without a unit, an unknown unit, or a
    unit without a current.
    """

    time: np.ndarray
    voltage: np.ndarray
    current: np.ndarray | None
    current_unit: str | None
    name: str = "sweep"
    metadata: dict = dataclasses.field(default_factory=dict)
    stim_start: float | None = None
    stim_end: float | None = None
    dt_ms: float = dataclasses.field(init=False)

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise ValueError(f"name must be a str; got {self.name!r}")
        if not isinstance(self.metadata, dict):
            raise ValueError(f"metadata must be a dict; got {type(self.metadata).__name__}")
        label = f"sweep {self.name!r}"
        time = check_observed(f"{label}: time", self.time, ndim=1, min_length=2,
                              what="a 1-D array of at least 2 samples").astype(float)
        n = time.shape[0]
        what = f"a 1-D array of {n} samples, as long as time"
        voltage = check_observed(f"{label}: voltage", self.voltage, shape=(n,), what=what)
        current = None
        if self.current is None:
            if self.current_unit is not None:
                raise ValueError(f"{label}: current_unit {self.current_unit!r} is given but "
                                 "there is no current (give both, or neither)")
        else:
            current = check_observed(f"{label}: current", self.current, shape=(n,),
                                     what=what)
            check_current_unit(self.current_unit, f"{label}: current_unit")
        steps = np.diff(time)
        if np.any(steps <= 0):
            k = int(np.argmax(steps <= 0)) + 1
            raise ValueError(f"{label}: time must be strictly increasing; sample {k} "
                             f"({time[k]:.17g} ms) is not after sample {k - 1} "
                             f"({time[k - 1]:.17g} ms)")
        dt = float((time[-1] - time[0]) / (n - 1))
        tolerance = min(TIME_TOLERANCE * dt + float(np.finfo(np.float32).eps) * np.max(
            np.abs(time)), 0.01 * dt)
        off = np.abs(steps - dt) > tolerance
        if np.any(off):
            k = int(np.argmax(off)) + 1
            raise ValueError(f"{label}: time must be uniform (mean interval {dt:g} ms); "
                             f"samples {k - 1} and {k} are {steps[k - 1]:g} ms apart")
        for field in ("stim_start", "stim_end"):
            value = getattr(self, field)
            if value is not None:
                object.__setattr__(self, field, check_real(f"{label}: {field}", value))
        if self.stim_start is not None and self.stim_end is not None \
                and not self.stim_end > self.stim_start:
            raise ValueError(f"{label}: stim_end must be > stim_start; got "
                             f"{self.stim_start} and {self.stim_end} ms")
        for field, value in (("time", time), ("voltage", voltage), ("current", current)):
            if value is not None:
                value = np.array(value, dtype=float)
                value.flags.writeable = False
            object.__setattr__(self, field, value)
        object.__setattr__(self, "metadata", dict(self.metadata))
        object.__setattr__(self, "dt_ms", dt)

    def __len__(self) -> int:
        """The number of samples."""
        return self.time.shape[0]

    def replace(self, **changes) -> Sweep:
        """A copy with the given fields changed (checked again)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}
        return Sweep(**{**fields, **changes})

    # ---- options: junction offset, time window, stimulus window ----------------------

    def junction_corrected(self, offset_mV: float) -> Sweep:
        """The sweep with a liquid-junction offset (mV) subtracted from its voltage:
        `voltage - offset_mV` (e.g. `offset_mV=7` for a recording that reads 7 mV high)."""
        offset = check_real("junction_offset", offset_mV)
        return self.replace(voltage=self.voltage - offset)

    def window(self, start_ms: float | None = None, end_ms: float | None = None) -> Sweep:
        """The samples with `start_ms <= time <= end_ms` (ms; None: from the first or to the
        last sample). Times are kept (not shifted to 0).

        **Raises:** `ValueError` naming `window` when it reaches outside the recorded span
        or holds fewer than 2 samples.
        """
        t = self.time
        start = t[0] if start_ms is None else check_real("window start", start_ms)
        end = t[-1] if end_ms is None else check_real("window end", end_ms)
        slack = 1e-6 * self.dt_ms
        if start < t[0] - slack or end > t[-1] + slack or not end > start:
            raise ValueError(f"window must be (start, end) with start < end inside the "
                             f"recorded span [{t[0]:g}, {t[-1]:g}] ms of sweep "
                             f"{self.name!r}; got ({start:g}, {end:g}) ms")
        keep = (t >= start - slack) & (t <= end + slack)
        if keep.sum() < 2:
            raise ValueError(f"window ({start:g}, {end:g}) ms holds fewer than 2 samples of "
                             f"sweep {self.name!r} (dt = {self.dt_ms:g} ms)")
        return self.replace(time=t[keep], voltage=self.voltage[keep],
                            current=None if self.current is None else self.current[keep])

    def stim_times(self, *, threshold: float | None = None) -> tuple[float, float]:
        """The stimulus window `(stim_start, stim_end)`, ms: the given values where the sweep
        has them, else found from the current: `stim_start` is the time of the first sample
        that departs from the baseline (the first sample's value), `stim_end` the time of the
        sample after the last one (the first back at the baseline; `time[-1] + dt_ms` when
        the departure lasts to the end), so a sampled step on `[a, b)` gives `(a, b)`.

        **Arguments:**
        - `threshold`: a departure, in `current_unit`, larger than this counts; default
          `STIM_THRESHOLD` (1 %) of the largest departure (give one for a noisy, measured
          current).

        **Raises:** `ValueError` naming the sweep when it has no current or its current
        never departs from the baseline (then give `stim_start` and `stim_end`).
        """
        if self.stim_start is not None and self.stim_end is not None:
            return self.stim_start, self.stim_end
        if self.current is None:
            raise ValueError(f"sweep {self.name!r} has no current to find stim_start and "
                             "stim_end from; give them (stim_start=..., stim_end=..., ms)")
        departure = np.abs(self.current - self.current[0])
        largest = float(departure.max())
        if threshold is None:
            threshold = STIM_THRESHOLD * largest
        else:
            threshold = check_real("threshold", threshold, ge=0)
        moved = departure > threshold
        if largest == 0 or not np.any(moved):
            raise ValueError(f"sweep {self.name!r}: the current never departs from its "
                             f"baseline ({self.current[0]:g} {self.current_unit}) by more "
                             f"than threshold = {threshold:g}; give stim_start and stim_end")
        index = np.flatnonzero(moved)
        start = float(self.time[index[0]]) if self.stim_start is None else self.stim_start
        after = index[-1] + 1  # the first sample back at the baseline
        end = self.stim_end if self.stim_end is not None else float(
            self.time[after] if after < len(self) else self.time[-1] + self.dt_ms)
        return start, end

    # ---- conversions for a model -----------------------------------------------------

    def current_in(self, unit: str, *, area_cm2: float | None = None,
                   capacitance_pF: float | None = None, scale=None) -> np.ndarray:
        """The current converted to `unit`, shape `(n,)` (see `units.conversion_factor`
        for `area_cm2`, `capacitance_pF` and `scale`).

        **Raises:** `ValueError` when the sweep has no current or the units do not convert.
        """
        if self.current is None:
            raise ValueError(f"sweep {self.name!r} has no current (it was read as "
                             "voltage-only data, current=None); it cannot drive a model")
        factor = conversion_factor(self.current_unit, unit, argument=f"sweep {self.name!r} "
                                   "current", area_cm2=area_cm2,
                                   capacitance_pF=capacitance_pF, scale=scale)
        return self.current * factor

    def with_current_unit(self, unit: str, **conversion) -> Sweep:
        """The sweep with its current converted to `unit` (options as `current_in`)."""
        return self.replace(current=self.current_in(unit, **conversion), current_unit=unit)

    def stimulus(self, model, *, area_cm2: float | None = None,
                 capacitance_pF: float | None = None, scale=None, t0: float | None = None,
                 hold="auto"):
        """The sweep's current as a stimulus in `model`'s `input_unit`, zero outside the
        sweep.

        A step command (piecewise constant, at most `stimuli.MAX_JUMPS` jumps) becomes a
        `jaxneuron.HeldCurrent`: each sample held from its time `t0 + k dt_ms` to the next,
        as the amplifier holds it, with its jumps declared, so a recorded step drives the
        model exactly as the step itself (`HeldCurrent.from_samples`, default tolerance).
        Any other command becomes a `jaxneuron.SampledCurrent`, equal to the current at the
        samples and linear between them (a step there would be a one-sample ramp).

        **Arguments:**
        - `model`: the model to drive; its class states `input_unit`.
        - `area_cm2` (cm²) or `capacitance_pF` (pF, with 1 µF/cm²): the membrane area, needed
          to give a current to a model that takes a density (`"uA/cm**2"`).
        - `scale`: for a dimensionless model current (`"1"`), the current one model unit
          stands for (e.g. `"1 pA"`); required there, never guessed.
        - `t0`: the simulation time (ms) of the first sample; default `time[0]`, so that
          simulation time equals the sweep's time.
        - `hold`: `"auto"` (default) held where the command is piecewise constant, else
          sampled; `True` held (refused otherwise); `False` sampled.

        **Raises:** `ValueError` when the model states no `input_unit`, the units do not
        convert (naming both), the sweep has no current, or `hold=True` and the command is
        not piecewise constant.
        """
        import jax.numpy as jnp

        from ..stimuli import HeldCurrent, SampledCurrent, _held_levels

        if not (isinstance(hold, bool) or (isinstance(hold, str) and hold == "auto")):
            raise ValueError(f"hold must be 'auto', True or False; got {hold!r}")
        values = self.current_in(model_input_unit(model), area_cm2=area_cm2,
                                 capacitance_pF=capacitance_pF, scale=scale)
        t0 = float(self.time[0]) if t0 is None else check_real("t0", t0)
        if hold is not False:
            jumps, levels = _held_levels(values)
            if jumps is not None:
                return HeldCurrent(times=jnp.asarray(t0 + jumps * self.dt_ms),
                                   levels=jnp.asarray(levels))
            if hold is True:
                raise ValueError(f"hold=True needs a piecewise-constant command; sweep "
                                 f"{self.name!r}: {levels} (use hold='auto' or False)")
        return SampledCurrent(values=jnp.asarray(values), dt=self.dt_ms, t0=t0)

    def voltage_on(self, ts) -> np.ndarray:
        """The voltage (mV) at the times `ts` (ms, shape `(m,)`, ascending, e.g. a
        simulation's save grid), shape `(m,)`, with anti-aliasing when `ts` is coarser
        than the recording (see `resample`).

        **Raises:** `ValueError` naming `ts` when it reaches outside the recorded span.
        """
        return resample(self.time, self.voltage, ts, argument="ts")


@dataclasses.dataclass(frozen=True, eq=False)
class Recording:
    """The ordered sweeps of one protocol (e.g. a family of current steps), numbered from 0
    in file order.

    `recording[i]` is sweep `i`, `len(recording)` their number, and iteration runs over
    them in order.

    **Arguments:**
    - `sweeps`: the sweeps (at least one).
    - `metadata`: about the whole recording (source file, ...).
    - `equal_lengths`: the protocol's sweeps have the same number of samples and the same
      sampling interval (default; needed to fit them together, vmapped over sweeps).
      `False` holds sweeps of any lengths; the batched `stimulus` and `voltages_on` are then
      refused.

    **Raises:** `ValueError` for no sweeps, an item that is not a `Sweep`, or (with
    `equal_lengths`) sweeps of different lengths or sampling intervals, naming them.
    """

    sweeps: tuple[Sweep, ...]
    metadata: dict = dataclasses.field(default_factory=dict)
    equal_lengths: bool = True

    def __post_init__(self):
        sweeps = tuple(self.sweeps) if isinstance(self.sweeps, Sequence) else self.sweeps
        if not isinstance(sweeps, tuple) or not sweeps:
            raise ValueError(f"sweeps must be a non-empty sequence of Sweep; got "
                             f"{self.sweeps!r}")
        for i, sweep in enumerate(sweeps):
            if not isinstance(sweep, Sweep):
                raise ValueError(f"sweeps[{i}] must be a Sweep; got {type(sweep).__name__}")
        if not isinstance(self.equal_lengths, bool):
            raise ValueError(f"equal_lengths must be True or False; got "
                             f"{self.equal_lengths!r}")
        object.__setattr__(self, "sweeps", sweeps)
        object.__setattr__(self, "metadata", dict(self.metadata))
        if self.equal_lengths:
            self._check_equal("sweeps")

    def _check_equal(self, argument: str):
        first = self.sweeps[0]
        for i, sweep in enumerate(self.sweeps[1:], start=1):
            if len(sweep) != len(first) or abs(sweep.dt_ms - first.dt_ms) > \
                    TIME_TOLERANCE * first.dt_ms:
                raise ValueError(
                    f"{argument}: sweeps of one protocol must have equal lengths and "
                    f"sampling intervals; sweep 0 ({first.name!r}) has {len(first)} samples "
                    f"every {first.dt_ms:g} ms, sweep {i} ({sweep.name!r}) {len(sweep)} "
                    f"every {sweep.dt_ms:g} ms (pick sweeps of one protocol with "
                    "sweeps=[...], cut them with window=..., or pass equal_lengths=False "
                    "to hold them anyway)")

    def __len__(self) -> int:
        """The number of sweeps."""
        return len(self.sweeps)

    def __getitem__(self, index) -> Sweep:
        """Sweep `index` (an int; negative counts from the end)."""
        index = check_int("index", index, -len(self), len(self) - 1)
        return self.sweeps[index]

    def __iter__(self) -> Iterator[Sweep]:
        """The sweeps in order."""
        return iter(self.sweeps)

    def select(self, indices) -> Recording:
        """The recording of the sweeps `indices` (ints from 0 in file order, each once), in
        that order.

        **Raises:** `ValueError` naming `indices` for an index that names no sweep or is
        repeated, or an empty selection.
        """
        if isinstance(indices, int | np.integer):
            indices = [indices]
        indices = [check_int("indices", i, 0, len(self) - 1) for i in indices]
        if not indices or len(set(indices)) != len(indices):
            raise ValueError(f"indices must name each sweep at most once and at least one "
                             f"sweep (0 to {len(self) - 1}); got {indices}")
        return self.replace(sweeps=tuple(self.sweeps[i] for i in indices))

    def replace(self, **changes) -> Recording:
        """A copy with the given fields changed (checked again)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return Recording(**{**fields, **changes})

    def map(self, function) -> Recording:
        """The recording of `function(sweep)` for every sweep (e.g.
        `lambda s: s.junction_corrected(7.0)`)."""
        return self.replace(sweeps=tuple(function(s) for s in self.sweeps))

    @property
    def dt_ms(self) -> float:
        """The sampling interval of sweep 0, ms."""
        return self.sweeps[0].dt_ms

    def stim_times(self, *, threshold: float | None = None) -> tuple[float, float]:
        """The protocol's stimulus window, ms: the earliest `stim_start` and the latest
        `stim_end` (`Sweep.stim_times`) of the sweeps whose current departs from its
        baseline (a 0 pA step in a family has none).

        **Raises:** `ValueError` when no sweep has a stimulus window.
        """
        windows = []
        for sweep in self.sweeps:
            try:
                windows.append(sweep.stim_times(threshold=threshold))
            except ValueError:
                continue
        if not windows:
            raise ValueError("no sweep of the recording has a current that departs from its "
                             "baseline (or given stim_start/stim_end); give them")
        return min(w[0] for w in windows), max(w[1] for w in windows)

    def stimulus(self, model, *, hold="auto", **conversion):
        """The sweeps' currents as one batched stimulus (its fields have a leading axis of
        `len(self)`), for `jax.vmap` over sweeps. Options as `Sweep.stimulus`.

        With `hold="auto"`, a `HeldCurrent` when every sweep's command is piecewise
        constant (`times` `(n_sweeps, k)`, `levels` `(n_sweeps, k + 1)`, k the most jumps
        of a sweep; the others padded with `+inf` times and their last level), else a
        `SampledCurrent` for all (`values` `(n_sweeps, n)`, `dt` and `t0` `(n_sweeps,)`):
        a batch is of one type.

        **Raises:** `ValueError` as `Sweep.stimulus` (naming the sweep with `hold=True`),
        or for sweeps of different lengths.
        """
        import jax
        import jax.numpy as jnp

        from ..stimuli import HeldCurrent

        self._check_equal("recording")
        stimuli = [s.stimulus(model, hold=hold, **conversion) for s in self.sweeps]
        if hold == "auto" and not all(isinstance(s, HeldCurrent) for s in stimuli):
            stimuli = [s.stimulus(model, hold=False, **conversion) for s in self.sweeps]
        if isinstance(stimuli[0], HeldCurrent):
            k = max(s.times.shape[0] for s in stimuli)
            stimuli = [HeldCurrent(
                times=jnp.pad(s.times, (0, k - s.times.shape[0]), constant_values=jnp.inf),
                levels=jnp.pad(s.levels, (0, k - s.times.shape[0]), mode="edge"))
                for s in stimuli]
        return jax.tree.map(lambda *leaves: jnp.stack(leaves), *stimuli)

    def voltages_on(self, ts) -> np.ndarray:
        """Every sweep's voltage (mV) at `ts` (ms, shape `(m,)`), shape `(n_sweeps, m)`
        (`Sweep.voltage_on`)."""
        return np.stack([s.voltage_on(ts) for s in self.sweeps])
