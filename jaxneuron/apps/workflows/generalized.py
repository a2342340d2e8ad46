"""`jaxneuron generalized-neuron`: the GeneralizedNeuron cell types, their signatures,
dendritic attenuation and STDP.

Writes into `out`:
- `cell_types.csv`, `fi_curves.png`: every preset (cortex, cerebellum, brainstem) with its
  input resistance, time constant, rheobase, spontaneous rate, rate / ISI ratio / latency
  at twice rheobase, from ONE vmapped sweep over presets x step amplitudes;
- `cell_states.png`: soma and dendrite voltage, moving threshold, spikes and adaptation
  current of each preset under a step;
- `stdp_window.png`: the STDP window measured by simulated spike pairings against the
  analytic exponentials;
- `stdp_weights.png`: one pyramidal cell learning its 100 input synapses by STDP (weights
  over time, from a network simulation with recorded weights);
- `summary.json`: the signatures checked, attenuation, the STDP errors and weight changes.
"""

from __future__ import annotations

import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from ..._fields import parameter_names
from ...analysis.spikes import interspike_intervals
from ...models.generalized import PRESETS, GeneralizedNeuron
from ...network import (
    STDP,
    Network,
    PoissonInput,
    Population,
    Projection,
    fixed_probability,
    simulate_network,
)
from ...network.plasticity import pairing_window
from ...plotting import neurons as figures
from ...simulate import simulate
from ...stimuli import SpikeInput, StepCurrent
from ...sweep import spike_summary, sweep
from ..output import output_dir, write_rows, write_summary

DT = 0.05  # ms, clock mode
MULTIPLES = (0.0, 0.5, 0.9, 1.1, 1.25, 1.5, 2.0, 2.5, 3.0)  # of the rheobase scale


def _summary(trace):
    isi = interspike_intervals(trace.spike_times)
    n = trace.n_spikes
    last = isi[jnp.clip(n - 2, 0, isi.shape[0] - 1)]
    ratio = jnp.where(n >= 3, last / isi[0], jnp.nan)
    return {**spike_summary(trace), "isi_ratio": ratio}


