"""Sweep results streamed to a Zarr store, chunk by chunk, resumable after a kill, verified
before they are trusted, and safe to share between processes.

Layout of a store (a Zarr v3 group on disk):
- one array per swept parameter (`param:<name>`), per summary (`summary:<name>`), `ok`,
  `status` (unwritten values read 9, "not computed", never 0), `set_index` (the set's
  position in the caller's order; runs ordered by cost write in run order) and, for
  `keep_traces`, the decimated voltage `v` `(n_sets, n_save)` with its times `ts`; every
  per-set array is chunked like the sweep, so each sweep chunk owns its Zarr chunks and no
  chunk is ever written by two sweep chunks;
- `.done/created`: the creation record (JSON): the store format, the fingerprint, the
  call described part by part (`describe`: model and stimulus structure and static fields,
  their parameter values, engine, record, run options, precision, summary function,
  swept values, sizes), so a different call is told what differs, the sizes, which arrays
  each chunk writes, and SHA-256 checksums of every Zarr metadata file (`zarr.json`) and of
  the parameter and `set_index` values. A store is built in a temporary sibling folder and
  renamed into place when complete, so two processes creating the same store at once
  cannot mix their files, and a store folder never exists half-created;
- `.done/chunk-<k>`: chunk `k`'s completion marker (JSON), written atomically only after
  the chunk's data are on disk, with the SHA-256 of each array's values for the chunk's
  rows (and of `ts`). A marker therefore promises complete data, and the checksums let a
  reader or a resumed run verify that promise: a chunk whose data were deleted, truncated
  or changed is detected, named, and recomputed on resume;
- `.locks/chunk-<k>`: held (created with `O_CREAT | O_EXCL`, holding the pid, host, process
  start time and a timestamp) while one process computes and writes chunk `k`, so two
  processes running the same sweep into the same store never write the same chunk; a
  lock left by a dead process on this host is broken by the next process that meets it
  (a lock from another host is waited for, and must be deleted by hand if its process
  died);
- group attributes: the jaxneuron version, model, stimulus, simulate options, sizes and
  the fingerprint of the call (a SHA-256 of its description), so a restart with a
  different call is refused.

`open_sweep(path)` verifies the store and reads it as an `xarray.Dataset` over the dimension
`set`, with the parameters as coordinates.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import time
import types
import warnings
from pathlib import Path

import jax
import numpy as np

from .trace import STATUS_NOT_COMPUTED

_DONE = ".done"
_CREATED = ".done/created"
_LOCKS = ".locks"
_FORMAT = 3  # the layout version: 2 = checksummed markers and creation record; 3 = the
# fingerprint covers the call's whole static structure, described part by part in the record
MISSING = "not finished"  # `SweepStore.verify`'s answer for a chunk without a marker
_STALE_EMPTY_LOCK_S = 30.0  # a lock file still empty after this long was left by a crash
_STALE_GUARD_S = 60.0


@contextlib.contextmanager
def _ignoring_markers():
    """Zarr warns about the marker folders, which are deliberately not Zarr nodes."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not recognized as a component of a Zarr")
        yield


