"""Populations, projections and inputs as one PyTree, simulated clock-driven in one scan.

Each step of `dt`: every population advances all its neurons with the step of the clock
engine (`jaxneuron.engines.ClockSpiking.step_columns`: the model's own vector field, spike
condition, reset and refractory period, vmapped over the neurons, the states carried as
one `(n,)` column per state); the indices of the neurons that spiked are compacted once
per population into a fixed-size event buffer (`compact`); each projection from that
population reads the padded rows of their outgoing synapses (`SynapseRows`) and sums the
weights per target with one scatter-add; after `delay` steps the sums are delivered by
the synapse model at the end of the step (a conductance jump into the target's state, or
a jump of a current synapse). Spikes are recorded as a packed raster, from which the
per-step counts are read after the loop.
"""

from __future__ import annotations

import functools
import math

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.custom_batching import custom_vmap
from jaxtyping import Array, Bool, Float, Int, UInt8

from .._checks import as_float_array, check_finite, check_int, is_concrete, static_int
from .._fields import batch_axes
from .._keys import check_key
from ..engines import ClockSpiking, TimeGrid
from ..models.base import AbstractSpikingNeuron
from ..spike_surrogates import AbstractSurrogate
from ..stimuli import AbstractStimulus
from .connectivity import Connectivity
from .inputs import AbstractRandomInput, CurrentInput, PoissonInput
from .plasticity import STDP, synapse_sources
from .synapses import AbstractSynapse, ExponentialCurrent, StateJump


class Population(eqx.Module):
    """`n` neurons of one spiking model.

    **Arguments:**
    - `model`: any `AbstractSpikingNeuron`; each parameter a scalar (shared) or an array of
      shape `(n,)` (one value per neuron).
    - `n`: number of neurons; inferred from the `(n,)` parameters if omitted.
    - `y0`: initial states `(n, n_states)`; default the model's `initial_state()` per neuron.
    - `max_events`: capacity of the per-step event buffer (static): at most this many
      spikes of the population are propagated per step. More are never dropped silently:
      `NetworkResult.overflow` flags them and `simulate_network(throw=True)` raises.
      Default `min(n, max(64, ceil(n / 20)))`. Each step takes the smallest of the
      buffers `event_sizes` (16, 32, 64, ... up to `max_events`) that holds its spikes,
      so its cost follows the spikes and a generous buffer costs little; under `vmap` the
      buffer is chosen for the whole batch by its most crowded network.
    """

    model: AbstractSpikingNeuron
    y0: Float[Array, "n n_states"]
    n: int = eqx.field(static=True)
    max_events: int = eqx.field(static=True)

    def __init__(self, model: AbstractSpikingNeuron, n: int | None = None, *, y0=None,
                 max_events: int | None = None):
        if not isinstance(model, AbstractSpikingNeuron):
            raise ValueError(f"model must be a jaxneuron AbstractSpikingNeuron; got "
                             f"{type(model).__name__}")
        shapes = {jnp.shape(x) for x in jax.tree.leaves(model) if eqx.is_array(x)} - {()}
        if len(shapes) > 1 or any(len(s) != 1 for s in shapes):
            raise ValueError(f"model parameters must be scalars or 1-D arrays of one length "
                             f"n; got shapes {sorted(shapes)}")
        inferred = next(iter(shapes))[0] if shapes else None
        if n is None:
            if inferred is None:
                raise ValueError("n must be given when every model parameter is a scalar")
            n = inferred
        if (isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1
                or (inferred not in (None, n))):
            raise ValueError(f"n must be a positive int matching the (n,) parameters "
                             f"({inferred}); got {n!r}")
        n_states = len(model.state_names)
        if y0 is None:
            y0 = jax.vmap(lambda m: m.initial_state(), in_axes=(batch_axes(model),),
                          axis_size=int(n))(model)
        y0 = jnp.asarray(y0, dtype=float)
        if y0.shape != (n, n_states):
            raise ValueError(f"y0 must have shape (n, n_states) = {(n, n_states)}; "
                             f"got {y0.shape}")
        if max_events is None:
            max_events = min(n, max(64, math.ceil(n / 20)))
        max_events = check_int("max_events", max_events, 1)
        self.model, self.y0, self.n = model, y0, int(n)
        self.max_events = min(int(max_events), int(n))

    @property
    def event_sizes(self) -> tuple[int, ...]:
        """The sizes of the event buffers (static): 16, 32, 64, ... below `max_events`, then
        `max_events`; each step takes the smallest that holds its spikes."""
        sizes, size = [], 16
        while size < self.max_events:
            sizes.append(size)
            size *= 2
        return (*sizes, self.max_events)

    @property
    def small_events(self) -> int:
        """Size of the event path taken by steps with few spikes (static)."""
        return self.event_sizes[0]


class Projection(eqx.Module):
    """Synapses from population `pre` to population `post` (indices into
    `Network.populations`), with weights `connectivity.weights * gain` acting through
    `synapse`. `gain` (scalar) is a convenient single knob to batch or differentiate.

    `plasticity` (e.g. `STDP(...)`) makes the weights evolve during the run: they are then
    part of the simulated state (`NetworkResult.weights` holds the final values, recorded
    with `simulate_network(record_weights=...)`). A plastic projection updates all its
    synapses every step (cost proportional to its number of synapses)."""

    pre: int = eqx.field(static=True, converter=static_int)
    post: int = eqx.field(static=True, converter=static_int)
    connectivity: Connectivity
    synapse: AbstractSynapse = StateJump()
    gain: Float[Array, ""] = eqx.field(default=1.0, converter=as_float_array)
    plasticity: STDP | None = None

    def __check_init__(self):
        check_int("pre", self.pre, 0)
        check_int("post", self.post, 0)
        check_finite("gain", self.gain)


