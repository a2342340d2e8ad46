"""Izhikevich parameter sweep: jaxneuron clock and exact modes vs Brian2 and SciPy, same work.

N Izhikevich neurons with the heterogeneous (a, b, c, d) of Izhikevich's 2003 network (80 %
excitatory: a = 0.02, b = 0.2, c = -65 + 15 r², d = 8 - 6 r²; 20 % inhibitory: a = 0.02 +
0.08 r, b = 0.25 - 0.05 r, c = -65, d = 2; r ~ U[0, 1]) and a constant current I ~ U[0, 15],
1 s each. Brian2 runs them as one NeuronGroup with per-neuron parameters (cython target,
Euler, threshold v >= 30 at step ends), which is how Brian2 users run such sweeps. SciPy is
the event-restart `solve_ivp` baseline, timed on the checked subset and extrapolated.

Accuracy: spike times of the checked subset against SciPy DOP853 at rtol = atol = 1e-12.
Sets whose reference moves by more than 1e-6 ms when the tolerance is loosened to 1e-11
(chaotic or near-bifurcation bursting) are ill-conditioned: no method can be checked on them
and they are left out of the error columns (their number is reported). Spike-count
mismatches on the well-conditioned sets are counted, not folded into the error.

Every clock row also reports ns per neuron-step and the kernels per step of its compiled
loop body, next to the floor doing the same work (`_floor.py`, measured in the same run: a
minimal hand-written loop of the same Izhikevich updates that counts spikes, for the rows
that keep the count or the statistics, or that keeps every spike time in block-wise
lists as the engine does, for the rows that keep every spike time); a third floor emits
the spike raster. `record` says what the clock rows keep: `times` (every spike time, the
default of `simulate`), `stats` (online count, first/last spike, ISI moments, the last
four spikes: the default of `sweep`) or `count` (the spike count only).

    python benchmarks/spiking_sweep.py [--n 10000] [--quick] [--clock-only] [--json PATH]
"""

from __future__ import annotations

import argparse
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)  # float64 available; each row picks its dtype

from _floor import izhikevich_floor  # noqa: E402

import jaxneuron as jn  # noqa: E402
from jaxneuron.apps.benchmarking import (  # noqa: E402
    loop_kernels,
    ns_per_neuron_step,
    report,
    time_vmapped,
)
from jaxneuron.baselines.scipy_spiking import izhikevich_spikes_scipy  # noqa: E402
from jaxneuron.engines import SpikeRecord  # noqa: E402

T1 = 1000.0  # ms
MAX_SPIKES = 512
COLUMNS = [("case", "case", "s"), ("n", "n", "d"), ("jaxneuron_s", "jaxneuron s", ".2f"),
           ("compile_s", "compile s", ".1f"), ("ns_per_neuron_step", "ns/neuron-step", ".2f"),
           ("kernels_per_step", "kernels/step", ".3g"),
           ("floor_ns_per_neuron_step", "floor ns/neuron-step", ".2f"),
           ("floor_kernels_per_step", "floor kernels", ".3g"), ("baseline", "baseline", "s"),
           ("baseline_s", "baseline s", ".2f"), ("speedup", "speedup", ".2f"),
           ("median_spike_error_ms", "median |Δt| ms", ".1e"),
           ("max_spike_error_ms", "max |Δt| ms", ".1e"),
           ("baseline_max_spike_error_ms", "baseline max |Δt| ms", ".1e"),
           ("spike_count_mismatches", "count mismatches", "d")]


