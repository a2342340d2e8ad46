"""benchmarks/surrogate_speed.py: batch tiling and the SciPy resting-membrane baseline."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from jaxneuron.emulators import CurrentSpec, generate_dataset
from jaxneuron.models.resting import RestingMembrane

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "surrogate_speed.py"
_SPEC = importlib.util.spec_from_file_location("surrogate_speed", _PATH)
bench = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench)


@pytest.fixture(scope="module")
def dataset():
    # Same current kind and solver settings as the resting pipeline, small.
    return generate_dataset(RestingMembrane(), n_runs=3, t1=20.0, dt_save=0.5,
                            initial_ranges={"V": (-100.0, -30.0)},
                            current=CurrentSpec(amplitude=(-3.0, 3.0), steps_range=(1, 3),
                                                noise_std=0.2, noise_tau=2.0),
                            seed=1, progress=False, dt=0.1)


def test_tiled_repeats_runs_in_order(dataset):
    batch = bench.tiled(dataset, 7)
    assert batch.n_runs == 7
    np.testing.assert_array_equal(batch.run_ids, dataset.run_ids[[0, 1, 2, 0, 1, 2, 0]])
    np.testing.assert_array_equal(batch.states[4], dataset.states[1])
    assert bench.tiled(dataset, None) is dataset
    with pytest.raises(ValueError):
        bench.tiled(dataset, 0)


def test_scipy_baseline_matches_diffrax_data(dataset):
    # Independent implementations (NumPy vector field + RK45 vs the JAX model + Tsit5,
    # both with the linearly interpolated current) agree on the voltage traces.
    per_run, rmse = bench.scipy_resting(dataset, 2)
    assert per_run > 0
    assert rmse < 1e-2  # mV
