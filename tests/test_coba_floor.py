"""benchmarks/_floor.py: the COBA floor draws its synapses sparse (memory O(synapses))."""

import importlib.util
import tracemalloc
from pathlib import Path

import numpy as np

_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
_SPEC = importlib.util.spec_from_file_location("_floor", _DIR / "_floor.py")
floor = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(floor)


def test_the_64k_floor_builds_its_synapses_in_memory_proportional_to_the_synapses():
    n, indegree = 64_000, 80
    floor.coba_floor(100, 0.1, 0.1, 1.0, build_only=True)  # JAX starts outside the tracing
    tracemalloc.start()
    try:
        built = floor.coba_floor(n, indegree / n, 0.1, 1.0, build_only=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    targets = built["targets"]
    synapses = n * indegree
    # binomial(n, p) out-degrees: n p synapses, standard deviation sqrt(n p (1 - p)) ~ 8.9
    assert abs(built["n_synapses"] - synapses) < 5 * np.sqrt(synapses)
    # padded rows of the largest out-degree (~ 80 + 5 sigma): < 2x the int32 synapses
    assert targets.shape[0] == n + 1 and targets.nbytes <= 8 * synapses
    # every synapse once, the padding pointing at the empty target n
    assert np.count_nonzero(targets < n) == built["n_synapses"]
    # a dense n x n draw would need n^2 = 4.1e9 bytes even as bools; 100 bytes per synapse
    # bound everything the build holds at once (NumPy allocations)
    assert peak <= 100 * synapses
