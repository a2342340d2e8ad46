"""`jaxneuron spiking`: Izhikevich presets, clock vs exact spike times, spike-time gradients.

Writes into `out`:
- `izhikevich_presets.png`, `presets.csv`: every Izhikevich (2003) preset under a step,
  exact mode, with spike count, adaptation index and burst count;
- `clock_vs_exact.png`, `clock_vs_exact.csv`: clock-mode spike-time error against exact
  mode as dt shrinks, per solver, with the observed convergence order;
- `lif_spike_fit.png`: an LIF fitted by gradient descent through exact spike times so that
  it fires at target times (tau_m and R recovered from a 30 % / 40 % wrong start);
- `summary.json`: the headline numbers, including an exact spike-time gradient checked
  against central finite differences.
"""

from __future__ import annotations

import time
from pathlib import Path

import diffrax
import jax
import numpy as np

from ... import analysis, plotting
from ...engines import ExactSpiking
from ...fit import fit, spike_time_mse
from ...models import LIF, Izhikevich
from ...models.izhikevich import PRESETS
from ...simulate import simulate
from ...stimuli import RampCurrent, StepCurrent
from ..output import output_dir, write_rows, write_summary

_EXACT = dict(engine=ExactSpiking(rtol=1e-10, atol=1e-10), max_spikes=256)


def run(out: str | Path = "results/spiking", *, quick: bool = False, log=print) -> dict:
    """Run the three parts (float64) and return the summary written to `out/summary.json`."""
    out = output_dir(out)
    jax.config.update("jax_enable_x64", True)
    summary: dict = {}
    t1 = 150.0 if quick else 300.0
    step = StepCurrent(10.0, 20.0)

    log(f"[1/3] Izhikevich presets, exact mode, {t1:.0f} ms")
    traces = {name: simulate(Izhikevich.preset(name), step, t1=t1, dt=0.01, save_every=0.1,
                             **_EXACT) for name in PRESETS}
    rows = [dict(preset=name, n_spikes=int(tr.n_spikes),
                 rate_hz=1000.0 * int(tr.n_spikes) / (t1 - 20.0),
                 adaptation_index=float(analysis.adaptation_index(tr.spike_times)),
                 bursts=int(analysis.burst_count(tr.spike_times))) for name, tr in traces.items()]
    write_rows(out / "presets.csv", rows)
    plotting.voltage_panels(traces, path=out / "izhikevich_presets.png",
                            title="Izhikevich (2003) presets, exact mode")
    summary["presets"] = {row.pop("preset"): row for row in rows}

    log("[2/3] clock mode vs exact spike times (Izhikevich RS)")
    rs = Izhikevich.preset("RS")
    reference = np.asarray(simulate(rs, step, t1=t1, dt=0.01, save_every=0, **_EXACT).spike_times)
    dts = [0.04, 0.02, 0.01] if quick else [0.08, 0.04, 0.02, 0.01, 0.005]
    errors = {solver: [float(np.nanmax(np.abs(np.asarray(simulate(
        rs, step, t1=t1, dt=dt, solver=solver, save_every=0, max_spikes=256).spike_times)
        - reference))) for dt in dts] for solver in ("euler", "heun")}
    write_rows(out / "clock_vs_exact.csv",
               [dict(dt_ms=dt, **{f"{s}_max_error_ms": e[i] for s, e in errors.items()})
                for i, dt in enumerate(dts)])
    plotting.spike_time_errors(dts, errors, path=out / "clock_vs_exact.png",
                               title="Izhikevich RS: clock mode vs exact")
    summary["clock_max_spike_error_ms"] = {s: dict(zip(map(str, dts), e, strict=True))
                                           for s, e in errors.items()}
    summary["clock_convergence_order"] = {
        s: float(np.polyfit(np.log(dts), np.log(e), 1)[0]) for s, e in errors.items()}
    for s, e in errors.items():
        log(f"  {s}: max error {e[0]:.3g} ms at dt={dts[0]} -> {e[-1]:.3g} ms at dt={dts[-1]}, "
            f"order {summary['clock_convergence_order'][s]:.2f}")

    log("[3/3] gradients through exact spike times")
    summary.update(_spike_time_gradient_check(step))
    summary.update(_lif_target_time_fit(out, steps=8 if quick else 15))
    write_summary(out, summary)
    log(f"wrote presets, clock_vs_exact, lif_spike_fit (PNG/CSV) and summary.json to "
        f"{out.resolve()}")
    return summary


def _spike_time_gradient_check(step, d=8.0, h=1e-4) -> dict:
    """d(third spike time)/d(d) of Izhikevich RS: forward mode vs central differences."""

    def third_spike(d):
        return simulate(Izhikevich.preset("RS", d=d), step, t1=150.0, dt=0.01, save_every=0,
                        engine=ExactSpiking(rtol=1e-10, atol=1e-10,
                                            adjoint=diffrax.ForwardMode()),
                        max_spikes=256).spike_times[2]

    exact = float(jax.jacfwd(third_spike)(d))
    central = float((third_spike(d + h) - third_spike(d - h)) / (2 * h))
    return {"dspike3_dd_ms": exact, "dspike3_dd_central_difference_ms": central,
            "dspike3_dd_relative_error": abs(exact - central) / abs(central)}


def _lif_target_time_fit(out: Path, steps: int) -> dict:
    """Fit LIF tau_m and R so that it fires at the spike times of a hidden true LIF under a
    ramp (two or more current levels make tau_m and R separately identifiable)."""
    ramp = RampCurrent(1.6, 3.5, 0.0, 200.0)  # nA
    kw = dict(t1=200.0, dt=0.1, save_every=0, engine=ExactSpiking(rtol=1e-8, atol=1e-8),
              max_spikes=32)
    true = {"tau_m": 12.0, "R": 10.0}
    target_trace = simulate(LIF(**true), ramp, **kw)
    target = np.asarray(target_trace.spike_times[: int(target_trace.n_spikes)])
    start = LIF(tau_m=8.0, R=14.0)
    clock = time.perf_counter()
    result = fit(start, ramp, target, params=list(true), loss=spike_time_mse, steps=steps,
                 progress=False, **kw)
    seconds = time.perf_counter() - clock
    plotting.spike_fit_overview(
        {"target": target, "start": simulate(start, ramp, **kw).spike_times,
         "fitted": simulate(result.model, ramp, **kw).spike_times},
        result.loss_history, path=out / "lif_spike_fit.png",
        title="LIF fitted to target spike times (exact mode)")
    return {"lif_fit_params": result.params, "lif_fit_true": true,
            "lif_fit_spike_time_rmse_ms": float(np.sqrt(result.loss)),
            "lif_fit_seconds": seconds, "lif_fit_n_target_spikes": int(target.size)}


def register(commands) -> None:
    """Add `jaxneuron spiking` to the CLI's sub-commands."""
    parser = commands.add_parser("spiking", help="Izhikevich presets, clock vs exact spike "
                                 "times, fitting an LIF to target spike times")
    parser.add_argument("--out", default="results/spiking", help="output folder")
    parser.add_argument("--quick", action="store_true", help="shorter runs, fewer steps")
    parser.set_defaults(func=lambda args: run(args.out, quick=args.quick))