class Network(eqx.Module):
    """A spiking network as a PyTree: `populations`, `projections` between them, and
    external `inputs` (`PoissonInput`, `GaussianInput`, `CurrentInput`). Batch networks by
    stacking their array leaves and `eqx.filter_vmap`/`jax.vmap` over `simulate_network`.

    **Raises:** `ValueError` for indices out of range, connectivity sizes that do not match
    the populations, synapses that cannot drive their target model, negative weights
    (`weights * gain`) into a conductance state (see `StateJump`; checked where the weights
    are concrete, here and again in `simulate_network`), an STDP rule on a conductance
    synapse with `w_min < 0`, or plastic weights outside the rule's `[w_min, w_max]` (which
    the rule would clip silently at the first step).
    """

    populations: tuple[Population, ...]
    projections: tuple[Projection, ...] = ()
    inputs: tuple[AbstractRandomInput | CurrentInput, ...] = ()

    def __init__(self, populations, projections=(), inputs=()):
        self.populations = tuple(populations)
        self.projections = tuple(projections)
        self.inputs = tuple(inputs)

    def __check_init__(self):
        n_pop = len(self.populations)
        if n_pop == 0 or not all(isinstance(p, Population) for p in self.populations):
            raise ValueError("populations must be a non-empty sequence of Population")
        for i, proj in enumerate(self.projections):
            if not isinstance(proj, Projection):
                raise ValueError(f"projections[{i}] must be a Projection; got {type(proj)}")
            if not (0 <= proj.pre < n_pop and 0 <= proj.post < n_pop):
                raise ValueError(f"projections[{i}]: pre/post must index populations "
                                 f"[0, {n_pop}); got {proj.pre}, {proj.post}")
            conn, pre, post = proj.connectivity, self.populations[proj.pre], \
                self.populations[proj.post]
            if (conn.n_pre, conn.n_post) != (pre.n, post.n):
                raise ValueError(f"projections[{i}]: connectivity is {conn.n_pre} x "
                                 f"{conn.n_post}, populations are {pre.n} x {post.n}")
            proj.synapse.check(post.model)
            if proj.plasticity is not None and not isinstance(proj.plasticity, STDP):
                raise ValueError(f"projections[{i}].plasticity must be an STDP rule or None; "
                                 f"got {type(proj.plasticity).__name__}")
        for i, inp in enumerate(self.inputs):
            if not isinstance(inp, AbstractRandomInput | CurrentInput):
                raise ValueError(f"inputs[{i}] must be a PoissonInput, GaussianInput or "
                                 "CurrentInput")
            if not 0 <= inp.target < n_pop:
                raise ValueError(f"inputs[{i}].target must index populations [0, {n_pop}); "
                                 f"got {inp.target}")
            if isinstance(inp, AbstractRandomInput):
                inp.synapse.check(self.populations[inp.target].model)
        _check_weights(self)


def _check_weights(network: Network) -> None:
    """The physical checks on (concrete) synaptic weights; see `Network`. Computed in NumPy:
    inside an outer `jit` a `jnp` reduction of a concrete array is staged (a tracer), which
    `float` cannot read."""
    pops = network.populations
    for i, proj in enumerate(network.projections):
        post_model = pops[proj.post].model
        g = proj.synapse.conductance(post_model)
        weights, gain, rule = proj.connectivity.weights, proj.gain, proj.plasticity
        if g is not None and is_concrete(weights) and is_concrete(gain) and weights.size:
            # min of w * gain over the ranges of both (exact for one network; stacked
            # networks of different gains are checked conservatively)
            w, a = np.asarray(weights), np.asarray(gain)
            low = float(np.min(np.outer([w.min(), w.max()], [a.min(), a.max()])))
            if not low >= 0:
                raise ValueError(
                    f"projections[{i}]: weights * gain into the conductance {g!r} of "
                    f"{type(post_model).__name__} must be >= 0 nS (a negative jump makes the "
                    f"conductance negative; for inhibition use a positive weight into an "
                    f"inhibitory conductance such as 'g_i'); got a minimum of {low:g}")
        if rule is None:
            continue
        if g is not None and is_concrete(rule.w_min) and not np.asarray(rule.w_min).min() >= 0:
            raise ValueError(f"projections[{i}].plasticity: w_min must be >= 0 for a "
                             f"conductance synapse (into {g!r}); got w_min={rule.w_min}")
        if is_concrete(weights) and is_concrete(rule.w_min) and is_concrete(rule.w_max) \
                and weights.size:
            w_lo, w_hi = float(np.asarray(weights).min()), float(np.asarray(weights).max())
            lo, hi = float(np.asarray(rule.w_min).min()), float(np.asarray(rule.w_max).max())
            if not (lo <= w_lo and w_hi <= hi):
                raise ValueError(
                    f"projections[{i}]: the initial weights must lie within the STDP bounds "
                    f"[w_min, w_max] = [{lo:g}, {hi:g}] (the rule would clip them at the first "
                    f"step); got weights in [{w_lo:g}, {w_hi:g}]")
    for i, inp in enumerate(network.inputs):
        if not isinstance(inp, PoissonInput):
            continue
        g = inp.synapse.conductance(pops[inp.target].model)
        if g is not None and is_concrete(inp.weight) and not np.asarray(inp.weight).min() >= 0:
            raise ValueError(f"inputs[{i}].weight into the conductance {g!r} must be >= 0 nS; "
                             f"got a minimum of {float(np.asarray(inp.weight).min()):g}")


