"""The `jaxneuron` command line: thin wrappers over the library that write into --out."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _demo(args) -> None:
    from .demo import run_demo

    run_demo(args.out, quick=args.quick)


def _simulate(args) -> None:
    import numpy as np

    from . import HodgkinHuxley, StepCurrent, simulate
    from .plotting import plt

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    trace = simulate(HodgkinHuxley(g_Na=args.g_na, g_K=args.g_k), StepCurrent(args.amplitude),
                     t1=args.t1, dt=args.dt, save_every=args.dt)
    data = np.column_stack([np.asarray(trace.ts), np.asarray(trace.states)])
    np.savetxt(out / "trace.csv", data, delimiter=",", header="t," + ",".join(trace.state_names),
               comments="")
    n = int(trace.n_spikes)
    summary = {"n_spikes": n, "spike_times_ms": np.asarray(trace.spike_times[:n]).tolist()}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot(trace.ts, trace.v)
    ax.set(xlabel="time (ms)", ylabel="V (mV)", title="Hodgkin–Huxley")
    fig.tight_layout()
    fig.savefig(out / "trace.png", dpi=120)
    print(f"{n} spikes; wrote trace.csv, trace.png, summary.json to {out.resolve()}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="jaxneuron", description="Differentiable neuron "
                                     "simulation with JAX.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="sweep, gradient fit and SciPy benchmark tour")
    demo.add_argument("--out", default="results", help="output folder (default results/)")
    demo.add_argument("--quick", action="store_true", help="smaller sizes, under a minute")
    demo.set_defaults(func=_demo)
    sim = commands.add_parser("simulate", help="one Hodgkin–Huxley run under a step current")
    sim.add_argument("--g-na", type=float, default=120.0, help="mS/cm²")
    sim.add_argument("--g-k", type=float, default=36.0, help="mS/cm²")
    sim.add_argument("--amplitude", type=float, default=10.0, help="µA/cm²")
    sim.add_argument("--t1", type=float, default=100.0, help="ms")
    sim.add_argument("--dt", type=float, default=0.025, help="ms")
    sim.add_argument("--out", default="results/simulate")
    sim.set_defaults(func=_simulate)
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except ValueError as error:
        print(f"jaxneuron {args.command}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
