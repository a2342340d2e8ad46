"""STDP: the measured weight change against the analytic exponential window, bounds, and
plasticity inside network simulations (batched and differentiated)."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron.network import (
    STDP,
    CurrentInput,
    Network,
    Population,
    Projection,
    from_edges,
    simulate_network,
)
from jaxneuron.network.plasticity import pairing_window

DT = 0.5
A_PLUS, A_MINUS, TAU_PLUS, TAU_MINUS = 0.01, 0.012, 16.8, 33.7  # Bi & Poo fit values


def _window(delta_t, w0, rule):
    """Analytic pair-based STDP window, Δw(Δt) for one pre/post pair."""
    span = 1.0
    if delta_t > 0:
        f = (1.0 - w0) / span if rule == "multiplicative" else 1.0
        return A_PLUS * f * math.exp(-delta_t / TAU_PLUS)
    f = w0 / span if rule == "multiplicative" else 1.0
    return -A_MINUS * f * math.exp(delta_t / TAU_MINUS)


def _rule(rule="additive"):
    return STDP(A_plus=A_PLUS, A_minus=A_MINUS, tau_plus=TAU_PLUS, tau_minus=TAU_MINUS,
                rule=rule)


@pytest.mark.parametrize("rule", ["additive", "multiplicative"])
def test_weight_change_over_a_grid_of_pairings_equals_the_exponential_window(rule):
    delta_t = np.arange(-60.0, 60.5, 2.0)
    delta_t = delta_t[delta_t != 0]
    w0 = 0.4
    measured = pairing_window(_rule(rule), delta_t, dt=DT, w0=w0)
    expected = [_window(d, w0, rule) for d in delta_t]
    np.testing.assert_allclose(np.asarray(measured), expected, rtol=1e-10, atol=1e-15)


def test_simultaneous_spikes_leave_the_weight_unchanged():
    assert float(pairing_window(_rule(), jnp.array([0.0]), dt=DT, w0=0.5)[0]) == 0.0


def test_additive_rule_clips_and_multiplicative_rule_approaches_the_bounds():
    pre_of = post_of = jnp.array([0])

    def run(rule):
        def body(carry, k):  # a pre -> post pair (0.5 ms apart) every 100 ms
            pre = jnp.where(k % 200 == 0, 1.0, 0.0)[None]
            post = jnp.where(k % 200 == 1, 1.0, 0.0)[None]
            return rule.step(*carry, pre_of, post_of, pre, post, DT), None

        carry = (rule.init(1, 1, jnp.float64), jnp.array([0.5]))
        return float(jax.lax.scan(body, carry, jnp.arange(6000))[0][1][0])

    assert run(STDP(A_plus=0.2, w_max=1.0)) == 1.0
    soft = run(STDP(A_plus=0.2, w_max=1.0, rule="multiplicative"))
    # 30 soft-bounded potentiations of ~0.195 (1 - w): 1 - w shrinks by ~0.8 each time
    assert 0.99 < soft < 1.0


def _pair_network(pre_time, post_time, w0=0.5, rule="additive"):
    """Two one-neuron LIF populations made to spike once each by brief strong pulses; a
    plastic pre -> post synapse of negligible strength."""
    cell = jn.ConductanceLIF(t_ref=2.0)
    pulse = dict(amplitude=20000.0, width=1.0, period=1e6)
    pops = [Population(cell, 1), Population(cell, 1)]
    inputs = [CurrentInput(0, stimulus=jn.PulseTrain(t_start=pre_time, **pulse)),
              CurrentInput(1, stimulus=jn.PulseTrain(t_start=post_time, **pulse))]
    proj = Projection(0, 1, from_edges([0], [0], w0, 1, 1), plasticity=_rule(rule), gain=1e-6)
    return Network(pops, [proj], inputs)


@pytest.mark.parametrize("post_time", [20.0, 35.0, 60.0, 90.0])
def test_network_stdp_matches_the_window_for_the_measured_spike_times(post_time):
    result = simulate_network(_pair_network(50.0, post_time), t1=200.0, dt=DT,
                              record_weights=[0], save_every=10.0)
    (t_pre,), _ = result.spike_times(0)
    (t_post,), _ = result.spike_times(1)
    delta_w = float(result.weights[0][0]) - 0.5
    assert delta_w == pytest.approx(_window(t_post - t_pre, 0.5, "additive"), rel=1e-9)
    history = np.asarray(result.weight_history[0])
    assert history.shape == (21, 1)
    assert history[0, 0] == 0.5 and history[-1, 0] == pytest.approx(0.5 + delta_w)


def test_plastic_networks_batch_under_vmap():
    nets = [_pair_network(50.0, t) for t in (40.0, 60.0)]
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *nets)
    batched = jax.vmap(lambda n: simulate_network(n, t1=120.0, dt=DT).weights[0])(stacked)
    for i, net in enumerate(nets):
        one = simulate_network(net, t1=120.0, dt=DT).weights[0]
        np.testing.assert_allclose(np.asarray(batched[i]), np.asarray(one), rtol=1e-12)


def test_weight_change_is_differentiable_with_respect_to_the_rule():
    def final_weight(a_plus):
        net = eqx.tree_at(lambda n: n.projections[0].plasticity.A_plus,
                          _pair_network(50.0, 60.0), a_plus)
        return simulate_network(net, t1=100.0, dt=DT).weights[0][0]

    grad = float(jax.grad(final_weight)(A_PLUS))
    result = simulate_network(_pair_network(50.0, 60.0), t1=100.0, dt=DT)
    (t_pre,), _ = result.spike_times(0)
    (t_post,), _ = result.spike_times(1)
    assert grad == pytest.approx(math.exp(-(t_post - t_pre) / TAU_PLUS), rel=1e-9)


def test_invalid_rules_are_value_errors():
    with pytest.raises(ValueError, match="rule must be one of"):
        STDP(rule="hebbian")
    with pytest.raises(ValueError, match="tau_plus must be > 0"):
        STDP(tau_plus=0.0)
    with pytest.raises(ValueError, match="w_max - w_min must be > 0"):
        STDP(w_min=1.0, w_max=1.0)
    with pytest.raises(ValueError, match="record_weights must list projection indices"):
        simulate_network(_pair_network(10.0, 20.0), t1=20.0, dt=DT, record_weights=[3])