def fingerprint(parts: dict[str, dict[str, str]]) -> str:
    """SHA-256 of a call's description (part -> path -> text, see `describe`): equal only
    for the same sweep."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def differences(stored: dict[str, dict[str, str]], call: dict[str, dict[str, str]],
                limit: int = 3) -> list[str]:
    """What differs between two calls' descriptions, one text per part that differs, e.g.
    `"model: leak: 'ghk' in the store, 'conductance' in this call"`."""
    found = []
    for part in list(call) + [p for p in stored if p not in call]:
        old, new = stored.get(part, {}), call.get(part, {})
        keys = [k for k in new if old.get(k) != new[k]] + [k for k in old if k not in new]
        if not keys:
            continue
        if "" in new and "" not in keys:  # name the type: "model (RestingMembrane)"
            part = f"{part} ({new[''].rsplit('.', 1)[-1]})"
        shown = "; ".join(f"{k or 'type'}: {_short(old.get(k, 'absent'))} in the store, "
                          f"{_short(new.get(k, 'absent'))} in this call" for k in keys[:limit])
        more = f" (and {len(keys) - limit} more)" if len(keys) > limit else ""
        found.append(f"{part}: {shown}{more}")
    return found


def _short(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


_LIBRARIES = frozenset({"jaxneuron", "jax", "jaxlib", "numpy", "equinox", "diffrax", "optax",
                        "lineax", "optimistix", "scipy", "builtins", "functools", "math"})
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_SHOWN = 16  # arrays of up to this many values are described by them, larger by a checksum
_DEPTH = 8  # how deep functions reached through closures and globals are described
STRUCTURE, VALUE = "structure", "value"


def describe(obj, *, path: str = "", static: bool = False) -> dict[str, tuple[str, str]]:
    """A deterministic, readable description of `obj` (a model, stimulus, engine, record,
    function or plain value), the same in every process: path -> (kind, text).

    Equinox Modules and dataclasses are described field by field (`leak`, `solver.rtol`),
    with their type; for a class defined outside the libraries jaxneuron builds on, its
    methods' code too. Numbers and arrays are *values* (small arrays by their values,
    larger ones by dtype, shape and SHA-256); everything else (types, static fields,
    strings, `None`, tree structure, functions) is *structure*. A function is described
    by its name, a SHA-256 of its code (bytecode, constants, names), and the values of its
    defaults, its closure and the globals its code reads; functions of those libraries by
    their name only. `path`: the name of `obj` (prefixes every path). `static`: describe
    everything as structure."""
    out: dict[str, tuple[str, str]] = {}
    _walk(obj, path, out, static, set(), 0)
    return out


def split(described: dict[str, tuple[str, str]]) -> tuple[dict[str, str], dict[str, str]]:
    """`describe`'s entries as (structure, values): each path -> text."""
    return ({p: t for p, (k, t) in described.items() if k == STRUCTURE},
            {p: t for p, (k, t) in described.items() if k == VALUE})


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path and not name.startswith("[") else f"{path}{name}"


def _qualname(obj) -> str:
    return f"{getattr(obj, '__module__', None)}.{getattr(obj, '__qualname__', repr(obj))}"


def _is_library(obj) -> bool:
    return str(getattr(obj, "__module__", None)).split(".")[0] in _LIBRARIES


def array_text(x) -> str:
    """An array's dtype, shape and values (or SHA-256 when large), e.g. `float64[2] [1.0, 2.0]`."""
    if jax.dtypes.issubdtype(getattr(x, "dtype", None), jax.dtypes.prng_key):
        x = jax.random.key_data(x)
    array = np.asarray(x)
    head = f"{array.dtype}{list(array.shape)}"
    if array.dtype.kind in "biufc" and array.size <= _SHOWN:
        return f"{head} {array.tolist()!r}"
    return f"{head} sha256 {checksum(array)}"


def _const_text(const) -> str:
    """A code constant as text: nested code by its digest, sets in a fixed order (their repr
    follows the string hash, which differs between processes)."""
    if isinstance(const, types.CodeType):
        return f"code {_code_digest(const)}"
    if isinstance(const, frozenset | set):
        return f"{type(const).__name__}({sorted(_const_text(c) for c in const)})"
    if isinstance(const, tuple):
        return f"({', '.join(_const_text(c) for c in const)},)"
    return f"{type(const).__name__} {const!r}"


def _code_digest(code: types.CodeType) -> str:
    """SHA-256 of a code object's bytecode, constants (nested code included) and names."""
    digest = hashlib.sha256(code.co_code)
    digest.update("\0".join(_const_text(c) for c in code.co_consts).encode())
    digest.update(repr(code.co_names).encode())
    return digest.hexdigest()


