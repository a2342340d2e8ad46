"""benchmarks/fit_recording.py: its recording, its bookkeeping, and its core on a tiny problem."""

import importlib.util
import pathlib

import jax
import numpy as np
import pytest

import jaxneuron as jn

_PATH = pathlib.Path(__file__).parents[1] / "benchmarks" / "fit_recording.py"
_SPEC = importlib.util.spec_from_file_location("bench_fit_recording", _PATH)
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)


def test_reach_gives_the_first_count_at_or_below_the_level():
    """Hand-made trajectory: best-so-far 9, 5, 5, 2 after 10, 20, 30, 40 sweeps."""
    traj = bench._trajectory([10, 20, 30, 40], [1.0, 2.0, 3.0, 4.0], [9.0, 5.0, 7.0, 2.0])
    assert list(traj["best"]) == [9.0, 5.0, 5.0, 2.0]
    assert bench.reach(traj, 5.0) == 20.0
    assert bench.reach(traj, 3.0, key="seconds") == 4.0
    assert bench.reach(traj, 1.0) is None


def test_recording_read_back_is_the_truth_plus_the_noise(tmp_path):
    """The NWB file read back with the junction offset corrected is the true model's
    voltage plus 0.5 mV Gaussian noise: residual mean ~0 (not 7 mV), SD ~0.5 mV; the current
    is the step in pA on 10 %-90 % of the sweep."""
    amps = (-50.0, 200.0)
    rec = bench.make_recording(tmp_path, amps=amps, t1=60.0)
    assert (tmp_path / "recording.nwb").exists()
    assert len(rec) == 2 and rec[0].current_unit == "pA"
    assert rec[0].dt_ms == pytest.approx(bench.SAMPLE_MS)
    truth = jn.Izhikevich(v_init=-70.0, **bench.TRUE)
    stim = rec.stimulus(truth, scale=bench.SCALE)
    traces = jax.vmap(lambda s: jn.simulate(truth, s, t1=60.0, dt=bench.SAMPLE_MS / 2,
                                            save_every=bench.SAMPLE_MS, max_spikes=64))(stim)
    residual = np.concatenate([rec[i].voltage - np.asarray(traces.v[i]) for i in range(2)])
    assert abs(residual.mean()) < 0.05
    assert residual.std() == pytest.approx(0.5, rel=0.1)
    t = rec[1].time
    inside = (t >= 6.0) & (t < 54.0)
    assert np.allclose(rec[1].current[inside], 200.0) and np.allclose(rec[1].current[~inside], 0)


@pytest.mark.slow
def test_compare_counts_sweeps_on_a_tiny_problem():
    """Two sweeps, 2 starts x 2 updates, 2 CMA-ES generations of 4, 6 Nelder-Mead calls:
    the sweep totals are what each method ran (evaluations x sweeps), CMA-ES reaches its
    own final loss, and each row's parameter errors are against the truth."""
    rows, details = bench.compare(starts=2, steps=2, population=4, generations=2,
                                  scipy_starts=1, scipy_evaluations=6,
                                  amps=(-50.0, 200.0), t1=60.0, measure_compile=False)
    gradient, cmaes, scipy = rows
    fit = details["results"][0]["fit"]
    assert gradient["sweeps_total"] == fit.simulated_sweeps
    assert cmaes["sweeps_total"] == 2 * 4 * 2
    assert cmaes["sweeps_to_target"] is not None and cmaes["sweeps_to_target"] <= 16
    assert cmaes["final_loss"] == details["target_loss"]
    assert scipy["sweeps_total"] == 2 * scipy["evaluations"] and scipy["evaluations"] >= 6
    fitted = details["results"][1]["theta"]
    for i, name in enumerate(("a", "b", "c", "d")):
        expected = abs(fitted[i] - bench.TRUE[name]) / abs(bench.TRUE[name])
        assert cmaes[f"rel_error_{name}"] == pytest.approx(expected)
    assert gradient["equivalents_total"] > gradient["sweeps_total"]  # gradients cost more
