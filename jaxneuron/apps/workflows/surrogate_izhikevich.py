"""`jaxneuron surrogate izhikevich`: a surrogate of a 5-neuron Izhikevich network that
predicts every neuron's membrane potential, spikes included, judged free-running.

Pipeline 2 of issue 5. 300 runs (`quick`: 200) of 200 ms (`quick`: 100 ms) of an
all-to-all network of 5 regular-spiking Izhikevich neurons, each run with its own
weights (uniform in `_IZH_WEIGHTS`, mV jumps of the target's v per source spike) and each
neuron with its own random current (steps + noise), simulated in one batched call of the
network engine (`generate_network_dataset`); split by run 70/15/15, standardised on
train only. The surrogate predicts all 10 states (v and u of every neuron) one save step
(0.5 ms) ahead from the states, the 5 currents and the 20 weights; it is trained
teacher-forced with predictions clipped into the training range and every training
window's neurons relabelled at random (`permute_neurons`: an exact symmetry of the
network, so 120 times the distinct examples), early-stopped on the spike F1 of
free-running validation rollouts, and judged free-running on the held-out
runs: per-neuron V RMSE and spike precision/recall/F1 within ±2 ms.

The default surrogate is `"gated_mlp"` (`GatedMLPEmulator`): a spike classifier per
neuron whose hard decision switches the state map, so resets and synaptic kicks are
jumps instead of smeared averages; `"mlp"` and `"gru"` are the plain one-step networks.

Writes into `out`: `dataset.npz`, `checkpoint/`, `training.csv`/`.png`, `test_runs.csv`
(per held-out run and neuron, rollout and one-step RMSE), `test_run_<id>.png` (physical
vs learned voltages of `plots` random held-out runs, with their spikes) and
`summary.json` (`spike_f1`, `rollout_rmse_mv`, `one_step_rmse_mv`, `speedup_vs_solver`).
"""

from __future__ import annotations

import functools
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from ...emulators import (
    CurrentSpec,
    Dataset,
    Emulator,
    TrainConfig,
    evaluate_spiking,
    generate_network_dataset,
    permute_neurons,
    reset_spike_times,
    rollouts,
    simulate_network_runs,
    speed_vs,
    spike_metrics,
)
from ...models.izhikevich import Izhikevich
from ..output import write_rows
from ._surrogate_stages import Pipeline, run_stages

_IZH_CURRENT = CurrentSpec(amplitude=(0.0, 16.0), steps_range=(1, 4), p_zero=0.2,
                           noise_std=1.5, noise_tau=2.0)  # per neuron, model units (mV/ms)
_IZH_WEIGHTS = (-5.0, 5.0)  # mV jump of the target's v per source spike
_SPIKE_TOLERANCE = 2.0  # ms
_SPIKE_DROP = 25.0  # mV: a fall this large in one save step is a spike's reset
N_NEURONS = 5
ARCHES = ("gated_mlp", "mlp", "gru")


def _model() -> Izhikevich:
    return Izhikevich.preset("RS")


def _dataset(quick: bool, seed: int, log, *, n_runs: int | None = None) -> Dataset:
    n_runs = n_runs or (200 if quick else 300)
    t1 = 100.0 if quick else 200.0
    log(f"  {n_runs} runs of {t1:.0f} ms of {N_NEURONS} all-to-all Izhikevich (RS) neurons, "
        f"weights in {_IZH_WEIGHTS} mV, own random current per neuron")
    return generate_network_dataset(
        _model(), n_neurons=N_NEURONS, n_runs=n_runs, t1=t1, dt_save=0.5, dt=0.1,
        weight_range=_IZH_WEIGHTS, initial_ranges={"v": (-70.0, -55.0)},
        current=_IZH_CURRENT, condition_on_weights=True, seed=seed)