def run(out: str | Path = "results/generalized_neuron", *, quick: bool = False,
        log=print) -> dict:
    """Characterise every preset, measure STDP, write and return the summary."""
    out = output_dir(out)
    jax.config.update("jax_enable_x64", True)
    start = time.perf_counter()
    t1 = 500.0 if quick else 1000.0
    keys = list(PRESETS)
    models = {k: GeneralizedNeuron.preset(*k) for k in keys}

    log(f"[1/4] {len(keys)} cell types x {len(MULTIPLES)} step amplitudes: one vmapped "
        f"sweep, {t1:.0f} ms each")
    names = parameter_names(models[keys[0]])
    scale = {k: max(float(m.rheobase), 20.0) for k, m in models.items()}
    amplitudes = np.array([[f * scale[k] for f in MULTIPLES] for k in keys])
    columns = {n: np.repeat([float(getattr(models[k], n)) for k in keys], len(MULTIPLES))
               for n in names}
    result = sweep(models[keys[0]], columns, StepCurrent(0.0, t_start=0.0, t_stop=t1),
                   stimulus_params={"amplitude": amplitudes.ravel()}, summary=_summary,
                   t1=t1, dt=DT, max_spikes=1024, progress=False)
    rates = result.summaries["rate_hz"].reshape(len(keys), len(MULTIPLES))
    ratios = result.summaries["isi_ratio"].reshape(rates.shape)
    firsts = result.summaries["first_spike_ms"].reshape(rates.shape)
    at_two, at_half = MULTIPLES.index(2.0), MULTIPLES.index(0.5)
    rows = []
    for i, (cell, region) in enumerate(keys):
        m = models[cell, region]
        rows.append(dict(
            cell_type=cell, region=region,
            input_resistance_mohm=1000.0 / float(m.input_conductance),
            tau_m_ms=float(m.C / m.g_L), rheobase_pa=float(m.rheobase),
            spontaneous_hz=float(rates[i, 0]), rate_at_2x_hz=float(rates[i, at_two]),
            isi_ratio_at_2x=float(ratios[i, at_two]),
            first_spike_at_2x_ms=float(firsts[i, at_two]),
            rate_at_half_hz=float(rates[i, at_half]),
            first_spike_at_half_ms=float(firsts[i, at_half])))
    write_rows(out / "cell_types.csv", rows)
    figures.curves(MULTIPLES, {f"{c} ({r})": rates[i] for i, (c, r) in enumerate(keys)},
                   xlabel="step amplitude / rheobase scale", ylabel="rate (Hz)",
                   path=out / "fi_curves.png", title="f-I curves of the cell types")
    by_name = {f"{r['cell_type']}/{r['region']}": r for r in rows}
    signatures = _signatures(by_name, t1)
    for name, ok in signatures.items():
        log(f"  {name}: {'yes' if ok else 'NO'}")

    log("[2/4] state traces under a step (1.25 x the smallest swept step that made the cell "
        "fire), 300 ms")
    panels, thresholds = {}, {}
    for i, (k, m) in enumerate(models.items()):
        fired = np.flatnonzero(rates[i] > 0)
        amplitude = 1.25 * amplitudes[i, fired[0]] if fired.size else amplitudes[i, -1]
        trace = simulate(m, StepCurrent(amplitude, t_start=20.0, t_stop=300.0), t1=300.0,
                         dt=DT, save_every=0.2, max_spikes=512)
        label = f"{k[0]}\n({k[1]}, {amplitude:.0f} pA)"
        panels[label] = trace
        thresholds[label] = {"threshold": float(m.V_th) + np.asarray(trace.state("theta"))}
    figures.neuron_state_panels(panels, path=out / "cell_states.png", states=("V", "V_d", "w"),
                                extra_lines=thresholds, units={"w": "pA"},
                                title="GeneralizedNeuron presets: V, V_d, threshold, w")

    log("[3/4] dendritic attenuation (pyramidal): somatic EPSP from a proximal vs distal "
        "synapse")
    pyramidal = models["pyramidal", "cortex"]
    epsp = {}
    for site in ("g_e", "g_e_distal"):
        stim = SpikeInput.for_model(pyramidal, {site: (jnp.array([5.0]), 2.0)})
        trace = simulate(pyramidal, stim, t1=100.0, dt=DT)
        epsp[site] = float(jnp.max(trace.v) - trace.v[0])
    alpha_p, alpha_d = (float(x) for x in pyramidal.attenuation())
    attenuation = {"epsp_proximal_mv": epsp["g_e"], "epsp_distal_mv": epsp["g_e_distal"],
                   "epsp_ratio": epsp["g_e_distal"] / epsp["g_e"],
                   "attenuation_ratio": alpha_d / alpha_p}
    log(f"  EPSP {epsp['g_e']:.3f} mV proximal, {epsp['g_e_distal']:.3f} mV distal "
        f"(ratio {attenuation['epsp_ratio']:.3f}; cable factor ratio {alpha_d / alpha_p:.3f})")

    log("[4/4] STDP: window from simulated pairings; a cell learning its inputs")
    summary_stdp = _stdp(out, quick, log)

    summary = {
        "cell_types": by_name, "signatures": signatures,
        "all_signatures_reproduced": all(signatures.values()),
        "dendritic_attenuation": attenuation, "stdp": summary_stdp,
        "dt_ms": DT, "seconds": time.perf_counter() - start,
    }
    write_summary(out, summary)
    log(f"wrote cell_types.csv, fi_curves.png, cell_states.png, stdp_window.png, "
        f"stdp_weights.png and summary.json to {out.resolve()}")
    return summary


