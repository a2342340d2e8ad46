"""`jaxneuron recurrent-network`: a recurrent circuit of typed neurons (sensory relay,
pyramidal, fast-spiking interneuron) with STDP, calibrated to the original project's
objectives.

The original "digital brain" stated its objectives in unitless steps: an interneuron
producing about 20 inhibitory spikes over a 40-step cycle, and early-onset neurons firing
within 4-5 steps of input onset. With a step of 5 ms these are biologically plausible: 20
spikes in 200 ms is 100 Hz, ordinary for a fast-spiking interneuron, and cortical cells
answering a sensory input within 20-25 ms match cortical response latencies. The circuit
is `jaxneuron.apps.networks.circuits.sensory_cortical_circuit`; two of its knobs are found by
vmapped sweeps with bracketing (`jaxneuron.apps.networks.tuning.calibrate`), not set by hand:
- the interneurons' bias current, so that they fire 20 spikes per 200-ms cycle;
- the sensory -> pyramidal gain, so that 90 % of the pyramidal (early-onset) cells fire
  within 4 steps (20 ms) of the input onset.
The two are calibrated in turn (each affects the other through the recurrent loop), then
the calibrated circuit runs for a longer time with STDP on the recurrent pyramidal
synapses.

Writes into `out`: `calibration.csv`, `raster.png` (raster and population rates by type),
`spike_counts.png`, `weights.png` (recurrent weight matrix before/after STDP),
`summary.json`.
"""

from __future__ import annotations

import time
from pathlib import Path

import equinox as eqx
import jax
import numpy as np

from ...network import STDP, simulate_network
from ...plotting import neurons as figures
from ..networks import circuits as C
from ..networks.tuning import calibrate
from ..output import output_dir, write_rows, write_summary

STEP_MS = 5.0           # the length given to one step of the original's objectives
CYCLE_STEPS = 40        # the interneuron's cycle
TARGET_SPIKES = 20.0    # interneuron spikes per cycle
ONSET_STEPS = 4         # early-onset cells fire within this many steps...
ONSET_FRACTION = 0.9    # ... this fraction of them
DT = 0.1                # ms


def _first_spikes(result, population: int, i: int | None = None) -> np.ndarray:
    """First spike time (ms, inf if none) of each neuron of `population` (of network `i`
    of a batched result)."""
    raster = np.asarray(result.raster(population))
    raster = raster if i is None else raster[i]
    return np.where(raster.any(0), (raster.argmax(0) + 1) * result.dt, np.inf)


def onset_fraction(result, i: int | None = None) -> float:
    """Fraction of pyramidal cells whose first spike comes within `ONSET_STEPS` steps."""
    return float(np.mean(_first_spikes(result, C.PYRAMIDAL, i) <= ONSET_STEPS * STEP_MS))


def interneuron_spikes(result, i: int | None = None) -> float:
    """Mean spikes per interneuron over the run (one cycle)."""
    counts = result.n_spikes[C.INTERNEURON]
    return float(np.mean(np.asarray(counts if i is None else counts[i])))