class NetworkResult(eqx.Module):
    """What `simulate_network` returns; one entry per population in each tuple.

    - `spikes`: packed rasters, `(n_steps, ceil(n / 8))` uint8 (little bit order): bit `i`
      of step `k` is set if neuron `i` spiked in `(t0 + k dt, t0 + (k+1) dt]`. Complete even
      when the event buffer overflowed. `raster(p)` unpacks one.
    - `counts`: spikes per step `(n_steps,)`; `n_spikes`: spikes per neuron `(n,)`.
    - `peak_events`: the most spikes of the population in one step; `overflow`: whether
      that exceeded `max_events` (then some spikes were not propagated).
    - `ts`, `states`: save times `(n_save + 1,)` (ms) and, for each recorded population (in
      the order of `record`), states `(n_save + 1, n_recorded, n_states)`.
    - `final`: states `(n, n_states)` at `t1`; `ok`: all states finite.
    - `weights`: per projection, the synaptic weights `(n_synapses,)` at `t1` (changed only
      by plastic projections; `gain` not applied); `weight_history`: for each projection
      in `record_weights` (in that order), weights at the save times `(n_save+1, n_syn)`.
    """

    spikes: tuple[UInt8[Array, "n_steps n_bytes"], ...]
    counts: tuple[Int[Array, " n_steps"], ...]
    n_spikes: tuple[Int[Array, " n"], ...]
    peak_events: tuple[Int[Array, ""], ...]
    overflow: tuple[Bool[Array, ""], ...]
    ts: Float[Array, " n_save+1"]
    states: tuple[Float[Array, "n_save+1 n_recorded n_states"], ...]
    final: tuple[Float[Array, "n n_states"], ...]
    ok: Bool[Array, ""]
    weights: tuple[Float[Array, " n_synapses"], ...]
    weight_history: tuple[Float[Array, "n_save+1 n_synapses"], ...]
    t0: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    sizes: tuple[int, ...] = eqx.field(static=True)

    def raster(self, population: int) -> Bool[Array, "n_steps n"]:
        """Spike flags of `population`, `(n_steps, n)` bool."""
        bits = jnp.unpackbits(self.spikes[population], axis=-1, count=self.sizes[population],
                              bitorder="little")
        return bits.astype(bool)

    def spike_times(self, population: int) -> tuple[np.ndarray, np.ndarray]:
        """`(times, indices)` of all spikes of `population` (NumPy; a time is the end of the
        step in which the spike happened, ms). Not for use inside `jit`."""
        steps, indices = np.nonzero(np.asarray(self.raster(population)))
        return self.t0 + (steps + 1) * self.dt, indices

    def rates(self, population: int) -> Float[Array, ""]:
        """Mean firing rate (Hz) of `population` over the run."""
        duration = self.counts[population].shape[-1] * self.dt
        return 1000.0 * jnp.mean(self.n_spikes[population], axis=-1) / duration


class _StepDrive(AbstractStimulus):
    """The input current of one neuron during one step: constant bias, shared stimuli and
    exponentially decaying current synapses (state given at the step's start `t_start`)."""

    bias: Float[Array, ""]
    stimuli: tuple[AbstractStimulus, ...]
    synapses: tuple[AbstractSynapse, ...]
    syn_states: tuple[Float[Array, ""], ...]
    t_start: Float[Array, ""]

    def __call__(self, t):
        total = self.bias
        for stimulus in self.stimuli:
            total = total + stimulus(t)
        for synapse, state in zip(self.synapses, self.syn_states, strict=True):
            total = total + synapse.current(state, t - self.t_start)
        return total


