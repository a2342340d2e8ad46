"""Hodgkin–Huxley against SciPy and published values, gradients and batching."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import scipy_hh_spikes, spike_time_error

import jaxneuron as jn
from jaxneuron.baselines import simulate_hh_scipy, step_current


def test_matches_scipy_within_0p01_mV_over_100_ms():
    model, stim = jn.HodgkinHuxley(), jn.StepCurrent(10.0)
    trace = jn.simulate(model, stim, t1=100.0, dt=0.01, save_every=0.1, solver="tsit5",
                        stepsize="adaptive", rtol=1e-11, atol=1e-11)
    ref = simulate_hh_scipy(step_current(10.0), t1=100.0, t_eval=np.asarray(trace.ts),
                            method="DOP853", rtol=1e-12, atol=1e-12)
    assert np.max(np.abs(np.asarray(trace.states) - ref.states)[:, 0]) < 0.01
    assert np.max(np.abs(np.asarray(trace.states) - ref.states)[:, 1:]) < 1e-4


def test_resting_potential_is_minus_65_mV():
    trace = jn.simulate(jn.HodgkinHuxley(), jn.StepCurrent(0.0), t1=200.0)
    assert abs(float(trace.v[-1]) - (-65.0)) < 0.1
    assert int(trace.n_spikes) == 0


@pytest.mark.parametrize("solver", ["staggered", "tsit5"])
def test_steady_firing_rate_at_10_uA_is_68p3_Hz(solver):
    # Published HH f-I value at 6.3 °C: period about 14.6 ms, 68.3 Hz.
    trace = jn.simulate(jn.HodgkinHuxley(), jn.StepCurrent(10.0), t1=150.0, dt=0.01,
                        solver=solver)
    rate = float(jn.analysis.steady_firing_rate(trace.spike_times))
    assert abs(rate - 68.3) < 1.0


@pytest.mark.parametrize(("solver", "dt", "stepsize", "tol"), [
    ("staggered", 0.01, "fixed", 0.01), ("exp_midpoint", 0.005, "fixed", 0.02),
    ("tsit5", 0.02, "fixed", 0.001), ("kvaerno5", 0.005, "adaptive", 0.005),
    ("tsit5", 0.005, "adaptive", 0.005),
])
def test_spike_times_match_scipy_reference(solver, dt, stepsize, tol):
    ref = scipy_hh_spikes(12.0, 60.0, g_Na=140.0, g_K=30.0)
    trace = jn.simulate(jn.HodgkinHuxley(g_Na=140.0, g_K=30.0), jn.StepCurrent(12.0),
                        t1=60.0, dt=dt, solver=solver, stepsize=stepsize, rtol=1e-8, atol=1e-8)
    assert spike_time_error(trace, ref) < tol


@pytest.mark.parametrize(("solver", "order"), [
    ("staggered", 2), pytest.param("exp_euler", 1, marks=pytest.mark.slow),
    pytest.param("exp_midpoint", 2, marks=pytest.mark.slow)])
def test_convergence_order_of_exponential_solvers(solver, order):
    ref = scipy_hh_spikes(10.0, 30.0)
    dts = np.array([0.04, 0.02, 0.01])
    errors = [spike_time_error(jn.simulate(jn.HodgkinHuxley(), jn.StepCurrent(10.0), t1=30.0,
                                           dt=float(dt), solver=solver), ref) for dt in dts]
    slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    assert abs(slope - order) < 0.35


@pytest.mark.slow  # long; keeps make test under 15 minutes
def test_temperature_q10_speeds_up_firing():
    # Q10 = 3 per 10 °C: at 16.3 °C all rates triple.
    cold = jn.simulate(jn.HodgkinHuxley(), jn.StepCurrent(20.0), t1=100.0, dt=0.01)
    warm = jn.simulate(jn.HodgkinHuxley(temperature_c=16.3), jn.StepCurrent(20.0), t1=100.0,
                       dt=0.005)
    ref = simulate_hh_scipy(step_current(20.0), t1=100.0, params=dict(temperature_c=16.3),
                            method="DOP853", rtol=1e-11, atol=1e-11).spike_times
    assert int(warm.n_spikes) > int(cold.n_spikes)
    assert spike_time_error(warm, ref) < 0.01


@pytest.mark.parametrize(("v", "a_m", "a_n"), [(-40.0, 1.0, None), (-55.0, None, 0.1)])
def test_removable_singularities_are_finite_with_finite_gradients(v, a_m, a_n):
    model = jn.HodgkinHuxley()
    rates = model.rates(jnp.asarray(v))
    assert all(np.isfinite(float(r)) for r in rates)
    if a_m is not None:
        assert float(rates[0]) == pytest.approx(a_m, rel=1e-12)
        slope = jax.grad(lambda x: model.rates(x)[0])(jnp.asarray(v))
        assert float(slope) == pytest.approx(0.05, rel=1e-6)  # d/dV of x/(1-e^-x) at 0 is 1/2 / 10
    if a_n is not None:
        assert float(rates[4]) == pytest.approx(a_n, rel=1e-12)
        slope = jax.grad(lambda x: model.rates(x)[4])(jnp.asarray(v))
        assert float(slope) == pytest.approx(0.005, rel=1e-6)
    grads = jax.grad(lambda x: sum(model.rates(x)))(jnp.asarray(v))
    assert np.isfinite(float(grads))


PARAMS = ["C_m", "g_Na", "g_K", "g_L", "E_Na", "E_K", "E_L"]


def _trace_loss(values, name, stim, target):
    model = jn.HodgkinHuxley(**{name: values})
    trace = jn.simulate(model, stim, t1=30.0, dt=0.025, save_every=0.1)
    return jnp.mean((trace.v - target) ** 2)


# 5 of the 7 parameters run in make test-slow (53 s)
_SLOW = pytest.mark.slow


@pytest.mark.parametrize("name", [p if p == "g_Na" else pytest.param(p, marks=_SLOW)
                                  for p in PARAMS])
def test_gradient_matches_central_finite_differences(name):
    stim = jn.StepCurrent(10.0, 2.0)
    target = jn.simulate(jn.HodgkinHuxley(), stim, t1=30.0, dt=0.025, save_every=0.1).v + 1.0
    x0 = float(getattr(jn.HodgkinHuxley(), name)) * 1.05
    grad = float(jax.grad(_trace_loss)(jnp.asarray(x0), name, stim, target))
    h = 1e-5 * abs(x0)
    fd = (float(_trace_loss(x0 + h, name, stim, target))
          - float(_trace_loss(x0 - h, name, stim, target))) / (2 * h)
    assert grad == pytest.approx(fd, rel=1e-4)


@pytest.mark.slow
def test_vmap_over_64_sets_equals_python_loop():
    rng = np.random.default_rng(1)
    g_na, g_k, amp = rng.uniform(80, 160, 64), rng.uniform(20, 50, 64), rng.uniform(0, 20, 64)

    def run(a, b, c):
        return jn.simulate(jn.HodgkinHuxley(g_Na=a, g_K=b), jn.StepCurrent(c), t1=20.0,
                           save_every=0.5)

    batched = jax.jit(jax.vmap(run))(g_na, g_k, amp)
    for i in range(0, 64, 7):
        single = run(g_na[i], g_k[i], amp[i])
        np.testing.assert_allclose(batched.states[i], single.states, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(batched.n_spikes[i], single.n_spikes)


def test_filter_vmap_over_batched_model_fields():
    model = jn.HodgkinHuxley(g_Na=jnp.array([100.0, 120.0, 140.0]))
    run = jax.vmap(lambda m: jn.simulate(m, jn.StepCurrent(10.0), t1=20.0),
                   in_axes=(jn.batch_axes(model),))
    traces = run(model)
    assert traces.v.shape[0] == 3
    assert traces.n_spikes.shape == (3,)
