"""`jaxneuron hh-explore`: how g_Na, g_K, g_L, E_L, C_m, temperature and the stimulus
amplitude change the Hodgkin–Huxley trace, f-I curve, rheobase and spike shape.

For each parameter, ONE vmapped `sweep` runs every (parameter value x step amplitude) pair
(`analysis.excitability.fi_curve`), keeping per run the sustained rate, the first spike's
shape (threshold by the dV/dt criterion, peak, half-width, AHP) and a window of the trace.
The two rheobases (a single spike, and repetitive firing) are then refined inside the
brackets the f-I grid gives, by k-section search (`rheobases`, one sweep per round for both
criteria). The amplitude panel uses the default-parameter row of the first sweep.

Each step starts after a settling period (`DELAY` ms), because changing g_L, E_L, g_Na or
g_K moves the resting potential away from the -65 mV the model starts at.

Writes into `out`: `hh_<parameter>.png` (traces at the probe amplitude, f-I curves,
rheobase against the value, aligned first spikes), `hh_amplitude.png`,
`hh_fi_overview.png`, `fi_<parameter>.csv`, `rheobase.csv`, `spike_shape.csv` and
`summary.json` (default rheobases and onset rate; per parameter the rheobases, rate at the
probe amplitude, maximum rate and first-spike features for every value).
"""

from __future__ import annotations

import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from ...analysis import excitability as ex
from ...models import HodgkinHuxley
from ...plotting import excitability as figures
from ..output import output_dir, write_rows, write_summary

# field -> (axis label, values of the full run; the quick run takes every other one). The
# middle value is the default of `HodgkinHuxley`, so every panel contains the standard cell.
PARAMETERS = {
    "g_Na": ("g_Na (mS/cm²)", (80.0, 100.0, 120.0, 140.0, 160.0)),
    "g_K": ("g_K (mS/cm²)", (24.0, 30.0, 36.0, 42.0, 48.0)),
    "g_L": ("g_L (mS/cm²)", (0.1, 0.2, 0.3, 0.4, 0.5)),
    "E_L": ("E_L (mV)", (-60.387, -57.387, -54.387, -51.387, -48.387)),
    "C_m": ("C_m (µF/cm²)", (0.5, 0.75, 1.0, 1.5, 2.0)),
    "temperature_c": ("temperature (°C)", (6.3, 10.3, 14.3, 18.3, 22.3)),
}
PROBE = 10.0                      # µA/cm²: amplitude of the traces and spike shapes shown
SHOWN = (0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 20.0, 40.0)  # amplitudes of the amplitude panel
DT = 0.025                        # ms
WINDOW = (-10.0, 100.0, 0.1)      # trace window kept per run: start, stop, step (ms)
SHAPE_WINDOW = (-2.0, 8.0, 0.05)  # aligned first-spike window (ms)
# Spike threshold criterion (mV/ms). Above the 20 mV/ms usual for slow ramps, because a step
# makes dV/dt jump by I / C_m at its onset (up to 40 mV/ms here): with a lower criterion the
# onset of a strong step would be taken for the first spike's threshold.
DVDT_THRESHOLD = 50.0
# Spike detection level (mV). Not the usual 0 mV: at 22 °C and strong steps the spikes of
# the fast, small limit cycle peak just below 0 mV and would be missed.
SPIKE_LEVEL = -20.0


