"""Batched single-compartment Hodgkin-Huxley sweep run with Jaxley (reference timing).

``jaxley_hh_batch`` simulates N parameter sets of the classic HH point neuron with
Jaxley's built-in ``HH`` channel, the way a Jaxley user does a fast parameter sweep:
one single-compartment ``jx.Cell``, parameters injected with ``data_set`` and the
stimulus with ``data_stimulate``, and ``jax.jit(jax.vmap(...))`` over the sets.

Model (modern HH convention): C_m = 1 uF/cm^2, g_L = 0.3 mS/cm^2, E_Na = 50 mV,
E_K = -77 mV, E_L = -54.387 mV, HH 1952 rate functions; V(0) = -65 mV with m, h, n
at their steady state at -65 mV. Units at the interface: conductances in mS/cm^2,
stimulus in uA/cm^2 (constant on [0, t1]), times in ms, voltage in mV. Internally
Jaxley uses S/cm^2 for conductances and nA for point stimuli; the current density is
converted with the lateral cylinder area 2*pi*r*L of the compartment.

Spike times are upward crossings of ``threshold`` in the recorded voltage, linearly
interpolated between samples; they are computed in numpy after the timed run.
Importing jaxley does not change ``jax_enable_x64``; this function sets it from
``dtype`` for the duration of the call and restores the previous value afterwards.
"""

from __future__ import annotations

import math
import time

import jax
import jax.numpy as jnp
import jaxley as jx
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jaxley.channels import HH

from jaxneuron.analysis import detect_spikes
from jaxneuron.apps.benchmarking import loop_kernels

_RADIUS_UM = 10.0
_LENGTH_UM = 10.0
_AREA_UM2 = 2.0 * math.pi * _RADIUS_UM * _LENGTH_UM  # Jaxley's cylinder_area(l, r)
_V0 = -65.0
_G_LEAK_S_CM2 = 0.3e-3
_E_NA, _E_K, _E_LEAK = 50.0, -77.0, -54.387
# Above this many recorded samples (sets x time points) the batch runs in chunks.
_MAX_SAMPLES_PER_CHUNK = 100_000_000


def _build_cell() -> jx.Cell:
    comp = jx.Compartment()
    branch = jx.Branch(comp, ncomp=1)
    cell = jx.Cell(branch, parents=[-1])
    cell.insert(HH())
    cell.set("radius", _RADIUS_UM)
    cell.set("length", _LENGTH_UM)
    cell.set("capacitance", 1.0)
    cell.set("HH_gLeak", _G_LEAK_S_CM2)
    cell.set("HH_eNa", _E_NA)
    cell.set("HH_eK", _E_K)
    cell.set("HH_eLeak", _E_LEAK)
    cell.set("v", _V0)
    cell.init_states()  # m, h, n at steady state for V = -65 mV
    cell.record("v", verbose=False)
    return cell


def _spike_times(v: np.ndarray, dt: float, threshold: float, max_spikes: int):
    """Linearly interpolated upward threshold crossings, NaN-padded per row (jaxneuron's
    own detector, so both simulators are measured the same way)."""
    ts = jnp.arange(v.shape[1], dtype=jnp.float64 if v.dtype == np.float64 else jnp.float32)
    detect = jax.vmap(lambda row: detect_spikes(ts * dt, row, threshold, max_spikes))
    spikes, counts = detect(jnp.asarray(v))
    return np.asarray(spikes, dtype=float), np.asarray(counts)


