"""`jaxneuron simulate`: one Hodgkin–Huxley run under a step current -> CSV, PNG, JSON."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..models import HodgkinHuxley
from ..plotting import plt
from ..simulate import simulate
from ..stimuli import StepCurrent
from ._output import output_dir, write_summary


def run(out: str | Path = "results/simulate", *, g_Na: float = 120.0, g_K: float = 36.0,
        amplitude: float = 10.0, t1: float = 100.0, dt: float = 0.025, log=print) -> dict:
    """Simulate HH (g_Na, g_K in mS/cm²) under `amplitude` µA/cm² for `t1` ms at step `dt` ms."""
    out = output_dir(out)
    trace = simulate(HodgkinHuxley(g_Na=g_Na, g_K=g_K), StepCurrent(amplitude), t1=t1, dt=dt,
                     save_every=dt)
    data = np.column_stack([np.asarray(trace.ts), np.asarray(trace.states)])
    np.savetxt(out / "trace.csv", data, delimiter=",", header="t," + ",".join(trace.state_names),
               comments="")
    n = int(trace.n_spikes)
    summary = {"n_spikes": n, "spike_times_ms": np.asarray(trace.spike_times[:n])}
    write_summary(out, summary)
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot(trace.ts, trace.v)
    ax.set(xlabel="time (ms)", ylabel="V (mV)", title="Hodgkin–Huxley")
    fig.tight_layout()
    fig.savefig(out / "trace.png", dpi=120)
    plt.close(fig)
    log(f"{n} spikes; wrote trace.csv, trace.png, summary.json to {out.resolve()}")
    return summary


def register(commands) -> None:
    """Add `jaxneuron simulate` to the CLI's sub-commands."""
    parser = commands.add_parser("simulate", help="one Hodgkin–Huxley run under a step current")
    parser.add_argument("--g-na", type=float, default=120.0, help="mS/cm²")
    parser.add_argument("--g-k", type=float, default=36.0, help="mS/cm²")
    parser.add_argument("--amplitude", type=float, default=10.0, help="µA/cm²")
    parser.add_argument("--t1", type=float, default=100.0, help="ms")
    parser.add_argument("--dt", type=float, default=0.025, help="ms")
    parser.add_argument("--out", default="results/simulate")
    parser.set_defaults(func=lambda a: run(a.out, g_Na=a.g_na, g_K=a.g_k, amplitude=a.amplitude,
                                           t1=a.t1, dt=a.dt))
