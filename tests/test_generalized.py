"""GeneralizedNeuron: analytic limits, cell-type signatures, both spiking modes, errors."""

import math

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron.analysis import interspike_intervals
from jaxneuron.models.generalized import PRESETS

EXACT = dict(spiking="exact", rtol=1e-10, atol=1e-10)


def _spikes(trace):
    st = np.asarray(trace.spike_times)
    return st[~np.isnan(st)]


def _count(model, amplitude, t1=1000.0, dt=0.05, **kw):
    trace = jn.simulate(model, jn.StepCurrent(amplitude, t_start=0.0, t_stop=t1), t1=t1, dt=dt,
                        save_every=0, max_spikes=1000, **kw)
    return trace


@pytest.mark.slow  # long; keeps make test under 15 minutes
def test_decoupled_cell_without_adaptation_fires_at_the_lif_rate():
    # g_c = 0 cuts the dendrite off, a = b = delta_theta = 0 removes adaptation: an LIF with
    # tau = C / g_L, whose ISI is t_ref + tau ln((V_inf - V_reset) / (V_inf - V_th)).
    model = jn.GeneralizedNeuron(C=200.0, g_L=10.0, E_L=-70.0, V_th=-50.0, V_reset=-60.0,
                                 t_ref=2.0, a=0.0, b=0.0, delta_theta=0.0, g_c=0.0,
                                 v_init=-70.0)
    current = 300.0
    v_inf = -70.0 + current / 10.0
    isi = 2.0 + 20.0 * math.log((v_inf + 60.0) / (v_inf + 50.0))
    first = 20.0 * math.log((v_inf + 70.0) / (v_inf + 50.0))
    trace = _count(model, current, t1=200.0, **EXACT)
    np.testing.assert_allclose(np.diff(_spikes(trace)), isi, rtol=1e-7)
    assert _spikes(trace)[0] == pytest.approx(first, rel=1e-7)


def _linear_steady_state(m, current, g_e=0.0, g_ed=0.0):
    """(V, V_d) at steady state with constant conductances, by a 2x2 linear solve."""
    alpha_p, alpha_d = math.exp(-m.x_proximal / m.lambda_d), math.exp(-m.x_distal / m.lambda_d)
    g_syn = alpha_p * g_e + alpha_d * g_ed
    # soma:  (g_L + g_c + a) V - g_c V_d = g_L E_L + a E_L + I + I_bias
    # dend:  -g_c V + (g_Ld + g_c + g_syn) V_d = g_Ld E_L + g_syn E_e
    A = np.array([[m.g_L + m.g_c + m.a, -m.g_c], [-m.g_c, m.g_L_d + m.g_c + g_syn]], float)
    rhs = np.array([(m.g_L + m.a) * m.E_L + current + m.I_bias,
                    m.g_L_d * m.E_L + g_syn * m.E_e], float)
    return np.linalg.solve(A, rhs)


@pytest.mark.parametrize("site", ["soma", "proximal", "distal"])
def test_passive_steady_state_matches_the_linear_two_compartment_solution(site):
    m = jn.GeneralizedNeuron.preset("pyramidal", tau_e=1e12)  # conductances held constant
    current, g_e, g_ed = {"soma": (150.0, 0.0, 0.0), "proximal": (0.0, 3.0, 0.0),
                          "distal": (0.0, 0.0, 3.0)}[site]
    y0 = m.initial_state().at[4].set(g_e).at[5].set(g_ed)
    trace = jn.simulate(m, jn.StepCurrent(current, t_start=0.0, t_stop=2000.0), t1=2000.0,
                        dt=0.1, y0=y0, save_every=0)
    assert int(trace.n_spikes) == 0
    expected = _linear_steady_state(m, current, g_e, g_ed)
    np.testing.assert_allclose(np.asarray(trace.final_state[:2]), expected, atol=1e-6)


