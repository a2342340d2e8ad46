"""`jaxneuron infer --method {nuts,npe,fit}`: Bayesian inference of the Hodgkin–Huxley
sodium and potassium conductances (g_Na, g_K) from a noisy voltage trace.

The problem: HH (all other parameters at their 1952 values) driven by a hyperpolarising
step (-10 µA/cm², 5–15 ms; the release fires an anode-break spike) and a depolarising step
(+10 µA/cm², 20–30 ms); V is observed every 0.5 ms for 35 ms (71 samples) with Gaussian
noise of 3 mV. The two steps make g_Na and g_K separately identifiable (a depolarising step
alone constrains mainly their ratio). Priors: log-uniform g_Na in (60, 240) and g_K in
(18, 72) mS/cm². Simulator: staggered exponential solver, dt = 0.05 ms, float64.

Methods (each writes `summary.json`, CSV tables and PNG figures into `out`):
- `fit`: many-restart vmapped least-squares fit (`inference.fit_restarts`).
- `nuts`: NUTS through the solver, initialised from the best restarts, on one observation
  (true g_Na = 120, g_K = 36) with ArviZ diagnostics and netCDF export; then the coverage
  of 90 % credible intervals over observations simulated from the prior.
- `npe`: amortized neural posterior estimation (flowjax flow on simulated pairs); coverage
  and SBC ranks over observations from the prior; C2ST against NUTS for the same
  observations. `features="trace"` conditions the flow on the whole noisy trace through a
  learned MLP embedding; `features="summaries"` on the sbi example's seven summary
  statistics (`analysis.summaries.HHSummaries` over the depolarising step), computed from
  each freshly noised trace. Summaries keep less of the trace than NUTS uses, so expect a
  wider posterior and a C2ST above 0.5 there: the comparison measures what they lose.
"""

from __future__ import annotations

import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from ... import plotting
from ...analysis.summaries import HHSummaries
from ...inference.bayes import NutsSampler
from ...inference.calibration import (
    c2st,
    central_interval_hits,
    coverage,
    coverage_curve,
    coverage_interval,
    sbc_ranks,
)
from ...inference.npe import simulate_observations, train_npe
from ...inference.priors import LogUniform, Prior
from ...inference.restarts import fit_restarts
from ...models import HodgkinHuxley
from ...plotting import inference as inference_plots
from ...simulate import simulate
from ...stimuli import SampledCurrent
from ..output import output_dir, write_rows, write_summary

METHODS = ("nuts", "npe", "fit")
FEATURES = ("trace", "summaries")
TRUTH = {"g_Na": 120.0, "g_K": 36.0}  # mS/cm²
SIGMA = 3.0  # mV, observation noise
T1, DT, SAVE_EVERY = 35.0, 0.05, 0.5  # ms

SIZES = {
    "quick": {"restarts": 8, "restart_steps": 20, "chains": 4, "warmup": 150, "draws": 200,
              "calibration_obs": 3, "calibration_warmup": 150, "calibration_draws": 150,
              "calibration_restarts": 4, "sims": 20_000, "max_epochs": 50,
              "npe_obs": 100, "c2st_obs": 1},
    "full": {"restarts": 32, "restart_steps": 30, "chains": 4, "warmup": 300, "draws": 500,
             "calibration_obs": 20, "calibration_warmup": 200, "calibration_draws": 250,
             "calibration_restarts": 8, "sims": 100_000, "max_epochs": 200,
             "npe_obs": 200, "c2st_obs": 3},
}


def stimulus() -> SampledCurrent:
    """-10 µA/cm² from 5 to 15 ms, then +10 µA/cm² from 20 to 30 ms, sampled every `DT`."""
    t = np.arange(0.0, T1 + DT / 2, DT)
    current = np.zeros_like(t)
    current[(t >= 5.0) & (t < 15.0)] = -10.0
    current[(t >= 20.0) & (t < 30.0)] = 10.0
    return SampledCurrent(current, dt=DT)


def prior() -> Prior:
    """Log-uniform priors on g_Na (60–240) and g_K (18–72), mS/cm²."""
    return Prior({"g_Na": LogUniform(60.0, 240.0), "g_K": LogUniform(18.0, 72.0)})


