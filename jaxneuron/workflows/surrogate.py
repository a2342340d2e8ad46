"""`jaxneuron surrogate resting`: an LSTM surrogate of the resting membrane, trained on
simulated trajectories and judged by its free-running rollout on held-out runs.

Pipeline 1 of issue 5. `RestingMembrane` (GHK leaks, pump, fixed concentrations) starts
from a perturbed V (uniform in -100..-30 mV) and is driven by a random current (steps of
-3..3 µA/cm² plus Ornstein-Uhlenbeck noise); runs are split by run into train/val/test,
standardised on train only, and an LSTM learns the one-step map (input: the current at
both ends of the step and the previous V; output: the change of V). It is trained on
free-running windows and evaluated free-running over whole held-out trajectories.

Writes into `out`:
- `dataset.npz`: the simulated runs with their metadata (`Dataset.load`);
- `checkpoint/`: the trained surrogate (`surrogate.eqx` + `surrogate.json`, read back
  with `jaxneuron.surrogate.load_checkpoint`);
- `test_runs.csv`: per held-out run, rollout and one-step RMSE (mV);
- `training.csv`, `training.png`: training loss and validation rollout RMSE per epoch;
- `overlay.png`: physical vs learned (free-running) V for held-out runs, with the input;
- `error_vs_horizon.csv`, `error_vs_horizon.png`: rollout RMSE vs time since the start;
- `summary.json`: `rollout_rmse_mv`, `one_step_rmse_mv`, `speedup_vs_solver` (and the
  details behind them).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from ..models.resting import RestingMembrane
from ..plotting import plt
from ..surrogate import (
    CurrentSpec,
    Dataset,
    TrainConfig,
    evaluate,
    generate_dataset,
    rollouts,
    save_checkpoint,
    speed_vs_solver,
    split_by_run,
    train,
)
from ._output import output_dir, write_rows, write_summary

WHICH = ("resting", "izhikevich")
_V_RANGE = (-100.0, -30.0)  # mV, initial V
_CURRENT = CurrentSpec(amplitude=(-3.0, 3.0), steps_range=(0, 4), p_zero=0.3, noise_std=0.2,
                       noise_tau=2.0)  # µA/cm²
_SOLVER = dict(dt=0.1)  # tsit5 (the default for this model), fixed steps of 0.1 ms


def run_resting(out: str | Path = "results/surrogate_resting", *, quick: bool = False,
                seed: int = 0, hidden_size: int = 16, log=print) -> dict:
    """Generate, train, evaluate; return the summary written to `out/summary.json`.

    `quick`: 240 runs of 100 ms, 25 epochs (under a minute on a 2-core CPU); otherwise
    1,200 runs of 200 ms, 60 epochs. `hidden_size`: LSTM units (16 by default: the
    smallest that stays well under 0.5 mV, and faster than the solver on CPU; 64 units
    is more accurate but slower than the solver there). Float32 unless x64 is already on.
    """
    out = output_dir(out)
    start = time.perf_counter()
    model = RestingMembrane()
    n_runs, t1 = (240, 100.0) if quick else (1200, 200.0)
    config = TrainConfig(arch="lstm", hidden_size=hidden_size, window=40 if quick else 50,
                         loss="rollout", batch_size=32 if quick else 64,
                         epochs=25 if quick else 60, learning_rate=3e-3,
                         patience=6 if quick else 10, seed=seed)

    log(f"[1/4] dataset: {n_runs} runs of {t1:.0f} ms (RestingMembrane, V0 in {_V_RANGE} mV, "
        f"random steps + noise current)")
    tic = time.perf_counter()
    dataset = generate_dataset(model, n_runs=n_runs, t1=t1, dt_save=0.5,
                               initial_ranges={"V": _V_RANGE}, current=_CURRENT, seed=seed,
                               **_SOLVER)
    dataset_s = time.perf_counter() - tic
    dataset.save(out / "dataset.npz")
    parts = split_by_run(dataset, (0.7, 0.15, 0.15), seed=seed)

    log(f"[2/4] training an LSTM ({config.hidden_size} units) on {parts['train'].n_runs} runs, "
        f"early-stopped on {parts['val'].n_runs}")
    tic = time.perf_counter()
    result = train(parts["train"], parts["val"], config)
    train_s = time.perf_counter() - tic
    save_checkpoint(out / "checkpoint", result.surrogate, result.net_config, config,
                    extra={"dataset_metadata": dataset.metadata})
    write_rows(out / "training.csv", result.history)
    _training_figure(result.history, result.best_epoch, out / "training.png")

    test = parts["test"]
    log(f"[3/4] evaluating on {test.n_runs} held-out runs (teacher-forced and free-running)")
    metrics = evaluate(result.surrogate, test)
    write_rows(out / "test_runs.csv", [
        {"run_id": int(r), "rollout_rmse_mv": float(a), "one_step_rmse_mv": float(b)}
        for r, a, b in zip(test.run_ids, metrics["per_run_rollout_mv"],
                           metrics["per_run_one_step_mv"], strict=True)])
    np.savetxt(out / "error_vs_horizon.csv",
               np.column_stack([test.ts, metrics["rmse_vs_horizon_mv"]]), delimiter=",",
               header="t_ms,rollout_rmse_mv", comments="", fmt="%.8g")
    _overlay_figure(test, metrics, out / "overlay.png")
    _horizon_figure(test.ts, metrics["rmse_vs_horizon_mv"], out / "error_vs_horizon.png")

    log("[4/4] speed: surrogate rollout vs the Diffrax solver on the same held-out batch")
    speed = speed_vs_solver(result.surrogate, test, model)
    coarse = speed_vs_solver(result.surrogate, test, model, dt=dataset.dt_save)

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
        **_run_details(parts, config, result, train_s, dataset, dataset_s, quick, start),
    }
    write_summary(out, summary)
    log(f"held-out rollout RMSE {summary['rollout_rmse_mv']:.3f} mV (one-step "
        f"{summary['one_step_rmse_mv']:.3f} mV); {summary['speedup_vs_solver']:.1f}x faster "
        f"than the solver on the same batch")
    log(f"wrote dataset.npz, checkpoint/, training, test_runs, error_vs_horizon (.csv), "
        f"overlay, training, error_vs_horizon (.png) and summary.json to {out.resolve()}")
    return summary


def _training_figure(history, best_epoch, path):
    epochs = [r["epoch"] for r in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax1.semilogy(epochs, [r["train_loss"] for r in history])
    ax1.set(xlabel="epoch", ylabel="training loss (delta_std units²)", title="training")
    ax2.semilogy(epochs, [r["val_rollout_rmse_mv"] for r in history], color="tab:orange")
    ax2.axvline(best_epoch, color="0.6", ls="--", lw=0.8, label=f"best (epoch {best_epoch})")
    ax2.set(xlabel="epoch", ylabel="rollout RMSE (mV)", title="validation (free-running)")
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _overlay_figure(test: Dataset, metrics, path, n_runs: int = 4):
    picks = np.linspace(0, test.n_runs - 1, min(n_runs, test.n_runs)).astype(int)
    fig, axes = plt.subplots(2, len(picks), figsize=(3.6 * len(picks), 5.2), sharex=True,
                             gridspec_kw={"height_ratios": [3, 1]}, squeeze=False)
    for col, k in enumerate(picks):
        ax, ax_i = axes[0, col], axes[1, col]
        ax.plot(test.ts, test.v[k], color="k", lw=2.2, label="physical (Diffrax)")
        ax.plot(test.ts, metrics["v_rollout"][k], color="tab:orange", lw=1.2,
                label="LSTM, free-running")
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


def _run_details(parts, config, result, train_s, dataset, dataset_s, quick, start) -> dict:
    """The summary entries both pipelines share: split sizes, training and dataset details."""
    return {
        "runs": {k: v.n_runs for k, v in parts.items()},
        "train": {**dataclasses.asdict(config), "best_epoch": result.best_epoch,
                  "epochs_run": len(result.history), "stopped_early": result.stopped_early,
                  "seconds": train_s},
        "dataset": {**dataset.metadata, "seconds": dataset_s},
        "quick": quick,
        "seconds": time.perf_counter() - start,
    }


def register(commands) -> None:
    """Add `jaxneuron surrogate` to the CLI's sub-commands."""
    parser = commands.add_parser(
        "surrogate", help="learned surrogates: dataset, training and held-out evaluation "
                          "(free-running rollout RMSE, speed vs the solver)")
    parser.add_argument("which", choices=WHICH, help="which pipeline")
    parser.add_argument("--out", default=None,
                        help="output folder (default results/surrogate_WHICH)")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (under two minutes on a 2-core CPU)")
    parser.add_argument("--seed", type=int, default=0, help="seeds data, split and training")
    parser.add_argument("--hidden-size", type=int, default=16,
                        help="resting: recurrent units")
    parser.add_argument("--plots", type=int, default=4,
                        help="izhikevich: prediction plots of N random held-out runs")
    parser.add_argument("--arch", choices=("mlp", "gru"), default="mlp",
                        help="izhikevich: surrogate network")
    parser.set_defaults(func=_run_cli)