def simulate_network(
    network: Network,
    t1: float,
    dt: float,
    key: jax.Array | None = None,
    *,
    t0: float = 0.0,
    solver: str | diffrax.AbstractSolver | None = None,
    surrogate: AbstractSurrogate | None = None,
    record: dict[int, object] | None = None,
    record_weights=(),
    save_every: float | None = None,
    throw: bool = True,
) -> NetworkResult:
    """Simulate `network` from `t0` to `t1` (ms) with clock-driven steps of `dt` (ms), in
    one `lax.scan`. Works under `jax.jit` and `jax.vmap` (over stacked networks).

    **Arguments:**
    - `network`: the `Network`.
    - `t1`, `dt`, `t0`: end time, step and start time, ms (Python numbers).
    - `key`: `jax.random` key for random inputs (`PoissonInput`, `GaussianInput`; required
      if there are any).
    - `solver`: per-neuron solver, as in `jaxneuron.simulate`'s clock mode (default
      `"exp_midpoint"` for gated models such as `ConductanceLIF`, `"heun"` otherwise).
    - `surrogate`: a surrogate spike derivative (`jaxneuron.spike_surrogates`): gradients
      then flow through resets and through the spikes into the synaptic jumps. Every
      synapse then carries its source's spike (0 or 1) in every step, so a neuron just
      below threshold passes its surrogate gradient to its targets too; this costs
      O(synapses) per step instead of O(spiking synapses), and no event buffer is used
      (`overflow` stays False). The forward run is the same up to float summation order.
    - `record`: `{population: neuron indices}` whose full states are saved every
      `save_every` ms (a multiple of `dt` dividing `t1 - t0`; default `dt`).
    - `record_weights`: indices of projections whose weights are saved every `save_every`
      ms (for plastic projections; see `Projection.plasticity`).
    - `throw`: raise if the event buffer overflowed or a state became NaN/inf; with
      `False` these are flagged in `NetworkResult.overflow` and `.ok`.

    **Returns:** a `NetworkResult`.

    **Raises:** `ValueError` for invalid times, keys (an int instead of
    `jax.random.key(seed)`), record indices or solvers, and the weight checks of `Network`.
    """
    if not isinstance(network, Network):
        raise ValueError(f"network must be a Network; got {type(network).__name__}")
    _check_weights(network)  # again: eqx.tree_at may have changed them since construction
    record = {} if record is None else dict(record)
    pops = network.populations
    rec_index = {}
    for p, idx in record.items():
        idx = np.asarray(idx, dtype=np.int64).ravel()
        if isinstance(p, np.integer) and not isinstance(p, np.bool_):
            p = int(p)
        if isinstance(p, bool) or not (isinstance(p, int) and 0 <= p < len(pops)):
            raise ValueError(f"record keys must index populations [0, {len(pops)}); got {p!r}")
        if idx.size == 0 or idx.min() < 0 or idx.max() >= pops[p].n:
            raise ValueError(f"record[{p}] must list neuron indices in [0, {pops[p].n})")
        rec_index[p] = idx
    record_weights = tuple(static_int(j) for j in record_weights)
    for j in record_weights:
        if isinstance(j, bool) or not (isinstance(j, int) and 0 <= j < len(network.projections)):
            raise ValueError(f"record_weights must list projection indices in "
                             f"[0, {len(network.projections)}); got {j!r}")
    recording = bool(rec_index) or bool(record_weights)
    grid = TimeGrid.build(t0, t1, dt, save_every if recording else 0)
    has_poisson = any(isinstance(i, AbstractRandomInput) for i in network.inputs)
    if has_poisson and key is None:
        raise ValueError("key (a jax.random key) is required: the network has random inputs")
    if key is not None:
        check_key(key)
    else:
        key = jax.random.key(0)
    engine = ClockSpiking(solver=solver, surrogate=surrogate)
    for pop in pops:
        engine.solver_for(pop.model)  # raises for a solver that does not fit the model

    rec = tuple((p, tuple(int(i) for i in idx)) for p, idx in rec_index.items())
    return _simulate(network, key, engine, grid, rec, record_weights, throw)


