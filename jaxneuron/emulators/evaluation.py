"""Honest emulator metrics: teacher-forced one-step error and free-running rollout error
over whole held-out trajectories (RMSE in mV), error vs horizon, and the emulator's speed
against the Diffrax solver on the same batch."""

from __future__ import annotations

import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import check_int, check_real
from ..models.base import AbstractNeuron
from ..observed import check_observed
from .data import Dataset, reset_flags, simulate_runs
from .nets import Emulator


@eqx.filter_jit
def rollouts(emulator: Emulator, y0, currents):
    """Free-running predictions `(n_runs, n_t, n_states)` from `y0` `(n_runs, n_states)`
    under `currents` `(n_runs, n_t, n_inputs)`."""
    return jax.vmap(emulator.rollout)(y0, currents)


@eqx.filter_jit
def one_steps(emulator: Emulator, states, currents):
    """Teacher-forced predictions `(n_runs, n_t, n_states)` (row 0 is the true state)."""
    return jax.vmap(emulator.one_step)(states, currents)


def rollout_rmse(emulator: Emulator, states, currents, voltage_index: int = 0) -> float:
    """RMSE (mV) of the free-running voltage over all runs and save times after the first."""
    dtype = emulator.scaler.state_mean.dtype
    states = jnp.asarray(states, dtype)
    pred = rollouts(emulator, states[:, 0], jnp.asarray(currents, dtype))
    err = pred[:, 1:, voltage_index] - states[:, 1:, voltage_index]
    return float(jnp.sqrt(jnp.mean(err**2)))


def evaluate(emulator: Emulator, dataset: Dataset) -> dict:
    """Both errors on every run of `dataset` (held out from training).

    **Returns:** a dict with `one_step_rmse_mv` and `rollout_rmse_mv` (over all runs and
    save times after t = 0), `rollout_max_abs_mv`, per-run arrays `per_run_rollout_mv`
    and `per_run_one_step_mv` `(n_runs,)`, `rmse_vs_horizon_mv` `(n_t,)` (rollout RMSE at
    each save time across runs), and the predicted voltages `v_rollout` and `v_one_step`
    `(n_runs, n_t)` (mV).
    """
    dtype = emulator.scaler.state_mean.dtype
    states = jnp.asarray(dataset.states, dtype)
    currents = jnp.asarray(dataset.currents, dtype)
    i = dataset.voltage_index
    v = np.asarray(dataset.v)
    v_roll = np.asarray(rollouts(emulator, states[:, 0], currents)[..., i])
    v_one = np.asarray(one_steps(emulator, states, currents)[..., i])
    e_roll, e_one = (v_roll - v)[:, 1:], (v_one - v)[:, 1:]
    return {
        "one_step_rmse_mv": float(np.sqrt(np.mean(e_one**2))),
        "rollout_rmse_mv": float(np.sqrt(np.mean(e_roll**2))),
        "rollout_max_abs_mv": float(np.max(np.abs(e_roll))),
        "per_run_rollout_mv": np.sqrt(np.mean(e_roll**2, axis=1)),
        "per_run_one_step_mv": np.sqrt(np.mean(e_one**2, axis=1)),
        "rmse_vs_horizon_mv": np.sqrt(np.mean((v_roll - v) ** 2, axis=0)),
        "v_rollout": v_roll, "v_one_step": v_one,
    }


def _best_time(fn, repeats):
    repeats = check_int("repeats", repeats, 1)
    jax.block_until_ready(fn())  # compile and warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return min(times)