def _run_cli(a):
    out = a.out or f"results/surrogate_{a.which}"
    if a.which == "izhikevich":
        return run_izhikevich(out, quick=a.quick, plots=a.plots, seed=a.seed, arch=a.arch)
    return run_resting(out, quick=a.quick, seed=a.seed, hidden_size=a.hidden_size)


# --- Pipeline 2: the 5-neuron Izhikevich network ----------------------------------------

_IZH_CURRENT = CurrentSpec(amplitude=(0.0, 16.0), steps_range=(1, 4), p_zero=0.2,
                           noise_std=1.5, noise_tau=2.0)  # per neuron, model units (mV/ms)
_IZH_WEIGHTS = (-5.0, 5.0)  # mV jump of the target's v per source spike
_SPIKE_TOLERANCE = 2.0  # ms
_SPIKE_DROP = 25.0  # mV: a fall this large in one save step is a spike's reset


def run_izhikevich(out: str | Path = "results/surrogate_izhikevich", *, quick: bool = False,
                   plots: int = 4, seed: int = 0, arch: str = "mlp",
                   condition_on_weights: bool = True, epochs: int | None = None,
                   n_runs: int | None = None, log=print) -> dict:
    """Surrogate of a 5-neuron Izhikevich network; returns the summary written to
    `out/summary.json`.

    300 runs (`quick`: 200) of 200 ms (`quick`: 100 ms) of an all-to-all network of 5
    regular-spiking Izhikevich neurons, each run with its own weights (uniform in
    `_IZH_WEIGHTS`, mV jumps of the target's v) and each neuron with its own random
    current (steps + noise), simulated in one batched call of the network engine
    (`generate_network_dataset`); split by run 70/15/15, standardised on train only. The
    surrogate (`arch`: `"mlp"`, or `"gru"`) predicts all 10 states (v and u of every
    neuron) one save step (0.5 ms) ahead from the states and the 5 currents (plus the 20
    weights if `condition_on_weights`), is trained teacher-forced with predictions clipped
    into the training range, early-stopped on the spike F1 of free-running validation
    rollouts, and judged free-running on the held-out runs: per-neuron V RMSE and spike
    precision/recall/F1 within ±2 ms. `plots`: overlay figures of that many random
    held-out runs. `epochs`, `n_runs` override the sizes (tests).
    """
    from ..models.izhikevich import Izhikevich
    from ..surrogate.evaluate import evaluate_spiking, speed_vs, spike_metrics
    from ..surrogate.network_data import generate_network_dataset, simulate_network_runs

    out = output_dir(out)
    start = time.perf_counter()
    model = Izhikevich.preset("RS")
    n_runs = n_runs or (200 if quick else 300)
    t1 = 100.0 if quick else 200.0
    config = TrainConfig(arch=arch, hidden_size=128 if arch == "mlp" else 64, depth=2,
                         window=20, loss="teacher", batch_size=64,
                         epochs=epochs or (30 if quick else 40), learning_rate=3e-3,
                         patience=10, seed=seed, clip_states=True)

    log(f"[1/4] dataset: {n_runs} runs of {t1:.0f} ms of 5 all-to-all Izhikevich (RS) "
        f"neurons, weights in {_IZH_WEIGHTS} mV, own random current per neuron")
    tic = time.perf_counter()
    dataset = generate_network_dataset(
        model, n_neurons=5, n_runs=n_runs, t1=t1, dt_save=0.5, dt=0.1,
        weight_range=_IZH_WEIGHTS, initial_ranges={"v": (-70.0, -55.0)},
        current=_IZH_CURRENT, condition_on_weights=condition_on_weights, seed=seed)
    dataset_s = time.perf_counter() - tic
    dataset.save(out / "dataset.npz")
    parts = split_by_run(dataset, (0.7, 0.15, 0.15), seed=seed)
    val = parts["val"]

    def spike_score(surrogate) -> float:
        pred = rollouts(surrogate, val.states[:, 0], val.currents)
        v_pred = np.asarray(pred)[..., list(val.voltage_index)]
        return 1.0 - spike_metrics(val.ts, val.v, v_pred, tolerance=_SPIKE_TOLERANCE,
                                   drop=_SPIKE_DROP)["f1"]

    log(f"[2/4] training a{'n' if arch == 'mlp' else ''} {arch.upper()} on "
        f"{parts['train'].n_runs} runs ({val.n_runs} validation runs, early stopping on "
        "free-running spike F1)")
    tic = time.perf_counter()
    result = train(parts["train"], val, config, log=None, val_score=spike_score)
    train_s = time.perf_counter() - tic
    save_checkpoint(out / "checkpoint", result.surrogate, result.net_config, config,
                    extra={"dataset_metadata": dataset.metadata})
    write_rows(out / "training.csv", result.history)

    test = parts["test"]
    log(f"[3/4] evaluating on {test.n_runs} held-out runs (teacher-forced and free-running)")
    metrics = evaluate_spiking(result.surrogate, test, tolerance=_SPIKE_TOLERANCE,
                               drop=_SPIKE_DROP)
    roll, one = metrics["spikes_rollout"], metrics["spikes_one_step"]
    write_rows(out / "test_runs.csv", [
        {"run_id": int(r), "neuron": n, "rollout_rmse_mv": float(a[n]),
         "one_step_rmse_mv": float(b[n])}
        for r, a, b in zip(test.run_ids, metrics["per_run_rollout_mv"],
                           metrics["per_run_one_step_mv"], strict=True) for n in range(5)])
    rng = np.random.default_rng(seed + 1)
    picks = np.sort(rng.choice(test.n_runs, size=min(plots, test.n_runs), replace=False))
    for k in picks:
        _network_figure(test, metrics, int(k), arch, out / f"test_run_{int(test.run_ids[k])}.png")

    log("[4/4] speed: surrogate rollout vs the network engine on the same held-out batch")
    n_edges = 20
    weights = np.stack([test.params[f"w_{i}_{j}"] for i in range(5) for j in range(5)
                        if i != j], axis=1)
    y0 = test.states[:, 0].reshape(test.n_runs, 2, 5).transpose(0, 2, 1)
    speed = speed_vs(result.surrogate, test, lambda: simulate_network_runs(
        model, weights.astype(test.states.dtype), test.currents[..., :5], y0,
        dt_save=test.dt_save, dt=dataset.metadata["dt"]))

    summary = {
        "rollout_rmse_mv": metrics["rollout_rmse_mv"],
        "one_step_rmse_mv": metrics["one_step_rmse_mv"],
        "spike_f1": roll["f1"],
        "speedup_vs_solver": speed["speedup"],
        "per_neuron_rollout_rmse_mv": metrics["per_neuron_rollout_mv"],
        "per_neuron_one_step_rmse_mv": metrics["per_neuron_one_step_mv"],
        "spikes_rollout": {k: v for k, v in roll.items()},
        "spikes_one_step": {k: v for k, v in one.items()},
        "spike_tolerance_ms": _SPIKE_TOLERANCE, "spike_reset_drop_mv": _SPIKE_DROP,
        "target_spike_f1": 0.9, "target_met": roll["f1"] >= 0.9,
        "arch": arch, "condition_on_weights": condition_on_weights,
        "speed": {**speed, "n_runs": test.n_runs, "n_steps": int(test.states.shape[1] - 1),
                  "n_edges": n_edges,
                  "note": "same held-out batch, same device, compile excluded; the network "
                          "engine at the settings that made the data"},
        "plots": [f"test_run_{int(test.run_ids[k])}.png" for k in picks],
        **_run_details(parts, config, result, train_s, dataset, dataset_s, quick, start),
    }
    write_summary(out, summary)
    log(f"held-out free-running spike F1 {roll['f1']:.3f} (±{_SPIKE_TOLERANCE:g} ms; "
        f"precision {roll['precision']:.3f}, recall {roll['recall']:.3f}; teacher-forced "
        f"{one['f1']:.3f}); V RMSE rollout {metrics['rollout_rmse_mv']:.2f} mV, one-step "
        f"{metrics['one_step_rmse_mv']:.2f} mV; {speed['speedup']:.1f}x the engine's speed")
    log(f"wrote dataset.npz, checkpoint/, training.csv, test_runs.csv, {len(picks)} "
        f"test_run_*.png and summary.json to {out.resolve()}")
    return summary


def _network_figure(test: Dataset, metrics, k: int, arch: str, path: Path) -> None:
    n = test.v.shape[-1]
    fig, axes = plt.subplots(n, 1, figsize=(9, 1.6 * n + 0.6), sharex=True, squeeze=False)
    for i in range(n):
        ax = axes[i, 0]
        ax.plot(test.ts, test.v[k, :, i], color="k", lw=1.6, label="physical (engine)")
        ax.plot(test.ts, metrics["v_rollout"][k, :, i], color="tab:orange", lw=1.0,
                label=f"{arch.upper()}, free-running")
        ax.set_ylabel(f"v_{i} (mV)")
    axes[-1, 0].set_xlabel("time (ms)")
    axes[0, 0].legend(fontsize=8, loc="upper right")
    fig.suptitle(f"held-out run {int(test.run_ids[k])}: physical vs learned")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