@eqx.filter_jit
def _simulate(network, key, engine: ClockSpiking, grid: TimeGrid, rec, record_weights, throw):
    t0, dt, n_steps, steps_per_save = grid.t0, grid.dt, grid.n_steps, grid.steps_per_save
    pops = network.populations
    rec_index = {p: np.asarray(idx) for p, idx in rec}
    dtype = pops[0].y0.dtype
    currents_into = [[i for i in network.inputs
                      if isinstance(i, CurrentInput) and i.target == p] for p in range(len(pops))]
    # Every source of synaptic events: projections, then Poisson inputs.
    sources = list(network.projections) + [i for i in network.inputs
                                           if isinstance(i, AbstractRandomInput)]
    post_of = [s.post if isinstance(s, Projection) else s.target for s in sources]
    projections = network.projections
    plastic = [j for j, proj in enumerate(projections) if proj.plasticity is not None]
    # With a surrogate every synapse carries its source's spike (0 or 1 in value, with a
    # surrogate derivative also where no spike was emitted), so no event buffer is used.
    every_synapse = engine.surrogate is not None
    event_driven = [j for j, proj in enumerate(projections)
                    if not (proj.connectivity.complete or every_synapse)]
    # The state column that the event path of a projection jumps directly (a `StateJump`
    # without delay), else None (its input goes through the synapse's `deliver`).
    direct = {j: (pops[projections[j].post].model.state_names.index(
        projections[j].synapse.target) if type(projections[j].synapse) is StateJump
        and not projections[j].synapse.delay else None) for j in event_driven}
    # Outgoing synapses of every source as padded rows, built once per run (see SynapseRows).
    rows = {j: SynapseRows.build(projections[j].connectivity, plastic=j in plastic)
            for j in event_driven}
    synapse_pre = {j: synapse_sources(proj.connectivity.indptr, proj.connectivity.n_synapses)
                   for j, proj in enumerate(projections) if every_synapse or j in plastic}

    # A population whose inputs never jump a state that its spike condition reads (only
    # conductance jumps and current synapses) can start a step at or above threshold only
    # at t0: its kick check is taken once, before the loop (as `ClockSpiking.run` does).
    kicks = [any(_may_kick(sources[j].synapse, pop.model)
                 for j, q in enumerate(post_of) if q == p) for p, pop in enumerate(pops)]

    def step_population(p, y, release, syn_states, t):
        pop = pops[p]
        into = [j for j, q in enumerate(post_of) if q == p]
        bias = jnp.zeros((pop.n,), dtype)
        stimuli = []
        for inp in currents_into[p]:
            bias = bias + inp.amplitude
            if inp.stimulus is not None:
                stimuli.append(inp.stimulus)
        synapses = tuple(sources[j].synapse for j in into)

        def one(model, y_i, release_i, bias_i, states_i):
            drive = _StepDrive(bias_i, tuple(stimuli), synapses, states_i, t)
            y_i, release_i, _, spiked, fired = engine.step_columns(
                model, drive, t, dt, y_i, release_i, kicks=kicks[p])
            return y_i, release_i, spiked, fired

        states = tuple(_per_neuron(syn_states[j], pop.n) for j in into)
        state_axes = tuple(0 if s.ndim else None for s in states)
        return jax.vmap(one, in_axes=(batch_axes(pop.model), 0, 0, 0, state_axes))(
            pop.model, y, release, bias, states)

    def one_step(carry, k):
        ys, releases, syn_states, buffers, weights, traces = carry
        t = t0 + k * dt
        step_key = jax.random.fold_in(key, k)
        new_ys, new_rel, crossed, fired = [], [], [], []
        for p in range(len(pops)):
            y1, rel, c, f = step_population(p, ys[p], releases[p], syn_states, t)
            if not kicks[p]:  # the spikes at t0 (taken before the loop) count in step 0
                c, f = c | (kicked0[p] & (k == 0)), f + kick0[p] * (k == 0)
            new_ys.append(y1)
            new_rel.append(rel)
            crossed.append(c)
            fired.append(f)
        counts = [jnp.sum(c, dtype=jnp.int32) for c in crossed]
        new_syn, new_buf = list(syn_states), list(buffers)
        # Event-driven projections: the spikes of each population are compacted once and
        # shared by all its outgoing projections.
        # A jump without delay is added straight into the target's state column.
        by_events = {}
        for p in range(len(pops)):
            out = [j for j in event_driven if projections[j].pre == p]
            if not out:
                continue
            bases, claimed = [], {}
            for j in out:
                column = direct[j]
                if column is not None and (post_of[j], column) not in claimed:
                    claimed[post_of[j], column] = j
                    bases.append(new_ys[post_of[j]][column])
                else:
                    bases.append(jnp.zeros((pops[post_of[j]].n,), dtype))
            added = _propagate_events(
                tuple(_rows(rows[j], weights[j]) for j in out), tuple(bases),
                tuple(projections[j].gain for j in out), crossed[p], counts[p], pops[p],
                shared_weight[p])
            for j, total in zip(out, added, strict=True):
                column = direct[j]
                if claimed.get((post_of[j], column)) == j:
                    new_ys[post_of[j]] = _replace(new_ys[post_of[j]], column, total)
                    by_events[j] = None  # delivered
                else:
                    by_events[j] = total
        for j, source in enumerate(sources):
            post = pops[post_of[j]]
            if by_events.get(j, 0) is None:
                continue
            if isinstance(source, Projection):
                if source.connectivity.complete:
                    delta = _propagate_complete(source, weights[j], fired[source.pre])
                elif every_synapse:
                    delta = _propagate_all(source, weights[j], synapse_pre[j],
                                           fired[source.pre])
                else:
                    delta = by_events[j]
            else:
                delta = source.delta(jax.random.fold_in(step_key, j), dt, post.n)
            delay = source.synapse.delay
            if delay:
                slot = k % delay
                arriving = buffers[j][slot]
                new_buf[j] = buffers[j].at[slot].set(delta)
                delta = arriving
            new_syn[j], new_ys[post_of[j]] = source.synapse.deliver(
                syn_states[j], new_ys[post_of[j]], delta, dt, post.model)
        new_w, new_tr = list(weights), list(traces)
        for j in plastic:
            proj = projections[j]
            new_tr[j], new_w[j] = proj.plasticity.step(
                traces[j], weights[j], synapse_pre[j], proj.connectivity.targets,
                fired[proj.pre], fired[proj.post], dt)
        packed = tuple(jnp.packbits(c, bitorder="little") for c in crossed)
        carry = (tuple(new_ys), tuple(new_rel), tuple(new_syn), tuple(new_buf),
                 tuple(new_w), tuple(new_tr))
        return carry, packed  # the counts are read off the raster after the loop

    def one_save(carry, j):
        ks = j * steps_per_save + jnp.arange(steps_per_save)
        carry, per_step = jax.lax.scan(one_step, carry, ks)
        saved = tuple(jnp.stack([c[idx] for c in carry[0][p]], axis=-1)
                      for p, idx in rec_index.items())
        saved_w = tuple(carry[4][j] for j in record_weights)
        return carry, (per_step, saved, saved_w)

    ys = [tuple(pop.y0.T) for pop in pops]  # a tuple of columns (n,) per population
    releases = [jnp.full((pop.n,), -jnp.inf, dtype) for pop in pops]
    kicked0, kick0 = [None] * len(pops), [None] * len(pops)
    for p, pop in enumerate(pops):
        if not kicks[p]:
            ys[p], releases[p], kicked0[p], kick0[p] = jax.vmap(
                engine.kick, in_axes=(batch_axes(pop.model), None, 0, 0))(
                pop.model, jnp.asarray(t0, dtype), ys[p], releases[p])
    ys, releases = tuple(ys), tuple(releases)
    syn_states = tuple(s.synapse.init(pops[q].n, dtype) for s, q in zip(sources, post_of,
                                                                        strict=True))
    buffers = tuple(jnp.zeros((s.synapse.delay, pops[q].n), dtype) if s.synapse.delay
                    else jnp.zeros((0,), dtype) for s, q in zip(sources, post_of, strict=True))
    weights0 = tuple(proj.connectivity.weights for proj in projections)
    traces = tuple(proj.plasticity.init(proj.connectivity.n_pre, proj.connectivity.n_post,
                                        dtype) if proj.plasticity is not None else ()
                   for proj in projections)
    # Per population: whether each of its event-driven projections has one weight for
    # all its synapses (checked once per run), and those weights; None with a plastic one.
    shared_weight = {}
    for p in range(len(pops)):
        out = [j for j in event_driven if projections[j].pre == p]
        if out and not any(j in plastic for j in out):
            firsts = tuple(weights0[j][0] if weights0[j].size else jnp.zeros((), dtype)
                           for j in out)
            flag = jnp.all(jnp.stack([jnp.all(weights0[j] == first)
                                      for j, first in zip(out, firsts, strict=True)]))
            shared_weight[p] = (flag, tuple(jax.lax.stop_gradient(w) for w in firsts))
        else:
            shared_weight[p] = None
    carry = (ys, releases, syn_states, buffers, weights0, traces)
    n_save = n_steps // steps_per_save
    carry, (packed, saved, saved_w) = jax.lax.scan(one_save, carry,
                                                             jnp.arange(n_save))
    packed = tuple(x.reshape(n_steps, -1) for x in packed)
    # Counted from the packed rasters, never unpacked whole (at 256,000 cells x 10,000 steps
    # the unpacked raster alone would take 2.6 GB).
    counts = tuple(jnp.sum(jax.lax.population_count(x), axis=-1, dtype=jnp.int32)
                   for x in packed)
    states = tuple(jnp.concatenate([pops[p].y0[idx][None], s], axis=0)
                   for (p, idx), s in zip(rec_index.items(), saved, strict=True))
    final = tuple(jnp.stack(y, axis=-1) for y in carry[0])
    peaks = tuple(jnp.max(c, initial=0) for c in counts)  # the most spikes in one step
    overflow = tuple((pk > pop.max_events) & (not every_synapse)
                     for pk, pop in zip(peaks, pops, strict=True))
    ok = jnp.all(jnp.stack([jnp.all(jnp.isfinite(y)) for y in final]))
    result = NetworkResult(
        spikes=packed, counts=counts,
        n_spikes=tuple(_spikes_per_neuron(x, pop.n) for x, pop in zip(packed, pops,
                                                                         strict=True)),
        peak_events=peaks, overflow=overflow,
        ts=t0 + dt * steps_per_save * jnp.arange(n_save + 1, dtype=dtype),
        states=states, final=final, ok=ok, weights=carry[4],
        weight_history=tuple(jnp.concatenate([weights0[j][None], w], axis=0)
                             for j, w in zip(record_weights, saved_w, strict=True)),
        t0=float(t0), dt=float(dt),
        sizes=tuple(pop.n for pop in pops),
    )
    if throw:
        any_overflow = jnp.any(jnp.stack(overflow))
        result = eqx.error_if(
            result, any_overflow,
            "event buffer overflow: more neurons spiked in one step than a population's "
            "max_events; raise Population(max_events=...) (see NetworkResult.peak_events) "
            "or pass throw=False to get NetworkResult.overflow")
        result = eqx.error_if(result, ~ok, "network simulation failed: a state became "
                              "NaN/inf (use a smaller dt or check parameters)")
    return result


