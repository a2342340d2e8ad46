"""`features.from_spike_times` against `features.extract` (eFEL's definitions, itself checked
against eFEL) on voltage traces whose spike peaks lie at known sample times."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxneuron.features import SPIKE_TIME_FEATURES, extract, from_spike_times

DT = 0.1
T = np.arange(0, 300.0 + DT / 2, DT)
START, END = 50.0, 250.0


def trace_with_peaks(peak_indices):
    """-70 mV with a 1-ms triangular spike to +20 mV peaking at each index."""
    v = np.full(T.size, -70.0)
    for i in peak_indices:
        for j in range(-5, 6):
            v[i + j] = max(v[i + j], 20.0 - 18.0 * abs(j))
    return v


@pytest.mark.parametrize("seed", range(8))
def test_spike_time_features_match_the_voltage_features(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 9))
    candidates = np.arange(200, T.size - 200, 20)
    peaks = np.sort(rng.choice(candidates, size=n, replace=False))
    v = trace_with_peaks(peaks)
    exact = extract(T, v, SPIKE_TIME_FEATURES, stim_start=START, stim_end=END,
                    interp_step=None)
    times = np.full(12, np.nan)
    times[:n] = T[peaks]
    ours = from_spike_times(times, SPIKE_TIME_FEATURES, stim_start=START, stim_end=END)
    for name in SPIKE_TIME_FEATURES:
        if exact[name] is None:
            assert np.isnan(ours[name]), (name, ours[name])
        else:
            assert float(ours[name]) == pytest.approx(exact[name], rel=1e-9, abs=1e-12), name


def test_spike_time_features_differentiate_and_vmap():
    times = jnp.asarray([60.0, 80.0, 110.0, 150.0, 200.0, jnp.nan])
    grad = jax.grad(lambda t: from_spike_times(t, "time_to_first_spike", stim_start=START,
                                               stim_end=END)["time_to_first_spike"])(times)
    assert np.allclose(np.nan_to_num(grad), [1, 0, 0, 0, 0, 0])
    batch = jnp.stack([times, times + 1.0])
    out = jax.jit(jax.vmap(lambda t: from_spike_times(
        t, ("mean_frequency", "ISI_CV"), stim_start=START, stim_end=END)))(batch)
    assert out["mean_frequency"].shape == (2,)
    # 5 spikes inside, the last at 200 ms: 5 * 1000 / (200 - 50) Hz
    assert float(out["mean_frequency"][0]) == pytest.approx(5000 / 150)


def test_unknown_spike_time_feature_is_named():
    with pytest.raises(ValueError, match="peak_voltage"):
        from_spike_times(np.zeros(3), ["peak_voltage"], stim_start=0.0, stim_end=1.0)


def test_no_spikes_at_all():
    out = from_spike_times(np.zeros(0), SPIKE_TIME_FEATURES, stim_start=START, stim_end=END)
    assert float(out["Spikecount"]) == 0.0
    assert all(np.isnan(out[n]) for n in ("time_to_first_spike", "ISI_CV",
                                          "adaptation_index2"))
    # eFEL: no spike inside the window gives a mean frequency of 0 (0 / -stim_start)
    assert np.isnan(out["mean_frequency"])  # ... but no spike at all: undefined (None)
