"""COBA network (Brette et al. 2007, Benchmark 1): jaxneuron vs Brian2, same network, same
machine, one run.

N conductance-LIF cells (80 % excitatory), p = 80 / N (0.02 at N = 4,000), dt = 0.1 ms,
1 s, self-sustained (no external drive), initial V ~ N(-65, 5) mV, g_e ~ N(4, 1.5),
g_i ~ N(20, 12) leak conductances, as in the benchmark's reference code. Reported: wall
time per simulated second (compile/code generation apart), mean rates of both populations,
and the per-neuron rate distributions compared (two-sample KS statistic). Next to each: ns
per neuron-step and kernels per step of the compiled loop, and the same for a minimal
hand-written COBA loop with gather/scatter propagation (`_floor.py`), measured in the same
run. Also: 16 COBA networks (different initial states and weight scales) in one vmapped
call vs one network (wall and CPU seconds, kernels per step of the batched loop), and a
scale curve from 4,000 to 256,000 cells at 80 inputs per cell.

Brian2 2.9 needs numpy < 2.3: run this script in the bench environment (`make bench`
creates `.venv-bench` with `pip install -e '.[dev,bench]'`); without Brian2 only the
jaxneuron rows are printed.

    python benchmarks/coba_brian2.py [--sizes 4000 16000 64000 256000] [--indegree 80]
                                     [--t1 MS] [--quick] [--pin CORE] [--json PATH]

`peak RSS GiB` is the process's peak resident memory right after the jaxneuron run of each
size (before that size's Brian2 and floor runs; sizes run in increasing order).
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np
from _floor import coba_floor

from jaxneuron.apps.benchmarking import format_table, loop_kernels, ns_per_neuron_step, write_json
from jaxneuron.apps.networks.coba import coba_network
from jaxneuron.network import simulate_network

DT, T1 = 0.1, 1000.0


def jaxneuron_run(n: int, seed: int = 0, t1: float = T1, p: float = 0.02) -> dict:
    """Compile, then time one run of `t1` ms; rates and per-neuron rates."""
    network = coba_network(n, seed, p=p)
    run = jax.jit(lambda net: simulate_network(net, t1=t1, dt=DT, throw=False))
    start = time.perf_counter()
    jax.block_until_ready(run(network))
    first = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    result = jax.block_until_ready(run(network))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    per_neuron = np.concatenate([np.asarray(result.n_spikes[p]) for p in (0, 1)]) / (t1 / 1e3)
    kernels = loop_kernels(lambda net: simulate_network(net, t1=t1, dt=DT, throw=False),
                           network)["per_step"]
    return {"seconds": seconds, "cpu_s": cpu, "compile_s": first - seconds, "kernels": kernels,
            "rate_exc_hz": float(result.rates(0)), "rate_inh_hz": float(result.rates(1)),
            "per_neuron_hz": per_neuron, "overflow": bool(np.any(result.overflow))}


def jaxneuron_batch(n: int, batch: int = 16, t1: float = T1, p: float = 0.02) -> dict:
    """`batch` COBA networks (same synapses; different initial states and a weight scale
    0.9-1.1 on every projection) in ONE vmapped call, vs one network."""
    nets = [coba_network(n, seed=0, p=p) for _ in range(batch)]
    rng = np.random.default_rng(1)
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *nets)
    y0 = [jnp.stack([coba_network(n, seed=s, p=p).populations[q].y0 for s in range(batch)])
          for q in (0, 1)]
    gains = jnp.asarray(rng.uniform(0.9, 1.1, batch))
    stacked = eqx_replace(stacked, y0, gains)
    batched = jax.vmap(lambda net: simulate_network(net, t1=t1, dt=DT, throw=False))
    run = jax.jit(batched)
    jax.block_until_ready(run(stacked))
    start, cpu = time.perf_counter(), time.process_time()
    result = jax.block_until_ready(run(stacked))
    return {"seconds": time.perf_counter() - start, "cpu_s": time.process_time() - cpu,
            "kernels": loop_kernels(batched, stacked)["per_step"],
            "rates_exc_hz": np.asarray(result.rates(0)).tolist()}


def eqx_replace(stacked, y0, gains):
    import equinox as eqx

    stacked = eqx.tree_at(lambda m: (m.populations[0].y0, m.populations[1].y0), stacked,
                          tuple(y0))
    return eqx.tree_at(lambda m: [p.gain for p in m.projections], stacked,
                       [gains] * len(stacked.projections))


def brian2_run(n: int, seed: int = 0, t1: float = T1, target: str = "cython",
               p: float = 0.02) -> dict | None:
    """The same network in Brian2 (runtime `target` codegen), timed after a short warm-up
    run that does the code generation and compilation."""
    try:
        import brian2 as b2
    except ImportError:
        return None
    b2.start_scope()
    b2.prefs.codegen.target = target
    b2.defaultclock.dt = DT * b2.ms
    b2.seed(seed)
    eqs = """
    dv/dt = (ge * (Ee - v) + gi * (Ei - v) + (El - v)) / taum : volt (unless refractory)
    dge/dt = -ge / taue : 1
    dgi/dt = -gi / taui : 1
    """
    namespace = {"Ee": 0 * b2.mV, "Ei": -80 * b2.mV, "El": -60 * b2.mV, "taum": 20 * b2.ms,
                 "taue": 5 * b2.ms, "taui": 10 * b2.ms}
    cells = b2.NeuronGroup(n, eqs, threshold="v > -50*mV", reset="v = -60*mV",
                           refractory=5 * b2.ms, method="euler", namespace=namespace)
    n_exc = int(round(0.8 * n))
    exc, inh = cells[:n_exc], cells[n_exc:]
    ce = b2.Synapses(exc, cells, on_pre="ge += 0.6")
    ci = b2.Synapses(inh, cells, on_pre="gi += 6.7")
    ce.connect(p=p)
    ci.connect(p=p)
    cells.v = "(randn() * 5 - 65) * mV"
    cells.ge = "randn() * 1.5 + 4"
    cells.gi = "randn() * 12 + 20"
    spikes = b2.SpikeMonitor(cells)
    net = b2.Network(cells, ce, ci, spikes)
    start = time.perf_counter()
    net.run(1 * b2.ms)
    warm = time.perf_counter() - start
    count0 = np.asarray(spikes.count).copy()
    start = time.perf_counter()
    net.run(t1 * b2.ms)
    seconds = time.perf_counter() - start
    per_neuron = (np.asarray(spikes.count) - count0) / (t1 / 1e3)
    return {"seconds": seconds, "compile_s": warm, "rate_exc_hz": float(per_neuron[:n_exc].mean()),
            "rate_inh_hz": float(per_neuron[n_exc:].mean()), "per_neuron_hz": per_neuron,
            "version": b2.__version__, "target": target}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4000, 16000, 64000, 256000],
                        help="network sizes N, run in this order (increasing, so that the peak "
                             "RSS column is that of the size just run)")
    parser.add_argument("--t1", type=float, default=T1, help="simulated time, ms (default 1000)")
    parser.add_argument("--quick", action="store_true", help="N = 4000, 200 ms, no batch")
    parser.add_argument("--json", help="write results as JSON to this path")
    parser.add_argument("--pin", type=int, default=None, metavar="CORE",
                        help="run everything (jaxneuron, the floor, Brian2) on this one CPU "
                             "core, as `taskset -c CORE` does: XLA's CPU thread pool then has "
                             "one thread (Brian2 runs on one anyway)")
    parser.add_argument("--indegree", type=int, default=80,
                        help="connect with p = INDEGREE / N (default 80: p = 0.02 at N = "
                             "4,000, the benchmark's, and the same ~80 inputs per cell at "
                             "every size, so the work grows with N, not N^2)")
    args = parser.parse_args()
    if args.pin is not None:  # before the first JAX computation creates the thread pool
        os.sched_setaffinity(0, {args.pin})
    from scipy.stats import ks_2samp

    sizes = [4000] if args.quick else args.sizes
    t1 = 200.0 if args.quick else args.t1
    rows = []
    for n in sizes:
        print(f"N = {n:,} ...", flush=True)
        p = args.indegree / n
        ours = jaxneuron_run(n, t1=t1, p=p)
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
        theirs = brian2_run(n, t1=t1, p=p)
        floor = coba_floor(n, p, DT, t1)
        steps = int(round(t1 / DT))
        row = {"case": f"COBA {t1:g} ms, dt {DT}, p {p:.4g}", "n": n,
               "jaxneuron_s": ours["seconds"] * 1000.0 / t1, "cpu_s": ours["cpu_s"],
               "compile_s": ours["compile_s"],
               "ns_per_neuron_step": ns_per_neuron_step(ours["seconds"], n, steps),
               "kernels_per_step": ours["kernels"], "floor_s": floor["run_s"] * 1000.0 / t1,
               "floor_ns_per_neuron_step": ns_per_neuron_step(floor["run_s"], n, steps),
               "floor_kernels_per_step": floor["kernels"], "floor_rate_hz": floor["rate_hz"],
               "rate_exc_hz": ours["rate_exc_hz"], "rate_inh_hz": ours["rate_inh_hz"],
               "overflow": ours["overflow"], "floor_overflow": floor["overflow"],
               "peak_rss_gib": peak_rss}
        if theirs is not None:
            row.update({
                "baseline": f"Brian2 {theirs['version']} {theirs['target']}",
                "baseline_s": theirs["seconds"] * 1000.0 / t1,
                "baseline_compile_s": theirs["compile_s"],
                "baseline_rate_exc_hz": theirs["rate_exc_hz"],
                "baseline_rate_inh_hz": theirs["rate_inh_hz"],
                "rate_ks_statistic": float(ks_2samp(ours["per_neuron_hz"],
                                                    theirs["per_neuron_hz"]).statistic)})
            row["speedup"] = row["baseline_s"] / row["jaxneuron_s"]
        rows.append(row)
    if not args.quick and sizes[0] <= 16000:  # 16 networks of the smallest size, vs one
        batch = jaxneuron_batch(sizes[0], t1=t1, p=args.indegree / sizes[0])
        one = rows[0]["jaxneuron_s"] * t1 / 1000.0
        rows.append({"case": f"16 x COBA in one vmapped call ({t1:g} ms)", "n": sizes[0],
                     "jaxneuron_s": batch["seconds"] * 1000.0 / t1,
                     "kernels_per_step": batch["kernels"],
                     "batch_over_single": batch["seconds"] / one,
                     "batch_over_single_cpu": batch["cpu_s"] / rows[0]["cpu_s"],
                     "rate_exc_hz": float(np.mean(batch["rates_exc_hz"]))})
    columns = [("case", "case", "s"), ("n", "N", ",d"),
               ("jaxneuron_s", "jaxneuron s per sim. s", ".2f"), ("compile_s", "compile s", ".1f"),
               ("ns_per_neuron_step", "ns/neuron-step", ".2f"),
               ("kernels_per_step", "kernels/step", ".3g"),
               ("floor_ns_per_neuron_step", "floor ns/neuron-step", ".2f"),
               ("floor_kernels_per_step", "floor kernels", ".3g"),
               ("baseline", "baseline", "s"), ("baseline_s", "baseline s per sim. s", ".2f"),
               ("speedup", "speedup", ".2f"), ("rate_exc_hz", "exc Hz", ".1f"),
               ("rate_inh_hz", "inh Hz", ".1f"), ("baseline_rate_exc_hz", "baseline exc Hz", ".1f"),
               ("baseline_rate_inh_hz", "baseline inh Hz", ".1f"),
               ("rate_ks_statistic", "KS rates", ".3f"),
               ("peak_rss_gib", "peak RSS GiB", ".2f"),
               ("batch_over_single", "batch / single", ".2f"),
               ("batch_over_single_cpu", "batch / single CPU s", ".2f")]
    if args.pin is not None:
        for row in rows:
            row["pinned_core"] = args.pin
    print(format_table(rows, columns))
    if args.json:
        write_json(args.json, "coba_brian2", rows, columns)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
