"""The options every reader shares, applied once after reading."""

from __future__ import annotations

from .sweep import Recording

CURRENT_UNIT = "pA"
"""The unit readers give currents in when the file states its own (NWB, ABF)."""


def finish(items, metadata: dict, *, sweeps=None, junction_offset: float = 0.0,
           window=None, stim_start: float | None = None, stim_end: float | None = None,
           equal_lengths: bool = True) -> Recording:
    """The `Recording` of the sweeps `items` read from a file, with the shared options
    applied in this order: `sweeps` (indices from 0 in file order), `stim_start`/`stim_end`
    (ms, given for every sweep), `junction_offset` (mV, subtracted from the voltage),
    `window` (`(start, end)`, ms; either may be None), and `equal_lengths`."""
    recording = Recording(tuple(items), metadata=metadata, equal_lengths=False)
    if sweeps is not None:
        recording = recording.select(sweeps)
    if stim_start is not None or stim_end is not None:
        recording = recording.map(lambda s: s.replace(
            stim_start=s.stim_start if stim_start is None else stim_start,
            stim_end=s.stim_end if stim_end is None else stim_end))
    if junction_offset != 0.0:
        recording = recording.map(lambda s: s.junction_corrected(junction_offset))
    if window is not None:
        if not isinstance(window, tuple | list) or len(window) != 2:
            raise ValueError(f"window must be (start, end) in ms (either may be None); got "
                             f"{window!r}")
        recording = recording.map(lambda s: s.window(*window))
    return recording.replace(equal_lengths=equal_lengths)
