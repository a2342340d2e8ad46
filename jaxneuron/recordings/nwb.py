"""Current-clamp sweeps in NWB files (through `pynwb`): read and write."""

from __future__ import annotations

import json
import os

import numpy as np

from ..units import conversion_factor
from ._common import CURRENT_UNIT, finish
from .sweep import Recording, Sweep

_MARK = "jaxneuron_sweep"  # key of the JSON that write_nwb puts in a response's comments


def _values(series, start: int, count: int | None, to_unit: str, argument: str):
    """`series.data[start:start+count]` in `to_unit`, from the file's `unit`, `conversion`
    and `offset` (NWB: value in `unit` = data × conversion + offset)."""
    data = np.asarray(series.data[start:None if count is None else start + count],
                      dtype=float)
    factor = conversion_factor(series.unit, to_unit, argument=argument)
    offset = float(getattr(series, "offset", 0.0) or 0.0)
    return (data * float(series.conversion) + offset) * factor


def _times_ms(series, start: int, n: int, time_origin: str) -> np.ndarray:
    """Sample times, ms: from the file's timestamps or rate and starting time; with
    `time_origin="sweep"` shifted so that the first sample is at 0."""
    if series.timestamps is not None:
        if series.timestamps_unit not in (None, "seconds"):
            raise ValueError(f"{series.name}: timestamps_unit must be 'seconds'; got "
                             f"{series.timestamps_unit!r}")
        times = np.asarray(series.timestamps[start:start + n], dtype=float) * 1e3
        return times - times[0] if time_origin == "sweep" else times
    dt = 1e3 / float(series.rate)
    if time_origin == "sweep":
        return np.arange(n) * dt
    return float(series.starting_time or 0.0) * 1e3 + (start + np.arange(n)) * dt


def _sweep(response, stimulus, start, count, s_start, s_count, current, time_origin,
           source, zero_clamp):
    from pynwb.icephys import CurrentClampSeries

    if not isinstance(response, CurrentClampSeries):
        raise ValueError(f"{source}: response {response.name!r} is a "
                         f"{type(response).__name__}, not a CurrentClampSeries (only current "
                         "clamp is read)")
    label = f"{source}: {response.name}"
    voltage = _values(response, start, count, "mV", f"{label} unit")
    n = voltage.shape[0]
    metadata = {"source": str(source), "series": response.name,
                "sweep_number": None if response.sweep_number is None
                else int(response.sweep_number),
                "starting_time_s": float(response.starting_time or 0.0),
                "stimulus_description": response.stimulus_description}
    name, stim, current_unit = response.name, {}, CURRENT_UNIT
    try:
        written = json.loads(response.comments or "")
    except ValueError:
        written = None
    if isinstance(written, dict) and _MARK in written:
        name = written[_MARK].get("name", name)
        metadata = {**written[_MARK].get("metadata", {}), **metadata}  # the file's first
        stim = {k: written[_MARK].get(k) for k in ("stim_start", "stim_end")}
        current_unit = written[_MARK].get("current_unit") or current_unit
    elif response.comments and response.comments != "no comments":
        metadata["comments"] = response.comments
    values, unit = None, None
    if current is not None:
        if stimulus is not None:
            values = _values(stimulus, s_start, s_count, current_unit,
                             f"{label} stimulus unit")
            shift = abs(float(stimulus.starting_time or 0.0) + s_start / (stimulus.rate or 1)
                        - float(response.starting_time or 0.0) - start / (response.rate or 1))
            if values.shape[0] != n or (stimulus.rate or 0) != (response.rate or 0) or \
                    shift > 0.5 / (response.rate or 1):
                raise ValueError(f"{label}: its stimulus {stimulus.name!r} has "
                                 f"{values.shape[0]} samples at {stimulus.rate} Hz, the "
                                 f"response {n} at {response.rate} Hz, starting "
                                 f"{shift:g} s apart; they must match")
            unit = current_unit
            metadata["stimulus_series"] = stimulus.name
        elif zero_clamp:
            values, unit = np.zeros(n), CURRENT_UNIT  # I=0 clamp: no current by definition
        else:
            raise ValueError(f"{label}: the file holds no stimulus (CurrentClampStimulusSeries)"
                             " for this sweep; pass current=None to read voltage-only data")
    return Sweep(time=_times_ms(response, start, n, time_origin), voltage=voltage,
                 current=values, current_unit=unit, name=name, metadata=metadata, **stim)


