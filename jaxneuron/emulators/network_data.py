"""Training data from small spiking networks: many runs of one all-to-all network of any
spiking model, each run with its own random coupling weights and its own random input
current into every neuron, simulated by the network engine in one batched call.

Every neuron is a one-neuron `Population`, so that it can carry its own time-varying
`CurrentInput` (a `SampledCurrent`); every ordered pair `(i, j)`, `i != j`, is a
`Projection` whose synapse adds the weight (mV) to the target's voltage state at the end
of the step in which the source spiked (an instantaneous "voltage jump" synapse). So the
network's whole state is the neurons' own states, and the surrogate can see all of it.
Runs are batched by `jax.vmap` over the weights, currents and initial states of one
template `Network`.
"""

from __future__ import annotations

import json

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._checks import check_int, check_real
from ..models.base import AbstractSpikingNeuron
from ..network import (
    CurrentInput,
    Network,
    Population,
    Projection,
    StateJump,
    from_edges,
    simulate_network,
)
from ..stimuli import SampledCurrent
from .data import CurrentSpec, Dataset, check_run_grid, random_currents, voltage_index

NETWORK_CURRENT = CurrentSpec(amplitude=(0.0, 16.0), steps_range=(1, 4), p_zero=0.2,
                              noise_std=1.5)  # default drive of `generate_network_dataset`


def edges(n_neurons: int) -> tuple[np.ndarray, np.ndarray]:
    """All ordered pairs `(pre, post)` with `pre != post`, pre-major: two `(n (n-1),)`
    int arrays. The order of `weight_names` and of the weight columns of a dataset."""
    pre, post = np.nonzero(~np.eye(n_neurons, dtype=bool))
    return pre, post


def weight_names(n_neurons: int) -> tuple[str, ...]:
    """Parameter names `w_PRE_POST` of the coupling weights, in `edges` order."""
    return tuple(f"w_{i}_{j}" for i, j in zip(*edges(n_neurons), strict=True))


