"""RestingMembrane against brentq, the SciPy baseline, GHK and conservation laws."""

import equinox as eqx
import jax
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import jaxneuron as jn
from jaxneuron import biophysics as bp
from jaxneuron.baselines.scipy_resting import (
    RESTING_DEFAULTS,
    resting_potential_brentq,
    simulate_resting_scipy,
)
from jaxneuron.models.resting import stack_models

STIM = jn.StepCurrent(0.0)
TIGHT = dict(stepsize="adaptive", rtol=1e-10, atol=1e-10)
LONG = dict(solver="kvaerno5", stepsize="adaptive", rtol=1e-9, atol=1e-9, dt=1.0)
F = 1.602176634e-19 * 6.02214076e23  # C/mol, exact


@eqx.filter_jit
def _run(model, stimulus):
    """Fixed-concentration runs: 300 ms, adaptive Tsit5 at 1e-10, saved every 10 ms."""
    return jn.simulate(model, stimulus, t1=300.0, dt=0.1, save_every=10.0, **TIGHT)


@eqx.filter_jit
def _run_batch(batch):
    return jax.vmap(lambda m: _run(m, STIM).v[-1], in_axes=(jn.batch_axes(batch),))(batch)


@eqx.filter_jit
def _rest(model):
    return model.resting_potential()


_rest_grad = eqx.filter_jit(eqx.filter_grad(lambda m: m.resting_potential()))


def test_defaults_are_a_steady_state_of_every_mode():
    balanced = jn.RestingMembrane.balanced()
    for name in ("P_Na", "pump_max"):
        assert float(getattr(balanced, name)) == pytest.approx(
            float(getattr(jn.RestingMembrane(), name)), rel=1e-4)
    assert float(balanced.resting_potential()) == pytest.approx(
        float(bp.nernst(110.0, 10.0, -1)), abs=1e-9)
    for leak in ("ghk", "conductance"):
        for dynamics in ("fixed", "intracellular", "finite_bath"):
            model = jn.RestingMembrane(leak=leak, ion_dynamics=dynamics)
            y = model.initial_state()
            assert y.shape == (len(model.state_names),)
            assert float(y[0]) == pytest.approx(-64.088, abs=0.002)
            rates = np.asarray(model.vector_field(0.0, y, 0.0))
            assert abs(rates[0]) < 1e-8
            assert np.all(np.abs(rates[1:]) < 1e-8)  # mM/ms: < 0.01 mM per 20 min


@pytest.mark.parametrize("leak", ["ghk", "conductance"])
@pytest.mark.parametrize("params", [
    {}, dict(K_o=20.0), dict(P_Na=4e-7, g_Na=0.1, pump_max=0.0),
    dict(temperature_c=20.0, Cl_i=40.0, pump_max=5.0),
])
def test_resting_potential_equals_brentq_root(leak, params):
    model = jn.RestingMembrane(leak=leak, **params)
    root = resting_potential_brentq(params, leak)
    assert float(_rest(model)) == pytest.approx(root, abs=1e-9)
    # Implicit derivative vs finite differences of the brentq roots.
    k_o, h = float(model.K_o), 1e-4
    fd = (resting_potential_brentq({**params, "K_o": k_o + h}, leak)
          - resting_potential_brentq({**params, "K_o": k_o - h}, leak)) / (2 * h)
    assert float(_rest_grad(model).K_o) == pytest.approx(fd, rel=1e-6)


@pytest.mark.parametrize("leak", ["ghk", "conductance"])
def test_simulated_steady_state_is_the_zero_current_root_to_0p01_mV(leak):
    params = dict(K_o=12.0, P_Na=1.6e-7, g_Na=0.05, Cl_i=20.0)
    model = jn.RestingMembrane(leak=leak, v_init=-20.0, **params)
    v_end = float(_run(model, STIM).v[-1])
    assert v_end == pytest.approx(resting_potential_brentq(params, leak), abs=0.01)


@pytest.mark.parametrize("leak", ["ghk", "conductance"])
def test_trajectory_matches_scipy_baseline_fixed_concentrations(leak):
    model = jn.RestingMembrane(leak=leak, v_init=-30.0, K_o=8.0)
    trace = _run(model, jn.StepCurrent(1.5, 20.0, 60.0))
    ref = simulate_resting_scipy(lambda t: 1.5 if 20.0 <= t < 60.0 else 0.0, t1=300.0,
                                 params=dict(K_o=8.0), leak=leak, y0=np.array([-30.0]),
                                 t_eval=np.asarray(trace.ts), method="DOP853", rtol=1e-12,
                                 atol=1e-12)
    assert np.max(np.abs(np.asarray(trace.v) - ref.states[:, 0])) < 1e-5
    assert float(trace.v[5]) > float(trace.v[-1]) + 5.0  # the step depolarised it


