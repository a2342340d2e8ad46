"""Benchmark cores shared by `benchmarks/*.py` and `jaxneuron demo`: identical HH work run by
jaxneuron and by SciPy `solve_ivp`, with accuracy against a tight reference and compile time
reported apart from run time. `write_json` writes the schema `benchmarks/report.py` renders."""

from __future__ import annotations

import json
import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

from ..baselines import simulate_hh_scipy, step_current
from ..gradients import value_and_grad
from ..models import HodgkinHuxley
from ..simulate import simulate
from ..stimuli import StepCurrent

T1 = 100.0  # ms per simulation
MAX_SPIKES = 32


_STARTED = time.time()  # when this process imported the benchmark helpers (for `wall_s`)


def _process_seconds() -> float:
    """Wall seconds since this process started (Linux), else since this module's import."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = float(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.time() - _STARTED


def _cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def machine() -> str:
    """A short description of this machine (CPU model, cores, JAX backend and devices)."""
    devices = jax.devices()
    return f"{_cpu_model()}, {os.cpu_count()} cores, jax {jax.__version__} {devices[0].platform} " \
           f"x{len(devices)}"


def write_json(path, benchmark: str, rows: list[dict], columns=None, *, tables=None) -> None:
    """Write one benchmark's results as JSON (the schema `benchmarks/report.py` renders).

    **Arguments:**
    - `path`: the file to write (folders are created).
    - `benchmark`: the script's name without `.py`, e.g. `"hh_sweep"`.
    - `rows`: one dict per table row (JSON-serialisable values).
    - `columns`: `(key, header, format)` triples of the main table, as for `format_table`.
    - `tables`: further tables as `{name: (columns, key)}`: the rows that have `key`.

    The file holds `benchmark`, `command` (how it was run), `date` (UTC), `wall_s` (seconds
    since the process started), `machine` (one line) and its parts `cpu`, `cores`,
    `jax_version`, `backend`, `devices`, `jaxneuron_version`, `tables` and `rows`.
    """
    import sys

    from .. import __version__

    devices = jax.devices()
    script = os.path.relpath(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    all_tables = [{"name": benchmark, "columns": [list(c) for c in columns or []], "key": None}]
    for name, (cols, key) in (tables or {}).items():
        all_tables.append({"name": f"{benchmark}/{name}", "columns": [list(c) for c in cols],
                           "key": key})
    record = {"benchmark": benchmark,
              "command": " ".join(["python", script.replace(os.sep, "/"), *sys.argv[1:]]),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "wall_s": round(_process_seconds(), 1), "machine": machine(),
              "cpu": _cpu_model(), "cores": os.cpu_count(), "jax_version": jax.__version__,
              "backend": devices[0].platform, "devices": len(devices),
              "jaxneuron_version": __version__, "tables": all_tables, "rows": rows}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(record, f, indent=2)
        f.write("\n")


def report(rows: list[dict], columns, benchmark: str, json_path=None) -> None:
    """Print `rows` as a Markdown table and, if `json_path`, write the common JSON."""
    print(format_table(rows, columns))
    if json_path:
        write_json(json_path, benchmark, rows, columns)
        print(f"wrote {json_path}")


def sample_hh_sets(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """n random HH sets: g_Na ~ U[80, 160], g_K ~ U[20, 50] mS/cm², amplitude ~ U[5, 20] µA/cm²."""
    rng = np.random.default_rng(seed)
    return {"g_Na": rng.uniform(80, 160, n), "g_K": rng.uniform(20, 50, n),
            "amplitude": rng.uniform(5, 20, n)}


def scipy_hh_batch(sets, indices, *, method="RK45", rtol=1e-6, atol=1e-6):
    """Spike times of the chosen sets with `solve_ivp` in a Python loop, and seconds per set."""
    spikes = []
    start = time.perf_counter()
    for i in indices:
        result = simulate_hh_scipy(step_current(sets["amplitude"][i]), t1=T1, method=method,
                                   rtol=rtol, atol=atol,
                                   params={"g_Na": sets["g_Na"][i], "g_K": sets["g_K"][i]})
        spikes.append(result.spike_times)
    return spikes, (time.perf_counter() - start) / len(indices)


def reference_spikes(sets, indices):
    """Tight reference: DOP853 at rtol = atol = 1e-10 with event-located spikes."""
    return scipy_hh_batch(sets, indices, method="DOP853", rtol=1e-10, atol=1e-10)[0]


def spike_error(spike_times, n_spikes, reference) -> tuple[float, int]:
    """Max |Δt| (ms) over sets whose spike count matches, and the number that do not match."""
    worst, mismatched = 0.0, 0
    for row, count, ref in zip(spike_times, n_spikes, reference, strict=True):
        if int(count) != len(ref):
            mismatched += 1
        elif len(ref):
            worst = max(worst, float(np.max(np.abs(np.asarray(row[: len(ref)]) - ref))))
    return worst, mismatched


# What a benchmark run saves besides its spikes (`jaxneuron_hh_batch(saves=...)`): the two
# ends only; every state at every step; V only at every step (what a Jaxley user records).
SAVES = {"ends": dict(save_every=0), "all": dict(save_every=None),
         "v": dict(save_every=None, save_states=())}


def jaxneuron_hh_batch(sets, *, solver="staggered", dt=0.025, dtype="float32", shard=False,
                       saves="ends") -> dict:
    """Run every set as one jit(vmap(simulate)) call, saving what `saves` says (a key of
    `SAVES`: `"ends"`, `"all"` states every step, `"v"` only V every step); the saved
    trace is an output of the call, so it is computed and written.

    **Returns:** a dict with `spike_times` `(n, MAX_SPIKES)` and `n_spikes` `(n,)` (NumPy),
    `compile_s` (the first call minus a warm call), `run_s`, `steps` (solver steps per set)
    and `kernels` (kernels per step of the compiled loop, `loop_kernels`)."""
    jax.config.update("jax_enable_x64", dtype == "float64")
    jdtype = jnp.float64 if dtype == "float64" else jnp.float32

    def run(g_na, g_k, amp):
        trace = simulate(HodgkinHuxley(g_Na=g_na, g_K=g_k), StepCurrent(amp), t1=T1, dt=dt,
                         solver=solver, max_spikes=MAX_SPIKES, throw=False, **SAVES[saves])
        return trace.spike_times, trace.n_spikes, trace.v, trace.states

    args = [jnp.asarray(sets[k], dtype=jdtype) for k in ("g_Na", "g_K", "amplitude")]
    out, compile_s, run_s = time_vmapped(run, args, shard=shard)
    return {"spike_times": np.asarray(out[0], dtype=float), "n_spikes": np.asarray(out[1]),
            "compile_s": compile_s, "run_s": run_s, "steps": int(round(T1 / dt)),
            "kernels": loop_kernels(jax.vmap(run), *args)["per_step"]}


def time_vmapped(fn, args, *, shard: bool = False, repeats: int = 2):
    """Time `jit(vmap(fn))(*args)` (batch along axis 0 of every arg), sharded over the local
    devices if `shard` (the batch is trimmed to a multiple of their number).

    **Returns:** `(out, compile_s, run_s)`: run_s is the best of `repeats` warm calls and
    compile_s the first call minus run_s.
    """
    if shard and len(jax.devices()) > 1:
        from jax.sharding import Mesh, NamedSharding, PartitionSpec

        n_dev = len(jax.devices())
        n = args[0].shape[0] - args[0].shape[0] % n_dev
        mesh = Mesh(np.array(jax.devices()), ("batch",))
        args = [jax.device_put(a[:n], NamedSharding(mesh, PartitionSpec("batch"))) for a in args]
    batched = jax.jit(jax.vmap(fn))
    start = time.perf_counter()
    jax.block_until_ready(batched(*args))
    first = time.perf_counter() - start
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = jax.block_until_ready(batched(*args))
        runs.append(time.perf_counter() - start)
    run_s = min(runs)
    return out, max(first - run_s, 0.0), run_s


def hh_sweep_rows(n: int, *, n_reference: int = 20, configs=None, progress=print) -> list[dict]:
    """The HH sweep benchmark: jaxneuron configurations vs SciPy RK45 (rtol = atol = 1e-6)
    on the same n sets. SciPy is timed on `n_reference` sets and extrapolated per set.
    A configuration holds the keywords of `jaxneuron_hh_batch` (`saves` optional)."""
    configs = configs or [dict(solver="staggered", dt=0.025, dtype="float32", shard=False),
                          dict(solver="staggered", dt=0.025, dtype="float32", shard=True),
                          dict(solver="staggered", dt=0.025, dtype="float64", shard=False)]
    sets = sample_hh_sets(n)
    check = np.arange(min(n_reference, n))
    progress(f"reference: SciPy DOP853 rtol=1e-10 on {len(check)} sets")
    reference = reference_spikes(sets, check)
    progress(f"baseline: SciPy RK45 rtol=atol=1e-6 on {len(check)} sets")
    scipy_spikes, scipy_per_set = scipy_hh_batch(sets, check)
    scipy_err, scipy_bad = spike_error(
        [np.pad(s, (0, MAX_SPIKES - len(s)), constant_values=np.nan) for s in scipy_spikes],
        [len(s) for s in scipy_spikes], reference)
    rows = []
    for cfg in configs:
        progress(f"jaxneuron {cfg} on {n} sets")
        out = jaxneuron_hh_batch(sets, **cfg)
        counts, run_s = out["n_spikes"], out["run_s"]
        err, bad = spike_error(out["spike_times"][check], counts[check], reference)
        n_run = counts.shape[0]
        devices = len(jax.devices()) if cfg["shard"] else 1
        saved = {"ends": "", "all": ", all states every step",
                 "v": ", V only every step"}[cfg.get("saves", "ends")]
        rows.append({
            "case": f"{cfg['solver']} dt={cfg['dt']} {cfg['dtype']} {devices} device(s)"
                    f"{saved}",
            "n": int(n_run), "jaxneuron_s": run_s, "compile_s": out["compile_s"],
            "jaxneuron_ms_per_set": 1e3 * run_s / n_run,
            "ns_per_neuron_step": ns_per_neuron_step(run_s, n_run, out["steps"]),
            "kernels_per_step": out["kernels"],
            "baseline": "scipy RK45 rtol=atol=1e-6 (python loop, extrapolated)",
            "baseline_s": scipy_per_set * n_run, "baseline_ms_per_set": 1e3 * scipy_per_set,
            "speedup": scipy_per_set * n_run / run_s,
            "max_spike_error_ms": err, "spike_count_mismatches": bad,
            "baseline_max_spike_error_ms": scipy_err, "baseline_spike_count_mismatches": scipy_bad,
            "n_checked": int(len(check)),
        })
    return rows


def format_table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    """A Markdown table of `rows` with (key, header, format) columns."""
    lines = ["| " + " | ".join(h for _, h, _ in columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        cells = [format(row[k], f) if k in row and row[k] is not None else "-"
                 for k, _, f in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


SWEEP_COLUMNS = [("case", "case", "s"), ("n", "n", "d"),
                 ("jaxneuron_ms_per_set", "ms/set", ".4f"), ("compile_s", "compile s", ".2f"),
                 ("ns_per_neuron_step", "ns/neuron-step", ".2f"),
                 ("kernels_per_step", "kernels/step", ".3g"),
                 ("baseline", "baseline", "s"), ("baseline_ms_per_set", "baseline ms/set", ".4f"),
                 ("speedup", "speedup", ",.1f"), ("max_spike_error_ms", "max |Δt| ms", ".4f"),
                 ("baseline_max_spike_error_ms", "baseline max |Δt| ms", ".4f"),
                 ("spike_count_mismatches", "count mismatches", "d")]


HH_PARAMETERS = ("C_m", "g_Na", "g_K", "g_L", "E_Na", "E_K", "E_L")


def hh_gradient_rows(batch: int = 256, *, dt: float = 0.025, t1: float = 50.0) -> list[dict]:
    """Cost of the gradient (forward and reverse mode) of a voltage-trace loss w.r.t. all 7 HH
    parameters, per set in a vmapped batch, relative to one forward simulation and to central
    finite differences (14 forward simulations), float64.

    Times are the best of 5 warm calls, wall (`jaxneuron_s`, `forward_s`) and CPU seconds of
    this process (`gradient_cpu_s`, `forward_cpu_s`: less disturbed by other jobs on a shared
    machine); kernels per step are `loop_kernels`' `per_step` of each compiled loop (for
    reverse mode, the forward and the backward loop together)."""
    jax.config.update("jax_enable_x64", True)
    sets = sample_hh_sets(batch, seed=1)
    stim_amp = jnp.asarray(sets["amplitude"])
    base = HodgkinHuxley()
    params = jnp.stack([jnp.full((batch,), float(getattr(base, k))) for k in HH_PARAMETERS], 1)
    params = params.at[:, 1].set(jnp.asarray(sets["g_Na"])).at[:, 2].set(jnp.asarray(sets["g_K"]))
    target = simulate(base, StepCurrent(10.0), t1=t1, dt=dt, save_every=0.1).v

    def loss(p, amp):
        model = HodgkinHuxley(**dict(zip(HH_PARAMETERS, p, strict=True)))
        trace = simulate(model, StepCurrent(amp), t1=t1, dt=dt, save_every=0.1, throw=False)
        return jnp.mean((trace.v - target) ** 2)

    forward = jax.vmap(loss)

    def timed(fn, *args):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        first = time.perf_counter() - start
        best, best_cpu = np.inf, np.inf
        for _ in range(5):
            start, start_cpu = time.perf_counter(), time.process_time()
            jax.block_until_ready(fn(*args))
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.process_time() - start_cpu)
        return first - best, best, best_cpu

    fwd_compile, fwd_s, fwd_cpu = timed(jax.jit(forward), params, stim_amp)
    fwd_kernels = loop_kernels(forward, params, stim_amp)["per_step"]
    fd_s = 2 * len(HH_PARAMETERS) * fwd_s
    rows = []
    for mode in ("forward", "reverse"):
        gradient = jax.vmap(
            lambda p, amp, mode=mode: value_and_grad(lambda q: loss(q, amp), mode)(p))
        grad_compile, grad_s, grad_cpu = timed(jax.jit(gradient), params, stim_amp)
        rows.append({
            "case": f"grad of trace loss w.r.t. 7 HH params ({mode} mode), staggered dt={dt}, "
                    f"{t1:g} ms, float64",
            "n": batch, "jaxneuron_s": grad_s, "compile_s": grad_compile,
            "forward_s": fwd_s, "forward_compile_s": fwd_compile,
            "gradient_over_forward": grad_s / fwd_s,
            "baseline": "central finite differences (14 forward runs)", "baseline_s": fd_s,
            "speedup": fd_s / grad_s,
            "forward_cpu_s": fwd_cpu, "gradient_cpu_s": grad_cpu,
            "gradient_over_forward_cpu": grad_cpu / fwd_cpu,
            "forward_kernels_per_step": fwd_kernels,
            "gradient_kernels_per_step": loop_kernels(gradient, params, stim_amp)["per_step"],
        })
    return rows


GRADIENT_COLUMNS = [("case", "case", "s"), ("n", "n", "d"), ("forward_s", "forward s", ".3f"),
                    ("jaxneuron_s", "gradient s", ".3f"),
                    ("gradient_over_forward", "gradient/forward", ".2f"),
                    ("gradient_over_forward_cpu", "CPU-s ratio", ".2f"),
                    ("forward_kernels_per_step", "forward kernels/step", ".1f"),
                    ("gradient_kernels_per_step", "gradient kernels/step", ".1f"),
                    ("baseline", "baseline", "s"), ("baseline_s", "baseline s", ".3f"),
                    ("speedup", "speedup", ".1f")]


# Ops that move no data: they are not kernels (a tuple of buffers, a view, a literal).
_NOT_KERNELS = frozenset({"parameter", "get-tuple-element", "tuple", "constant", "bitcast"})


def loop_kernels(fn, *args) -> dict[str, float]:
    """Kernels per step of the hot loop of `jax.jit(fn)(*args)`, from the compiled HLO.

    A kernel is a top-level op of a while-loop body (fusions, copies, scatters, ...; not
    parameters, tuples, get-tuple-element, constants, bitcasts or nested loops): one kernel
    launch on a GPU, one pass over its buffers on a CPU. A `conditional` counts as one plus
    the kernels of its largest branch (the work it may run). The step loop is the loop body run
    most often (trip counts multiplied through the nesting).

    **Returns:** the step loop's kernels by op name, `"total"` (their number) and
    `"per_step"`: the kernels of every loop body weighted by how often it runs, per run of
    the step loop (so work done once per block of steps counts as a fraction).

    **Raises:** `ValueError` if the compiled function has no while loop.
    """
    text = jax.jit(fn).lower(*args).compile().as_text()
    return kernels_in_hlo(text)


def kernels_in_hlo(text: str) -> dict[str, float]:
    """`loop_kernels` on compiled HLO text (`compiled.as_text()`)."""
    import re

    computations, entry = {}, None
    for match in re.finditer(r"^(ENTRY )?%?([\w.\-]+) [^\n]*\{\n(.*?)\n\}", text, re.S | re.M):
        computations[match.group(2)] = match.group(3)
        entry = match.group(2) if match.group(1) else entry
    op = re.compile(r"=\s+(?:\(.*?\)|\S+)\s+([\w\-]+)\((.*)")
    runs: dict[str, float] = {}

    def visit(name: str, times: float) -> None:
        for line in computations.get(name, "").splitlines():
            found = op.search(line)
            if found and found.group(1) == "while":
                body = re.search(r"body=%?([\w.\-]+)", found.group(2)).group(1)
                trips = re.search(r'known_trip_count"?:\{"n":"(\d+)"', found.group(2))
                runs[body] = runs.get(body, 0.0) + times * (int(trips.group(1)) if trips else 1)
                visit(body, runs[body])

    visit(entry, 1.0)
    if not runs:
        raise ValueError("text: the compiled HLO has no while loop")
    def ops_of(name: str) -> list[str]:
        found = []
        for line in computations.get(name, "").splitlines():
            m = op.search(line)
            if not m or m.group(1) in _NOT_KERNELS or m.group(1) == "while":
                continue
            found.append(m.group(1))
            if m.group(1) == "conditional":  # plus the kernels of its largest branch
                branches = re.search(r"branch_computations=\{([^}]*)\}", m.group(2))
                names = (branches.group(1).split(",") if branches else
                         re.findall(r"(?:true|false)_computation=(%?[\w.\-]+)", m.group(2)))
                found += max((ops_of(b.strip().lstrip("%")) for b in names), key=len,
                             default=[])
        return found

    kernels = {body: ops_of(body) for body in runs}
    hot = max(runs, key=lambda b: (runs[b], len(kernels[b])))
    result: dict[str, float] = {o: kernels[hot].count(o) for o in sorted(set(kernels[hot]))}
    result["total"] = len(kernels[hot])
    result["per_step"] = sum(len(kernels[b]) * runs[b] for b in runs) / runs[hot]
    return result


def ns_per_neuron_step(seconds: float, n_neurons: int, n_steps: int) -> float:
    """Wall time per neuron and step (ns): `seconds / (n_neurons * n_steps)`."""
    return 1e9 * seconds / (n_neurons * n_steps)
