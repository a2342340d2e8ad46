"""`jaxneuron bio-vs-artificial`: f-I curves of four spiking neuron models next to the
artificial-neuron activations (sigmoid, tanh, ReLU, softplus) fitted to them.

Each model's f-I curve (sustained rate under current steps) is ONE vmapped sweep over the
step amplitudes (`analysis.excitability.fi_curve`); the onset of repetitive firing is then
refined by k-section search (`rheobase`), which gives the rate at onset: finite for a type II
neuron (Hodgkin–Huxley), near zero for type I. Each activation is fitted to each curve by
least squares (`analysis.activation_fit`): gain, offset and scale, zero-rate points included.

Writes into `out`: `bio_vs_artificial.png` (each model with its four fits, the fit errors,
all curves on a common scale), `fi_curves.csv`, `fit_errors.csv`, `comparison.md` (the
table and what it shows, with the measured numbers) and `summary.json` (RMSE per model and
activation, best activation per model, rheobase and onset rate per model).

Measured (full run: 81 amplitudes, 1000 ms steps, float64), fit RMSE in Hz for sigmoid /
tanh / ReLU / softplus: Hodgkin–Huxley 10.2 / 8.3 / 17.2 / 17.2 (top rate 109 Hz), LIF
9.7 / 4.8 / 10.0 / 10.0 (180 Hz), Izhikevich RS 3.4 / 1.2 / 1.4 / 1.4 (87 Hz), AdEx
3.1 / 0.6 / 1.1 / 1.1 (83 Hz). The rectified tanh fits every model best; Hodgkin–Huxley,
whose rate jumps from 0 to 50 Hz at 6.261 µA/cm² (type II), is the one curve no continuous
activation follows (best 7.6 % of its top rate, against 0.7-2.6 % for the type I models).
`comparison.md` holds the table and the account, rewritten from each run's numbers.
"""

from __future__ import annotations

import time
from pathlib import Path

import jax
import numpy as np

from ...analysis import activation_fit as af, excitability as ex
from ...models import LIF, AdEx, HodgkinHuxley, Izhikevich
from ...plotting import excitability as figures
from ..output import output_dir, write_rows, write_summary

# label -> (model, current unit, largest amplitude, dt in ms, excitability class from theory:
# type II = the rate jumps to a finite value at onset, type I = it rises from 0)
MODELS = {
    "Hodgkin–Huxley": (HodgkinHuxley(), "µA/cm²", 40.0, 0.025, "II"),
    "LIF": (LIF(), "nA", 5.0, 0.025, "I"),
    "Izhikevich RS": (Izhikevich.preset("RS"), "model units", 40.0, 0.025, "I"),
    "AdEx": (AdEx(), "pA", 2000.0, 0.025, "I"),
}
DELAY = 100.0  # ms before the step: Izhikevich starts off its rest, every model settles


