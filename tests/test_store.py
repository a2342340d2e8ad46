"""Streamed, resumable sweeps (Zarr store), sampling helpers and device sharding."""

import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import qmc

import jaxneuron as jn
from jaxneuron import sampling
from jaxneuron.store import open_sweep

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS))
import sweep_job  # noqa: E402


def _hh_sweep(**kw):
    g = np.linspace(80.0, 160.0, 40)
    return jn.sweep(jn.HodgkinHuxley(), {"g_Na": g}, jn.StepCurrent(10.0),
                    stimulus_params={"amplitude": np.linspace(4.0, 16.0, 40)}, t1=30.0,
                    dt=0.025, chunk_size=16, progress=False, **kw)


def test_store_holds_the_same_results_as_an_in_memory_sweep(tmp_path):
    memory = _hh_sweep(keep_traces=True, save_every=1.0)
    ds = _hh_sweep(keep_traces=True, save_every=1.0, store=tmp_path / "s.zarr")
    for name, values in memory.summaries.items():
        np.testing.assert_array_equal(ds[name].values, values)
    np.testing.assert_array_equal(ds["g_Na"].values, memory.params["g_Na"])
    np.testing.assert_array_equal(ds["stimulus.amplitude"].values,
                                  memory.params["stimulus.amplitude"])
    np.testing.assert_array_equal(ds["v"].values, np.asarray(memory.traces.v))
    np.testing.assert_array_equal(ds["time"].values, np.asarray(memory.traces.ts[0]))
    assert ds.attrs["model"] == "HodgkinHuxley" and ds.attrs["complete"] == 1
    assert ds.attrs["jaxneuron_version"] == jn.__version__
    # slice by parameter value with xarray
    fast = ds.where(ds["g_Na"] > 120.0, drop=True)
    assert fast.sizes["set"] == int(np.sum(memory.params["g_Na"] > 120.0))


def test_a_different_call_on_an_existing_store_is_refused(tmp_path):
    _hh_sweep(store=tmp_path / "s.zarr")
    with pytest.raises(ValueError, match="holds a different sweep"):
        jn.sweep(jn.HodgkinHuxley(), {"g_Na": np.linspace(80.0, 161.0, 40)},
                 jn.StepCurrent(10.0), stimulus_params={"amplitude": np.linspace(4, 16, 40)},
                 t1=30.0, dt=0.025, chunk_size=16, progress=False, store=tmp_path / "s.zarr")
    with pytest.raises(ValueError, match="not a jaxneuron sweep store"):
        open_sweep(tmp_path)


@pytest.mark.slow
def test_cost_ordered_store_reads_back_in_the_callers_order(tmp_path):
    cost = np.random.default_rng(0).random(40)
    ds = _hh_sweep(store=tmp_path / "s.zarr", cost=cost)
    memory = _hh_sweep()
    np.testing.assert_array_equal(ds["n_spikes"].values, memory.summaries["n_spikes"])
    np.testing.assert_array_equal(ds["set_index"].values, np.arange(40))


def _chunk_files(path: Path) -> dict[str, float]:
    return {str(p.relative_to(path)): p.stat().st_mtime_ns for p in path.rglob("c/*")}


@pytest.mark.slow
def test_a_killed_sweep_resumes_without_recomputing_and_matches_an_uninterrupted_run(
        tmp_path):
    store = tmp_path / "killed.zarr"
    proc = subprocess.Popen([sys.executable, str(TESTS / "sweep_job.py"), str(store)],
                            cwd=TESTS.parent)
    done_dir = store / ".done"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        n_done = len(list(done_dir.glob("chunk-*"))) if done_dir.exists() else 0
        if n_done >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = sorted(p.name for p in done_dir.glob("chunk-*"))
    n_chunks = sweep_job.N_SETS // sweep_job.CHUNK
    assert 3 <= len(finished) < n_chunks, finished  # killed in the middle
    before = {**{f: (done_dir / f).stat().st_mtime_ns for f in finished},
              **{k: v for k, v in _chunk_files(store).items()
                 if any(k.endswith(f"/c/{int(f.split('-')[1])}") for f in finished)}}
    resumed = sweep_job.run(store)
    after = {**{f: (done_dir / f).stat().st_mtime_ns for f in finished}, **_chunk_files(store)}
    assert all(after[k] == v for k, v in before.items())  # finished work not redone
    assert resumed.attrs["complete"] == 1
    reference = sweep_job.run(tmp_path / "reference.zarr")
    for name in reference.variables:
        np.testing.assert_array_equal(resumed[name].values, reference[name].values)
    assert {k: v for k, v in resumed.attrs.items()} == dict(reference.attrs)