def network_raster_bits(packed: UInt8[Array, "n_steps n_bytes"], n: int):
    """Unpack a packed raster to `(n_steps, n)` uint8 (0/1)."""
    return jnp.unpackbits(packed, axis=-1, count=n, bitorder="little")


def _propagate_events(rows: tuple, bases: tuple, gains, crossed, count, pop: Population,
                      same=None) -> tuple:
    """Add the synapses of the step's spiking sources of population `pop` to `bases`, one
    `(n_post,)` array per event-driven projection of `pop` (`rows`, `(targets, weights)`
    tables of `SynapseRows`, and `gains`, one per projection): a state column that the
    spikes jump directly, or zeros. `crossed` `(n_pre,)` bool marks the spiking sources,
    `count` their number. The event path runs without a surrogate, so the spikes carry no
    derivative (and their float values, which no kernel then needs, are not read).

    The sources are compacted once, into the smallest buffer of `pop.event_sizes` that
    holds them (spikes beyond the largest, `max_events`, are dropped here and flagged by
    the caller), so a step costs in proportion to its spikes times their fan-out. `same`
    (optional): `(flag, weights)`, a bool scalar that is True when every synapse of each
    projection has one weight, and that weight per projection; the weight tables are then
    not read (half the memory traffic of a step). Under `vmap` (networks in a batch) the
    buffer is chosen once for the whole batch, by its largest `count` (and the shared
    weight only where every network has one), so only one path runs (a plain
    `lax.switch` would run all). The derivative is that of the largest buffer reading
    the weight tables (the same values)."""
    sizes = pop.event_sizes
    if same is None:
        same = (jnp.asarray(False), tuple(jnp.zeros((), b.dtype) for b in bases))

    def through(size, shared, rows, bases, gains, spiking, weight):
        events = compact(spiking, size)  # padded with n_pre: the empty row
        out = []
        for (targets, weights), base, gain, w in zip(rows, bases, gains, weight, strict=True):
            hit = targets[events]  # the padding points at n_post, which the scatter drops
            w = jnp.broadcast_to(w, hit.shape) if shared else weights[events]
            out.append(base.at[hit].add(w * gain, mode="drop"))
        return tuple(out)

    paths = [functools.partial(through, size, shared) for shared in (False, True)
             for size in sizes]

    def index(n_spiking, flag):  # the smallest buffer that holds n_spiking, and its kind
        rung = sum((n_spiking > size).astype(jnp.int32) for size in sizes[:-1])
        return rung + len(sizes) * flag.astype(jnp.int32)

    @jax.custom_jvp
    @custom_vmap
    def bucketed(rows, bases, gains, spiking, n_spiking, flag, weight):
        return jax.lax.switch(index(n_spiking, flag), paths, rows, bases, gains, spiking,
                              weight)

    @bucketed.def_vmap
    def _(axis_size, in_batched, rows, bases, gains, spiking, n_spiking, flag, weight):
        axes = jax.tree.map(lambda b: 0 if b else None, in_batched)
        worst = jnp.max(n_spiking) if in_batched[4] else n_spiking
        flag = jnp.all(flag) if in_batched[5] else flag

        def batched(path):
            return jax.vmap(path, axis_size=axis_size,
                            in_axes=(axes[0], 0, axes[2], axes[3], axes[6]))

        out = jax.lax.switch(index(worst, flag), [batched(path) for path in paths], rows,
                             _batch(bases, in_batched[1], axis_size), gains, spiking,
                             weight)
        return out, jax.tree.map(lambda _: True, out)

    @bucketed.defjvp
    def _(primals, tangents):
        rows, bases, gains, spiking, n_spiking, flag, weight = primals
        d_rows, d_bases, d_gains, _, _, _, _ = tangents
        tangent = jax.jvp(
            lambda r_, b_, g_: through(sizes[-1], False, r_, b_, g_, spiking, weight),
            (rows, bases, gains), (d_rows, d_bases, d_gains))[1]
        return bucketed(*primals), tangent

    return bucketed(rows, bases, gains, crossed, count, *same)


