"""`jaxneuron.from_brian2`: Brian2 strings of the built-in models run like the built-ins
(float64, same engine and dt), units are converted, gradients match finite differences."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron._fields import replace_parameters
from jaxneuron.imports import catalog as b2, from_brian2

jax.config.update("jax_enable_x64", True)


def _run(model, amplitude, t1, dt, **kw):
    return jn.simulate(model, jn.StepCurrent(amplitude, 5.0, t1 - 5.0), t1=t1, dt=dt,
                       save_every=dt, **kw)


@pytest.mark.parametrize("case,builtin,scale,amplitude,t1", [
    (b2.LIF, jn.LIF(), 1000.0, 2.0, 60.0),                     # nA -> pA
    (b2.IZHIKEVICH, jn.Izhikevich.preset("RS"), 1.0, 10.0, 100.0),
    (b2.ADEX, jn.AdEx(), 1.0, 800.0, 100.0),
], ids=["LIF", "Izhikevich", "AdEx"])
def test_brian2_strings_of_spiking_builtins_give_the_same_traces(case, builtin, scale,
                                                                 amplitude, t1):
    imported = from_brian2(**case)
    ours = _run(imported, amplitude * scale, t1, 0.05)
    ref = _run(builtin, amplitude, t1, 0.05)
    assert int(ref.n_spikes) >= 3
    assert int(ours.n_spikes) == int(ref.n_spikes)
    np.testing.assert_allclose(ours.v, ref.v, rtol=0, atol=1e-10)
    n = int(ref.n_spikes)
    np.testing.assert_allclose(ours.spike_times[:n], ref.spike_times[:n], rtol=0, atol=1e-10)


def test_brian2_hh_is_gated_and_matches_the_builtin():
    imported = from_brian2(**b2.HH, initial=b2.hh_initial())
    assert isinstance(imported, jn.models.AbstractGatedNeuron)
    assert imported.input_unit == "uA/cm**2"
    assert imported.state_units == {"v": "mV", "m": "1", "h": "1", "n": "1"}
    assert imported.parameter_units["gNa"] == "mS/cm**2" and imported.gNa == pytest.approx(120)
    ours, ref = _run(imported, 10.0, 50.0, 0.025), _run(jn.HodgkinHuxley(), 10.0, 50.0, 0.025)
    assert np.max(ref.v) > 20  # it spikes
    np.testing.assert_allclose(ours.v, ref.v, rtol=0, atol=1e-10)


def test_units_are_converted_to_the_stored_ones():
    model = from_brian2(**b2.ADEX)
    assert model.input_unit == "pA" and model.state_units == {"vm": "mV", "w": "pA"}
    assert model.C == pytest.approx(281.0) and model.b == pytest.approx(80.5)
    assert model.parameter_units["tauw"] == "ms" and model.tauw == pytest.approx(144.0)
    assert model.parameter_units["a"] == "nS" and model.vm_init == pytest.approx(-70.6)


def test_a_subthreshold_lif_relaxes_as_the_analytic_solution():
    # tau dv/dt = EL - v + R I: v(t) = EL + R I (1 - exp(-t/tau)) from rest.
    model = from_brian2("dv/dt = (EL - v + R*I)/tau : volt\nI : amp",
                        namespace={"EL": "-70*mV", "R": "100*Mohm", "tau": "20*ms"},
                        initial={"v": "-70*mV"})
    trace = jn.simulate(model, jn.StepCurrent(50.0), t1=40.0, dt=0.01, save_every=1.0,
                        solver="tsit5")
    expected = -70.0 + 100e6 * 50e-12 * 1e3 * (1 - np.exp(-np.asarray(trace.ts) / 20.0))
    np.testing.assert_allclose(trace.v, expected, atol=1e-7)


def test_gradient_of_an_imported_model_matches_finite_differences():
    base = from_brian2(**b2.ADEX)

    def loss(tau):
        model = replace_parameters(base, {"tauw": tau})
        trace = _run(model, 500.0, 60.0, 0.05)
        return jnp.mean(trace.v)

    g = jax.grad(loss)(144.0)
    h = 1e-4
    fd = (loss(144.0 + h) - loss(144.0 - h)) / (2 * h)
    assert float(g) == pytest.approx(float(fd), rel=1e-4, abs=1e-8)


def test_imported_models_vmap_over_parameters():
    model = from_brian2(**b2.LIF)
    taus = jnp.array([5.0, 10.0, 20.0])
    traces = jax.vmap(lambda tau: _run(replace_parameters(model, {"tau_m": tau}),
                                       2000.0, 60.0, 0.05))(taus)
    counts = np.asarray(traces.n_spikes)
    assert counts[0] > counts[1] > counts[2]


@pytest.mark.parametrize("case", [pytest.param(b2.HH, marks=pytest.mark.slow), b2.ADEX],
                         ids=["HH", "AdEx"])
def test_written_model_file_imports_and_runs_identically(case, tmp_path, monkeypatch):
    import importlib

    from jaxneuron.imports import write_model

    imported = from_brian2(**case)
    module_name = f"written_{case['name'].lower()}"
    write_model(imported, tmp_path / f"{module_name}.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(module_name)
    written = getattr(module, case["name"])()
    assert written.state_names == imported.state_names
    assert written.input_unit == imported.input_unit
    assert isinstance(written, jn.models.AbstractGatedNeuron) == isinstance(
        imported, jn.models.AbstractGatedNeuron)
    amplitude = 10.0 if case is b2.HH else 800.0
    a, b = _run(imported, amplitude, 60.0, 0.05), _run(written, amplitude, 60.0, 0.05)
    assert np.max(a.v) > 0 if case is b2.HH else int(a.n_spikes) >= 2  # it spikes
    np.testing.assert_allclose(b.v, a.v, rtol=0, atol=1e-10)
    assert int(a.n_spikes) == int(b.n_spikes)


def test_a_threshold_without_reset_only_detects_spikes():
    """Brian2's HH examples: `threshold='v > -20*mV'`, no reset. The import is the smooth HH
    whose spikes are the upward crossings of -20 mV: the same spike times as the built-in HH
    recorded with threshold=-20."""
    imported = from_brian2(**b2.HH, initial=b2.hh_initial(), threshold="v > -20*mV",
                           refractory="v > -20*mV")
    assert not isinstance(imported, jn.models.AbstractSpikingNeuron)
    assert imported.spike_threshold == pytest.approx(-20.0)
    ours = _run(imported, 10.0, 60.0, 0.025)
    ref = _run(jn.HodgkinHuxley(), 10.0, 60.0, 0.025, threshold=-20.0)
    n = int(ref.n_spikes)
    assert n >= 3 and int(ours.n_spikes) == n
    np.testing.assert_allclose(ours.spike_times[:n], ref.spike_times[:n], atol=1e-9)
    with pytest.raises(ValueError, match="must compare the membrane potential with a constant"):
        from_brian2(**b2.HH, threshold="m > 0.5")


def test_the_membrane_potential_leads_the_state_whatever_the_order_written():
    lines = b2.HH["equations"].strip().splitlines()
    gates_first = "\n".join(lines[1:4] + lines[:1] + lines[4:])
    imported = from_brian2(**{**b2.HH, "equations": gates_first}, initial=b2.hh_initial())
    assert imported.state_names == ("v", "m", "h", "n")
    assert isinstance(imported, jn.models.AbstractGatedNeuron)  # the exponential solvers
    ours, ref = _run(imported, 10.0, 30.0, 0.025), _run(jn.HodgkinHuxley(), 10.0, 30.0, 0.025)
    np.testing.assert_allclose(ours.v, ref.v, rtol=0, atol=1e-10)
