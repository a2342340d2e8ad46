"""Criticality analysis: avalanches on hand-built rasters, power-law fits on samples of a
known power law, MR branching ratio on mrestimator's own branching processes, classifier."""

import mrestimator as mre
import numpy as np
import powerlaw
import pytest

from jaxneuron.analysis import criticality as cr
from jaxneuron.network import tuning


def _raster():
    """10 neurons, 20 steps; avalanches (bin = 1 step) of sizes 3, 6, 1 and durations 2, 3,
    1; a run touching the last step is incomplete."""
    raster = np.zeros((20, 10), bool)
    raster[2, [0, 1]] = True          # avalanche 1: steps 2-3, 3 spikes
    raster[3, 4] = True
    raster[6, [0, 1, 2]] = True       # avalanche 2: steps 6-8, 6 spikes
    raster[7, 5] = True
    raster[8, [7, 8]] = True
    raster[12, 3] = True              # avalanche 3: step 12, 1 spike
    raster[19, 9] = True              # touches the end: dropped
    return raster


def test_avalanches_of_a_hand_built_raster():
    av = cr.detect_avalanches(_raster(), dt=0.1, bin_ms=0.1)
    np.testing.assert_array_equal(av.sizes, [3, 6, 1])
    np.testing.assert_array_equal(av.durations, [2, 3, 1])
    np.testing.assert_array_equal(av.starts, [2, 6, 12])
    assert av.bin_steps == 1 and av.bin_ms == pytest.approx(0.1)


def test_default_bin_is_the_mean_interevent_interval_and_merges_close_runs():
    raster = _raster()
    # 11 spikes between steps 2 and 19: mean interval 17 / 10 = 1.7 steps -> bin of 2.
    assert cr.mean_interevent_steps(raster) == pytest.approx(1.7)
    av = cr.detect_avalanches(raster, dt=0.5)
    assert av.bin_steps == 2 and av.bin_ms == pytest.approx(1.0)
    # bins of 2 steps: counts [0, 3, 0, 4, 2, 0, 1, 0, 0, 1] -> avalanches (3), (4 + 2), (1)
    np.testing.assert_array_equal(av.counts, [0, 3, 0, 4, 2, 0, 1, 0, 0, 1])
    np.testing.assert_array_equal(av.sizes, [3, 6, 1])
    np.testing.assert_array_equal(av.durations, [1, 2, 1])
    # counts per step give the same avalanches as the raster
    same = cr.detect_avalanches(raster.sum(1), dt=0.5)
    np.testing.assert_array_equal(same.sizes, av.sizes)


@pytest.mark.parametrize("alpha, discrete", [(1.5, True), (2.0, True), (2.0, False)])
def test_power_law_exponent_is_recovered(alpha, discrete):
    np.random.seed(1)  # noqa: NPY002 (powerlaw draws from the global generator)
    law = powerlaw.Power_Law(xmin=1.0, parameters=[alpha], discrete=discrete)
    samples = law.generate_random(3000)
    fit = cr.fit_power_law(samples, discrete=discrete)
    assert fit.exponent == pytest.approx(-alpha, abs=0.1)
    assert fit.alpha == -fit.exponent and fit.n_tail > 300
    assert fit.loglikelihood_ratio > 0  # a power law beats an exponential


def test_exponential_samples_are_not_called_a_power_law():
    samples = np.random.default_rng(0).exponential(10.0, 3000) + 1.0
    fit = cr.fit_power_law(samples, discrete=False, xmin=1.0)
    assert fit.loglikelihood_ratio < 0 and fit.p_value < 0.05


@pytest.mark.parametrize("m", [0.9, 0.99])
def test_branching_ratio_of_mrestimator_branching_processes(m):
    activity = mre.simulate_branching(m, a=100, length=20000, seed=3)
    estimate = cr.branching_ratio(activity[0], bin_ms=4.0)
    assert estimate.m == pytest.approx(m, abs=0.03)
    assert estimate.tau_ms == pytest.approx(-4.0 / np.log(estimate.m))


def test_branching_ratio_under_subsampling():
    # MR is unbiased when only 5 % of the units are observed.
    full = mre.simulate_branching(0.98, a=100, length=20000, seed=4)
    sub = np.random.default_rng(0).binomial(full.astype(int), 0.05)
    assert cr.branching_ratio(sub[0]).m == pytest.approx(0.98, abs=0.03)


def test_classifier_thresholds():
    assert cr.classify(0.5) == "sub-critical"
    assert cr.classify(0.9499) == "sub-critical"
    assert cr.classify(0.95) == "critical"
    assert cr.classify(1.0) == "critical"
    assert cr.classify(1.05) == "critical"
    assert cr.classify(1.0501) == "super-critical"
    assert cr.classify(0.97, low=0.98, high=1.02) == "sub-critical"
    with pytest.raises(ValueError, match="m must be finite"):
        cr.classify(float("nan"))


def test_invalid_inputs_raise():
    with pytest.raises(ValueError, match="dt"):
        cr.detect_avalanches(_raster(), dt=0.0)
    with pytest.raises(ValueError, match="bin_ms"):
        cr.detect_avalanches(_raster(), dt=0.1, bin_ms=-1.0)
    with pytest.raises(ValueError, match="at least 2 spikes"):
        cr.detect_avalanches(np.zeros(10), dt=0.1)
    with pytest.raises(ValueError, match="at least 10"):
        cr.fit_power_law([1, 2, 3])
    with pytest.raises(ValueError, match="constant"):
        cr.branching_ratio(np.ones(500))
    with pytest.raises(ValueError, match="raster must be"):
        cr.population_counts(np.zeros((2, 2, 2)))


def test_vmapped_network_sweep_measures_each_instance():
    stats, counts = tuning.sweep_gain([0.2, 0.6], t1=400.0, dt=0.5, transient_ms=100.0,
                                  network_kwargs={"n": 100})
    assert counts.shape == (2, 600) and [s.gain for s in stats] == [0.2, 0.6]
    assert all(s.rate_hz >= 0 for s in stats)
    assert stats[1].rate_hz >= stats[0].rate_hz  # more excitation, more activity