def _batch(bases: tuple, batched: tuple, axis_size: int) -> tuple:
    """`bases` with a leading batch axis on each (every output of the batched path is
    batched, so an unbatched base is broadcast to the batch)."""
    return tuple(b if flag else jnp.broadcast_to(b, (axis_size, *b.shape))
                 for b, flag in zip(bases, batched, strict=True))


class SynapseRows(eqx.Module):
    """The synapses of a `Connectivity` as padded rows, one per source: `targets`
    `(n_pre + 1, max_degree)` (padding and the extra last row, the empty source, point at
    `n_post`, which the scatter drops) and `slots` where each synapse's weight goes in the
    flattened table (`row * max_degree + column`, `(n_synapses,)`).

    The event path reads the rows of the step's spiking sources as contiguous slices: one
    row gather of targets and one of weights (a CSR gather of the same synapses costs 1.5-2x
    as much on a CPU). Built once per run, in O(n_pre * max_degree) memory; the weights
    table is rebuilt from the weights (differentiably) once per run, or every step for a
    plastic projection (whose rule already costs O(n_synapses) per step)."""

    targets: Int[Array, "n_pre+1 max_degree"]
    slots: Int[Array, " n_synapses"]
    n_post: int = eqx.field(static=True)
    plastic: bool = eqx.field(static=True)
    weights: Float[Array, "n_pre+1 max_degree"] | None = None

    @staticmethod
    def build(conn: Connectivity, plastic: bool) -> SynapseRows:
        degree = max(conn.max_degree, 1)
        pre = synapse_sources(conn.indptr, conn.n_synapses)
        column = jnp.arange(conn.n_synapses) - conn.indptr[pre]
        slots = pre * degree + column
        targets = jnp.full(((conn.n_pre + 1) * degree,), conn.n_post, conn.targets.dtype)
        targets = targets.at[slots].set(conn.targets, unique_indices=True)
        table = SynapseRows(targets.reshape(conn.n_pre + 1, degree), slots, conn.n_post,
                            plastic)
        if plastic:
            return table
        return SynapseRows(table.targets, slots, conn.n_post, plastic,
                           table.weight_table(conn.weights))

    def weight_table(self, weights) -> Float[Array, "n_pre+1 max_degree"]:
        """The weights `(n_synapses,)` laid out as `targets` (0 in the padding)."""
        table = jnp.zeros((self.targets.size,), weights.dtype)
        return table.at[self.slots].set(weights, unique_indices=True).reshape(
            self.targets.shape)


def _rows(rows: SynapseRows, weights) -> tuple:
    """`(targets, weights)` tables of an event-driven projection in this step."""
    table = rows.weight_table(weights) if rows.plastic else rows.weights
    return rows.targets, table


# Spiking neurons are compacted block by block: a block of this many neurons that holds a
# spike is found first, then the spikes inside the found blocks.
COMPACT_BLOCK = 32


