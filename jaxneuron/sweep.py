"""`sweep`: run one model over many parameter sets in chunks, with progress and failure reports."""

from __future__ import annotations

import dataclasses
import inspect
import os
import warnings
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from tqdm.auto import tqdm

from ._checks import check_int
from ._fields import check_parameter_names, is_parameter_value, replace_parameters
from .engines import ENGINE_OPTIONS, SpikeRecord, build_engine
from .engines.spikes import steady_firing_rate
from .models.base import AbstractNeuron
from .simulate import simulate
from .stimuli import AbstractStimulus
from .trace import (
    STATUS_OK,
    STATUS_OUTSIDE_DOMAIN,
    STATUS_REASONS,
    STATUS_SUMMARY_NOT_FINITE,
    STATUS_WARNINGS,
    Trace,
    status_reason,
)


def spike_summary(trace: Trace) -> dict[str, jax.Array]:
    """Default per-set summary: spike count, mean and steady firing rate (Hz), first spike
    time (ms, NaN if none) and the final membrane potential (mV).

    Taken from `trace.spike_stats` when the run recorded them (`SpikeRecord(stats=True)`,
    what `sweep` records by default for this summary), else from `trace.spike_times`."""
    duration = trace.ts[-1] - trace.ts[0]
    stats = trace.spike_stats
    return {
        "n_spikes": trace.n_spikes,
        "rate_hz": 1000.0 * trace.n_spikes / duration,
        "steady_rate_hz": (steady_firing_rate(trace.spike_times) if stats is None
                           else stats.steady_rate()),
        "first_spike_ms": trace.spike_times[0] if stats is None else stats.first,
        "v_final": trace.v[-1],
    }


