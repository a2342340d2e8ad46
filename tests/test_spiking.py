"""Spiking models and the hybrid engine (clock and exact modes), float64."""

import math

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron.analysis import adaptation_index, burst_count, interspike_intervals
from jaxneuron.baselines import izhikevich_spikes_scipy, lif_spikes_scipy, simulate_spiking_scipy

EXACT = dict(spiking="exact", rtol=1e-10, atol=1e-10)


def _spikes(trace):
    st = np.asarray(trace.spike_times)
    return st[~np.isnan(st)]


@pytest.mark.parametrize("t_ref", [0.0, 2.0])
def test_lif_isi_matches_analytic_formula_in_exact_mode(t_ref):
    model, current = jn.LIF(tau_m=10.0, R=10.0, t_ref=t_ref), 2.0
    trace = jn.simulate(model, jn.StepCurrent(current), t1=100.0, dt=0.1, save_every=0, **EXACT)
    drive = 10.0 * current  # R I, mV
    isi = t_ref + 10.0 * math.log((drive - 0.0) / (drive - 15.0))  # V_rest = V_reset
    np.testing.assert_allclose(np.diff(_spikes(trace)), isi, rtol=1e-6)
    assert _spikes(trace)[0] == pytest.approx(isi - t_ref, rel=1e-6)


def test_lif_clock_mode_spike_times_converge_at_second_order():
    ref = lif_spikes_scipy(10.0, 10.0, -65.0, -50.0, -65.0, 2.0, 2.0, t1=100.0)
    errors = []
    for dt in (0.1, 0.05, 0.025):
        trace = jn.simulate(jn.LIF(), jn.StepCurrent(2.0), t1=100.0, dt=dt, spiking="clock")
        errors.append(np.abs(_spikes(trace) - ref).max())
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(orders > 1.8), orders


@pytest.mark.parametrize("name", ["RS", "FS", "CH"])
def test_izhikevich_exact_mode_matches_scipy_event_restart(name):
    p = jn.models.izhikevich.PRESETS[name]
    ref = izhikevich_spikes_scipy(p["a"], p["b"], p["c"], p["d"], 10.0, t1=200.0)
    trace = jn.simulate(jn.Izhikevich.preset(name), jn.StepCurrent(10.0), t1=200.0, dt=0.01,
                        save_every=0, max_spikes=128, **EXACT)
    assert int(trace.n_spikes) == len(ref)
    np.testing.assert_allclose(_spikes(trace), ref, atol=1e-4)


@pytest.mark.slow  # long; keeps make test under 15 minutes
def test_izhikevich_clock_mode_approaches_exact_mode_as_dt_shrinks():
    exact = _spikes(jn.simulate(jn.Izhikevich.preset("RS"), jn.StepCurrent(10.0), t1=200.0,
                                dt=0.01, save_every=0, **EXACT))
    errors = [np.abs(_spikes(jn.simulate(jn.Izhikevich.preset("RS"), jn.StepCurrent(10.0),
                                         t1=200.0, dt=dt, save_every=0)) - exact).max()
              for dt in (0.04, 0.01)]
    assert errors[1] < errors[0] / 3 and errors[1] < 0.05, errors


def test_adex_exact_mode_matches_scipy_event_restart():
    m = jn.AdEx()

    def vf(t, y):
        V, w = y
        exp_term = m.g_L * m.Delta_T * np.exp(min((V - m.V_T) / m.Delta_T, 40.0))
        return [(-m.g_L * (V - m.E_L) + exp_term - w + 800.0) / m.C,
                (m.a * (V - m.E_L) - w) / m.tau_w]

    ref = simulate_spiking_scipy(vf, [float(m.v_init), 0.0], lambda y: y[0] - float(m.V_peak),
                                 lambda y: np.array([float(m.V_r), y[1] + float(m.b)]),
                                 t1=300.0)
    trace = jn.simulate(m, jn.StepCurrent(800.0), t1=300.0, dt=0.01, save_every=0, **EXACT)
    assert len(ref) >= 5 and int(trace.n_spikes) == len(ref)
    np.testing.assert_allclose(_spikes(trace), ref, atol=1e-4)
    isi = np.diff(ref)
    assert isi[-1] > 1.5 * isi[0]  # spike-frequency adaptation through w


