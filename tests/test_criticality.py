"""Criticality analysis: avalanches on hand-built rasters, power-law fits on samples of a
known power law, MR branching ratio on mrestimator's own branching processes, classifier."""

import mrestimator as mre
import numpy as np
import powerlaw
import pytest

from jaxneuron.analysis import criticality as cr
from jaxneuron.apps.networks import tuning


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


def test_measure_with_a_fixed_branching_bin_reports_the_quiescent_fraction():
    counts = np.zeros(400, int)
    counts[::4] = 1  # one spike every 4 steps: with 2-step bins, half the bins are empty
    counts[1::8] += 1
    stats, av = cr.measure(counts, 0.5, n_neurons=10, mr_bin_ms=1.0)
    assert stats.quiescent == pytest.approx(0.5)
    assert stats.rate_hz == pytest.approx(150 / 10 / 0.2)
    # avalanches on the default bin: the mean inter-event interval 396 / 149 -> 3 steps
    assert av.bin_steps == 3


def _galton_watson(m, *, trials=8, steps=80, drive=0.5, cap=5000, seed=0):
    """Poisson branching process with offspring mean `m`, Poisson drive and a ceiling."""
    rng = np.random.default_rng(seed)
    a = np.zeros((trials, steps), int)
    for t in range(1, steps):
        a[:, t] = np.minimum(rng.poisson(m * a[:, t - 1]) + rng.poisson(drive, trials), cap)
    return a


@pytest.mark.parametrize("m", [1.15, 1.3])
def test_growth_branching_ratio_of_a_supercritical_branching_process(m):
    # stationary activity of a capped super-critical process sits at its ceiling, but the
    # ignition from rest grows by m per step
    estimate, window = cr.growth_branching_ratio(_galton_watson(m), fraction=0.5)
    assert window >= 6
    assert estimate.m == pytest.approx(m, abs=0.05)


def test_growth_branching_ratio_needs_growth():
    with pytest.raises(ValueError, match="no trial grows"):
        cr.growth_branching_ratio(np.zeros((3, 50)))
    with pytest.raises(ValueError, match="fraction"):
        cr.growth_branching_ratio(_galton_watson(1.2), fraction=0.0)


def test_driven_branching_network_has_fixed_out_degree_and_stacks_across_seeds():
    nets = [tuning.driven_branching_network(1.0, n=200, k=3, seed=s) for s in (1, 2)]
    for net in nets:
        conn = net.projections[0].connectivity
        np.testing.assert_array_equal(conn.out_degrees(), np.full(200, 3))
        assert conn.max_degree == 3
        dense = conn.to_dense()
        assert np.all(np.diag(dense) == 0)  # no autapses, distinct targets
        assert set(np.unique(dense)) <= {0.0, tuning.V_TH - tuning.V_REST - tuning.V_OFFSET}
    counts, overflow, _ = tuning.simulate_instances([0.5, 0.9], [1, 2], t1=50.0,
                                                    network_kwargs={"n": 200, "k": 3})
    assert counts.shape == (2, 50) and not overflow.any()
    with pytest.raises(ValueError, match="k must be"):
        tuning.driven_branching_network(n=10, k=10)


def test_uncoupled_cells_fire_at_the_gaussian_tail_rate_of_their_membrane_noise():
    # gain 0: each cell is an LIF with Gaussian kicks; its stationary V is Gaussian with the
    # mean and sd that `membrane_noise` was built for, so it fires in a step with
    # probability P(V >= V_th) = Phi(-d / s), d the distance from the mean to threshold
    from scipy.stats import norm

    offset, sd, n, t1 = 6.0, 3.0, 500, 4000.0
    counts, _, _ = tuning.simulate_instances([0.0], [0], t1=t1, key_seed=3,
                                             network_kwargs={"n": n, "v_offset": offset,
                                                             "v_std": sd})
    expected = norm.sf((tuning.V_TH - tuning.V_REST - offset) / sd) * n * (t1 - 100.0)
    # (the reset to -80 mV after each spike and the start from rest cost a few percent)
    assert counts[0, 100:].sum() == pytest.approx(expected, rel=0.15)


def test_branching_ratio_follows_the_mean_field_and_rises_with_the_gain():
    # below criticality the MR estimate of the simulated network (mean over 4 instances)
    # matches the first-order mean-field m = k [Phi((g w - d)/s) - Phi(-d/s)], and m and the
    # rate increase with the gain (a continuous transition, no jump)
    gains = [0.85, 0.9, 0.95]
    rows, _ = tuning.sweep_gain(gains, seeds=4, t1=4000.0, network_kwargs={"n": 1000,
                                                                          "v_offset": 3.3})
    m = np.array([r["m"] for r in rows])
    mean_field = tuning.mean_field_branching_ratio(np.array(gains), v_offset=3.3)
    np.testing.assert_allclose(mean_field, [0.56, 0.70, 0.85], atol=0.02)  # by hand
    np.testing.assert_allclose(m, mean_field, atol=0.08)
    assert np.all(np.diff(m) > 0)
    assert np.all(np.diff([r["rate_hz"] for r in rows]) > 0)
    assert not any(r["sustained"] for r in rows)


def test_tune_gain_validates_its_bracket():
    with pytest.raises(ValueError, match="low must be < high"):
        tuning.tune_gain(1.2, 0.8)
    with pytest.raises(ValueError, match="points"):
        tuning.tune_gain(0.8, 1.2, points=1)


@pytest.mark.slow
def test_tune_gain_finds_branching_ratio_one():
    # the verification (24 fresh instances) must land in 1 +- 0.05, and the found gain
    # where the mean-field branching ratio is about 1
    found = tuning.tune_gain(0.7, 1.3, points=6, seeds=4, rounds=3, target=0.97,
                             tolerance=0.02, t1=5000.0)
    assert found["bracketed"] and found["n_seeds"] == 24
    assert abs(found["m"] - 1.0) <= 0.05
    assert tuning.mean_field_branching_ratio(found["gain"]) == pytest.approx(1.0, abs=0.08)


@pytest.mark.slow
def test_criticality_workflow_separates_three_regimes(tmp_path):
    from jaxneuron.apps.workflows import criticality

    summary = criticality.run(tmp_path, quick=True, log=lambda *a: None)
    assert summary["tuned_within_tolerance"]
    m = summary["branching_ratios"]
    assert m["sub-critical"] < 0.9
    assert abs(m["critical"] - 1.0) <= 0.05
    assert m["super-critical"] > 1.05
    assert summary["regimes_measured"] == {"sub-critical": "sub-critical",
                                           "critical": "critical",
                                           "super-critical": "super-critical"}
    for name in ("summary.json", "tuning.csv", "regimes.csv", "regimes_raster.png",
                 "avalanches.png", "avalanches_critical.csv"):
        assert (tmp_path / name).exists()