def speed_vs_solver(emulator: Emulator, dataset: Dataset, model: AbstractNeuron, *,
                    repeats: int = 3, **simulate_kwargs) -> dict:
    """Wall time of the free-running emulator vs `simulate` (jit + vmap) on the same batch
    (every run of `dataset`: same initial states, currents and parameters), same device,
    compile excluded (best of `repeats` after a warm-up).

    `simulate_kwargs` (solver options) default to those stored in the dataset's metadata,
    i.e. the settings that produced the training data.

    **Returns:** `{"surrogate_s", "solver_s", "speedup": solver_s / surrogate_s, "n_runs",
    "n_steps", "solver_options"}`.
    """
    options = {**dataset.metadata.get("simulate", {}), **simulate_kwargs}
    dtype = emulator.scaler.state_mean.dtype
    states = jnp.asarray(dataset.states, dtype)
    currents = jnp.asarray(dataset.currents, dtype)
    y0 = states[:, 0]
    params = {k: jnp.asarray(v, dtype) for k, v in dataset.params.items()}
    if currents.shape[-1] != 1:
        raise ValueError("speed_vs_solver compares single-input models (n_inputs = 1); got "
                         f"{currents.shape[-1]} inputs")
    sim_dtype = model.initial_state().dtype

    def solver():
        return simulate_runs(model, {k: v.astype(sim_dtype) for k, v in params.items()},
                             y0.astype(sim_dtype), currents[..., 0].astype(sim_dtype),
                             dt_save=dataset.dt_save, **options)

    surrogate_s = _best_time(lambda: rollouts(emulator, y0, currents), repeats)
    solver_s = _best_time(solver, repeats)
    return {"surrogate_s": surrogate_s, "solver_s": solver_s,
            "speedup": solver_s / surrogate_s, "n_runs": dataset.n_runs,
            "n_steps": int(dataset.states.shape[1] - 1), "solver_options": options}


# --- spiking targets: spike-time matching and firing rates --------------------------------

def reset_spike_times(ts, v, drop: float = 25.0) -> np.ndarray:
    """Spike times (ms) of one sampled voltage trace of a threshold-and-reset model: the
    save times `ts[k+1]` at which V fell by more than `drop` mV since `ts[k]` (a spike and
    its reset happened in between; on a save grid coarser than the spike's upstroke the
    peak itself is often not sampled, the reset always is).

    **Arguments:** `ts` `(n_t,)` ms, `v` `(n_t,)` mV, `drop` (mV, > 0).
    """
    check_real("drop (mV)", drop, gt=0)
    return np.asarray(ts)[1:][reset_flags(np.asarray(v), drop)]


def match_spikes(true_times, pred_times, tolerance: float = 2.0) -> int:
    """The largest number of one-to-one pairs (true, predicted) of spike times that lie
    within `tolerance` ms of each other (greedy in time order, optimal for points on a
    line).

    **Raises:** `ValueError` for times that are not finite 1-D arrays, or a `tolerance`
    that is not a finite number >= 0."""
    check_real("tolerance (ms)", tolerance, ge=0)
    true_times = np.sort(check_observed("true_times", true_times, ndim=1))
    pred_times = np.sort(check_observed("pred_times", pred_times, ndim=1))
    i = j = matched = 0
    while i < true_times.size and j < pred_times.size:
        gap = pred_times[j] - true_times[i]
        if abs(gap) <= tolerance:
            matched, i, j = matched + 1, i + 1, j + 1
        elif gap < 0:
            j += 1
        else:
            i += 1
    return matched


