"""Tuning a network toward criticality.

`driven_branching_network` is a sparse excitatory LIF network with weak noise drive whose
branching ratio rises continuously with its synaptic `gain` (a driven branching process,
Haldeman & Beggs 2005, Phys. Rev. Lett. 94:058101); `tune_gain` finds the gain with branching
ratio 1 by vmapped sweeps over many instances (gains x seeds in one call) plus bisection.
(A sparse E/I conductance-LIF network used before is bistable: about 1-10 Hz jumps to
25-50 Hz near one gain, so no gain gives m = 1.)
`calibrate` is the generic one-knob version used by other workflows."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..._checks import check_int
from ...analysis.criticality import measure
from ...models.conductance_lif import ConductanceLIF
from ...models.lif import LIF
from ...network.connectivity import from_edges
from ...network.engine import Network, Population, Projection, simulate_network
from ...network.inputs import GaussianInput, PoissonInput
from ...network.synapses import StateJump


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


# --- the driven branching network --------------------------------------------------------

V_REST, V_TH, V_RESET = -65.0, -50.0, -80.0  # mV
TAU_M = 1.0  # ms
N_CELLS, OUT_DEGREE, V_OFFSET, V_STD = 2000, 2, 2.0, 3.0  # defaults of the network
SUSTAINED_BELOW = 0.05  # fraction of empty one-step bins under which activity is sustained


def membrane_noise(v_offset: float, v_std: float, dt: float) -> tuple[float, float]:
    """Per-step Gaussian kick `(mean, std)` (mV) that holds an LIF with `tau_m` = `TAU_M`
    at a stationary potential `V_rest + v_offset` with standard deviation `v_std` (mV).

    The kick is added at the end of each step after an exact leak step $a = e^{-dt/\\tau_m}$,
    so $V_{k+1} - V_{rest} = a (V_k - V_{rest}) + \\mu + \\sigma \\xi$: stationary mean
    $\\mu / (1 - a)$ and variance $\\sigma^2 / (1 - a^2)$ (threshold crossings ignored)."""
    a = float(np.exp(-dt / TAU_M))
    return v_offset * (1.0 - a), v_std * float(np.sqrt(1.0 - a * a))


def driven_branching_network(gain=1.0, *, n: int = N_CELLS, k: int = OUT_DEGREE,
                             v_offset: float = V_OFFSET, v_std: float = V_STD,
                             weight: float | None = None,
                             dt: float = 1.0, seed: int = 0):
    """A driven branching network of LIF cells with a continuous transition at gain ~ 1.

    `n` excitatory `LIF` cells (tau_m = 1 ms = one step of `dt` = 1 ms, V_rest -65 mV,
    V_th -50 mV, reset to -80 mV, no clamped refractory period: the hyperpolarised reset
    makes a cell unable to fire again for about two steps, which bounds runaway activity).
    Every cell sends exactly `k` synapses to distinct random other cells (NumPy `seed`):
    delta synapses on V (`StateJump("V")`) of `weight * gain` mV, arriving at the end of
    the step, so a triggered spike follows one step (one generation) later. Independent
    Gaussian membrane noise (`GaussianInput`, see `membrane_noise`) holds V at
    `V_rest + v_offset` +- `v_std`: it makes transmission probabilistic and is the weak
    external drive (spontaneous spikes, ~0.007 Hz per cell, ~15 per second in all at the
    defaults: weak enough that avalanches near m = 1 stay separated).

    `weight` defaults to the mean distance to threshold `V_th - V_rest - v_offset`
    (13 mV), so that at `gain` = 1 one kick fires its target with probability ~1/2 and
    the mean-field branching ratio `k / 2` is 1 for `k` = 2 (`mean_field_branching_ratio`).
    Because every cell has out-degree `k`, networks with different `seed`s have the same
    static `max_degree` and stack for `vmap` together with different gains.
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k < n:
        raise ValueError(f"k must be an int in [1, n); got {k!r}")
    w = V_TH - V_REST - v_offset if weight is None else weight
    rng = np.random.default_rng(seed)
    pre = np.repeat(np.arange(n), k)
    post = np.concatenate([(i + 1 + rng.choice(n - 1, k, replace=False)) % n
                           for i in range(n)])
    conn = from_edges(pre, post, w, n, n)
    mu, sigma = membrane_noise(v_offset, v_std, dt)
    cell = LIF(tau_m=TAU_M, V_rest=V_REST, V_th=V_TH, V_reset=V_RESET, t_ref=0.0)
    return Network([Population(cell, n, max_events=n)],
                   [Projection(0, 0, conn, StateJump("V"), gain=gain)],
                   [GaussianInput(0, mu, sigma, StateJump("V"))])


