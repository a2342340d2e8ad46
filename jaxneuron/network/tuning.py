"""Tuning a network toward criticality: a sparse random E/I conductance-LIF network whose
excitation scale is swept over vmapped instances and bracketed until its branching ratio
(`jaxneuron.analysis.criticality`) reaches a target."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..analysis.criticality import measure
from ..models.conductance_lif import ConductanceLIF
from .connectivity import fixed_probability
from .engine import Network, Population, Projection, simulate_network
from .inputs import PoissonInput
from .synapses import ExponentialConductance


def random_ei_network(gain=1.0, *, n: int = 500, p: float = 0.025, w_exc: float = 4.0,
                      w_inh: float = 20.0, input_rate: float = 200.0, w_input: float = 1.0,
                      seed: int = 0, max_events: int = 64):
    """A sparse random conductance-LIF network for criticality studies (NumPy-seeded).

    `n` `ConductanceLIF` cells (default COBA cell), 80 % excitatory (population 0) and 20 %
    inhibitory (population 1); every pair connected with probability `p`; excitatory
    synapses `w_exc * gain` nS into g_e (`gain` is the excitation scale, the `gain` of
    both excitatory `Projection`s, so networks differing only in `gain` stack for `vmap`),
    inhibitory synapses `w_inh` nS into g_i; every cell receives independent Poisson
    input at `input_rate` (Hz) of `w_input` nS into g_e. Run with `dt` 0.5 ms or less.
    """
    n_exc = int(round(0.8 * n))
    sizes = (n_exc, n - n_exc)
    pops = [Population(ConductanceLIF(), size, max_events=min(size, max_events))
            for size in sizes]
    projections = []
    for pre, (target, weight) in enumerate((("g_e", w_exc), ("g_i", w_inh))):
        for post in range(2):
            conn = fixed_probability(sizes[pre], sizes[post], p, weight,
                                     seed=np.random.SeedSequence([seed, pre, post]))
            projections.append(Projection(pre, post, conn, ExponentialConductance(target),
                                          gain=gain if pre == 0 else 1.0))
    inputs = [PoissonInput(q, input_rate, w_input) for q in range(2)]
    return Network(pops, projections, inputs)


def run_batch(networks, t1, dt, keys):
    """Simulate stacked `networks` (leading axis) in one vmapped call.

    **Returns:** `(counts, overflow, result)`: spike counts per step pooled over the
    populations `(n_networks, n_steps)`, the event-buffer overflow flag per network and the
    batched `NetworkResult`."""
    result = jax.block_until_ready(_batched_simulate(networks, keys, t1, dt))
    counts = sum(np.asarray(c) for c in result.counts)
    overflow = np.any(np.stack([np.asarray(o) for o in result.overflow]), axis=0)
    return counts, overflow, result


def _batched_simulate(networks, keys, t1, dt):
    return eqx.filter_jit(jax.vmap(
        lambda net, key: simulate_network(net, t1, dt, key, throw=False)))(networks, keys)


def sweep_gain(gains, *, t1: float = 2000.0, dt: float = 0.5, seed: int = 0,
               transient_ms: float = 200.0, network_kwargs: dict | None = None):
    """Simulate one `random_ei_network` per excitation `gain` in ONE vmapped call (the
    connectivity is shared; each instance gets its own Poisson key) and measure each.

    **Returns:** `(stats, counts)`: a list of `RegimeStats` and the pooled population
    counts per step `(len(gains), n_steps)` (the first `transient_ms` discarded).
    """
    gains = np.asarray(gains, dtype=float).ravel()
    kwargs = dict(network_kwargs or {})
    nets = [random_ei_network(float(g), **kwargs) for g in gains]
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *nets)
    keys = jax.random.split(jax.random.key(seed), gains.size)
    counts, overflow, _ = run_batch(stacked, t1, dt, keys)
    counts = counts[:, int(round(transient_ms / dt)):]
    n = kwargs.get("n", 500)
    stats = [measure(c, dt, gain=float(g), n_neurons=n, overflow=bool(o))[0]
             for g, c, o in zip(gains, counts, overflow, strict=True)]
    return stats, counts


def tune_gain(gains, *, rounds: int = 3, points: int = 4, target: float = 1.0,
              tolerance: float = 0.05, t1: float = 2000.0, dt: float = 0.5, seed: int = 0,
              network_kwargs: dict | None = None, log=None) -> dict:
    """Find the excitation scale `gain` of `random_ei_network` whose branching ratio is
    `target` ± `tolerance`: a vmapped sweep over `gains`, then `rounds` of bracketing
    search, each evaluating `points` gains inside the bracket in one vmapped call.

    The bracket is the first pair of neighbouring gains where m crosses `target` from below
    (a state without avalanches, i.e. sustained activity, counts as above); without a
    crossing the gain with m closest to `target` is returned.

    **Returns:** `{"gain", "m", "within_tolerance", "history": [RegimeStats dicts]}`.
    """
    history = []

    def evaluate(values, round_seed):
        stats, _ = sweep_gain(values, t1=t1, dt=dt, seed=round_seed,
                              network_kwargs=network_kwargs)
        history.extend(s.as_dict() for s in stats)
        if log:
            log("  " + ", ".join(f"g={s.gain:.3f}: m={s.m:.3f}" for s in stats))
        return stats

    def above(s):
        return (not np.isfinite(s.m)) or s.m >= target or s.n_avalanches < 20

    stats = evaluate(gains, seed)
    best = min((s for s in stats if np.isfinite(s.m) and s.n_avalanches >= 20),
               key=lambda s: abs(s.m - target), default=stats[0])
    lo = hi = None
    for a, b in zip(stats[:-1], stats[1:], strict=True):
        if not above(a) and above(b):
            lo, hi = a.gain, b.gain
            break
    for r in range(rounds if lo is not None else 0):
        if abs(best.m - target) <= tolerance / 2:
            break
        inner = np.linspace(lo, hi, points + 2)[1:-1]
        new = evaluate(inner, seed + 1 + r)
        for s in new:
            if np.isfinite(s.m) and s.n_avalanches >= 20 and \
                    abs(s.m - target) < abs(best.m - target):
                best = s
        grid = [lo, *inner, hi]
        flags = [False, *(above(s) for s in new), True]
        k = next(i for i in range(1, len(flags)) if flags[i])
        lo, hi = grid[k - 1], grid[k]
    return {"gain": best.gain, "m": best.m,
            "within_tolerance": bool(abs(best.m - target) <= tolerance),
            "history": history}


def calibrate(build, metric, low: float, high: float, target: float, *, t1: float, dt: float,
              points: int = 6, rounds: int = 3, seed: int = 0, log=None) -> dict:
    """Find the value of one network knob at which `metric` equals `target`, by a vmapped
    sweep and bracketing: each round simulates `points` networks `build(value)` for values
    spread over the current bracket in ONE vmapped call (`run_batch`), keeps the pair of
    neighbours between which `metric - target` changes sign, and the answer is the linear
    interpolation inside the last bracket. `metric` should be monotone in the knob
    (either direction).

    **Arguments:**
    - `build(value) -> Network`: networks for different values must stack (same
      connectivity, only array values differing).
    - `metric(result, i) -> float`: the measured quantity of network `i` of the batched
      `NetworkResult` `result`.
    - `low`, `high`: the initial bracket; `t1`, `dt` (ms): each simulation; `seed`: Poisson
      keys (the same for every value, so values are compared on the same input noise).

    **Returns:** `{"value", "metric" (measured at value), "bracketed" (bool), "history":
    [{"value", "metric"}]}`.

    **Raises:** `ValueError` if `low >= high` or `points < 2`.
    """
    if not low < high:
        raise ValueError(f"low must be < high; got {low}, {high}")
    if not isinstance(points, int) or points < 2:
        raise ValueError(f"points must be an int >= 2; got {points!r}")
    history = []

    def evaluate(values):
        nets = jax.tree.map(lambda *xs: jnp.stack(xs), *[build(float(v)) for v in values])
        keys = jnp.stack([jax.random.key(seed)] * len(values))
        _, _, result = run_batch(nets, t1, dt, keys)
        measured = np.array([metric(result, i) for i in range(len(values))], dtype=float)
        history.extend({"value": float(v), "metric": float(m)}
                       for v, m in zip(values, measured, strict=True))
        if log:
            log("  " + ", ".join(f"{v:.4g}: {m:.4g}" for v, m in zip(values, measured,
                                                                   strict=True)))
        return measured

    lo, hi, bracketed = low, high, False
    values = np.linspace(lo, hi, points)
    for _ in range(rounds):
        measured = evaluate(values)
        sign = np.sign(measured - target)
        cross = [i for i in range(len(values) - 1) if sign[i] * sign[i + 1] <= 0
                 and np.isfinite(measured[i]) and np.isfinite(measured[i + 1])]
        if not cross:
            break
        i = cross[0]
        lo, hi, m_lo, m_hi, bracketed = values[i], values[i + 1], measured[i], \
            measured[i + 1], True
        values = np.linspace(lo, hi, points)
    if bracketed:
        value = lo if m_hi == m_lo else lo + (target - m_lo) * (hi - lo) / (m_hi - m_lo)
    else:
        finite = [h for h in history if np.isfinite(h["metric"])]
        value = min(finite, key=lambda h: abs(h["metric"] - target))["value"] if finite \
            else float(low)
    final = float(evaluate(np.full(points, value))[0])  # same batch size: no recompile
    return {"value": float(value), "metric": final, "bracketed": bracketed,
            "history": history}


def topology_examples(*, t1: float = 1000.0, dt: float = 0.5, seed: int = 0) -> dict:
    """A ring (200 cells, distance-dependent connections) and a layered feed-forward network
    (4 layers of 40, input into the first) of conductance-LIF cells with Poisson input,
    simulated for `t1` ms. **Returns:** `{name: (positions (n, 2), pre, post, rates_hz)}`
    for `jaxneuron.plotting.neurons.topology_activity`."""
    from .connectivity import layered, ring
    from .inputs import PoissonInput

    out = {}
    n_ring = 200
    angle = 2 * np.pi * np.arange(n_ring) / n_ring
    sizes = [40, 40, 40, 40]
    layer = np.repeat(np.arange(len(sizes)), sizes)
    within = np.concatenate([np.arange(s) for s in sizes])
    cases = {
        "ring (p_max 0.5, sigma 5)": (
            ring(n_ring, 0.5, 5.0, 1.0, seed=seed),
            np.stack([np.cos(angle), np.sin(angle)], axis=1), np.full(n_ring, 400.0)),
        "layered 4 x 40 (p 0.2, input to layer 1)": (
            layered(sizes, 0.2, 2.0, seed=seed),
            np.stack([layer * 1.0, within / 40.0 * 2.0 - 1.0], axis=1),
            np.where(layer == 0, 600.0, 0.0)),
    }
    for name, (conn, xy, rate) in cases.items():
        n = conn.n_pre
        net = Network([Population(ConductanceLIF(), n, max_events=n)],
                      [Projection(0, 0, conn, ExponentialConductance("g_e"))],
                      [PoissonInput(0, rate, 1.0)])
        result = simulate_network(net, t1, dt, jax.random.key(seed))
        out[name] = (xy, conn.sources(), np.asarray(conn.targets),
                     1000.0 * np.asarray(result.n_spikes[0]) / t1)
    return out
