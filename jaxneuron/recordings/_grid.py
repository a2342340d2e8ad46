"""The simulation grid of a recording and sweep-index checks, shared by the tools that
simulate a recording's sweeps (`fit_recording`, `inference`)."""

from __future__ import annotations

import dataclasses

import numpy as np

from .._checks import check_int, check_real
from .sweep import Recording

MAX_STEP_MS = 0.025
"""The default simulation step is the sampling interval split into steps of at most this
(ms)."""


@dataclasses.dataclass(frozen=True, eq=False)
class Grid:
    """The simulation's time grid of a recording: from the first sample to the last, steps
    of `dt`, saved at every sample (`ts` `(n,)` ms, the recording's sample times)."""

    t0: float
    t1: float
    dt: float
    save_every: float
    ts: np.ndarray

    @classmethod
    def of(cls, recording: Recording, dt: float | None) -> Grid:
        """The grid of `recording` (sweep 0's times) with step `dt` (ms; default the
        sampling interval split into steps of at most `MAX_STEP_MS`).

        **Raises:** `ValueError` naming `dt` when it does not divide the sampling interval.
        """
        sample = recording.dt_ms
        if dt is None:
            dt = sample / int(np.ceil(sample / MAX_STEP_MS - 1e-9))
        dt = check_real("dt", dt, gt=0.0)
        ratio = sample / dt
        if abs(ratio - round(ratio)) > 1e-6 * ratio:
            raise ValueError(f"dt must divide the sampling interval {sample:g} ms (the save "
                             f"grid is the recording's samples); got {dt:g} ms")
        time = recording[0].time
        n = len(time)
        return cls(t0=float(time[0]), t1=float(time[0] + (n - 1) * sample), dt=float(dt),
                   save_every=float(sample), ts=float(time[0]) + sample * np.arange(n))

    def simulate_kwargs(self) -> dict:
        """`t0`, `dt` and `save_every` for `simulate` (`t1` is the field of that name)."""
        return {"t0": self.t0, "dt": self.dt, "save_every": self.save_every}


def sweep_indices(argument: str, values, n: int, *, allow_empty: bool) -> tuple[int, ...]:
    """`values` (an int or ints, each naming one of `n` sweeps once) as a tuple.

    **Raises:** `ValueError` naming `argument` for an index out of `[0, n)`, a repeated
    one, or (unless `allow_empty`) none."""
    if isinstance(values, int | np.integer):
        values = [values]
    out = tuple(check_int(argument, i, 0, n - 1) for i in values)
    if len(set(out)) != len(out):
        raise ValueError(f"{argument} names a sweep twice: {list(out)}")
    if not out and not allow_empty:
        raise ValueError(f"{argument} must name at least one sweep (0 to {n - 1})")
    return out