def run(out: str | Path = "results/bio_vs_artificial", *, quick: bool = False,
        log=print) -> dict:
    """Measure the four f-I curves, fit the four activations to each, write the figure,
    tables, `comparison.md` and `summary.json`; return the summary."""
    out = output_dir(out)
    jax.config.update("jax_enable_x64", True)
    start = time.perf_counter()
    duration = 500.0 if quick else 1000.0
    n_amplitudes = 41 if quick else 81
    n_points, rounds = (15, 1) if quick else (15, 2)
    curves, errors, rows, fit_rows, models = {}, {}, [], [], {}
    for step, (label, (model, unit, top, dt, kind)) in enumerate(MODELS.items(), start=1):
        clock = time.perf_counter()
        amplitudes = np.linspace(0.0, top, n_amplitudes)
        log(f"[{step}/{len(MODELS)}] {label}: f-I curve, {n_amplitudes} amplitudes in one "
            f"vmapped sweep, then the onset refined and 4 activations fitted")
        curve = ex.fi_curve(model, amplitudes, duration=duration, delay=DELAY, dt=dt,
                            extra_summary=_initial_rate)
        rate = curve.rate_hz[0]
        initial = curve.summaries["initial_rate_hz"][0]
        firing = rate > 0
        first = int(np.argmax(firing))
        if firing.any() and first > 0:
            onset = ex.rheobase(model, low=amplitudes[first - 1], high=amplitudes[first],
                                criterion="repetitive", n_points=n_points, rounds=rounds,
                                duration=duration, delay=DELAY, dt=dt)
            rheobase, onset_rate = float(onset.current[0]), float(onset.onset_rate_hz[0])
            bracket = float(onset.high[0] - onset.low[0])
        else:
            rheobase, onset_rate, bracket = np.nan, np.nan, np.nan
        fits = af.fit_activations(amplitudes, rate)
        fine = np.linspace(0.0, top, 400)
        curves[label] = {"current": amplitudes, "rate": rate, "unit": unit,
                         "rheobase": rheobase,
                         "fits": {n: (fine, f(fine), f.rmse_hz) for n, f in fits.items()}}
        errors[label] = {n: f.rmse_hz for n, f in fits.items()}
        max_rate = float(rate.max())
        models[label] = {
            "current_unit": unit, "excitability_type": kind, "rheobase": rheobase,
            "rheobase_bracket": bracket, "onset_rate_hz": onset_rate,
            "max_rate_hz": max_rate, "n_failed_runs": int(np.sum(~curve.ok)),
            "initial_rate_at_top_hz": float(initial[-1]),
            "concavity_percent": _concavity(amplitudes, rate),
            "rmse_hz": errors[label],
            "rmse_percent_of_max_rate": {n: 100.0 * e / max_rate for n, e in
                                         errors[label].items()},
            "best_activation": min(errors[label], key=errors[label].get),
            "fitted_params": {n: f.params for n, f in fits.items()},
            "softplus_at_gain_bound": bool(fits["softplus"].params["gain"]
                                           >= 0.99 * af.MAX_GAIN / top),
        }
        rows += [{"model": label, "amplitude": float(a), "rate_hz": float(r),
                  "initial_rate_hz": float(i), "mean_rate_hz": float(m), "unit": unit}
                 for a, r, i, m in zip(amplitudes, rate, initial,
                                       curve.summaries["mean_rate_hz"][0], strict=True)]
        fit_rows += [{"model": label, "activation": n, "rmse_hz": f.rmse_hz,
                      "rmse_percent_of_max": 100.0 * f.rmse_hz / max_rate,
                      "max_error_hz": f.max_error_hz,
                      **{p: f.params.get(p, np.nan) for p in ("scale", "gain", "offset")}}
                     for n, f in fits.items()]
        log(f"  rheobase {rheobase:.4g} {unit}, onset rate {onset_rate:.1f} Hz, max "
            f"{max_rate:.1f} Hz; RMSE (Hz) " + ", ".join(f"{n} {e:.2f}" for n, e in
                                                     errors[label].items())
            + f"  ({time.perf_counter() - clock:.1f} s)")

    write_rows(out / "fi_curves.csv", rows)
    write_rows(out / "fit_errors.csv", fit_rows)
    figures.activation_comparison(curves, errors, path=out / "bio_vs_artificial.png",
                                  title="Biological f-I curves and fitted artificial "
                                        "activations")
    text = comparison_text(models, duration)
    (out / "comparison.md").write_text(text)
    summary = {"models": models, "step_duration_ms": duration, "delay_ms": DELAY,
               "n_amplitudes": n_amplitudes,
               "rmse_hz": errors, "best_activation": {m: v["best_activation"]
                                                       for m, v in models.items()},
               "seconds": time.perf_counter() - start}
    write_summary(out, summary)
    log(f"wrote bio_vs_artificial.png, fi_curves.csv, fit_errors.csv, comparison.md and "
        f"summary.json to {out.resolve()}")
    return summary


def _concavity(current, rate) -> float:
    """How far (% of the top rate) the rate half-way through the firing range lies above the
    straight line through the first firing point and the last point: > 0 for a concave
    (sub-linear) f-I curve, about 0 for a straight one."""
    firing = np.flatnonzero(rate > 0)
    if firing.size < 3:
        return float("nan")
    first, last = current[firing[0]], current[-1]
    middle = np.interp(0.5 * (first + last), current, rate)
    chord = 0.5 * (rate[firing[0]] + rate[-1])
    return float(100.0 * (middle - chord) / rate.max())


def _initial_rate(trace):
    return {"initial_rate_hz": ex.initial_rate(trace.spike_times, DELAY)}