def run(out: str | Path = "results/recurrent_network", *, quick: bool = False,
        log=print) -> dict:
    """Calibrate, simulate with STDP, write and return the summary."""
    out = output_dir(out)
    start = time.perf_counter()
    cycle = CYCLE_STEPS * STEP_MS
    iterations, rounds = (1, 2) if quick else (2, 3)
    gain, drive, history = 5.0, 250.0, []
    log(f"[1/3] calibrating two knobs ({iterations} x 2 calibrations, {rounds} rounds of 5 "
        f"vmapped networks, {cycle:.0f} ms each)")
    for it in range(iterations):
        found = calibrate(lambda v, g=gain: C.sensory_cortical_circuit(g, v),
                          interneuron_spikes, 0.0, 600.0, TARGET_SPIKES, t1=cycle, dt=DT,
                          points=5, rounds=rounds, log=log)
        drive = found["value"]
        history += [dict(iteration=it, knob="interneuron_drive_pa", **h)
                    for h in found["history"]]
        log(f"  interneuron drive {drive:.1f} pA -> {found['metric']:.2f} spikes per cycle")
        found = calibrate(lambda v, d=drive: C.sensory_cortical_circuit(v, d),
                          onset_fraction, 0.5, 20.0, ONSET_FRACTION, t1=cycle, dt=DT,
                          points=5, rounds=rounds, log=log)
        gain = found["value"]
        history += [dict(iteration=it, knob="sensory_gain", **h) for h in found["history"]]
        log(f"  sensory gain {gain:.3f} -> {found['metric']:.3f} of pyramidal cells within "
            f"{ONSET_STEPS} steps")
    write_rows(out / "calibration.csv", history)

    log("[2/3] the calibrated circuit, one cycle, fresh input noise")
    result = simulate_network(C.sensory_cortical_circuit(gain, drive), t1=cycle, dt=DT,
                              key=jax.random.key(1))
    first = _first_spikes(result, C.PYRAMIDAL)
    objectives = {
        "step_ms": STEP_MS, "cycle_ms": cycle,
        "interneuron_spikes_per_cycle": interneuron_spikes(result),
        "interneuron_rate_hz": float(result.rates(C.INTERNEURON)),
        "onset_fraction_within_4_steps": onset_fraction(result),
        "median_onset_ms": float(np.median(first)),
        "median_onset_steps": float(np.median(first)) / STEP_MS,
        "sensory_median_onset_ms": float(np.median(_first_spikes(result, C.SENSORY))),
    }
    objectives["interneuron_target_met"] = abs(
        objectives["interneuron_spikes_per_cycle"] - TARGET_SPIKES) <= 2.0
    objectives["onset_target_met"] = objectives["onset_fraction_within_4_steps"] >= 0.85
    log(f"  interneurons {objectives['interneuron_spikes_per_cycle']:.1f} spikes per "
        f"{CYCLE_STEPS}-step cycle (target {TARGET_SPIKES:.0f}); "
        f"{100 * objectives['onset_fraction_within_4_steps']:.0f} % of pyramidal cells fire "
        f"within {ONSET_STEPS} steps (median {objectives['median_onset_steps']:.2f} steps)")

    t_stdp = 1000.0 if quick else 5000.0
    log(f"[3/3] {t_stdp / 1000:.0f} s with STDP on the recurrent pyramidal synapses")
    stdp = STDP(A_plus=0.02, A_minus=0.021, tau_plus=20.0, tau_minus=20.0, w_max=3.0)
    network = C.sensory_cortical_circuit(gain, drive, stdp=stdp)
    plastic = simulate_network(network, t1=t_stdp, dt=DT, key=jax.random.key(2))
    recurrent = network.projections[1]
    before = recurrent.connectivity.to_dense()
    after = eqx.tree_at(lambda c: c.weights, recurrent.connectivity,
                        plastic.weights[1]).to_dense()
    figures.weight_matrices(before, after, path=out / "weights.png",
                            title=f"pyramidal -> pyramidal weights (nS), {t_stdp / 1000:.0f} s "
                                  "of STDP")
    spikes = {}
    for p, name in enumerate(C.POPULATION_NAMES):
        times, idx = result.spike_times(p)
        spikes[name] = (times, idx, result.sizes[p])
    figures.typed_raster(spikes, t1=cycle, path=out / "raster.png",
                         title="one cycle of the calibrated circuit (input onset at 0 ms)")
    figures.spike_count_histograms(
        {name: plastic.n_spikes[p] for p, name in enumerate(C.POPULATION_NAMES)},
        path=out / "spike_counts.png", title=f"spikes per neuron in {t_stdp / 1000:.0f} s")
    w0, w1 = np.asarray(recurrent.connectivity.weights), np.asarray(plastic.weights[1])
    summary = {
        "calibrated": {"interneuron_drive_pa": drive, "sensory_gain": gain},
        "objectives": objectives,
        "stdp": {"seconds": t_stdp / 1000.0, "mean_weight_before": float(w0.mean()),
                 "mean_weight_after": float(w1.mean()),
                 "mean_abs_change": float(np.mean(np.abs(w1 - w0))),
                 "rates_hz": {name: float(plastic.rates(p))
                              for p, name in enumerate(C.POPULATION_NAMES)}},
        "n_calibration_runs": len(history), "seconds": time.perf_counter() - start,
    }
    write_summary(out, summary)
    log(f"wrote calibration.csv, raster.png, spike_counts.png, weights.png and summary.json "
        f"to {out.resolve()}")
    return summary


def register(commands) -> None:
    """Add `jaxneuron recurrent-network` to the CLI's sub-commands."""
    parser = commands.add_parser(
        "recurrent-network", help="recurrent circuit of typed neurons with STDP, calibrated "
                                  "to the interneuron-rate and onset objectives")
    parser.add_argument("--out", default="results/recurrent_network", help="output folder")
    parser.add_argument("--quick", action="store_true", help="one calibration pass, 1 s of "
                                                             "STDP (~2 min on CPU)")
    parser.set_defaults(func=lambda args: run(args.out, quick=args.quick))
