"""Surrogate speed: learned surrogates vs the solvers that made their data, and SciPy.

Same batch, same device, compile time excluded (best of 5 warm calls, 3 for the network;
the surrogate's compile time is reported apart). Accuracy is not the point here, speed is: unless a
trained checkpoint is given, a small surrogate is trained for a few epochs only, and its
free-running rollout RMSE is printed so that the timed network is known.

- `resting`: the LSTM surrogate of `jaxneuron surrogate resting` (RestingMembrane, GHK
  leaks, fixed concentrations, random current, saved every 0.5 ms) against
  `simulate_runs` (jit(vmap(simulate))) with Tsit5 at fixed dt = 0.1 ms (the settings of
  the data), Tsit5 with one step per 0.5 ms save, and SciPy `solve_ivp` RK45 at
  rtol = atol = 1e-6 with the same linearly interpolated current (a Python loop over a
  subset of runs, extrapolated per run to the batch).
- `izhikevich`: the `gated_mlp` surrogate of `jaxneuron surrogate izhikevich` (5-neuron
  all-to-all Izhikevich network) against the network engine `simulate_network_runs` at
  the settings of the data.

The batch is the held-out test runs, or those runs tiled up to `--batch N`.
"V RMSE" is against the stored dataset (Diffrax Tsit5, dt = 0.1 ms; for the network, the
engine): the surrogate's free-running rollout on the jaxneuron side, the baseline's own
error on the baseline side.

    python benchmarks/surrogate_speed.py [--quick] [--batch N] [--json PATH]
        [--checkpoint DIR] [--izh-checkpoint DIR] [--epochs K] [--n-scipy 20] [--seed 0]

`--checkpoint DIR` / `--izh-checkpoint DIR`: a folder written by `jaxneuron surrogate
resting` / `jaxneuron surrogate izhikevich` (holding `checkpoint/` and `dataset.npz`).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from jaxneuron.apps.benchmarking import machine, report
from jaxneuron.apps.workflows import surrogate_izhikevich as izh, surrogate_resting as resting
from jaxneuron.apps.workflows._surrogate_stages import CHECKPOINT_DIR, DATASET_FILE, SPLIT
from jaxneuron.baselines.scipy_resting import simulate_resting_scipy
from jaxneuron.emulators import (
    Dataset,
    load_checkpoint,
    permute_neurons,
    rollout_rmse,
    simulate_runs,
    speed_vs_solver,
    split_by_run,
    train,
)
from jaxneuron.models.resting import RestingMembrane

SCIPY_TOL = 1e-6
REPEATS = 5  # warm calls, best taken (the izhikevich row: 3, inside `izh._speed`)

COLUMNS = [("case", "case", "s"), ("n", "n", "d"), ("n_steps", "steps", "d"),
           ("jaxneuron_s", "surrogate s", ".4f"), ("compile_s", "compile s", ".2f"),
           ("surrogate_rmse_mv", "surrogate V RMSE mV", ".3f"),
           ("surrogate_spike_f1", "surrogate spike F1", ".2f"),
           ("baseline", "baseline", "s"), ("baseline_s", "baseline s", ".4f"),
           ("baseline_rmse_mv", "baseline V RMSE mV", ".2e"), ("speedup", "speedup", ".2f")]


def log(message: str) -> None:
    print(message, flush=True)


def tiled(test: Dataset, n: int | None) -> Dataset:
    """The test runs, tiled (repeated in order) up to `n` runs; all of them if `n` is None."""
    if n is None:
        return test
    if n < 1:
        raise ValueError(f"--batch must be >= 1; got {n}")
    return test.subset(np.resize(np.arange(test.n_runs), n))


def load_or_train(folder, make_dataset, config, *, val_score=None, augment=None):
    """(surrogate, info, test, dataset): read `folder` (checkpoint + dataset) or simulate the
    dataset and train a surrogate with `config`."""
    if folder is not None:
        folder = Path(folder)
        dataset = Dataset.load(folder / DATASET_FILE)
        surrogate, info = load_checkpoint(folder / CHECKPOINT_DIR)
        log(f"  loaded {folder / CHECKPOINT_DIR} ({info['net']['arch']}, "
            f"{info['net']['hidden_size']} units) and {dataset.n_runs} runs")
    else:
        tic = time.perf_counter()
        dataset = make_dataset()
        log(f"  simulated {dataset.n_runs} runs in {time.perf_counter() - tic:.1f} s")
    parts = split_by_run(dataset, SPLIT, seed=int(dataset.metadata.get("seed", 0)))
    if folder is None:
        log(f"  training {config.arch} ({config.hidden_size} units) for {config.epochs} "
            f"epochs on {parts['train'].n_runs} runs (for timing only; accuracy is not the "
            "point here)")
        tic = time.perf_counter()
        result = train(parts["train"], parts["val"], config, progress=False,
                       val_score=None if val_score is None else val_score(parts["val"]),
                       augment=augment)
        log(f"  trained in {time.perf_counter() - tic:.1f} s (best epoch {result.best_epoch})")
        surrogate, info = result.emulator, {"net": dataclasses.asdict(result.net_config)}
    return surrogate, info, parts["test"], dataset


def surrogate_compile_s(surrogate, batch: Dataset) -> float:
    """Compile time of the batched rollout: first call minus a warm call of a freshly
    jitted copy of `rollouts` (its own cache: training may have compiled `rollouts` for a
    validation batch of the same shape already)."""
    fresh = eqx.filter_jit(lambda s, y0, u: jax.vmap(s.rollout)(y0, u))
    dtype = surrogate.scaler.state_mean.dtype
    y0 = jnp.asarray(batch.states[:, 0], dtype)
    currents = jnp.asarray(batch.currents, dtype)
    times = []
    for _ in range(2):
        start = time.perf_counter()
        jax.block_until_ready(fresh(surrogate, y0, currents))
        times.append(time.perf_counter() - start)
    return max(times[0] - times[1], 0.0)


def scipy_resting(test: Dataset, n_runs: int) -> tuple[float, float]:
    """SciPy RK45 (rtol = atol = 1e-6) on the first `n_runs` test runs with the same
    linearly interpolated current: (seconds per run, V RMSE vs the dataset in mV)."""
    if test.params:
        raise ValueError("the SciPy baseline assumes the default RestingMembrane parameters")
    ts = np.asarray(test.ts, float)
    n = min(n_runs, test.n_runs)
    errors = []
    start = time.perf_counter()
    for k in range(n):
        samples = np.asarray(test.currents[k, :, 0], float)
        result = simulate_resting_scipy(functools.partial(np.interp, xp=ts, fp=samples),
                                        t0=ts[0], t1=ts[-1], y0=test.states[k, 0],
                                        t_eval=ts, method="RK45", rtol=SCIPY_TOL,
                                        atol=SCIPY_TOL)
        errors.append(result.states[:, 0] - test.v[k])
    per_run = (time.perf_counter() - start) / n
    err = np.stack(errors)[:, 1:]
    return per_run, float(np.sqrt(np.mean(err**2)))


def resting_rows(args) -> list[dict]:
    log("[resting] LSTM surrogate vs Diffrax Tsit5 and SciPy RK45")
    config = dataclasses.replace(resting._config(args.quick, args.seed), hidden_size=16,
                                 epochs=args.epochs or (3 if args.quick else 8))
    surrogate, info, test, dataset = load_or_train(
        args.checkpoint, lambda: resting._dataset(args.quick, args.seed, log), config)
    batch = tiled(test, args.batch)
    n_steps = int(batch.states.shape[1] - 1)
    compile_s = surrogate_compile_s(surrogate, batch)
    rmse = rollout_rmse(surrogate, test.states, test.currents, test.voltage_index)
    log(f"  surrogate rollout RMSE on {test.n_runs} held-out runs: {rmse:.3f} mV")
    model = RestingMembrane()
    arch = f"{info['net']['arch']} {info['net']['hidden_size']} units"
    rows = []
    common = {"n": batch.n_runs, "n_steps": n_steps, "compile_s": compile_s,
              "surrogate_rmse_mv": rmse, "device": str(jax.devices()[0])}
    for label, options in (("Tsit5 fixed dt=0.1 ms (data settings)", {}),
                           (f"Tsit5 one step per {batch.dt_save:g} ms save",
                            {"dt": batch.dt_save})):
        log(f"  timing the surrogate vs {label} on {batch.n_runs} runs")
        speed = speed_vs_solver(surrogate, batch, model, repeats=REPEATS, **options)
        error = None
        if options:  # the data's own settings reproduce the data: no error to report
            sim_dtype = model.initial_state().dtype
            states = simulate_runs(model, {}, jnp.asarray(batch.states[:, 0], sim_dtype),
                                   jnp.asarray(batch.currents[..., 0], sim_dtype),
                                   dt_save=batch.dt_save, **speed["solver_options"])
            err = (np.asarray(states)[..., batch.voltage_index] - batch.v)[:, 1:]
            error = float(np.sqrt(np.mean(err.astype(float) ** 2)))
        rows.append({"case": f"resting: {arch}", **common, "jaxneuron_s": speed["surrogate_s"],
                     "baseline": f"diffrax {label}", "baseline_s": speed["solver_s"],
                     "baseline_rmse_mv": error, "speedup": speed["speedup"],
                     "solver_options": speed["solver_options"]})
    log(f"  SciPy RK45 rtol=atol={SCIPY_TOL:g} on {min(args.n_scipy, test.n_runs)} runs")
    per_run, scipy_rmse = scipy_resting(test, args.n_scipy)
    surrogate_s = min(r["jaxneuron_s"] for r in rows)
    rows.append({"case": f"resting: {arch}", **common, "jaxneuron_s": surrogate_s,
                 "baseline": f"scipy RK45 rtol=atol={SCIPY_TOL:g} (python loop on "
                             f"{min(args.n_scipy, test.n_runs)} runs, extrapolated)",
                 "baseline_s": per_run * batch.n_runs, "baseline_ms_per_run": 1e3 * per_run,
                 "baseline_rmse_mv": scipy_rmse, "speedup": per_run * batch.n_runs / surrogate_s})
    return rows


def izhikevich_rows(args) -> list[dict]:
    log("[izhikevich] gated-MLP network surrogate vs the network engine")
    config = izh._config(args.quick, args.seed, arch="gated_mlp",
                         epochs=args.epochs or (6 if args.quick else 15))
    surrogate, info, test, dataset = load_or_train(
        args.izh_checkpoint, lambda: izh._dataset(args.quick, args.seed, log), config,
        val_score=izh._val_score,
        augment=functools.partial(permute_neurons, n_neurons=izh.N_NEURONS))
    batch = tiled(test, args.batch)
    compile_s = surrogate_compile_s(surrogate, batch)
    rmse = rollout_rmse(surrogate, test.states, test.currents, test.voltage_index)
    f1 = izh._free_running_spikes(surrogate, test)["f1"]
    log(f"  surrogate rollout V RMSE on {test.n_runs} held-out runs: {rmse:.2f} mV, spike F1 "
        f"{f1:.3f}")
    log(f"  timing the surrogate vs the network engine on {batch.n_runs} runs")
    speed = izh._speed(surrogate, batch, dataset)
    return [{"case": f"izhikevich 5-neuron network: {info['net']['arch']} "
                     f"{info['net']['hidden_size']} units",
             "n": batch.n_runs, "n_steps": int(batch.states.shape[1] - 1),
             "jaxneuron_s": speed["surrogate_s"], "compile_s": compile_s,
             "surrogate_rmse_mv": rmse, "surrogate_spike_f1": f1,
             "baseline": f"network engine dt={dataset.metadata['dt']:g} ms (data settings)",
             "baseline_s": speed["solver_s"], "baseline_rmse_mv": None,
             "speedup": speed["speedup"], "device": str(jax.devices()[0])}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="the quick datasets (240 / 200 runs of 100 ms), fewer epochs")
    parser.add_argument("--batch", type=int, help="tile the held-out runs up to N runs")
    parser.add_argument("--checkpoint", help="folder of `jaxneuron surrogate resting`")
    parser.add_argument("--izh-checkpoint", help="folder of `jaxneuron surrogate izhikevich`")
    parser.add_argument("--epochs", type=int, help="training epochs when no checkpoint "
                        "(default: resting 3 / izhikevich 6 with --quick, else 8 / 15)")
    parser.add_argument("--n-scipy", type=int, default=20, help="runs timed with SciPy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write results as JSON to this path")
    args = parser.parse_args()
    log(f"machine: {machine()}")
    log(f"jax.devices(): {jax.devices()}")
    log("accuracy is not the point here, speed is (surrogates trained for a few epochs "
        "unless a checkpoint is given); times exclude compilation")
    rows = resting_rows(args) + izhikevich_rows(args)
    report(rows, COLUMNS, "surrogate_speed", args.json)


if __name__ == "__main__":
    main()