def comparison_text(models: dict, duration: float) -> str:
    """The table of fit errors and a short account of what it shows, written from the
    measured numbers in `models` (the `models` entry of the summary)."""
    names = list(next(iter(models.values()))["rmse_hz"])
    lines = ["# Biological f-I curves vs artificial activations", "",
             f"Sustained firing rate under {duration:.0f} ms current steps, fitted by least "
             "squares (gain, offset, scale) over the whole amplitude range, zero-rate points "
             "included. RMSE in Hz (in brackets: % of the model's largest rate). The onset "
             "rate is the rate at the lowest amplitude that fires repetitively, that "
             "amplitude found to within the bracket given.", "",
             "| model | type | rheobase (bracket) | onset rate (Hz) | " + " | ".join(names)
             + " | best |",
             "|---|---|---|---|" + "---|" * len(names) + "---|"]
    for label, m in models.items():
        cells = [f"{m['rmse_hz'][n]:.2f} ({m['rmse_percent_of_max_rate'][n]:.1f} %)"
                 for n in names]
        lines.append(f"| {label} | {m['excitability_type']} | {m['rheobase']:.4g} "
                     f"(± {m['rheobase_bracket'] / 2:.2g}) {m['current_unit']} | "
                     f"{m['onset_rate_hz']:.1f} | " + " | ".join(cells)
                     + f" | {m['best_activation']} |")
    type2 = [k for k, m in models.items() if m["excitability_type"] == "II"]
    type1 = [k for k, m in models.items() if m["excitability_type"] == "I"]
    lowest = 1000.0 * 4 / duration
    worst = max(models, key=lambda k: min(models[k]["rmse_percent_of_max_rate"].values()))
    mean_error = {n: float(np.mean([m["rmse_percent_of_max_rate"][n]
                                    for m in models.values()])) for n in names}
    best_overall = min(mean_error, key=mean_error.get)
    wins = [k for k, m in models.items() if m["best_activation"] == best_overall]
    lines += ["", "## What the comparison shows", ""]
    lines.append(
        "- **Onset.** " + "; ".join(
            f"{k} jumps from 0 to {models[k]['onset_rate_hz']:.0f} Hz at "
            f"{models[k]['rheobase']:.4g} {models[k]['current_unit']}" for k in type2)
        + " (type II: repetitive firing appears at a finite frequency, through the "
          "saddle-node of limit cycles that precedes Hodgkin–Huxley's subcritical Hopf "
          "bifurcation). " + ", ".join(type1) + " are type I: their rate rises from 0 "
          f"(a {duration:.0f} ms step resolves rates down to about {lowest:.0f} Hz; the LIF's "
          "rate vanishes only logarithmically at rheobase, 1 / (t_ref + τ ln(RI / (RI − "
          "(V_th − V_rest)))), hence its steep start). All four activations are continuous, "
          "so none follows a jump.")
    lines.append(
        f"- **Hardest curve.** {worst}: its best fit ({models[worst]['best_activation']}) "
        f"still misses by {min(models[worst]['rmse_hz'].values()):.1f} Hz RMSE "
        f"({min(models[worst]['rmse_percent_of_max_rate'].values()):.1f} % of its top rate).")
    lines.append(
        "- **Best activation.** Averaged over the models (error as % of the top rate), "
        + ", ".join(f"{n} {e:.1f} %" for n, e in sorted(mean_error.items(),
                                                        key=lambda item: item[1]))
        + f"; {best_overall} is best for {len(wins)} of {len(models)} models"
        + (f" ({', '.join(wins)})." if wins else "."))
    collapsed = [k for k, m in models.items() if m["softplus_at_gain_bound"]]
    if collapsed:
        lines.append(
            "- **Softplus becomes a ReLU.** For " + ", ".join(collapsed) + " the softplus "
            "gain runs to its bound: the zero-rate points below rheobase demand a corner, so "
            "its error equals the ReLU's.")
    adapting = {k: m for k, m in models.items()
                 if m["initial_rate_at_top_hz"] > 1.1 * m["max_rate_hz"]}
    if adapting:
        lines.append(
            "- **Adaptation.** At the largest step the first interval gives " + "; ".join(
                f"{m['initial_rate_at_top_hz']:.0f} Hz for {k} against a steady "
                f"{m['max_rate_hz']:.0f} Hz" for k, m in adapting.items())
            + ": the rate an activation stands for is the adapted one.")
    concave = [k for k, m in models.items() if m["concavity_percent"] > 5.0]
    straight = [k for k in models if k not in concave]
    lines.append(
        "- **Why.** Every biological curve is exactly zero below rheobase, which a sigmoid "
        "never is and a softplus only in its ReLU limit. Above rheobase "
        + (", ".join(f"{k} ({models[k]['concavity_percent']:.0f} %)" for k in concave)
           + " bend down (the rate half-way through the firing range lies that far, in % of "
             "the top rate, above the straight line through its ends: refractoriness and "
             "the spike's own duration make the rate grow sub-linearly), which a ReLU "
             "cannot follow" if concave else "no curve bends much")
        + ("; " + ", ".join(f"{k} ({models[k]['concavity_percent']:.0f} %)" for k in straight)
           + " are nearly straight, and a ReLU fits them to within "
           + ", ".join(f"{models[k]['rmse_percent_of_max_rate']['relu']:.1f} %"
                       for k in straight) + " of the top rate" if straight else "")
        + ". The rectified tanh has both a corner at threshold and a saturating rise. No "
        "activation describes what lies behind the rate: first-spike latency, adaptation, or "
        "Hodgkin–Huxley's bistable range, where a single spike, a transient burst or "
        "sustained firing depends on the history, not only on I.")
    return "\n".join(lines) + "\n"


def register(commands) -> None:
    """Add `jaxneuron bio-vs-artificial` to the CLI's sub-commands."""
    parser = commands.add_parser(
        "bio-vs-artificial", help="f-I curves of HH, LIF, Izhikevich and AdEx next to "
                                  "sigmoid, tanh, ReLU and softplus fitted to them")
    parser.add_argument("--out", default="results/bio_vs_artificial", help="output folder")
    parser.add_argument("--quick", action="store_true", help="fewer amplitudes, shorter "
                        "steps (about a minute on 2 CPU cores)")
    parser.set_defaults(func=lambda args: run(args.out, quick=args.quick))
