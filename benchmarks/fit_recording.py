"""Fitting a recording's features: the gradient multi-start fit against CMA-ES and SciPy.

A 5-sweep current-clamp recording of an Izhikevich RS cell with known parameters (steps of
-50 to +200 pA, 20 kHz, 0.5 mV noise, +7 mV junction offset) is written to NWB, read back
with the offset corrected, and a, b, c, d are fitted on the same feature loss
(`jaxneuron.recording_objective`, z-scores of eFEL features summed over sweeps) by
`jaxneuron.fit_recording` (L-BFGS from many starts, vmapped), by CMA-ES (evosax, population
evaluated by `jit(vmap(objective))`) and by SciPy Nelder-Mead from a few starts. For each:
simulated sweeps and wall time to reach CMA-ES's final loss, final loss, parameter errors.

    python benchmarks/fit_recording.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

import jaxneuron as jn  # noqa: E402
from jaxneuron.apps.benchmarking import format_table, write_json  # noqa: E402
from jaxneuron.recordings import Recording, Sweep, load, write_nwb  # noqa: E402

TRUE = {"a": 0.02, "b": 0.2, "c": -65.0, "d": 8.0}
"""The Izhikevich RS parameters that made the recording."""
BOUNDS = {"a": (0.005, 0.08), "b": (0.15, 0.25), "c": (-75.0, -50.0), "d": (2.0, 14.0)}
"""Where every method searches."""
AMPS_PA = (-50.0, 25.0, 60.0, 120.0, 200.0)
"""Step amplitudes (pA): two below threshold, three spiking."""
SCALE = "10 pA"  # one unit of the Izhikevich model's dimensionless current
SAMPLE_MS, T1 = 0.05, 250.0  # ms; the step runs from 10 % to 90 % of the sweep
NOISE_MV, JUNCTION_MV = 0.5, 7.0
MODEL = jn.Izhikevich(v_init=-70.0)  # at rest for the true b (0.2)
FEATURE_SETS = {
    "default": None,  # fit_recording's DEFAULT_FEATURES
    "no-peak": ("Spikecount", "time_to_first_spike", "mean_frequency", "ISI_CV",
                "voltage_base", "sag_amplitude", "ohmic_input_resistance"),
}
"""`--features`: the default set, or the default set without `peak_voltage` and
`steady_state_voltage`, whose values on a reset model's sampled voltage jump as spikes move
across samples and across the end of the window."""


def make_recording(folder, *, seed: int = 0, amps=AMPS_PA, t1: float = T1) -> Recording:
    """Simulate the true model under the steps, add noise and the junction offset, write
    the sweeps to `folder`/recording.nwb and return what `recordings.load` reads back
    (offset corrected)."""
    t = np.arange(0.0, t1 + 1e-9, SAMPLE_MS)
    currents = [np.where((t >= 0.1 * t1) & (t < 0.9 * t1), a, 0.0) for a in amps]

    def recording(voltages):
        return Recording(tuple(
            Sweep(time=t, voltage=v, current=c, current_unit="pA", name=f"step_{a:g}pA")
            for v, c, a in zip(voltages, currents, amps, strict=True)))

    truth = jn.Izhikevich(v_init=-70.0, **TRUE)
    stimuli = recording([np.zeros_like(t)] * len(amps)).stimulus(truth, scale=SCALE)
    traces = jax.vmap(lambda s: jn.simulate(truth, s, t1=t1, dt=SAMPLE_MS / 2,
                                            save_every=SAMPLE_MS, max_spikes=64))(stimuli)
    rng = np.random.default_rng(seed)
    voltages = [np.asarray(v) + NOISE_MV * rng.standard_normal(t.size) + JUNCTION_MV
                for v in traces.v]
    path = os.path.join(folder, "recording.nwb")
    write_nwb(recording(voltages), path, overwrite=True)
    return load(path, junction_offset=JUNCTION_MV)


def _box(objective):
    """`objective` on the unit box: x in [0, 1]^dim -> the parameters, clipped."""
    low = jnp.array([BOUNDS[n][0] for n in objective.names])
    high = jnp.array([BOUNDS[n][1] for n in objective.names])

    def on_box(x):
        return objective(low + jnp.clip(x, 0.0, 1.0) * (high - low))

    def to_theta(x):
        return np.asarray(low + np.clip(x, 0.0, 1.0) * (high - low))

    return on_box, to_theta


def _trajectory(sweeps, seconds, losses) -> dict:
    """Cumulative simulated sweeps and seconds with the best loss so far after each."""
    best = np.minimum.accumulate(np.where(np.isfinite(losses), losses, np.inf))
    return {"sweeps": np.asarray(sweeps, float), "seconds": np.asarray(seconds, float),
            "best": best}


def reach(trajectory: dict, level: float, *, key: str = "sweeps"):
    """The first cumulative `key` at which the best loss is at most `level` (None if never)."""
    hit = np.flatnonzero(trajectory["best"] <= level * (1 + 1e-9) + 1e-12)
    return float(trajectory[key][hit[0]]) if hit.size else None


def gradient_fit(recording, *, starts: int, steps: int, key, features=None,
                 measure_compile: bool = True) -> dict:
    """`jn.fit_recording` (features loss, L-BFGS, `starts` vmapped starts). Compile time is
    the run time of the same fit stopped after one update (with `measure_compile`; else
    None, and the times include compilation); the trajectory follows the
    starts in lockstep (they run vmapped): after update k every running start has made k + 1
    updates at its own mean number of evaluations per update."""
    options = {"starts": starts, "key": key, "scale": SCALE, "features": features}
    compile_s = (jn.fit_recording(recording, MODEL, BOUNDS, steps=1, **options).restarts.seconds
                 if measure_compile else None)
    fit = jn.fit_recording(recording, MODEL, BOUNDS, steps=steps, **options)
    r = fit.restarts
    n_sweeps = len(fit.train)
    updates = r.steps + 1                       # value-and-gradient evaluations per start
    per_update = r.evaluations / updates        # mean evaluations per update, per start
    k = np.arange(updates.max())
    active = np.minimum(k[:, None] + 1, updates[None, :])   # (k, start)
    history = np.where(np.isfinite(r.loss_history), r.loss_history, np.inf)
    best_k = np.min(history[:, : len(k)], axis=0)
    run_s = max(r.seconds - compile_s, 0.0) if measure_compile else r.seconds
    traj = _trajectory(n_sweeps * (active * per_update).sum(1),
                       run_s * (k + 1) / len(k), best_k)
    traj["updates"] = (active.sum(1)).astype(float)
    return {"method": f"gradient (fit_recording, {starts} starts, L-BFGS)",
            "theta": np.array([fit.params[n] for n in BOUNDS]), "loss": float(r.loss[0]),
            "seconds": run_s, "compile_s": compile_s, "trajectory": traj,
            "simulated_sweeps": fit.simulated_sweeps, "n_sweeps": n_sweeps,
            "evaluations": int(r.evaluations.sum()), "fit": fit}


def cmaes_fit(objective, *, population: int, generations: int, key, std: float = 0.25) -> dict:
    """CMA-ES (evosax) on the unit box, centred, the population by `jit(vmap(objective))`;
    points outside the box are clipped, plus a quadratic penalty so the search stays in."""
    from evosax.algorithms import CMA_ES

    on_box, to_theta = _box(objective)
    batch = jax.jit(jax.vmap(on_box))
    dim = len(objective.names)
    es = CMA_ES(population_size=population, solution=jnp.zeros(dim))
    params = es.default_params.replace(std_init=std)
    key, sub = jax.random.split(key)
    state = es.init(sub, jnp.full(dim, 0.5), params)
    ask, tell = jax.jit(es.ask), jax.jit(es.tell)
    begin = time.perf_counter()
    xs, _ = ask(sub, state, params)
    jax.block_until_ready(batch(xs))
    compile_s = time.perf_counter() - begin
    sweeps, seconds, losses, best_x, best = [], [], [], None, np.inf
    begin = time.perf_counter()
    for g in range(generations):
        key, k_ask, k_tell = jax.random.split(key, 3)
        xs, state = ask(k_ask, state, params)
        loss = np.asarray(batch(xs))
        outside = np.sum((np.asarray(xs) - np.clip(xs, 0, 1)) ** 2, axis=1)
        fitness = np.where(np.isfinite(loss), loss, 1e6) + 1e3 * outside
        state, _ = tell(k_tell, xs, jnp.asarray(fitness), state, params)
        i = int(np.argmin(loss))
        if loss[i] < best:
            best, best_x = float(loss[i]), np.asarray(xs[i])
        sweeps.append((g + 1) * population)
        seconds.append(time.perf_counter() - begin)
        losses.append(float(np.min(loss)))
    return {"method": f"CMA-ES (evosax, population {population}, {generations} generations)",
            "theta": to_theta(best_x), "loss": best, "seconds": seconds[-1],
            "compile_s": compile_s, "evaluations": generations * population,
            "trajectory": _trajectory(sweeps, seconds, losses)}


def scipy_fit(objective, *, starts: np.ndarray, max_evaluations: int) -> dict:
    """SciPy Nelder-Mead on the unit box (bounds given to SciPy) from each of `starts`
    (unit-box points) in turn, `max_evaluations` objective calls each, jitted objective."""
    from scipy.optimize import minimize

    on_box, to_theta = _box(objective)
    single = jax.jit(on_box)
    begin = time.perf_counter()
    single(jnp.asarray(starts[0])).block_until_ready()
    compile_s = time.perf_counter() - begin
    losses, seconds, best_x = [], [], None

    def f(x):
        value = float(single(jnp.asarray(x)))
        losses.append(value)
        seconds.append(time.perf_counter() - begin)
        return value if np.isfinite(value) else 1e6

    begin = time.perf_counter()
    best = np.inf
    for x0 in starts:
        result = minimize(f, x0, method="Nelder-Mead", bounds=[(0.0, 1.0)] * len(x0),
                          options={"maxfev": max_evaluations, "xatol": 1e-6, "fatol": 1e-6})
        if result.fun < best:
            best, best_x = float(result.fun), result.x
    return {"method": f"SciPy Nelder-Mead ({len(starts)} starts, <= {max_evaluations} "
                      "evaluations each)",
            "theta": to_theta(best_x), "loss": best, "seconds": seconds[-1],
            "compile_s": compile_s, "evaluations": len(losses),
            "trajectory": _trajectory(np.arange(1, len(losses) + 1), seconds, losses)}


def gradient_cost(objective, thetas) -> dict:
    """Measured cost of one value-and-gradient over one value, in a vmapped batch of
    `thetas`: forward mode (what the L-BFGS updates and their line search use for few
    parameters) and reverse mode (for comparison)."""
    from jaxneuron.gradients import value_and_grad

    thetas = jnp.asarray(thetas)
    calls = {"value": jax.jit(jax.vmap(objective)),
             "forward": jax.jit(jax.vmap(value_and_grad(objective, "forward"))),
             "reverse": jax.jit(jax.vmap(jax.value_and_grad(objective)))}
    seconds = {}
    for name, call in calls.items():
        jax.block_until_ready(call(thetas))
        best = np.inf
        for _ in range(3):
            begin = time.perf_counter()
            jax.block_until_ready(call(thetas))
            best = min(best, time.perf_counter() - begin)
        seconds[name] = best
    return {"forward": seconds["forward"] / seconds["value"],
            "reverse": seconds["reverse"] / seconds["value"],
            "value_s_per_set": seconds["value"] / len(thetas)}


def compare(*, starts: int = 8, steps: int = 100, population: int = 16,
            generations: int = 60, scipy_starts: int = 3, scipy_evaluations: int = 300,
            seed: int = 0, amps=AMPS_PA, t1: float = T1,
            features=None, measure_compile: bool = True) -> tuple[list[dict], dict]:
    """Run all three fits on one recording; returns the table rows and the details."""
    with tempfile.TemporaryDirectory() as folder:
        recording = make_recording(folder, seed=seed, amps=amps, t1=t1)
    objective = jn.recording_objective(recording, MODEL, BOUNDS, scale=SCALE,
                                       features=features)
    n_sweeps = len(recording)
    key = jax.random.PRNGKey(seed)
    truth = np.array([TRUE[n] for n in objective.names])
    rng = np.random.default_rng(seed)
    results = []
    for run in (lambda: gradient_fit(recording, starts=starts, steps=steps, key=key,
                                      features=features, measure_compile=measure_compile),
                lambda: cmaes_fit(objective, population=population, generations=generations,
                                  key=key),
                lambda: scipy_fit(objective,
                                  starts=rng.uniform(0.0, 1.0, (scipy_starts, len(truth))),
                                  max_evaluations=scipy_evaluations)):
        begin = time.perf_counter()
        results.append(run())
        print(f"{results[-1]['method']}: {time.perf_counter() - begin:.1f} s in all",
              flush=True)
    cost = gradient_cost(objective, jnp.stack([jnp.asarray(r["theta"]) for r in results]
                                              * max(1, starts // 3))[:starts])
    level = results[1]["loss"]  # CMA-ES's final best loss: the common target
    loss_at_truth = float(jax.jit(lambda x: objective(x))(jnp.asarray(truth)))
    rows = []
    for r in results:
        traj = r["trajectory"]
        gradient = "updates" in traj
        sweeps = traj["sweeps"] * (1 if gradient else n_sweeps)
        # Every evaluation of the gradient fit (each update's and each line-search step's) is
        # a forward-mode value and gradient.
        equivalents = sweeps * cost["forward"] if gradient else sweeps
        traj = {**traj, "sweeps": sweeps, "equivalents": equivalents}
        errors = np.abs(r["theta"] - truth) / np.abs(truth)
        row = {"case": r["method"], "n": n_sweeps,
               "sweeps_to_target": reach(traj, level),
               "equivalents_to_target": reach(traj, level, key="equivalents"),
               "seconds_to_target": reach(traj, level, key="seconds"),
               "final_loss": r["loss"], "sweeps_total": float(sweeps[-1]),
               "equivalents_total": float(equivalents[-1]), "seconds": r["seconds"],
               "compile_s": r["compile_s"], "evaluations": r["evaluations"],
               "max_rel_error": float(errors.max())}
        for name, e in zip(objective.names, errors, strict=True):
            row[f"rel_error_{name}"] = float(e)
        row["fitted"] = {n: float(v) for n, v in zip(objective.names, r["theta"], strict=True)}
        rows.append(row)
    ours = rows[0]
    for row in rows:
        row["jaxneuron_s"] = ours["seconds_to_target"]
        row["baseline"] = row["case"] if row is not ours else None
        row["baseline_s"] = row["seconds_to_target"] if row is not ours else None
        reached = ours["sweeps_to_target"] is not None and row["sweeps_to_target"] is not None
        row["sweep_ratio"] = row["sweeps_to_target"] / ours["sweeps_to_target"] if reached \
            else None
        row["equivalent_ratio"] = (row["equivalents_to_target"] / ours["equivalents_to_target"]
                                   if reached else None)
        row["speedup"] = (row["seconds_to_target"] / ours["seconds_to_target"]
                          if reached and ours["seconds_to_target"] else None)
        row["target_loss"] = level
    details = {"target_loss": level, "loss_at_truth": loss_at_truth, "gradient_cost": cost,
               "truth": TRUE, "bounds": BOUNDS, "results": results}
    return rows, details


COLUMNS = [("case", "method", "s"), ("sweeps_to_target", "sweeps to target", ".0f"),
           ("equivalents_to_target", "cost in sweeps to target (incl. gradient)", ".0f"),
           ("seconds_to_target", "s to target", ".2f"), ("final_loss", "final loss", ".2f"),
           ("sweeps_total", "sweeps total", ".0f"),
           ("equivalents_total", "cost in sweeps total", ".0f"),
           ("seconds", "s total", ".2f"), ("compile_s", "compile s", ".1f"),
           ("rel_error_a", "a err", ".1%"), ("rel_error_b", "b err", ".1%"),
           ("rel_error_c", "c err", ".1%"), ("rel_error_d", "d err", ".1%"),
           ("sweep_ratio", "sweeps / gradient's", ".1f"),
           ("equivalent_ratio", "cost / gradient's", ".1f")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="3 sweeps of 150 ms, 2 starts x 15 updates, 8 generations of 8, "
                             "40 Nelder-Mead evaluations; the gradient fit's times then "
                             "include its compilation")
    parser.add_argument("--starts", type=int, default=8)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--generations", type=int, default=60)
    parser.add_argument("--features", choices=sorted(FEATURE_SETS), default="default")
    parser.add_argument("--json", help="write results as JSON to this path")
    args = parser.parse_args()
    if args.quick:
        options = {"starts": 2, "steps": 15, "population": 8, "generations": 8,
                   "scipy_starts": 1, "scipy_evaluations": 40, "amps": (-50.0, 60.0, 200.0),
                   "t1": 150.0, "measure_compile": False}
    else:
        options = {"starts": args.starts, "steps": args.steps, "generations": args.generations}
    rows, details = compare(features=FEATURE_SETS[args.features], **options)
    print(f"features: {args.features}")
    print(format_table(rows, COLUMNS))
    cost = details["gradient_cost"]
    print(f"\ntarget loss (CMA-ES final best): {details['target_loss']:.3f}; loss at the true "
          f"parameters: {details['loss_at_truth']:.3f}; value-and-gradient / value: forward "
          f"{cost['forward']:.2f}, reverse {cost['reverse']:.2f} "
          f"({1e3 * cost['value_s_per_set']:.2f} ms per parameter set, all sweeps)")
    for row in rows:
        print(f"{row['case']}: {row['fitted']}")
    r = details["results"][0]["fit"].restarts
    print("gradient starts (best first): final loss, updates, evaluations, stop reason")
    for loss, steps, evaluations, reason in zip(r.loss, r.steps, r.evaluations,
                                                r.stop_reason, strict=True):
        print(f"  {loss:9.2f} {steps:4d} {evaluations:5d}  {reason}")
    if args.json:
        write_json(args.json, "fit_recording", rows, COLUMNS)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
