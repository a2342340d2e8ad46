"""benchmarks/import_brian2.py without Brian2: each of its Brian2 example strings imports with
`from_brian2` and simulates, checked against hand-computed values; its comparison on
hand-made spike trains; the forms it reports as unsupported still raise."""

import importlib.util
import math
import pathlib

import jax
import numpy as np
import pytest

import jaxneuron as jn

_PATH = pathlib.Path(__file__).parents[1] / "benchmarks" / "import_brian2.py"
_SPEC = importlib.util.spec_from_file_location("bench_import_brian2", _PATH)
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)

jax.config.update("jax_enable_x64", True)


def _simulate(example, t1, dt=None, amplitude=None):
    model = bench.jaxneuron_model(example)
    stimulus = bench.stimulus_for(model, example)
    if amplitude is not None:
        stimulus = jn.StepCurrent(amplitude, stimulus.t_start, stimulus.t_stop)
    dt = example["dts"][0] if dt is None else dt
    detect = {"threshold": example["spike_mV"]} if "spike_mV" in example else {}
    return model, jn.simulate(model, stimulus, t1=t1, dt=dt,
                              solver=bench.BRIAN2_TO_SOLVER[example["method"]],
                              max_spikes=128, throw=False, **detect)


_HH = ("COBAHH (Traub-Miles)", "Hodgkin-Huxley 1952")


@pytest.mark.parametrize("name", list(bench.EXAMPLES))
def test_every_example_imports_with_its_states(name):
    model = bench.jaxneuron_model(bench.EXAMPLES[name])
    diff = [line.split("/dt")[0].strip().removeprefix("d")
            for line in bench.EXAMPLES[name]["model"]["equations"].splitlines()
            if "/dt" in line]
    assert list(model.state_names) == diff
    assert np.isfinite(model.initial_state()).all()


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in _HH else n
                                  for n in bench.EXAMPLES])
def test_every_example_spikes_under_its_step(name):
    example = bench.EXAMPLES[name]
    _, trace = _simulate(example, example["t1"])
    assert np.all(np.isfinite(trace.v))
    start, stop = example["stimulus"][2:]
    spikes = np.asarray(trace.spike_times)[: int(trace.n_spikes)]
    driven = (spikes > start) & (spikes < stop + 5.0)
    assert driven.sum() >= 3
    # The step drives the firing: denser during it than before and after it (the COBAHH
    # cell also fires by itself, at a lower rate).
    assert driven.sum() / (stop - start) > (~driven).sum() / (example["t1"] - stop + start)


def test_input_units_and_converted_parameters_are_the_examples():
    # COBAHH: 1 uF/cm**2 and 5e-5, 100, 30 mS/cm**2 on 20000 um**2 = 2e-4 cm**2.
    hh = bench.jaxneuron_model(bench.EXAMPLES["COBAHH (Traub-Miles)"])
    assert hh.input_unit == "pA"
    assert (hh.Cm, hh.gl, hh.g_na, hh.g_kd) == pytest.approx((200.0, 10.0, 20000.0, 6000.0))
    stimulus = bench.stimulus_for(hh, bench.EXAMPLES["COBAHH (Traub-Miles)"])
    assert float(stimulus.amplitude) == pytest.approx(500.0)  # 0.5 nA
    assert bench.jaxneuron_model(bench.EXAMPLES["Izhikevich 2003"]).input_unit == "1"
    hh52 = bench.jaxneuron_model(bench.EXAMPLES["Hodgkin-Huxley 1952"])
    assert hh52.input_unit == "uA/cm**2" and hh52.gNa == pytest.approx(120.0)
    assert isinstance(hh52, jn.models.AbstractGatedNeuron)  # exp_euler as Brian2's


def test_hh_1952_rests_at_zero():
    # v is measured from rest in Hodgkin & Huxley's convention: El = 10.613 mV makes the
    # resting potential 0 mV, so with no current v settles there.
    _, trace = _simulate(bench.EXAMPLES["Hodgkin-Huxley 1952"], 40.0, dt=0.02, amplitude=0.0)
    assert abs(float(trace.v[-1])) < 0.05