def _pairs(nwb, source, stimuli_wanted: bool):
    """(response, stimulus or None, start, count, s_start, s_count) per sweep, in file
    order: from the icephys intracellular-recordings table when the file has one, else
    each CurrentClampSeries in acquisition paired with the CurrentClampStimulusSeries of
    the same sweep number."""
    from pynwb.icephys import CurrentClampSeries, CurrentClampStimulusSeries

    table = nwb.intracellular_recordings
    if table is not None and len(table) > 0:
        pairs = []
        responses = table["responses"]["response"]
        stimuli = table["stimuli"]["stimulus"] if "stimuli" in table.category_tables \
            and stimuli_wanted else None
        for row in range(len(table)):
            r = responses[row]
            s = None if stimuli is None else stimuli[row]
            if s is not None and (s.idx_start is None or s.idx_start < 0 or s.timeseries is None):
                s = None
            pairs.append((r.timeseries, None if s is None else s.timeseries, int(r.idx_start),
                          int(r.count), 0 if s is None else int(s.idx_start),
                          None if s is None else int(s.count)))
        return [p for p in pairs if isinstance(p[0], CurrentClampSeries)] or pairs
    responses = [s for s in nwb.acquisition.values() if isinstance(s, CurrentClampSeries)]
    stimuli = [s for s in nwb.stimulus.values() if isinstance(s, CurrentClampStimulusSeries)]
    by_number = {}
    for s in stimuli:
        if s.sweep_number is not None:
            if int(s.sweep_number) in by_number:
                raise ValueError(f"{source}: two stimuli have sweep number {s.sweep_number} "
                                 f"({by_number[int(s.sweep_number)].name!r}, {s.name!r}); "
                                 "the sweeps cannot be paired")
            by_number[int(s.sweep_number)] = s
    if not stimuli_wanted:
        stimuli = []
    if stimuli and any(r.sweep_number is None for r in responses):
        raise ValueError(f"{source}: a CurrentClampSeries has no sweep_number and the file "
                         "has no icephys tables, so its stimulus cannot be paired; pass "
                         "current=None to read voltage-only data")
    responses.sort(key=lambda r: -1 if r.sweep_number is None else int(r.sweep_number))
    return [(r, by_number.get(None if r.sweep_number is None else int(r.sweep_number)),
             0, None, 0, None) for r in responses]