def permute_neurons(rng: np.random.Generator, states: np.ndarray, currents: np.ndarray,
                    n_neurons: int) -> tuple[np.ndarray, np.ndarray]:
    """Relabel the neurons of every window of a network dataset at random: an exact
    symmetry of the all-to-all network of identical neurons (neuron k of the result is
    neuron `p[k]` of the input, its current and its synapses included), used as data
    augmentation (`train(..., augment=)`).

    **Arguments:** `states` `(n_windows, n_t, n_kinds * n_neurons)` (columns grouped by
    state, as `generate_network_dataset` writes them), `currents` `(n_windows, n_t,
    n_neurons [+ n_neurons (n_neurons - 1)])` (the currents, then the weights in `edges`
    order if the dataset is conditioned on them), `n_neurons`.

    **Returns:** the permuted `(states, currents)`, one random permutation per window.
    """
    n_windows, _, n_columns = states.shape
    if n_columns % n_neurons or currents.shape[-1] not in (
            n_neurons, n_neurons + n_neurons * (n_neurons - 1)):
        raise ValueError(f"states must have a multiple of n_neurons = {n_neurons} columns "
                         f"and currents n_neurons (+ n_neurons (n_neurons - 1) weights); got "
                         f"{n_columns} and {currents.shape[-1]}")
    perms = np.argsort(rng.random((n_windows, n_neurons)), axis=1)
    state_cols = np.concatenate([perms + k * n_neurons
                                 for k in range(n_columns // n_neurons)], axis=1)
    input_cols = [perms]
    if currents.shape[-1] > n_neurons:
        pre, post = edges(n_neurons)
        edge_index = np.zeros((n_neurons, n_neurons), int)
        edge_index[pre, post] = np.arange(pre.size)
        input_cols.append(n_neurons + edge_index[perms[:, pre], perms[:, post]])
    input_cols = np.concatenate(input_cols, axis=1)
    return (np.take_along_axis(states, state_cols[:, None, :], axis=2),
            np.take_along_axis(currents, input_cols[:, None, :], axis=2))


def _template(model: AbstractSpikingNeuron, n_neurons: int, n_t: int, dt_save: float):
    v_name = model.state_names[voltage_index(model)]
    jump = StateJump(target=v_name)  # adds the weight to the target's V
    pops = [Population(model, 1) for _ in range(n_neurons)]
    projections = [Projection(int(i), int(j), from_edges([0], [0], 0.0, 1, 1), jump)
                   for i, j in zip(*edges(n_neurons), strict=True)]
    inputs = [CurrentInput(p, stimulus=SampledCurrent(jnp.zeros(n_t), dt_save))
              for p in range(n_neurons)]
    return Network(pops, projections, inputs)


def simulate_network_runs(model: AbstractSpikingNeuron, weights: Float[Array, "n n_edges"],
                          currents: Float[Array, "n n_t n_neurons"],
                          y0: Float[Array, "n n_neurons n_states"], *, dt_save: float,
                          dt: float = 0.1, solver: str | None = None
                          ) -> Float[Array, "n n_t n_neurons n_states"]:
    """Simulate a batch of runs of the all-to-all network of `n_neurons` copies of `model`
    (`jit(vmap(simulate_network))`; also used to time the engine against a surrogate).

    Run r has coupling weights `weights[r]` (mV jumps of the target's V per source spike,
    in `edges` order), input currents `currents[r, :, i]` into neuron i (sampled every
    `dt_save` ms, linearly interpolated; the model's current unit) and initial states
    `y0[r]`. Steps of `dt` ms (clock mode, `solver` default of the engine). Returns the
    states every `dt_save` ms; runs whose state became NaN/inf come back as NaN.
    """
    n_t, n_neurons = currents.shape[1:]
    template = _template(model, n_neurons, n_t, dt_save)
    return _run_networks(template, jnp.asarray(weights), jnp.asarray(currents),
                         jnp.asarray(y0), float(dt_save * (n_t - 1)), float(dt),
                         float(dt_save), solver)


@eqx.filter_jit
def _run_networks(template, weights, currents, y0, t1, dt, dt_save, solver):
    n_neurons = len(template.populations)

    def one(w, cur, y):
        net = eqx.tree_at(
            lambda n: ([p.connectivity.weights for p in n.projections]
                       + [i.stimulus.values for i in n.inputs]
                       + [p.y0 for p in n.populations]),
            template,
            [w[e:e + 1] for e in range(w.shape[0])]
            + [cur[:, i] for i in range(n_neurons)]
            + [y[i:i + 1] for i in range(n_neurons)])
        result = simulate_network(net, t1, dt, solver=solver,
                                  record={p: [0] for p in range(n_neurons)},
                                  save_every=dt_save, throw=False)
        states = jnp.concatenate(result.states, axis=1)  # (n_t, n_neurons, n_states)
        return jnp.where(result.ok, states, jnp.nan)
    return jax.vmap(one)(weights, currents, y0)


def generate_network_dataset(
    model: AbstractSpikingNeuron,
    *,
    n_neurons: int = 5,
    n_runs: int,
    t1: float,
    dt_save: float,
    dt: float = 0.1,
    weight_range: tuple[float, float] = (-5.0, 5.0),
    initial_ranges: dict[str, tuple[float, float]] | None = None,
    current: CurrentSpec = NETWORK_CURRENT,
    condition_on_weights: bool = False,
    seed: int = 0,
) -> Dataset:
    """Simulate `n_runs` runs of an all-to-all network of `n_neurons` copies of `model`, in
    one batched call of the network engine.

    **Arguments:**
    - `model`: any spiking model (one input current per neuron).
    - `n_neurons`, `n_runs`, `t1` (ms, from 0), `dt_save` (ms; the save grid and the input
      sampling), `dt` (ms, the engine's clock step, must divide `dt_save`).
    - `weight_range`: `(low, high)`, each of the `n (n-1)` coupling weights (mV jump of the
      target's V per source spike) uniform per run.
    - `initial_ranges`: state name -> `(low, high)`, sampled per neuron and run; other
      states start at `model.initial_state()`.
    - `current`: a `CurrentSpec`; every neuron of every run draws its own current.
    - `condition_on_weights`: also append the run's weights to `currents` as constant
      input columns (so a surrogate sees the network it imitates).
    - `seed`: seeds every random draw.

    **Returns:** a `Dataset` with `states` `(n_runs, n_t, n_neurons * n_states)`, columns
    grouped by state (`v_0 .. v_{n-1}, u_0 .. u_{n-1}` for Izhikevich), `voltage_index` the
    tuple of the voltage columns, `currents` `(n_runs, n_t, n_neurons)` (plus the weights
    if `condition_on_weights`), `params` the weights `w_PRE_POST`. Failed runs are dropped.

    **Raises:** `ValueError` for bad sizes, ranges or unknown state names.
    """
    n_neurons = check_int("n_neurons", n_neurons, 2)
    n_t = check_run_grid(n_runs, t1, dt_save)
    n_runs = int(n_runs)
    seed = check_int("seed", seed, 0)
    dt = check_real("dt", dt, gt=0)
    if np.shape(weight_range) != (2,):
        raise ValueError(f"weight_range must be a pair (low, high); got {weight_range!r}")
    lo, hi = (check_real("weight_range", v) for v in weight_range)
    if not hi >= lo:
        raise ValueError(f"weight_range must be finite (low, high) with high >= low; got "
                         f"{weight_range}")
    names = tuple(model.state_names)
    initial_ranges = dict(initial_ranges or {})
    unknown = [k for k in initial_ranges if k not in names]
    if unknown:
        raise ValueError(f"initial_ranges: unknown state(s) {unknown}; allowed: {list(names)}")

    rng = np.random.default_rng(seed)
    n_edges = n_neurons * (n_neurons - 1)
    weights = rng.uniform(lo, hi, (n_runs, n_edges))
    currents = random_currents(rng, n_runs * n_neurons, n_t, dt_save, current)
    currents = currents.reshape(n_runs, n_neurons, n_t).transpose(0, 2, 1)
    dtype = model.initial_state().dtype
    y0 = np.tile(np.asarray(model.initial_state()), (n_runs, n_neurons, 1))
    for k, (a, b) in initial_ranges.items():
        y0[..., names.index(k)] = rng.uniform(a, b, (n_runs, n_neurons))

    out = np.asarray(simulate_network_runs(
        model, jnp.asarray(weights, dtype), jnp.asarray(currents, dtype),
        jnp.asarray(y0, dtype), dt_save=dt_save, dt=dt))
    # (runs, t, neuron, state) -> columns grouped by state: v_0..v_n-1, u_0..u_n-1
    states = out.transpose(0, 1, 3, 2).reshape(n_runs, n_t, -1)
    ok = np.all(np.isfinite(states), axis=(1, 2))
    inputs = currents
    if condition_on_weights:
        inputs = np.concatenate([currents, np.broadcast_to(
            weights[:, None], (n_runs, n_t, n_edges))], axis=-1)
    index_v = voltage_index(model)
    metadata = json.loads(json.dumps({
        "model": type(model).__name__, "network": "all-to-all, voltage-jump synapses",
        "n_neurons": n_neurons, "weight_range": [lo, hi],
        "initial_ranges": {k: list(v) for k, v in initial_ranges.items()},
        "current": {**current.__dict__}, "condition_on_weights": condition_on_weights,
        "seed": seed, "n_runs": n_runs, "t1": float(t1), "dt_save": float(dt_save),
        "dt": float(dt), "simulate": {"dt": float(dt)}, "dtype": str(np.dtype(dtype)),
        "n_failed": int((~ok).sum()),
    }))
    return Dataset(
        ts=np.arange(n_t) * dt_save, states=states[ok].astype(dtype),
        currents=np.ascontiguousarray(inputs[ok]).astype(dtype),
        params={name: weights[ok, e] for e, name in enumerate(weight_names(n_neurons))},
        run_ids=np.flatnonzero(ok),
        state_names=tuple(f"{s}_{i}" for s in names for i in range(n_neurons)),
        voltage_index=tuple(index_v * n_neurons + i for i in range(n_neurons)),
        metadata=metadata)
