"""Every GPU-relevant benchmark at GPU sizes, as one command (`make bench-gpu`): one JSON per
script in `--out`, a time budget per script so the whole run fits in 8 minutes, and a
summary of what ran. `--quick` runs each script's own `--quick` size instead (a CPU smoke
check that the command, the scripts and their JSON work).

Each script runs in its own process (fresh device memory, its own peak), with the JAX
default device (the GPU where there is one). A script that runs past its budget is stopped
and reported; the others still run. SciPy and Brian2 baselines run on the host CPU as in
the CPU tables; Brian2 rows appear only where Brian2 is installed (`.venv-bench`).

    python benchmarks/gpu.py [--out results/gpu] [--quick] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name: (script, arguments, GPU-size arguments, budget in s). The budgets add up to 450 s.
RUNS = {
    "spiking_sweep": ("spiking_sweep.py", ["--clock-only"], ["--n", "100000", "--n-check", "10"],
                      120),
    "hh_sweep": ("hh_sweep.py", ["--no-jaxley"], ["--n", "100000"], 90),
    "hh_gradient": ("hh_gradient.py", [], ["--batch", "4096"], 60),
    "coba_brian2": ("coba_brian2.py", [], ["--sizes", "4000", "64000"], 120),
    "sweep_scale": ("sweep_scale.py", [], ["--sizes", "100000"], 60),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/gpu", help="folder for the JSON files")
    parser.add_argument("--quick", action="store_true",
                        help="each script's --quick size (CPU smoke check)")
    parser.add_argument("--only", nargs="+", choices=sorted(RUNS), help="run only these")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = []
    for name in args.only or RUNS:
        script, options, sizes, budget = RUNS[name]
        path = out / f"bench_{name}.json"
        command = [sys.executable, str(HERE / script), "--json", str(path), *options,
                   *(["--quick"] if args.quick else sizes)]
        print(f"== {name}: {' '.join(command[1:])}", flush=True)
        start = time.perf_counter()
        try:
            code = subprocess.run(command, timeout=budget * (3 if args.quick else 1),
                                  env={**os.environ, "PYTHONPATH": str(HERE.parent)}).returncode
            status = "ok" if code == 0 and path.exists() else f"failed (exit {code})"
        except subprocess.TimeoutExpired:
            status = f"stopped after its budget of {budget} s"
        summary.append({"benchmark": name, "status": status, "json": str(path),
                        "seconds": round(time.perf_counter() - start, 1)})
        print(f"== {name}: {status} in {summary[-1]['seconds']} s", flush=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"wrote {out}/bench_*.json and {out}/summary.json")
    if any(s["status"] != "ok" for s in summary):
        sys.exit(1)


if __name__ == "__main__":
    main()