def spike_scores(true_trains, pred_trains, duration: float, tolerance: float = 2.0) -> dict:
    """Spike-time precision, recall and F1 within ±`tolerance` ms, pooled over trains, and
    the firing-rate error.

    **Arguments:** `true_trains`, `pred_trains`: sequences of spike-time arrays (ms), one
    pair per train (neuron and run); `duration`: length of each train (ms).

    **Returns:** `{"precision", "recall", "f1", "n_true", "n_pred", "n_matched",
    "rate_error_hz"}` (mean |predicted - true| rate per train, Hz; `"rate_bias_hz"` its
    signed mean). With no spikes at all on either side, precision = recall = F1 = 1.
    """
    if len(true_trains) != len(pred_trains):
        raise ValueError(f"true_trains and pred_trains must pair up; got {len(true_trains)} "
                         f"and {len(pred_trains)}")
    check_real("duration (ms)", duration, gt=0)
    n_true = sum(len(t) for t in true_trains)
    n_pred = sum(len(p) for p in pred_trains)
    n_matched = sum(match_spikes(t, p, tolerance) for t, p in zip(true_trains, pred_trains,
                                                                    strict=True))
    precision = n_matched / n_pred if n_pred else float(n_true == 0)
    recall = n_matched / n_true if n_true else float(n_pred == 0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    rate_diff = np.array([len(p) - len(t) for t, p in zip(true_trains, pred_trains,
                                                          strict=True)]) * 1000.0 / duration
    return {"precision": precision, "recall": recall, "f1": f1, "n_true": n_true,
            "n_pred": n_pred, "n_matched": n_matched,
            "rate_error_hz": float(np.mean(np.abs(rate_diff))) if rate_diff.size else 0.0,
            "rate_bias_hz": float(np.mean(rate_diff)) if rate_diff.size else 0.0}


def spike_metrics(ts, v_true, v_pred, *, tolerance: float = 2.0, drop: float = 25.0) -> dict:
    """`spike_scores` of the spikes (`reset_spike_times`) of predicted vs true voltages.

    **Arguments:** `ts` `(n_t,)` ms; `v_true`, `v_pred` `(n_runs, n_t, n_neurons)` (or
    `(n_runs, n_t)`) mV.

    **Returns:** the pooled scores plus `"per_neuron_f1"` `(n_neurons,)`.
    """
    v_true, v_pred = np.asarray(v_true), np.asarray(v_pred)
    if v_true.shape != v_pred.shape:
        raise ValueError(f"v_true and v_pred must have one shape; got {v_true.shape}, "
                         f"{v_pred.shape}")
    if v_true.ndim == 2:
        v_true, v_pred = v_true[..., None], v_pred[..., None]
    duration = float(ts[-1] - ts[0])
    trains = [[(reset_spike_times(ts, v_true[r, :, n], drop),
                reset_spike_times(ts, v_pred[r, :, n], drop)) for r in range(v_true.shape[0])]
              for n in range(v_true.shape[2])]
    per_neuron = [spike_scores([a for a, _ in t], [b for _, b in t], duration, tolerance)
                  for t in trains]
    pooled = [pair for t in trains for pair in t]
    scores = spike_scores([a for a, _ in pooled], [b for _, b in pooled], duration, tolerance)
    scores["per_neuron_f1"] = np.array([s["f1"] for s in per_neuron])
    return scores


def evaluate_spiking(emulator: Emulator, dataset: Dataset, *, tolerance: float = 2.0,
                     drop: float = 25.0) -> dict:
    """`evaluate` plus, per neuron (the columns of a tuple `voltage_index`), rollout and
    one-step RMSE (`per_neuron_rollout_mv`, `per_neuron_one_step_mv`, mV) and spike
    metrics of the free-running (`spikes_rollout`) and teacher-forced (`spikes_one_step`)
    predictions (see `spike_metrics`)."""
    metrics = evaluate(emulator, dataset)
    v = np.asarray(dataset.v)
    if v.ndim == 2:
        v = v[..., None]
        for key in ("v_rollout", "v_one_step"):
            metrics[key] = metrics[key][..., None]
    for key in ("rollout", "one_step"):
        err = (metrics[f"v_{key}"] - v)[:, 1:]
        metrics[f"per_neuron_{key}_mv"] = np.sqrt(np.mean(err**2, axis=(0, 1)))
        metrics[f"spikes_{key}"] = spike_metrics(dataset.ts, v, metrics[f"v_{key}"],
                                                 tolerance=tolerance, drop=drop)
    return metrics


def speed_vs(emulator: Emulator, dataset: Dataset, solver, *, repeats: int = 3) -> dict:
    """Wall time of the free-running emulator on every run of `dataset` vs `solver()` (a
    callable that simulates the same batch), same device, compile excluded (best of
    `repeats` after a warm-up). **Returns:** `{"surrogate_s", "solver_s", "speedup"}`."""
    dtype = emulator.scaler.state_mean.dtype
    states = jnp.asarray(dataset.states, dtype)
    currents = jnp.asarray(dataset.currents, dtype)
    surrogate_s = _best_time(lambda: rollouts(emulator, states[:, 0], currents), repeats)
    solver_s = _best_time(solver, repeats)
    return {"surrogate_s": surrogate_s, "solver_s": solver_s,
            "speedup": solver_s / surrogate_s}