def compact(flags: Bool[Array, " n"], size: int) -> Int[Array, " size"]:
    """The indices of the first `size` True entries of `flags`, in ascending order, padded
    with `n` (what `jnp.nonzero(flags, size=size, fill_value=n)[0]` returns).

    Two `lax.top_k` on float keys (a partial sort, one pass on a CPU) instead of the
    cumulative sums of `jnp.nonzero` (~7x faster for 3,200 flags on a CPU): the blocks of
    `COMPACT_BLOCK` flags that hold a True, then the Trues inside the first `size` of them.
    Works under `vmap` (over leading axes of `flags`)."""
    n = flags.shape[-1]
    if n >= 2**24:  # the float32 keys count exactly up to 2^24
        return jnp.nonzero(flags, size=size, fill_value=n)[0]
    block = COMPACT_BLOCK
    n_blocks = -(-n // block)
    if n_blocks <= size:  # as many blocks as slots: one top_k over all flags
        found, index = _first_true(flags, size)
        return jnp.where(found, index, n)
    padded = jnp.pad(flags, (0, n_blocks * block - n)).reshape(n_blocks, block)
    any_found, blocks = _first_true(jnp.any(padded, axis=1), size)
    inside = (padded[blocks] & any_found[:, None]).reshape(-1)  # (size * block,)
    found, index = _first_true(inside, size)
    return jnp.where(found, blocks[index // block] * block + index % block, n)


def _first_true(flags, k: int):
    """`(found, index)` of the first `k` True entries of `flags` `(m,)` (ascending; `found`
    False where there are fewer than `k`)."""
    m = flags.shape[-1]
    keys = jnp.where(flags, jnp.arange(m, 0, -1, dtype=jnp.float32), 0.0)
    values, index = jax.lax.top_k(keys, min(k, m))
    if k > m:
        values = jnp.pad(values, (0, k - m))
        index = jnp.pad(index, (0, k - m))
    return values > 0, index


def _propagate_all(projection: Projection, weights, synapse_pre, fired):
    """Summed `weights` per target `(n_post,)` over every synapse, each scaled by its
    source's spike `fired` (`(n_pre,)`): the surrogate path, where non-spiking sources pass
    gradients too."""
    conn = projection.connectivity
    delta = jax.ops.segment_sum(weights * fired[synapse_pre], conn.targets,
                                num_segments=conn.n_post)
    return delta * projection.gain


def _propagate_complete(projection: Projection, weights, fired):
    """`(n_post,)` input of an all-to-all projection: the spikes `fired` (`(n_pre,)`) times
    the weight matrix (exact for the event and the surrogate path alike)."""
    conn = projection.connectivity
    return (fired @ weights.reshape(conn.n_pre, conn.n_post)) * projection.gain


def _spikes_per_neuron(packed: UInt8[Array, "n_steps n_bytes"], n: int,
                       block: int = 64) -> Int[Array, " n"]:
    """Spikes of each of the `n` neurons in a packed raster (little bit order), summed over
    blocks of `block` steps in a scan, so memory stays O(block * n), not O(n_steps * n)."""
    n_steps, n_bytes = packed.shape
    padded = jnp.pad(packed, ((0, -n_steps % block), (0, 0)))
    shifts = jnp.arange(8, dtype=packed.dtype)

    def add(total, chunk):  # chunk (block, n_bytes) -> bits (block, n_bytes, 8)
        return total + jnp.sum((chunk[..., None] >> shifts) & 1, axis=0, dtype=jnp.int32), None

    total, _ = jax.lax.scan(add, jnp.zeros((n_bytes, 8), jnp.int32),
                            padded.reshape(-1, block, n_bytes))
    return total.reshape(-1)[:n]


def _replace(columns: tuple, index: int, column) -> tuple:
    """`columns` with entry `index` replaced by `column`."""
    return (*columns[:index], column, *columns[index + 1:])


def _may_kick(synapse: AbstractSynapse, post: AbstractSpikingNeuron) -> bool:
    """Whether `synapse` can push a state of `post` to or over threshold between steps: every
    synapse but a jump into a conductance that `post`'s spike condition does not read (see
    `AbstractNeuron.conductance_states`; checked on the condition's jaxpr) and the current
    synapses."""
    if isinstance(synapse, ExponentialCurrent):
        return False
    if not isinstance(synapse, StateJump) or synapse.conductance(post) is None:
        return True
    return _condition_reads(post, list(post.state_names).index(synapse.conductance(post)))


def _condition_reads(model: AbstractSpikingNeuron, index: int) -> bool:
    """Whether `model.spike_condition` reads state `index`: its derivative with respect to
    that state at random states of a copy of the model with random parameters (computed
    at trace time, so a vmapped model is checked too; a NaN derivative counts as a read)."""
    rng = np.random.default_rng(0)
    with jax.ensure_compile_time_eval():
        probe = jax.tree.map(
            lambda x: jnp.asarray(rng.uniform(0.5, 1.5, jnp.shape(x)), jnp.result_type(x))
            if eqx.is_inexact_array(x) else x, model)
        for _ in range(3):
            y = jnp.asarray(rng.uniform(-1.0, 1.0, len(model.state_names)))
            slope = jax.grad(lambda y: jnp.sum(probe.spike_condition(y)))(y)[index]
            if not slope == 0:
                return True
    return False


def _per_neuron(state, n):
    """A synapse state as seen by one neuron under vmap: `(n,)` arrays are mapped, empty
    states become a scalar 0."""
    return state if state.shape == (n,) else jnp.zeros((), state.dtype)