def mean_field_branching_ratio(gain, *, k: int = OUT_DEGREE, v_offset: float = V_OFFSET,
                               v_std: float = V_STD, weight: float | None = None):
    """Mean-field branching ratio of `driven_branching_network`: `k` times the probability
    that one kick of `weight * gain` mV lifts a cell from its stationary Gaussian potential
    (mean `V_rest + v_offset`, sd `v_std`) over threshold, less the probability that it
    would have fired anyway: $m = k\\,[\\Phi((g w - d)/s) - \\Phi(-d/s)]$ with $d$ the mean
    distance to threshold. Ignores coincident kicks, resets and the part of a kick left
    for the next step, so it is a first-order estimate (good below m ~ 0.95)."""
    from scipy.special import ndtr

    d = V_TH - V_REST - v_offset
    w = d if weight is None else weight
    g = np.asarray(gain, dtype=float)
    return k * (ndtr((g * w - d) / v_std) - ndtr(-d / v_std))


def simulate_instances(gains, seeds, *, t1: float, dt: float = 1.0, key_seed: int = 0,
                       network_kwargs: dict | None = None):
    """Simulate one `driven_branching_network` per pair `(gains[i], seeds[i])` (connectivity
    seed; the noise key is split from `key_seed`) in ONE vmapped call.

    **Returns:** `(counts, overflow, result)` as `run_batch`: spikes per step of each
    instance `(n_instances, n_steps)`."""
    gains = np.asarray(gains, dtype=float).ravel()
    seeds = np.asarray(seeds, dtype=int).ravel()
    if gains.shape != seeds.shape:
        raise ValueError(f"gains and seeds must have the same length; got {gains.size}, "
                         f"{seeds.size}")
    kwargs = dict(network_kwargs or {})
    nets = [driven_branching_network(float(g), seed=int(s), dt=dt, **kwargs)
            for g, s in zip(gains, seeds, strict=True)]
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *nets)
    keys = jax.random.split(jax.random.key(key_seed), gains.size)
    return run_batch(stacked, t1, dt, keys)


def sweep_gain(gains, *, seeds: int = 4, t1: float = 2000.0, dt: float = 1.0, seed: int = 0,
               transient_ms: float = 200.0, network_kwargs: dict | None = None,
               distinct_graphs: bool = False):
    """Branching ratio versus gain, averaged over `seeds` independent network instances
    (connectivity and noise) per gain, all `len(gains) * seeds` simulated in ONE vmapped call.

    Each instance is measured by `criticality.measure` on its counts after `transient_ms`
    with the MR estimator on bins of one step (one generation). A gain is `sustained`
    when its instances have, on average, fewer than 5 % empty bins: activity no longer
    breaks into avalanches (saturated, super-critical), and the stationary MR estimate no
    longer reflects the branching of the growth (it reads < 1 around a stable high state).

    **Returns:** `(rows, counts)`: one dict per gain `{"gain", "m", "m_std", "m_min",
    "m_max", "rate_hz", "quiescent", "n_avalanches", "sustained", "seeds", "m_seeds"}` (`m`
    the mean over seeds, `m_seeds` per instance) and the counts per step after the transient
    `(len(gains), seeds, n_steps)`. The `seeds` connectivity seeds (`seed * 1000 + j`) are
    shared by all gains, so that gains are compared on the same graphs (common random
    numbers), unless `distinct_graphs` (then every instance has its own graph).
    """
    gains = np.asarray(gains, dtype=float).ravel()
    seeds = check_int("seeds", seeds, 1)
    g_all = np.repeat(gains, seeds)
    s_all = seed * 1000 + (np.arange(g_all.size) if distinct_graphs
                           else np.tile(np.arange(seeds), gains.size))
    counts, overflow, _ = simulate_instances(g_all, s_all, t1=t1, dt=dt, key_seed=seed,
                                             network_kwargs=network_kwargs)
    counts = counts[:, int(round(transient_ms / dt)):]
    n = dict(network_kwargs or {}).get("n", N_CELLS)
    stats = [measure(c, dt, gain=float(g), n_neurons=n, overflow=bool(o), mr_bin_ms=dt)[0]
             for g, c, o in zip(g_all, counts, overflow, strict=True)]
    rows = []
    for i, g in enumerate(gains):
        group = stats[i * seeds:(i + 1) * seeds]
        ms = np.array([s.m for s in group])
        quiescent = float(np.mean([s.quiescent for s in group]))
        rows.append({"gain": float(g), "m": float(np.mean(ms)), "m_std": float(np.std(ms)),
                     "m_min": float(np.min(ms)), "m_max": float(np.max(ms)),
                     "rate_hz": float(np.mean([s.rate_hz for s in group])),
                     "quiescent": quiescent,
                     "n_avalanches": float(np.mean([s.n_avalanches for s in group])),
                     "sustained": bool(quiescent < SUSTAINED_BELOW), "seeds": seeds,
                     "m_seeds": [float(x) for x in ms]})
    return rows, counts.reshape(gains.size, seeds, -1)


