"""Streamed sweeps at scale: sets per second and peak memory as the number of HH parameter
sets grows (store on disk, chunk by chunk), float32 and float64, against SciPy per set.

Each size runs in a fresh subprocess (`jaxneuron sweep` into a new Zarr store), whose peak
resident memory is read from the OS. Accuracy: float32 against float64 on the same sets
(spike-count agreement, first-spike-time difference). SciPy `solve_ivp` (RK45, rtol=atol
1e-6) is timed on 20 sets and extrapolated.

    python benchmarks/sweep_scale.py [--sizes 10000 1000000] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

T1 = 20.0  # ms per simulation (short: the benchmark is about scale, not per-set cost)
CHUNK = 10_000


def run_size(n: int, precision: str, folder: Path) -> dict:
    """Sweep `n` sets in a subprocess; its wall time, peak RSS and the store path."""
    store = folder / f"{precision}_{n}.zarr"
    out = folder / f"{precision}_{n}"
    argv = ["sweep", "--param", "g_Na=60:180", "--param", "g_K=18:54", "--sampler", "uniform",
            "--n", str(n), "--chunk", str(min(CHUNK, n)), "--t1", str(T1), "--precision",
            precision, "--store", str(store), "--out", str(out)]
    # the child reports its own peak resident memory (ru_maxrss, kB on Linux)
    code = ("import resource, sys; from jaxneuron.apps.cli import main; "
            f"rc = main({argv!r}); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                          text=True)
    wall = time.perf_counter() - start
    peak_kb = int(done.stdout.strip().splitlines()[-1])
    summary = json.loads((out / "summary.json").read_text())
    return {"n": n, "precision": precision, "wall_s": wall,
            "sweep_s": summary["seconds_this_call"], "peak_rss_mb": peak_kb / 1024,
            "store": str(store)}


def scipy_seconds_per_set(n: int = 20) -> float:
    from jaxneuron.baselines import simulate_hh_scipy, step_current

    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(n):
        simulate_hh_scipy(step_current(10.0), t1=T1, params={
            "g_Na": rng.uniform(60, 180), "g_K": rng.uniform(18, 54)}, method="RK45",
            rtol=1e-6, atol=1e-6)
    return (time.perf_counter() - start) / n


def accuracy(store32: str, store64: str) -> dict:
    from jaxneuron.store import open_sweep

    a, b = open_sweep(store32), open_sweep(store64)
    same = a["n_spikes"].values == b["n_spikes"].values
    both = same & np.isfinite(b["first_spike_ms"].values)
    diff = np.abs(a["first_spike_ms"].values[both] - b["first_spike_ms"].values[both])
    return {"spike_count_agreement": float(same.mean()),
            "max_first_spike_diff_ms": float(diff.max()) if diff.size else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--quick", action="store_true", help="sizes 2,000 and 20,000")
    parser.add_argument("--json", help="write results as JSON to this path")
    args = parser.parse_args()
    sizes = [2_000, 20_000] if args.quick else args.sizes
    from jaxneuron.apps.benchmarking import format_table, write_json

    scipy_s = scipy_seconds_per_set()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        stores = {}
        for precision in ("float32", "float64"):
            for n in sizes:
                print(f"{precision}, {n:,} sets ...", flush=True)
                r = run_size(n, precision, folder)
                stores[precision, n] = r["store"]
                rows.append({
                    "case": f"HH {T1:g} ms, {precision}, store", "n": n,
                    "jaxneuron_s": r["sweep_s"], "sets_per_s": n / r["sweep_s"],
                    "peak_rss_mb": r["peak_rss_mb"], "baseline": "SciPy RK45 1e-6 (20 sets)",
                    "baseline_s": scipy_s * n, "speedup": scipy_s * n / r["sweep_s"]})
        acc = accuracy(stores["float32", sizes[0]], stores["float64", sizes[0]])
    for row in rows:
        row.update(acc if "float32" in row["case"] else {"spike_count_agreement": 1.0,
                                                          "max_first_spike_diff_ms": 0.0})
    growth = {p: rows[[r["case"] for r in rows].index(f"HH {T1:g} ms, {p}, store")
                      + len(sizes) - 1]["peak_rss_mb"]
              / rows[[r["case"] for r in rows].index(f"HH {T1:g} ms, {p}, store")]["peak_rss_mb"]
              for p in ("float32", "float64")}
    columns = [("case", "case", "s"), ("n", "n", ",d"), ("jaxneuron_s", "s", ".1f"),
               ("sets_per_s", "sets/s", ",.0f"), ("peak_rss_mb", "peak RSS MB", ".0f"),
               ("speedup", "vs SciPy", ",.0f"),
               ("spike_count_agreement", "f32 count agreement", ".4f"),
               ("max_first_spike_diff_ms", "f32 max Δt first spike ms", ".2e")]
    print(format_table(rows, columns))
    print("peak RSS, largest / smallest size: " + ", ".join(f"{p} {g:.2f}x"
                                                            for p, g in growth.items()))
    if args.json:
        write_json(args.json, "sweep_scale", rows, columns)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
