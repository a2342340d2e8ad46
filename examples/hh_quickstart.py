"""Hodgkin–Huxley quick start: one run, a batched f-I curve, and a gradient fit.

    python examples/hh_quickstart.py
"""

import jax
import numpy as np

import jaxneuron as jn

jax.config.update("jax_enable_x64", True)

model, stim = jn.HodgkinHuxley(), jn.StepCurrent(10.0)
trace = jn.simulate(model, stim, t1=100.0, save_every=0.1)
print(f"{int(trace.n_spikes)} spikes, steady rate "
      f"{float(jn.analysis.steady_firing_rate(trace.spike_times)):.1f} Hz")

amplitudes = np.linspace(0.0, 30.0, 31)
result = jn.sweep(model, {"g_Na": np.full(31, 120.0)}, jn.StepCurrent(0.0),
                  stimulus_params={"amplitude": amplitudes}, t1=200.0, progress=False)
for amp, rate in zip(amplitudes[::5], result.summaries["steady_rate_hz"][::5], strict=True):
    # NaN steady rate: fewer than two spikes late in the step, i.e. no repetitive firing
    print(f"I = {amp:4.1f} µA/cm²: " + (f"{rate:6.1f} Hz" if np.isfinite(rate)
                                         else "no repetitive firing"))

kw = dict(t1=20.0, save_every=0.1)
target = jn.simulate(model, jn.StepCurrent(10.0, 2.0), **kw).v
fitted = jn.fit(jn.HodgkinHuxley(g_Na=84.0, g_K=50.0), jn.StepCurrent(10.0, 2.0), target,
                params=["g_Na", "g_K"], steps=40, **kw)
print("fitted:", fitted.params)
