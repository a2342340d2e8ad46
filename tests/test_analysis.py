"""Spike detection and rates against analytic values."""

import jax.numpy as jnp
import numpy as np
import pytest

from jaxneuron import analysis


def test_detect_spikes_on_a_sine_gives_analytic_crossings():
    ts = jnp.linspace(0.0, 100.0, 100_001)
    v = jnp.sin(2 * jnp.pi * ts / 20.0)  # upward zero crossings at 20 k ms
    spikes, count = analysis.detect_spikes(ts, v - 0.5, 0.0, max_spikes=8)
    # sin = 0.5 upward at t = 20 k + 20/12
    expected = 20.0 * np.arange(5) + 20.0 / 12.0
    assert int(count) == 5
    np.testing.assert_allclose(spikes[:5], expected, atol=1e-5)
    assert np.all(np.isnan(spikes[5:]))


def test_linear_crossing_interpolation_is_exact_for_a_line():
    t, crossed = analysis.crossing_time(1.0, -10.0, 1.5, 30.0, 0.0)
    assert bool(crossed) and float(t) == pytest.approx(1.125)


def test_overflow_is_counted():
    ts = jnp.linspace(0.0, 100.0, 10_001)
    v = jnp.sin(2 * jnp.pi * ts / 5.0 - 1.0)  # upward zero at t = 5 (k + 1/2pi), 20 of them
    spikes, count = analysis.detect_spikes(ts, v, 0.0, max_spikes=4)
    assert int(count) == 20 and not np.any(np.isnan(spikes))
    np.testing.assert_allclose(spikes, 5.0 * (np.arange(4) + 1 / (2 * np.pi)), atol=1e-5)


def test_rates():
    spikes = jnp.array([10.0, 20.0, 30.0, 45.0, 60.0, 75.0, jnp.nan, jnp.nan])
    assert float(analysis.firing_rate(spikes, 0.0, 100.0)) == pytest.approx(60.0)
    assert float(analysis.steady_firing_rate(spikes, n_last=3)) == pytest.approx(1000 / 15)
    assert np.isnan(float(analysis.steady_firing_rate(spikes[:2], n_last=3)))
    assert int(analysis.spike_count(spikes, 15.0, 50.0)) == 3
