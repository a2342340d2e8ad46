"""HH summary statistics against hand-computed values, SciPy moments and the NumPy code of
the sbi Hodgkin–Huxley example."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jaxneuron as jn
from jaxneuron.analysis.summaries import (
    SBI_HH_NAMES,
    SHAPE_NAMES,
    HHSummaries,
    first_spike_shape,
    hh_summary_statistics,
    resting_stats,
    spike_features,
    stimulus_moments,
)

T_ON, T_OFF = 10.0, 18.0


def hand_trace():
    """0.5 ms grid over 20 ms: rest at -65 mV with -64/-66 in the last tenth before t_on,
    a spike at 5 ms (before the stimulus), a two-sample spike peaking at 30 mV at 12.5 ms,
    a one-sample spike of 10 mV at 16 ms, an undershoot to -70 mV at 13 ms."""
    ts = np.arange(0.0, 20.0, 0.5)
    v = np.full_like(ts, -65.0)
    v[ts == 9.0], v[ts == 9.5] = -64.0, -66.0
    v[ts == 5.0] = 20.0
    v[ts == 12.0], v[ts == 12.5], v[ts == 13.0] = 20.0, 30.0, -70.0
    v[ts == 16.0] = 10.0
    return ts, v


def test_resting_stats_by_hand():
    ts, v = hand_trace()
    out = resting_stats(jnp.asarray(ts), jnp.asarray(v), T_ON)
    # ts < 10: 20 samples, of which 17 at -65 plus 20, -64, -66
    assert float(out["rest_mean"]) == pytest.approx((17 * -65.0 + 20.0 - 64.0 - 66.0) / 20)
    # last tenth [9, 10): -64 and -66 -> population std 1
    assert float(out["rest_std"]) == pytest.approx(1.0)


def test_spike_features_by_hand():
    ts, v = hand_trace()
    out = spike_features(jnp.asarray(ts), jnp.asarray(v), T_ON, T_OFF, threshold=-10.0)
    assert float(out["n_spikes"]) == 2  # the spike at 5 ms is before t_on
    first_crossing = 11.5 + 0.5 * (-10.0 + 65.0) / (20.0 + 65.0)
    second_crossing = 15.5 + 0.5 * (-10.0 + 65.0) / (10.0 + 65.0)
    assert float(out["first_spike_latency"]) == pytest.approx(first_crossing - T_ON)
    assert float(out["t_second"]) == pytest.approx(second_crossing)


def test_no_spikes_gives_documented_fallbacks():
    ts = jnp.arange(0.0, 20.0, 0.5)
    flat = jnp.full_like(ts, -65.0)
    out = spike_features(ts, flat, T_ON, T_OFF)
    assert float(out["n_spikes"]) == 0
    assert float(out["first_spike_latency"]) == pytest.approx(T_OFF - T_ON)
    shape = first_spike_shape(ts, flat, T_ON, T_OFF)
    assert all(np.isnan(float(shape[k])) for k in SHAPE_NAMES[1:])


def test_first_spike_shape_takes_the_first_spike_inside_the_window():
    """Gaussian 'spikes' on a fine grid: peaks at 45 mV (5 ms, before t_on), 35 mV (12 ms)
    and 25 mV (16 ms); the shape must be the 12-ms one, whose peak is -65 + 100 = 35 mV."""
    ts = np.arange(0.0, 20.0, 0.01)
    v = -65.0 + sum(h * np.exp(-((ts - c) ** 2) / (2 * 0.3**2))
                    for h, c in ((110.0, 5.0), (100.0, 12.0), (90.0, 16.0)))
    shape = first_spike_shape(jnp.asarray(ts), jnp.asarray(v), T_ON, T_OFF)
    assert float(shape["peak_mv"]) == pytest.approx(35.0, abs=1e-3)
    # the -10 mV crossing: 100 exp(-d^2 / 0.18) = 55 -> d = 0.3 sqrt(2 ln(100 / 55))
    latency = 12.0 - 0.3 * np.sqrt(2 * np.log(100 / 55)) - T_ON
    assert float(shape["first_spike_latency"]) == pytest.approx(latency, abs=1e-4)


def test_stimulus_moments_match_scipy():
    rng = np.random.default_rng(0)
    ts = np.arange(0.0, 30.0, 0.1)
    v = -60.0 + 8.0 * rng.gamma(2.0, size=ts.size)  # skewed, so all moments matter
    out = stimulus_moments(jnp.asarray(ts), jnp.asarray(v), T_ON, T_OFF)
    inside = v[(ts > T_ON) & (ts < T_OFF)]
    assert float(out["stim_mean"]) == pytest.approx(np.mean(inside), rel=1e-12)
    assert float(out["stim_var"]) == pytest.approx(np.var(inside), rel=1e-12)
    assert float(out["stim_skewness"]) == pytest.approx(stats.skew(inside), rel=1e-10)
    assert float(out["stim_kurtosis"]) == pytest.approx(stats.kurtosis(inside, fisher=False),
                                                        rel=1e-10)


def sbi_reference(t, x, t_on, t_off, dt):
    """The NumPy summary statistics of the sbi Hodgkin–Huxley tutorial (n_mom = 4,
    n_summary = 7), transcribed: spike count, rest mean and std, and the mean, variance,
    standardised 3rd and 4th moments during the stimulus."""
    v = np.array(x)
    v[v < -10] = -10
    v[np.where(np.diff(v) < 0)] = -10
    spike_times = np.array(t)[np.where(np.diff(v) < 0)]
    stim = spike_times[(spike_times > t_on) & (spike_times < t_off)]
    if stim.shape[0] > 0:
        stim = stim[np.append(1, np.diff(stim)) > 0.5]
    rest_mean = np.mean(x[t < t_on])
    rest_std = np.std(x[int(0.9 * t_on / dt): int(t_on / dt)])
    window = x[(t > t_on) & (t < t_off)]
    std_pw = np.concatenate([np.ones(1), np.power(np.std(window), np.linspace(3, 4, 2))])
    moments = stats.moment(window, np.linspace(2, 4, 3)) / std_pw
    return np.concatenate([[stim.shape[0]], [rest_mean, rest_std, np.mean(window)], moments])


@pytest.mark.slow
def test_hh_summaries_match_the_sbi_code_on_a_noisy_hh_trace_inside_sweep():
    dt, t_on, t_off = 0.05, 10.0, 40.0
    stim = jn.StepCurrent(8.0, t_start=t_on, t_stop=t_off)
    summaries = HHSummaries(t_on=t_on, t_off=t_off)
    g_na = np.array([120.0, 90.0, 150.0])
    result = jn.sweep(jn.HodgkinHuxley(), {"g_Na": g_na}, stim,
                      summary=lambda tr: {"v": tr.v}, t1=50.0, dt=dt, save_every=dt,
                      progress=False)
    ts = np.arange(result.summaries["v"].shape[1]) * dt
    noise = 0.3 * np.random.default_rng(1).standard_normal(result.summaries["v"].shape)
    noisy = result.summaries["v"] + noise
    ours = np.asarray(jax.jit(summaries.vector)(jnp.asarray(ts), jnp.asarray(noisy)))
    assert ours.shape == (3, len(SBI_HH_NAMES))
    references = np.stack([sbi_reference(ts, v, t_on, t_off, dt) for v in noisy])
    assert references[:, 0].min() >= 1 and references[:, 0].max() >= 2  # they spike
    np.testing.assert_allclose(ours, references, rtol=1e-8, atol=1e-9)
    # and as the sweep's own summary function (noise-free), same numbers as vector()
    direct = jn.sweep(jn.HodgkinHuxley(), {"g_Na": g_na}, stim, summary=summaries, t1=50.0,
                      dt=dt, save_every=dt, progress=False)
    clean = np.asarray(summaries.vector(jnp.asarray(ts), jnp.asarray(result.summaries["v"])))
    for i, name in enumerate(SBI_HH_NAMES):
        np.testing.assert_allclose(direct.summaries[name], clean[:, i], rtol=1e-10)


def test_shape_features_are_added_on_request_and_are_differentiable():
    ts = jnp.arange(0.0, 20.0, 0.5)
    stats_ = hh_summary_statistics(ts, -65.0 + 0.1 * ts, t_on=T_ON, t_off=T_OFF, shape=True)
    assert set(stats_) == set(SBI_HH_NAMES) | set(SHAPE_NAMES)
    # d(stim_mean)/d(offset) = 1 exactly
    grad = jax.grad(lambda c: hh_summary_statistics(ts, c + 0.1 * ts, t_on=T_ON,
                                                    t_off=T_OFF)["stim_mean"])(-65.0)
    assert float(grad) == pytest.approx(1.0)
