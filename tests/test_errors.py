"""Bad input raises ValueError naming the argument; blow-ups are reported."""

import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuron as jn

HH, STEP = jn.HodgkinHuxley(), jn.StepCurrent(10.0)


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(t1=10.0, dt=-0.1), "dt"),
    (dict(t1=10.0, dt=0.0), "dt"),
    (dict(t1=0.0), "t1"),
    (dict(t1=5.0, t0=10.0), "t1"),
    (dict(t1=10.0, dt=0.3), "whole number"),
    (dict(t1=10.0, solver="rk99"), "solver"),
    (dict(t1=10.0, stepsize="sometimes"), "stepsize"),
    (dict(t1=10.0, save_every=0.0375), "save_every"),
    (dict(t1=10.0, max_spikes=0), "max_spikes"),
    (dict(t1=10.0, y0=jnp.zeros(3)), "initial state"),
    (dict(t1=10.0, rtol=-1.0), "rtol"),
    (dict(t1=10.0, solver="kvaerno5"), "adaptive"),
])
def test_simulate_rejects_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        jn.simulate(HH, STEP, **kwargs)


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(C_m=-1.0), "C_m"), (dict(C_m=0.0), "C_m"), (dict(g_Na=-5.0), "g_Na"),
    (dict(g_L=0.0), "g_L"), (dict(E_K=float("nan")), "E_K"),
])
def test_model_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        jn.HodgkinHuxley(**kwargs)


def test_batched_model_without_vmap_is_a_clear_error():
    with pytest.raises(ValueError, match="vmap"):
        jn.simulate(jn.HodgkinHuxley(g_Na=jnp.array([100.0, 120.0])), STEP, t1=10.0)


def test_wrong_types_are_value_errors():
    with pytest.raises(ValueError, match="model"):
        jn.simulate("HH", STEP, t1=10.0)
    with pytest.raises(ValueError, match="stimulus"):
        jn.simulate(HH, lambda t: 1.0, t1=10.0)


def test_exponential_solver_needs_a_gated_model():
    class Linear(jn.AbstractNeuron):
        state_names = ("V",)

        def initial_state(self):
            return jnp.zeros(1)

        def vector_field(self, t, y, args):
            return -y + args

        def voltage(self, y):
            return y[0]

    with pytest.raises(ValueError, match="exponential split"):
        jn.simulate(Linear(), STEP, t1=1.0, solver="staggered")
    # ... while the default solver for such a model works and is exact enough:
    trace = jn.simulate(Linear(), jn.StepCurrent(2.0), t1=5.0, save_every=0.025)
    np.testing.assert_allclose(trace.v, 2.0 * (1 - np.exp(-np.asarray(trace.ts))), atol=1e-9)


def test_blow_up_raises_by_default_and_is_flagged_with_throw_false():
    bad = jn.HodgkinHuxley(g_Na=5000.0)
    with pytest.raises(Exception, match="simulation failed"):
        jn.simulate(bad, STEP, t1=20.0, dt=0.1, solver="euler")
    trace = jn.simulate(bad, STEP, t1=20.0, dt=0.1, solver="euler", throw=False)
    assert not bool(trace.ok)
