"""Izhikevich (2003) firing patterns, clock vs exact spike times, and spike-time gradients.

    python examples/izhikevich_firing_patterns.py [--out results/izhikevich]

Writes izhikevich_presets.png (voltage of every preset under a 10-unit step) and
clock_vs_exact.png (spike-time error of clock mode against exact mode as dt shrinks).
"""

import argparse
import pathlib

import diffrax
import jax
import numpy as np

import jaxneuron as jn
from jaxneuron.models.izhikevich import PRESETS
from jaxneuron.plotting import spike_time_errors, voltage_panels

jax.config.update("jax_enable_x64", True)
parser = argparse.ArgumentParser()
parser.add_argument("--out", default="results/izhikevich")
out = pathlib.Path(parser.parse_args().out)
out.mkdir(parents=True, exist_ok=True)

stim = jn.StepCurrent(10.0, 20.0)
exact = dict(spiking="exact", rtol=1e-10, atol=1e-10, max_spikes=256)
traces = {name: jn.simulate(jn.Izhikevich.preset(name), stim, t1=300.0, dt=0.01,
                            save_every=0.1, **exact) for name in PRESETS}
for name, trace in traces.items():
    print(f"{name:>3}: {int(trace.n_spikes):3d} spikes, "
          f"adaptation index {float(jn.analysis.adaptation_index(trace.spike_times)):+.3f}, "
          f"bursts {int(jn.analysis.burst_count(trace.spike_times))}")
print("wrote", voltage_panels(traces, path=out / "izhikevich_presets.png",
                              title="Izhikevich (2003) presets, exact mode"))

rs = jn.Izhikevich.preset("RS")
reference = np.asarray(jn.simulate(rs, stim, t1=300.0, dt=0.01, save_every=0,
                                   **exact).spike_times)
dts = [0.08, 0.04, 0.02, 0.01, 0.005]
errors = {}
for solver in ("euler", "heun", "tsit5"):
    errors[solver] = [np.nanmax(np.abs(np.asarray(jn.simulate(
        rs, stim, t1=300.0, dt=dt, solver=solver, save_every=0, max_spikes=256).spike_times)
        - reference)) for dt in dts]
    print(f"clock {solver}: max spike-time error vs exact", np.round(errors[solver], 4))
print("wrote", spike_time_errors(dts, errors, path=out / "clock_vs_exact.png",
                                 title="Izhikevich RS: clock mode vs exact"))


def third_spike(d):
    return jn.simulate(jn.Izhikevich.preset("RS", d=d), stim, t1=150.0, dt=0.01,
                       save_every=0, adjoint=diffrax.ForwardMode(), **exact).spike_times[2]


slope = jax.jacfwd(third_spike)(8.0)
print(f"d(third spike time)/d(d) = {float(slope):.4f} ms per unit of d (exact mode)")
