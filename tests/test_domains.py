"""No silent wrong results: every model's valid domain is enforced at construction and per
set inside a batch; truncated spike lists are never ok; failed sets carry a reason."""

import math
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import jaxneuron as jn
from jaxneuron.apps.cli import main
from jaxneuron.apps.workflows.hh_simulate import default_max_spikes
from jaxneuron.sweep import spike_summary
from jaxneuron.trace import (
    STATUS_NONFINITE,
    STATUS_OK,
    STATUS_OUTSIDE_DOMAIN,
    STATUS_SOLVER_FAILED,
    STATUS_SPIKES_OVERFLOWED,
    status_reason,
)

NAN, INF = float("nan"), float("inf")
HH, STEP = jn.HodgkinHuxley(), jn.StepCurrent(10.0)


def _sweep(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return jn.sweep(*args, progress=False, **kwargs)


# ---- (a) bad inputs: ValueError naming the argument and the allowed values ------------------

BAD_INPUTS = [
    (lambda: jn.HodgkinHuxley(C_m=0.0), r"C_m must be > 0 and finite; got C_m = 0\.0"),
    (lambda: jn.HodgkinHuxley(C_m=-1.0), r"C_m must be > 0 and finite"),
    (lambda: jn.HodgkinHuxley(C_m=NAN), r"C_m must be > 0 and finite; got C_m = nan"),
    (lambda: jn.HodgkinHuxley(g_Na=-5.0), r"g_Na must be >= 0 and finite"),
    (lambda: jn.HodgkinHuxley(g_K=INF), r"g_K must be >= 0 and finite"),
    (lambda: jn.HodgkinHuxley(g_L=0.0), r"g_L must be > 0 and finite"),
    (lambda: jn.HodgkinHuxley(temperature_c=-300.0),
     r"temperature_c must be > -273\.15 \(°C, above absolute zero\)"),
    (lambda: jn.HodgkinHuxley(E_Na=NAN), r"E_Na must be finite"),
    (lambda: jn.HodgkinHuxley(E_K=-INF), r"E_K must be finite"),
    (lambda: jn.HodgkinHuxley(v_init=NAN), r"v_init must be finite"),
    (lambda: jn.HodgkinHuxley(g_Na="120"), r"g_Na must be a number \(a float or an array"),
    (lambda: jn.HodgkinHuxley(C_m=jnp.array([1.0, 0.0])), r"C_m must be > 0 and finite"),
    (lambda: jn.LIF(tau_m=0.0), r"tau_m must be > 0 and finite"),
    (lambda: jn.LIF(R=-1.0), r"R must be > 0 and finite"),
    (lambda: jn.LIF(t_ref=-1.0), r"t_ref must be >= 0 and finite"),
    (lambda: jn.LIF(V_th=NAN), r"V_th must be finite"),
    (lambda: jn.LIF(v_init=INF), r"v_init must be finite"),
    (lambda: jn.LIF(tau_m="a"), r"tau_m must be a number"),
    (lambda: jn.Izhikevich(a=NAN), r"a must be finite"),
    (lambda: jn.Izhikevich(v_peak=INF), r"v_peak must be finite"),
    (lambda: jn.AdEx(Delta_T=0.0), r"Delta_T must be > 0 and finite"),
    (lambda: jn.AdEx(C=-1.0), r"C must be > 0 and finite"),
    (lambda: jn.AdEx(t_ref=-0.5), r"t_ref must be >= 0 and finite"),
    (lambda: jn.ConductanceLIF(tau_e=0.0), r"tau_e must be > 0 and finite"),
    (lambda: jn.ConductanceLIF(E_i=NAN), r"E_i must be finite"),
    (lambda: jn.GeneralizedNeuron(lambda_d=0.0), r"lambda_d must be > 0 and finite"),
    (lambda: jn.GeneralizedNeuron(g_c=-1.0), r"g_c must be >= 0 and finite"),
    (lambda: jn.RestingMembrane(temperature_c=-274.0),
     r"temperature_c must be > -273\.15 \(°C, above absolute zero\)"),
    (lambda: jn.RestingMembrane(K_o=0.0), r"K_o must be > 0 and finite"),
    (lambda: jn.RestingMembrane(leak="conductance", g_K=0.0, g_Na=0.0, g_Cl=0.0),
     r"g_K, g_Na, g_Cl: at least one must be > 0"),
    (lambda: jn.StepCurrent("a"), r"amplitude must be a number"),
    (lambda: jn.simulate(HH, STEP, t1=1.0, threshold=NAN),
     r"threshold must be a finite voltage \(mV\); got nan"),
    (lambda: jn.simulate(HH, STEP, t1=1.0, threshold=INF), r"threshold must be a finite"),
    (lambda: jn.simulate(HH, STEP, t1=1.0, y0=[NAN, 0.1, 0.6, 0.3]),
     r"y0 must be finite numbers \(the initial state, V, m, h, n\)"),
    (lambda: jn.simulate(jn.LIF(), STEP, t1=1.0, y0=[INF]), r"y0 must be finite numbers"),
    (lambda: jn.sweep(HH, {"g_Na": []}, STEP, t1=1.0), r"params: .*empty \(length 0\)"),
    (lambda: jn.sweep(HH, {"g_Na": np.zeros(0), "g_K": np.zeros(0)}, STEP, t1=1.0),
     r"params: .*empty"),
    (lambda: jn.sweep(HH, {"g_Na": ["a"]}, STEP, t1=1.0),
     r"params: g_Na must hold numbers \(ints or floats\)"),
    (lambda: jn.sweep(HH, {"C_m": np.array(["1.0", "2.0"])}, STEP, t1=1.0),
     r"params: C_m must hold numbers"),
]


@pytest.mark.parametrize(("make", "message"), BAD_INPUTS,
                         ids=[f"row{i}" for i in range(len(BAD_INPUTS))])
def test_bad_inputs_raise_value_error_naming_argument_and_range(make, message):
    assert len(BAD_INPUTS) >= 25
    with pytest.raises(ValueError, match=message):
        make()


def test_every_model_states_a_domain_that_holds_for_its_defaults():
    for model in (jn.HodgkinHuxley(), jn.LIF(), jn.Izhikevich(), jn.AdEx(),
                  jn.ConductanceLIF(), jn.GeneralizedNeuron(), jn.RestingMembrane()):
        domain = model.domain()
        assert domain, type(model).__name__
        assert all(bool(np.all(v)) for v in domain.values()), type(model).__name__
        # the same domain evaluates on tracers (as inside sweep / vmap)
        traced = jax.jit(lambda m: jnp.stack([jnp.all(v) for v in m.domain().values()]))(model)
        assert bool(jnp.all(traced))


def test_default_cli_spike_buffer_fits_a_long_hh_run(tmp_path):
    assert default_max_spikes(1000.0) >= 200  # HH fires ~100 Hz at 30 µA/cm²
    assert main(["simulate", "--t1", "20", "--amplitude", "30", "--max-spikes", "1",
                 "--out", str(tmp_path)]) == 2


# ---- run-time checks: Trace.status ------------------------------------------------------------


@pytest.mark.slow
def test_invalid_values_set_inside_a_transform_fail_with_status_4():
    bad = eqx.tree_at(lambda m: m.C_m, HH, jnp.asarray(0.0))  # no constructor check
    trace = jn.simulate(bad, STEP, t1=5.0, throw=False)
    assert not bool(trace.ok) and int(trace.status) == STATUS_OUTSIDE_DOMAIN
    with pytest.raises(Exception, match="outside the model's domain: C_m must be > 0"):
        jn.simulate(bad, STEP, t1=5.0)

    def run(temperature):
        m = eqx.tree_at(lambda m: m.temperature_c, HH, temperature)
        t = jn.simulate(m, STEP, t1=5.0, throw=False, save_every=0)
        return t.ok, t.status

    ok, status = jax.jit(jax.vmap(run))(jnp.array([6.3, -300.0, NAN]))
    np.testing.assert_array_equal(ok, [True, False, False])
    np.testing.assert_array_equal(status, [0, 4, 4])


@pytest.mark.slow  # 15-20 s on 2 idle cores; keeps make test under 15 min
def test_status_names_the_failure():
    blow_up = jn.simulate(jn.HodgkinHuxley(g_Na=5000.0), STEP, t1=20.0, dt=0.1,
                          solver="euler", throw=False)
    assert int(blow_up.status) == STATUS_NONFINITE and not bool(blow_up.ok)
    budget = jn.simulate(jn.LIF(), jn.StepCurrent(3.0), t1=20.0, spiking="exact",
                         max_steps=3, throw=False)
    assert int(budget.status) == STATUS_SOLVER_FAILED and not bool(budget.ok)
    assert "solver failed" in status_reason(STATUS_SOLVER_FAILED)
    full = jn.simulate(jn.LIF(), jn.StepCurrent(3.0), t1=100.0, max_spikes=2, throw=False)
    assert int(full.status) == STATUS_SPIKES_OVERFLOWED and bool(full.spikes_overflowed)
    fine = jn.simulate(jn.LIF(), jn.StepCurrent(3.0), t1=100.0, max_spikes=64)
    assert int(fine.status) == STATUS_OK and bool(fine.ok)
    assert "max_spikes" in status_reason(STATUS_SPIKES_OVERFLOWED)


# ---- (b) sweeps flag exactly the invalid sets, with the reason --------------------------------


@pytest.mark.slow  # 15-20 s on 2 idle cores; keeps make test under 15 min
def test_sweep_flags_invalid_hh_sets_by_index_and_reason():
    params = {"C_m": np.array([1.0, 0.0, 1.0, 1.0, 1.2, -1.0]),
              "g_Na": np.array([120.0, 120.0, -10.0, 120.0, 100.0, 120.0]),
              "temperature_c": np.array([6.3, 6.3, 6.3, -300.0, 10.0, 6.3])}
    with pytest.warns(RuntimeWarning, match="4 of 6 .*4: parameters outside"):
        result = jn.sweep(HH, params, STEP, t1=20.0, progress=False)
    np.testing.assert_array_equal(result.failed, [1, 2, 3, 5])
    np.testing.assert_array_equal(result.status, [0, 4, 4, 4, 0, 4])
    reasons = {row["index"]: row["reason"] for row in result.failed_parameters()}
    assert "C_m must be > 0" in reasons[1] and "C_m must be > 0" in reasons[5]
    assert "g_Na must be >= 0" in reasons[2]
    assert "temperature_c must be > -273.15" in reasons[3]
    assert result.reasons[0] == "ok"
    for i in (4,):
        model = jn.HodgkinHuxley(**{k: float(v[i]) for k, v in params.items()})
        one = spike_summary(jn.simulate(model, STEP, t1=20.0, save_every=0))
        for name, value in one.items():
            np.testing.assert_allclose(result.summaries[name][i], value, rtol=1e-10)


def test_sweep_flags_invalid_lif_sets():
    params = {"tau_m": np.array([10.0, 0.0, 10.0, 20.0]),
              "t_ref": np.array([2.0, 2.0, -1.0, 0.0])}
    result = _sweep(jn.LIF(), params, jn.StepCurrent(2.0), t1=50.0, max_spikes=32)
    np.testing.assert_array_equal(result.ok, [True, False, False, True])
    assert "tau_m must be > 0" in result.violations[1]
    assert "t_ref must be >= 0" in result.violations[2]
    columns = result.table()
    np.testing.assert_array_equal(columns["status"], [0, 4, 4, 0])


# ---- (c) truncated spike lists are never ok -----------------------------------------------


def test_overflow_in_sweep_is_a_failed_set():
    result = _sweep(jn.LIF(), {"R": np.array([5.0, 30.0])}, jn.StepCurrent(2.0), t1=100.0,
                    max_spikes=4)
    assert int(result.summaries["n_spikes"][1]) > 4
    np.testing.assert_array_equal(result.ok, [True, False])
    np.testing.assert_array_equal(result.status, [0, STATUS_SPIKES_OVERFLOWED])
    assert "max_spikes" in result.failed_parameters()[0]["reason"]


def _steady_rate_hz(spike_times, n_last=3):
    isi = np.diff(spike_times)
    return 1000.0 / isi[-n_last:].mean()


@pytest.mark.slow
def test_hh_ramp_steady_rate_is_flagged_when_the_buffer_overflows():
    ramp = jn.RampCurrent(10.0, 60.0, 0.0, 1000.0)
    kwargs = dict(t1=1000.0, dt=0.025)
    # the truth, independently: every spike time of one run with a large buffer
    reference = jn.simulate(HH, ramp, save_every=0, max_spikes=1024, **kwargs)
    times = np.asarray(reference.spike_times)[: int(reference.n_spikes)]
    assert int(reference.n_spikes) > 64 and np.all(np.isfinite(times))
    truth = _steady_rate_hz(times)
    small = _sweep(HH, {"g_Na": np.array([120.0])}, ramp, max_spikes=64, **kwargs)
    assert not small.ok[0] and small.status[0] == STATUS_SPIKES_OVERFLOWED
    assert abs(small.summaries["steady_rate_hz"][0] - truth) > 1.0  # truncated: wrong
    large = _sweep(HH, {"g_Na": np.array([120.0])}, ramp, max_spikes=512, **kwargs)
    assert large.ok[0] and large.status[0] == STATUS_OK
    np.testing.assert_allclose(large.summaries["steady_rate_hz"][0], truth, rtol=1e-9)


# ---- (d) properties: ok implies finite summaries, a valid domain, a complete spike list ------

N_SETS, MAX_SPIKES = 8, 6


@jax.jit
def _hh_batch(c_m, g_na, temperature):
    def one(c, g, t):
        model = eqx.tree_at(lambda m: (m.C_m, m.g_Na, m.temperature_c), HH, (c, g, t))
        trace = jn.simulate(model, jn.StepCurrent(15.0), t1=30.0, dt=0.05, save_every=0,
                            max_spikes=MAX_SPIKES, throw=False)
        return spike_summary(trace), trace.status, trace.ok

    return jax.vmap(one)(c_m, g_na, temperature)


@jax.jit
def _lif_batch(tau_m, v_th, t_ref):
    def one(tau, th, ref):
        model = eqx.tree_at(lambda m: (m.tau_m, m.V_th, m.t_ref), jn.LIF(), (tau, th, ref))
        trace = jn.simulate(model, jn.StepCurrent(2.5), t1=40.0, dt=0.1, save_every=0,
                            max_spikes=MAX_SPIKES, throw=False)
        return spike_summary(trace), trace.status, trace.ok, trace.spike_times

    return jax.vmap(one)(tau_m, v_th, t_ref)


def _values(low, high, specials):
    one = st.one_of(st.floats(low, high, allow_nan=False), st.sampled_from(specials))
    return st.lists(one, min_size=N_SETS, max_size=N_SETS)


def _assert_ok_is_trustworthy(summaries, status, ok, in_domain):
    complete = status == STATUS_OK  # what sweep reports as ok (before its summary check)
    assert np.all(ok[complete])
    assert np.all(in_domain[ok]), "ok outside the domain"
    assert np.all(~ok[~in_domain]) and np.all(status[~in_domain] == STATUS_OUTSIDE_DOMAIN)
    assert np.all(summaries["n_spikes"][complete] <= MAX_SPIKES)
    for name in ("n_spikes", "rate_hz", "v_final"):
        assert np.all(np.isfinite(summaries[name][ok])), name


@settings(max_examples=25, deadline=None)
@given(c_m=_values(-2.0, 5.0, [0.0, NAN, INF, 1.0]),
       g_na=_values(-50.0, 400.0, [0.0, -0.0, NAN, 120.0]),
       temperature=_values(-400.0, 40.0, [-273.15, -273.0, NAN, 6.3]))
def test_property_hh_ok_implies_finite_valid_and_complete(c_m, g_na, temperature):
    c_m, g_na, temperature = (np.asarray(x, dtype=float) for x in (c_m, g_na, temperature))
    summaries, status, ok = jax.tree.map(np.asarray, _hh_batch(c_m, g_na, temperature))
    with np.errstate(invalid="ignore"):
        in_domain = ((c_m > 0) & np.isfinite(c_m) & (g_na >= 0) & np.isfinite(g_na)
                     & (temperature > -273.15) & np.isfinite(temperature))
    _assert_ok_is_trustworthy(summaries, status, ok, in_domain)


@settings(max_examples=25, deadline=None)
@given(tau_m=_values(-5.0, 50.0, [0.0, NAN, 10.0, 0.5]),
       v_th=_values(-80.0, 0.0, [NAN, INF, -50.0, -64.0]),
       t_ref=_values(-3.0, 10.0, [0.0, -0.0, NAN, 2.0]))
def test_property_lif_ok_implies_finite_valid_and_complete(tau_m, v_th, t_ref):
    tau_m, v_th, t_ref = (np.asarray(x, dtype=float) for x in (tau_m, v_th, t_ref))
    summaries, status, ok, spike_times = jax.tree.map(np.asarray,
                                                      _lif_batch(tau_m, v_th, t_ref))
    with np.errstate(invalid="ignore"):
        in_domain = ((tau_m > 0) & np.isfinite(tau_m) & np.isfinite(v_th) & (t_ref >= 0)
                     & np.isfinite(t_ref))
    _assert_ok_is_trustworthy(summaries, status, ok, in_domain)
    complete = status == STATUS_OK
    recorded = np.sum(np.isfinite(spike_times), axis=1)
    np.testing.assert_array_equal(recorded[complete], summaries["n_spikes"][complete])


@settings(max_examples=3, deadline=None)
@given(c_m=st.lists(st.sampled_from([1.0, 0.0, -1.0, NAN, 2.0]), min_size=3, max_size=3))
def test_property_sweep_ok_sets_are_in_the_domain(c_m):
    result = _sweep(jn.LIF(), {"tau_m": np.asarray(c_m) * 10.0}, jn.StepCurrent(2.0),
                    t1=5.0, dt=0.1, max_spikes=4)
    with np.errstate(invalid="ignore"):
        valid = np.asarray(c_m) > 0
    np.testing.assert_array_equal(result.ok, valid)
    assert all(math.isfinite(v) for v in result.summaries["v_final"][result.ok])
    assert np.all(result.summaries["n_spikes"][result.ok] <= 4)


def test_store_keeps_the_status_of_each_set(tmp_path):
    ds = _sweep(jn.LIF(), {"tau_m": np.array([10.0, 0.0, 30.0])}, jn.StepCurrent(2.5),
                t1=50.0, max_spikes=3, store=tmp_path / "s")
    np.testing.assert_array_equal(ds["ok"].values, [False, False, True])
    np.testing.assert_array_equal(ds["status"].values,
                                  [STATUS_SPIKES_OVERFLOWED, STATUS_OUTSIDE_DOMAIN, STATUS_OK])