def _code_names(code: types.CodeType) -> list[str]:
    """The global (and attribute) names a code object and its nested code read, in order."""
    names = list(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names += [n for n in _code_names(const) if n not in names]
    return names


def _walk(obj, path: str, out: dict, static: bool, seen: set, depth: int) -> None:
    def put(kind, text):
        out[path] = (STRUCTURE if static else kind, text)

    if obj is None or isinstance(obj, bool | str | bytes):
        put(STRUCTURE, repr(obj))
    elif isinstance(obj, int | float | complex):
        put(VALUE, repr(obj))
    elif isinstance(obj, np.generic | np.ndarray | jax.Array):
        put(VALUE, array_text(obj))
    elif isinstance(obj, type):
        put(STRUCTURE, f"class {_qualname(obj)}")
    elif isinstance(obj, enum.Enum):
        put(STRUCTURE, f"{_qualname(type(obj))}.{obj.name}")
    elif dataclasses.is_dataclass(obj):
        put(STRUCTURE, _qualname(type(obj)))
        _class_code(type(obj), path, out)
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name, None)
            _walk(value, _join(path, f.name), out, static or f.metadata.get("static", False),
                  seen, depth)
    elif isinstance(obj, list | tuple):
        put(STRUCTURE, f"{type(obj).__name__} of {len(obj)}")
        for i, item in enumerate(obj):
            _walk(item, f"{path}[{i}]", out, static, seen, depth)
    elif isinstance(obj, set | frozenset):  # in a fixed order: a set's follows the hash seed
        items = sorted("; ".join(f"{p}: {t}" if p else t for p, (_, t) in describe(x).items())
                       for x in obj)
        put(STRUCTURE, f"{type(obj).__name__} {{{', '.join(items)}}}")
    elif isinstance(obj, dict):
        put(STRUCTURE, f"{type(obj).__name__} of {len(obj)}")
        for key in sorted(obj, key=repr):
            _walk(obj[key], f"{path}[{key!r}]", out, static, seen, depth)
    elif (hasattr(obj, "__dict__") and not _is_library(type(obj))
          and not isinstance(obj, types.FunctionType | types.MethodType | functools.partial)):
        # an object of the caller's own class: its class's code and its attributes
        if id(obj) in seen or depth >= _DEPTH:
            put(STRUCTURE, f"{_qualname(type(obj))} (described above)")
            return
        seen.add(id(obj))
        put(STRUCTURE, _qualname(type(obj)))
        _class_code(type(obj), path, out)
        for name, value in sorted(vars(obj).items()):
            _walk(value, _join(path, name), out, static, seen, depth + 1)
    elif callable(obj):
        _walk_callable(obj, path, out, seen, depth)
    else:
        leaves, treedef = jax.tree_util.tree_flatten(obj, is_leaf=lambda x: x is not obj)
        if treedef.num_nodes > 1:  # a pytree node of another kind: its structure, children
            put(STRUCTURE, _ADDRESS.sub("", f"{_qualname(type(obj))} {treedef}"))
            for i, child in enumerate(leaves):
                _walk(child, f"{path}[{i}]", out, static, seen, depth)
        else:
            put(STRUCTURE, _ADDRESS.sub("", f"{_qualname(type(obj))} {obj!r}"))


def _class_code(klass: type, path: str, out: dict) -> None:
    """For a class defined outside the libraries: a SHA-256 of its (and its own bases')
    methods' code, so an own model or summary class edited between two runs differs."""
    if _is_library(klass):
        return
    code = [_code_digest(f.__code__) for base in klass.__mro__ if not _is_library(base)
            for f in vars(base).values() if isinstance(f, types.FunctionType)]
    out[_join(path, "(class code)")] = (STRUCTURE,
                                        hashlib.sha256("".join(code).encode()).hexdigest())


def _walk_callable(fn, path: str, out: dict, seen: set, depth: int) -> None:
    """A function's name, code, defaults, closure and the globals its code reads."""
    def put(text, where=path):
        out[where] = (STRUCTURE, text)

    if isinstance(fn, functools.partial):
        put("functools.partial")
        for name in ("func", "args", "keywords"):
            _walk(getattr(fn, name), _join(path, name), out, True, seen, depth)
        return
    if isinstance(fn, types.MethodType):
        put(f"method {_qualname(fn.__func__)}")
        _walk(fn.__self__, _join(path, "__self__"), out, True, seen, depth)
        _walk(fn.__func__, _join(path, "__func__"), out, True, seen, depth)
        return
    code = getattr(fn, "__code__", None)
    wrapped = getattr(fn, "__wrapped__", None)
    if _is_library(fn) or not (isinstance(code, types.CodeType) or callable(wrapped)):
        put(f"function {_qualname(fn)}" if code is not None or isinstance(
            fn, types.BuiltinFunctionType) else _ADDRESS.sub("", f"{_qualname(type(fn))} {fn!r}"))
        return
    if not isinstance(code, types.CodeType):  # a wrapper without code (`jax.jit`): what it wraps
        put(f"{_qualname(type(fn))} of {_qualname(fn)}")
        _walk(wrapped, _join(path, "__wrapped__"), out, True, seen, depth + 1)
        return
    if id(fn) in seen or depth >= _DEPTH:
        put(f"function {_qualname(fn)} (described above)")
        return
    seen.add(id(fn))
    put(f"function {_qualname(fn)}")
    put(_code_digest(code), _join(path, "code"))
    for name in ("__defaults__", "__kwdefaults__"):
        if getattr(fn, name, None):
            _walk(getattr(fn, name), _join(path, name.strip("_")), out, True, seen, depth + 1)
    for name, cell in zip(code.co_freevars, fn.__closure__ or (), strict=True):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            put("empty", _join(path, f"closure.{name}"))
            continue
        _walk(value, _join(path, f"closure.{name}"), out, True, seen, depth + 1)
    scope = getattr(fn, "__globals__", {})
    for name in _code_names(code):
        if name in scope and not isinstance(scope[name], types.ModuleType):
            _walk(scope[name], _join(path, f"globals.{name}"), out, True, seen, depth + 1)


