"""Current-clamp recordings in and out: NWB, ABF and text files -> sweeps with units ->
stimuli and targets on the simulation grid.

A `Sweep` holds one sweep: `time` (ms, shape `(n,)`, uniform), `voltage` (mV, `(n,)`),
the injected `current` (`(n,)`) with its `current_unit` (or None for voltage-only data),
`dt_ms`, a `name` and `metadata`. A `Recording` holds the ordered sweeps of a protocol
(numbered from 0 in file order): `recording[i]`, `len(recording)`, iteration, and
`recording.select([0, 2])`. Both are checked when built: equal lengths, finite samples
(a NaN names the sweep and its first bad index), strictly increasing uniform time, a
known unit for every current.

Reading (`load` picks the reader from the file's extension)::

    from jaxneuron import recordings

    rec = recordings.load("cell.nwb")                    # NWB current clamp (pynwb)
    rec = recordings.load("cell.abf")                    # ABF, command waveform as current
    rec = recordings.load("cell.csv", columns={"time": 0, "voltage": 1, "current": 2},
                          time_unit="s", voltage_unit="V", current_unit="pA")
    rec = recordings.load("cell.nwb", junction_offset=7.0, window=(0.0, 800.0))

Every reader takes the options `sweeps` (indices to keep), `junction_offset` (mV,
subtracted from the voltage), `window` (`(start, end)` ms), `stim_start`/`stim_end` (ms,
else found from the command current by `Sweep.stim_times`) and `equal_lengths`. A file
without the injected current is refused unless the caller passes `current=None` to accept
voltage-only data (e.g. to extract features).

Units are explicit: a file states its own (NWB `unit`/`conversion`, ABF channel units),
a text table's are declared by the caller, and every model class states the unit of its
input current as `input_unit` (`"uA/cm**2"` for `HodgkinHuxley`, `"nA"` for `LIF`, `"pA"`
for `AdEx`, `"1"` for `Izhikevich`). Turning a sweep into a model's input converts once::

    rec = recordings.load("cell.nwb", junction_offset=7.0, window=(0.0, 700.0))
    model = jn.HodgkinHuxley()
    stim = rec[0].stimulus(model, area_cm2=1e-5)        # pA -> uA/cm**2 (1000 um^2 cell)
    stim = rec[0].stimulus(jn.AdEx())                   # pA -> pA
    stim = rec[0].stimulus(jn.Izhikevich(), scale="1 pA")  # dimensionless: explicit scale
    trace = jn.simulate(model, rec[0].stimulus(model, area_cm2=1e-5), t1=700.0, dt=0.025)
    target = rec[0].voltage_on(trace.ts)                # anti-aliased onto the save grid
    start, end = rec[0].stim_times()                    # from the command, ms

A density (uA/cm**2) needs the membrane area (`area_cm2`, or `capacitance_pF` with
1 µF/cm²), a dimensionless current an explicit `scale`; a missing or impossible unit is a
`ValueError` naming the argument and both units, never a guess. A step command becomes a
`HeldCurrent` (each sample held to the next, jumps declared, so a recorded step is exact),
any other a `SampledCurrent` (linear between samples); `hold=` chooses. `Recording.stimulus`
and `Recording.voltages_on` give the same for all sweeps at once (one batched stimulus for
`jax.vmap`, and an `(n_sweeps, m)` array).

Writing: `write_nwb(recording, path)` saves sweeps (e.g. a simulated experiment) so that
`read_nwb` reads back the same values and units. ABF is read only (pyabf's writer stores
one voltage channel without a command waveform).
"""

from __future__ import annotations

import os

from .abf import read_abf
from .nwb import read_nwb, write_nwb
from .resample import resample
from .sweep import Recording, Sweep
from .text import TEXT_SUFFIXES, read_text

__all__ = ["Recording", "Sweep", "load", "read_abf", "read_nwb", "read_text", "resample",
           "write_nwb"]


def load(path, **options) -> Recording:
    """Read a recording, choosing the reader from the file's extension: `.nwb` ->
    `read_nwb`, `.abf` -> `read_abf`, `.npy`, `.npz` and text tables (`.txt`, `.csv`,
    `.tsv`, `.dat`, `.asc`) -> `read_text` (which needs `columns` and units).

    **Options** (every reader): `sweeps` (indices from 0 in file order), `junction_offset`
    (mV, subtracted from the voltage), `window` (`(start, end)`, ms), `stim_start` and
    `stim_end` (ms), `equal_lengths` (default True), and `current` (None: voltage-only);
    plus each reader's own.

    **Raises:** `ValueError` for an unknown extension, and as the reader.
    """
    name = os.fspath(path).lower()
    if name.endswith(".nwb"):
        return read_nwb(path, **options)
    if name.endswith(".abf"):
        return read_abf(path, **options)
    if name.endswith((".npy", ".npz", *TEXT_SUFFIXES)):
        if "current" in options:
            if options.pop("current") is not None:
                raise ValueError("current: for a table, declare the current column in "
                                 "columns (or pass current=None for voltage-only data)")
            if "current" in options.get("columns", {}):
                raise ValueError("current=None but columns declares a 'current' column")
        return read_text(path, **options)
    raise ValueError(f"path: unknown recording format {os.path.basename(name)!r}; the "
                     f"extension must be one of .nwb, .abf, .npy, .npz, "
                     f"{', '.join(TEXT_SUFFIXES)}")
