"""`jaxneuron simulate`: one run of a model (Hodgkin–Huxley by default, any built-in, your own
class or a model file) under a step current -> CSV, PNG, JSON."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from ..._checks import check_int, check_real
from ...engines.accuracy import advice
from ...models import HodgkinHuxley
from ...simulate import simulate
from ...stimuli import StepCurrent
from ...trace import STATUS_INACCURATE, STATUS_OK, STATUS_SPIKES_OVERFLOWED, status_reason
from ..arguments import finite_float, nonnegative_float, positive_float, positive_int
from ..output import output_dir, write_summary

# Spike-buffer size per second of simulated time when --max-spikes is not given: above the
# ~100-200 Hz that HH reaches under strong steps (a full buffer raises rather than truncate).
_SPIKES_PER_SECOND = 500


def default_max_spikes(t1: float) -> int:
    """The spike buffer for a run of `t1` ms: 500 spikes per second of simulated time, at
    least 64."""
    return max(64, int(np.ceil(_SPIKES_PER_SECOND * t1 / 1000.0)))


def run(out: str | Path = "results/simulate", *, g_Na: float | None = None,
        g_K: float | None = None, amplitude: float = 10.0, t1: float = 100.0,
        dt: float = 0.025, max_spikes: int | None = None, model: str = "hh",
        log=print) -> dict:
    """Simulate `model` (a `--model` spec: a built-in name, `package.module:Class` or a model
    file; default HH, whose g_Na, g_K in mS/cm² may be set) under a step of `amplitude` (in
    the model's input unit, µA/cm² for HH) for `t1` ms at step `dt` ms, recording up to
    `max_spikes` spikes (default `default_max_spikes(t1)`; more raise)."""
    from .sweep_command import model_class

    cls = model_class(model)
    conductances = {k: v for k, v in (("g_Na", g_Na), ("g_K", g_K)) if v is not None}
    if conductances and cls is not HodgkinHuxley:
        raise ValueError(f"--g-na and --g-k set Hodgkin–Huxley's conductances; --model {model} "
                         "is another model")
    for name, value in conductances.items():
        check_real(name, value, ge=0)
    amplitude = check_real("amplitude", amplitude)
    t1, dt = check_real("t1", t1, gt=0), check_real("dt", dt, gt=0)
    max_spikes = default_max_spikes(t1) if max_spikes is None else check_int(
        "max_spikes", max_spikes, 1)
    out = output_dir(out)
    neuron = cls(**conductances)
    trace = simulate(neuron, StepCurrent(amplitude), t1=t1, dt=dt, save_every=dt,
                     max_spikes=max_spikes, throw=False)
    status = int(trace.status)
    if status == STATUS_SPIKES_OVERFLOWED:
        raise ValueError(f"max_spikes: the run fired {int(trace.n_spikes)} spikes, more than "
                         f"--max-spikes {max_spikes}; pass a larger --max-spikes")
    if status not in (STATUS_OK, STATUS_INACCURATE):
        raise ValueError(f"simulation failed: {status_reason(status)} (status {status}); "
                         "check the parameters or use a smaller --dt")
    data = np.column_stack([np.asarray(trace.ts), np.asarray(trace.states)])
    np.savetxt(out / "trace.csv", data, delimiter=",", header="t," + ",".join(trace.state_names),
               comments="")
    n = int(trace.n_spikes)
    summary = {"n_spikes": n, "spike_times_ms": np.asarray(trace.spike_times[:n])}
    write_summary(out, summary)
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot(trace.ts, trace.v)
    ax.set(xlabel="time (ms)", ylabel="V (mV)",
           title="Hodgkin–Huxley" if cls is HodgkinHuxley else cls.__name__)
    fig.tight_layout()
    fig.savefig(out / "trace.png", dpi=120)
    plt.close(fig)
    log(f"{n} spikes; wrote trace.csv, trace.png, summary.json to {out.resolve()}")
    if status == STATUS_INACCURATE:
        log(f"warning: {advice(trace.accuracy, dt)}")
    return summary


def register(commands) -> None:
    """Add `jaxneuron simulate` to the CLI's sub-commands."""
    parser = commands.add_parser("simulate", help="one run of a model (Hodgkin–Huxley by "
                                                  "default) under a step current")
    parser.add_argument("--model", default="hh", metavar="SPEC",
                        help="a built-in model name, package.module:ClassName, or a model "
                             "file: Brian2 equations (.toml), NeuroML2 (.nml), LEMS (.xml)")
    parser.add_argument("--g-na", type=nonnegative_float, default=None,
                        help="HH only: mS/cm² (default 120)")
    parser.add_argument("--g-k", type=nonnegative_float, default=None,
                        help="HH only: mS/cm² (default 36)")
    parser.add_argument("--amplitude", type=finite_float, default=10.0,
                        help="in the model's input unit (µA/cm² for HH)")
    parser.add_argument("--t1", type=positive_float, default=100.0, help="ms")
    parser.add_argument("--dt", type=positive_float, default=0.025, help="ms")
    parser.add_argument("--max-spikes", type=positive_int, default=None,
                        help="capacity of the spike list; a run with more spikes stops with an "
                             "error instead of reporting a truncated list (default: 500 per "
                             "second of t1, at least 64: room for HH's ~100 Hz at 30 µA/cm² "
                             "and more)")
    parser.add_argument("--out", default="results/simulate")
    parser.set_defaults(func=lambda a: run(a.out, g_Na=a.g_na, g_K=a.g_k, amplitude=a.amplitude,
                                           t1=a.t1, dt=a.dt, max_spikes=a.max_spikes,
                                           model=a.model))
