"""Floors: minimal hand-written JAX loops doing the work of jaxneuron's clock loop for one
model, timed in the same process as the benchmark they sit next to.

They know one model each and skip what the engine must keep (interpolated spike times,
refractoriness resolved inside the step, surrogate gradients, the generic model contract),
so they bound from below what the generic engine can cost. Originals: the issue 19 floor
scripts (`izh_floor.py`, `coba_floor.py`).
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxneuron.apps.benchmarking import loop_kernels


def timed(fn, *args, repeats: int = 2) -> tuple[object, float]:
    """`(out, run_s)` of `jax.jit(fn)(*args)`: the best of `repeats` calls after a warm-up."""
    compiled = jax.jit(fn)
    out = jax.block_until_ready(compiled(*args))
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        out = jax.block_until_ready(compiled(*args))
        best = min(best, time.perf_counter() - start)
    return out, best


def izhikevich_floor(sets: dict, dtype, dt: float, t1: float, raster: bool = False,
                     times: int = 0, block: int = 20) -> dict:
    """Euler steps of N Izhikevich neurons (threshold v >= 30 at step ends), counting spikes;
    with `raster`, every step's spike flags are also emitted as scan output `(steps, N)`;
    with `times` > 0, every spike time (the step's end, ms) is kept in a list of `times`
    slots per neuron, the way the clock engine keeps them: each step emits its spike time
    (NaN without one) into a buffer of `block` steps, and each block's spikes are written
    to the lists rank by rank (the k-th spike of every neuron in one scatter).

    **Returns:** `{"run_s", "kernels", "n_spikes"}` (kernels per step of the loop body),
    and `"spike_times"` `(N, times)` with `times`."""
    steps = int(round(t1 / dt))
    params = jnp.asarray(np.stack([sets[k] for k in ("a", "b", "c", "d", "I")]), dtype)

    def run(params):
        a, b, c, d, current = params
        n = a.shape[0]

        def step(carry, k):
            v, u, count = carry
            v1 = v + dt * (0.04 * v * v + 5.0 * v + 140.0 - u + current)
            u1 = u + dt * a * (b * v - u)
            spiked = v1 >= 30.0
            if not times:
                count = count + spiked
            carry = (jnp.where(spiked, c, v1), jnp.where(spiked, u1 + d, u1), count)
            if times:
                return carry, jnp.where(spiked, (k + 1).astype(dtype) * dt, jnp.nan)
            return carry, (spiked if raster else None)

        v0 = jnp.full_like(a, -65.0)
        start = (v0, b * v0, jnp.zeros(a.shape, jnp.int32))
        if not times:
            (_, _, count), flags = jax.lax.scan(step, start, jnp.arange(steps), length=steps)
            return count if flags is None else (count, flags)

        def one_block(carry, j):
            (v, u, count, lists) = carry
            (v, u, _), emitted = jax.lax.scan(step, (v, u, count), j * block + jnp.arange(block))
            spiked = [~jnp.isnan(emitted[i]) for i in range(block)]

            def next_step(after):
                found = jnp.full((n,), block, jnp.int32)
                for i in reversed(range(block)):
                    found = jnp.where(spiked[i] & (i > after), i, found)
                return found

            def add_rank(_, rank):
                lists, count, at = rank
                slot = jnp.where(at < block, count, times)  # past the end: dropped
                lists = lists.at[jnp.arange(n), slot].set(
                    emitted[jnp.minimum(at, block - 1), jnp.arange(n)], mode="drop")
                return lists, count + (at < block), next_step(at)

            in_block = sum(s.astype(jnp.int32) for s in spiked)
            lists, count, _ = jax.lax.fori_loop(0, jnp.max(in_block), add_rank,
                                                (lists, count, next_step(-1)))
            return (v, u, count, lists), None

        lists = jnp.full((n, times), jnp.nan, dtype)
        (_, _, count, lists), _ = jax.lax.scan(one_block, (*start, lists),
                                               jnp.arange(steps // block))
        return count, lists

    out, run_s = timed(run, params)
    count = out if not (raster or times) else out[0]
    result = {"run_s": run_s, "kernels": loop_kernels(run, params)["per_step"],
              "n_spikes": np.asarray(count)}
    if times:
        result["spike_times"] = np.asarray(out[1])
    return result


def coba_floor(n: int, p: float, dt: float, t1: float, propagate: bool = True,
               buffer: int | None = None, seed: int = 0, build_only: bool = False) -> dict:
    """The COBA network (Brette et al. 2007) as a minimal loop: Euler update of conductance
    LIF cells with exponential synapses and a 5-ms refractory period; with `propagate`, the
    step's spikes compacted into a buffer of `buffer` sources (`jnp.nonzero`; default
    `max(32, n // 125)`, about 4x the mean spikes per step at 20 Hz) and their outgoing
    synapses added with one gather and two scatter-adds (excitatory, inhibitory).

    The synapses are drawn sparse, as `coba_network` draws them (each pair with probability
    `p`, autapses allowed: binomial out-degrees, distinct targets), and held as padded rows
    `(n + 1, max out-degree)` int32: memory O(synapses), never O(n^2).

    **Returns:** `{"run_s", "kernels", "rate_hz", "peak_events", "overflow"}` (run time of
    `t1` ms, kernels per step, mean rate over all cells, the most spikes in one step and
    whether it exceeded `buffer`); with `build_only`, `{"targets", "y0", "n_synapses"}` (the
    padded rows, the initial states, the number of synapses) without running."""
    from jaxneuron.network.connectivity import fixed_probability

    rng = np.random.default_rng(seed)
    n_exc, steps = int(0.8 * n), int(round(t1 / dt))
    buffer = max(32, n // 125) if buffer is None else buffer
    conn = fixed_probability(n, n, p, 1.0, seed=seed)
    indptr, post = np.asarray(conn.indptr), np.asarray(conn.targets)
    degrees = np.diff(indptr)
    width = max(int(degrees.max()), 1)
    source = np.repeat(np.arange(n), degrees)
    targets = np.full((n + 1, width), n, np.int32)  # row n: the empty source
    targets[source, np.arange(post.size) - indptr[source]] = post
    del conn, source, post
    init = rng.normal(size=(3, n))
    tau_e, tau_i, v_th, v_reset, e_l, e_e, e_i = 5.0, 10.0, -50.0, -60.0, -60.0, 0.0, -80.0
    y0 = (jnp.asarray(e_l - 5.0 + 5.0 * init[0], jnp.float32),
          jnp.asarray(10.0 * (4.0 + 1.5 * init[1]), jnp.float32),
          jnp.asarray(10.0 * (20.0 + 12.0 * init[2]), jnp.float32), jnp.zeros(n, jnp.float32))
    if build_only:
        return {"targets": targets, "y0": y0, "n_synapses": int(indptr[-1])}
    targets = jnp.asarray(targets)
    excitatory = jnp.asarray(np.r_[np.ones(n_exc), np.zeros(n - n_exc + 1)], jnp.float32)
    g_l, c_m, w_e, w_i, t_ref = 10.0, 200.0, 6.0, 67.0, 5.0
    decay_e, decay_i = float(np.exp(-dt / tau_e)), float(np.exp(-dt / tau_i))

    def run(y0):
        def step(carry, _):
            v, g_e, g_i, refractory = carry
            dv = (g_l * (e_l - v) + g_e * (e_e - v) + g_i * (e_i - v)) / c_m
            v = jnp.where(refractory > 0, v, v + dt * dv)
            g_e, g_i = g_e * decay_e, g_i * decay_i
            spiked = v > v_th
            v = jnp.where(spiked, v_reset, v)
            refractory = jnp.where(spiked, t_ref, jnp.maximum(refractory - dt, 0.0))
            if propagate:
                sources = jnp.nonzero(spiked, size=buffer, fill_value=n)[0]
                rows = targets[sources]
                exc = jnp.broadcast_to(excitatory[sources][:, None], rows.shape)
                g_e = g_e.at[rows].add(w_e * exc, mode="drop")
                g_i = g_i.at[rows].add(w_i * (sources < n)[:, None] * (1.0 - exc), mode="drop")
            return (v, g_e, g_i, refractory), jnp.sum(spiked)

        _, counts = jax.lax.scan(step, y0, None, length=steps)
        return jnp.sum(counts), jnp.max(counts)

    (total, peak), run_s = timed(run, y0)
    return {"run_s": run_s, "kernels": loop_kernels(run, y0)["per_step"],
            "rate_hz": float(total) / n / (t1 / 1000.0), "peak_events": int(peak),
            "overflow": bool(propagate and int(peak) > buffer)}


def hh_floor(sets: dict, dt: float, t1: float, dtype=jnp.float32,
             record_v: bool = False) -> dict:
    """The HH sweep's work as a minimal loop: the staggered exponential update of
    `HodgkinHuxley` (V relaxed with the gates at the half step, then the gates with the
    rates at the new V) for every set, counting upward crossings of 0 mV; no spike-time
    list, no generic model or solver contract. With `record_v`, V of every set at every
    step is kept (the work Jaxley does), shape `(steps, n)`; otherwise no trace.

    **Returns:** `{"run_s", "kernels", "n_spikes"}` (kernels per step of the loop body)."""
    steps = int(round(t1 / dt))
    g_na, g_k, amp = (jnp.asarray(sets[k], dtype) for k in ("g_Na", "g_K", "amplitude"))

    def x_over(x):  # x / (1 - exp(-x)), finite at 0
        small = jnp.abs(x) < 1e-4
        return jnp.where(small, 1.0 + 0.5 * x, x / -jnp.expm1(-jnp.where(small, 1.0, x)))

    def rates(v):
        return (x_over((v + 40.0) / 10.0), 4.0 * jnp.exp(-(v + 65.0) / 18.0),
                0.07 * jnp.exp(-(v + 65.0) / 20.0), 1.0 / (1.0 + jnp.exp(-(v + 35.0) / 10.0)),
                0.1 * x_over((v + 55.0) / 10.0), 0.125 * jnp.exp(-(v + 65.0) / 80.0))

    def relax(x, a, b, h):
        s = a + b
        return a / s + (x - a / s) * jnp.exp(-s * h)

    def run(g_na, g_k, amp):
        def step(carry, _):
            v, m, h, n, count = carry  # gates at the half step
            gna, gk, gl = g_na * m**3 * h, g_k * n**4, 0.3
            g = gna + gk + gl
            target = (amp + 50.0 * gna - 77.0 * gk - 54.387 * gl) / g
            v1 = target + (v - target) * jnp.exp(-g * dt)
            a_m, b_m, a_h, b_h, a_n, b_n = rates(v1)
            return (v1, relax(m, a_m, b_m, dt), relax(h, a_h, b_h, dt), relax(n, a_n, b_n, dt),
                    count + ((v < 0.0) & (v1 >= 0.0))), (v1 if record_v else None)

        v0 = jnp.full_like(g_na, -65.0)
        a_m, b_m, a_h, b_h, a_n, b_n = rates(v0)
        gates = (relax(a_m / (a_m + b_m), a_m, b_m, 0.5 * dt),
                 relax(a_h / (a_h + b_h), a_h, b_h, 0.5 * dt),
                 relax(a_n / (a_n + b_n), a_n, b_n, 0.5 * dt))
        carry, trace = jax.lax.scan(step, (v0, *gates, jnp.zeros(g_na.shape, jnp.int32)), None,
                                    length=steps)
        return (carry[-1], trace) if record_v else carry[-1]

    out, run_s = timed(run, g_na, g_k, amp)
    return {"run_s": run_s, "kernels": loop_kernels(run, g_na, g_k, amp)["per_step"],
            "n_spikes": np.asarray(out[0] if record_v else out)}