@pytest.mark.parametrize("mode", ["clock", "exact"])
def test_conductance_lif_input_spikes_give_analytic_conductance(mode):
    model = jn.ConductanceLIF()
    drive = jn.SpikeInput.for_model(model, {"g_e": ([10.0], 2.0), "g_i": ([20.0], 3.0)})
    trace = jn.simulate(model, drive, t1=60.0, dt=0.05, save_every=1.0, spiking=mode,
                        rtol=1e-10, atol=1e-10)
    ts = np.asarray(trace.ts)
    g_e = np.where(ts >= 10.0, 2.0 * np.exp(-(ts - 10.0) / 5.0), 0.0)
    g_i = np.where(ts >= 20.0, 3.0 * np.exp(-(ts - 20.0) / 10.0), 0.0)
    np.testing.assert_allclose(trace.state("g_e"), g_e, atol=1e-8)
    np.testing.assert_allclose(trace.state("g_i"), g_i, atol=1e-8)
    v = np.asarray(trace.v)
    assert v[ts == 12.0][0] > -60.0 > v[ts > 20.0].min()  # excitation depolarises, inhibition
    # hyperpolarises


def test_conductance_lif_fires_under_strong_excitatory_input():
    model = jn.ConductanceLIF()
    times = jnp.arange(5.0, 100.0, 1.0)
    drive = jn.SpikeInput.for_model(model, {"g_e": (times, 3.0)})
    clock = jn.simulate(model, drive, t1=100.0, dt=0.01)
    exact = jn.simulate(model, drive, t1=100.0, dt=0.01, **EXACT)
    assert int(exact.n_spikes) >= 3
    assert int(clock.n_spikes) == int(exact.n_spikes)
    np.testing.assert_allclose(_spikes(clock), _spikes(exact), atol=0.01)
    # refractoriness: no two spikes closer than t_ref = 5 ms
    assert np.all(np.diff(_spikes(exact)) >= 5.0)


def _rs_spike_time(a, d, current, k, adjoint=None):
    model = jn.Izhikevich.preset("RS", a=a, d=d)
    trace = jn.simulate(model, jn.StepCurrent(current), t1=80.0, dt=0.01, save_every=0,
                        adjoint=adjoint, **EXACT)
    return trace.spike_times[k]


def _central_difference(f, x, i, rel=1e-5):
    h = rel * abs(x[i])
    up, down = list(x), list(x)
    up[i] += h
    down[i] -= h
    return (float(f(*up)) - float(f(*down))) / (2 * h)


@pytest.mark.slow  # make test-slow: 28 s; test_matrix covers LIF exact forward mode
def test_exact_spike_time_gradients_match_finite_differences_forward_mode():
    x = (0.02, 8.0, 10.0)
    grads = jax.jacfwd(lambda *p: _rs_spike_time(*p, k=2, adjoint=diffrax.ForwardMode()),
                       argnums=(0, 1, 2))(*x)
    for i in range(3):
        fd = _central_difference(lambda *p: _rs_spike_time(*p, k=2), x, i)
        assert float(grads[i]) == pytest.approx(fd, rel=1e-3)


@pytest.mark.slow
def test_exact_spike_time_gradients_match_finite_differences_reverse_mode():
    x = (0.02, 8.0, 10.0)
    grads = jax.grad(lambda *p: _rs_spike_time(*p, k=1), argnums=(0, 1, 2))(*x)
    for i in range(3):
        fd = _central_difference(lambda *p: _rs_spike_time(*p, k=1), x, i)
        assert float(grads[i]) == pytest.approx(fd, rel=1e-3)


def _lif_clock(tau_m, k, surrogate=None):
    trace = jn.simulate(jn.LIF(tau_m=tau_m), jn.StepCurrent(2.0), t1=50.0, dt=0.025,
                        surrogate=surrogate)
    return trace.spike_times[k], jnp.mean(trace.v)


@pytest.mark.parametrize("k", [0, 2])
def test_clock_spike_time_gradient_matches_finite_differences_and_analytic(k):
    grad = float(jax.grad(lambda tau: _lif_clock(tau, k)[0])(10.0))
    fd = _central_difference(lambda tau: _lif_clock(tau, k)[0], (10.0,), 0, rel=1e-4)
    assert grad == pytest.approx(fd, rel=1e-3)
    # analytic: t_k = (k + 1) tau ln(4) + k t_ref, so dt_k/dtau = (k + 1) ln 4
    assert grad == pytest.approx((k + 1) * math.log(4.0), rel=2e-3)


@pytest.mark.parametrize("surrogate", [jn.FastSigmoid(0.1), jn.Sigmoid(0.2), jn.Arctan(0.1),
                                       jn.Triangle(0.1)])