def sample_sets(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Izhikevich (2003) network heterogeneity plus a current I ~ U[0, 15]."""
    rng = np.random.default_rng(seed)
    excitatory = rng.random(n) < 0.8
    r = rng.random(n)
    return {
        "a": np.where(excitatory, 0.02, 0.02 + 0.08 * r),
        "b": np.where(excitatory, 0.2, 0.25 - 0.05 * r),
        "c": np.where(excitatory, -65.0 + 15.0 * r**2, -65.0),
        "d": np.where(excitatory, 8.0 - 6.0 * r**2, 2.0),
        "I": rng.uniform(0.0, 15.0, n),
    }


RECORDS = {"times": SpikeRecord(max_spikes=MAX_SPIKES),
           "stats": SpikeRecord(times=False, stats=True),
           "count": SpikeRecord(times=False)}


def in_dtype(module, dtype):
    """`module` with every float field in `dtype` (the defaults are float64 under x64)."""
    return jax.tree.map(lambda x: jnp.asarray(x, dtype) if eqx.is_inexact_array(x) else x,
                        module)


def jaxneuron_batch(sets, dtype, record: str = "times", **options) -> dict:
    """`jit(vmap(simulate))` over the sets recording `RECORDS[record]`; returns spike times
    (NaN without the list), counts, compile and run s, and kernels per step."""

    def one(a, b, c, d, current):
        model = in_dtype(jn.Izhikevich(a=a, b=b, c=c, d=d), dtype)
        return jn.simulate(model, in_dtype(jn.StepCurrent(current), dtype), t1=T1,
                           save_every=0, record=RECORDS[record], throw=False, **options)

    args = [jnp.asarray(sets[k], dtype) for k in ("a", "b", "c", "d", "I")]
    trace, compile_s, run_s = time_vmapped(one, args, repeats=1)
    kernels = None
    if isinstance(options.get("engine"), jn.ClockSpiking):
        kernels = loop_kernels(jax.vmap(one), *args)["per_step"]
    times = np.asarray(trace.spike_times, np.float64)
    if times.shape[-1] == 0:
        times = np.full((times.shape[0], MAX_SPIKES), np.nan)
    return {"spike_times": times, "n_spikes": np.asarray(trace.n_spikes), "run_s": run_s,
            "compile_s": compile_s, "kernels": kernels}


def jaxneuron_balanced(sets, dtype, chunk_size, **options) -> dict:
    """`sweep` with chunks balanced by a coarse clock-mode pre-pass (timed in)."""
    base = jn.Izhikevich(*(jnp.asarray(0.0, dtype) for _ in range(4)))
    params = {k: sets[k] for k in ("a", "b", "c", "d")}
    stim = {"amplitude": sets["I"]}

    def run():
        cost = jn.estimate_spike_counts(base, params, jn.StepCurrent(0.0), t1=T1,
                                        stimulus_params=stim, max_spikes=MAX_SPIKES)
        return jn.sweep(base, params, jn.StepCurrent(0.0), stimulus_params=stim, t1=T1,
                        cost=cost, chunk_size=chunk_size, progress=False, shard=False,
                        max_spikes=MAX_SPIKES, summary=lambda tr: {
                            "spike_times": tr.spike_times, "n_spikes": tr.n_spikes},
                        **options)

    start = time.perf_counter()
    run()
    first = time.perf_counter() - start
    start = time.perf_counter()
    result = run()
    run_s = time.perf_counter() - start
    return {"spike_times": np.asarray(result.summaries["spike_times"], np.float64),
            "n_spikes": result.summaries["n_spikes"], "run_s": run_s,
            "compile_s": max(first - run_s, 0.0)}


def brian2_batch(sets, dt: float) -> dict | None:
    """The sets as one Brian2 NeuronGroup (cython, Euler) at step `dt` ms."""
    try:
        import brian2 as b2
    except ImportError:
        print("brian2 not installed (make bench installs it): skipping the Brian2 rows")
        return None
    b2.prefs.codegen.target = "cython"
    b2.defaultclock.dt = dt * b2.ms
    equations = """dv/dt = (0.04*v**2 + 5*v + 140 - u + I) / ms : 1
                   du/dt = a*(b*v - u) / ms : 1
                   a : 1
                   b : 1
                   c : 1
                   d : 1
                   I : 1"""

    def build(n):
        group = b2.NeuronGroup(n, equations, threshold="v >= 30", reset="v = c; u = u + d",
                               method="euler")
        for name in ("a", "b", "c", "d", "I"):
            setattr(group, name, sets[name][:n])
        group.v = -65.0
        group.u = sets["b"][:n] * -65.0
        monitor = b2.SpikeMonitor(group)
        return b2.Network(group, monitor), monitor

    n = len(sets["I"])
    start = time.perf_counter()
    network, _ = build(n)  # compiles and caches the cython code
    network.run(100 * dt * b2.ms)
    compile_s = time.perf_counter() - start
    network, monitor = build(n)
    start = time.perf_counter()
    network.run(T1 * b2.ms)
    run_s = time.perf_counter() - start
    trains = monitor.spike_trains()
    spike_times = np.full((n, MAX_SPIKES), np.nan)
    counts = np.zeros(n, int)
    for i in range(n):
        times = np.asarray(trains[i] / b2.ms)
        counts[i] = times.size
        spike_times[i, : min(times.size, MAX_SPIKES)] = times[:MAX_SPIKES]
    return {"spike_times": spike_times, "n_spikes": counts, "run_s": run_s,
            "compile_s": compile_s, "version": b2.__version__}


def scipy_batch(sets, indices, **kwargs) -> tuple[list[np.ndarray], float]:
    """SciPy event-restart runs of the chosen sets; returns spike trains and seconds."""
    start = time.perf_counter()
    trains = [izhikevich_spikes_scipy(sets["a"][i], sets["b"][i], sets["c"][i], sets["d"][i],
                                      sets["I"][i], t1=T1, **kwargs) for i in indices]
    return trains, time.perf_counter() - start


def errors(spike_times, n_spikes, reference, well_conditioned) -> dict:
    """Spike-time errors (ms) over the well-conditioned checked sets."""
    diffs, mismatches = [], 0
    for row, (ref, ok) in enumerate(zip(reference, well_conditioned, strict=True)):
        if not ok:
            continue
        if n_spikes[row] != ref.size:
            mismatches += 1
            continue
        if ref.size:
            diffs.append(np.abs(spike_times[row, : ref.size] - ref[:MAX_SPIKES]))
    diffs = np.concatenate(diffs) if diffs else np.zeros(1)
    return {"median_spike_error_ms": float(np.median(diffs)),
            "max_spike_error_ms": float(np.max(diffs)), "spike_count_mismatches": mismatches}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="parameter sets")
    parser.add_argument("--n-check", type=int, default=40, help="sets checked against SciPy")
    parser.add_argument("--quick", action="store_true", help="n=1000, 10 checked sets")
    parser.add_argument("--clock-only", action="store_true",
                        help="only the clock rows (no event-driven rows)")
    parser.add_argument("--json", help="write results as JSON to this path")
    args = parser.parse_args()
    if args.quick:
        args.n, args.n_check = 1000, 10
    sets = sample_sets(args.n)
    check = np.arange(args.n_check)
    print(f"reference: SciPy DOP853 at 1e-12 and 1e-11 on {check.size} sets")
    reference, _ = scipy_batch(sets, check, method="DOP853", rtol=1e-12, atol=1e-12)
    looser, _ = scipy_batch(sets, check, method="DOP853", rtol=1e-11, atol=1e-11)
    well = np.array([r.size == s.size and (r.size == 0 or np.max(np.abs(r - s)) < 1e-6)
                     for r, s in zip(reference, looser, strict=True)])
    print(f"{int((~well).sum())} of {check.size} checked sets are ill-conditioned")
    scipy_trains, scipy_s = scipy_batch(sets, check, method="RK45", rtol=1e-6, atol=1e-6)
    scipy_counts = np.array([t.size for t in scipy_trains])
    scipy_times = np.full((check.size, MAX_SPIKES), np.nan)
    for i, t in enumerate(scipy_trains):
        scipy_times[i, : min(t.size, MAX_SPIKES)] = t[:MAX_SPIKES]
    scipy_err = errors(scipy_times, scipy_counts, reference, well)

    brian = {dt: brian2_batch(sets, dt) for dt in (0.1, 0.01)}
    floors = {dt: izhikevich_floor(sets, jnp.float32, dt, T1) for dt in (0.1, 0.01)}
    time_floors = {dt: izhikevich_floor(sets, jnp.float32, dt, T1, times=MAX_SPIKES)
                   for dt in (0.1, 0.01)}
    raster = izhikevich_floor(sets, jnp.float32, 0.1, T1, raster=True)
    configs = [
        ("clock euler dt=0.1 float32, record count", args.n, "float32", 0.1,
         dict(engine=jn.ClockSpiking("euler"), dt=0.1, record="count")),
        ("clock euler dt=0.1 float32, record stats", args.n, "float32", 0.1,
         dict(engine=jn.ClockSpiking("euler"), dt=0.1, record="stats")),
        ("clock euler dt=0.01 float32, record stats", args.n, "float32", 0.01,
         dict(engine=jn.ClockSpiking("euler"), dt=0.01, record="stats")),
        ("clock euler dt=0.1 float32", args.n, "float32", 0.1,
         dict(engine=jn.ClockSpiking("euler"), dt=0.1)),
        ("clock heun dt=0.1 float32", args.n, "float32", 0.1,
         dict(engine=jn.ClockSpiking("heun"), dt=0.1)),
        ("clock euler dt=0.01 float32", args.n, "float32", 0.01,
         dict(engine=jn.ClockSpiking("euler"), dt=0.01)),
        ("clock heun dt=0.01 float32", args.n, "float32", 0.01,
         dict(engine=jn.ClockSpiking("heun"), dt=0.01)),
        ("exact tsit5 1e-6 float32", args.n, "float32", 0.01,
         dict(engine=jn.ExactSpiking("tsit5", rtol=1e-6, atol=1e-6), dt=0.01)),
        ("exact tsit5 1e-6 float32, balanced", args.n, "float32", 0.01,
         dict(engine=jn.ExactSpiking("tsit5", rtol=1e-6, atol=1e-6), dt=0.01,
              balanced=True)),
        ("exact tsit5 1e-10 float64, balanced", args.n, "float64", 0.01,
         dict(engine=jn.ExactSpiking("tsit5", rtol=1e-10, atol=1e-10), dt=0.01,
              balanced=True)),
    ]
    if args.clock_only:
        configs = [c for c in configs if c[0].startswith("clock")]
    rows = []
    floor_rows = [(f"dt={dt} float32, count only", dt, floor) for dt, floor in floors.items()]
    floor_rows += [(f"dt={dt} float32, every spike time", dt, floor)
                   for dt, floor in time_floors.items()]
    floor_rows.append(("dt=0.1 float32, + spike raster", 0.1, raster))
    for label, dt, floor in floor_rows:
        rows.append({"case": f"floor: hand-written euler loop {label}", "n": args.n,
                     "jaxneuron_s": floor["run_s"], "baseline": "none (floor)",
                     "kernels_per_step": floor["kernels"],
                     "ns_per_neuron_step": ns_per_neuron_step(floor["run_s"], args.n,
                                                              int(round(T1 / dt)))})
    for case, n, dtype, brian_dt, options in configs:
        subset = {k: v[:n] for k, v in sets.items()}
        print(f"jaxneuron {case}, {n} sets ...", flush=True)
        if options.pop("balanced", False):
            out = jaxneuron_balanced(subset, dtype, max(n // 10, 100), **options)
        else:
            out = jaxneuron_batch(subset, dtype, **options)
        err = errors(out["spike_times"][check], out["n_spikes"][check], reference, well)
        if options.get("record") in ("stats", "count"):  # no list: the count only
            err = {"spike_count_mismatches": sum(
                int(c != r.size) for c, r, ok in zip(out["n_spikes"][check], reference, well,
                                                     strict=True) if ok)}
        steps = int(round(T1 / options["dt"]))
        cost = {"ns_per_neuron_step": ns_per_neuron_step(out["run_s"], n, steps)}
        if out.get("kernels") is not None:
            keeps_times = options.get("record", "times") == "times"
            floor = (time_floors if keeps_times else floors)[options["dt"]]
            cost.update(kernels_per_step=out["kernels"], floor_kernels_per_step=floor["kernels"],
                        floor_s=floor["run_s"], floor_ns_per_neuron_step=ns_per_neuron_step(
                            floor["run_s"], n, steps))
        baselines = []
        if brian[brian_dt] is not None:
            b = brian[brian_dt]
            b_err = errors(b["spike_times"][check], b["n_spikes"][check], reference, well)
            baselines.append((f"Brian2 {b['version']} cython euler dt={brian_dt}",
                              b["run_s"], b_err, b["compile_s"]))
        baselines.append(("SciPy RK45 1e-6 (event restart)", scipy_s * n / check.size,
                          scipy_err, 0.0))
        for name, base_s, base_err, base_compile in baselines:
            rows.append({
                "case": case, "n": n, "jaxneuron_s": out["run_s"],
                "compile_s": out["compile_s"], "baseline": name, "baseline_s": base_s,
                "baseline_compile_s": base_compile, "speedup": base_s / out["run_s"],
                **cost, "baseline_max_spike_error_ms": base_err["max_spike_error_ms"],
                "baseline_median_spike_error_ms": base_err["median_spike_error_ms"],
                "baseline_spike_count_mismatches": base_err["spike_count_mismatches"],
                "ill_conditioned_checked_sets": int((~well).sum()),
                "checked_sets": int(check.size),
                "mean_spikes_per_set": float(np.mean(out["n_spikes"])), **err})
    report(rows, COLUMNS, "spiking_sweep", args.json)


if __name__ == "__main__":
    main()