def jaxley_hh_batch(
    g_na,
    g_k,
    amp,
    *,
    t1=100.0,
    dt=0.025,
    dtype="float32",
    threshold=0.0,
    max_spikes=32,
    solver="crank_nicolson",
    shard=False,
) -> dict:
    """g_na, g_k: arrays (N,) in mS/cm²; amp: array (N,) step current density in µA/cm² applied from t=0 to t1.
    Returns {"spike_times": np.ndarray (N, max_spikes) in ms, NaN-padded, "n_spikes": np.ndarray (N,),
             "compile_s": float (first call incl. compilation), "run_s": float (second, warm call, wall time, results blocked on),
             "solver": str, "dt": float, "version": jaxley.__version__,
             "kernels": kernels per step of the compiled loop (`loop_kernels`),
             "devices": devices the batch ran on (all of them with `shard`, else 1)}"""  # noqa: E501
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    g_na = np.asarray(g_na, dtype=np.float64).ravel()
    g_k = np.asarray(g_k, dtype=np.float64).ravel()
    amp = np.asarray(amp, dtype=np.float64).ravel()
    n = g_na.size
    if not (g_k.size == n and amp.size == n):
        raise ValueError("g_na, g_k and amp must have the same length")
    n_steps = int(round(t1 / dt))

    prev_x64 = bool(jax.config.read("jax_enable_x64"))
    jax.config.update("jax_enable_x64", dtype == "float64")
    try:
        cell = _build_cell()
        voltage_solver = (
            "jaxley.dhs.gpu" if cell._solver_device in ("gpu", "tpu") else "jaxley.dhs.cpu"
        )

        def simulate(gna_s_cm2, gk_s_cm2, i_na):
            param_state = cell.data_set("HH_gNa", gna_s_cm2, None)
            param_state = cell.data_set("HH_gK", gk_s_cm2, param_state)
            data_stimuli = cell.data_stimulate(i_na * jnp.ones((n_steps,)))
            return jx.integrate(
                cell,
                param_state=param_state,
                data_stimuli=data_stimuli,
                delta_t=dt,
                solver=solver,
                voltage_solver=voltage_solver,
            )[0]  # (n_steps + 1,) voltage at t = 0, dt, ..., n_steps * dt

        batched = jax.jit(jax.vmap(simulate))

        jdt = jnp.dtype(dtype)
        gna = jnp.asarray(g_na * 1e-3, dtype=jdt)  # mS/cm^2 -> S/cm^2
        gk = jnp.asarray(g_k * 1e-3, dtype=jdt)
        i_na = jnp.asarray(amp * _AREA_UM2 * 1e-8 * 1e3, dtype=jdt)  # uA/cm^2 -> nA

        n_dev = len(jax.devices()) if shard else 1  # shard: the batch over every device
        chunk = max(1, min(n, _MAX_SAMPLES_PER_CHUNK // (n_steps + 1)))
        chunk = max(n_dev, chunk // n_dev * n_dev)
        n_pad = -(-n // chunk) * chunk
        pad = n_pad - n

        def padded(x):
            return jnp.concatenate([x, jnp.broadcast_to(x[-1:], (pad,))]) if pad else x

        args = [padded(x).reshape(-1, chunk) for x in (gna, gk, i_na)]
        if n_dev > 1:
            mesh = Mesh(np.array(jax.devices()), ("batch",))
            args = [jax.device_put(a, NamedSharding(mesh, PartitionSpec(None, "batch")))
                    for a in args]

        def run_all():
            outs = [batched(a, b, s) for a, b, s in zip(*args, strict=True)]
            return jax.block_until_ready(outs)

        t0 = time.perf_counter()
        run_all()
        compile_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        outs = run_all()
        run_s = time.perf_counter() - t0

        v = np.concatenate([np.asarray(o) for o in outs])[:n]
        kernels = loop_kernels(jax.vmap(simulate), *(a[0] for a in args))["per_step"]
    finally:
        jax.config.update("jax_enable_x64", prev_x64)

    spike_times, n_spikes = _spike_times(v, dt, threshold, max_spikes)
    return {
        "spike_times": spike_times,
        "n_spikes": n_spikes,
        "compile_s": compile_s,
        "run_s": run_s,
        "solver": solver,
        "voltage_solver": voltage_solver,
        "dt": float(dt),
        "version": jx.__version__,
        "n_chunks": n_pad // chunk,
        "kernels": kernels,
        "devices": n_dev,
    }