@pytest.fixture(scope="module")
def long_runs():
    """One batched 10-minute run (finite bath) shared by the concentration-dynamics tests:
    control, complete pump block, and [K]o raised to 30 mM from V = -30 mV."""
    control = jn.RestingMembrane(ion_dynamics="finite_bath")
    models = [control.pin_start(), control.block_pump(),
              control.replace(v_init=-30.0).raise_potassium(30.0)]
    batch = stack_models(models)
    run = eqx.filter_jit(jax.vmap(
        lambda m: jn.simulate(m, STIM, t1=600_000.0, save_every=60_000.0, **LONG),
        in_axes=(jn.batch_axes(batch),)))
    return models, run(batch)


def test_trajectory_matches_scipy_baseline_with_concentration_dynamics(long_runs):
    models, traces = long_runs
    for k in (1, 2):
        overrides = dict(pump_max=0.0) if k == 1 else dict(K_o=30.0)
        ref = simulate_resting_scipy(t1=600_000.0, params=overrides, ion_dynamics="finite_bath",
                                     y0=np.asarray(models[k].initial_state()),
                                     t_eval=np.asarray(traces.ts[k]), method="Radau",
                                     rtol=1e-11, atol=1e-11)
        np.testing.assert_allclose(np.asarray(traces.states[k]), ref.states, rtol=1e-6,
                                   atol=1e-5)


def test_pump_block_runs_gradients_down_and_depolarises(long_runs):
    _, traces = long_runs
    v_control, v_block = np.asarray(traces.v[:2])
    na_i, k_i = np.asarray(traces.state("Na_i"))[1], np.asarray(traces.state("K_i"))[1]
    assert np.max(np.abs(v_control - v_control[0])) < 1e-3  # control stays at rest
    # The electrogenic part goes at once (about 5 mV), then V keeps rising as Na+ enters
    # and K+ leaves.
    assert v_block[1] > v_block[0] + 4.0
    assert np.all(np.diff(v_block[1:]) > 0.2) and v_block[-1] > v_block[1] + 3.0
    assert np.all(np.diff(na_i) > 0) and np.all(np.diff(k_i) < 0)
    # E_K follows the gradient: at the end it is less negative, and V rises with it.
    k_o = np.asarray(traces.state("K_o"))[1]
    e_k = np.asarray(bp.nernst(k_o, k_i, 1))
    assert e_k[-1] > e_k[0] + 5.0


def test_conservation_of_charge_and_ion_amounts(long_runs):
    models, traces = long_runs
    for k, model in enumerate(models):
        c = {name: np.asarray(traces.state(name))[k] for name in traces.state_names}
        vol, vol_o, area = float(model.volume), float(model.bath_volume), float(model.area)
        z = {"Na": 1, "K": 1, "Cl": -1}
        # Membrane charge C_m V A (1e-17 C units) balances the intracellular ionic charge
        # F vol sum z [X]_i (1e-18 C units).
        charge = float(model.C_m) * c["V"] * area - 0.1 * F * vol * sum(
            z[ion] * c[f"{ion}_i"] for ion in z)
        np.testing.assert_allclose(charge, charge[0], rtol=1e-9)
        for ion in z:
            amount = vol * c[f"{ion}_i"] + vol_o * c[f"{ion}_o"]
            np.testing.assert_allclose(amount, amount[0], rtol=1e-9)
            if k > 0:
                assert np.ptp(c[f"{ion}_i"]) > 0.1  # the concentrations did change


def test_raising_potassium_depolarises_towards_ghk():
    k_o = np.array([2.5, 5.0, 10.0, 20.0, 40.0, 80.0])
    base = jn.RestingMembrane().pin_start()
    # One sweep: the [K]o series without the pump, then with it.
    result = jn.sweep(base, {"K_o": np.tile(k_o, 2), "pump_max": np.repeat([0.0, 1.97408], 6)},
                      STIM, t1=300.0, dt=0.1, summary=lambda tr: {"v_final": tr.v[-1]},
                      progress=False, **TIGHT)
    assert result.failed.size == 0
    v, v_pumped = result.summaries["v_final"].reshape(2, 6)
    ghk = bp.ghk_voltage(np.array([1e-6, 8.0696e-8, 4.5e-7]),
                         np.stack([k_o, np.full(6, 145.0), np.full(6, 110.0)], 1),
                         np.array([140.0, 15.0, 10.0]), np.array([1, 1, -1]))
    np.testing.assert_allclose(v, ghk, atol=0.01)
    assert np.all(np.diff(v) > 0)
    # With the pump running, V depolarises too and ends within the pump's offset of GHK.
    assert np.all(np.diff(v_pumped) > 0)
    assert np.all((v_pumped < v) & (v_pumped > v - 10.0))