def tune_gain(low: float = 0.8, high: float = 1.2, *, points: int = 5, seeds: int = 4,
              rounds: int = 3, target: float = 1.0, tolerance: float = 0.05,
              t1: float = 2000.0, dt: float = 1.0, seed: int = 0,
              network_kwargs: dict | None = None, log=None) -> dict:
    """Find the gain of `driven_branching_network` whose branching ratio, averaged over
    `seeds` network instances, is `target` +- `tolerance`: vmapped sweeps plus bisection.

    Round 0 evaluates `points` gains spread over `[low, high]`, each on `seeds` instances
    (`sweep_gain`, one vmapped call of `points * seeds` networks). A gain counts as
    "above" when its mean m >= `target` or its activity is sustained (no avalanches); the
    bracket is the last below -> above step of the sweep (so a noisy m at very low gain
    cannot capture it). Each further round evaluates `points` gains strictly inside the
    bracket and narrows it, until a gain with |m - target| <= `tolerance` / 2 is found or
    `rounds` are spent. The answer is where a straight line through all non-sustained
    evaluations with m in `[target - 0.1, target + 0.03]` reaches `target` (`fitted`; with
    fewer than 3 such gains, the gain of the closest mean m). It is then re-measured on
    `points * seeds` fresh instances, each with its own graph (same batch shape: no
    recompilation), and that verification decides `within_tolerance`.

    **Returns:** `{"gain", "m" (verification mean), "m_std", "m_seeds" (per instance),
    "n_seeds", "within_tolerance", "bracketed", "fitted", "history": [sweep rows with
    "round"]}`.

    **Raises:** `ValueError` if `low >= high` or `points < 2`.
    """
    if not low < high:
        raise ValueError(f"low must be < high; got {low}, {high}")
    points = check_int("points", points, 2)
    history = []

    def evaluate(values, r):
        rows, _ = sweep_gain(values, seeds=seeds, t1=t1, dt=dt, seed=seed + r,
                             network_kwargs=network_kwargs)
        for row in rows:
            history.append({"round": r, **row})
        if log:
            log(f"  round {r}: " + ", ".join(
                f"g={row['gain']:.4f}: m={row['m']:.3f}" + ("*" if row["sustained"] else "")
                for row in rows))
        return rows

    def above(row):
        return row["sustained"] or not np.isfinite(row["m"]) or row["m"] >= target

    def error(row):
        return abs(row["m"] - target) if not row["sustained"] and np.isfinite(row["m"]) \
            else np.inf

    values = np.linspace(low, high, points)
    bracketed, best, lo, hi = False, None, low, high
    for r in range(rounds + 1):
        rows = evaluate(values, r)
        grid = list(values)
        flags = [above(row) for row in rows]
        if r > 0:
            grid, flags = [lo, *grid, hi], [False, *flags, True]
        for row in rows:
            if best is None or error(row) < error(best):
                best = row
        if error(best) <= tolerance / 2 or not flags[-1] or all(flags):
            bracketed = bracketed or (flags[-1] and not all(flags))
            break
        i = max(j for j in range(len(flags)) if not flags[j])  # last gain below target
        lo, hi, bracketed = grid[i], grid[i + 1], True
        values = np.linspace(lo, hi, points + 2)[1:-1]
    if best is None or not np.isfinite(error(best)):
        best = min(history, key=lambda h: abs(h["m"] - target))
    gain = best["gain"]
    # pool the rounds: a straight line through the non-sustained gains with m near the
    # target (target - 0.1 .. target + 0.03), solved for the target; more robust than
    # the single best point when each point carries the seed-to-seed noise of m
    near = [(h["gain"], h["m"]) for h in history if not h["sustained"] and
            np.isfinite(h["m"]) and target - 0.1 <= h["m"] <= target + 0.03]
    fitted = False
    if bracketed and len({g for g, _ in near}) >= 3:
        g_near, m_near = np.array(near).T
        slope, intercept = np.polyfit(g_near, m_near, 1)
        if slope > 0:
            gain = float(np.clip((target - intercept) / slope, g_near.min(), g_near.max()))
            fitted = True
    check, _ = sweep_gain(np.full(points, gain), seeds=seeds, t1=t1, dt=dt,
                          seed=seed + 100, network_kwargs=network_kwargs,
                          distinct_graphs=True)
    m_seeds = np.array([m for row in check for m in row["m_seeds"]])
    m_mean = float(np.mean(m_seeds))
    result = {"gain": float(gain), "m": m_mean, "m_std": float(np.std(m_seeds)),
              "m_seeds": m_seeds.tolist(), "n_seeds": int(m_seeds.size),
              "within_tolerance": bool(abs(m_mean - target) <= tolerance),
              "bracketed": bracketed, "fitted": fitted, "history": history}
    if log:
        log(f"  verification at g={result['gain']:.4f}: m = {m_mean:.3f} +- "
            f"{result['m_std']:.3f} over {points * seeds} instances")
    return result


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
    points = check_int("points", points, 2)
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
    from ...network.connectivity import layered, ring

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
                      [Projection(0, 0, conn, StateJump("g_e"))],
                      [PoissonInput(0, rate, 1.0)])
        result = simulate_network(net, t1, dt, jax.random.key(seed))
        out[name] = (xy, conn.sources(), np.asarray(conn.targets),
                     1000.0 * np.asarray(result.n_spikes[0]) / t1)
    return out
