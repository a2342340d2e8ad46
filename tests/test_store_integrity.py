"""A sweep store is trusted by its checksums, not its markers: damaged or missing chunks
are named and recomputed, damaged metadata is named, and processes can share a store."""

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron.store import open_sweep

N_SETS, CHUNK = 10, 3  # chunks 0-3, the last one short (sets 9)
N_CHUNKS = 4
TAU = np.linspace(5.0, 20.0, N_SETS)
OUTPUT_ARRAYS = ("ok", "status", "v")  # plus every `summary:<name>`


def _sweep(store=None, **kw):
    return jn.sweep(jn.LIF(), {"tau_m": TAU}, jn.StepCurrent(2.0), t1=20.0,
                    chunk_size=CHUNK, progress=False, keep_traces=True, save_every=1.0,
                    store=store, **kw)


@pytest.fixture(scope="module")
def expected():
    """An uninterrupted in-memory sweep: the independent expectation of every store."""
    result = _sweep()
    assert result.ok.all() and (result.summaries["n_spikes"] > 0).any()
    return result


@pytest.fixture
def fresh(tmp_path):
    """A finished store, and the modification times of all its files."""
    store = tmp_path / "s.zarr"
    _sweep(store)
    return store


def _assert_equals_expected(ds, expected):
    assert ds.attrs["complete"] == 1 and ds.sizes["set"] == N_SETS
    np.testing.assert_array_equal(ds["tau_m"].values, TAU)
    np.testing.assert_array_equal(ds["ok"].values, expected.ok)
    for name, values in expected.summaries.items():
        np.testing.assert_array_equal(ds[name].values, values)
    np.testing.assert_array_equal(ds["v"].values, np.asarray(expected.traces.v))
    np.testing.assert_array_equal(ds["time"].values, np.asarray(expected.traces.ts[0]))


def _output_chunk_files(store: Path, k: int) -> list[Path]:
    """The data files of chunk `k` of every output array (summaries, ok, v)."""
    files = []
    for array in store.iterdir():
        if array.name in OUTPUT_ARRAYS or array.name.startswith("summary:"):
            chunk = array / "c" / str(k)
            files += [chunk] if chunk.is_file() else list(chunk.rglob("*"))
    return [f for f in files if f.is_file()]


def _mtimes(store: Path) -> dict[str, int]:
    return {str(p.relative_to(store)): p.stat().st_mtime_ns for p in store.rglob("*")
            if p.is_file() and ".locks" not in p.parts}


def _recomputed(record) -> list[str]:
    return [str(w.message) for w in record if "recomputing" in str(w.message)]


def test_a_deleted_chunk_is_recomputed_alone_and_the_store_equals_an_uninterrupted_run(
        fresh, expected):
    files = _output_chunk_files(fresh, 1)
    assert any("ok" in f.parts for f in files)  # ok=True differs from the fill: detectable
    for f in files:
        f.unlink()
    assert (fresh / ".done" / "chunk-1").exists()  # the marker stays: it must not be trusted
    with pytest.raises(ValueError, match=r"s\.zarr is damaged: chunk 1 \(sets 3-5"):
        open_sweep(fresh)
    before = _mtimes(fresh)
    time.sleep(0.01)
    with pytest.warns(RuntimeWarning, match="recomputing") as record:
        resumed = _sweep(fresh)
    messages = _recomputed(record)
    assert len(messages) == 1 and "1 damaged chunk(s): chunk 1 (sets 3-5" in messages[0]
    after = _mtimes(fresh)
    rewritten = {f for f in after if after[f] != before.get(f)}
    assert ".done/chunk-1" in rewritten
    assert not any(f".done/chunk-{k}" in rewritten for k in (0, 2, 3))
    assert all(f.split("/")[-2:] in (["c", "1"], ["1", "0"]) or f == ".done/chunk-1"
               or f == "ts/c/0" for f in rewritten), rewritten  # only chunk 1 and ts
    _assert_equals_expected(resumed, expected)
    _assert_equals_expected(open_sweep(fresh), expected)


def test_flipped_bytes_in_a_chunk_are_named_by_open_sweep_and_recomputed_on_resume(
        fresh, expected):
    target = fresh / "v" / "c" / "2" / "0"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    data[-4] ^= 0x5A
    target.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"damaged: chunk 2 \(sets 6-8 in run order\): "
                                         r"array 'v' ") as error:
        open_sweep(fresh)
    assert str(fresh) in str(error.value) and "chunk 0" not in str(error.value)
    with pytest.warns(RuntimeWarning, match=r"chunk 2 \(sets 6-8 in run order\): array 'v'"):
        resumed = _sweep(fresh)
    _assert_equals_expected(resumed, expected)


def test_a_changed_value_that_still_decodes_is_caught_by_the_checksum(fresh, expected):
    import zarr

    zarr.open_group(str(fresh), mode="r+")["summary:v_final"][9] = 0.0  # chunk 3
    with pytest.raises(ValueError, match=r"chunk 3 \(sets 9-9.*'summary:v_final' does not "
                                         "match its checksum"):
        open_sweep(fresh)
    with pytest.warns(RuntimeWarning, match="chunk 3"):
        _assert_equals_expected(_sweep(fresh), expected)


