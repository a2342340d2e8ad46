"""The network engine: connectivity statistics, synapses against hand-computed responses,
event-buffer overflow, vmap over networks, reproducibility (float64)."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import jaxneuron as jn
from jaxneuron.network import (
    CurrentInput,
    ExponentialCurrent,
    Network,
    PoissonInput,
    Population,
    Projection,
    StateJump,
    fixed_in_degree,
    fixed_probability,
    from_edges,
    layered,
    ring,
    simulate_network,
    small_world,
)

# ---------------------------------------------------------------- connectivity


def test_fixed_probability_in_and_out_degrees_are_binomial():
    n, p = 2000, 0.05
    conn = fixed_probability(n, n, p, 1.0, seed=3, autapses=False)
    for degrees in (conn.in_degrees(), conn.out_degrees()):
        mean, var = (n - 1) * p, (n - 1) * p * (1 - p)
        assert abs(degrees.mean() - mean) < 4 * math.sqrt(var / n)
        assert abs(degrees.var() / var - 1) < 0.15  # sd of the sample variance ~3 %
    dense = conn.to_dense()
    assert np.all(np.diag(dense) == 0) and dense.max() == 1.0  # no autapses, no duplicates
    # Sparse storage: one target and one weight per synapse, n + 1 row pointers.
    assert conn.targets.shape == conn.weights.shape == (conn.n_synapses,)
    assert conn.indptr.shape == (n + 1,) and conn.max_degree == conn.out_degrees().max()


def test_fixed_in_degree_gives_k_distinct_sources():
    conn = fixed_in_degree(300, 200, 17, 0.5, seed=0, autapses=True)
    assert np.all(conn.in_degrees() == 17)
    assert np.all(conn.to_dense()[conn.to_dense() > 0] == 0.5)  # distinct: no summed weights
    square = fixed_in_degree(50, 50, 49, 1.0, seed=0, autapses=False)
    np.testing.assert_array_equal(square.to_dense(), 1.0 - np.eye(50))


def test_builders_are_reproducible_from_the_seed():
    def arrays(c):
        return [np.asarray(c.indptr), np.asarray(c.targets), np.asarray(c.weights)]

    for build in (lambda s: fixed_probability(300, 200, 0.1, 1.0, seed=s),
                  lambda s: fixed_in_degree(100, 100, 10, 1.0, seed=s),
                  lambda s: layered([30, 40, 20], 0.2, 1.0, p_lateral=0.1, seed=s),
                  lambda s: ring(200, 0.8, 3.0, 1.0, seed=s),
                  lambda s: small_world(100, 6, 0.2, 1.0, seed=s)):
        a, b, c = arrays(build(1)), arrays(build(1)), arrays(build(2))
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)
        assert not all(x.shape == y.shape and np.all(x == y) for x, y in zip(a, c, strict=True))


def test_layered_connects_only_forward_and_within_layers():
    sizes = [100, 150, 80]
    conn = layered(sizes, 0.1, 2.0, p_lateral=0.05, lateral_weight=-1.0, seed=4)
    dense = conn.to_dense()
    edges = np.cumsum([0, *sizes])
    blocks = [[dense[edges[i]:edges[i + 1], edges[j]:edges[j + 1]] for j in range(3)]
              for i in range(3)]
    for i in range(3):
        for j in range(3):
            block = blocks[i][j]
            if j == i + 1:
                assert np.all(block[block != 0] == 2.0)
                assert abs(np.mean(block != 0) - 0.1) < 0.01
            elif j == i:
                assert np.all(block[block != 0] == -1.0) and np.all(np.diag(block) == 0)
                assert abs(np.mean(block != 0) * sizes[i] / (sizes[i] - 1) - 0.05) < 0.01
            else:
                assert not block.any()


def test_ring_connection_probability_falls_with_circular_distance():
    n, p_max, sigma = 4000, 0.9, 2.0
    dense = ring(n, p_max, sigma, 1.0, seed=5).to_dense() != 0
    i = np.arange(n)
    for d in (1, 2, 4):
        expected = p_max * math.exp(-d * d / (2 * sigma**2))
        for shift in (d, -d):  # both directions, with wrap-around
            frac = dense[i, (i + shift) % n].mean()
            assert abs(frac - expected) < 4 * math.sqrt(expected * (1 - expected) / n) + 1e-9
    assert not dense[i, i].any() and not dense[i, (i + 11) % n].any()  # beyond the cutoff


def test_small_world_is_a_ring_lattice_at_beta_zero_and_keeps_degrees_when_rewired():
    n, k = 60, 4
    lattice = small_world(n, k, 0.0, 1.0, seed=0).to_dense()
    i = np.arange(n)
    for shift in (-2, -1, 1, 2):
        assert lattice[i, (i + shift) % n].all()
    assert lattice.sum() == n * k
    rewired = small_world(n, k, 0.5, 1.0, seed=0).to_dense()
    assert np.all(rewired.sum(axis=1) == k) and rewired.max() == 1.0
    assert not np.diag(rewired).any()
    kept = np.mean([rewired[i, (i + s) % n].mean() for s in (-2, -1, 1, 2)])
    assert 0.35 < kept < 0.65  # about half the lattice synapses were rewired


def test_from_edges_rejects_out_of_range_indices():
    with pytest.raises(ValueError, match="post indices"):
        from_edges([0, 1], [0, 5], 1.0, 2, 3)


# ---------------------------------------------------------------- synapses vs hand-computed

T_FIRE = 20.0 * math.log(3.0)  # ConductanceLIF from -60 mV with 150 pA: tau_m ln(15/5)


def _pair(synapse, weight, **pop_kwargs):
    """Neuron 0 driven to spike once at T_FIRE, projecting with `weight` onto neuron 1."""
    pop = Population(jn.ConductanceLIF(), 2, **pop_kwargs)
    return Network([pop], [Projection(0, 0, from_edges([0], [1], weight, 2, 2), synapse)],
                   [CurrentInput(0, jnp.array([150.0, 0.0]))])


@pytest.mark.parametrize("delay", [0, 7])
def test_conductance_jump_and_exponential_decay_match_hand_computation(delay):
    dt, w = 0.01, 6.0
    result = simulate_network(_pair(StateJump("g_e", delay=delay), w), 45.0, dt,
                              record={0: [0, 1]})
    times, index = result.spike_times(0)
    fire_step = math.floor(T_FIRE / dt)  # the step (t_k, t_k + dt] holding the crossing
    np.testing.assert_allclose(times, [(fire_step + 1) * dt])
    assert list(index) == [0]
    arrive = fire_step + 1 + delay  # saved index = time / dt
    g_e = np.asarray(result.states[0][:, 1, 1])
    assert np.all(g_e[:arrive] == 0.0)
    m = np.arange(len(g_e) - arrive)
    np.testing.assert_allclose(g_e[arrive:], w * np.exp(-m * dt / 5.0), rtol=1e-12)
    # The voltage response against an independent SciPy solution from the jump on.
    cell = jn.ConductanceLIF()

    def rhs(t, y):
        g = w * math.exp(-t / 5.0)
        return [(10.0 * (-60.0 - y[0]) + g * (0.0 - y[0])) / 200.0]

    s = np.arange(len(g_e) - arrive) * dt
    ref = solve_ivp(rhs, (0, s[-1]), [float(cell.E_L)], t_eval=s, rtol=1e-11, atol=1e-11).y[0]
    v = np.asarray(result.states[0][arrive:, 1, 0])
    assert np.abs(v - ref).max() < 1e-5 and ref.max() > -59.0  # a real EPSP (> 1 mV)


def test_exponential_current_synapse_gives_the_analytic_psp():
    dt, w, tau_s = 0.01, 50.0, 3.0
    result = simulate_network(_pair(ExponentialCurrent(tau=tau_s), w), 45.0, dt,
                              record={0: [1]})
    arrive = math.floor(T_FIRE / dt) + 1
    s = np.arange(result.states[0].shape[0] - arrive) * dt
    tau_m, c = 20.0, 200.0
    psp = (w / c) * (np.exp(-s / tau_s) - np.exp(-s / tau_m)) / (1 / tau_m - 1 / tau_s)
    v = np.asarray(result.states[0][arrive:, 0, 0]) + 60.0
    assert np.all(np.asarray(result.states[0][:arrive, 0, 0]) == -60.0)
    assert np.abs(v - psp).max() < 1e-5 * psp.max() * 100 and psp.max() > 0.5


def test_gradient_of_the_conductance_with_respect_to_the_weight():
    dt = 0.1
    net = _pair(StateJump("g_e"), 6.0)

    def final_g_e(w):
        n = eqx.tree_at(lambda m: m.projections[0].connectivity.weights, net, w)
        return simulate_network(n, 40.0, dt).final[0][1, 1]

    grad = jax.grad(final_g_e)(jnp.array([6.0]))
    arrive = math.floor(T_FIRE / dt) + 1
    np.testing.assert_allclose(grad, [math.exp(-(400 - arrive) * dt / 5.0)], rtol=1e-12)


def test_surrogate_gradient_reaches_targets_from_a_neuron_that_never_spikes():
    # Neuron 0 settles delta = 0.5 mV below threshold (V_inf = E_L + I / g_L). With a
    # Triangle surrogate its silent spike still has slope s (1 - s delta) per pA of drive
    # times dV/dI = 1 / g_L, and each step's (zero) jump into neuron 1's g_e decays by
    # exp(-dt / tau_e): the geometric sum below is the gradient at the end. (The reset is
    # detached: an attached one feeds 1 + s (V_reset - V) < -1 back every step.)
    dt, t1, w, delta, slope = 0.1, 400.0, 2.0, 0.5, 1.0
    surrogate = jn.Triangle(slope, detach_reset=True)
    net = Network([Population(jn.ConductanceLIF(), 2)],
                  [Projection(0, 0, from_edges([0], [1], w, 2, 2), StateJump("g_e"))],
                  [CurrentInput(0, jnp.array([10.0 * (10.0 - delta), 0.0]))])

    def final_g_e(amplitude):
        n = eqx.tree_at(lambda m: m.inputs[0].amplitude, net, amplitude)
        result = simulate_network(n, t1, dt, surrogate=surrogate)
        return result.final[0][1, 1], result

    amplitude = net.inputs[0].amplitude
    grad, result = jax.grad(final_g_e, has_aux=True)(amplitude)
    assert int(jnp.sum(result.n_spikes[0])) == 0
    n_steps = round(t1 / dt)
    expected = w * slope * (1 - slope * delta) / 10.0 * sum(
        math.exp(-m * dt / 5.0) for m in range(n_steps))
    np.testing.assert_allclose(grad, [expected, 0.0], rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("surrogate", [None, jn.FastSigmoid(0.5)])
def test_all_to_all_matrix_product_equals_the_event_path(surrogate):
    # The same recurrent weights once complete (propagated by a matrix product) and once
    # with an extra zero-weight duplicate synapse (not complete: events or every synapse).
    n, rng = 12, np.random.default_rng(0)
    w = rng.uniform(0.0, 3.0, (n, n))
    complete = jn.network.all_to_all(n, n, w)
    pre, post = np.repeat(np.arange(n), n), np.tile(np.arange(n), n)
    padded = from_edges(np.append(pre, 0), np.append(post, 0), np.append(w.ravel(), 0.0), n, n)
    assert complete.complete and not padded.complete
    np.testing.assert_array_equal(complete.to_dense(), w)

    def run(conn):
        net = Network([Population(jn.ConductanceLIF(), n)],
                      [Projection(0, 0, conn, StateJump("g_e"))],
                      [PoissonInput(0, 400.0, 2.0, StateJump("g_e"))])
        return simulate_network(net, 100.0, 0.1, jax.random.key(0), surrogate=surrogate)

    a, b = run(complete), run(padded)
    assert int(jnp.sum(a.n_spikes[0])) > 3 * n
    np.testing.assert_array_equal(a.raster(0), b.raster(0))
    np.testing.assert_allclose(a.final[0], b.final[0], rtol=1e-12)


def _recurrent_40(drive):
    """40 ConductanceLIF cells (event buffer 40, small path 16) with sparse random recurrent
    excitation (p = 0.3) and a constant `drive` (pA, scalar or `(40,)`)."""
    n = 40
    rng = np.random.default_rng(1)
    pre, post = np.nonzero(rng.random((n, n)) < 0.3)
    conn = from_edges(pre, post, rng.uniform(0.5, 2.0, pre.size), n, n)
    return Network([Population(jn.ConductanceLIF(), n, max_events=n)],
                   [Projection(0, 0, conn, StateJump("g_e"))],
                   [CurrentInput(0, jnp.broadcast_to(drive, (n,)))])


CROWDED = jnp.linspace(150.0, 151.0, 40)  # nearly equal drive: many cells fire together


def test_steps_with_many_spikes_take_the_large_event_path_and_agree_with_every_synapse():
    # Some steps have more spikes than the small event path (16) holds. The event-driven
    # run must match the every-synapse run (the surrogate path, same forward dynamics)
    # spike for spike.
    net = _recurrent_40(CROWDED)
    pop = net.populations[0]
    assert pop.small_events == 16
    events = simulate_network(net, 100.0, 0.1)
    every = simulate_network(net, 100.0, 0.1, surrogate=jn.FastSigmoid(0.5))
    assert int(events.peak_events[0]) > pop.small_events
    np.testing.assert_array_equal(events.raster(0), every.raster(0))
    np.testing.assert_allclose(events.final[0], every.final[0], rtol=1e-10)


@pytest.mark.slow  # make test-slow: 37 s
def test_a_batch_mixing_crowded_and_quiet_networks_equals_a_loop_in_value_and_gradient():
    # Under vmap the event path is chosen once for the batch (by its most crowded step);
    # values and weight gradients must equal one-network runs.
    net = _recurrent_40(0.0)
    drives = jnp.stack([CROWDED, jnp.linspace(101.0, 140.0, 40)])

    def run(drive, weights):
        m = eqx.tree_at(lambda x: (x.inputs[0].amplitude,
                                   x.projections[0].connectivity.weights), net,
                        (drive, weights))
        return simulate_network(m, 60.0, 0.1)

    def loss(weights, drive):
        return jnp.sum(run(drive, weights).final[0][:, 1])

    w = net.projections[0].connectivity.weights
    batched = jax.vmap(run, in_axes=(0, None))(drives, w)
    grads = jax.vmap(jax.grad(loss), in_axes=(None, 0))(w, drives)
    peaks = []
    for b in range(2):
        one = run(drives[b], w)
        peaks.append(int(one.peak_events[0]))
        np.testing.assert_array_equal(batched.raster(0)[b], one.raster(0))
        np.testing.assert_allclose(batched.final[0][b], one.final[0], rtol=1e-12)
        np.testing.assert_allclose(grads[b], jax.grad(loss)(w, drives[b]), rtol=1e-10,
                                   atol=1e-12)
    assert peaks[0] > 16 >= peaks[1] > 0  # one crowded network, one quiet one
    assert float(jnp.abs(grads[1]).sum()) > 0


def test_a_detached_reset_forgets_the_state_before_the_spike():
    # T falls inside the refractory period after the second spike, so V(T) = V_reset, a
    # constant: with the reset detached its gradient is exactly 0; attached, the surrogate
    # of the last crossing leaks a gradient through the reset.
    dt, t1 = 0.1, 60.0
    cell = jn.ConductanceLIF(t_ref=10.0)

    def final_v(amplitude, surrogate):
        net = Network([Population(cell, 1)], inputs=[CurrentInput(0, amplitude)])
        result = simulate_network(net, t1, dt, surrogate=surrogate)
        return result.final[0][0, 0], result

    detached = jn.FastSigmoid(1.0, detach_reset=True)
    grad, result = jax.grad(final_v, has_aux=True)(jnp.asarray(150.0), detached)
    times, _ = result.spike_times(0)
    assert len(times) == 2 and t1 - times[-1] < 10.0
    assert float(result.final[0][0, 0]) == -60.0 and float(grad) == 0.0
    attached, _ = jax.grad(final_v, has_aux=True)(jnp.asarray(150.0), jn.FastSigmoid(1.0))
    assert abs(float(attached)) > 1e-5


@pytest.mark.parametrize("model, amplitude", [(jn.ConductanceLIF(), 150.0),
                                              (jn.Izhikevich.preset("RS"), 10.0)])
def test_unconnected_population_reproduces_single_neuron_clock_mode(model, amplitude):
    dt, t1 = 0.05, 200.0
    net = Network([Population(model, 3)], inputs=[CurrentInput(0, amplitude)])
    result = simulate_network(net, t1, dt, record={0: [2]}, save_every=1.0)
    trace = jn.simulate(model, jn.StepCurrent(amplitude), t1=t1, dt=dt, save_every=1.0,
                        max_spikes=256)
    spikes = np.asarray(trace.spike_times)[: int(trace.n_spikes)]
    assert len(spikes) >= 3
    times, index = result.spike_times(0)
    np.testing.assert_allclose(times[index == 2], np.ceil(spikes / dt - 1e-9) * dt, rtol=1e-12)
    # The network's step checks for input kicks each step; the single run, without input
    # jumps, does not: the same arithmetic, compiled differently, to within a few ulp.
    np.testing.assert_allclose(result.states[0][:, 0, :], trace.states, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(result.n_spikes[0], [len(spikes)] * 3)


# ---------------------------------------------------------------- events, vmap, seeds


def _synchronous(max_events):
    """Ten identical neurons driven to spike in the same step, all-to-all coupled."""
    pop = Population(jn.ConductanceLIF(), 10, max_events=max_events)
    conn = fixed_probability(10, 10, 1.0, 1.0, seed=0)
    return Network([pop], [Projection(0, 0, conn)], [CurrentInput(0, 150.0)])


def test_event_buffer_overflow_is_reported_and_raises():
    result = simulate_network(_synchronous(4), 30.0, 0.1, throw=False)
    assert bool(result.overflow[0]) and int(result.peak_events[0]) == 10
    assert int(result.counts[0].sum()) == 10  # the raster keeps every spike
    with pytest.raises(Exception, match="event buffer overflow"):
        jax.block_until_ready(simulate_network(_synchronous(4), 30.0, 0.1))
    full = simulate_network(_synchronous(10), 30.0, 0.1, record={0: [0]})
    assert not bool(full.overflow[0])
    # Every neuron received 10 synapses of 1 nS in the same step.
    assert float(jnp.max(full.states[0][:, 0, 1])) == pytest.approx(10.0)


def _random_network(scale=1.0, seed=0):
    exc, inh = Population(jn.ConductanceLIF(), 40), Population(jn.ConductanceLIF(), 10)
    projections = [
        Projection(pre, post, fixed_probability(pops.n, post_pop.n, 0.2, w * scale,
                                                seed=seed + 10 * pre + post),
                   StateJump(target, delay=delay))
        for pre, pops, target, w, delay in ((0, exc, "g_e", 3.0, 0), (1, inh, "g_i", 20.0, 5))
        for post, post_pop in ((0, exc), (1, inh))
    ]
    inputs = [PoissonInput(p, 2000.0, 4.0) for p in (0, 1)]
    return Network([exc, inh], projections, inputs)


def _run(net, seed=1):
    return simulate_network(net, 50.0, 0.1, jax.random.key(seed), record={0: [0, 5]})


@pytest.mark.slow  # 30-40 s on 2 cores: keeps make test under 15 minutes
def test_vmap_over_networks_equals_a_loop():
    nets = [_random_network(scale) for scale in (0.5, 1.0, 1.5)]
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *nets)
    batched = jax.jit(jax.vmap(_run))(stacked)
    counts = []
    for i, net in enumerate(nets):
        single = _run(net)
        for p in (0, 1):
            np.testing.assert_array_equal(batched.spikes[p][i], single.spikes[p])
        np.testing.assert_allclose(batched.states[0][i], single.states[0], rtol=1e-12,
                                   atol=1e-12)
        counts.append(int(single.counts[0].sum()))
    assert counts[0] > 0 and len(set(counts)) > 1  # active, and the weights matter


def test_a_vmapped_batch_with_batched_cell_parameters_equals_separate_runs():
    # Every leaf stacked, as `Network`'s docstring suggests (initial states, gains and
    # the cells' parameters differ per network): the batch must equal one run per network.
    # The cells' parameters batched made the clamped-state factor a batched scatter, which
    # cost the COBA batch 1.5x (issue 19); this keeps that path covered and fast.
    rng = np.random.default_rng(3)
    n = 16  # one event path (max_events = small_events = 16): a short compile
    pre, post = np.nonzero(rng.random((n, n)) < 0.25)
    conn = from_edges(pre, post, rng.uniform(1.0, 3.0, pre.size), n, n)

    def network(b):
        cell = jn.ConductanceLIF(tau_e=4.0 + b, t_ref=2.0 + b)
        y0 = np.stack([rng.uniform(-65.0, -51.0, n), rng.uniform(0.0, 20.0, n),
                       np.zeros(n)], axis=1)
        return Network([Population(cell, n, y0=jnp.asarray(y0), max_events=n)],
                       [Projection(0, 0, conn, StateJump("g_e"), gain=0.8 + 0.2 * b)],
                       [CurrentInput(0, jnp.asarray(rng.uniform(180.0, 260.0, n)))])

    nets = [network(b) for b in range(3)]
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *nets)
    batched = jax.vmap(lambda m: simulate_network(m, 20.0, 0.1))(stacked)
    totals = []
    for b, net in enumerate(nets):
        single = simulate_network(net, 20.0, 0.1)
        np.testing.assert_array_equal(batched.spikes[0][b], single.spikes[0])
        np.testing.assert_allclose(batched.final[0][b], single.final[0], rtol=1e-12,
                                   atol=1e-12)
        totals.append(int(single.counts[0].sum()))
    assert min(totals) > n  # every network active: spikes cross the synapses


def test_spike_counts_are_the_sums_of_the_raster():
    # Counted from the packed raster in blocks of steps (never unpacked whole): 13 cells (not
    # a multiple of 8) over 1,001 steps (not a multiple of the block) must give the row and
    # column sums of the unpacked raster.
    n = 13
    net = Network([Population(jn.ConductanceLIF(), n, max_events=n)], [],
                  [CurrentInput(0, jnp.linspace(150.0, 400.0, n))])
    result = simulate_network(net, 100.1, 0.1)
    raster = np.asarray(result.raster(0))
    assert raster.shape == (1001, n) and raster.sum() > 5 * n
    np.testing.assert_array_equal(result.n_spikes[0], raster.sum(axis=0))
    np.testing.assert_array_equal(result.counts[0], raster.sum(axis=1))


def test_one_shared_weight_skips_the_weight_table_and_agrees_with_every_synapse():
    # Every synapse has the weight 2.5 nS, so the event path adds the shared weight without
    # reading the weight table. It must match the every-synapse (surrogate) path spike for
    # spike; a batch that mixes it with a network of unequal weights must take the path
    # that reads the table (the shared weight only where every network has one), and equal
    # separate runs.
    rng = np.random.default_rng(4)
    n = 16
    pre, post = np.nonzero(rng.random((n, n)) < 0.3)
    y0 = np.stack([rng.uniform(-65.0, -51.0, n), np.zeros(n), np.zeros(n)], axis=1)

    def network(weights):
        return Network([Population(jn.ConductanceLIF(), n, y0=jnp.asarray(y0), max_events=n)],
                       [Projection(0, 0, from_edges(pre, post, weights, n, n), StateJump("g_e"))],
                       [CurrentInput(0, jnp.asarray(rng.uniform(180.0, 260.0, n)))])

    shared = network(np.full(pre.size, 2.5))
    events = simulate_network(shared, 30.0, 0.1)
    every = simulate_network(shared, 30.0, 0.1, surrogate=jn.FastSigmoid(0.5))
    assert int(events.counts[0].sum()) > n
    np.testing.assert_array_equal(events.raster(0), every.raster(0))
    np.testing.assert_allclose(events.final[0], every.final[0], rtol=1e-10)
    unequal = network(np.where(np.arange(pre.size) % 3 == 0, 6.0, 2.5))
    unequal = eqx.tree_at(lambda m: m.inputs, unequal, shared.inputs)
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), shared, unequal)
    batched = jax.vmap(lambda m: simulate_network(m, 30.0, 0.1))(stacked)
    singles = [events, simulate_network(unequal, 30.0, 0.1)]
    assert not np.array_equal(singles[0].raster(0), singles[1].raster(0))
    for b, single in enumerate(singles):
        np.testing.assert_array_equal(batched.spikes[0][b], single.spikes[0])
        np.testing.assert_allclose(batched.final[0][b], single.final[0], rtol=1e-12)


@pytest.mark.slow  # long; keeps make test under 15 minutes
def test_runs_are_reproducible_from_the_key():
    net = _random_network()
    a, b = (_run(net, 7) for _ in range(2))
    c = _run(net, 8)
    np.testing.assert_array_equal(a.spikes[0], b.spikes[0])
    assert not np.array_equal(a.spikes[0], c.spikes[0])


def test_invalid_networks_raise_value_errors():
    pop = Population(jn.ConductanceLIF(), 5)
    with pytest.raises(ValueError, match="connectivity is"):
        Network([pop], [Projection(0, 0, fixed_probability(4, 5, 0.5, 1.0, seed=0))])
    with pytest.raises(ValueError, match="synapse target"):
        Network([pop], [Projection(0, 0, fixed_probability(5, 5, 0.5, 1.0, seed=0),
                                   StateJump("g_x"))])
    with pytest.raises(ValueError, match="key"):
        simulate_network(Network([pop], inputs=[PoissonInput(0, 10.0, 1.0)]), 10.0, 0.1)
    with pytest.raises(ValueError, match="same length|one length"):
        Population(jn.ConductanceLIF(C=jnp.ones(3) * 200.0, g_L=jnp.ones(4) * 10.0))


def test_coba_network_has_the_benchmark_structure():
    from jaxneuron.apps.networks.coba import coba_network

    net = coba_network(1000, seed=0)
    assert [p.n for p in net.populations] == [800, 200]
    for proj in net.projections:
        conn = proj.connectivity
        assert abs(conn.in_degrees().mean() / (0.02 * conn.n_pre) - 1) < 0.1
        assert set(np.unique(np.asarray(conn.weights))) == {6.0 if proj.pre == 0 else 67.0}
        assert proj.synapse.target == ("g_e" if proj.pre == 0 else "g_i")
    y0 = np.concatenate([np.asarray(p.y0) for p in net.populations])
    assert np.all(np.abs(y0.mean(axis=0) - [-65.0, 40.0, 200.0]) < [0.5, 1.5, 12.0])


def test_calibrate_finds_the_bias_current_of_an_analytic_lif_rate():
    # ConductanceLIF without synapses is an LIF: rate = 1 / (t_ref + tau ln((V_inf - V_reset)
    # / (V_inf - V_th))) with V_inf = E_L + I / g_L. Invert it for 40 Hz.
    from jaxneuron.apps.networks.tuning import calibrate

    cell = jn.ConductanceLIF()  # tau 20 ms, g_L 10 nS, E_L = V_reset = -60, V_th = -50, 5 ms

    def build(bias):
        return Network([Population(cell, 1)], [], [CurrentInput(0, bias)])

    target_hz = 40.0
    # solve 1/rate - t_ref = tau ln(x / (x - 10)) with x = I / g_L (mV)
    q = math.exp((1000.0 / target_hz - 5.0) / 20.0)
    expected = 10.0 * (10.0 * q / (q - 1.0))
    found = calibrate(build, lambda r, i: float(r.n_spikes[0][i][0]) / 2.0, 101.0, 400.0,
                      target_hz, t1=2000.0, dt=0.05, points=5, rounds=4)
    assert found["bracketed"]
    assert found["value"] == pytest.approx(expected, rel=0.01)
    assert found["metric"] == pytest.approx(target_hz, abs=1.0)


def test_a_jump_over_threshold_fires_at_the_next_step_instead_of_blowing_up():
    # pre fires under a strong current; its spike kicks post's v by 200 mV (delta synapse);
    # post must spike at the start of the next step and reset, not diverge above threshold
    from jaxneuron.network import StateJump

    cell = jn.Izhikevich.preset("RS")
    net = Network([Population(cell, 1), Population(cell, 1)],
                  [Projection(0, 1, from_edges([0], [0], 200.0, 1, 1), StateJump("v"))],
                  [CurrentInput(0, 15.0)])
    result = simulate_network(net, t1=100.0, dt=0.1)
    (t_pre, *_), _ = result.spike_times(0)
    (t_post, *_), _ = result.spike_times(1)
    assert bool(result.ok)
    assert t_post == pytest.approx(t_pre + 0.1)  # the step after the jump
    assert float(result.final[1][0, 0]) < 30.0


def test_gaussian_input_kicks_have_the_requested_mean_and_spread():
    from jaxneuron.network import GaussianInput

    source = GaussianInput(0, mean=1.5, std=2.0)
    draws = jax.vmap(lambda k: source.delta(k, 0.5, 1000))(
        jax.random.split(jax.random.key(0), 50))
    assert float(jnp.mean(draws)) == pytest.approx(1.5, abs=0.05)
    assert float(jnp.std(draws)) == pytest.approx(2.0, rel=0.02)
    with pytest.raises(ValueError, match="std must be >= 0"):
        GaussianInput(0, std=-1.0)


@pytest.mark.slow
def test_topology_examples_draw_with_activity(tmp_path):
    from jaxneuron.apps.networks.tuning import topology_examples
    from jaxneuron.plotting.neurons import topology_activity

    panels = topology_examples(t1=200.0)
    for xy, pre, post, rates in panels.values():
        n = xy.shape[0]
        assert rates.shape == (n,) and pre.shape == post.shape and pre.max() < n
        assert np.all(rates >= 0) and rates.mean() > 0
    ring_xy = next(iter(panels.values()))[0]
    np.testing.assert_allclose(np.hypot(ring_xy[:, 0], ring_xy[:, 1]), 1.0)
    assert topology_activity(panels, path=tmp_path / "t.png").stat().st_size > 0


# ---------------------------------------------------------------- event propagation


@pytest.mark.parametrize("n", [5, 97, 3200])
@pytest.mark.parametrize("size", [1, 20, 160])
def test_compaction_equals_numpy_nonzero(n, size):
    from jaxneuron.network.engine import compact

    rng = np.random.default_rng(n * 1000 + size)
    for density in (0.0, 0.002, 0.02, 0.3, 1.0):
        flags = rng.random(n) < density
        expected = np.full(size, n)
        found = np.flatnonzero(flags)[:size]
        expected[: found.size] = found
        np.testing.assert_array_equal(np.asarray(compact(jnp.asarray(flags), size)), expected)
    # Under vmap: rows of different counts, each its own first `size` indices.
    batch = rng.random((6, n)) < np.linspace(0.0, 0.5, 6)[:, None]
    out = np.asarray(jax.vmap(lambda f: compact(f, size))(jnp.asarray(batch)))
    for row, flags in zip(out, batch, strict=True):
        found = np.flatnonzero(flags)[:size]
        np.testing.assert_array_equal(row[: found.size], found)
        assert np.all(row[found.size:] == n)


def test_synapse_rows_hold_every_synapse_of_its_source_once():
    from jaxneuron.network.engine import SynapseRows

    conn = fixed_probability(120, 70, 0.1, 1.0, seed=2)
    conn = eqx.tree_at(lambda c: c.weights, conn,
                       jnp.asarray(np.random.default_rng(0).uniform(0.1, 1.0, conn.n_synapses)))
    rows = SynapseRows.build(conn, plastic=False)
    targets, weights = np.asarray(rows.targets), np.asarray(rows.weights)
    assert targets.shape == weights.shape == (121, conn.max_degree)
    dense = np.zeros((121, 71))
    np.add.at(dense, (np.repeat(np.arange(121), conn.max_degree), targets.ravel()),
              weights.ravel())
    np.testing.assert_allclose(dense[:120, :70], conn.to_dense(), rtol=1e-12)
    assert np.all(dense[120] == 0) and np.all(dense[:, 70] == 0)  # padding adds nothing
    plastic = SynapseRows.build(conn, plastic=True)
    np.testing.assert_array_equal(np.asarray(plastic.weight_table(conn.weights)), weights)


def _ei_network(n=200, drive=22.0, max_events=None):
    """A small COBA-like network: 80 % excitatory, four sparse projections, constant drive."""
    n_exc = int(0.8 * n)
    sizes = (n_exc, n - n_exc)
    rng = np.random.default_rng(5)
    pops = [Population(jn.ConductanceLIF(), m, max_events=max_events,
                       y0=jnp.stack([rng.uniform(-70.0, -50.0, m), jnp.zeros(m), jnp.zeros(m)],
                                    axis=1)) for m in sizes]
    projections = [Projection(pre, post, fixed_probability(sizes[pre], sizes[post], 0.1, w,
                                                           seed=10 * pre + post),
                              StateJump(target))
                   for pre, (target, w) in enumerate((("g_e", 3.0), ("g_i", 20.0)))
                   for post in range(2)]
    inputs = [CurrentInput(p, drive * 10.0) for p in range(2)]
    return Network(pops, projections, inputs)


@pytest.mark.slow  # 15-18 s of compiling
def test_shared_event_compaction_equals_every_synapse_propagation():
    # Two populations, each feeding two projections from one compaction per step: spike for
    # spike the same run as propagating through every synapse (segment sums, no buffer).
    net = _ei_network()
    events = simulate_network(net, 80.0, 0.1)
    every = simulate_network(net, 80.0, 0.1, surrogate=jn.FastSigmoid(0.5))
    assert int(events.counts[0].sum()) > 50 and int(events.counts[1].sum()) > 10
    for p in range(2):
        np.testing.assert_array_equal(events.raster(p), every.raster(p))
        np.testing.assert_allclose(events.final[p], every.final[p], rtol=1e-9, atol=1e-9)
    assert not any(bool(o) for o in events.overflow)


@pytest.mark.slow  # 15-18 s of compiling
def test_event_buffer_overflow_of_a_sparse_projection_is_flagged_and_raises():
    net = _ei_network(drive=40.0, max_events=2)  # every cell fires in the first steps
    result = simulate_network(net, 20.0, 0.1, throw=False)
    assert bool(result.overflow[0]) and int(result.peak_events[0]) > 2
    with pytest.raises(Exception, match="event buffer overflow"):
        jax.block_until_ready(simulate_network(net, 20.0, 0.1))


def test_a_network_with_checked_weights_runs_under_an_outer_jit():
    # The construction checks read concrete weights (Poisson weights, STDP bounds): inside
    # an outer jit they must not stage a reduction that float() then cannot read.
    from jaxneuron.network import STDP

    n = 10
    net = Network([Population(jn.ConductanceLIF(), n)],
                  [Projection(0, 0, fixed_probability(n, n, 0.3, 0.5, seed=1), StateJump("g_e"),
                              plasticity=STDP(A_plus=0.01, w_max=1.0))],
                  [PoissonInput(0, 400.0, 2.0, StateJump("g_e"))])

    def run(gain):
        net_g = eqx.tree_at(lambda m: m.projections[0].gain, net, gain)
        return simulate_network(net_g, 50.0, 0.1, jax.random.key(0)).n_spikes[0]

    eager = run(jnp.asarray(1.0))
    assert int(jnp.sum(eager)) > 0
    np.testing.assert_array_equal(jax.jit(run)(jnp.asarray(1.0)), eager)


class _ThresholdReadsConductance(jn.ConductanceLIF):
    """A conductance LIF that fires when V plus 0.1 mV per nS of g_e crosses threshold."""

    def spike_condition(self, y):
        return y[0] + 0.1 * y[1] - self.V_th


def test_jumps_into_a_conductance_that_the_threshold_reads_keep_the_kick_check():
    # a conductance jump cannot push V over threshold between steps, so the loop may drop
    # its per-step kick check; not when the spike condition reads that conductance
    from jaxneuron.network.engine import _may_kick
    from jaxneuron.network.synapses import StateJump

    assert not _may_kick(StateJump("g_e"), jn.ConductanceLIF())
    assert _may_kick(StateJump("g_e"), _ThresholdReadsConductance())
    assert not _may_kick(StateJump("g_i"), _ThresholdReadsConductance())
