"""Summary statistics of a recording for simulation-based inference: exact eFEL features
(`jaxneuron.features.extract`) of every sweep as one fixed-length vector, computed the same
way on the recording and on simulated sweeps, so that an NPE posterior trained on
simulations conditions on the recording (`NPEPosterior.sample(key, summary(recording),
n)`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from .._checks import check_real
from ..features import extract
from ..observed import check_observed
from ..recordings import Recording
from ..recordings._grid import Grid, sweep_indices

SUMMARY_FEATURES = ("Spikecount", "time_to_first_spike", "mean_frequency", "ISI_CV",
                    "peak_voltage", "voltage_base", "steady_state_voltage", "sag_amplitude")
"""The default features of `FeatureSummary` (eFEL names; per-spike ones averaged)."""

FILL = 0.0
"""The default value of an undefined feature in a `FeatureSummary` vector; its indicator
entry (0) tells it from a defined 0."""


@dataclasses.dataclass(frozen=True, eq=False)
class FeatureSummary:
    """Exact eFEL features of a recording's sweeps as one vector: for sweep `s` and feature
    `f` (in the order of `names`), entry `s * F + f` is the value (a per-spike feature
    averaged over its spikes where defined; `fill` where the feature is undefined on that
    sweep, e.g. `time_to_first_spike` without a spike) and entry `S * F + s * F + f` is
    1.0 where it is defined and 0.0 where not: shape `(2 * S * F,)`, finite.

    Build it with `FeatureSummary.of(recording, names)`; call it on the recording (its
    selected sweeps on the grid) or on voltages `(S, n_save)` on the same grid, e.g. the
    simulated ones of `simulate_observations(..., summary=...)`.

    **Fields:** `names`, `time` `(n_save,)` ms (the grid), `stim_start`, `stim_end` (ms),
    `sweeps` (the indices summarised), `fill`, `threshold` (mV, spike detection).
    """

    names: tuple[str, ...]
    time: np.ndarray
    stim_start: float
    stim_end: float
    sweeps: tuple[int, ...]
    fill: float = FILL
    threshold: float = -20.0

    @classmethod
    def of(cls, recording: Recording, names: Sequence[str] = SUMMARY_FEATURES, *,
           sweeps: Sequence[int] | None = None, fill: float = FILL,
           threshold: float = -20.0) -> FeatureSummary:
        """The summary of `recording`'s `sweeps` (default all) on its grid (the samples),
        with its stimulus window (`Recording.stim_times`).

        **Raises:** `ValueError` naming the argument: `recording` not a `Recording` or its
        sweeps of different lengths, `sweeps` that name no sweep, an unknown feature name
        or `ohmic_input_resistance` (it needs each sweep's current amplitude), a
        non-finite `fill`.
        """
        if not isinstance(recording, Recording):
            raise ValueError(f"recording must be a jaxneuron.recordings.Recording; got "
                             f"{type(recording).__name__}")
        names = (names,) if isinstance(names, str) else tuple(names)
        if not names or "ohmic_input_resistance" in names:
            raise ValueError(f"names must name at least one feature, not "
                             f"ohmic_input_resistance; got {list(names)}")
        recording._check_equal("recording")
        sweeps = tuple(range(len(recording))) if sweeps is None else sweep_indices(
            "sweeps", sweeps, len(recording), allow_empty=False)
        start, end = recording.stim_times()
        summary = cls(names=names, time=Grid.of(recording, None).ts, stim_start=start,
                      stim_end=end, sweeps=sweeps, fill=check_real("fill", fill),
                      threshold=check_real("threshold", threshold))
        summary._features(recording[0].voltage_on(summary.time))  # checks the names
        return summary

    @property
    def size(self) -> int:
        """The length of the vector, `2 * len(sweeps) * len(names)`."""
        return 2 * len(self.sweeps) * len(self.names)

    def __call__(self, voltages) -> np.ndarray:
        """The vector `(size,)` of a `Recording` (the selected sweeps, resampled onto the
        grid) or of voltages `(len(sweeps), n_save)` mV on the grid.

        **Raises:** `ValueError` naming `voltages` for a wrong shape or NaN samples."""
        if isinstance(voltages, Recording):
            voltages = voltages.select(list(self.sweeps)).voltages_on(self.time)
        voltages = check_observed("voltages", voltages,
                                  shape=(len(self.sweeps), self.time.size))
        values, defined = zip(*(self._features(v) for v in voltages), strict=True)
        return np.concatenate([np.concatenate(values), np.concatenate(defined)])

    def _features(self, v) -> tuple[np.ndarray, np.ndarray]:
        found = extract(self.time, v, self.names, stim_start=self.stim_start,
                        stim_end=self.stim_end, threshold=self.threshold)
        values = np.full(len(self.names), self.fill)
        defined = np.zeros(len(self.names))
        for k, name in enumerate(self.names):
            value = np.atleast_1d(np.asarray(
                np.nan if found[name] is None else found[name], dtype=float))
            value = value[np.isfinite(value)]
            if value.size:
                values[k], defined[k] = float(np.mean(value)), 1.0
        return values, defined
