"""HH parameter sweep: jaxneuron vs SciPy solve_ivp (and Jaxley, if installed), same work.

N sets of (g_Na, g_K, step amplitude), 100 ms each. Accuracy is the max spike-time error
against SciPy DOP853 at rtol=atol=1e-10 on a checked subset. SciPy is timed on that subset
and extrapolated per simulation. Compile time is reported apart. Two rows record a trace
at every step, all states (`save_states=None`) and V only (`save_states=()`, what a Jaxley
user records): the Jaxley row compares with the V-only one. Two last rows time the floor, a
minimal hand-written loop of the same update (`_floor.hh_floor`), in the same process:
counting spikes only, and recording V at every step (the work Jaxley does); every row shows
the floor of its work and kernels per step beside its own, Jaxley's counted the same way.

    python benchmarks/hh_sweep.py [--n 10000] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import os

# Expose every CPU core as a JAX device so sharded rows can use them (must precede jax).
os.environ.setdefault("XLA_FLAGS", f"--xla_force_host_platform_device_count={os.cpu_count()}")

from _floor import hh_floor  # noqa: E402

from jaxneuron.apps.benchmarking import (  # noqa: E402
    SWEEP_COLUMNS,
    T1,
    hh_sweep_rows,
    ns_per_neuron_step,
    reference_spikes,
    report,
    sample_hh_sets,
    spike_error,
)

# The sweep's columns with each row's floor and, for Jaxley, its kernels per step beside ours.
COLUMNS = [*SWEEP_COLUMNS[:6], ("floor_ns_per_neuron_step", "floor ns/neuron-step", ".2f"),
           ("floor_kernels_per_step", "floor kernels/step", ".3g"), *SWEEP_COLUMNS[6:8],
           ("baseline_kernels_per_step", "baseline kernels/step", ".3g"), *SWEEP_COLUMNS[8:]]


def jaxley_row(n: int, n_reference: int, jaxneuron_row: dict) -> dict | None:
    """Jaxley (Crank–Nicolson, dt=0.025, float32) on the same sets and as many devices as
    the jaxneuron row, as a baseline row."""
    try:
        from _jaxley_hh import jaxley_hh_batch
    except ImportError:
        print("jaxley not installed (pip install -e '.[bench]'): skipping the Jaxley row")
        return None
    sets = sample_hh_sets(n)
    shard = "1 device" not in jaxneuron_row["case"]
    out = jaxley_hh_batch(sets["g_Na"], sets["g_K"], sets["amplitude"], dt=0.025,
                          dtype="float32", max_spikes=32, shard=shard)
    check = range(min(n_reference, n))
    err, bad = spike_error(out["spike_times"][: len(check)], out["n_spikes"][: len(check)],
                           reference_spikes(sets, check))
    row = dict(jaxneuron_row)
    row.update({
        "case": f"{jaxneuron_row['case']} vs Jaxley",
        "baseline": f"jaxley {out['version']} {out['solver']} dt=0.025 float32 "
                    f"({out['devices']} device{'s' if out['devices'] > 1 else ''})",
        "baseline_s": out["run_s"] * jaxneuron_row["n"] / n,
        "baseline_ms_per_set": 1e3 * out["run_s"] / n,
        "baseline_compile_s": out["compile_s"], "baseline_kernels_per_step": out["kernels"],
        "baseline_max_spike_error_ms": err, "baseline_spike_count_mismatches": bad,
    })
    row["speedup"] = row["baseline_s"] / row["jaxneuron_s"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="parameter sets")
    parser.add_argument("--quick", action="store_true", help="n=1000, 5 checked sets")
    parser.add_argument("--json", help="write results as JSON to this path")
    parser.add_argument("--no-jaxley", action="store_true")
    args = parser.parse_args()
    n, n_ref = (1000, 5) if args.quick else (args.n, 20)
    f32 = dict(solver="staggered", dt=0.025, dtype="float32")
    configs = [dict(f32, shard=False), dict(f32, shard=True),
               dict(solver="staggered", dt=0.025, dtype="float64", shard=False),
               dict(f32, shard=False, saves="all"), dict(f32, shard=False, saves="v")]
    rows = hh_sweep_rows(n, n_reference=n_ref, configs=configs)
    floors = {}
    for record_v, what in ((False, "count only"), (True, "V at every step")):
        floor = hh_floor(sample_hh_sets(n), 0.025, T1, record_v=record_v)  # same sets
        floors[record_v] = {
            "case": f"floor: hand-written staggered loop dt=0.025 float32, {what}",
            "n": n, "jaxneuron_s": floor["run_s"], "jaxneuron_ms_per_set": 1e3 * floor["run_s"] / n,
            "ns_per_neuron_step": ns_per_neuron_step(floor["run_s"], n, int(round(T1 / 0.025))),
            "kernels_per_step": floor["kernels"], "baseline": "none (floor)",
            "n_spikes_total": int(floor["n_spikes"].sum())}
    for row in rows:  # each row next to the floor doing its work: V at every step or not
        floor = floors["every step" in row["case"]]
        row["floor_ns_per_neuron_step"] = floor["ns_per_neuron_step"]
        row["floor_kernels_per_step"] = floor["kernels_per_step"]
    rows += list(floors.values())
    if not args.no_jaxley:
        for base in (rows[0], rows[1], rows[4]):
            row = jaxley_row(n, n_ref, base)
            if row:
                rows.append(row)
    report(rows, COLUMNS, "hh_sweep", args.json)


if __name__ == "__main__":
    main()