def checksum(values, dtype=None) -> str:
    """SHA-256 of an array's shape, dtype and bytes (values cast to `dtype` if given)."""
    array = np.ascontiguousarray(np.asarray(values, dtype=dtype))
    digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def _write_json(path: Path, record: dict) -> None:
    """Write `record` to `path` atomically (a temporary file, fsynced, then renamed), so a
    reader sees either no file or the whole record."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "w") as handle:
            json.dump(record, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _check_folder(path, arg: str) -> Path:
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{arg}: {path} is a file, not a folder; a sweep store is a folder "
                         "(give the path of a new or existing store folder)")
    return path


def _metadata_files(path: Path) -> list[str]:
    """The Zarr metadata files of the store at `path`, relative to it."""
    return sorted(str(p.relative_to(path)) for p in path.rglob("zarr.json")
                  if not any(part.startswith(".") for part in p.relative_to(path).parts))


def _read_record(path: Path, arg: str) -> dict:
    """The creation record, after checking it and every metadata file against it.

    **Raises:** `ValueError` naming `arg`, the store and the damaged file."""
    where = f"{arg}: the sweep store {path} is damaged"
    try:
        record = json.loads((path / _CREATED).read_bytes())
    except (OSError, ValueError) as error:
        raise ValueError(f"{where}: its metadata file {_CREATED} cannot be read "
                         f"({type(error).__name__}: {error}); delete the store and run the "
                         "sweep again") from None
    if isinstance(record, dict) and "format" in record and record["format"] != _FORMAT:
        raise ValueError(f"{arg}: {path} was written by another jaxneuron version (store "
                         f"format {record['format']!r}, this version reads {_FORMAT}; the "
                         "formats describe a sweep differently, so its results cannot be "
                         "checked against this call); use a new path, or delete it and run "
                         "the sweep again")
    keys = {"format", "fingerprint", "n_sets", "chunk", "chunk_arrays", "inputs", "metadata",
            "parts"}
    if not isinstance(record, dict) or not keys <= set(record):
        raise ValueError(f"{where}: its metadata file {_CREATED} is incomplete")
    bad = []
    for rel, expected in record["metadata"].items():
        try:
            data = (path / rel).read_bytes()
        except OSError:
            bad.append(f"{rel} (missing)")
            continue
        if hashlib.sha256(data).hexdigest() != expected:
            try:
                json.loads(data)
                bad.append(f"{rel} (changed: does not match its checksum)")
            except ValueError:
                bad.append(f"{rel} (not valid JSON: truncated or overwritten)")
    if bad:
        raise ValueError(f"{where}: metadata file {', '.join(bad)}; delete the store and run "
                         "the sweep again")
    return record


def _key(name: str) -> str:
    """The Zarr array of an output: `ok`, `status`, `v` by name, summaries prefixed."""
    return name if name in ("ok", "status", "v") else f"summary:{name}"


def _rows(record: dict, k: int) -> tuple[int, int]:
    start = k * record["chunk"]
    return start, min(start + record["chunk"], record["n_sets"])


def _verify_chunk(path: Path, group, record: dict, k: int) -> str | None:
    """None if chunk `k`'s marker exists and every array's values for its rows match the
    marker's checksums; else `MISSING` (no marker) or the reason it cannot be trusted."""
    marker = path / _DONE / f"chunk-{k}"
    try:
        sums = json.loads(marker.read_bytes())["sha256"]
    except FileNotFoundError:
        return MISSING
    except (OSError, ValueError, KeyError, TypeError):
        return f"its completion marker {_DONE}/chunk-{k} is damaged"
    names = record["chunk_arrays"] + record.get("shared_arrays", [])
    if not isinstance(sums, dict) or set(sums) != set(names):
        return f"its completion marker {_DONE}/chunk-{k} is damaged"
    start, stop = _rows(record, k)
    for name in names:
        try:
            array = group[name]
            values = array[:] if name in record.get("shared_arrays", []) else array[start:stop]
        except Exception as error:  # a damaged chunk file: codec or Zarr errors of any kind
            return f"array '{name}' cannot be read ({type(error).__name__}: {error})"
        if checksum(values) != sums[name]:
            return f"array '{name}' does not match its checksum (data missing or changed)"
    return None


