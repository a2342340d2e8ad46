"""`jaxneuron izhikevich-network`: the 1000-neuron random network of Izhikevich (2003).

800 excitatory and 200 inhibitory Izhikevich cells with the paper's random heterogeneity,
all-to-all random weights and thalamic noise (`jaxneuron.apps.networks.circuits.
izhikevich_2003_network`), simulated clock-driven at dt = 0.5 ms. The paper's figure shows
the network organising into population rhythms in the alpha (~10 Hz) and gamma (~40 Hz)
bands; here the population rate's power spectrum (Welch, SciPy) is measured and its peak
and band powers reported (after a 300-ms start-up transient in which every cell, started
at rest, fires together).

Writes into `out`: `raster.png` (raster and population rates), `spectrum.png`,
`spectrum.csv`, `summary.json` (rates, spectral peak, alpha/gamma band power fractions).
"""

from __future__ import annotations

import time
from pathlib import Path

import jax
import numpy as np
from scipy.signal import welch

from ...network import simulate_network
from ...plotting import neurons as figures
from ..arguments import nonnegative_int
from ..networks.circuits import izhikevich_2003_network
from ..output import output_dir, write_rows, write_summary

DT = 0.5  # ms
TRANSIENT_MS = 300.0  # discarded from the rates and the spectrum
BANDS = {"delta/theta 1-8 Hz": (1.0, 8.0), "alpha 8-13 Hz": (8.0, 13.0),
         "gamma 30-80 Hz": (30.0, 80.0)}


def run(out: str | Path = "results/izhikevich_network", *, quick: bool = False,
        seed: int = 0, log=print) -> dict:
    """Simulate the network, write the raster, spectrum and summary; return the summary."""
    out = output_dir(out)
    t1 = 1000.0 if quick else 5000.0
    start = time.perf_counter()
    log(f"Izhikevich (2003) network, 1000 neurons, {t1 / 1000:g} s at dt {DT} ms")
    result = simulate_network(izhikevich_2003_network(dt=DT, seed=seed), t1=t1, dt=DT,
                              key=jax.random.key(seed))
    skip = int(round(TRANSIENT_MS / DT))  # the synchronous start-up burst
    counts = sum(np.asarray(c) for c in result.counts)[skip:]
    per_ms = counts.reshape(-1, int(round(1.0 / DT))).sum(axis=1).astype(float)
    freqs, power = welch(per_ms - per_ms.mean(), fs=1000.0, nperseg=min(512, per_ms.size))
    keep = freqs > 0
    peak = float(freqs[keep][np.argmax(power[keep])])
    total = float(np.sum(power[(freqs >= 1.0) & (freqs <= 150.0)]))
    fractions = {name: float(np.sum(power[(freqs >= lo) & (freqs < hi)]) / total)
                 for name, (lo, hi) in BANDS.items()}
    write_rows(out / "spectrum.csv", [{"frequency_hz": f, "power": p}
                                      for f, p in zip(freqs, power, strict=True)])
    window = min(t1, 1000.0)
    spikes = {}
    for p, name in enumerate(("excitatory", "inhibitory")):
        times, idx = result.spike_times(p)
        spikes[name] = (times[times <= window], idx[times <= window], result.sizes[p])
    figures.typed_raster(spikes, t1=window, path=out / "raster.png", bin_ms=2.0,
                         title="Izhikevich (2003) network (first second)")
    figures.power_spectrum(freqs, power, path=out / "spectrum.png", bands=BANDS,
                           title="population rate spectrum (Welch)")
    summary = {
        "seconds_simulated": t1 / 1000.0, "dt_ms": DT,
        "rate_exc_hz": _rate(result, 0, skip), "rate_inh_hz": _rate(result, 1, skip),
        "largest_burst": int(max(result.peak_events[0], 1)),
        "spectral_peak_hz": peak, "band_power_fraction": fractions,
        "wall_s": time.perf_counter() - start,
    }
    write_summary(out, summary)
    log(f"  rates {summary['rate_exc_hz']:.1f} Hz (exc), {summary['rate_inh_hz']:.1f} Hz "
        f"(inh); spectral peak {peak:.1f} Hz; band power "
        + ", ".join(f"{k} {v:.2f}" for k, v in fractions.items()))
    log(f"wrote raster.png, spectrum.png, spectrum.csv and summary.json to {out.resolve()}")
    return summary


def _rate(result, population: int, skip: int) -> float:
    """Mean rate (Hz) of `population` after the first `skip` steps."""
    counts = np.asarray(result.counts[population])[skip:]
    return float(1000.0 * counts.sum() / (result.sizes[population] * counts.size * DT))


def register(commands) -> None:
    """Add `jaxneuron izhikevich-network` to the CLI's sub-commands."""
    parser = commands.add_parser(
        "izhikevich-network", help="the 1000-neuron random network of Izhikevich (2003): "
                                   "raster and population spectrum")
    parser.add_argument("--out", default="results/izhikevich_network", help="output folder")
    parser.add_argument("--quick", action="store_true", help="1 s instead of 5 s")
    parser.add_argument("--seed", type=nonnegative_int, default=0)
    parser.set_defaults(func=lambda args: run(args.out, quick=args.quick, seed=args.seed))
