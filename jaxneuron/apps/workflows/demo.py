"""The `jaxneuron demo` tour: batch-simulate, fit by gradient descent, benchmark vs SciPy."""

from __future__ import annotations

import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from ... import plotting
from ...fit import fit
from ...models import HodgkinHuxley
from ...simulate import simulate
from ...stimuli import StepCurrent
from ...sweep import sweep
from .. import benchmarking
from ..output import output_dir, write_summary


def run_demo(out: str | Path = "results", *, quick: bool = False, log=print) -> dict:
    """Run the three parts, writing figures, CSV, summary.json and summary.md into `out`."""
    out = output_dir(out)
    jax.config.update("jax_enable_x64", True)
    summary: dict = {}

    # 1. A sweep over (g_Na, g_K): firing-rate map of the HH model at 10 µA/cm².
    side = 30 if quick else 100
    g_na_axis, g_k_axis = np.linspace(60.0, 180.0, side), np.linspace(15.0, 60.0, side)
    g_na, g_k = (a.ravel() for a in np.meshgrid(g_na_axis, g_k_axis))
    log(f"[1/3] sweep: {g_na.size} HH parameter sets x 100 ms")
    start = time.perf_counter()
    result = sweep(HodgkinHuxley(), {"g_Na": g_na, "g_K": g_k}, StepCurrent(10.0), t1=100.0)
    sweep_s = time.perf_counter() - start
    result.to_csv(out / "sweep_hh.csv")
    rate = result.summaries["rate_hz"].reshape(side, side)
    plotting.rate_heatmap(g_na_axis, g_k_axis, rate, xlabel="g_Na (mS/cm²)",
                          ylabel="g_K (mS/cm²)", title="HH firing rate at 10 µA/cm², 100 ms",
                          path=out / "sweep_rate_heatmap.png")
    summary.update(sweep_sets=int(g_na.size), sweep_seconds=sweep_s,
                   sweep_failed=int(result.failed.size))

    # 2. Gradient fit of g_Na and g_K to a noisy synthetic trace.
    log("[2/3] fit: recover g_Na, g_K from a noisy synthetic voltage trace")
    stim = StepCurrent(10.0, 2.0)
    kw = dict(t1=20.0, dt=0.025, save_every=0.1)
    clean = simulate(HodgkinHuxley(), stim, **kw)
    noise = jax.random.normal(jax.random.key(0), clean.v.shape)
    target = clean.v + 1.0 * noise  # 1 mV recording noise
    start_model = HodgkinHuxley(g_Na=84.0, g_K=50.4)  # 30 % low, 40 % high
    start = time.perf_counter()
    fitted = fit(start_model, stim, target, params=["g_Na", "g_K"], steps=40, **kw)
    fit_s = time.perf_counter() - start
    before = simulate(start_model, stim, **kw).v
    after = simulate(fitted.model, stim, **kw).v
    plotting.fit_overview(np.asarray(clean.ts), np.asarray(target), np.asarray(before),
                          np.asarray(after), fitted.loss_history,
                          title="HH fit to a noisy trace (σ = 1 mV)", path=out / "fit_hh.png")
    errors = {k: 100.0 * (v / t - 1.0) for (k, v), t in
              zip(fitted.params.items(), (120.0, 36.0), strict=True)}
    summary.update(fit_params=fitted.params, fit_error_percent=errors, fit_seconds=fit_s,
                   fit_final_rmse_mv=float(jnp.sqrt(fitted.loss)))

    # 3. Benchmark against SciPy on identical work.
    n_bench = 1000 if quick else 2000
    log(f"[3/3] benchmark: {n_bench} HH sets, jaxneuron vs SciPy solve_ivp")
    rows = benchmarking.hh_sweep_rows(n_bench, n_reference=5, progress=log, configs=[
        dict(solver="staggered", dt=0.025, dtype="float32", shard=False)])
    table = benchmarking.format_table(rows, benchmarking.SWEEP_COLUMNS)
    benchmarking.write_json(out / "bench_hh_sweep.json", "hh_sweep", rows,
                            benchmarking.SWEEP_COLUMNS)
    summary.update(benchmark_speedup_vs_scipy=rows[0]["speedup"],
                   benchmark_max_spike_error_ms=rows[0]["max_spike_error_ms"])

    write_summary(out, summary)
    (out / "summary.md").write_text(_markdown(summary, table))
    log((out / "summary.md").read_text())
    log(f"wrote results to {out.resolve()}")
    return summary


def _markdown(s: dict, table: str) -> str:
    err = s["fit_error_percent"]
    return f"""# jaxneuron demo

## 1. Batch simulation
{s['sweep_sets']} Hodgkin–Huxley parameter sets (g_Na x g_K grid), 100 ms each, in
{s['sweep_seconds']:.1f} s including compilation ({s['sweep_failed']} failed).
Figure: `sweep_rate_heatmap.png`; table: `sweep_hh.csv`.

## 2. Gradient fit through the solver
Start 30 % / 40 % off; fitted g_Na = {s['fit_params']['g_Na']:.2f} ({err['g_Na']:+.2f} %),
g_K = {s['fit_params']['g_K']:.3f} ({err['g_K']:+.2f} %) against 1 mV noise, in
{s['fit_seconds']:.1f} s. Final RMSE {s['fit_final_rmse_mv']:.3f} mV (the noise floor is 1 mV).
Figure: `fit_hh.png`.

## 3. Benchmark vs SciPy solve_ivp (same sets, same equations)
{table}
"""


def register(commands) -> None:
    """Add `jaxneuron demo` to the CLI's sub-commands."""
    parser = commands.add_parser("demo", help="sweep, gradient fit and SciPy benchmark tour")
    parser.add_argument("--out", default="results", help="output folder (default results/)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, under a minute")
    parser.set_defaults(func=lambda args: run_demo(args.out, quick=args.quick))