SIMULATE = {"t1": T1, "dt": DT, "save_every": SAVE_EVERY}


def add_noise(key, v):
    """The observation model: V plus independent Gaussian noise of `SIGMA` mV."""
    return v + SIGMA * jax.random.normal(key, v.shape, v.dtype)


def run(out: str | Path = "results/infer", *, method: str = "npe", quick: bool = False,
        features: str = "trace", log=print) -> dict:
    """Run one inference `method` ("nuts", "npe" or "fit") on the HH problem; write and
    return the summary. `quick` uses small sizes (a few minutes on a 2-core CPU);
    `features` ("trace" or "summaries") is what the NPE flow is conditioned on.

    **Raises:** `ValueError` for an unknown method or features.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    if features not in FEATURES:
        raise ValueError(f"features must be one of {FEATURES}; got {features!r}")
    jax.config.update("jax_enable_x64", True)
    out = output_dir(out)
    sizes = SIZES["quick" if quick else "full"]
    start = time.perf_counter()
    model, stim, pri = HodgkinHuxley(), stimulus(), prior()
    truth = np.array([TRUTH[n] for n in pri.names])
    _, observed, _ = simulate_observations(model, stim, pri, truth[None], key=jax.random.key(0),
                                           noise_std=SIGMA, progress=False, **SIMULATE)
    observed = observed[0]
    clean = np.asarray(simulate(HodgkinHuxley(**TRUTH), stim, **SIMULATE).v)
    ts = np.arange(observed.shape[0]) * SAVE_EVERY
    summary = {"method": method, "quick": quick,
               "npe_features": features if method == "npe" else None,
               "problem": {"truth": TRUTH, "sigma_mV": SIGMA, "t1_ms": T1, "dt_ms": DT,
                           "save_every_ms": SAVE_EVERY, "n_observed": int(observed.size),
                           "prior": {n: [m.low, m.high, type(m).__name__]
                                     for n, m in zip(pri.names, pri.marginals, strict=True)}},
               "sizes": sizes}
    context = {"out": out, "model": model, "stim": stim, "prior": pri, "truth": truth,
               "observed": observed, "clean": clean, "ts": ts, "sizes": sizes, "log": log,
               "features": features}
    if method == "fit":
        summary.update(_run_fit(context))
    elif method == "nuts":
        summary.update(_run_nuts(context))
    else:
        summary.update(_run_npe(context))
    summary["seconds"] = time.perf_counter() - start
    write_summary(out, summary)
    log(f"wrote summary.json and the {method} tables and figures to {out.resolve()}")
    return summary


def _restarts(ctx, observed, key, n, steps):
    return fit_restarts(ctx["model"], ctx["stim"], observed, prior=ctx["prior"], t1=T1,
                        key=key, n_restarts=n, steps=steps, dt=DT, save_every=SAVE_EVERY)


def _predict(ctx, draws, k=100):
    """Noise-free V at `k` of the posterior `draws` `(n, dim)`: `(k, n_save)`."""
    pick = draws[np.linspace(0, draws.shape[0] - 1, k).astype(int)]
    _, sims, ok = simulate_observations(ctx["model"], ctx["stim"], ctx["prior"], pick,
                                        key=jax.random.key(0), progress=False, **SIMULATE)
    return sims[ok]


def _run_fit(ctx) -> dict:
    sizes, log, names = ctx["sizes"], ctx["log"], ctx["prior"].names
    log(f"[1/1] {sizes['restarts']} restarts x {sizes['restart_steps']} L-BFGS steps, "
        "vmapped in one call")
    result = _restarts(ctx, ctx["observed"], jax.random.key(1), sizes["restarts"],
                       sizes["restart_steps"])
    rows = [{"rank": i, **{f"start_{n}": result.start[i, j] for j, n in enumerate(names)},
             **{n: result.theta[i, j] for j, n in enumerate(names)}, "loss_mV2": result.loss[i]}
            for i in range(result.theta.shape[0])]
    write_rows(ctx["out"] / "restarts.csv", rows)
    best = jnp.asarray(result.theta[0])
    fitted = simulate(HodgkinHuxley(**ctx["prior"].as_dict(best)), ctx["stim"], **SIMULATE)
    started = simulate(HodgkinHuxley(**ctx["prior"].as_dict(jnp.asarray(result.start[0]))),
                       ctx["stim"], **SIMULATE)
    plotting.fit_overview(ctx["ts"], ctx["observed"], started.v, fitted.v,
                          result.loss_history[0], title="best of the restarts",
                          path=ctx["out"] / "fit.png")
    converged = int(np.sum(result.loss <= result.loss[0] + 0.1 * SIGMA**2))
    log(f"  best {result.best} (truth {TRUTH}), loss {result.loss[0]:.2f} mV² (noise "
        f"variance {SIGMA**2:.1f}); {converged}/{result.loss.size} restarts reach it; "
        f"{result.seconds:.1f} s")
    return {"best": result.best, "best_loss_mV2": float(result.loss[0]),
            "relative_error": {n: abs(result.best[n] - TRUTH[n]) / TRUTH[n] for n in names},
            "n_converged": converged,
            "timings": {"restarts_s": result.seconds, "restarts": int(result.loss.size),
                        "steps": ctx["sizes"]["restart_steps"]}}


def _nuts(ctx, observed, key, *, warmup, draws, restarts, steps):
    """Restarts for the starting points, then NUTS; returns (result, restart seconds)."""
    k_fit, k_nuts = jax.random.split(key)
    fitted = _restarts(ctx, observed, k_fit, restarts, steps)
    chains = ctx["sizes"]["chains"]
    init = {n: np.resize(v, chains) for n, v in fitted.top(chains).items()}
    samplers = ctx.setdefault("samplers", {})
    if (warmup, draws) not in samplers:  # one sampler per size: compiled once, reused
        samplers[warmup, draws] = NutsSampler(
            ctx["model"], ctx["stim"], prior=ctx["prior"], sigma=SIGMA, num_warmup=warmup,
            num_samples=draws, num_chains=chains, target_accept=0.9, **SIMULATE)
    result = samplers[warmup, draws].run(observed, key=k_nuts, init=init)
    return result, fitted.seconds


def _headline_nuts(ctx) -> tuple[dict, object]:
    sizes, log, out, names = ctx["sizes"], ctx["log"], ctx["out"], ctx["prior"].names
    log(f"NUTS on the observation (truth {TRUTH}): {sizes['chains']} chains x "
        f"({sizes['warmup']} warm-up + {sizes['draws']} draws), forward-mode gradients "
        "through the solver, started from the best restarts")
    result, fit_s = _nuts(ctx, ctx["observed"], jax.random.key(2), warmup=sizes["warmup"],
                          draws=sizes["draws"], restarts=sizes["restarts"],
                          steps=sizes["restart_steps"])
    diagnostics = result.diagnostics()
    result.summary().to_csv(out / "arviz_summary.csv")
    result.to_netcdf(out / "posterior_nuts.nc")
    chains, draws = result.samples[names[0]].shape
    write_rows(out / "posterior_nuts.csv", [
        {"chain": c, "draw": d, **{n: result.samples[n][c, d] for n in names}}
        for c in range(chains) for d in range(draws)])
    flat = result.flat()
    hits = central_interval_hits(flat[None], ctx["truth"][None])[0]
    log(f"  {result.seconds:.1f} s (+ {fit_s:.1f} s restarts); R-hat "
        f"{_fmt(diagnostics['rhat'])}, bulk ESS {_fmt(diagnostics['ess_bulk'], 0)}, "
        f"{diagnostics['divergences']} divergences; truth in 90 % CI: "
        f"{dict(zip(names, hits.tolist(), strict=True))}")
    info = {"nuts": {**diagnostics, "posterior_mean": dict(zip(names, flat.mean(0),
                                                               strict=True)),
                     "posterior_sd": dict(zip(names, flat.std(0), strict=True))},
            "truth_in_90ci": dict(zip(names, hits.tolist(), strict=True)),
            "timings": {"nuts_s": result.seconds, "nuts_chains": chains,
                        "nuts_warmup": sizes["warmup"], "nuts_draws_per_chain": draws,
                        "nuts_restarts_s": fit_s}}
    return info, result


def _run_nuts(ctx) -> dict:
    sizes, log, out, pri = ctx["sizes"], ctx["log"], ctx["out"], ctx["prior"]
    info, result = _headline_nuts(ctx)
    flat = result.flat()
    inference_plots.pair_plot({"NUTS": flat}, pri.names, truth=ctx["truth"],
                              path=out / "pair_plot.png", title="NUTS posterior")
    inference_plots.posterior_predictive(ctx["ts"], ctx["observed"],
                                         {"NUTS": _predict(ctx, flat)}, clean=ctx["clean"],
                                         path=out / "posterior_predictive.png")
    n_obs = sizes["calibration_obs"]
    log(f"calibration: NUTS on {n_obs} observations simulated from the prior, "
        f"{sizes['chains']} chains x ({sizes['calibration_warmup']} + "
        f"{sizes['calibration_draws']})")
    truths, observations, _ = simulate_observations(
        ctx["model"], ctx["stim"], pri, np.asarray(pri.sample(jax.random.key(10), n_obs)),
        key=jax.random.key(11), noise_std=SIGMA, progress=False, **SIMULATE)
    draws, rows, seconds = [], [], []
    for i in range(n_obs):
        res, fit_s = _nuts(ctx, observations[i], jax.random.key(100 + i),
                           warmup=sizes["calibration_warmup"],
                           draws=sizes["calibration_draws"],
                           restarts=sizes["calibration_restarts"], steps=sizes["restart_steps"])
        d = res.flat()
        draws.append(d)
        seconds.append(res.seconds + fit_s)
        hit = central_interval_hits(d[None], truths[i][None])[0]
        diag = res.diagnostics()
        rows.append({"obs": i, **{f"true_{n}": truths[i, j] for j, n in enumerate(pri.names)},
                     **{f"q05_{n}": np.quantile(d[:, j], 0.05) for j, n in enumerate(pri.names)},
                     **{f"q95_{n}": np.quantile(d[:, j], 0.95) for j, n in enumerate(pri.names)},
                     **{f"in90_{n}": bool(hit[j]) for j, n in enumerate(pri.names)},
                     "max_rhat": max(diag["rhat"].values()),
                     "divergences": diag["divergences"], "seconds": seconds[-1]})
        log(f"  obs {i + 1}/{n_obs}: truth {np.round(truths[i], 1)}, in 90 % CI "
            f"{hit.tolist()}, R-hat {max(diag['rhat'].values()):.3f}, {seconds[-1]:.0f} s")
    write_rows(out / "calibration_nuts.csv", rows)
    draws = np.stack(draws)
    cov = coverage(draws, truths)
    curve = coverage_curve(draws, truths)
    inference_plots.calibration({"NUTS": (*curve, n_obs)}, pri.names,
                                ranks={"NUTS": sbc_ranks(draws[:, ::10], truths)},
                                n_draws=draws[:, ::10].shape[1],
                                path=out / "calibration.png",
                                title=f"NUTS calibration over {n_obs} observations")
    log(f"  coverage of 90 % intervals: {_fmt(dict(zip(pri.names, cov, strict=True)))} "
        f"(calibrated: within {np.round(coverage_interval(0.9, n_obs), 3)})")
    info["coverage_90"] = dict(zip(pri.names, cov.tolist(), strict=True))
    info["coverage_n_obs"] = n_obs
    info["coverage_90_expected_range"] = coverage_interval(0.9, n_obs)
    info["calibration_max_rhat"] = max(r["max_rhat"] for r in rows)
    info["timings"]["nuts_calibration_s_per_observation"] = float(np.mean(seconds))
    return info


def npe_features(kind: str, ts):
    """`(featurize, embedding_dim)` for the NPE flow: `featurize` maps noisy traces
    `(..., n_save)` to the flow's condition (the trace itself, or the seven sbi summary
    statistics over the depolarising step); the trace gets a learned 16-d embedding."""
    if kind == "trace":
        return (lambda v: v), 16
    stats, ts = HHSummaries(t_on=20.0, t_off=30.0), jnp.asarray(ts)
    return (lambda v: stats.vector(ts, v)), None


def _run_npe(ctx) -> dict:
    sizes, log, out, pri = ctx["sizes"], ctx["log"], ctx["out"], ctx["prior"]
    featurize, embedding_dim = npe_features(ctx["features"], ctx["ts"])
    observed = featurize(jnp.asarray(ctx["observed"]))
    n_sims = sizes["sims"]
    log(f"[1/4] simulating {n_sims} (g_Na, g_K) draws from the prior in one sweep")
    begin = time.perf_counter()
    theta, x, ok = simulate_observations(
        ctx["model"], ctx["stim"], pri, np.asarray(pri.sample(jax.random.key(20), n_sims)),
        key=jax.random.key(21), noise_std=0.0, progress=True, **SIMULATE)
    sim_s = time.perf_counter() - begin
    log(f"  {sim_s:.1f} s, {int(ok.sum())} usable")
    log(f"[2/4] training the conditional flow (masked autoregressive, spline) on the "
        f"{ctx['features']} ({'MLP embedding' if embedding_dim else 'standardised'}); fresh "
        f"{SIGMA} mV noise on the stored simulations every batch")
    begin = time.perf_counter()
    posterior, history = train_npe(theta[ok], x[ok], pri, key=jax.random.key(22),
                                   embedding_dim=embedding_dim, max_epochs=sizes["max_epochs"],
                                   augment=lambda k, v: featurize(add_noise(k, v)))
    train_s = time.perf_counter() - begin
    log(f"  {train_s:.1f} s, {len(history.val)} epochs, best validation loss "
        f"{history.val[history.best_epoch]:.3f}")
    write_rows(out / "npe_training.csv", [{"epoch": i, "train_nll": a, "val_nll": b}
                                          for i, (a, b) in enumerate(zip(
                                              history.train, history.val, strict=True))])

    n_draws = 1000
    posterior.sample(jax.random.key(0), observed, n_draws).block_until_ready()
    times = []
    for i in range(20):
        begin = time.perf_counter()
        posterior.sample(jax.random.key(i), observed, n_draws).block_until_ready()
        times.append(time.perf_counter() - begin)
    infer_ms = 1000 * float(np.median(times))
    npe_draws = np.asarray(posterior.sample(jax.random.key(23), observed, 4000))
    hits = central_interval_hits(npe_draws[None], ctx["truth"][None])[0]
    write_rows(out / "posterior_npe.csv", [dict(zip(pri.names, row, strict=True))
                                           for row in npe_draws])
    log(f"  {n_draws} draws for a new observation in {infer_ms:.1f} ms (median of 20)")

    n_obs = sizes["npe_obs"]
    log(f"[3/4] coverage over {n_obs} observations simulated from the prior")
    truths, observations, okc = simulate_observations(
        ctx["model"], ctx["stim"], pri, np.asarray(pri.sample(jax.random.key(30), n_obs)),
        key=jax.random.key(31), noise_std=SIGMA, progress=False, **SIMULATE)
    truths, observations = truths[okc], observations[okc]
    draws = np.asarray(posterior.sample_many(jax.random.key(32), featurize(observations),
                                             n_draws))
    cov = coverage(draws, truths)
    curve = coverage_curve(draws, truths)
    hits_all = central_interval_hits(draws, truths)
    write_rows(out / "calibration_npe.csv", [
        {"obs": i, **{f"true_{n}": truths[i, j] for j, n in enumerate(pri.names)},
         **{f"in90_{n}": bool(hits_all[i, j]) for j, n in enumerate(pri.names)}}
        for i in range(truths.shape[0])])
    log(f"  coverage of 90 % intervals: {_fmt(dict(zip(pri.names, cov, strict=True)))} "
        f"(calibrated: within {np.round(coverage_interval(0.9, truths.shape[0]), 3)})")

    n_c2st = sizes["c2st_obs"]
    log(f"[4/4] C2ST of NPE against NUTS on {n_c2st} observation(s)")
    info, nuts = _headline_nuts(ctx)
    scores = [c2st(nuts.flat(), npe_draws)]
    c2st_rows = [{"truth": TRUTH, "c2st": scores[0],
                  "nuts_max_rhat": max(info["nuts"]["rhat"].values()),
                  "nuts_divergences": info["nuts"]["divergences"]}]
    for i in range(1, n_c2st):
        res, _ = _nuts(ctx, observations[i - 1], jax.random.key(200 + i),
                       warmup=sizes["warmup"], draws=sizes["draws"],
                       restarts=sizes["restarts"], steps=sizes["restart_steps"])
        a = res.flat()
        scores.append(c2st(a, np.asarray(posterior.sample(
            jax.random.key(300 + i), featurize(observations[i - 1]), a.shape[0]))))
        diag = res.diagnostics()
        c2st_rows.append({"truth": dict(zip(pri.names, truths[i - 1], strict=True)),
                          "c2st": scores[-1], "nuts_max_rhat": max(diag["rhat"].values()),
                          "nuts_divergences": diag["divergences"],
                          "nuts_s": res.seconds})
        log(f"  observation {i + 1}: truth {np.round(truths[i - 1], 1)}, NUTS {res.seconds:.0f}"
            f" s, R-hat {max(diag['rhat'].values()):.3f}, C2ST {scores[-1]:.3f}")
    log(f"  C2ST accuracy {np.round(scores, 3).tolist()} (0.5 = indistinguishable)")
    inference_plots.pair_plot({"NUTS": nuts.flat(), "NPE": npe_draws}, pri.names,
                              truth=ctx["truth"], path=out / "pair_plot.png",
                              title=f"NUTS vs NPE posterior (C2ST = {scores[0]:.3f})")
    inference_plots.posterior_predictive(
        ctx["ts"], ctx["observed"], {"NPE": _predict(ctx, npe_draws),
                                     "NUTS": _predict(ctx, nuts.flat())},
        clean=ctx["clean"], path=out / "posterior_predictive.png")
    inference_plots.calibration({"NPE": (*curve, truths.shape[0])}, pri.names,
                                ranks={"NPE": sbc_ranks(draws[:, ::10], truths)},
                                n_draws=draws[:, ::10].shape[1], path=out / "calibration.png",
                                title=f"NPE calibration over {truths.shape[0]} observations")
    info["timings"].update({"npe_simulation_s": sim_s, "npe_simulations": n_sims,
                            "npe_training_s": train_s, "npe_epochs": len(history.val),
                            "npe_inference_ms_per_observation": infer_ms,
                            "npe_inference_draws": n_draws})
    return {**info,
            "npe_truth_in_90ci": dict(zip(pri.names, hits.tolist(), strict=True)),
            "npe": {"features": ctx["features"],
                    "posterior_mean": dict(zip(pri.names, npe_draws.mean(0), strict=True)),
                    "posterior_sd": dict(zip(pri.names, npe_draws.std(0), strict=True))},
            "truth_in_90ci": {"nuts": info["truth_in_90ci"],
                              "npe": dict(zip(pri.names, hits.tolist(), strict=True))},
            "coverage_90": dict(zip(pri.names, cov.tolist(), strict=True)),
            "coverage_n_obs": int(truths.shape[0]),
            "coverage_90_expected_range": coverage_interval(0.9, truths.shape[0]),
            "c2st": float(np.mean(scores)), "c2st_per_observation": c2st_rows}


def _fmt(values: dict, digits: int = 3) -> str:
    return "{" + ", ".join(f"{k}: {v:.{digits}f}" for k, v in values.items()) + "}"


def register(commands) -> None:
    """Add `jaxneuron infer` to the CLI's sub-commands."""
    parser = commands.add_parser(
        "infer", help="Bayesian inference of HH g_Na and g_K from a noisy trace: NUTS through "
                      "the solver, amortized NPE, or many-restart fits; calibration and C2ST")
    parser.add_argument("--method", choices=METHODS, default="npe",
                        help="nuts, npe (also runs NUTS for the C2ST) or fit")
    parser.add_argument("--out", default="results/infer", help="output folder")
    parser.add_argument("--quick", action="store_true", help="small sizes (a few minutes)")
    parser.add_argument("--features", choices=FEATURES, default="trace",
                        help="what the NPE flow is conditioned on: the noisy trace (learned "
                             "embedding) or the sbi summary statistics")
    parser.set_defaults(func=lambda args: run(args.out, method=args.method, quick=args.quick,
                                              features=args.features))