def _verify_inputs(group, record: dict) -> list[str]:
    """Names of the parameter / `set_index` arrays whose values do not match the record."""
    bad = []
    for name, expected in record["inputs"].items():
        try:
            values = group[name][:]
        except Exception as error:
            bad.append(f"array '{name}' cannot be read ({type(error).__name__}: {error})")
            continue
        if checksum(values) != expected:
            bad.append(f"array '{name}' does not match its checksum")
    return bad


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of `/proc/<pid>/stat` after the command name (Linux), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _process_start(pid: int) -> str | None:
    """The start time of process `pid` (Linux `/proc`), to tell a reused pid apart."""
    stat = _proc_stat(pid)
    return stat[19] if stat and len(stat) > 19 else None


def _alive(info: dict) -> bool:
    """Whether the process that wrote lock `info` (on this host) still runs."""
    pid = info.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    stat = _proc_stat(pid)
    if stat is None:
        return True  # no /proc: os.kill said it exists
    if stat[0] in ("Z", "X"):  # exited, not yet reaped by its parent
        return False
    start = info.get("start")
    return start is None or len(stat) <= 19 or stat[19] == start


def _stale(lock: Path) -> bool:
    """True if `lock` is gone, or was left by a dead process on this host, or is still empty
    long after its creation (its creator died between creating and writing it)."""
    try:
        info = json.loads(lock.read_bytes())
    except FileNotFoundError:
        return True
    except (OSError, ValueError):
        try:
            return time.time() - lock.stat().st_mtime > _STALE_EMPTY_LOCK_S
        except FileNotFoundError:
            return True
    if not isinstance(info, dict) or info.get("host") != socket.gethostname():
        return False  # another host's process: it cannot be checked from here
    return not _alive(info)


