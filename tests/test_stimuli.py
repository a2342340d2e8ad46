"""Stimuli: values against their definitions, batching, validation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuron as jn

T = jnp.linspace(-5.0, 60.0, 1301)


def test_step_current():
    s = jn.StepCurrent(2.5, 10.0, 20.0)
    expected = np.where((T >= 10.0) & (T < 20.0), 2.5, 0.0)
    np.testing.assert_array_equal(jax.vmap(s)(T), expected)


def test_ramp_current():
    s = jn.RampCurrent(1.0, 3.0, 10.0, 30.0)
    expected = np.where((T >= 10) & (T < 30), 1.0 + 2.0 * (T - 10.0) / 20.0, 0.0)
    np.testing.assert_allclose(jax.vmap(s)(T), expected, atol=1e-12)


def test_pulse_train():
    s = jn.PulseTrain(amplitude=4.0, width=2.0, period=10.0, t_start=5.0, t_stop=40.0)
    t = np.asarray(T)
    expected = np.where((t >= 5) & (t < 40) & (np.mod(t - 5.0, 10.0) < 2.0), 4.0, 0.0)
    np.testing.assert_array_equal(jax.vmap(s)(T), expected)


def test_sine_current():
    s = jn.SineCurrent(amplitude=2.0, frequency_hz=50.0, phase=0.3, offset=1.0)
    t = np.asarray(T)
    expected = np.where(t >= 0, 1.0 + 2.0 * np.sin(2 * np.pi * 50.0 * t / 1000.0 + 0.3), 0.0)
    np.testing.assert_allclose(jax.vmap(s)(T), expected, atol=1e-12)


def test_sampled_current_interpolates_like_numpy():
    values = np.random.default_rng(0).normal(size=50)
    s = jn.SampledCurrent(values, dt=1.0, t0=2.0)
    t = np.asarray(T)
    grid = 2.0 + np.arange(50)
    expected = np.where((t >= 2.0) & (t <= grid[-1]), np.interp(t, grid, values), 0.0)
    np.testing.assert_allclose(jax.vmap(s)(T), expected, atol=1e-12)


def test_stimuli_batch_under_vmap_with_amplitudes():
    amps = jnp.array([0.0, 5.0, 10.0, 20.0])
    traces = jax.vmap(lambda a: jn.simulate(jn.HodgkinHuxley(), jn.StepCurrent(a), t1=50.0))(amps)
    counts = np.asarray(traces.n_spikes)
    assert counts[0] == 0 and np.all(np.diff(counts[1:]) >= 0) and counts[-1] > 0


@pytest.mark.parametrize(("factory", "message"), [
    (lambda: jn.StepCurrent(1.0, 10.0, 5.0), "t_stop"),
    (lambda: jn.StepCurrent(float("nan")), "amplitude"),
    (lambda: jn.PulseTrain(1.0, width=5.0, period=2.0), "width"),
    (lambda: jn.PulseTrain(1.0, width=1.0, period=-2.0), "period"),
    (lambda: jn.SampledCurrent(np.ones(10), dt=0.0), "dt"),
    (lambda: jn.SampledCurrent(np.ones((2, 3)), dt=1.0), "values"),
])
def test_invalid_stimuli_raise_value_error(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()