def test_surrogate_gradients_through_resets_are_finite_and_nonzero(surrogate):
    plain = float(jax.grad(lambda tau: _lif_clock(tau, 0)[1])(10.0))
    through = float(jax.grad(lambda tau: _lif_clock(tau, 0, surrogate)[1])(10.0))
    assert np.isfinite(through) and through != 0.0 and through != plain


def test_surrogates_integrate_to_one():
    x = jnp.linspace(-400.0, 400.0, 400_001)
    for surrogate in (jn.FastSigmoid(0.5), jn.Sigmoid(0.5), jn.Arctan(0.5), jn.Triangle(0.5)):
        area = float(jnp.trapezoid(surrogate.derivative(x), x))
        assert area == pytest.approx(1.0, abs=0.01), surrogate
        assert float(surrogate(jnp.asarray(0.0))) == 1.0
        assert float(surrogate(jnp.asarray(-1e-9))) == 0.0


def test_izhikevich_presets_show_their_signatures():
    def run(name, current=10.0):
        trace = jn.simulate(jn.Izhikevich.preset(name), jn.StepCurrent(current), t1=500.0,
                            dt=0.01, save_every=0, max_spikes=256, **EXACT)
        return trace.spike_times

    rs, ib, ch, fs = run("RS"), run("IB"), run("CH"), run("FS")
    isi_rs = np.asarray(interspike_intervals(rs))
    isi_rs = isi_rs[~np.isnan(isi_rs)]
    assert int(burst_count(rs)) == 0 and isi_rs[-1] > 1.5 * isi_rs[0]  # regular, adapting
    isi_ib = np.asarray(interspike_intervals(ib))
    assert int(burst_count(ib)) == 1 and isi_ib[0] < 5.0 and np.nanmin(isi_ib[3:]) > 20.0
    assert int(burst_count(ch)) >= 3  # repeated bursts
    assert float(jn.analysis.firing_rate(fs, 0.0, 500.0)) > 100.0
    assert abs(float(adaptation_index(fs))) < 0.01 < float(adaptation_index(rs))


@pytest.mark.parametrize("mode", ["clock", "exact"])
def test_spike_buffer_overflow_is_reported(mode):
    kwargs = dict(t1=200.0, dt=0.01, max_spikes=4, spiking=mode)
    with pytest.raises(Exception, match="max_spikes"):
        jn.simulate(jn.LIF(), jn.StepCurrent(3.0), **kwargs)
    trace = jn.simulate(jn.LIF(), jn.StepCurrent(3.0), throw=False, **kwargs)
    assert bool(trace.spikes_overflowed)


@pytest.mark.slow  # long; keeps make test under 15 minutes
def test_vmap_over_parameter_sets_equals_loop_in_exact_mode():
    a = jnp.array([0.02, 0.05, 0.1])
    d = jnp.array([8.0, 4.0, 2.0])

    def run(a, d):
        return jn.simulate(jn.Izhikevich(a=a, d=d), jn.StepCurrent(10.0), t1=100.0, dt=0.01,
                           save_every=1.0, **EXACT)

    batched = jax.vmap(run)(a, d)
    for i in range(3):
        single = run(a[i], d[i])
        np.testing.assert_allclose(batched.spike_times[i], single.spike_times, atol=1e-9)
        np.testing.assert_allclose(batched.v[i], single.v, atol=1e-7)


def test_spiking_errors_are_value_errors():
    with pytest.raises(ValueError, match="spiking"):
        jn.simulate(jn.LIF(), jn.StepCurrent(1.0), t1=10.0, spiking="event")
    with pytest.raises(ValueError, match="surrogate"):
        jn.simulate(jn.LIF(), jn.StepCurrent(1.0), t1=10.0, surrogate="fast")
    with pytest.raises(ValueError, match="stepsize"):
        jn.simulate(jn.LIF(), jn.StepCurrent(1.0), t1=10.0, stepsize="adaptive")
    with pytest.raises(ValueError, match="name must be one of"):
        jn.Izhikevich.preset("XX")
    with pytest.raises(ValueError, match="tau_m"):
        jn.LIF(tau_m=-1.0)
    with pytest.raises(ValueError, match="spiking model"):
        jn.simulate(jn.HodgkinHuxley(), jn.SpikeInput(jnp.ones(1), jnp.ones((1, 4))), t1=5.0)
    with pytest.raises(ValueError, match="state name"):
        jn.SpikeInput.for_model(jn.ConductanceLIF(), {"g_x": ([1.0], 1.0)})
    with pytest.raises(ValueError, match="slope"):
        jn.FastSigmoid(0.0)