def test_coba_lif_interspike_interval_is_the_analytic_one():
    # No synaptic input: C dv/dt = g_l (E_l - v) + I, from V_r to V_th, then 5 ms held.
    # v_inf = -60 + 150/9.99 mV, tau = 198/9.99 ms; ISI = tau ln((v_inf - V_r)/(v_inf - V_th))
    # + 5 ms = 26.74 ms.
    v_inf, tau = -60.0 + 150.0 / 9.99, 198.0 / 9.99
    isi = tau * math.log((v_inf + 60.0) / (v_inf + 50.0)) + 5.0
    _, trace = _simulate(bench.EXAMPLES["COBA LIF (Stimberg et al. 2018)"], 120.0, dt=0.01)
    spikes = np.asarray(trace.spike_times)[: int(trace.n_spikes)]
    assert len(spikes) >= 3
    np.testing.assert_allclose(np.diff(spikes), isi, atol=0.02)


def test_compare_on_hand_made_runs():
    ts = np.arange(0.0, 10.0, 0.1)
    theirs = {"ts": ts, "v": np.zeros_like(ts), "spikes": np.array([1.0, 5.0])}
    ours = {"ts": np.arange(0.0, 10.05, 0.1), "v": np.full(101, 0.3),
            "spikes": np.array([1.05, 5.15]), "ok": True, "status": 0}
    row = bench.compare(ours, theirs, 0.1)
    assert (row["spikes_brian2"], row["spikes_jaxneuron"]) == (2, 2)
    assert row["first_dt_ms"] == pytest.approx(0.05) and row["max_dt_ms"] == pytest.approx(0.15)
    assert row["max_disi_ms"] == pytest.approx(0.1)
    assert row["rms_mV"] == pytest.approx(0.3) and row["verdict"] == "agree"
    late = bench.compare({**ours, "spikes": np.array([1.05, 5.35])}, theirs, 0.1)
    assert late["verdict"] == "differ"  # the interval is 0.3 ms > 2 dt longer
    assert bench.compare({**ours, "spikes": np.array([1.0])}, theirs, 0.1)["verdict"] == "differ"
    flagged = bench.compare({**ours, "ok": False, "status": 6}, theirs, 0.1)
    assert flagged["verdict"].startswith("agree, but jaxneuron flags the run (status 6)")


@pytest.mark.parametrize("name,message", [
    # a threshold on a gate with a refractory condition: not read (the message names the
    # first of the two that the importer checks)
    ("Hodgkin-Huxley 1952, spikes as in the example",
     r"refractory: a condition|threshold 'm > 0.5' without a reset"),
    ("Hodgkin-Huxley 1952, point current", r"flag \(point current\) on .I. is not supported"),
])
def test_the_forms_reported_unsupported_still_raise(name, message):
    with pytest.raises(ValueError, match=message):
        jn.from_brian2(**bench.UNSUPPORTED[name]["model"])


def test_batch_counts_are_the_analytic_lif_counts():
    # The COBA cell with g_l scaled by s: from E_l at the step's start, every spike comes T0
    # = tau ln((v_inf - V_r)/(v_inf - V_th)) after the last one's end of refractoriness.
    example = dict(bench.EXAMPLES["COBA LIF (Stimberg et al. 2018)"], dt=0.1)
    scales = bench.batch_scales(8)
    counts = bench.jaxneuron_batch(example, n=8)["counts"]
    checked = 0
    for s, count in zip(scales, counts, strict=True):
        v_inf, tau = -60.0 + 150.0 / (9.99 * s), 198.0 / (9.99 * s)
        t0 = tau * math.log((v_inf + 60.0) / (v_inf + 50.0)) if v_inf > -50.0 else math.inf
        times = 20.0 + t0 + (t0 + 5.0) * np.arange(20)
        if np.min(np.abs(times - 220.0)) > 1.0:  # no spike near the end of the step
            assert count == np.sum(times < 220.0)
            checked += 1
    assert checked >= 6
