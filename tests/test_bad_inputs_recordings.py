"""Bad inputs of recordings and units (issue 28, item 1): every one a `ValueError` that names
the argument (or the sweep) and what is allowed; nothing is read, converted or resampled
silently wrong.

`CASES`: id -> (call (the files of the `files` fixture -> the bad call), exception, regex)."""

from __future__ import annotations

import datetime
from typing import ClassVar

import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron import recordings
from jaxneuron.recordings import Recording, Sweep
from jaxneuron.units import conversion_factor, parse_unit

DT = 0.05  # ms
T = np.arange(400) * DT
I_STEP = np.where((T >= 5.0) & (T < 15.0), 100.0, 0.0)  # pA
V = np.full(400, -65.0)


def sweep(time=T, voltage=V, current=I_STEP, unit="pA", **kw):
    return Sweep(time, voltage, current, unit, **kw)


def with_value(array, index, value):
    array = np.array(array, dtype=float)
    array[index] = value
    return array


class NoUnitModel(jn.AbstractNeuron):
    """A user model that states no input_unit."""

    state_names: ClassVar[tuple[str, ...]] = ("V",)
    tau: float = 10.0

    def initial_state(self):
        return jnp.array([-65.0])

    def vector_field(self, t, y, args):
        return (-(y + 65.0) + args) / self.tau

    def voltage(self, y):
        return y[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Files for the table: a CSV table, an NWB file written without stimuli (with the
    icephys table, and by pynwb without one), an ABF file from pyabf's writer (no command
    waveform) and a file of an unknown format."""
    from pyabf.abfWriter import writeABF1
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.icephys import CurrentClampSeries, CurrentClampStimulusSeries

    folder = tmp_path_factory.mktemp("bad_recordings")
    out = {"csv": folder / "cell.csv", "nwb_v": folder / "voltage_only.nwb",
           "nwb_raw": folder / "raw.nwb", "abf": folder / "cell.abf",
           "nwb_mismatch": folder / "mismatch.nwb",
           "nwb": folder / "cell.nwb", "other": folder / "cell.xyz"}
    np.savetxt(out["csv"], np.column_stack([T, V, I_STEP]), delimiter=",")
    recordings.write_nwb(Recording([sweep(current=None, unit=None)]), out["nwb_v"])
    recordings.write_nwb(Recording([sweep()]), out["nwb"])

    def raw_nwb(path, stimulus=None):  # a file written by pynwb itself, not by write_nwb
        nwb = NWBFile(session_description="t", identifier="t",
                      session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC))
        electrode = nwb.create_icephys_electrode(name="e", description="e",
                                                 device=nwb.create_device(name="d"))
        nwb.add_acquisition(CurrentClampSeries(name="v", data=V * 1e-3, electrode=electrode,
                                               gain=1.0, rate=2e4, sweep_number=np.uint32(0)))
        if stimulus is not None:
            nwb.add_stimulus(CurrentClampStimulusSeries(
                name="i", data=stimulus, electrode=electrode, gain=1.0, rate=2e4,
                sweep_number=np.uint32(0)))
        with NWBHDF5IO(path, "w") as io:
            io.write(nwb)

    raw_nwb(out["nwb_raw"])
    raw_nwb(out["nwb_mismatch"], I_STEP[:200] * 1e-12)  # half as long: cannot be its stimulus
    long = np.tile(V, 10)  # pyabf cannot read back a file of a few hundred samples
    writeABF1(np.stack([long, long]), str(out["abf"]), 20000.0, units="mV")
    out["other"].write_text("1 2 3\n")
    return out


CSV = {"columns": {"time": 0, "voltage": 1, "current": 2}, "time_unit": "ms",
       "voltage_unit": "mV", "current_unit": "pA"}


def csv(f, **changes):
    return recordings.read_text(f["csv"], **{**CSV, **changes})


def rec4():
    return Recording([sweep(name=f"s{k}") for k in range(4)])


CASES = {
    # -- units: missing, unknown, of the wrong kind
    "sweep current without unit": (lambda f: sweep(unit=None), ValueError,
                                   r"sweep 'sweep': current_unit: missing unit"),
    "sweep unknown current unit": (lambda f: sweep(unit="pAmp"), ValueError,
                                   r"current_unit: unknown unit 'pAmp'"),
    "sweep current unit is a voltage": (lambda f: sweep(unit="mV"), ValueError,
                                        r"current_unit must be a unit of current .*got 'mV'"),
    "sweep current unit not text": (lambda f: sweep(unit=5), ValueError,
                                    r"current_unit must be a unit string .*got 5 \(int\)"),
    "unit given without current": (lambda f: sweep(current=None), ValueError,
                                   r"current_unit 'pA' is given but there is no current"),
    "text voltage_unit missing": (lambda f: csv(f, voltage_unit=None), ValueError,
                                  r"voltage_unit: missing unit for the declared 'voltage'"),
    "text time_unit missing": (lambda f: csv(f, time_unit=None), ValueError,
                               r"time_unit: missing unit for the declared 'time'"),
    "text current_unit missing": (lambda f: csv(f, current_unit=None), ValueError,
                                  r"current_unit: missing unit for the declared 'current'"),
    "text unknown voltage unit": (lambda f: csv(f, voltage_unit="blorp"), ValueError,
                                  r"voltage_unit: unknown unit 'blorp'"),
    "text voltage unit is a current": (lambda f: csv(f, voltage_unit="pA"), ValueError,
                                       r"voltage_unit: cannot convert from 'pA' to 'mV'"),
    "text time unit is a voltage": (lambda f: csv(f, time_unit="mV"), ValueError,
                                    r"time_unit: cannot convert from 'mV' to 'ms'"),
    "unit string is a quantity": (lambda f: parse_unit("10 pA", "unit"), ValueError,
                                  r"unit: '10 pA' is a quantity, not a unit"),
    "offset unit has no factor": (lambda f: conversion_factor("degC", "K", argument="T"),
                                  ValueError, r"T: no conversion factor from 'degC' to 'K'"),
    # -- conversions for a model
    "density without area": (lambda f: sweep().stimulus(jn.HodgkinHuxley()), ValueError,
                             r"current: converting from 'pA' to 'uA/cm\*\*2' needs the "
                             r"membrane area: give area_cm2"),
    "density conversion without area": (
        lambda f: conversion_factor("nA", "uA/cm**2", argument="I"), ValueError,
        r"I: converting from 'nA' to 'uA/cm\*\*2' needs the membrane area"),
    "area and capacitance both": (
        lambda f: sweep().stimulus(jn.HodgkinHuxley(), area_cm2=1e-5, capacitance_pF=10.0),
        ValueError, r"give area_cm2 or capacitance_pF, not both \(converting from 'pA'"),
    "negative area": (lambda f: sweep().stimulus(jn.HodgkinHuxley(), area_cm2=-1e-5),
                      ValueError, r"area_cm2 must be a finite number > 0; got -1e-05"),
    "dimensionless without scale": (
        lambda f: sweep().stimulus(jn.Izhikevich()), ValueError,
        r"a dimensionless current needs an explicit scale .*converting from 'pA' to '1'"),
    "scale for a model with a unit": (
        lambda f: sweep().stimulus(jn.AdEx(), scale="1 pA"), ValueError,
        r"scale applies only to a dimensionless unit .*from 'pA' to 'pA'"),
    "scale in a voltage": (lambda f: sweep().stimulus(jn.Izhikevich(), scale="1 mV"),
                           ValueError, r"scale must be a quantity in the units of 'pA'"),
    "scale without unit": (lambda f: sweep().stimulus(jn.Izhikevich(), scale="2"),
                           ValueError, r"scale must be a quantity in the units of 'pA'"),
    "model without input_unit": (lambda f: sweep().stimulus(NoUnitModel()), ValueError,
                                 r"model: NoUnitModel states no input_unit"),
    "voltage-only sweep as stimulus": (
        lambda f: sweep(current=None, unit=None).stimulus(jn.AdEx()), ValueError,
        r"sweep 'sweep' has no current .*current=None"),
    # -- sweeps and recordings
    "sweeps of different lengths": (
        lambda f: Recording([sweep(name="long"), sweep(T[:200], V[:200], I_STEP[:200],
                                                       name="short")]),
        ValueError, r"sweeps: sweeps of one protocol must have equal lengths .*sweep 0 "
                    r"\('long'\) has 400 samples .*sweep 1 \('short'\) 200"),
    "sweeps of different intervals": (
        lambda f: Recording([sweep(), sweep(T * 2, name="slow")]), ValueError,
        r"equal lengths and sampling intervals.*every 0.05 ms.*every 0.1 ms"),
    "NaN voltage": (lambda f: sweep(voltage=with_value(V, 17, np.nan), name="bad"),
                    ValueError, r"sweep 'bad': voltage must be finite; .*first at index "
                                r"\[17\]"),
    "NaN current": (lambda f: sweep(current=with_value(I_STEP, 3, np.nan)), ValueError,
                    r"sweep 'sweep': current must be finite; .*first at index \[3\]"),
    "infinite time": (lambda f: sweep(time=with_value(T, 399, np.inf)), ValueError,
                      r"sweep 'sweep': time must be finite; .*first at index \[399\]"),
    "time not increasing": (lambda f: sweep(time=with_value(T, 5, T[4])), ValueError,
                            r"time must be strictly increasing; sample 5 \(0.2\d* ms\) is "
                            r"not after sample 4"),
    "time not uniform": (lambda f: sweep(time=with_value(T, 5, 0.26)), ValueError,
                         r"time must be uniform .*samples 4 and 5 are 0.06 ms apart"),
    "voltage shorter than time": (lambda f: sweep(voltage=V[:399]), ValueError,
                                  r"voltage must be a 1-D array of 400 samples, as long as "
                                  r"time; got shape \(399,\)"),
    "single sample": (lambda f: sweep(T[:1], V[:1], I_STEP[:1]), ValueError,
                      r"time must be a 1-D array of at least 2 samples; got shape \(1,\)"),
    "sweep metadata not a dict": (lambda f: sweep(metadata=[1]), ValueError,
                                  r"metadata must be a dict; got list"),
    "stim_end before stim_start": (lambda f: sweep(stim_start=10.0, stim_end=5.0),
                                   ValueError, r"stim_end must be > stim_start"),
    "no sweeps": (lambda f: Recording([]), ValueError, r"sweeps must be a non-empty"),
    "select a sweep that is not there": (lambda f: rec4().select([1, 4]), ValueError,
                                         r"indices must be an int >= 0 and <= 3; got 4"),
    "select a sweep twice": (lambda f: rec4().select([1, 1]), ValueError,
                             r"indices must name each sweep at most once"),
    "index out of range": (lambda f: rec4()[7], ValueError,
                           r"index must be an int >= -4 and <= 3; got 7"),
    # -- stimulus window
    "stim times of a constant current": (
        lambda f: sweep(current=np.full(400, 20.0)).stim_times(), ValueError,
        r"the current never departs from its baseline \(20 pA\)"),
    "stim times without current": (lambda f: sweep(current=None, unit=None).stim_times(),
                                   ValueError, r"has no current to find stim_start"),
    # -- files
    "NWB without stimulus (icephys table)": (
        lambda f: recordings.read_nwb(f["nwb_v"]), ValueError,
        r"the file holds no stimulus .*pass current=None to read voltage-only data"),
    "NWB without stimulus (no table)": (
        lambda f: recordings.load(f["nwb_raw"]), ValueError,
        r"raw.nwb: v: the file holds no stimulus .*current=None"),
    "NWB stimulus of another length": (
        lambda f: recordings.read_nwb(f["nwb_mismatch"]), ValueError,
        r"mismatch.nwb: v: its stimulus 'i' has 200 samples at 20000.0 Hz, the response 400 "
        r"at 20000.0 Hz.*they must match"),
    "NWB current option": (lambda f: recordings.read_nwb(f["nwb"], current="command"),
                           ValueError, r"current must be 'stimulus' or None"),
    "ABF without command waveform": (lambda f: recordings.load(f["abf"]), ValueError,
                                     r"sweep 0: the file holds no command waveform .*"
                                     r"current=None"),
    "ABF current channel not in file": (lambda f: recordings.read_abf(f["abf"], current=2),
                                        ValueError, r"current must be an ADC channel index "
                                                    r"from 0 to 0"),
    "unknown extension": (lambda f: recordings.load(f["other"]), ValueError,
                          r"path: unknown recording format 'cell.xyz'; the extension must "
                          r"be one of .nwb, .abf"),
    "missing file": (lambda f: recordings.load(f["csv"].with_name("gone.nwb")), ValueError,
                     r"path: no such file"),
    "window outside the data": (lambda f: recordings.load(f["nwb"], window=(5.0, 50.0)),
                                ValueError, r"window must be \(start, end\) .*inside the "
                                            r"recorded span \[0, 19.95\] ms"),
    "window of one sample": (lambda f: sweep().window(1.0, 1.01), ValueError,
                             r"window \(1, 1.01\) ms holds fewer than 2 samples"),
    "window not a pair": (lambda f: recordings.load(f["nwb"], window=5.0), ValueError,
                          r"window must be \(start, end\) in ms"),
    "resample grid outside the data": (lambda f: sweep().voltage_on(np.arange(0, 30.0, 0.1)),
                                       ValueError, r"ts must lie inside the recorded time "
                                                   r"span \[0, 19.95\] ms"),
    "resample grid not increasing": (lambda f: sweep().voltage_on([1.0, 0.5]), ValueError,
                                     r"ts must be strictly increasing"),
    "junction offset NaN": (lambda f: recordings.load(f["nwb"], junction_offset=np.nan),
                            ValueError, r"junction_offset must be a finite number"),
    "text time column and dt": (lambda f: csv(f, dt=0.05), ValueError,
                                r"give the time as a column .* or as dt \(ms\), exactly one"),
    "text without voltage column": (lambda f: csv(f, columns={"time": 0}), ValueError,
                                    r"columns must be a dict with the key 'voltage'"),
    "text column not in file": (lambda f: csv(f, columns={"time": 0, "voltage": 5,
                                                          "current": 2}),
                                ValueError, r"columns\['voltage'\]: 5 is not a column .*3 "
                                            r"columns"),
    "text current None but column": (lambda f: recordings.load(f["csv"], current=None, **CSV),
                                     ValueError, r"current=None but columns declares a "
                                                 r"'current' column"),
    "write NWB over a file": (lambda f: recordings.write_nwb(rec4(), f["nwb"]), ValueError,
                              r"path: .*cell.nwb' exists; pass overwrite=True"),
    "write NWB metadata not JSON": (
        lambda f: recordings.write_nwb(Recording([sweep(metadata={"x": object()})]),
                                       f["nwb"].with_name("object.nwb")),
        ValueError, r"recording\[0\].metadata must be JSON-serialisable"),
    "write NWB of a density": (
        lambda f: recordings.write_nwb(Recording([sweep(unit="uA/cm**2")]),
                                       f["nwb"].with_name("density.nwb")),
        ValueError, r"recording\[0\] current_unit: converting from 'uA/cm\*\*2' to 'A' needs "
                    r"the membrane area.*convert the sweep first"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_raises_naming_the_argument(case, files):
    call, error, match = CASES[case]
    with pytest.raises(error, match=match):
        call(files)


def test_table_is_large_enough():
    assert len(CASES) >= 20


def test_the_accepted_neighbours_of_the_bad_inputs_work(files):
    """Each refusal above has a correct neighbour that passes: voltage-only data when asked
    for, an area for a density, a scale for a dimensionless model, different lengths when
    the caller says so."""
    assert recordings.read_nwb(files["nwb_v"], current=None)[0].current is None
    assert recordings.load(files["nwb_raw"], current=None)[0].voltage[0] == pytest.approx(-65)
    assert len(recordings.load(files["abf"], current=None)) == 2
    assert float(sweep().stimulus(jn.HodgkinHuxley(), area_cm2=1e-5)(10.0)) == pytest.approx(
        10.0)
    assert float(sweep().stimulus(jn.Izhikevich(), scale="10 pA")(10.0)) == pytest.approx(10.0)
    mixed = Recording([sweep(), sweep(T[:200], V[:200], I_STEP[:200])], equal_lengths=False)
    assert [len(s) for s in mixed] == [400, 200]
    assert sweep().stim_times() == pytest.approx((5.0, 15.0))
    assert len(csv(files)) == 1