def _plain(value):
    """NumPy scalars and arrays as Python numbers and lists, for JSON."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def read_nwb(path, *, current: str | None = "stimulus", time_origin: str = "sweep",
             **options) -> Recording:
    """The current-clamp sweeps of an NWB file.

    Each `CurrentClampSeries` (voltage) is paired with its `CurrentClampStimulusSeries`
    (the injected current) through the file's icephys intracellular-recordings table when
    present (in table order), else by sweep number (in sweep-number order). Values are read
    in the file's units (`unit`, `conversion`, `offset` of each series): voltage in mV,
    current in pA (or, for a file `write_nwb` wrote, in the unit the sweep had). An
    `IZeroClampSeries` (no current by definition) reads with zero current.

    **Arguments:**
    - `path`: the `.nwb` file.
    - `current`: `"stimulus"` (default) reads each sweep's stimulus and refuses a sweep
      without one; `None` reads voltage-only data (e.g. for features) and ignores stimuli.
    - `time_origin`: `"sweep"` (default): each sweep's time starts at 0 ms (the file's
      start time is kept in `metadata["starting_time_s"]`); `"file"`: the file's times.
    - `**options`: `sweeps`, `junction_offset`, `window`, `stim_start`, `stim_end`,
      `equal_lengths`, as `jaxneuron.recordings.load`.

    **Raises:** `ValueError` for a missing file, no current-clamp sweep, a sweep without
    its stimulus (unless `current=None`), units that do not convert, and the checks of
    `Sweep` and `Recording`.
    """
    from pynwb import NWBHDF5IO
    from pynwb.icephys import IZeroClampSeries

    path = os.fspath(path)
    if current not in ("stimulus", None):
        raise ValueError(f"current must be 'stimulus' or None (voltage-only); got {current!r}")
    if time_origin not in ("sweep", "file"):
        raise ValueError(f"time_origin must be 'sweep' or 'file'; got {time_origin!r}")
    if not os.path.isfile(path):
        raise ValueError(f"path: no such file {path!r}")
    with NWBHDF5IO(path, "r") as io:
        nwb = io.read()
        pairs = _pairs(nwb, path, current is not None)
        if not pairs:
            raise ValueError(f"{path}: holds no CurrentClampSeries (current-clamp sweep)")
        sweeps = [_sweep(r, s, a, n, sa, sn, current, time_origin, path,
                         isinstance(r, IZeroClampSeries)) for r, s, a, n, sa, sn in pairs]
    return finish(sweeps, {"source": path, "format": "nwb"}, **options)


def write_nwb(recording: Recording, path, *, session_description: str = "current clamp",
              identifier: str | None = None, overwrite: bool = False) -> None:
    """Write `recording` to an NWB file that `read_nwb` reads back with the same values and
    units: per sweep a `CurrentClampSeries` (voltage stored in mV, `conversion` 1e-3 to
    volts) and, where the sweep has a current, a `CurrentClampStimulusSeries` (stored in
    the sweep's unit, `conversion` to amperes), joined in the icephys
    intracellular-recordings table; sweep numbers from 0. Names, metadata (as JSON) and
    given stim_start/stim_end travel in the response's `comments`.

    **Raises:** `ValueError` for an existing file (unless `overwrite=True`), metadata that
    is not JSON, or a current that is not in a unit of current (a density such as
    uA/cm**2: convert it first with `Sweep.with_current_unit("pA", area_cm2=...)`).
    """
    import datetime
    import uuid

    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.icephys import CurrentClampSeries, CurrentClampStimulusSeries

    if not isinstance(recording, Recording):
        raise ValueError(f"recording must be a Recording; got {type(recording).__name__}")
    path = os.fspath(path)
    if os.path.exists(path) and not overwrite:
        raise ValueError(f"path: {path!r} exists; pass overwrite=True to replace it")
    nwb = NWBFile(session_description=session_description,
                  identifier=identifier or str(uuid.uuid4()),
                  session_start_time=datetime.datetime.now(datetime.UTC))
    device = nwb.create_device(name="jaxneuron")
    electrode = nwb.create_icephys_electrode(name="electrode", device=device,
                                             description="jaxneuron recording")
    for i, sweep in enumerate(recording):
        try:
            comments = json.dumps({_MARK: {"name": sweep.name, "metadata": sweep.metadata,
                                           "current_unit": sweep.current_unit,
                                           "stim_start": sweep.stim_start,
                                           "stim_end": sweep.stim_end}}, default=_plain)
        except TypeError as error:
            raise ValueError(f"recording[{i}].metadata must be JSON-serialisable to be "
                             f"written ({error})") from error
        timing = dict(rate=1e3 / sweep.dt_ms, starting_time=float(sweep.time[0]) * 1e-3)
        response = CurrentClampSeries(name=f"sweep_{i:04d}", data=sweep.voltage,
                                      electrode=electrode, gain=1.0, conversion=1e-3,
                                      sweep_number=np.uint32(i), comments=comments, **timing)
        stimulus = None
        if sweep.current is not None:
            try:
                to_amperes = conversion_factor(sweep.current_unit, "A",
                                               argument=f"recording[{i}] current_unit")
            except ValueError as error:
                raise ValueError(f"{error}. NWB stores a current in amperes: convert the "
                                 "sweep first, e.g. sweep.with_current_unit('pA', "
                                 "area_cm2=...)") from None
            stimulus = CurrentClampStimulusSeries(name=f"stimulus_{i:04d}",
                                                  data=sweep.current, electrode=electrode,
                                                  gain=1.0, conversion=to_amperes,
                                                  sweep_number=np.uint32(i), **timing)
        nwb.add_intracellular_recording(electrode=electrode, stimulus=stimulus,
                                        response=response)
    with NWBHDF5IO(path, "w") as io:
        io.write(nwb)
