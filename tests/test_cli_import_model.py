"""`jaxneuron import-model` and `--model FILE`: a Brian2 model file (TOML) becomes a Python
model file that imports and runs like the import; sweep takes the file directly."""

from __future__ import annotations

import importlib
import json
import re

import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron.apps.cli import main
from jaxneuron.imports import load_model

LIF_TOML = '''
name = "FileLIF"
equations = """
dv/dt = (EL - v + R*I)/tau : volt (unless refractory)
I : amp
"""
threshold = "v > -50*mV"
reset = "v = -65*mV"
refractory = "2*ms"

[namespace]
EL = "-65*mV"
R = "10*Mohm"
tau = "10*ms"

[initial]
v = "-65*mV"
'''


@pytest.fixture
def lif_file(tmp_path):
    path = tmp_path / "lif.toml"
    path.write_text(LIF_TOML)
    return path


def test_a_toml_file_is_the_lif(lif_file):
    model = load_model(lif_file)
    assert type(model).__name__ == "FileLIF" and model.input_unit == "pA"
    ours = jn.simulate(model, jn.StepCurrent(2000.0), t1=50.0, dt=0.05, save_every=0.05)
    ref = jn.simulate(jn.LIF(), jn.StepCurrent(2.0), t1=50.0, dt=0.05, save_every=0.05)
    assert int(ours.n_spikes) == int(ref.n_spikes) == 3
    np.testing.assert_allclose(ours.v, ref.v, atol=1e-3)  # float32


def test_import_model_writes_a_python_file_that_runs_like_the_import(lif_file, tmp_path,
                                                                       monkeypatch, capsys):
    out = tmp_path / "my_lif.py"
    assert main(["import-model", str(lif_file), "--out", str(out)]) in (0, None)
    assert "wrote FileLIF" in capsys.readouterr().out
    monkeypatch.syspath_prepend(str(tmp_path))
    written = importlib.import_module("my_lif").FileLIF()
    a = jn.simulate(written, jn.StepCurrent(2000.0), t1=50.0, dt=0.05)
    b = jn.simulate(load_model(lif_file), jn.StepCurrent(2000.0), t1=50.0, dt=0.05)
    np.testing.assert_array_equal(a.spike_times, b.spike_times)


def test_sweep_takes_a_model_file(lif_file, tmp_path):
    out = tmp_path / "sweep"
    code = main(["sweep", "--model", str(lif_file), "--param", "tau=5:20", "--n", "8",
                 "--sampler", "grid", "--t1", "50", "--amplitude", "2000", "--out", str(out),
                 "--store", str(tmp_path / "s.zarr")])
    assert code in (0, None)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["failed"] == 0
    assert (out / "sweep.png").exists()  # one parameter: the rate against it


@pytest.mark.parametrize("content,pattern", [
    ("equations = 'dv/dt = -v/ms : volt'\ncolour = 'red'\n", r"unknown keys \['colour'\]"),
    ("threshold = 'v > 1*mV'\n", r"no 'equations'"),
    ("equations = \"\"\"\n", r"not valid TOML"),
    ("equations = 'dv/dt = -v/ms + I/nA*mV/ms : volt'\n", r"input: 'I' is not a parameter"),
])
def test_bad_model_file_is_one_line_with_exit_code_2(content, pattern, tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(content)
    code = main(["import-model", str(path), "--out", str(tmp_path / "x.py")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert re.search(pattern, err), err


def test_bad_paths(tmp_path, capsys):
    assert main(["import-model", str(tmp_path / "none.toml"), "--out", "x.py"]) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "m.txt").write_text("x")
    assert main(["import-model", str(tmp_path / "m.txt"), "--out", "x.py"]) == 2
    assert "must be a model file ending in .toml, .nml, .xml" in capsys.readouterr().err
    (tmp_path / "ok.toml").write_text(LIF_TOML)
    assert main(["import-model", str(tmp_path / "ok.toml"), "--out", str(tmp_path / "o.txt")]) == 2
    assert "must be a Python file ending in .py" in capsys.readouterr().err


def test_simulate_takes_a_model_file(lif_file, tmp_path):
    out = tmp_path / "sim"
    code = main(["simulate", "--model", str(lif_file), "--amplitude", "2000", "--t1", "50",
                 "--dt", "0.05", "--out", str(out)])
    assert code in (0, None)
    summary = json.loads((out / "summary.json").read_text())
    reference = jn.simulate(jn.LIF(), jn.StepCurrent(2.0), t1=50.0, dt=0.05)
    assert summary["n_spikes"] == int(reference.n_spikes) == 3
    np.testing.assert_allclose(summary["spike_times_ms"], reference.spike_times[:3], atol=1e-3)


def test_simulate_refuses_hh_conductances_for_another_model(tmp_path, capsys):
    assert main(["simulate", "--model", "lif", "--g-k", "30", "--out", str(tmp_path)]) == 2
    assert "--g-na and --g-k set Hodgkin–Huxley's conductances" in capsys.readouterr().err


def test_neuroml_and_lems_files_work_as_model_files(tmp_path, capsys):
    import neuroml_reference as ref

    if ref.jar_path() is None:
        pytest.skip("the jNeuroML jar (pyneuroml) with the NeuroML examples is not installed")
    folder = ref.extract_examples(tmp_path)
    lems = folder / "LEMSexamples" / "LEMS_NML2_Ex9_FN.xml"
    out = tmp_path / "fn_cell.py"
    assert main(["import-model", str(lems), "--out", str(out)]) in (0, None)
    assert "wrote" in capsys.readouterr().out and out.exists()
    model = load_model(lems)  # the one population's cell: FitzHugh–Nagumo, dimensionless V
    assert model.state_units == {"V": "1", "W": "1"}