@pytest.mark.slow  # long; keeps make test under 15 minutes
def test_distal_input_is_attenuated_relative_to_proximal():
    m = jn.GeneralizedNeuron.preset("pyramidal")
    drive = {}
    for name in ("g_e", "g_e_distal"):
        stim = jn.SpikeInput.for_model(m, {name: (jnp.array([5.0]), 5.0)})
        trace = jn.simulate(m, stim, t1=100.0, dt=0.05)
        drive[name] = float(jnp.max(trace.v) - m.E_L)
    alpha_p, alpha_d = (float(x) for x in m.attenuation())
    assert alpha_p == pytest.approx(math.exp(-50 / 300))
    assert alpha_d == pytest.approx(math.exp(-400 / 300))
    assert 0 < drive["g_e_distal"] < drive["g_e"]
    # small inputs: the somatic EPSP scales with the attenuated conductance
    assert drive["g_e_distal"] / drive["g_e"] == pytest.approx(alpha_d / alpha_p, rel=0.05)


def _rheobase_analytic(m):
    """With a static threshold, the cell fires repetitively for long steps once the steady somatic
    potential E_L + (I + I_bias) / (g_in + a) reaches V_th."""
    return float((m.V_th - m.E_L) * (m.input_conductance + m.a) - m.I_bias)


@pytest.mark.parametrize("cell", ["granule", "pyramidal", "motor"])
def test_rheobase_matches_the_steady_state_threshold(cell):
    m = jn.GeneralizedNeuron.preset(cell)
    expected = _rheobase_analytic(m)
    # sustained firing (spikes in the second half of a 2 s step; adaptation that lags the
    # voltage may let an onset spike through just below it)
    counts = [int(np.sum(_spikes(_count(m, expected * f, t1=2000.0, dt=0.1)) > 1000.0))
              for f in (0.97, 1.03)]
    assert counts[0] == 0 and counts[1] > 0, (cell, expected, counts)


def test_rheobase_ordering_granule_pyramidal_motor():
    r = {c: _rheobase_analytic(jn.GeneralizedNeuron.preset(c))
         for c in ("granule", "pyramidal", "motor")}
    assert r["granule"] < 50.0 < r["pyramidal"] < r["motor"]  # pA
    assert r["motor"] > 400.0


def test_purkinje_and_cerebellar_interneurons_fire_spontaneously():
    purkinje = _count(jn.GeneralizedNeuron.preset("purkinje"), 0.0, t1=1000.0)
    stellate = _count(jn.GeneralizedNeuron.preset("interneuron", "cerebellum"), 0.0, t1=1000.0)
    assert 25 <= int(purkinje.n_spikes) <= 80      # tens of Hz (published ~ 40 Hz)
    assert 5 <= int(stellate.n_spikes) <= 40       # published ~ 10-30 Hz
    for cell in ("pyramidal", "interneuron", "granule", "motor", "sensory"):
        assert int(_count(jn.GeneralizedNeuron.preset(cell), 0.0).n_spikes) == 0, cell


def _isi_ratio(trace):
    isi = np.asarray(interspike_intervals(jnp.asarray(_spikes(trace))))
    return isi[-1] / isi[0]


def test_fast_spiking_interneuron_fires_above_100_hz_without_adaptation():
    trace = _count(jn.GeneralizedNeuron.preset("interneuron"), 600.0)
    assert int(trace.n_spikes) > 100
    assert _isi_ratio(trace) == pytest.approx(1.0, abs=0.05)


def test_pyramidal_cell_adapts():
    m = jn.GeneralizedNeuron.preset("pyramidal")
    trace = _count(m, 2.0 * _rheobase_analytic(m))
    assert int(trace.n_spikes) >= 5
    assert _isi_ratio(trace) > 2.0


def test_sensory_relay_neuron_fires_only_at_onset():
    trace = _count(jn.GeneralizedNeuron.preset("sensory"), 600.0, t1=300.0)
    spikes = _spikes(trace)
    assert 1 <= spikes.size <= 5
    assert spikes.max() < 10.0  # ms after onset


@pytest.mark.slow  # 15-20 s on 2 idle cores; keeps make test under 15 min
def test_clock_mode_converges_to_exact_mode():
    m = jn.GeneralizedNeuron.preset("pyramidal")
    exact = _spikes(_count(m, 700.0, t1=300.0, **EXACT))
    errors = [np.abs(_spikes(_count(m, 700.0, t1=300.0, dt=dt)) - exact).max()
              for dt in (0.1, 0.05, 0.025)]
    assert errors[-1] < 0.02
    assert errors[0] > errors[1] > errors[2]


