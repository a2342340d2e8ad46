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
    """Three sweeps of an analytic LIF with 1 mV noise: started from a fit's best starts
    (`RestartsResult.top`, no sigma), NUTS's posterior means lie within 4 posterior SDs of
    the truth and sigma's within 10 % of the true noise (363 samples: its posterior SD is
    about 1 / sqrt(2 * 363) = 4 %)."""
    rec = recording()
    init = {"tau_m": np.array([9.0, 11.0]), "R": np.array([11.0, 9.0]),
            "V_rest": np.array([-64.0, -66.0])}
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