def _signatures(rows: dict, t1: float) -> dict[str, bool]:
    """The published signature of each type, checked on the measured table (steps of `t1`
    ms)."""
    return {
        "purkinje fires spontaneously at tens of Hz":
            20.0 <= rows["purkinje/cerebellum"]["spontaneous_hz"] <= 100.0,
        "fast-spiking interneuron > 100 Hz without adaptation":
            rows["interneuron/cortex"]["rate_at_2x_hz"] > 100.0
            and abs(rows["interneuron/cortex"]["isi_ratio_at_2x"] - 1.0) < 0.1,
        "pyramidal cell adapts (ISI ratio > 2)": rows["pyramidal/cortex"]["isi_ratio_at_2x"] > 2,
        "granule cell quiet at rest (no spontaneous spikes), rheobase < 50 pA":
            rows["granule/cerebellum"]["spontaneous_hz"] == 0.0
            and rows["granule/cerebellum"]["rheobase_pa"] < 50.0,
        "rheobase granule < pyramidal < motor":
            rows["granule/cerebellum"]["rheobase_pa"] < rows["pyramidal/cortex"]["rheobase_pa"]
            < rows["motor/brainstem"]["rheobase_pa"],
        # phasic: between its onset threshold and the sustained rheobase it fires only at
        # the step's onset
        "sensory relay fires only at onset (1-5 spikes, first < 5 ms) at half its "
        "sustained rheobase":
            rows["sensory/brainstem"]["first_spike_at_half_ms"] < 5.0
            and 1 <= rows["sensory/brainstem"]["rate_at_half_hz"] * t1 / 1000.0 <= 5,
    }


def _stdp(out: Path, quick: bool, log) -> dict:
    rule = STDP(A_plus=0.01, A_minus=0.0105, tau_plus=20.0, tau_minus=20.0, w_max=1.0)
    delta_t = np.arange(-80.0, 80.5, 2.0)
    measured = np.asarray(pairing_window(rule, delta_t, dt=0.5, w0=0.5))
    analytic = np.asarray(rule.window(delta_t, 0.5))
    figures.stdp_window(delta_t, measured, analytic, path=out / "stdp_window.png",
                        title="STDP window: simulated pairings vs analytic")
    window_error = float(np.max(np.abs(measured - analytic)))
    log(f"  window: max |simulated - analytic| = {window_error:.2e}")

    # One pyramidal cell, 100 plastic inputs from granule cells with graded Poisson drive.
    t1, n_in = (1000.0 if quick else 5000.0), 100
    learner = STDP(A_plus=0.05, A_minus=0.0525, tau_plus=20.0, tau_minus=20.0, w_max=2.0)
    inputs = Population(GeneralizedNeuron.preset("granule"), n_in, max_events=n_in)
    cell = Population(GeneralizedNeuron.preset("pyramidal"), 1)
    conn = fixed_probability(n_in, 1, 1.0, 1.0, seed=1)
    rates = np.linspace(500.0, 3000.0, n_in)  # Hz of 0.5 nS Poisson input per granule cell
    network = Network([inputs, cell], [Projection(0, 1, conn, plasticity=learner)],
                      [PoissonInput(0, rates, 0.5), PoissonInput(1, 3000.0, 1.0)])
    result = simulate_network(network, t1=t1, dt=0.1, key=jax.random.key(0),
                              record_weights=[0], save_every=10.0)
    history = np.asarray(result.weight_history[0])
    ts = np.asarray(result.ts)
    figures.weights_over_time(ts, history, path=out / "stdp_weights.png",
                              title="100 plastic inputs onto one pyramidal cell")
    input_rates = 1000.0 * np.asarray(result.n_spikes[0]) / t1
    final = history[-1]
    corr = float(np.corrcoef(input_rates, final)[0, 1]) if np.std(final) > 0 else 0.0
    log(f"  learner: output {float(result.rates(1)):.1f} Hz, mean weight "
        f"{history[0].mean():.3f} -> {final.mean():.3f} nS, correlation of final weight "
        f"with input rate {corr:.2f}")
    return {"window_max_abs_error": window_error, "learner_seconds": t1 / 1000.0,
            "learner_output_rate_hz": float(result.rates(1)),
            "mean_weight_before": float(history[0].mean()),
            "mean_weight_after": float(final.mean()),
            "fraction_at_upper_bound": float(np.mean(final >= 2.0 - 1e-9)),
            "fraction_at_lower_bound": float(np.mean(final <= 1e-9)),
            "weight_input_rate_correlation": corr}


def register(commands) -> None:
    """Add `jaxneuron generalized-neuron` to the CLI's sub-commands."""
    parser = commands.add_parser(
        "generalized-neuron", help="cell types of cortex, cerebellum and brainstem: "
                                   "signatures, dendrites, adaptation, STDP")
    parser.add_argument("--out", default="results/generalized_neuron", help="output folder")
    parser.add_argument("--quick", action="store_true", help="shorter runs (~1 min on CPU)")
    parser.set_defaults(func=lambda args: run(args.out, quick=args.quick))
