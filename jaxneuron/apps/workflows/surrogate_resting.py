"""`jaxneuron surrogate resting`: an LSTM surrogate of the resting membrane, trained on
simulated trajectories and judged by its free-running rollout on held-out runs.

Pipeline 1 of issue 5. `RestingMembrane` (GHK leaks, pump, fixed concentrations) starts
from a perturbed V (uniform in -100..-30 mV) and is driven by a random current (steps of
-3..3 µA/cm² plus Ornstein-Uhlenbeck noise); runs are split by run into train/val/test,
standardised on train only, and an LSTM learns the one-step map (input: the current at
both ends of the step and the previous V; output: the change of V). It is trained on
free-running windows and evaluated free-running over whole held-out trajectories.

Writes into `out` (stages in `_surrogate_stages`):
- `dataset.npz`: the simulated runs with their metadata (`Dataset.load`);
- `checkpoint/`: the trained surrogate (`surrogate.eqx` + `surrogate.json`, read back
  with `jaxneuron.emulators.load_checkpoint`);
- `test_runs.csv`: per held-out run, rollout and one-step RMSE (mV);
- `training.csv`, `training.png`: training loss and validation rollout RMSE per epoch;
- `overlay.png`: physical vs learned (free-running) V for held-out runs, with the input;
- `error_vs_horizon.csv`, `error_vs_horizon.png`: rollout RMSE vs time since the start;
- `summary.json`: `rollout_rmse_mv`, `one_step_rmse_mv`, `speedup_vs_solver` (and the
  details behind them);
- with `--stage sweep`: `experiment_results.csv`/`.png` (hidden sizes x training windows).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from ...emulators import (
    CurrentSpec,
    Dataset,
    Emulator,
    TrainConfig,
    evaluate,
    generate_dataset,
    speed_vs_solver,
)
from ...models.resting import RestingMembrane
from ..output import write_rows
from ._surrogate_stages import Pipeline, run_stages

_V_RANGE = (-100.0, -30.0)  # mV, initial V
_CURRENT = CurrentSpec(amplitude=(-3.0, 3.0), steps_range=(0, 4), p_zero=0.3, noise_std=0.2,
                       noise_tau=2.0)  # µA/cm²
_SOLVER = dict(dt=0.1)  # tsit5 (the default for this model), fixed steps of 0.1 ms
ARCHES = ("lstm", "gru", "mlp", "node")


def _dataset(quick: bool, seed: int, log) -> Dataset:
    n_runs, t1 = (240, 100.0) if quick else (1200, 200.0)
    log(f"  {n_runs} runs of {t1:.0f} ms (RestingMembrane, V0 in {_V_RANGE} mV, random "
        "steps + noise current)")
    return generate_dataset(RestingMembrane(), n_runs=n_runs, t1=t1, dt_save=0.5,
                            initial_ranges={"V": _V_RANGE}, current=_CURRENT, seed=seed,
                            **_SOLVER)


def _config(quick: bool, seed: int, *, arch: str = "lstm", hidden_size: int = 16
            ) -> TrainConfig:
    return TrainConfig(arch=arch, hidden_size=hidden_size, window=10,  # the sweep's best
                       loss="rollout", batch_size=32 if quick else 64,
                       epochs=25 if quick else 60, learning_rate=3e-3,
                       patience=6 if quick else 10, seed=seed)


def _metrics(surrogate: Emulator, test: Dataset) -> dict:
    m = evaluate(surrogate, test)
    return {"rollout_rmse_mv": m["rollout_rmse_mv"], "one_step_rmse_mv": m["one_step_rmse_mv"]}


def _speed(surrogate: Emulator, test: Dataset, dataset: Dataset) -> dict:
    return speed_vs_solver(surrogate, test, RestingMembrane())


def _report(out: Path, surrogate: Emulator, test: Dataset, dataset: Dataset, log) -> dict:
    metrics = evaluate(surrogate, test)
    write_rows(out / "test_runs.csv", [
        {"run_id": int(r), "rollout_rmse_mv": float(a), "one_step_rmse_mv": float(b)}
        for r, a, b in zip(test.run_ids, metrics["per_run_rollout_mv"],
                           metrics["per_run_one_step_mv"], strict=True)])
    np.savetxt(out / "error_vs_horizon.csv",
               np.column_stack([test.ts, metrics["rmse_vs_horizon_mv"]]), delimiter=",",
               header="t_ms,rollout_rmse_mv", comments="", fmt="%.8g")
    _overlay_figure(test, metrics, out / "overlay.png")
    _horizon_figure(test.ts, metrics["rmse_vs_horizon_mv"], out / "error_vs_horizon.png")

    log("[speed] surrogate rollout vs the Diffrax solver on the same held-out batch")
    model = RestingMembrane()
    speed = speed_vs_solver(surrogate, test, model)
    coarse = speed_vs_solver(surrogate, test, model, dt=dataset.dt_save)
    summary = {
        "rollout_rmse_mv": metrics["rollout_rmse_mv"],
        "one_step_rmse_mv": metrics["one_step_rmse_mv"],
        "speedup_vs_solver": speed["speedup"],
        "rollout_max_abs_mv": metrics["rollout_max_abs_mv"],
        "target_rollout_rmse_mv": 1.0,
        "target_met": metrics["rollout_rmse_mv"] < 1.0,
        "speed": {"surrogate_s": speed["surrogate_s"], "solver_s": speed["solver_s"],
                  "solver_options": speed["solver_options"],
                  "n_runs": speed["n_runs"], "n_steps": speed["n_steps"],
                  "note": "same held-out batch, same device, compile excluded; the solver "
                          "at the settings that made the data",
                  "speedup_vs_solver_one_step_per_save": coarse["speedup"],
                  "solver_one_step_per_save_s": coarse["solver_s"]},
    }
    log(f"held-out rollout RMSE {summary['rollout_rmse_mv']:.3f} mV (one-step "
        f"{summary['one_step_rmse_mv']:.3f} mV); {summary['speedup_vs_solver']:.1f}x faster "
        f"than the solver on the same batch")
    log(f"wrote test_runs.csv, error_vs_horizon.csv, overlay.png, error_vs_horizon.png and "
        f"summary.json to {out.resolve()}")
    return summary


def pipeline(arch: str = "lstm", hidden_size: int = 16) -> Pipeline:
    """The resting-membrane pipeline with surrogate `arch` (one of `ARCHES`) of
    `hidden_size` units."""
    if arch not in ARCHES:
        raise ValueError(f"arch must be one of {ARCHES} for the resting pipeline; got "
                         f"{arch!r}")
    return Pipeline(
        name="resting", make_dataset=_dataset,
        config=lambda quick, seed: _config(quick, seed, arch=arch, hidden_size=hidden_size),
        metrics=_metrics, speed=_speed, report=_report)


def run_resting(out: str | Path = "results/surrogate_resting", *, quick: bool = False,
                seed: int = 0, hidden_size: int = 16, arch: str = "lstm", stage: str = "all",
                log=print) -> dict:
    """Generate, train, evaluate (or one `stage`, see `_surrogate_stages.STAGES`); return
    the summary written to `out/summary.json`.

    `quick`: 240 runs of 100 ms, 25 epochs (under a minute on a 2-core CPU); otherwise
    1,200 runs of 200 ms, 60 epochs; free-running windows of 10 steps (of 10, 25, 50, the
    most accurate at 8-32 units in the sweep, `experiment_results.csv`). `hidden_size`:
    units (16 by default: the fastest in the sweep, 3x the solver on CPU, 0.01 mV; 64 units
    is more accurate but slower than the solver there). `arch`: one of `ARCHES` (`"node"`: a
    neural ODE). Float32 unless x64 is already on.
    """
    return run_stages(pipeline(arch, hidden_size), out, stage=stage, quick=quick, seed=seed,
                      log=log)


def _overlay_figure(test: Dataset, metrics, path, n_runs: int = 4):
    picks = np.linspace(0, test.n_runs - 1, min(n_runs, test.n_runs)).astype(int)
    fig, axes = plt.subplots(2, len(picks), figsize=(3.6 * len(picks), 5.2), sharex=True,
                             gridspec_kw={"height_ratios": [3, 1]}, squeeze=False)
    for col, k in enumerate(picks):
        ax, ax_i = axes[0, col], axes[1, col]
        ax.plot(test.ts, test.v[k], color="k", lw=2.2, label="physical (Diffrax)")
        ax.plot(test.ts, metrics["v_rollout"][k], color="tab:orange", lw=1.2,
                label="surrogate, free-running")
        ax.set_title(f"run {int(test.run_ids[k])}: RMSE "
                     f"{metrics['per_run_rollout_mv'][k]:.2f} mV", fontsize=9)
        ax_i.plot(test.ts, test.currents[k, :, 0], color="tab:blue", lw=0.8)
        ax_i.set_xlabel("time (ms)")
    axes[0, 0].set_ylabel("V (mV)")
    axes[1, 0].set_ylabel("I (µA/cm²)")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("held-out runs: physical vs learned")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _horizon_figure(ts, rmse, path):
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.plot(ts, rmse)
    ax.set(xlabel="time since start of rollout (ms)", ylabel="rollout RMSE across runs (mV)",
           title="error vs horizon (held-out runs)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
