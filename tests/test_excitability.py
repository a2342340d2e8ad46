"""Excitability (f-I curves, rheobase, spike shape) and activation fits against analytic
values and published Hodgkin–Huxley thresholds."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import brentq

import jaxneuron as jn
from jaxneuron.analysis import activation_fit as af, excitability as ex


def lif_rate(current, tau_m=10.0, R=10.0, V_rest=-65.0, V_th=-50.0, V_reset=-65.0, t_ref=2.0):
    """Analytic LIF rate (Hz) under a constant current (nA), 0 at or below rheobase."""
    current = np.asarray(current, dtype=float)
    drive = R * current + V_rest
    above = drive > V_th
    with np.errstate(divide="ignore", invalid="ignore"):
        period = t_ref + tau_m * np.log((drive - V_reset) / (drive - V_th))
    return np.where(above, 1000.0 / period, 0.0)


def test_lif_fi_curve_matches_the_analytic_rate_for_each_parameter_set():
    amplitudes = np.array([0.5, 1.4, 1.6, 2.0, 3.0, 5.0])  # nA; rheobase 1.5 nA
    tau = np.array([10.0, 20.0])
    curve = ex.fi_curve(jn.LIF(), amplitudes, params={"tau_m": tau}, duration=500.0)
    expected = np.stack([lif_rate(amplitudes, tau_m=t) for t in tau])
    assert curve.rate_hz.shape == (2, 6)
    np.testing.assert_allclose(curve.rate_hz, expected, rtol=1e-3, atol=1e-9)
    assert curve.ok.all()
    rows = curve.rows()
    assert len(rows) == 12 and rows[7]["tau_m"] == 20.0 and rows[7]["amplitude"] == 1.4


def test_sustained_rate_gradient_through_exact_spike_times_is_analytic():
    def rate(R):
        trace = jn.simulate(jn.LIF(R=R), jn.StepCurrent(2.0), t1=100.0, dt=0.1, save_every=0,
                            spiking="exact", rtol=1e-10, atol=1e-10, max_spikes=16,
                            adjoint=diffrax.ForwardMode())
        return ex.sustained_rate(trace.spike_times, 0.0, 100.0)  # 6 spikes, 63 Hz

    h = 1e-5  # central difference of the analytic rate, an independent derivative
    expected = (lif_rate(2.0, R=10.0 + h) - lif_rate(2.0, R=10.0 - h)) / (2 * h)
    assert float(jax.jit(jax.jacfwd(rate))(10.0)) == pytest.approx(float(expected), rel=1e-6)


def test_lif_rheobase_is_threshold_distance_over_resistance():
    # (V_th - V_rest) / R = 15 mV / 10 MOhm = 1.5 nA; the step lasts long enough that the
    # latency tau ln(RI / (RI - 15)) < 500 ms for any I above 1.5 (1 + 1e-21) nA.
    result = ex.rheobase(jn.LIF(), low=0.3, high=3.0, criterion="spike", n_points=9,
                         rounds=2, duration=500.0)
    assert result.low[0] <= 1.5 < result.high[0]
    assert result.high[0] - result.low[0] <= 2.7 / 100 + 1e-12
    assert result.n_simulations == 11 + 9


@pytest.mark.slow
def test_hh_rheobases_match_published_values_and_onset_jumps():
    # Standard HH at 6.3 °C under long steps: a single spike from about 2.2-2.3 µA/cm²;
    # repetitive firing from the saddle-node of limit cycles at I = 6.26 µA/cm² (Rinzel &
    # Miller 1980; Guckenheimer & Labouriau 1993), where the rate jumps from 0 to about 50 Hz
    # (type II excitability).
    found = ex.rheobases(jn.HodgkinHuxley(), {"spike": (1.0, 4.0), "repetitive": (5.0, 8.0)},
                         n_points=9, rounds=2, duration=500.0)
    spike, repetitive = found["spike"], found["repetitive"]
    assert 2.2 <= spike.low[0] and spike.high[0] <= 2.3
    assert abs(repetitive.current[0] - 6.26) < 0.04
    assert repetitive.high[0] - repetitive.low[0] <= 3.0 / 100 + 1e-12
    assert repetitive.onset_rate_hz[0] > 30.0
    below = ex.fi_curve(jn.HodgkinHuxley(), [repetitive.low[0]], duration=500.0)
    assert below.rate_hz[0, 0] == 0.0  # zero just below, > 30 Hz just above: a jump


def test_rheobase_outside_the_bracket_is_nan_with_a_warning():
    with pytest.warns(RuntimeWarning, match="does not bracket"):
        result = ex.rheobase(jn.LIF(), low=[0.1, 2.0], high=[1.0, 3.0], params={
            "R": np.array([10.0, 10.0])}, n_points=2, rounds=1, duration=100.0)
    assert np.isnan(result.current[0]) and np.isnan(result.current[1])


def gaussian_spike(t, v_rest=-65.0, amplitude=100.0, sigma=0.3, t_peak=5.0, ahp=10.0,
                   t_ahp=9.0, sigma_ahp=0.5):
    """A Gaussian spike and a separate Gaussian after-hyperpolarisation (mV, t in ms)."""
    return (v_rest + amplitude * np.exp(-0.5 * ((t - t_peak) / sigma) ** 2)
            - ahp * np.exp(-0.5 * ((t - t_ahp) / sigma_ahp) ** 2))


def gaussian_spike_slope(t, amplitude=100.0, sigma=0.3, t_peak=5.0, ahp=10.0, t_ahp=9.0,
                         sigma_ahp=0.5):
    return (-amplitude * (t - t_peak) / sigma**2 * np.exp(-0.5 * ((t - t_peak) / sigma) ** 2)
            + ahp * (t - t_ahp) / sigma_ahp**2 * np.exp(-0.5 * ((t - t_ahp) / sigma_ahp) ** 2))


def test_spike_shape_of_an_analytic_waveform_under_jit_and_vmap():
    ts = np.arange(0.0, 15.0, 0.01)
    amplitudes = np.array([80.0, 100.0, 120.0])
    sigma, criterion = 0.3, 20.0
    voltages = np.stack([gaussian_spike(ts, amplitude=a) for a in amplitudes])
    crossings = np.array([brentq(lambda t, a=a: gaussian_spike(t, amplitude=a), 4.0, 5.0)
                          for a in amplitudes])
    features = jax.jit(jax.vmap(
        lambda v, t: ex.spike_shape_from_voltage(jnp.asarray(ts), v, t,
                                                 dvdt_threshold=criterion)))(
        jnp.asarray(voltages), jnp.asarray(crossings))
    for k, a in enumerate(amplitudes):
        t_thr = brentq(lambda t, a=a: gaussian_spike_slope(t, amplitude=a) - criterion,
                       5.0 - 4 * sigma, 5.0 - sigma)
        v_thr = gaussian_spike(t_thr, amplitude=a)
        peak = -65.0 + a
        half = 0.5 * (v_thr + peak)
        half_width = 2 * sigma * np.sqrt(2 * np.log(a / (half + 65.0)))
        got = {name: float(x[k]) for name, x in features.items()}
        assert got["threshold_mv"] == pytest.approx(v_thr, abs=0.01)
        assert got["threshold_ms"] == pytest.approx(t_thr, abs=1e-3)
        assert got["peak_mv"] == pytest.approx(peak, abs=1e-3)
        assert got["peak_ms"] == pytest.approx(5.0, abs=1e-4)
        assert got["amplitude_mv"] == pytest.approx(peak - v_thr, abs=0.01)
        assert got["half_width_ms"] == pytest.approx(half_width, abs=1e-4)
        assert got["ahp_mv"] == pytest.approx(-75.0, abs=1e-4)
        assert got["ahp_depth_mv"] == pytest.approx(v_thr + 75.0, abs=0.01)
        assert got["max_dvdt"] == pytest.approx(a / sigma * np.exp(-0.5), rel=1e-3)
        assert got["min_dvdt"] == pytest.approx(-a / sigma * np.exp(-0.5), rel=1e-3)


def test_spike_shape_is_nan_without_a_spike():
    ts = jnp.linspace(0.0, 10.0, 1001)
    features = ex.spike_shape_from_voltage(ts, jnp.full_like(ts, -65.0), jnp.nan)
    assert all(np.isnan(float(x)) for x in features.values())


def test_spike_selection_and_rates_on_synthetic_spike_trains():
    times = jnp.array([5.0, 20.0, 40.0, jnp.nan])
    assert float(ex.nth_spike_after(times, 10.0, 0)) == 20.0
    assert float(ex.nth_spike_after(times, 10.0, 1)) == 40.0
    assert np.isnan(float(ex.nth_spike_after(times, 10.0, 2)))
    assert float(ex.initial_rate(times, 0.0)) == pytest.approx(1000.0 / 15.0)
    regular = jnp.concatenate([jnp.array([10.0]), 50.0 + 10.0 * jnp.arange(45.0),
                               jnp.full(4, jnp.nan)])  # 100 Hz from 50 ms to 490 ms
    stopped = jnp.where(regular < 200.0, regular, jnp.nan)  # a burst that ends at 190 ms
    few = jnp.where(regular < 80.0, regular, jnp.nan)  # 3 spikes after t = 50 ms
    rates = jax.jit(jax.vmap(lambda s: ex.sustained_rate(s, 50.0, 500.0)))(
        jnp.stack([regular, stopped, few]))
    np.testing.assert_allclose(rates, [100.0, 0.0, 0.0], rtol=1e-12)


@pytest.mark.parametrize(("name", "params"), [
    ("sigmoid", dict(scale=90.0, gain=0.4, offset=12.0)),
    ("tanh", dict(scale=80.0, gain=0.1, offset=6.0)),
    ("relu", dict(gain=3.0, offset=7.5)),
    ("softplus", dict(scale=20.0, gain=0.5, offset=10.0)),
])
def test_activation_fit_recovers_the_parameters_of_synthetic_data(name, params):
    current = np.linspace(0.0, 30.0, 31)
    rate = np.asarray(af.activation(name, current, params))
    fit = af.fit_activation(current, rate, name)
    assert fit.rmse_hz < 1e-4 and fit.max_error_hz < 1e-3
    for key, value in params.items():
        assert fit.params[key] == pytest.approx(value, rel=1e-5)
    np.testing.assert_allclose(fit(current), rate, atol=1e-3)


def test_activation_fit_of_a_noisy_curve_matches_the_generating_error():
    # Data = sigmoid + Gaussian noise of sd 2 Hz: the fitted RMSE should match the noise
    # (slightly below: 3 parameters absorb some of it), E[RMSE^2] = sigma^2 (n - p) / n.
    rng = np.random.default_rng(0)
    current = np.linspace(0.0, 30.0, 400)
    clean = np.asarray(af.activation("sigmoid", current, dict(scale=90.0, gain=0.4,
                                                              offset=12.0)))
    fit = af.fit_activation(current, clean + rng.normal(0.0, 2.0, current.size), "sigmoid")
    assert fit.rmse_hz == pytest.approx(2.0 * np.sqrt(397 / 400), rel=0.1)
    assert fit.params["offset"] == pytest.approx(12.0, abs=0.1)


@pytest.mark.parametrize(("name", "params", "slope"), [
    ("sigmoid", dict(scale=80.0, gain=0.5, offset=3.0), 80.0 * 0.5 / 4),
    ("softplus", dict(scale=80.0, gain=0.5, offset=3.0), 80.0 * 0.5 / 2),
    ("relu", dict(gain=7.0, offset=1.0), 7.0),
])
def test_activation_slope_under_grad_is_analytic(name, params, slope):
    at = params["offset"] + (1e-9 if name == "relu" else 0.0)
    grad = jax.jit(jax.grad(lambda i: af.activation(name, i, params)))(at)
    assert float(grad) == pytest.approx(slope, rel=1e-9)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: ex.fi_curve(jn.LIF(), [[1.0, 2.0]]), "amplitudes"),
    (lambda: ex.fi_curve(jn.LIF(), [1.0, np.nan]), "amplitudes"),
    (lambda: ex.fi_curve(jn.LIF(), [1.0], params={"R": [1.0, 2.0], "tau_m": [5.0]}),
     "same length"),
    (lambda: ex.fi_curve(jn.LIF(), [1.0], params={"nope": [1.0]}), "unknown parameter"),
    (lambda: ex.fi_curve(jn.LIF(), [1.0], duration=0.0), "duration"),
    (lambda: ex.fi_curve(jn.LIF(), [1.0], delay=-1.0), "delay"),
    (lambda: ex.rheobase(jn.LIF(), low=2.0, high=1.0), "low must be < high"),
    (lambda: ex.rheobase(jn.LIF(), low=1.0, high=2.0, criterion="burst"), "criterion"),
    (lambda: ex.rheobase(jn.LIF(), low=1.0, high=2.0, n_points=0), "n_points"),
    (lambda: ex.rheobase(jn.LIF(), low=[1.0, 2.0], high=3.0), "low"),
    (lambda: af.fit_activation([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], "gelu"), "name"),
    (lambda: af.fit_activation([1.0, 2.0, 3.0], [1.0, 2.0], "relu"), "same shape"),
    (lambda: af.fit_activation([1.0, 2.0], [1.0, 2.0], "sigmoid"), "at least 3"),
    (lambda: af.activation("relu", 1.0, dict(gain=1.0)), "exactly"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.slow
def test_workflows_quick_runs_report_the_published_hh_thresholds(tmp_path):
    from jaxneuron.apps.workflows import bio_vs_artificial, hh_exploration

    summary = hh_exploration.run(tmp_path / "hh", quick=True, log=lambda *a: None)
    default = summary["default"]
    assert 2.2 <= default["rheobase_spike_uA_cm2"] <= 2.3
    assert abs(default["rheobase_repetitive_uA_cm2"] - 6.26) < 0.05
    assert default["onset_rate_hz"] > 30.0
    assert (tmp_path / "hh" / "hh_temperature_c.png").exists()
    summary = bio_vs_artificial.run(tmp_path / "bio", quick=True, log=lambda *a: None)
    assert summary["models"]["Hodgkin–Huxley"]["onset_rate_hz"] > 30.0
    assert summary["models"]["LIF"]["rheobase"] == pytest.approx(1.5, abs=0.01)
    assert "| Hodgkin–Huxley |" in (tmp_path / "bio" / "comparison.md").read_text()