def test_a_damaged_marker_is_named_and_recomputed(fresh, expected):
    (fresh / ".done" / "chunk-0").write_text('{"chunk": 0, "sha')
    with pytest.raises(ValueError, match=r"chunk 0 .*completion marker \.done/chunk-0 is "
                                         "damaged"):
        open_sweep(fresh)
    with pytest.warns(RuntimeWarning, match="chunk 0"):
        _assert_equals_expected(_sweep(fresh), expected)


@pytest.mark.parametrize("name", ["zarr.json", "summary:n_spikes/zarr.json", ".done/created"])
def test_truncated_metadata_is_named_by_open_sweep_and_by_a_resumed_sweep(fresh, name):
    path = fresh / name
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=f"path: the sweep store .*s\\.zarr is damaged: .*"
                                         f"metadata file {name}"):
        open_sweep(fresh)
    with pytest.raises(ValueError, match=f"store: the sweep store .* is damaged: .*"
                                         f"metadata file {name}"):
        _sweep(fresh)


def test_edited_metadata_that_is_still_json_is_refused(fresh):
    path = fresh / "zarr.json"
    meta = json.loads(path.read_text())
    meta["attributes"]["n_sets"] = 3
    path.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="metadata file zarr.json \\(changed"):
        open_sweep(fresh)


def test_a_partial_store_opens_with_its_unfinished_sets_not_ok(fresh, expected):
    (fresh / ".done" / "chunk-1").unlink()  # as if killed before chunk 1's marker
    ds = open_sweep(fresh)
    assert ds.attrs["complete"] == 0 and ds.attrs["chunks_done"] == 3
    assert ds.attrs["n_chunks"] == N_CHUNKS
    np.testing.assert_array_equal(ds["ok"].values, np.arange(N_SETS) // CHUNK != 1)
    np.testing.assert_array_equal(ds["n_spikes"].values[6:], expected.summaries["n_spikes"][6:])
    _assert_equals_expected(_sweep(fresh), expected)  # resumes: nothing damaged, no warning


def test_a_store_path_that_is_a_file_is_refused_naming_the_argument(tmp_path):
    path = tmp_path / "results.txt"
    path.write_text("not a store")
    with pytest.raises(ValueError, match="store: .*results.txt is a file, not a folder"):
        _sweep(path)
    with pytest.raises(ValueError, match="path: .*results.txt is a file, not a folder"):
        open_sweep(path)
    assert path.read_text() == "not a store"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _lock(store: Path, k: int, pid: int) -> Path:
    lock = store / ".locks" / f"chunk-{k}"
    lock.write_text(json.dumps({"pid": pid, "host": socket.gethostname(), "time": time.time()}))
    return lock


def test_a_stale_lock_of_a_dead_process_is_broken(fresh, expected):
    (fresh / ".done" / "chunk-2").unlink()
    lock = _lock(fresh, 2, _dead_pid())
    _assert_equals_expected(_sweep(fresh), expected)
    assert not lock.exists() and (fresh / ".done" / "chunk-2").exists()


def test_a_live_lock_is_waited_for_and_taken_over_when_its_process_dies(fresh, expected):
    (fresh / ".done" / "chunk-2").unlink()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _lock(fresh, 2, holder.pid)
        killer = threading.Timer(1.5, lambda: (holder.kill(), holder.wait()))
        killer.start()
        start = time.monotonic()
        resumed = _sweep(fresh)
        assert time.monotonic() - start >= 1.4  # it waited for the holder
        killer.join()
    finally:
        holder.kill()
        holder.wait()
    _assert_equals_expected(resumed, expected)


JOB = """
import json, sys, time
import jax
jax.config.update("jax_enable_x64", True)
import numpy as np
import jaxneuron as jn
from jaxneuron import store as st

path, log = sys.argv[1], sys.argv[2]
write = st.SweepStore.write

def logged(self, k, *args, **kwargs):
    with open(log, "a") as handle:
        handle.write(f"start {k} {time.time()}\\n")
    time.sleep(0.3)  # a slow chunk, so that the two processes overlap
    write(self, k, *args, **kwargs)
    with open(log, "a") as handle:
        handle.write(f"end {k} {time.time()}\\n")

st.SweepStore.write = logged
ds = jn.sweep(jn.LIF(), {"tau_m": np.linspace(5.0, 20.0, 10)}, jn.StepCurrent(2.0), t1=20.0,
              chunk_size=3, progress=False, keep_traces=True, save_every=1.0, store=path)
assert ds.attrs["complete"] == 1
"""


def test_two_uncoordinated_processes_share_one_store_without_writing_a_chunk_twice(
        tmp_path, expected):
    store = tmp_path / "shared.zarr"
    logs = [tmp_path / f"log{i}.txt" for i in range(2)]
    root = Path(__file__).parent.parent
    procs = [subprocess.Popen([sys.executable, "-c", JOB, str(store), str(log)], cwd=root)
             for log in logs]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    written = []
    for i, log in enumerate(logs):
        lines = log.read_text().split() if log.exists() else []
        written += [(i, lines[j], int(lines[j + 1]), float(lines[j + 2]))
                    for j in range(0, len(lines), 3)]
    starts = sorted((k, i) for i, what, k, _ in written if what == "start")
    assert [k for k, _ in starts] == list(range(N_CHUNKS))  # every chunk written exactly once
    _assert_equals_expected(open_sweep(store), expected)  # open_sweep verifies every chunk
    assert not list((store / ".locks").iterdir())
    assert [p.name for p in tmp_path.iterdir() if "creating" in p.name] == []
    shutil.rmtree(store)
