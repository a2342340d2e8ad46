"""Sweep results streamed to a Zarr store, chunk by chunk, resumable after a kill.

Layout of a store (a Zarr v3 group on disk):
- one array per swept parameter (`param:<name>`), per summary (`summary:<name>`), `ok`,
  `set_index` (the set's position in the caller's order; runs ordered by cost write in
  run order) and, for `keep_traces`, the decimated voltage `v` `(n_sets, n_save)` with
  its times `ts`; every per-set array is chunked like the sweep, so each sweep chunk owns
  its Zarr chunks and no chunk is ever written by two sweep chunks;
- `.done/chunk-<k>`: an empty marker created only after chunk `k`'s data are on disk: a
  run killed mid-chunk leaves no marker, and a restart recomputes exactly the chunks
  without one;
- group attributes: the jaxneuron version, model, stimulus, simulate options, sizes and a
  fingerprint of all inputs, so a restart with a different call is refused.

`open_sweep(path)` reads a store as an `xarray.Dataset` over the dimension `set`, with the
parameters as coordinates.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
import warnings
from pathlib import Path

import jax
import numpy as np

_DONE = ".done"
_CREATED = ".done/created"


@contextlib.contextmanager
def _ignoring_markers():
    """Zarr warns about the marker folder, which is deliberately not a Zarr node."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not recognized as a component of a Zarr")
        yield


def fingerprint(columns: dict[str, np.ndarray], metadata: dict, leaves) -> str:
    """SHA-256 of the swept values (in run order), the metadata and the base model's and
    stimulus's parameter values: equal only for the same sweep."""
    digest = hashlib.sha256()
    for name in sorted(columns):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(columns[name], dtype=np.float64).tobytes())
    digest.update(repr(sorted(metadata.items())).encode())
    for leaf in leaves:
        digest.update(np.ascontiguousarray(np.asarray(leaf)).tobytes())
    return digest.hexdigest()


