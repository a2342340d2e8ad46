"""`jaxneuron criticality`: avalanches and branching ratio of a sparse conductance-LIF
network, the excitation scale tuned to criticality, and three regimes side by side.

The network is `jaxneuron.network.tuning.random_ei_network` (500 `ConductanceLIF`
cells, 80 % excitatory, p = 0.025, Poisson background); its excitation scale `gain`
multiplies every excitatory synapse. Steps:
1. tune: a vmapped sweep over gains (one network instance per gain, one call), then a
   bracketing search to branching ratio 1.00 ± 0.05 (`tune_gain`);
2. three regimes, simulated in one vmapped call: 0.5 x, 1 x and 1.5 x the tuned gain;
   avalanches (bin = mean inter-event interval), power-law fits of sizes and durations
   (`powerlaw`), branching ratio (`mrestimator`'s MR estimator) and the regime label.

Writes into `out`: `summary.json` (tuned gain, m and exponents per regime), `tuning.csv`
(every gain evaluated), `regimes.csv`, `avalanches_<regime>.csv`, `regimes_raster.png`
(raster + population rate), `avalanches.png` (size/duration distributions with fits) and
`topologies.png` (a ring and a layered network drawn as graphs, nodes coloured by rate).
"""

from __future__ import annotations

import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from .. import plotting
from ..analysis import criticality as cr
from ..network import tuning
from ..plotting.neurons import topology_activity
from ._output import output_dir, write_summary

DT = 0.5  # ms
N = 500


