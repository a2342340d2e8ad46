"""The inference tools on a recording: NUTS on every sweep jointly, on the recording's grid."""

import jax
import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron.inference import NutsSampler, Prior, run_nuts
from jaxneuron.recordings import Recording, Sweep

TRUTH = {"tau_m": 10.0, "R": 10.0, "V_rest": -65.0}
NOISE = 1.0  # mV
AMPS_NA = (-0.5, 0.25, 0.5)
ON, OFF, DT = 5.0, 25.0, 0.5  # ms
PRIOR = Prior({"tau_m": (4.0, 30.0), "R": (3.0, 30.0), "V_rest": (-80.0, -50.0)})


def passive_lif():
    """An LIF that never spikes: its voltage under a step is analytic."""
    return jn.LIF(V_th=1000.0)


def lif_voltage(t, amp, tau_m=10.0, R=10.0, V_rest=-65.0):
    """V = V_rest + R I (1 - exp(-(t - on) / tau_m)) during the step, then decaying back
    (mV; amp in nA, R in MOhm)."""
    v_on = V_rest + R * amp * (1 - np.exp(-(np.clip(t, ON, OFF) - ON) / tau_m))
    return np.where(t < OFF, v_on, V_rest + (v_on - V_rest) * np.exp(-(t - OFF) / tau_m))