def test_scenarios_run_as_one_batch():
    model = jn.RestingMembrane()
    scenarios = [model.pin_start(), model.raise_potassium(20.0), model.block_pump(),
                 model.scale_permeabilities(Na=3.0), model.scale_permeabilities(K=0.5),
                 model.block_pump(0.5)]
    v = np.asarray(_run_batch(stack_models(scenarios)))
    for k, scenario in enumerate(scenarios):
        assert v[k] == pytest.approx(float(_rest(scenario)), abs=1e-4)
        assert v[k] == pytest.approx(float(_run(scenario, STIM).v[-1]), abs=1e-9)
    assert v[0] < v[5] < v[2] < v[1] and v[3] > v[0] and v[4] > v[0]


@eqx.filter_jit
def _v_end(model):
    return jn.simulate(model, STIM, t1=20.0, dt=0.05, solver="tsit5", save_every=0).v[-1]


@pytest.mark.slow  # long; keeps make test under 15 minutes
def test_gradients_through_simulate_match_finite_differences():
    model = jn.RestingMembrane(v_init=-40.0, P_Na=1e-7)
    grads = eqx.filter_jit(eqx.filter_grad(_v_end))(model)
    for name in ("P_Na", "K_o", "Na_i", "pump_max", "temperature_c", "C_m"):
        x = float(getattr(model, name))
        h = 1e-5 * abs(x)
        fd = (float(_v_end(model.replace(**{name: x + h})))
              - float(_v_end(model.replace(**{name: x - h})))) / (2 * h)
        grad = float(getattr(grads, name))
        assert np.isfinite(grad) and grad == pytest.approx(fd, rel=1e-5), name


@settings(max_examples=25, deadline=None)
@given(st.floats(0.5, 100.0), st.floats(5.0, 60.0), st.floats(1e-8, 1e-6), st.floats(0.0, 10.0),
       st.sampled_from(["ghk", "conductance"]))
def test_resting_potential_property_and_finite_gradient(k_o, na_i, p_na, pump_max, leak):
    params = dict(K_o=k_o, Na_i=na_i, P_Na=p_na, g_Na=p_na * 3e5, pump_max=pump_max)
    model = jn.RestingMembrane(leak=leak, **params)
    assert float(_rest(model)) == pytest.approx(resting_potential_brentq(params, leak), abs=1e-8)
    grads = _rest_grad(model)
    for name in ("K_o", "Na_i", "P_Na", "g_Na", "pump_max", "temperature_c"):
        assert np.isfinite(float(getattr(grads, name))), name


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(K_o=0.0), "K_o"), (dict(Na_i=-1.0), "Na_i"), (dict(Cl_o=float("nan")), "Cl_o"),
    (dict(temperature_c=-300.0), "temperature_c"), (dict(C_m=0.0), "C_m"),
    (dict(P_K=-1e-6), "P_K"), (dict(g_Na=-0.1), "g_Na"), (dict(pump_max=-1.0), "pump_max"),
    (dict(volume=0.0), "volume"), (dict(leak="ohmic"), "leak"),
    (dict(ion_dynamics="both"), "ion_dynamics"), (dict(P_K=0.0, P_Na=0.0, P_Cl=0.0), "P_K"),
    (dict(v_init=float("inf")), "v_init"),
])
def test_invalid_parameters_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        jn.RestingMembrane(**kwargs)


def test_invalid_scenarios_raise_value_error():
    model = jn.RestingMembrane()
    with pytest.raises(ValueError, match="fraction"):
        model.block_pump(1.5)
    with pytest.raises(ValueError, match="Na"):
        model.scale_permeabilities(Na=-1.0)
    with pytest.raises(ValueError, match="K_o"):
        model.raise_potassium(0.0).resting_potential()
    with pytest.raises(ValueError, match="E_K < E_Cl < E_Na"):
        jn.RestingMembrane.balanced(Cl_i=1.0)
    with pytest.raises(ValueError, match="name"):
        jn.RestingMembrane.balanced("octopus")
    with pytest.raises(ValueError, match="pin_start"):
        stack_models([model, model.pin_start()])


def test_baseline_defaults_match_the_model():
    model = jn.RestingMembrane()
    for name, value in RESTING_DEFAULTS.items():
        assert float(getattr(model, name)) == pytest.approx(value, rel=1e-12), name


@pytest.mark.slow
def test_resting_workflow_writes_its_outputs(tmp_path):
    from jaxneuron.apps.workflows.resting import run

    summary = run(tmp_path, quick=True, log=lambda *_: None)
    assert summary["rest_mv"] == pytest.approx(float(bp.nernst(110.0, 10.0, -1)), abs=0.01)
    assert summary["rest_vs_ko"]["max_abs_sim_minus_ghk_mv"] < 0.01
    assert summary["rest_vs_ko"]["failed"] == 0
    assert summary["pump_block"]["depolarisation_mv"] > 5.0
    assert summary["pump_block"]["control_drift_mv"] < 1e-3
    assert {p.name for p in tmp_path.glob("*.png")} == {
        "trajectory.png", "rest_vs_ko.png", "pump_block.png"}
    ko = np.loadtxt(tmp_path / "rest_vs_ko.csv", delimiter=",", skiprows=1)
    assert ko.shape == (12, 5)