def run(out: str | Path = "results/criticality", *, quick: bool = False, log=print) -> dict:
    """Tune the network to criticality, simulate three regimes, write and return the summary."""
    out = output_dir(out)
    start = time.perf_counter()
    t_tune = 1500.0 if quick else 3000.0
    t_regime = 2000.0 if quick else 10000.0
    gains = np.linspace(0.3, 1.0, 8 if quick else 15)
    log(f"[1/2] tuning the excitation scale: {gains.size} networks in one vmapped call, "
        f"then bracketing ({t_tune / 1000:.1f} s each)")
    tuned = tuning.tune_gain(gains, rounds=2 if quick else 4, t1=t_tune, dt=DT, log=log)
    rows = tuned["history"]
    keys = list(rows[0])
    np.savetxt(out / "tuning.csv", np.array([[r[k] if not isinstance(r[k], str) else
                                             np.nan for k in keys] for r in rows], float),
               delimiter=",", header=",".join(keys), comments="", fmt="%.6g")
    g_star = tuned["gain"]
    log(f"  tuned gain {g_star:.4f}: m = {tuned['m']:.3f}")

    labels = ("sub-critical", "critical", "super-critical")
    regime_gains = np.array([0.5 * g_star, g_star, 1.5 * g_star])
    log(f"[2/2] three regimes (gain {', '.join(f'{g:.3f}' for g in regime_gains)}), "
        f"{t_regime / 1000:.0f} s each, one vmapped call")
    nets = [tuning.random_ei_network(float(g)) for g in regime_gains]
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *nets)
    keys_ = jax.random.split(jax.random.key(123), len(nets))
    counts, overflow, result = tuning.run_batch(stacked, t_regime, DT, keys_)
    skip = int(round(200.0 / DT))
    regimes, panels, dists = {}, {}, {}
    for i, label in enumerate(labels):
        stats, av = cr.measure(counts[i, skip:], DT, gain=float(regime_gains[i]),
                               n_neurons=N, overflow=bool(overflow[i]))
        entry = {"intended": label, **stats.as_dict()}
        fits = {}
        for name in ("sizes", "durations"):
            x = getattr(av, name) if av is not None else np.zeros(0)
            try:
                fits[name] = cr.fit_power_law(x).as_dict()
            except ValueError:
                fits[name] = None
        entry["size_fit"], entry["duration_fit"] = fits["sizes"], fits["durations"]
        entry["size_exponent"] = fits["sizes"]["exponent"] if fits["sizes"] else None
        entry["duration_exponent"] = (fits["durations"]["exponent"] if fits["durations"]
                                      else None)
        regimes[label] = entry
        if av is not None:
            np.savetxt(out / f"avalanches_{label}.csv",
                       np.column_stack([av.starts, av.sizes, av.durations]),
                       delimiter=",", header="start_bin,size_spikes,duration_bins",
                       comments="", fmt="%d")
        window = int(round(min(t_regime, 1000.0) / DT))
        times, idx = [], []
        for p, offset in ((0, 0), (1, result.sizes[0])):
            raster = np.asarray(result.raster(p)[i, skip:skip + window])
            steps, neurons = np.nonzero(raster)
            times.append((steps + 1) * DT)
            idx.append(neurons + offset)
        panels[f"{label}\ng = {regime_gains[i]:.3f}, m = {stats.m:.3f}"] = (
            np.concatenate(times), np.concatenate(idx), counts[i, skip:skip + window], N)
        dists[f"{label} (m = {stats.m:.2f})"] = (
            av.sizes if av is not None else [], av.durations if av is not None else [],
            *_exponent_xmin(fits["sizes"]), *_exponent_xmin(fits["durations"]))
        log(f"  {label:>14}: g = {regime_gains[i]:.3f}, rate {stats.rate_hz:.2f} Hz, "
            f"m = {stats.m:.3f} ({stats.regime}), {stats.n_avalanches} avalanches, "
            f"size exponent {entry['size_exponent']}, duration exponent "
            f"{entry['duration_exponent']}")

    cols = ["gain", "rate_hz", "m", "n_avalanches", "bin_ms", "size_exponent",
            "duration_exponent"]
    np.savetxt(out / "regimes.csv", np.array([[np.nan if regimes[lb][c] is None else
                                               regimes[lb][c] for c in cols]
                                              for lb in labels], float),
               delimiter=",", header=",".join(cols), comments="", fmt="%.6g")
    plotting.regimes_raster(panels, path=out / "regimes_raster.png", dt=DT,
                            title="raster and population rate (first second)")
    plotting.avalanche_distributions(dists, path=out / "avalanches.png",
                                     title="avalanche size and duration distributions")
    log("topologies: a ring and a layered network with their activity")
    topologies = tuning.topology_examples(t1=500.0 if quick else 1000.0)
    topology_activity(topologies, path=out / "topologies.png",
                      title="ring and layered conductance-LIF networks, nodes coloured by rate")
    summary = {
        "topology_mean_rates_hz": {name: float(np.mean(v[3])) for name, v in topologies.items()},
        "network": {"n": N, "p": 0.025, "w_exc_nS": 4.0, "w_inh_nS": 20.0,
                    "input_rate_hz": 200.0, "w_input_nS": 1.0, "dt_ms": DT},
        "thresholds": {"sub_critical_below": cr.SUBCRITICAL_BELOW,
                       "super_critical_above": cr.SUPERCRITICAL_ABOVE},
        "tuned_gain": g_star, "tuned_m": tuned["m"],
        "tuned_within_tolerance": tuned["within_tolerance"],
        "n_tuning_runs": len(rows), "regimes": regimes,
        "branching_ratios": {lb: regimes[lb]["m"] for lb in labels},
        "size_exponents": {lb: regimes[lb]["size_exponent"] for lb in labels},
        "duration_exponents": {lb: regimes[lb]["duration_exponent"] for lb in labels},
        "seconds": time.perf_counter() - start,
    }
    write_summary(out, summary)
    log(f"wrote summary.json, tuning.csv, regimes.csv, avalanches_*.csv, "
        f"regimes_raster.png, avalanches.png, topologies.png to {out.resolve()}")
    return summary


def _exponent_xmin(fit):
    return (fit["exponent"], fit["xmin"]) if fit else (np.nan, 1.0)


def register(commands) -> None:
    """Add `jaxneuron criticality` to the CLI's sub-commands."""
    parser = commands.add_parser(
        "criticality", help="avalanches, power laws and branching ratio of a conductance-LIF "
                            "network; excitation tuned to criticality; three regimes")
    parser.add_argument("--out", default="results/criticality", help="output folder")
    parser.add_argument("--quick", action="store_true", help="shorter runs (< 2 min on CPU)")
    parser.set_defaults(func=lambda args: run(args.out, quick=args.quick))