@pytest.mark.slow  # make test-slow: 36 s; the matrix covers clock-mode gradients
def test_exact_spike_time_gradient_matches_finite_differences():
    def third_spike(b, g_c):
        m = jn.GeneralizedNeuron.preset("pyramidal", b=b, g_c=g_c)
        trace = jn.simulate(m, jn.StepCurrent(700.0, t_start=0.0, t_stop=100.0), t1=100.0,
                            dt=0.1, save_every=0, adjoint=diffrax.ForwardMode(), **EXACT)
        return trace.spike_times[2]

    x = (40.0, 15.0)
    grads = jax.jacfwd(third_spike, argnums=(0, 1))(*x)
    for i, h in enumerate((1e-3, 1e-4)):
        up, down = list(x), list(x)
        up[i] += h
        down[i] -= h
        fd = (float(third_spike(*up)) - float(third_spike(*down))) / (2 * h)
        assert float(grads[i]) == pytest.approx(fd, rel=1e-4)


@pytest.mark.slow  # long; keeps make test under 15 minutes
def test_vmap_over_presets_equals_a_loop():
    names = [("pyramidal", "cortex"), ("interneuron", "cortex"), ("granule", "cerebellum")]
    models = [jn.GeneralizedNeuron.preset(*n) for n in names]
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *models)
    stim = jn.StepCurrent(500.0, t_start=0.0, t_stop=100.0)
    run = jax.vmap(lambda m: jn.simulate(m, stim, t1=100.0, dt=0.05, save_every=0).spike_times)
    batched = np.asarray(run(stacked))
    for i, m in enumerate(models):
        one = np.asarray(jn.simulate(m, stim, t1=100.0, dt=0.05, save_every=0).spike_times)
        np.testing.assert_allclose(batched[i], one, rtol=1e-12, atol=1e-12)


def test_every_preset_cites_a_source_and_builds():
    for (cell, region), values in PRESETS.items():
        assert len(values["source"]) > 40
        jn.GeneralizedNeuron.preset(cell, region)


@pytest.mark.parametrize("kwargs, match", [
    (dict(cell_type="astrocyte"), "cell_type must be one of .*pyramidal"),
    (dict(cell_type="pyramidal", region="spinal cord"), "region must be one of .*cortex"),
    (dict(cell_type="purkinje", region="cortex"), "region: 'purkinje' has presets for"),
])
def test_unknown_cell_type_or_region_lists_the_allowed_names(kwargs, match):
    with pytest.raises(ValueError, match=match):
        jn.GeneralizedNeuron.preset(**kwargs)


def test_invalid_parameters_are_value_errors():
    with pytest.raises(ValueError, match="C_d must be > 0"):
        jn.GeneralizedNeuron(C_d=0.0)
    with pytest.raises(ValueError, match="x_distal must be >= 0"):
        jn.GeneralizedNeuron(x_distal=-5.0)


@pytest.mark.slow
def test_fit_recovers_spike_triggered_adaptation_from_spike_times():
    stim = jn.StepCurrent(700.0, t_start=0.0, t_stop=60.0)
    kw = dict(t1=60.0, dt=0.1, save_every=0)
    target = jn.simulate(jn.GeneralizedNeuron.preset("pyramidal"), stim, **kw).spike_times
    start = jn.GeneralizedNeuron.preset("pyramidal", b=60.0)
    assert np.isfinite(float(target[2]))
    result = jn.fit(start, stim, target[:3], params=["b"], loss=jn.spike_time_mse,
                    steps=8, progress=False, **kw)
    assert result.params["b"] == pytest.approx(40.0, rel=1e-3)


@pytest.mark.slow
def test_exact_mode_sweep_equals_single_runs():
    m = jn.GeneralizedNeuron.preset("interneuron")
    stim = jn.StepCurrent(400.0, t_start=0.0, t_stop=60.0)
    g_c = np.array([2.0, 5.0, 10.0])
    result = jn.sweep(m, {"g_c": g_c}, stim, t1=60.0, progress=False, **EXACT)
    for i, value in enumerate(g_c):
        one = jn.simulate(jn.GeneralizedNeuron.preset("interneuron", g_c=value), stim, t1=60.0,
                          **EXACT)
        assert result.summaries["n_spikes"][i] == int(one.n_spikes) > 0
        assert result.summaries["first_spike_ms"][i] == pytest.approx(float(one.spike_times[0]),
                                                                       abs=1e-9)