class SweepStore:
    """A sweep's Zarr store, created on first use and reopened to resume.

    **Arguments:**
    - `path`: the store folder (created).
    - `columns`: parameter name -> values `(n_sets,)` in run order; `set_index` `(n_sets,)`.
    - `chunk`: sets per sweep chunk (the Zarr chunk length).
    - `outputs`: name -> `(shape_per_set, dtype)` of every summary, plus `"ok"`, and `"v"`,
      `"ts"` when traces are kept.
    - `metadata`: JSON-able description written to the attributes.
    - `print_`: the fingerprint of the call (see `fingerprint`).

    **Raises:** `ValueError` if `path` holds a different sweep.
    """

    def __init__(self, path, *, columns, set_index, chunk: int, outputs: dict, metadata: dict,
                 print_: str, wait_s: float = 600.0):
        import zarr

        self.path = Path(path)
        self.chunk = int(chunk)
        self.n_sets = int(set_index.shape[0])
        self.n_chunks = -(-self.n_sets // self.chunk)
        created = self.path / _CREATED
        if jax.process_index() == 0 and not created.exists():
            self._create(columns, set_index, outputs, metadata, print_)
        deadline = time.monotonic() + wait_s
        while not created.exists():  # other processes wait for process 0 to create it
            if time.monotonic() > deadline:
                raise ValueError(f"store: {self.path} was not created within {wait_s} s")
            time.sleep(0.2)
        with _ignoring_markers():
            self.group = zarr.open_group(str(self.path), mode="r+")
        found = self.group.attrs.get("fingerprint")
        if found != print_:
            raise ValueError(
                f"store: {self.path} holds a different sweep (other parameters, model, "
                f"stimulus or options). Use a new path, or delete it to start again.")

    def _create(self, columns, set_index, outputs, metadata, print_):
        import zarr

        if self.path.exists() and any(self.path.iterdir()):
            raise ValueError(f"store: {self.path} exists and is not a jaxneuron sweep store "
                             "(or its creation was interrupted); use a new path or delete it")
        group = zarr.open_group(str(self.path), mode="w")
        for name, values in columns.items():
            self._array(group, f"param:{name}", values.shape, np.float64)[:] = values
        self._array(group, "set_index", set_index.shape, np.int64)[:] = set_index
        for name, (shape, dtype) in outputs.items():
            if name == "ts":
                group.create_array("ts", shape=shape, dtype=dtype, dimension_names=("time",))
                continue
            key = name if name in ("ok", "v") else f"summary:{name}"
            self._array(group, key, (self.n_sets, *shape), dtype)
        group.attrs.update({**metadata, "fingerprint": print_, "n_sets": self.n_sets,
                            "chunk": self.chunk})
        (self.path / _DONE).mkdir(exist_ok=True)
        (self.path / _CREATED).touch()

    def _array(self, group, key, shape, dtype):
        dims = ("set",) + tuple(f"{key}_{i}" for i in range(1, len(shape)))
        if key == "v":
            dims = ("set", "time")
        fill = np.nan if np.issubdtype(dtype, np.floating) else 0
        return group.create_array(key, shape=shape, dtype=dtype, fill_value=fill,
                                  chunks=(self.chunk, *shape[1:]), dimension_names=dims)

    def done(self) -> set[int]:
        """Indices of the chunks already on disk."""
        return {int(p.name.removeprefix("chunk-")) for p in (self.path / _DONE).iterdir()
                if p.name.startswith("chunk-")}

    def mine(self) -> list[int]:
        """The chunks this process owns (round-robin over `jax.process_count()`)."""
        return list(range(jax.process_index(), self.n_chunks, jax.process_count()))

    def write(self, k: int, summaries: dict, ok, v=None, ts=None) -> None:
        """Write chunk `k`'s results (rows `k * chunk` onward), then mark it done."""
        start = k * self.chunk
        stop = start + len(ok)
        for name, values in summaries.items():
            self.group[f"summary:{name}"][start:stop] = values
        self.group["ok"][start:stop] = ok
        if v is not None:
            self.group["v"][start:stop] = v
            self.group["ts"][:] = ts
        marker = self.path / _DONE / f"chunk-{k}"
        with open(marker, "w") as handle:  # after the data: a killed chunk leaves none
            handle.flush()
            os.fsync(handle.fileno())


def open_sweep(path, *, original_order: bool = True):
    """A sweep store as an `xarray.Dataset` (lazily loaded) over the dimension `set`.

    Parameters are coordinates (`ds.sel`, `ds.where`, `ds.plot` by value; for a grid sweep
    `ds.set_index(set=[...names]).unstack("set")` gives one axis per parameter), summaries
    are variables named as in the sweep, `ok` flags failures, `v`/`ts` hold kept traces.
    `original_order`: reorder cost-ordered runs back to the caller's order (loads them).

    **Raises:** `ValueError` if `path` is not a complete sweep store.
    """
    import xarray as xr

    path = Path(path)
    if not (path / _CREATED).exists():
        raise ValueError(f"path: {path} is not a jaxneuron sweep store")
    with _ignoring_markers():
        ds = xr.open_dataset(str(path), engine="zarr", chunks=None, consolidated=False)
    n_chunks = -(-int(ds.attrs["n_sets"]) // int(ds.attrs["chunk"]))
    n_done = sum(1 for p in (path / _DONE).iterdir() if p.name.startswith("chunk-"))
    ds.attrs["complete"] = int(n_done == n_chunks)
    rename = {k: k.split(":", 1)[1] for k in ds.variables if ":" in k}
    ds = ds.rename(rename)
    params = [rename[k] for k in rename if k.startswith("param:")]
    ds = ds.set_coords(params + ["set_index"])
    if "ts" in ds:
        ds = ds.assign_coords(time=ds["ts"].values).drop_vars("ts")
    if original_order and not np.all(np.diff(ds["set_index"].values) > 0):
        ds = ds.sortby("set_index")
    return ds