def recording(noise=NOISE, seed=0, amps=AMPS_NA):
    """Analytic LIF sweeps with Gaussian noise, 2 kHz, current in pA."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, 40.0 + 1e-9, DT)
    sweeps = [Sweep(time=t, voltage=lif_voltage(t, a) + noise * rng.standard_normal(t.size),
                    current=np.where((t >= ON) & (t < OFF), 1000.0 * a, 0.0),
                    current_unit="pA", name=f"s{i}") for i, a in enumerate(amps)]
    return Recording(tuple(sweeps))


def test_analytic_voltage_is_the_models_on_the_recordings_grid():
    """The sampler's grid is the recording's samples, and the simulated voltage of every
    sweep (vmapped) equals the analytic one; observed defaults to the recorded voltage."""
    rec = recording(noise=0.0)
    sampler = NutsSampler(passive_lif(), rec, prior=PRIOR, sigma=NOISE, dt=DT,
                          num_warmup=1, num_samples=1, num_chains=1)
    t = rec[0].time
    assert sampler.observed_shape == (3, t.size)
    np.testing.assert_array_equal(sampler.data, np.stack([s.voltage for s in rec]))
    two = NutsSampler(passive_lif(), rec, prior=PRIOR, sweeps=[2, 0], dt=DT,
                      num_warmup=1, num_samples=1, num_chains=1)
    assert two.observed_shape == (2, t.size)
    np.testing.assert_array_equal(two.data, np.stack([rec[2].voltage, rec[0].voltage]))
    stimuli = rec.stimulus(passive_lif())
    traces = jax.vmap(lambda s: jn.simulate(passive_lif(), s, t1=40.0, dt=DT,
                                            save_every=DT))(stimuli)
    expected = np.stack([lif_voltage(t, a) for a in AMPS_NA])
    np.testing.assert_allclose(np.asarray(traces.v), expected, atol=1e-9)


@pytest.mark.slow
def test_nuts_on_a_recording_recovers_the_parameters_and_the_noise():
    """Three sweeps of an analytic LIF with 1 mV noise: started from `fit_recording`'s
    best starts on the same recording (`fit.restarts.top(2)`, no sigma), NUTS's
    posterior means lie within 4 posterior SDs of the truth and sigma's within 10 % of the
    true noise (243 samples: its posterior SD is about 1 / sqrt(2 * 243) = 4.5 %)."""
    rec = recording()
    fit = jn.fit_recording(rec, passive_lif(), PRIOR, starts=2, steps=40, dt=DT)
    init = fit.restarts.top(2)
    assert set(init) == set(PRIOR.names) and init["R"].shape == (2,)
    result = run_nuts(passive_lif(), rec, key=jax.random.key(0), prior=PRIOR, init=init,
                      dt=DT, num_warmup=150, num_samples=150, num_chains=2,
                      dense_mass=False)
    assert result.names == ("tau_m", "R", "V_rest", "sigma")
    assert result.samples["R"].shape == (2, 150)
    for name, value in TRUTH.items():
        draws = result.samples[name]
        assert abs(draws.mean() - value) < 4 * draws.std(), name
        assert draws.std() < 0.1 * abs(value), name
    assert result.samples["sigma"].mean() == pytest.approx(NOISE, rel=0.1)
    assert result.divergences == 0


# ---------------------------------------------------------------- NPE on a recording

SPIKES_MS = (8.0, 12.5, 18.0, 24.0)  # in the step of the last sweep


def spiking_recording():
    """The noise-free LIF sweeps with 1 ms wide Gaussian spikes (peak ~ +20 mV) added to
    the last one, sampled at 0.1 ms (eFEL's interpolation step)."""
    t = np.arange(0.0, 40.0 + 1e-9, 0.1)
    sweeps = []
    for i, a in enumerate(AMPS_NA):
        v = lif_voltage(t, a)
        if i == len(AMPS_NA) - 1:
            v = v + sum(85.0 * np.exp(-0.5 * ((t - s) / 0.25) ** 2) for s in SPIKES_MS)
        sweeps.append(Sweep(time=t, voltage=v, current=np.where((t >= ON) & (t < OFF),
                            1000.0 * a, 0.0), current_unit="pA", name=f"s{i}"))
    return Recording(tuple(sweeps))


def efel_mean(trace, name):
    """eFEL's value (per-spike values averaged), or None where eFEL leaves it undefined."""
    import warnings

    efel = pytest.importorskip("efel")
    efel.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = efel.get_feature_values([trace], [name], raise_warnings=False)[0][name]
    if value is None or value.size == 0 or not np.all(np.isfinite(value)):
        return None
    return float(np.mean(value))


def test_feature_summary_matches_efel_per_sweep_with_indicators():
    """The summary vector holds eFEL's value of every feature on every sweep (per-spike
    ones averaged) within 1e-6 relative, the fill value 0 and indicator 0 where eFEL leaves
    a feature undefined (no spike: time_to_first_spike, ISI_CV, ...; sag on a depolarising
    step), and indicator 1 elsewhere."""
    from jaxneuron.inference import SUMMARY_FEATURES, FeatureSummary

    rec = spiking_recording()
    summary = FeatureSummary.of(rec)
    x = summary(rec)
    n_s, n_f = len(rec), len(SUMMARY_FEATURES)
    assert x.shape == (summary.size,) == (2 * n_s * n_f,)
    values, defined = x[: n_s * n_f].reshape(n_s, n_f), x[n_s * n_f:].reshape(n_s, n_f)
    compared = 0
    for s, sweep in enumerate(rec):
        trace = {"T": sweep.time, "V": sweep.voltage, "stim_start": [ON], "stim_end": [OFF]}
        for f, name in enumerate(SUMMARY_FEATURES):
            expected = efel_mean(trace, name)
            if expected is None:
                assert (values[s, f], defined[s, f]) == (0.0, 0.0), (s, name)
            else:
                assert defined[s, f] == 1.0, (s, name)
                assert values[s, f] == pytest.approx(expected, rel=1e-6, abs=1e-9), (s, name)
                compared += 1
    assert values[2, SUMMARY_FEATURES.index("Spikecount")] == len(SPIKES_MS)
    assert values[0, SUMMARY_FEATURES.index("voltage_base")] == pytest.approx(-65.0)
    assert compared >= 12 and defined.sum() < n_s * n_f  # both kinds occur


def test_simulated_observations_of_a_recording_are_its_sweeps_and_its_summary():
    """simulate_observations on a recording simulates every sweep on its grid: at the true
    parameters without noise the observation is the analytic voltage of all sweeps
    (flattened), and with a FeatureSummary it is the recording's own summary."""
    from jaxneuron.inference import FeatureSummary, simulate_observations

    rec = recording(noise=0.0)
    truth = np.array([[TRUTH[n] for n in PRIOR.names], [12.0, 8.0, -60.0]])
    theta, x, ok = simulate_observations(passive_lif(), rec, PRIOR, truth,
                                         key=jax.random.key(0), dt=DT, progress=False)
    assert ok.all() and x.shape == (2, 3 * rec[0].time.size)
    np.testing.assert_allclose(x[0], np.concatenate([s.voltage for s in rec]), atol=1e-9)
    summary = FeatureSummary.of(rec, ["voltage_base", "steady_state_voltage",
                                      "sag_amplitude", "Spikecount"], sweeps=[0, 2])
    _, xs, ok = simulate_observations(passive_lif(), rec, PRIOR, truth, sweeps=[0, 2],
                                      summary=summary, key=jax.random.key(0), dt=DT,
                                      progress=False)
    assert ok.all() and xs.shape == (2, summary.size)
    np.testing.assert_allclose(xs[0], summary(rec), atol=1e-9)
    assert not np.allclose(xs[1], summary(rec))


@pytest.mark.slow
def test_npe_on_a_recordings_feature_summary_conditions_on_the_recording():
    """NPE trained on FeatureSummary vectors of simulated sweeps with the recording's noise
    (R and V_rest unknown): the posterior given the recording's own summary is centred
    within 3 posterior SDs of the truth and is at least 4 times narrower than the prior
    (voltage_base pins V_rest, steady_state_voltage scales with R)."""
    from jaxneuron.inference import FeatureSummary, simulate_observations, train_npe

    rec = recording(noise=0.2, seed=3)
    prior = Prior({"R": (3.0, 30.0), "V_rest": (-80.0, -50.0)})
    summary = FeatureSummary.of(rec, ["voltage_base", "steady_state_voltage",
                                      "sag_amplitude", "Spikecount"])
    key_theta, key_sim, key_train, key_draw = jax.random.split(jax.random.key(0), 4)
    theta, x, ok = simulate_observations(
        jn.LIF(V_th=1000.0, tau_m=TRUTH["tau_m"]), rec, prior,
        prior.sample(key_theta, 1500), key=key_sim, noise_std=0.2, summary=summary,
        dt=DT, progress=False)
    assert ok.all()
    posterior, _ = train_npe(theta, x, prior, key=key_train, max_epochs=150, batch_size=64,
                             flow_layers=3, nn_width=32, progress=False)
    draws = np.asarray(posterior.sample(key_draw, summary(rec), 4000))
    for k, name in enumerate(prior.names):
        assert abs(draws[:, k].mean() - TRUTH[name]) < 3 * draws[:, k].std(), name
        assert draws[:, k].std() < 0.25 * np.std(np.asarray(theta)[:, k]), name