@dataclasses.dataclass
class SweepResult:
    """Per-set results of a sweep, as NumPy arrays on the host.

    **Fields:**
    - `params`: parameter name -> values, each `(n_sets,)` (stimulus fields prefixed
      `stimulus.`), so row i of every array belongs to set i.
    - `summaries`: summary name -> values, each `(n_sets, ...)`.
    - `ok`: `(n_sets,)` False where the simulation blew up, the solver failed, the spike
      buffer overflowed (summaries of a truncated spike list), the parameters lie outside
      the model's domain, or a summary was infinite (NaN summaries that mean "no spike",
      such as `first_spike_ms`, do not count).
    - `traces`: the batched `Trace` when `keep_traces=True`, else None.
    - `status`: `(n_sets,)` why each set failed, a code of `jaxneuron.trace.STATUS_REASONS`
      (0 ok, 1 NaN/inf state, 2 solver failure, 3 spike buffer overflow, 4 parameters
      outside the model's domain, 5 a summary was infinite); `reasons` gives the texts.
    - `violations`: set index -> the first domain constraint it violates (e.g.
      `"C_m must be > 0 and finite"`), for the sets with status 4.
    """

    params: dict[str, np.ndarray]
    summaries: dict[str, np.ndarray]
    ok: np.ndarray
    traces: Trace | None = None
    status: np.ndarray | None = None
    violations: dict[int, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.status is None:
            self.status = np.where(self.ok, STATUS_OK, STATUS_SUMMARY_NOT_FINITE)

    @property
    def n_sets(self) -> int:
        """Number of parameter sets in the sweep (length of `ok`)."""
        return int(self.ok.shape[0])

    @property
    def failed(self) -> np.ndarray:
        """Indices of the sets that failed."""
        return np.flatnonzero(~self.ok)

    @property
    def reasons(self) -> list[str]:
        """Why each set failed (`"ok"` for the others), one text per set."""
        return [self._reason(i) for i in range(self.n_sets)]

    def _reason(self, i) -> str:
        text = status_reason(self.status[i])
        return f"{text}: {self.violations[i]}" if i in self.violations else text

    def failed_parameters(self) -> list[dict]:
        """Each failed set: its index, parameter values, `status` code and `reason` text."""
        return [
            {"index": int(i), **{k: float(v[i]) for k, v in self.params.items()},
             "status": int(self.status[i]), "reason": self._reason(int(i))}
            for i in self.failed
        ]

    def table(self) -> dict[str, np.ndarray]:
        """Parameters, scalar summaries, `ok` and `status` as one flat column dict (for
        CSV/pandas)."""
        columns = dict(self.params)
        columns.update({k: v for k, v in self.summaries.items() if v.ndim == 1})
        columns["ok"] = self.ok
        columns["status"] = self.status
        return columns

    def to_csv(self, path) -> None:
        """Write `table()` as CSV."""
        columns = self.table()
        header = ",".join(columns)
        data = np.column_stack([np.asarray(v, dtype=float) for v in columns.values()])
        np.savetxt(path, data, delimiter=",", header=header, comments="", fmt="%.8g")


def sweep(
    model: AbstractNeuron,
    params: dict[str, np.ndarray],
    stimulus: AbstractStimulus,
    *,
    stimulus_params: dict[str, np.ndarray] | None = None,
    summary: Callable[[Trace], dict[str, jax.Array]] = spike_summary,
    chunk_size: int = 10_000,
    keep_traces: bool = False,
    progress: bool = True,
    shard: bool = True,
    cost: np.ndarray | None = None,
    store: str | os.PathLike | None = None,
    **simulate_kwargs,
) -> SweepResult:
    """Simulate `model` for every parameter set in `params` (and `stimulus_params`).

    Sets are run `chunk_size` at a time as one `jit(vmap(simulate))` call (the last chunk
    is padded so only one compilation happens), sharded across all local devices when
    `shard` is True. Only `summary(trace)` is kept per set unless `keep_traces`.

    **Arguments:**
    - `model`, `stimulus`: the base model and stimulus; unswept fields keep their values.
    - `params`: model field name -> values `(n_sets,)`.
    - `stimulus_params`: stimulus field name -> values `(n_sets,)`.
    - `summary`: maps one `Trace` to a dict of arrays (default `spike_summary`); its names
      must differ from `ok` and `status` (and, with `store`, from the swept parameters'
      names, `v`, `ts`, `time`, `set` and `set_index`).
    - `chunk_size`: sets per compiled call (bounds memory).
    - `cost`: an estimate of each set's work `(n_sets,)`, e.g. from
      `estimate_spike_counts`. Sets are then run in order of cost, so each chunk holds
      sets of similar cost: an event-driven (`engine=ExactSpiking()`) chunk takes as long as its
      slowest member, and balanced chunks of ~1,000 sets run 2-3x faster than one
      mixed batch. Results come back in the original order either way.
    - `store`: a folder to stream the results into, chunk by chunk (a Zarr store, see
      `jaxneuron.store`): parameters, summaries, `ok`, and with `keep_traces` the voltage
      on the `save_every` grid (the runs then save V only, `save_states=()`), plus the
      model, stimulus, options and jaxneuron version.
      Memory then stays flat however many sets there are. A run that was killed resumes
      when called again with the same arguments: finished chunks are skipped, and the
      final store equals an uninterrupted run's. Under `jax.distributed`, each process
      runs its share of the chunks into the same store. A different call on an existing
      store (another model structure or static field such as `leak`, parameter value,
      stimulus, engine, record, run option, precision, summary function, including its
      closure, or swept values) is refused with a `ValueError` naming what differs. Sets
      not computed yet (an interrupted or running sweep) read `ok` False and `status` 9
      (`STATUS_NOT_COMPUTED`).
    - `simulate_kwargs`: passed to `simulate` (`t1`, `dt`, `solver`, ...); `save_every`
      defaults to 0 (keep only the ends of each trace) unless `keep_traces`.
      `save_states` chooses the states each kept trace holds (e.g. `()`: only `traces.v`,
      the cheapest way to keep voltage traces of many sets; `None`, the default: all). With the
      default `summary` and neither `keep_traces`, `max_spikes` nor `record` given, each
      run records only online spike statistics (`SpikeRecord(times=False, stats=True)`):
      no spike-time list, so no buffer to overflow, and the clock engine's loop stays
      elementwise.

    **Returns:** a `SweepResult`; with `store`, the store opened as an `xarray.Dataset`
    (`jaxneuron.store.open_sweep`). Failed sets are listed in `result.failed` (the `ok`
    variable of a store) with their reason in `result.status` / `failed_parameters()` (the
    `status` variable of a store), and reported in a warning; the rest of the sweep
    completes. A set fails when its state became NaN/inf, the solver failed, its spike
    buffer overflowed (pass a larger `max_spikes`: summaries of a truncated spike list are
    never ok), its parameters lie outside the model's domain (`AbstractNeuron.domain`, e.g.
    `C_m = 0`), or a summary was infinite.

    **Raises:** `ValueError` for unknown parameter names, non-numeric values, empty or
    mismatched lengths, a summary with a reserved name, and (naming `store`) a store that
    holds a different sweep, is damaged, or was written by another store format.
    """
    stimulus_params = stimulus_params or {}
    check_parameter_names(model, params, "params")
    check_parameter_names(stimulus, stimulus_params, "stimulus_params")
    columns = {k: np.asarray(v) for k, v in params.items()}
    columns.update({f"stimulus.{k}": np.asarray(v) for k, v in stimulus_params.items()})
    if not columns:
        raise ValueError("params: give at least one parameter to sweep")
    for name, values in columns.items():
        if values.dtype.kind not in "iuf":
            raise ValueError(f"params: {name} must hold numbers (ints or floats); got "
                             f"{values.tolist()[:5]!r} (dtype {values.dtype})")
    lengths = {k: v.shape for k, v in columns.items()}
    if any(len(s) != 1 for s in lengths.values()) or len({s[0] for s in lengths.values()}) != 1:
        raise ValueError(f"params: every value array must be 1-D with the same length; "
                         f"got shapes {lengths}")
    if next(iter(lengths.values()))[0] == 0:
        raise ValueError("params: the value arrays are empty (length 0); give at least one "
                         "parameter set")
    chunk_size = check_int("chunk_size", chunk_size, 1)
    n_sets = next(iter(lengths.values()))[0]
    order = None
    if cost is not None:
        cost = np.asarray(cost, dtype=float)
        if cost.shape != (n_sets,):
            raise ValueError(f"cost must have shape ({n_sets},), one value per set; got "
                             f"{cost.shape}")
        order = np.argsort(np.nan_to_num(cost, nan=np.inf), kind="stable")
        columns_in_order = {k: v[order] for k, v in columns.items()}
    else:
        columns_in_order = columns
    simulate_kwargs.setdefault("save_every", None if keep_traces else 0)
    if (summary is spike_summary and not keep_traces
            and not {"record", "max_spikes"} & set(simulate_kwargs)):
        simulate_kwargs["record"] = SpikeRecord(
            threshold=simulate_kwargs.pop("threshold", model.spike_threshold), times=False,
            stats=True)
    simulate_kwargs["throw"] = False
    run_kwargs = simulate_kwargs
    if store is not None and keep_traces and "save_states" not in simulate_kwargs:
        # a store keeps only the voltage of each trace: the runs save no state column (the
        # store's options, and so its fingerprint, stay those of the call)
        run_kwargs = {**simulate_kwargs, "save_states": ()}

    # names a summary cannot take: the result's own, and in a store its variables'
    reserved = {"ok", "status"} | (set() if store is None else {
        *columns, "v", "ts", "time", "set", "set_index"})

    def one_set(model_values, stimulus_values):
        m = replace_parameters(model, model_values)
        s = replace_parameters(stimulus, stimulus_values)
        trace = simulate(m, s, **run_kwargs)
        out = {k: jnp.asarray(v) for k, v in summary(trace).items()}
        if clash := sorted(reserved & set(out)):
            raise ValueError(f"summary: the name(s) {clash} are taken by the sweep's own "
                             f"results (reserved: {sorted(reserved)}); rename them")
        out["status"] = trace.status  # 0 only with ok and a complete spike list
        return out, trace.status == STATUS_OK, (trace if keep_traces else None)

    run_chunk = eqx.filter_jit(jax.vmap(one_set))
    chunk = min(chunk_size, n_sets)
    devices = jax.local_devices()
    sharding = None
    if shard and len(devices) > 1:
        chunk = -(-chunk // len(devices)) * len(devices)
        sharding = NamedSharding(Mesh(np.array(devices), ("batch",)), PartitionSpec("batch"))

    dtype = model.initial_state().dtype
    n_chunks = -(-n_sets // chunk)

    def compute(k):
        start = k * chunk
        index = np.minimum(np.arange(start, start + chunk), n_sets - 1)  # pad with last set
        batch = {name: jnp.asarray(v[index], dtype=dtype)
                 for name, v in columns_in_order.items()}
        if sharding is not None:
            batch = jax.device_put(batch, sharding)
        model_values = {k: v for k, v in batch.items() if not k.startswith("stimulus.")}
        stim_values = {k.removeprefix("stimulus."): v for k, v in batch.items()
                       if k.startswith("stimulus.")}
        out, ok, traces = run_chunk(model_values, stim_values)
        n_real = min(start + chunk, n_sets) - start
        out, ok, traces = jax.tree.map(lambda x: np.asarray(x)[:n_real], (out, ok, traces))
        ok = _summaries_ok(out, ok)
        out["status"] = np.where(ok | (out["status"] != STATUS_OK), out["status"],
                                 STATUS_SUMMARY_NOT_FINITE).astype(np.int32)
        return out, ok, traces

    if store is not None:
        return _sweep_into_store(store, compute, n_chunks, chunk, columns_in_order, order,
                                 one_set, model, stimulus, summary, keep_traces,
                                 simulate_kwargs, progress)
    pieces = [compute(k) for k in tqdm(range(n_chunks), desc="sweep", unit="chunk",
                                        disable=not progress or n_chunks < 2)]
    summaries = {k: np.concatenate([p[0][k] for p in pieces]) for k in pieces[0][0]}
    ok = np.concatenate([p[1] for p in pieces])
    traces = None
    if keep_traces:
        traces = jax.tree.map(lambda *xs: np.concatenate(xs), *[p[2] for p in pieces])
    if order is not None:
        inverse = np.argsort(order)
        summaries, ok, traces = jax.tree.map(lambda x: x[inverse], (summaries, ok, traces))
    status = summaries.pop("status")
    result = SweepResult(params=columns, summaries=summaries, ok=ok, traces=traces,
                         status=status,
                         violations=_domain_violations(model, stimulus, columns, status))
    if result.failed.size:
        _warn_failed(result.failed.size, n_sets, result.failed_parameters()[:5],
                     reasons=status[result.failed])
    return result


def _domain_violations(model: AbstractNeuron, stimulus: AbstractStimulus, columns: dict,
                       status: np.ndarray) -> dict:
    """Set index -> the first constraint of `model.domain()` (or of `stimulus.domain()`,
    prefixed `stimulus`) it violates, for the sets with status 4 (evaluated on the host, all
    such sets at once as batched fields)."""
    bad = np.flatnonzero(status == STATUS_OUTSIDE_DOMAIN)
    if not bad.size:
        return {}
    model_values = {k: v[bad] for k, v in columns.items() if not k.startswith("stimulus.")}
    stimulus_values = {k.removeprefix("stimulus."): v[bad] for k, v in columns.items()
                       if k.startswith("stimulus.")}
    constraints = {**replace_parameters(model, model_values).domain(),
                   **{f"stimulus {key}": valid for key, valid in
                      replace_parameters(stimulus, stimulus_values).domain().items()}}
    found: dict[int, str] = {}
    for key, valid in constraints.items():
        for i, v in zip(bad, np.broadcast_to(np.asarray(valid), bad.shape), strict=True):
            if not v:
                found.setdefault(int(i), key)
    return found


def _summaries_ok(out: dict, ok: np.ndarray) -> np.ndarray:
    """`ok` also False where a scalar float summary is infinite (NaN may mean "none")."""
    for name, values in out.items():
        if name != "first_spike_ms" and values.dtype.kind == "f" and values.ndim == 1:
            ok = ok & ~np.isinf(values)
    return ok


def _warn_failed(n_failed: int, n_sets: int, shown, reasons=None) -> None:
    if reasons is None:
        why = ("NaN/inf state, solver failure, spike buffer overflow, parameters outside the "
               "model's domain, or an infinite summary")
    else:
        codes, counts = np.unique(np.asarray(reasons), return_counts=True)
        why = "; ".join(f"{n}: {STATUS_REASONS.get(int(c), c)}"
                        for c, n in zip(codes, counts, strict=True))
    warnings.warn(
        f"sweep: {n_failed} of {n_sets} parameter sets failed ({why}); first: {shown}. See "
        f"SweepResult.failed / failed_parameters() / status (the `ok` and `status` variables "
        f"of a store).", RuntimeWarning, stacklevel=3)


def _sweep_into_store(path, compute, n_chunks, chunk, columns, order, one_set, model,
                      stimulus, summary, keep_traces, simulate_kwargs, progress):
    """Run the chunks this process owns that are not yet in the store at `path`.

    Finished chunks are verified against their checksums first; missing or damaged ones are
    recomputed (with a warning naming them). Each chunk is computed under its lock, so
    processes running the same sweep into one store share the chunks and never write the
    same one; chunks another process holds are waited for."""
    import time

    from . import __version__
    from .store import MISSING, SweepStore, open_sweep

    n_sets = next(iter(columns.values())).shape[0]
    names = list(columns)
    scalars = {n: jnp.zeros((), model.initial_state().dtype) for n in names}
    shapes = jax.eval_shape(one_set, {n: v for n, v in scalars.items()
                                      if not n.startswith("stimulus.")},
                            {n.removeprefix("stimulus."): v for n, v in scalars.items()
                             if n.startswith("stimulus.")})
    outputs = {k: (v.shape, np.dtype(v.dtype)) for k, v in shapes[0].items()}
    outputs["ok"] = ((), np.dtype(bool))
    if keep_traces:
        trace = shapes[2]
        outputs["v"] = (trace.v.shape, np.dtype(trace.v.dtype))
        outputs["ts"] = (trace.ts.shape, np.dtype(trace.ts.dtype))
    metadata = {
        "jaxneuron_version": __version__, "model": type(model).__name__,
        "stimulus": type(stimulus).__name__,
        "summary": getattr(summary, "__qualname__", repr(summary)),
        "simulate_options": {k: repr(v) for k, v in sorted(simulate_kwargs.items())},
        "parameters": names, "dtype": str(model.initial_state().dtype),
    }
    set_index = np.arange(n_sets) if order is None else order
    parts = _describe_call(model, stimulus, summary, simulate_kwargs, columns, set_index,
                           chunk, keep_traces, outputs)
    sink = SweepStore(path, columns=columns, set_index=set_index, chunk=chunk,
                      outputs=outputs, metadata=metadata, parts=parts)
    mine = sink.mine()
    finished, damaged = set(), {}
    for k in sorted(sink.done() & set(mine)):  # verify finished chunks before trusting them
        reason = sink.verify(k)
        if reason is None:
            finished.add(k)
        elif reason != MISSING:
            damaged[k] = reason

    def report(found):
        start = {k: sink.rows(k) for k in found}
        warnings.warn(
            f"sweep: store {sink.path}: recomputing {len(found)} damaged chunk(s): "
            + "; ".join(f"chunk {k} (sets {start[k][0]}-{start[k][1] - 1} in run order): "
                        f"{reason}" for k, reason in sorted(found.items())),
            RuntimeWarning, stacklevel=3)

    if damaged:
        report(damaged)
    bar = tqdm(total=len(mine), initial=len(finished), desc="sweep", unit="chunk",
               disable=not progress)
    pending = [k for k in mine if k not in finished]
    waited_since = None
    while pending:
        held = []  # chunks another process is computing now
        for k in pending:
            if not sink.claim(k):
                held.append(k)
                continue
            try:
                reason = sink.verify(k)  # finished by another process meanwhile?
                if reason is not None:
                    if reason != MISSING and k not in damaged:
                        damaged[k] = reason
                        report({k: reason})
                    sink.discard(k)
                    out, ok, traces = compute(k)
                    v, ts = (traces.v, traces.ts[0]) if keep_traces else (None, None)
                    sink.write(k, out, ok, v, ts)
            finally:
                sink.release(k)
            bar.update(1)
        pending = []
        for k in held:  # wait for them: finished, or their lock freed or stale (then ours)
            if sink.verify(k) is None:
                bar.update(1)
            else:
                pending.append(k)
        if pending:
            waited_since = waited_since or time.monotonic()
            if time.monotonic() - waited_since > 600:
                waited_since = time.monotonic()
                warnings.warn(
                    f"sweep: store {sink.path}: still waiting for chunk(s) {pending} held by "
                    f"{sink.lock_holder(pending[0])}; if that process is gone (another host), "
                    f"delete {sink.path}/.locks/chunk-<k> to take them over",
                    RuntimeWarning, stacklevel=3)
            time.sleep(0.2)
    bar.close()
    ds = open_sweep(path)
    ok = ds["ok"].values
    if not ok.all() and ds.attrs["complete"]:
        failed = np.flatnonzero(~ok)[:5]
        _warn_failed(int((~ok).sum()), n_sets,
                     [{"index": int(i), **{n: float(ds[n].values[i]) for n in names}}
                      for i in failed])
    return ds


def _describe_call(model, stimulus, summary, simulate_kwargs, columns, set_index, chunk,
                   keep_traces, outputs) -> dict[str, dict[str, str]]:
    """A store sweep's call described part by part (part -> path -> text, see
    `jaxneuron.store.describe`): everything that decides its results, so two calls with the
    same description compute the same store. Options left out and options given at their
    default describe alike; the engine and the spike record are described as built."""
    from . import __version__
    from .store import array_text, checksum, describe, split

    def flat(obj, path=""):
        return {key: text for key, (_, text) in describe(obj, path=path).items()}

    options = dict(simulate_kwargs)
    engine = build_engine(model, **{k: options.pop(k) for k in ENGINE_OPTIONS if k in options})
    record = options.pop("record", None)
    if record is None:
        options.setdefault("threshold", model.spike_threshold)
        record = SpikeRecord(**{k: options.pop(k) for k in ("max_spikes", "threshold")
                                if k in options})
    defaults = {name: p.default for name, p in inspect.signature(simulate).parameters.items()
                if p.kind is p.KEYWORD_ONLY and p.default is not p.empty
                and name not in (*ENGINE_OPTIONS, "record", "max_spikes", "threshold")}
    options = {**defaults, **options}
    for name in ("t0", "t1", "dt", "save_every"):  # 30 and 30.0 ms are the same time
        if isinstance(options.get(name), int | float | np.number) and not isinstance(
                options[name], bool):
            options[name] = float(options[name])
    if isinstance(options.get("save_states"), list):
        options["save_states"] = tuple(options["save_states"])
    model_structure, model_values = split(describe(model))
    stimulus_structure, stimulus_values = split(describe(stimulus))
    # a swept field's base value is never used: only its swept values describe it
    model_values = {k: t for k, t in model_values.items() if k not in columns}
    stimulus_values = {k: t for k, t in stimulus_values.items()
                       if f"stimulus.{k}" not in columns}
    swept = {name: array_text(np.asarray(v, np.float64)) for name, v in columns.items()}
    swept["(names, in order)"] = repr(list(columns))
    swept["(run order)"] = f"sha256 {checksum(set_index, np.int64)}"
    return {
        "model": model_structure,
        "model parameter values": model_values,
        "stimulus": stimulus_structure,
        "stimulus parameter values": stimulus_values,
        "engine": flat(engine),
        "record": flat(record),
        "run options": {k: t for name, value in sorted(options.items())
                        for k, t in flat(value, name).items()},
        "precision": {"dtype": str(np.dtype(model.initial_state().dtype)),
                      "jax_enable_x64": repr(bool(jax.config.jax_enable_x64))},
        "summary function": flat(summary),
        "outputs": {name: f"{np.dtype(spec[1])}{list(spec[0])}"
                    for name, spec in sorted(outputs.items())},
        "swept parameters": swept,
        "sizes": {"sets": str(len(set_index)), "chunk": str(chunk),
                  "keep_traces": repr(bool(keep_traces))},
        "jaxneuron": {"version": __version__},
    }


def estimate_spike_counts(model: AbstractNeuron, params: dict[str, np.ndarray],
                          stimulus: AbstractStimulus, *, dt: float = 0.1,
                          stimulus_params: dict[str, np.ndarray] | None = None,
                          **simulate_kwargs) -> np.ndarray:
    """Spike counts `(n_sets,)` from a cheap clock-mode sweep at a coarse step `dt` (ms),
    float32, as the `cost` for balancing an event-driven sweep of the same sets. Sets that
    fail at the coarse step get NaN (run last)."""
    for option in ENGINE_OPTIONS:  # the default engine: clock-driven for spiking models
        simulate_kwargs.pop(option, None)
    simulate_kwargs["dt"] = dt
    coarse = jax.tree.map(lambda x: jnp.asarray(x, jnp.float32) if is_parameter_value(x)
                          else x, model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = sweep(coarse, params, stimulus, stimulus_params=stimulus_params,
                       progress=False, **simulate_kwargs)
    # an overflowed spike buffer or a coarse step still counts every spike: only failures
    # lose the count
    counted = np.isin(result.status, (STATUS_OK, *STATUS_WARNINGS))
    for w in caught:
        if not counted.all() or not issubclass(w.category, RuntimeWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return np.where(counted, result.summaries["n_spikes"], np.nan)