def _config(quick: bool, seed: int, *, arch: str = "gated_mlp", epochs: int | None = None
            ) -> TrainConfig:
    gated = arch == "gated_mlp"
    return TrainConfig(arch=arch, hidden_size=64 if arch == "gru" else 128, depth=2,
                       window=20, loss="teacher", batch_size=64,
                       epochs=epochs or ((60 if gated else 30) if quick else
                                         (150 if gated else 40)),
                       learning_rate=3e-3, patience=30 if gated else 10, seed=seed,
                       clip_states=True, spike_drop=_SPIKE_DROP)


def _free_running_spikes(surrogate: Emulator, data: Dataset) -> dict:
    pred = np.asarray(rollouts(surrogate, data.states[:, 0], data.currents))
    return spike_metrics(data.ts, data.v, pred[..., list(data.voltage_index)],
                         tolerance=_SPIKE_TOLERANCE, drop=_SPIKE_DROP)


def _val_score(val: Dataset):
    return lambda surrogate: 1.0 - _free_running_spikes(surrogate, val)["f1"]


def _metrics(surrogate: Emulator, test: Dataset) -> dict:
    m = evaluate_spiking(surrogate, test, tolerance=_SPIKE_TOLERANCE, drop=_SPIKE_DROP)
    return {"spike_f1": m["spikes_rollout"]["f1"], "rollout_rmse_mv": m["rollout_rmse_mv"],
            "one_step_rmse_mv": m["one_step_rmse_mv"]}


def _speed(surrogate: Emulator, test: Dataset, dataset: Dataset) -> dict:
    weights = np.stack([test.params[f"w_{i}_{j}"] for i in range(N_NEURONS)
                        for j in range(N_NEURONS) if i != j], axis=1)
    y0 = test.states[:, 0].reshape(test.n_runs, 2, N_NEURONS).transpose(0, 2, 1)
    return speed_vs(surrogate, test, lambda: simulate_network_runs(
        _model(), weights.astype(test.states.dtype), test.currents[..., :N_NEURONS], y0,
        dt_save=test.dt_save, dt=dataset.metadata["dt"]))


def _report(out: Path, surrogate: Emulator, test: Dataset, dataset: Dataset, log, *,
            plots: int = 4, seed: int = 0, arch: str = "") -> dict:
    metrics = evaluate_spiking(surrogate, test, tolerance=_SPIKE_TOLERANCE, drop=_SPIKE_DROP)
    roll, one = metrics["spikes_rollout"], metrics["spikes_one_step"]
    write_rows(out / "test_runs.csv", [
        {"run_id": int(r), "neuron": n, "rollout_rmse_mv": float(a[n]),
         "one_step_rmse_mv": float(b[n])}
        for r, a, b in zip(test.run_ids, metrics["per_run_rollout_mv"],
                           metrics["per_run_one_step_mv"], strict=True)
        for n in range(N_NEURONS)])
    rng = np.random.default_rng(seed + 1)
    picks = np.sort(rng.choice(test.n_runs, size=min(plots, test.n_runs), replace=False))
    for k in picks:
        _network_figure(test, metrics, int(k), arch, out / f"test_run_{int(test.run_ids[k])}.png")

    log("[speed] surrogate rollout vs the network engine on the same held-out batch")
    speed = _speed(surrogate, test, dataset)
    summary = {
        "rollout_rmse_mv": metrics["rollout_rmse_mv"],
        "one_step_rmse_mv": metrics["one_step_rmse_mv"],
        "spike_f1": roll["f1"],
        "speedup_vs_solver": speed["speedup"],
        "per_neuron_rollout_rmse_mv": metrics["per_neuron_rollout_mv"],
        "per_neuron_one_step_rmse_mv": metrics["per_neuron_one_step_mv"],
        "spikes_rollout": dict(roll),
        "spikes_one_step": dict(one),
        "spike_tolerance_ms": _SPIKE_TOLERANCE, "spike_reset_drop_mv": _SPIKE_DROP,
        "target_spike_f1": 0.9, "target_met": roll["f1"] >= 0.9, "arch": arch,
        "speed": {**speed, "n_runs": test.n_runs, "n_steps": int(test.states.shape[1] - 1),
                  "note": "same held-out batch, same device, compile excluded; the network "
                          "engine at the settings that made the data"},
        "plots": [f"test_run_{int(test.run_ids[k])}.png" for k in picks],
    }
    log(f"held-out free-running spike F1 {roll['f1']:.3f} (±{_SPIKE_TOLERANCE:g} ms; "
        f"precision {roll['precision']:.3f}, recall {roll['recall']:.3f}; teacher-forced "
        f"{one['f1']:.3f}); V RMSE rollout {metrics['rollout_rmse_mv']:.2f} mV, one-step "
        f"{metrics['one_step_rmse_mv']:.2f} mV; {speed['speedup']:.1f}x the engine's speed")
    log(f"wrote test_runs.csv, {len(picks)} test_run_*.png and summary.json to "
        f"{out.resolve()}")
    return summary


