"""Honest surrogate metrics: teacher-forced one-step error and free-running rollout error
over whole held-out trajectories (RMSE in mV), error vs horizon, and the surrogate's speed
against the Diffrax solver on the same batch."""

from __future__ import annotations

import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..models.base import AbstractNeuron
from .data import Dataset, simulate_runs
from .nets import Surrogate


@eqx.filter_jit
def rollouts(surrogate: Surrogate, y0, currents):
    """Free-running predictions `(n_runs, n_t, n_states)` from `y0` `(n_runs, n_states)`
    under `currents` `(n_runs, n_t, n_inputs)`."""
    return jax.vmap(surrogate.rollout)(y0, currents)


@eqx.filter_jit
def one_steps(surrogate: Surrogate, states, currents):
    """Teacher-forced predictions `(n_runs, n_t, n_states)` (row 0 is the true state)."""
    return jax.vmap(surrogate.one_step)(states, currents)


def rollout_rmse(surrogate: Surrogate, states, currents, voltage_index: int = 0) -> float:
    """RMSE (mV) of the free-running voltage over all runs and save times after the first."""
    dtype = surrogate.scaler.state_mean.dtype
    states = jnp.asarray(states, dtype)
    pred = rollouts(surrogate, states[:, 0], jnp.asarray(currents, dtype))
    err = pred[:, 1:, voltage_index] - states[:, 1:, voltage_index]
    return float(jnp.sqrt(jnp.mean(err**2)))


def evaluate(surrogate: Surrogate, dataset: Dataset) -> dict:
    """Both errors on every run of `dataset` (held out from training).

    **Returns:** a dict with `one_step_rmse_mv` and `rollout_rmse_mv` (over all runs and
    save times after t = 0), `rollout_max_abs_mv`, per-run arrays `per_run_rollout_mv`
    and `per_run_one_step_mv` `(n_runs,)`, `rmse_vs_horizon_mv` `(n_t,)` (rollout RMSE at
    each save time across runs), and the predicted voltages `v_rollout` and `v_one_step`
    `(n_runs, n_t)` (mV).
    """
    dtype = surrogate.scaler.state_mean.dtype
    states = jnp.asarray(dataset.states, dtype)
    currents = jnp.asarray(dataset.currents, dtype)
    i = dataset.voltage_index
    v = np.asarray(dataset.v)
    v_roll = np.asarray(rollouts(surrogate, states[:, 0], currents)[..., i])
    v_one = np.asarray(one_steps(surrogate, states, currents)[..., i])
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
    jax.block_until_ready(fn())  # compile and warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return min(times)


def speed_vs_solver(surrogate: Surrogate, dataset: Dataset, model: AbstractNeuron, *,
                    repeats: int = 3, **simulate_kwargs) -> dict:
    """Wall time of the free-running surrogate vs `simulate` (jit + vmap) on the same batch
    (every run of `dataset`: same initial states, currents and parameters), same device,
    compile excluded (best of `repeats` after a warm-up).

    `simulate_kwargs` (solver options) default to those stored in the dataset's metadata,
    i.e. the settings that produced the training data.

    **Returns:** `{"surrogate_s", "solver_s", "speedup": solver_s / surrogate_s, "n_runs",
    "n_steps", "solver_options"}`.
    """
    options = {**dataset.metadata.get("simulate", {}), **simulate_kwargs}
    dtype = surrogate.scaler.state_mean.dtype
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

    surrogate_s = _best_time(lambda: rollouts(surrogate, y0, currents), repeats)
    solver_s = _best_time(solver, repeats)
    return {"surrogate_s": surrogate_s, "solver_s": solver_s,
            "speedup": solver_s / surrogate_s, "n_runs": dataset.n_runs,
            "n_steps": int(dataset.states.shape[1] - 1), "solver_options": options}