def run(out: str | Path = "results/hh_exploration", *, quick: bool = False, log=print) -> dict:
    """Explore the six parameters and the amplitude; write and return the summary."""
    out = output_dir(out)
    jax.config.update("jax_enable_x64", True)
    start = time.perf_counter()
    delay, duration = (50.0, 300.0) if quick else (100.0, 500.0)
    amplitudes = np.arange(0.0, 40.0 + 1e-9, 2.0 if quick else 0.5)
    n_points, rounds = (7, 2) if quick else (15, 2)
    settings = dict(duration=duration, delay=delay, dt=DT, save_every=DT, chunk_size=64,
                    threshold=SPIKE_LEVEL)
    trace_t = np.arange(*WINDOW)
    shape_t = np.arange(*SHAPE_WINDOW)
    extra = _extra_summary(delay, trace_t, shape_t)
    model = HodgkinHuxley()

    summary: dict = {"settings": {"delay_ms": delay, "duration_ms": duration, "dt_ms": DT,
                                  "probe_uA_cm2": PROBE, "amplitudes_uA_cm2": amplitudes,
                                  "spike_threshold_dvdt_mV_per_ms": DVDT_THRESHOLD,
                                  "spike_detection_mV": SPIKE_LEVEL,
                                  "rheobase_resolution_uA_cm2":
                                      float(np.diff(amplitudes)[0]) / (n_points + 1) ** rounds},
                     "parameters": {}}
    overview, rheobase_rows, shape_rows = {}, [], []
    default_curve, n_simulations = None, 0
    n_panels = len(PARAMETERS) + 1
    for step, (name, (label, full_values)) in enumerate(PARAMETERS.items(), start=1):
        values = np.asarray(full_values[::2] if quick else full_values)
        clock = time.perf_counter()
        log(f"[{step}/{n_panels}] {name}: {values.size} values x {amplitudes.size} amplitudes "
            f"= {values.size * amplitudes.size} runs in one vmapped sweep")
        curve = ex.fi_curve(model, amplitudes, params={name: values}, extra_summary=extra,
                            **settings)
        brackets = {c: _bracket(amplitudes, fires) for c, fires in
                    (("spike", curve.summaries["n_spikes"] >= 1),
                     ("repetitive", curve.rate_hz > 0))}
        found = ex.rheobases(model, brackets, params={name: values}, n_points=n_points,
                             rounds=rounds, **{k: v for k, v in settings.items()
                                               if k != "save_every"})
        n_simulations += curve.rate_hz.size + found["spike"].n_simulations
        write_rows(out / f"fi_{name}.csv", curve.rows())
        probe = int(np.argmin(np.abs(amplitudes - PROBE)))
        features = {k: curve.summaries[k][:, probe] for k in ex.SHAPE_FEATURES}
        result = {
            "values": values,
            "rheobase_spike_uA_cm2": found["spike"].current,
            "rheobase_repetitive_uA_cm2": found["repetitive"].current,
            "onset_rate_hz": found["repetitive"].onset_rate_hz,
            "rate_at_probe_hz": curve.rate_hz[:, probe],
            "max_rate_hz": curve.rate_hz.max(axis=1),
            "first_spike_at_probe": features,
            "n_failed_runs": int(np.sum(~curve.ok)),
        }
        summary["parameters"][name] = result
        for i, value in enumerate(values):
            rheobase_rows.append({"parameter": name, "value": float(value),
                                  **{f"rheobase_{c}": float(found[c].current[i]) for c in found},
                                  **{f"bracket_{c}": float(found[c].high[i] - found[c].low[i])
                                     for c in found},
                                  "onset_rate_hz": float(found["repetitive"].onset_rate_hz[i])})
            shape_rows.append({"parameter": name, "value": float(value),
                               "amplitude": float(amplitudes[probe]),
                               **{k: float(f[i]) for k, f in features.items()}})
        figures.parameter_grid(
            label, values, amplitudes, curve.rate_hz, found["spike"].current,
            found["repetitive"].current, trace_t, curve.summaries["window_v"][:, probe],
            PROBE, shape_t, curve.summaries["first_spike_v"][:, probe],
            path=out / f"hh_{name}.png", title=f"Hodgkin–Huxley: effect of {label}")
        overview[label] = (values, amplitudes, curve.rate_hz)
        if default_curve is None:
            default_index = int(np.argmin(np.abs(values - getattr(model, name))))
            default_curve = (curve, default_index, {c: r.current[default_index]
                                                    for c, r in found.items()},
                             found["repetitive"].onset_rate_hz[default_index])
        log(f"  rheobase (single spike) {_fmt(found['spike'].current)}, repetitive "
            f"{_fmt(found['repetitive'].current)} µA/cm²; rate at {PROBE:g} µA/cm² "
            f"{_fmt(curve.rate_hz[:, probe])} Hz  ({time.perf_counter() - clock:.1f} s)")

    log(f"[{n_panels}/{n_panels}] stimulus amplitude (standard cell, from the first sweep)")
    curve, i, thresholds, onset = default_curve
    shown = [int(np.argmin(np.abs(amplitudes - a))) for a in SHOWN]
    s = curve.summaries
    figures.amplitude_grid(
        amplitudes[shown], trace_t, s["window_v"][i, shown], amplitudes, curve.rate_hz[i],
        s["mean_rate_hz"][i], thresholds["spike"], thresholds["repetitive"],
        {"peak (mV)": s["peak_mv"][i], "AHP trough (mV)": s["ahp_mv"][i],
         "half-width (ms)": s["half_width_ms"][i], "latency (ms)": s["latency_ms"][i]},
        path=out / "hh_amplitude.png", title="Hodgkin–Huxley (standard parameters): effect "
                                              "of the step amplitude")
    figures.fi_overview(overview, path=out / "hh_fi_overview.png",
                        title="Hodgkin–Huxley f-I curves, one sweep per parameter")
    write_rows(out / "rheobase.csv", rheobase_rows)
    write_rows(out / "spike_shape.csv", shape_rows)
    summary["default"] = {
        "rheobase_spike_uA_cm2": thresholds["spike"],
        "rheobase_repetitive_uA_cm2": thresholds["repetitive"],
        "onset_rate_hz": onset,
        "rate_at_probe_hz": curve.rate_hz[i, int(np.argmin(np.abs(amplitudes - PROBE)))],
        "published": {"rheobase_spike_uA_cm2": "about 2.2-2.3 (long step, 6.3 °C)",
                      "repetitive_onset_uA_cm2": "6.26 (saddle-node of limit cycles; Rinzel "
                                                 "& Miller 1980, Guckenheimer & Labouriau "
                                                 "1993)"},
    }
    summary["n_simulations"] = n_simulations
    summary["seconds"] = time.perf_counter() - start
    write_summary(out, summary)
    log(f"standard cell: rheobase {thresholds['spike']:.3f} µA/cm² (single spike), "
        f"{thresholds['repetitive']:.3f} µA/cm² (repetitive, onset {onset:.1f} Hz); "
        f"{n_simulations} simulations in {summary['seconds']:.0f} s")
    log(f"wrote hh_*.png, fi_*.csv, rheobase.csv, spike_shape.csv and summary.json to "
        f"{out.resolve()}")
    return summary


