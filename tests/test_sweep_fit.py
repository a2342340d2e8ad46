"""sweep and fit."""

import numpy as np
import pytest

import jaxneuron as jn


def test_sweep_rows_match_individual_simulations_and_chunking():
    g_na = np.array([90.0, 110.0, 120.0, 130.0, 150.0, 160.0, 170.0])
    amp = np.array([5.0, 8.0, 10.0, 12.0, 15.0, 18.0, 20.0])
    kw = dict(t1=60.0, dt=0.025)
    full = jn.sweep(jn.HodgkinHuxley(), {"g_Na": g_na}, jn.StepCurrent(0.0),
                    stimulus_params={"amplitude": amp}, progress=False, **kw)
    chunked = jn.sweep(jn.HodgkinHuxley(), {"g_Na": g_na}, jn.StepCurrent(0.0),
                       stimulus_params={"amplitude": amp}, chunk_size=3, progress=False, **kw)
    for name in full.summaries:
        np.testing.assert_allclose(full.summaries[name], chunked.summaries[name], rtol=1e-12)
    for i in (0, 3, 6):
        trace = jn.simulate(jn.HodgkinHuxley(g_Na=g_na[i]), jn.StepCurrent(amp[i]), **kw)
        assert full.summaries["n_spikes"][i] == int(trace.n_spikes)
        assert full.summaries["first_spike_ms"][i] == pytest.approx(float(trace.spike_times[0]))
    np.testing.assert_array_equal(full.params["g_Na"], g_na)
    np.testing.assert_array_equal(full.params["stimulus.amplitude"], amp)
    assert full.ok.all()


def test_sweep_reports_blown_up_sets_and_finishes_the_rest():
    g_na = np.array([120.0, 5000.0, 100.0])
    with pytest.warns(RuntimeWarning, match="1 of 3"):
        result = jn.sweep(jn.HodgkinHuxley(), {"g_Na": g_na}, jn.StepCurrent(10.0), t1=20.0,
                          dt=0.05, solver="euler", progress=False)
    np.testing.assert_array_equal(result.failed, [1])
    assert result.failed_parameters() == [{"index": 1, "g_Na": 5000.0, "status": 1,
                                           "reason": "the state became NaN/inf"}]
    assert result.summaries["n_spikes"][0] > 0


def test_sweep_keep_traces_and_csv(tmp_path):
    result = jn.sweep(jn.HodgkinHuxley(), {"g_K": np.array([30.0, 36.0])}, jn.StepCurrent(10.0),
                      t1=10.0, keep_traces=True, save_every=0.5, progress=False)
    assert result.traces.v.shape == (2, 21)
    result.to_csv(tmp_path / "sweep.csv")
    data = np.genfromtxt(tmp_path / "sweep.csv", delimiter=",", names=True)
    np.testing.assert_array_equal(data["g_K"], [30.0, 36.0])


@pytest.mark.parametrize(("params", "message"), [
    ({"g_Xx": np.ones(3)}, "g_Xx"),
    ({"g_Na": np.ones(3), "g_K": np.ones(4)}, "same length"),
    ({}, "at least one"),
])
def test_sweep_rejects_bad_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        jn.sweep(jn.HodgkinHuxley(), params, jn.StepCurrent(1.0), t1=5.0, progress=False)


def _fit_from(factor_na, factor_k):
    true = jn.HodgkinHuxley()
    stim = jn.StepCurrent(10.0, 2.0)
    kw = dict(t1=20.0, dt=0.025, save_every=0.1)
    target = jn.simulate(true, stim, **kw).v
    start = jn.HodgkinHuxley(g_Na=120.0 * factor_na, g_K=36.0 * factor_k)
    return jn.fit(start, stim, target, params=["g_Na", "g_K"], steps=40, progress=False, **kw)


@pytest.mark.parametrize(("factor_na", "factor_k"), [
    pytest.param(1.4, 0.65, marks=pytest.mark.slow), (0.5, 0.7)])
def test_fit_recovers_g_na_and_g_k_within_1_percent(factor_na, factor_k):
    result = _fit_from(factor_na, factor_k)
    assert result.params["g_Na"] == pytest.approx(120.0, rel=0.01)
    assert result.params["g_K"] == pytest.approx(36.0, rel=0.01)
    assert result.loss_history[-1] < 1e-3 * result.loss_history[0]


@pytest.mark.slow
@pytest.mark.parametrize(("factor_na", "factor_k"), [(0.6, 1.4), (1.5, 1.5), (0.65, 0.65),
                                                     (1.3, 1.5)])
def test_fit_recovers_from_more_starts(factor_na, factor_k):
    result = _fit_from(factor_na, factor_k)
    assert result.params["g_Na"] == pytest.approx(120.0, rel=0.01)
    assert result.params["g_K"] == pytest.approx(36.0, rel=0.01)


def test_fit_respects_bounds_and_rejects_bad_input():
    stim = jn.StepCurrent(10.0)
    target = jn.simulate(jn.HodgkinHuxley(), stim, t1=10.0, save_every=0.1).v
    start = jn.HodgkinHuxley(g_K=30.0)
    with pytest.raises(ValueError, match="outside"):
        jn.fit(start, stim, target, params=["g_K"], bounds={"g_K": (31.0, 40.0)}, t1=10.0)
    with pytest.raises(ValueError, match="unknown"):
        jn.fit(start, stim, target, params=["gK"], t1=10.0)
    result = jn.fit(start, stim, target, params=["g_K"], bounds={"g_K": (25.0, 33.0)}, t1=10.0,
                    steps=10, save_every=0.1, progress=False)
    assert 25.0 < result.params["g_K"] < 33.0


def test_balanced_exact_sweep_returns_sets_in_their_original_order():
    # LIF under constant current: the spike count is known in closed form, so each row
    # can be checked against its own analytic value after the cost-ordered run.
    currents = np.array([2.5, 1.6, 4.0, 0.5, 3.0])  # nA; 0.5 nA stays below threshold
    lif = jn.LIF(tau_m=10.0, R=10.0, t_ref=2.0)
    kwargs = dict(t1=100.0, dt=0.1, spiking="exact", max_spikes=64)
    cost = jn.estimate_spike_counts(lif, {"tau_m": np.full(5, 10.0)}, jn.StepCurrent(0.0),
                                    stimulus_params={"amplitude": currents}, t1=100.0)
    assert np.all(np.diff(cost[np.argsort(currents)]) >= 0)  # more current, more spikes
    result = jn.sweep(lif, {"tau_m": np.full(5, 10.0)}, jn.StepCurrent(0.0),
                      stimulus_params={"amplitude": currents}, cost=cost, chunk_size=2,
                      progress=False, **kwargs)
    drive = 10.0 * currents  # R I, mV above rest; threshold 15 mV above rest
    isi = 2.0 + 10.0 * np.log(drive / np.maximum(drive - 15.0, 1e-12))
    first = 10.0 * np.log(drive / np.maximum(drive - 15.0, 1e-12))
    expected = np.where(drive > 15.0, 1 + np.floor((100.0 - first) / isi), 0)
    np.testing.assert_array_equal(result.summaries["n_spikes"], expected)
    with pytest.raises(ValueError, match="cost"):
        jn.sweep(lif, {"tau_m": np.full(5, 10.0)}, jn.StepCurrent(1.0), cost=np.ones(4),
                 t1=10.0, progress=False)
