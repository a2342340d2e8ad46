"""Sweeps from text (CSV, whitespace-separated), `.npy` and `.npz` files, with the columns
and units declared by the caller."""

from __future__ import annotations

import os

import numpy as np

from .._checks import check_real
from ..units import conversion_factor
from ._common import finish
from .sweep import Recording, Sweep

TEXT_SUFFIXES = (".txt", ".csv", ".tsv", ".dat", ".asc")
"""File name endings read as text tables."""

_ROLES = ("time", "voltage", "current")


def read_text(path, *, columns: dict, time_unit: str | None = None,
              voltage_unit: str | None = None, current_unit: str | None = None,
              dt: float | None = None, **options) -> Recording:
    """Sweeps from a table: a text file (comma-, semicolon-, tab- or space-separated, an
    optional header line of column names, `#` comments), a `.npy` array of shape
    `(n_samples, n_columns)`, or a `.npz` archive of named arrays.

    **Arguments:**
    - `path`: the file.
    - `columns`: where each quantity is: `{"time": ..., "voltage": ..., "current": ...}`,
      each a column index (int), a header name (text files) or an array name (`.npz`; a
      2-D array `(n_sweeps, n_samples)` holds one sweep per row), or a list of them for
      several sweeps. `"voltage"` is required; without `"time"` give `dt`; without
      `"current"` the data are voltage-only.
    - `time_unit`, `voltage_unit`, `current_unit`: the unit of each declared column
      (`"ms"`/`"s"`, `"mV"`/`"V"`, `"pA"`/`"nA"`/`"A"`/`"uA/cm**2"`); required for every
      declared column, never assumed.
    - `dt`: the sampling interval in ms, when there is no time column (time then starts at
      0 ms).
    - `**options`: `sweeps`, `junction_offset`, `window`, `stim_start`, `stim_end`,
      `equal_lengths`, as `jaxneuron.recordings.load`.

    **Raises:** `ValueError` for a missing file, an unknown role in `columns`, a column the
    file lacks, a missing, unknown or wrong unit, both or neither of a time column and `dt`,
    and the checks of `Sweep` and `Recording`.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"path: no such file {path!r}")
    if not isinstance(columns, dict) or "voltage" not in columns or \
            set(columns) - set(_ROLES):
        raise ValueError(f"columns must be a dict with the key 'voltage' and optionally "
                         f"'time' and 'current'; got {columns!r}")
    if ("time" in columns) == (dt is not None):
        raise ValueError("give the time as a column (columns['time'], with time_unit) or "
                         f"as dt (ms), exactly one; got columns {sorted(columns)} and "
                         f"dt={dt!r}")
    if "current" not in columns and current_unit is not None:
        raise ValueError(f"current_unit {current_unit!r} is given but columns declares no "
                         "'current' column")
    for role, unit in (("time", time_unit), ("voltage", voltage_unit),
                       ("current", current_unit)):
        if role in columns and unit is None:
            raise ValueError(f"{role}_unit: missing unit for the declared {role!r} column; "
                             f"give it (e.g. {role}_unit='{_EXAMPLE[role]}')")
    get = _reader(path)
    data = {role: _gather(get, role, columns[role]) for role in columns}
    voltages = data["voltage"]
    n_sweeps = len(voltages)
    for role in ("time", "current"):
        if role in data and len(data[role]) not in (1, n_sweeps) or (
                role == "current" and role in data and len(data[role]) != n_sweeps):
            raise ValueError(f"columns[{role!r}] names {len(data[role])} sweeps, "
                             f"columns['voltage'] {n_sweeps}; they must match")
    to_mv = conversion_factor(voltage_unit, "mV", argument="voltage_unit")
    if "time" in data:
        to_ms = conversion_factor(time_unit, "ms", argument="time_unit")
        times = [t * to_ms for t in data["time"]]
    else:
        step = check_real("dt", dt, gt=0)
        times = [np.arange(v.shape[0]) * step for v in voltages]
    sweeps = []
    for i, voltage in enumerate(voltages):
        sweeps.append(Sweep(time=times[i if len(times) > 1 else 0], voltage=voltage * to_mv,
                            current=data["current"][i] if "current" in data else None,
                            current_unit=current_unit, name=f"{os.path.basename(path)}[{i}]",
                            metadata={"source": path, "sweep_number": i}))
    return finish(sweeps, {"source": path, "format": "text"}, **options)


_EXAMPLE = {"time": "ms", "voltage": "mV", "current": "pA"}


def _gather(get, role, refs) -> list[np.ndarray]:
    refs = list(refs) if isinstance(refs, list | tuple) else [refs]
    if not refs:
        raise ValueError(f"columns[{role!r}] names no column")
    arrays = []
    for ref in refs:
        arrays.extend(get(ref, role))
    return arrays


def _reader(path):
    """A function (column reference, role) -> list of 1-D float arrays (one per sweep)."""
    lower = path.lower()
    if lower.endswith(".npz"):
        archive = dict(np.load(path, allow_pickle=False))

        def from_archive(ref, role):
            if not isinstance(ref, str) or ref not in archive:
                raise ValueError(f"columns[{role!r}]: {ref!r} is not an array of {path} "
                                 f"(it holds {sorted(archive)})")
            array = np.asarray(archive[ref], dtype=float)
            if array.ndim not in (1, 2):
                raise ValueError(f"columns[{role!r}]: array {ref!r} must be 1-D (one sweep) "
                                 f"or 2-D (n_sweeps, n_samples); got shape {array.shape}")
            return [array] if array.ndim == 1 else list(array)

        return from_archive
    if lower.endswith(".npy"):
        table, names = np.load(path, allow_pickle=False), []
    elif lower.endswith(TEXT_SUFFIXES):
        table, names = _text_table(path)
    else:
        raise ValueError(f"path: {path!r} is not a table read_text reads (.npy, .npz, "
                         f"{', '.join(TEXT_SUFFIXES)})")
    table = np.asarray(table, dtype=float)
    table = table[:, None] if table.ndim == 1 else table
    if table.ndim != 2:
        raise ValueError(f"{path}: must hold a table (n_samples, n_columns); got shape "
                         f"{table.shape}")

    def from_table(ref, role):
        if isinstance(ref, str) and ref in names:
            ref = names.index(ref)
        if isinstance(ref, bool) or not isinstance(ref, int | np.integer) or \
                not -table.shape[1] <= ref < table.shape[1]:
            raise ValueError(f"columns[{role!r}]: {ref!r} is not a column of {path} (it has "
                             f"{table.shape[1]} columns{', named ' + str(names) if names else ''})")
        return [table[:, int(ref)]]

    return from_table


def _text_table(path):
    """(table, header names or []) of a comma- or whitespace-separated text file."""
    with open(path) as handle:
        lines = [line.strip() for line in handle]
    lines = [line for line in lines if line and not line.startswith("#")]
    if not lines:
        raise ValueError(f"{path}: holds no data")
    sample = lines[:2]
    delimiter = next((d for d in (",", ";", "\t") if any(d in line for line in sample)), None)
    first = [tok.strip() for tok in lines[0].split(delimiter)]
    try:
        [float(tok) for tok in first]
        names = []
    except ValueError:
        names, lines = first, lines[1:]
    try:
        table = np.loadtxt(lines, delimiter=delimiter, ndmin=2)
    except ValueError as error:
        raise ValueError(f"{path}: not a numeric table ({error})") from error
    return table, names
