"""The CLI and its workflows: every sub-command is registered, and small runs write outputs."""

import json

import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron.apps.cli import build_parser, main
from jaxneuron.apps.workflows import WORKFLOWS
from jaxneuron.apps.workflows.spiking import run as run_spiking


def test_every_workflow_has_a_subcommand():
    commands = build_parser()._subparsers._group_actions[0].choices
    assert set(commands) >= {"demo", "simulate", "spiking"}
    assert len(commands) == len(WORKFLOWS)


def test_bad_input_exits_with_code_2(capsys, tmp_path):
    assert main(["simulate", "--dt", "-1", "--out", str(tmp_path)]) == 2
    assert "dt" in capsys.readouterr().err


def test_simulate_command_writes_trace_and_summary(tmp_path):
    assert main(["simulate", "--t1", "20", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    trace = np.loadtxt(tmp_path / "trace.csv", delimiter=",", skiprows=1)
    assert trace.shape == (801, 5)  # t, V, m, h, n at dt = 0.025 ms
    assert len(summary["spike_times_ms"]) == summary["n_spikes"] >= 1
    assert (tmp_path / "trace.png").stat().st_size > 0


def test_spike_time_mse_counts_missing_spikes_at_the_end_of_the_run():
    trace = jn.Trace(ts=jnp.array([0.0, 10.0]), states=jnp.zeros((2, 1)), v=jnp.zeros(2),
                     spike_times=jnp.array([1.0, 2.0, jnp.nan, jnp.nan]), n_spikes=jnp.array(2),
                     final_state=jnp.zeros(1), ok=jnp.array(True), state_names=("V",))
    loss = jn.spike_time_mse(trace, jnp.array([1.5, 2.0, 4.0]))
    assert float(loss) == pytest.approx((0.5**2 + 0.0 + 6.0**2) / 3)


@pytest.mark.slow
def test_spiking_workflow_recovers_lif_and_checks_gradients(tmp_path):
    summary = run_spiking(tmp_path, quick=True, log=lambda *_: None)
    assert summary["dspike3_dd_relative_error"] < 1e-3
    for name, value in summary["lif_fit_true"].items():
        assert summary["lif_fit_params"][name] == pytest.approx(value, rel=0.01)
    assert summary["presets"]["CH"]["bursts"] >= 2
    assert {p.name for p in tmp_path.glob("*.png")} == {
        "izhikevich_presets.png", "clock_vs_exact.png", "lif_spike_fit.png"}


@pytest.mark.slow
def test_generalized_neuron_workflow_reproduces_every_signature(tmp_path):
    from jaxneuron.apps.workflows.generalized import run

    summary = run(tmp_path, quick=True, log=lambda *_: None)
    assert summary["all_signatures_reproduced"], summary["signatures"]
    assert summary["stdp"]["window_max_abs_error"] < 1e-12
    attenuation = summary["dendritic_attenuation"]
    assert attenuation["epsp_ratio"] == pytest.approx(attenuation["attenuation_ratio"], rel=0.05)
    assert {p.name for p in tmp_path.glob("*.png")} == {
        "fi_curves.png", "cell_states.png", "stdp_window.png", "stdp_weights.png"}


@pytest.mark.slow
def test_recurrent_network_workflow_meets_the_calibrated_objectives(tmp_path):
    from jaxneuron.apps.workflows.recurrent import run

    summary = run(tmp_path, quick=True, log=lambda *_: None)
    objectives = summary["objectives"]
    assert objectives["interneuron_spikes_per_cycle"] == pytest.approx(20.0, abs=2.0)
    assert objectives["onset_fraction_within_4_steps"] >= 0.85
    assert (tmp_path / "weights.png").stat().st_size > 0


def test_sweep_command_streams_to_a_store_and_resumes(tmp_path):
    args = ["sweep", "--param", "g_Na=60:180", "--param", "stimulus.amplitude=2:20", "--n",
            "64", "--chunk", "32", "--t1", "20", "--precision", "float64",
            "--store", str(tmp_path / "s.zarr"), "--out", str(tmp_path)]
    assert main(args) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["n_sets"] == 64 and summary["complete"] and summary["failed"] == 0
    from jaxneuron.store import open_sweep

    ds = open_sweep(tmp_path / "s.zarr")
    assert ds["g_Na"].values.min() >= 60.0 and ds["stimulus.amplitude"].values.max() <= 20.0
    # spikes need a strong enough step: the count rises with the amplitude
    low, high = ds["stimulus.amplitude"].values < 5.0, ds["stimulus.amplitude"].values > 15.0
    assert ds["n_spikes"].values[high].mean() > ds["n_spikes"].values[low].mean()
    assert main(args) == 0  # everything done: the second call computes nothing
    assert main(args[:-4] + ["--store", str(tmp_path / "s.zarr"), "--out", str(tmp_path),
                             "--seed", "1"]) == 2  # a different call on the same store


@pytest.mark.slow
def test_izhikevich_network_workflow_settles_into_rhythmic_activity(tmp_path):
    from jaxneuron.apps.workflows.izhikevich_network import run

    summary = run(tmp_path, quick=True, log=lambda *_: None)
    assert 3.0 < summary["rate_exc_hz"] < 30.0 and 3.0 < summary["rate_inh_hz"] < 30.0
    assert 1.0 < summary["spectral_peak_hz"] < 80.0
    assert (tmp_path / "spectrum.png").stat().st_size > 0
