"""`jaxneuron fit-recording`: a recording file in, fitted parameters and reports out."""

from __future__ import annotations

import csv
import json

import equinox as eqx
import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron import recordings
from jaxneuron.apps.cli import main
from jaxneuron.apps.workflows.fit_recording_command import (
    default_bounds,
    load_recording,
    parse_columns,
    parse_param,
)
from jaxneuron.recordings import Recording, Sweep

TRUTH = {"tau_m": 14.0, "R": 7.0, "V_rest": -70.0}  # not the LIF's defaults (10, 10, -65)
AMPS_NA = (-0.5, 0.25, 0.5)  # at most 3.5 mV from rest: far below V_th
ON, OFF = 5.0, 30.0  # ms


def lif_voltage(t, amp, tau_m, R, V_rest):
    """The LIF's voltage (mV) under a step of `amp` nA on [ON, OFF): analytic."""
    inside = (t >= ON) & (t < OFF)
    v_off = R * amp * (1 - np.exp(-(OFF - ON) / tau_m))
    return V_rest + np.where(inside, R * amp * (1 - np.exp(-(t - ON) / tau_m)),
                             np.where(t >= OFF, v_off * np.exp(-(t - OFF) / tau_m), 0.0))


T = np.arange(0.0, 50.0 + 1e-9, 0.2)
CURRENTS_PA = [np.where((T >= ON) & (T < OFF), 1000.0 * a, 0.0) for a in AMPS_NA]
VOLTAGES = [lif_voltage(T, a, **TRUTH) for a in AMPS_NA]


def recording() -> Recording:
    return Recording(tuple(Sweep(time=T, voltage=v, current=i, current_unit="pA",
                                 name=f"step {a} nA")
                           for v, i, a in zip(VOLTAGES, CURRENTS_PA, AMPS_NA, strict=True)))


def test_fit_recovers_the_true_lif_parameters_and_writes_every_file(tmp_path, capsys):
    """Three analytic LIF sweeps (current in pA) in an NWB file: two starts of 30 steps
    recover tau_m, R and V_rest within 0.1 % (tau_m with its default bounds 5:20), the
    held-out sweep is predicted, and every file is written with a row per sweep/start."""
    path = tmp_path / "cell.nwb"
    recordings.write_nwb(recording(), path)
    out = tmp_path / "out"
    code = main(["fit-recording", str(path), "--model", "lif", "--param", "tau_m",
                 "--param", "R=3:30", "--param", "V_rest=-80:-60", "--holdout", "2",
                 "--starts", "2", "--steps", "30", "--dt", "0.1", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    for name, value in TRUTH.items():
        assert summary["params"][name] == pytest.approx(value, rel=1e-3), name
    assert summary["bounds"]["tau_m"] == [5.0, 20.0] and summary["default_bounds"] == ["tau_m"]
    assert summary["train"]["sweeps"] == [0, 1] and summary["holdout"]["sweeps"] == [2]
    assert summary["holdout"]["voltage_rmse"] < 0.05  # mV, of a 3.5 mV response
    assert summary["holdout"]["spike_count_error"] == 0
    assert summary["files"] == ["summary.json", "sweeps.csv", "features.csv", "starts.csv",
                                "fit.png"]
    for name in summary["files"]:
        assert name in printed and (out / name).stat().st_size > 0
    assert (out / "fit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    sweeps = list(csv.DictReader(open(out / "sweeps.csv")))
    assert [(r["index"], r["role"]) for r in sweeps] == [("0", "train"), ("1", "train"),
                                                         ("2", "holdout")]
    features = list(csv.DictReader(open(out / "features.csv")))
    assert {r["index"] for r in features} == {"0", "1", "2"}
    base = [r for r in features if r["feature"] == "voltage_base"]
    assert len(base) == 3 and all(float(r["data"]) == pytest.approx(-70.0) for r in base)
    starts = list(csv.DictReader(open(out / "starts.csv")))
    assert len(starts) == 2 and float(starts[0]["loss"]) <= float(starts[1]["loss"])
    assert {"tau_m_start", "tau_m_fitted", "steps", "stop_reason"} <= set(starts[0])
    assert all(5.0 <= float(r["tau_m_start"]) <= 20.0 for r in starts)
    assert float(starts[0]["R_fitted"]) == pytest.approx(TRUTH["R"], rel=1e-3)
    assert "fitted: tau_m = " in printed and "held-out sweeps [2]" in printed


def test_a_table_is_read_with_its_declared_columns_and_units(tmp_path):
    """A CSV (time in s, voltage in V, current in nA, two sweeps side by side) reads back
    in ms, mV and nA, sweeps in column order."""
    path = tmp_path / "cell.csv"
    table = np.column_stack([T * 1e-3, VOLTAGES[0] * 1e-3, CURRENTS_PA[0] * 1e-3,
                             VOLTAGES[2] * 1e-3, CURRENTS_PA[2] * 1e-3])
    np.savetxt(path, table, delimiter=",", header="t,v0,i0,v1,i1", comments="")
    rec = load_recording(path, columns="time=t,voltage=v0+v1,current=i0+i1", time_unit="s",
                         voltage_unit="V", current_unit="nA", window=(0.0, 40.0))
    assert len(rec) == 2
    assert np.allclose(rec[1].voltage, VOLTAGES[2][T <= 40.0 + 1e-9])
    assert np.allclose(rec[1].current, 0.5 * ((T >= ON) & (T < OFF))[T <= 40.0 + 1e-9])
    assert rec[0].current_unit == "nA" and rec[0].dt_ms == pytest.approx(0.2)
    shifted = load_recording(path, columns="time=0,voltage=1,current=2", time_unit="s",
                             voltage_unit="V", current_unit="nA", junction_offset=7.0)
    assert np.allclose(shifted[0].voltage, VOLTAGES[0] - 7.0)


def test_params_columns_and_default_bounds_parse():
    assert parse_param("tau_m") == ("tau_m", None)
    assert parse_param("V_rest=-80:-60") == ("V_rest", (-80.0, -60.0))
    assert parse_columns("time=0,voltage=1+3,current=i0+i1") == {
        "time": 0, "voltage": [1, 3], "current": ["i0", "i1"]}
    assert default_bounds(jn.LIF(), "tau_m") == (5.0, 20.0)  # 0.5x, 2x of 10 ms
    assert default_bounds(jn.LIF(), "V_rest") == (-130.0, -32.5)  # ordered for -65 mV
    zero = eqx.tree_at(lambda m: m.t_ref, jn.LIF(), 0.0)
    with pytest.raises(ValueError, match=r"--param t_ref: no default range.*t_ref=LOW:HIGH"):
        default_bounds(zero, "t_ref")