@pytest.mark.slow
def test_sharded_over_four_host_devices_equals_one_device(tmp_path):
    code = (
        "import jax, numpy as np; jax.config.update('jax_enable_x64', True)\n"
        "import jaxneuron as jn\n"
        "assert len(jax.local_devices()) == 4\n"
        "r = jn.sweep(jn.HodgkinHuxley(), {'g_Na': np.linspace(80, 160, 37)}, "
        "jn.StepCurrent(10.0), t1=30.0, dt=0.025, chunk_size=10, progress=False)\n"
        f"np.save({str(tmp_path / 'sharded.npy')!r}, r.summaries['v_final'])\n")
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=TESTS.parent)
    one = jn.sweep(jn.HodgkinHuxley(), {"g_Na": np.linspace(80, 160, 37)},
                   jn.StepCurrent(10.0), t1=30.0, dt=0.025, chunk_size=12, progress=False,
                   shard=False)
    np.testing.assert_allclose(np.load(tmp_path / "sharded.npy"), one.summaries["v_final"],
                               rtol=1e-12)


def test_grid_is_the_cartesian_product():
    sets = sampling.grid({"a": [1.0, 2.0], "b": [10.0, 20.0, 30.0]})
    pairs = set(zip(sets["a"], sets["b"], strict=True))
    assert pairs == {(a, b) for a in (1.0, 2.0) for b in (10.0, 20.0, 30.0)}


def test_latin_hypercube_has_one_set_per_stratum():
    n = 50
    sets = sampling.latin_hypercube({"a": (0.0, 10.0), "b": (1.0, 1000.0)}, n, seed=3,
                                    log=("b",))
    strata_a = np.floor(sets["a"] / 10.0 * n)
    strata_b = np.floor(np.log10(sets["b"]) / 3.0 * n)
    assert sorted(strata_a) == list(range(n)) and sorted(strata_b) == list(range(n))


def test_sobol_matches_scipy_and_uniform_draws_are_uniform():
    sets = sampling.sobol({"a": (0.0, 2.0), "b": (-1.0, 1.0)}, 64, seed=7)
    unit = qmc.Sobol(d=2, scramble=True, seed=7).random_base2(6)
    np.testing.assert_allclose(sets["a"], 2.0 * unit[:, 0])
    np.testing.assert_allclose(sets["b"], -1.0 + 2.0 * unit[:, 1])
    draws = sampling.uniform({"x": (2.0, 4.0)}, 20000, seed=1)["x"]
    assert draws.min() >= 2.0 and draws.max() <= 4.0
    assert draws.mean() == pytest.approx(3.0, abs=0.02)
    assert draws.var() == pytest.approx(4.0 / 12.0, rel=0.03)


@pytest.mark.parametrize("n", [1, 3, 1000])
def test_sobol_of_any_size_is_the_prefix_of_a_power_of_two_sequence_without_warning(n):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sets = sampling.sobol({"a": (0.0, 1.0)}, n, seed=3)
    m = max(0, int(np.ceil(np.log2(n))))
    unit = qmc.Sobol(d=1, scramble=True, seed=3).random_base2(m)
    assert sets["a"].shape == (n,)
    np.testing.assert_allclose(sets["a"], unit[:n, 0])


def test_sampling_errors_name_the_argument():
    with pytest.raises(ValueError, match="bounds: each must be"):
        sampling.uniform({"a": (2.0, 1.0)}, 5)
    with pytest.raises(ValueError, match="log-scaled parameters need low > 0"):
        sampling.sobol({"a": (0.0, 1.0)}, 8, log=True)
    with pytest.raises(ValueError, match="method must be one of"):
        sampling.sample("halton", {"a": (0.0, 1.0)}, 8)
    with pytest.raises(ValueError, match="n must be a positive int"):
        sampling.latin_hypercube({"a": (0.0, 1.0)}, 0)


@pytest.mark.slow
def test_two_processes_share_one_sweep_through_jax_distributed(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = tmp_path / "shared.zarr"
    procs = [subprocess.Popen([sys.executable, str(TESTS / "multiprocess_job.py"), str(port),
                               str(i), str(store)], cwd=TESTS.parent) for i in range(2)]
    assert [p.wait(timeout=600) for p in procs] == [0, 0]
    shared = open_sweep(store)
    assert shared.attrs["complete"] == 1
    reference = sweep_job.run(tmp_path / "reference.zarr")
    for name in reference.variables:
        np.testing.assert_array_equal(shared[name].values, reference[name].values)
