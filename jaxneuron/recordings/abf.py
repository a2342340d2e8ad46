"""Current-clamp sweeps in Axon Binary Format files (through `pyabf`)."""

from __future__ import annotations

import os

import numpy as np

from ..units import conversion_factor
from ._common import finish
from .sweep import Recording, Sweep


def read_abf(path, *, current: str | int | None = "command", voltage_channel: int = 0,
             **options) -> Recording:
    """Every sweep of an ABF (1 or 2) file, in the file's units (`sweepUnitsY`,
    `sweepUnitsC`): the voltage of `voltage_channel` in mV, and the current.

    **Arguments:**
    - `path`: the `.abf` file.
    - `current`: `"command"` (default): the command waveform (`sweepC`, from the file's
      epoch table) of `voltage_channel`; an int: a recorded ADC channel that holds the
      current (its unit from the file); `None`: voltage-only data.
    - `voltage_channel`: the ADC channel of the membrane voltage (default 0).
    - `**options`: `sweeps`, `junction_offset`, `window`, `stim_start`, `stim_end`,
      `equal_lengths`, as `jaxneuron.recordings.load`.

    **Raises:** `ValueError` for a missing file, a channel the file lacks, a unit that is
    missing or not a voltage/current, a file without a command waveform (e.g. one written
    by `pyabf.abfWriter`, whose `sweepC` is NaN) unless `current=None`.
    """
    import pyabf

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"path: no such file {path!r}")
    abf = pyabf.ABF(path)
    channels = abf.channelCount
    voltage_channel = _channel("voltage_channel", voltage_channel, channels)
    if not (current is None or current == "command"):
        current = _channel("current", current, channels)
    sweeps = []
    for number in abf.sweepList:
        abf.setSweep(number, channel=voltage_channel)
        label = f"{path}: sweep {number}"
        time = np.array(abf.sweepX, dtype=float) * 1e3  # s -> ms
        try:
            to_mv = conversion_factor(abf.sweepUnitsY.strip(), "mV",
                                      argument=f"{label} voltage unit (sweepUnitsY)")
        except ValueError as error:
            raise ValueError(f"{error}; voltage_channel {voltage_channel} must hold the "
                             "membrane voltage (only current-clamp files are read)") from None
        voltage = np.array(abf.sweepY, dtype=float) * to_mv
        values, unit = None, None
        if current == "command":
            values, unit = np.array(abf.sweepC, dtype=float), abf.sweepUnitsC.strip()
            if not np.all(np.isfinite(values)) or not unit:
                raise ValueError(f"{label}: the file holds no command waveform (sweepC is "
                                 f"not finite or has no unit {unit!r}); pass current=<ADC "
                                 "channel> for a recorded current, or current=None to read "
                                 "voltage-only data")
        elif current is not None:
            abf.setSweep(number, channel=current)
            values, unit = np.array(abf.sweepY, dtype=float), abf.sweepUnitsY.strip()
        if unit is not None:
            conversion_factor(unit, "A", argument=f"{label} current unit")
        sweeps.append(Sweep(time=time, voltage=voltage, current=values, current_unit=unit,
                            name=f"sweep {number}",
                            metadata={"source": path, "sweep_number": int(number),
                                      "protocol": abf.protocol}))
    return finish(sweeps, {"source": path, "format": "abf", "protocol": abf.protocol},
                  **options)


def _channel(name: str, value, channels: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or \
            not 0 <= value < channels:
        extra = " (or 'command', or None)" if name == "current" else ""
        raise ValueError(f"{name} must be an ADC channel index from 0 to {channels - 1}"
                         f"{extra}; got {value!r}")
    return int(value)