def _extra_summary(delay, trace_t, shape_t):
    """Per-run summaries beyond the rates: the first spike's shape after the step onset, its
    aligned waveform, and the voltage over the trace window."""
    offsets, window = jnp.asarray(shape_t), jnp.asarray(trace_t)

    def extra(trace):
        features = ex.spike_shape(trace, t_start=delay, dvdt_threshold=DVDT_THRESHOLD)
        t_spike = ex.nth_spike_after(trace.spike_times, delay)
        features["first_spike_v"] = ex.aligned_waveform(trace.ts, trace.v, t_spike, offsets)
        features["window_v"] = ex.aligned_waveform(trace.ts, trace.v, delay, window)
        return features

    return extra


def _bracket(amplitudes, fires):
    """`(low, high)` per row of `fires` `(n, n_amplitudes)`: the amplitudes on either side of
    the first one that fires; NaN where none fires or the first already does."""
    first = np.argmax(fires, axis=1)
    valid = fires.any(axis=1) & (first > 0)
    low = np.where(valid, amplitudes[np.maximum(first - 1, 0)], np.nan)
    high = np.where(valid, amplitudes[first], np.nan)
    return low, high


def _fmt(x):
    return "[" + ", ".join(f"{v:.3g}" for v in np.asarray(x)) + "]"


def register(commands) -> None:
    """Add `jaxneuron hh-explore` to the CLI's sub-commands."""
    parser = commands.add_parser(
        "hh-explore", help="Hodgkin–Huxley: effect of g_Na, g_K, g_L, E_L, C_m, temperature "
                           "and step amplitude on traces, f-I curve, rheobase, spike shape")
    parser.add_argument("--out", default="results/hh_exploration", help="output folder")
    parser.add_argument("--quick", action="store_true", help="fewer values and amplitudes, "
                        "shorter steps (about a minute on 2 CPU cores)")
    parser.set_defaults(func=lambda args: run(args.out, quick=args.quick))