class SweepStore:
    """A sweep's Zarr store, created on first use and reopened to resume.

    **Arguments:**
    - `path`: the store folder (created).
    - `columns`: parameter name -> values `(n_sets,)` in run order; `set_index` `(n_sets,)`.
    - `chunk`: sets per sweep chunk (the Zarr chunk length).
    - `outputs`: name -> `(shape_per_set, dtype)` of every summary, plus `"ok"`, and `"v"`,
      `"ts"` when traces are kept.
    - `metadata`: JSON-able description written to the attributes.
    - `parts`: the call described part by part (part -> path -> text: the model, stimulus,
      engine, ... see `describe`); its `fingerprint` identifies the sweep, and the parts are
      kept in the creation record so that a different call is told what differs.

    **Raises:** `ValueError` naming `store` if `path` is a file, holds a different sweep
    (naming each part that differs, with its value in the store and in this call), was
    written by another store format, or its metadata are damaged.
    """

    def __init__(self, path, *, columns, set_index, chunk: int, outputs: dict, metadata: dict,
                 parts: dict[str, dict[str, str]]):
        import zarr

        self.path = _check_folder(path, "store")
        self.chunk = int(chunk)
        self.n_sets = int(set_index.shape[0])
        self.n_chunks = -(-self.n_sets // self.chunk)
        print_ = fingerprint(parts)
        if not (self.path / _CREATED).exists():
            self._create(columns, set_index, outputs, metadata, parts, print_)
        self.record = _read_record(self.path, "store")
        if self.record["fingerprint"] != print_:
            found = differences(self.record["parts"], parts) or [
                "the fingerprint (the store's description matches, its fingerprint does not: "
                "the creation record was edited)"]
            raise ValueError(
                f"store: {self.path} holds a different sweep; this call differs in "
                f"{'; and in '.join(found)}.{self._first_differences(columns)} Use a new "
                "path, or delete the store to start again.")
        (self.path / _LOCKS).mkdir(exist_ok=True)
        with _ignoring_markers():
            self.group = zarr.open_group(str(self.path), mode="r+")
        if _verify_inputs(self.group, self.record):  # known inputs: rewrite them
            warnings.warn(f"sweep: store {self.path}: rewriting its damaged parameter "
                          "arrays", RuntimeWarning, stacklevel=3)
            for name, values in {**{f"param:{n}": v for n, v in columns.items()},
                                 "set_index": set_index}.items():
                self.group[name][:] = values
        self._held: set[str] = set()

    def _first_differences(self, columns) -> str:
        """For the message of a different call: where its swept values first differ from
        the store's (run order), e.g. `" g_Na first differs at set 39: 160.0 in the store,
        161.0 in this call."`; empty if none can be told."""
        import zarr

        found = []
        for name, values in columns.items():
            try:
                with _ignoring_markers():
                    stored = np.asarray(zarr.open_array(str(self.path / f"param:{name}"),
                                                        mode="r")[:])
            except Exception:  # a damaged or absent array: nothing to tell
                continue
            values = np.asarray(values, np.float64)
            if stored.shape != values.shape:
                continue
            same = (stored == values) | (np.isnan(stored) & np.isnan(values))
            differ = np.flatnonzero(~same)
            if differ.size:
                i = int(differ[0])
                found.append(f" {name} first differs at set {i} (run order): "
                             f"{float(stored[i])!r} in the store, {float(values[i])!r} in "
                             "this call.")
        return "".join(found)

    def _create(self, columns, set_index, outputs, metadata, parts, print_):
        """Build the store in a temporary sibling folder and rename it into place: atomic,
        so of two processes creating it at once one wins and the other uses its store."""
        import zarr

        if self.path.exists() and any(self.path.iterdir()):
            if (self.path / _CREATED).exists():
                return
            raise ValueError(f"store: {self.path} exists and is not a jaxneuron sweep store; "
                             "use a new path or delete it")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ValueError(f"store: cannot create {self.path} ({error})") from None
        tmp = self.path.parent / f".{self.path.name}.creating-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            group = zarr.open_group(str(tmp), mode="w")
            inputs = {}
            for name, values in columns.items():
                self._array(group, f"param:{name}", values.shape, np.float64)[:] = values
                inputs[f"param:{name}"] = checksum(values, np.float64)
            self._array(group, "set_index", set_index.shape, np.int64)[:] = set_index
            inputs["set_index"] = checksum(set_index, np.int64)
            chunk_arrays, shared = [], []
            for name, (shape, dtype) in outputs.items():
                if name == "ts":
                    group.create_array("ts", shape=shape, dtype=dtype, dimension_names=("time",))
                    shared.append("ts")
                    continue
                key = _key(name)
                fill = STATUS_NOT_COMPUTED if key == "status" else None
                self._array(group, key, (self.n_sets, *shape), dtype, fill)
                chunk_arrays.append(key)
            group.attrs.update({**metadata, "fingerprint": print_, "n_sets": self.n_sets,
                                "chunk": self.chunk})
            (tmp / _DONE).mkdir()
            (tmp / _LOCKS).mkdir()
            record = {"format": _FORMAT, "fingerprint": print_, "n_sets": self.n_sets,
                      "chunk": self.chunk, "chunk_arrays": chunk_arrays,
                      "shared_arrays": shared, "inputs": inputs, "parts": parts,
                      "metadata": {rel: hashlib.sha256((tmp / rel).read_bytes()).hexdigest()
                                   for rel in _metadata_files(tmp)}}
            _write_json(tmp / _CREATED, record)
            try:
                os.rename(tmp, self.path)  # replaces an empty folder; fails on a full one
            except OSError:
                if not (self.path / _CREATED).exists():
                    raise ValueError(f"store: {self.path} exists and is not a jaxneuron sweep "
                                     "store; use a new path or delete it") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _array(self, group, key, shape, dtype, fill=None):
        """A per-set array, chunked like the sweep. Unwritten values read as `fill`: by
        default NaN (floats) or 0 (`ok` False); `status` arrays pass `STATUS_NOT_COMPUTED`,
        so a set never computed never reads as status 0 (ok)."""
        dims = ("set",) + tuple(f"{key}_{i}" for i in range(1, len(shape)))
        if key == "v":
            dims = ("set", "time")
        if fill is None:
            fill = np.nan if np.issubdtype(dtype, np.floating) else 0
        return group.create_array(key, shape=shape, dtype=dtype, fill_value=fill,
                                  chunks=(self.chunk, *shape[1:]), dimension_names=dims)

    def rows(self, k: int) -> tuple[int, int]:
        """The rows (sets in run order) `[start, stop)` of chunk `k`."""
        return _rows(self.record, k)

    def done(self) -> set[int]:
        """Indices of the chunks with a completion marker (not yet verified: see `verify`)."""
        return {int(p.name.removeprefix("chunk-")) for p in (self.path / _DONE).iterdir()
                if p.name.startswith("chunk-") and p.name[6:].isdigit()}

    def verify(self, k: int) -> str | None:
        """None if chunk `k` is finished and its data match its checksums; `MISSING` if it
        has no marker; otherwise why it cannot be trusted (damaged marker or array)."""
        return _verify_chunk(self.path, self.group, self.record, k)

    def mine(self) -> list[int]:
        """The chunks this process owns (round-robin over `jax.process_count()`)."""
        return list(range(jax.process_index(), self.n_chunks, jax.process_count()))

    def claim(self, k: int) -> bool:
        """Take chunk `k`'s lock; False if a live process holds it. A lock of a dead
        process on this host is broken first."""
        lock = self.path / _LOCKS / f"chunk-{k}"
        for _ in range(3):
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if not self._break(lock):
                    return False
                continue
            with os.fdopen(fd, "w") as handle:
                json.dump({"pid": os.getpid(), "host": socket.gethostname(),
                           "start": _process_start(os.getpid()), "time": time.time()}, handle)
            self._held.add(lock.name)
            return True
        return False

    def release(self, k: int) -> None:
        """Give back chunk `k`'s lock (taken by `claim`)."""
        name = f"chunk-{k}"
        if name in self._held:
            self._held.discard(name)
            (self.path / _LOCKS / name).unlink(missing_ok=True)

    @staticmethod
    def _break(lock: Path) -> bool:
        """Delete `lock` if stale; True if it is gone. Breakers take turns through a guard
        file, and re-check under it, so a fresh lock is never deleted by a late breaker."""
        if not _stale(lock):
            return False
        guard = lock.with_name(lock.name + ".breaking")
        try:
            fd = os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            with contextlib.suppress(FileNotFoundError):
                if time.time() - guard.stat().st_mtime > _STALE_GUARD_S:
                    guard.unlink()
            return False
        try:
            if _stale(lock):
                lock.unlink(missing_ok=True)
                return True
            return False
        finally:
            os.close(fd)
            guard.unlink(missing_ok=True)

    def lock_holder(self, k: int) -> str | None:
        """Who holds chunk `k`'s lock (for messages), or None."""
        try:
            info = json.loads((self.path / _LOCKS / f"chunk-{k}").read_bytes())
            return f"pid {info['pid']} on {info['host']}"
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def discard(self, k: int) -> None:
        """Remove chunk `k`'s marker (before recomputing it)."""
        (self.path / _DONE / f"chunk-{k}").unlink(missing_ok=True)

    def write(self, k: int, summaries: dict, ok, v=None, ts=None) -> None:
        """Write chunk `k`'s results (rows `k * chunk` onward), then its marker with the
        checksum of every array's values (atomically, after the data)."""
        start = k * self.chunk
        stop = start + len(ok)
        values = {_key(name): x for name, x in summaries.items()}
        values["ok"] = ok
        if v is not None:
            values["v"] = v
        sums = {}
        for key, x in values.items():
            array = self.group[key]
            x = np.asarray(x, dtype=array.dtype)
            array[start:stop] = x
            sums[key] = checksum(x)
        if ts is not None:
            ts = np.asarray(ts, dtype=self.group["ts"].dtype)
            self.group["ts"][:] = ts  # every chunk writes the same bytes, atomically
            sums["ts"] = checksum(ts)
        _write_json(self.path / _DONE / f"chunk-{k}",
                    {"chunk": k, "rows": [start, stop], "sha256": sums})


def open_sweep(path, *, original_order: bool = True, verify: bool = True):
    """A sweep store as an `xarray.Dataset` (lazily loaded) over the dimension `set`.

    Parameters are coordinates (`ds.sel`, `ds.where`, `ds.plot` by value; for a grid sweep
    `ds.set_index(set=[...names]).unstack("set")` gives one axis per parameter), summaries
    are variables named as in the sweep, `ok` flags failures, `v`/`ts` hold kept traces.
    `status` says why a set failed (`jaxneuron.trace.STATUS_REASONS`).
    A store that is still running or was interrupted opens too: the sets of unfinished
    chunks have `ok` False and `status` 9 (`STATUS_NOT_COMPUTED`, never 0), and
    `attrs["complete"]` is 0 (`attrs["chunks_done"]` of `attrs["n_chunks"]` chunks are
    finished).
    `original_order`: reorder cost-ordered runs back to the caller's order (loads them).
    `verify`: check every finished chunk's values, and the parameters, against the
    checksums written with them (reads the whole store once); the metadata files are
    checked either way.

    **Raises:** `ValueError` naming `path` if it is a file or not a sweep store, or if the
    store is damaged (naming the damaged metadata file, or each damaged chunk with its
    sets and array); rerunning the same sweep recomputes damaged chunks.
    """
    import xarray as xr
    import zarr

    path = _check_folder(path, "path")
    if not (path / _CREATED).exists():
        raise ValueError(f"path: {path} is not a jaxneuron sweep store")
    record = _read_record(path, "path")
    n_chunks = -(-record["n_sets"] // record["chunk"])
    finished = [k for k in range(n_chunks) if (path / _DONE / f"chunk-{k}").exists()]
    if verify:
        with _ignoring_markers():
            group = zarr.open_group(str(path), mode="r")
        damaged = [f"parameters: {reason}" for reason in _verify_inputs(group, record)]
        for k in list(finished):
            reason = _verify_chunk(path, group, record, k)
            if reason == MISSING:  # deleted meanwhile: unfinished
                finished.remove(k)
            elif reason is not None:
                start, stop = _rows(record, k)
                damaged.append(f"chunk {k} (sets {start}-{stop - 1} in run order): {reason}")
        if damaged:
            raise ValueError(f"path: the sweep store {path} is damaged: {'; '.join(damaged)}. "
                             "Run the same sweep into it again to recompute the damaged "
                             "chunks (or delete the store).")
    try:
        with _ignoring_markers():
            ds = xr.open_dataset(str(path), engine="zarr", chunks=None, consolidated=False)
    except Exception as error:  # verified metadata should open; anything else is damage
        raise ValueError(f"path: the sweep store {path} cannot be opened "
                         f"({type(error).__name__}: {error})") from None
    ds.attrs.update(complete=int(len(finished) == n_chunks), chunks_done=len(finished),
                    n_chunks=n_chunks)
    if len(finished) < n_chunks:  # sets of unfinished chunks are never reported ok
        in_finished = np.zeros(record["n_sets"], dtype=bool)
        for k in finished:
            in_finished[slice(*_rows(record, k))] = True
        ds["ok"] = ds["ok"].copy(data=ds["ok"].values & in_finished)
        # a chunk may hold data without its marker (killed before the marker, or being
        # recomputed): its sets are "not computed" whatever their status array says
        ds["status"] = ds["status"].copy(data=np.where(
            in_finished, ds["status"].values, STATUS_NOT_COMPUTED).astype(ds["status"].dtype))
    rename = {k: k.split(":", 1)[1] for k in ds.variables if ":" in k}
    ds = ds.rename(rename)
    params = [rename[k] for k in rename if k.startswith("param:")]
    ds = ds.set_coords(params + ["set_index"])
    if "ts" in ds:
        ds = ds.assign_coords(time=ds["ts"].values).drop_vars("ts")
    if original_order and not np.all(np.diff(ds["set_index"].values) > 0):
        ds = ds.sortby("set_index")
    return ds