def pipeline(arch: str = "gated_mlp", *, plots: int = 4, seed: int = 0,
             epochs: int | None = None, n_runs: int | None = None) -> Pipeline:
    """The Izhikevich-network pipeline with surrogate `arch` (one of `ARCHES`); `plots`
    held-out runs drawn; `epochs`, `n_runs` override the sizes (tests)."""
    if arch not in ARCHES:
        raise ValueError(f"arch must be one of {ARCHES} for the izhikevich pipeline; got "
                         f"{arch!r}")
    return Pipeline(
        name="izhikevich",
        make_dataset=lambda quick, s, log: _dataset(quick, s, log, n_runs=n_runs),
        config=lambda quick, s: _config(quick, s, arch=arch, epochs=epochs),
        metrics=_metrics, speed=_speed,
        report=lambda out, sur, test, data, log: _report(out, sur, test, data, log,
                                                         plots=plots, seed=seed, arch=arch),
        val_score=_val_score,
        augment=functools.partial(permute_neurons, n_neurons=N_NEURONS))


def run_izhikevich(out: str | Path = "results/surrogate_izhikevich", *, quick: bool = False,
                   plots: int = 4, seed: int = 0, arch: str = "gated_mlp",
                   stage: str = "all", epochs: int | None = None, n_runs: int | None = None,
                   log=print) -> dict:
    """Surrogate of a 5-neuron Izhikevich network (see the module docstring): all stages
    or one `stage`; returns the summary written to `out/summary.json`."""
    return run_stages(pipeline(arch, plots=plots, seed=seed, epochs=epochs, n_runs=n_runs),
                      out, stage=stage, quick=quick, seed=seed, log=log)


def _network_figure(test: Dataset, metrics, k: int, arch: str, path: Path) -> None:
    fig, axes = plt.subplots(N_NEURONS, 1, figsize=(9, 1.6 * N_NEURONS + 0.6), sharex=True,
                             squeeze=False)
    for i in range(N_NEURONS):
        ax = axes[i, 0]
        v_true, v_pred = test.v[k, :, i], metrics["v_rollout"][k, :, i]
        ax.plot(test.ts, v_true, color="k", lw=1.6, label="physical (engine)")
        ax.plot(test.ts, v_pred, color="tab:orange", lw=1.0,
                label=f"{arch or 'surrogate'}, free-running")
        for times, y, color in ((reset_spike_times(test.ts, v_true, _SPIKE_DROP), 38, "k"),
                                (reset_spike_times(test.ts, v_pred, _SPIKE_DROP), 44,
                                 "tab:orange")):
            ax.plot(times, np.full(times.shape, y), "|", color=color, ms=6)
        ax.set_ylabel(f"v_{i} (mV)")
    axes[-1, 0].set_xlabel("time (ms)")
    axes[0, 0].legend(fontsize=8, loc="upper right")
    fig.suptitle(f"held-out run {int(test.run_ids[k])}: physical vs learned (ticks: spikes)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
