"""Forward- and reverse-mode gradients through the solver."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron.apps.benchmarking import loop_kernels
from jaxneuron.gradients import value_and_grad

PARAMS = ["C_m", "g_Na", "g_K", "g_L", "E_Na", "E_K", "E_L"]


def _quadratic(x):
    return jnp.sum(x["a"] ** 2) + 3.0 * x["b"] * x["a"][0]


@pytest.mark.parametrize("mode", ["auto", "forward", "reverse"])
def test_value_and_grad_matches_analytic_gradient_on_a_pytree(mode):
    x = {"a": jnp.array([1.0, -2.0]), "b": jnp.asarray(0.5)}
    value, grad = jax.jit(value_and_grad(_quadratic, mode))(x)
    assert float(value) == pytest.approx(1.0 + 4.0 + 1.5)
    np.testing.assert_allclose(grad["a"], [2.0 + 1.5, -4.0])
    assert float(grad["b"]) == pytest.approx(3.0)


@pytest.mark.slow
def test_forward_and_reverse_mode_agree_through_the_hh_solver():
    stim = jn.StepCurrent(10.0, 2.0)
    target = jn.simulate(jn.HodgkinHuxley(), stim, t1=30.0, dt=0.025, save_every=0.1).v + 1.0
    start = {k: float(getattr(jn.HodgkinHuxley(), k)) * 1.05 for k in PARAMS}

    def loss(p):
        trace = jn.simulate(jn.HodgkinHuxley(**p), stim, t1=30.0, dt=0.025, save_every=0.1)
        return jnp.mean((trace.v - target) ** 2)

    v_fwd, g_fwd = jax.jit(value_and_grad(loss, "forward"))(start)
    v_rev, g_rev = jax.jit(value_and_grad(loss, "reverse"))(start)
    assert float(v_fwd) == pytest.approx(float(v_rev), rel=1e-12)
    for k in PARAMS:
        assert float(g_fwd[k]) == pytest.approx(float(g_rev[k]), rel=1e-8), k


def test_unknown_gradient_mode_is_a_value_error():
    with pytest.raises(ValueError, match="gradient mode"):
        value_and_grad(_quadratic, "sideways")


def test_unstack_returns_the_entries_and_transposes_to_one_concatenate():
    from jaxneuron._arrays import unstack

    y = jnp.array([1.0, -2.0, 4.0])
    assert [float(e) for e in unstack(y)] == [1.0, -2.0, 4.0]
    assert unstack(jnp.zeros((0,))) == ()
    assert [e.shape for e in unstack(jnp.ones((2, 5)))] == [(5,), (5,)]

    def weighted(z):
        a, b, c = unstack(z)
        return 3.0 * a - b + 0.5 * c * c

    np.testing.assert_allclose(jax.grad(weighted)(y), [3.0, -1.0, 4.0])
    # Entry-by-entry indexing would transpose to one zero-padded copy of y per entry.
    vjp_jaxpr = str(jax.make_jaxpr(lambda z: jax.vjp(weighted, z)[1](1.0))(y))
    assert " pad" not in vjp_jaxpr and "concatenate" in vjp_jaxpr


@pytest.mark.slow
def test_reverse_mode_hh_gradient_matches_central_differences_in_a_lean_loop():
    # The fixed-step loop checkpoints each step and unstacks states with one split: the
    # compiled reverse-mode loops then run about 85 kernels per step here (209 when every
    # state entry's cotangent was a zero-padded copy of the state, without checkpoints).
    stim = jn.StepCurrent(10.0, 1.0)
    target = jn.simulate(jn.HodgkinHuxley(), stim, t1=10.0, dt=0.025, save_every=0.1).v + 1.0
    names = ("g_Na", "g_K", "E_L")

    def loss(x):
        model = jn.HodgkinHuxley(**dict(zip(names, x, strict=True)))
        trace = jn.simulate(model, stim, t1=10.0, dt=0.025, save_every=0.1)
        return jnp.mean((trace.v - target) ** 2)

    x = jnp.array([126.0, 34.0, -54.0])
    grad = jax.jit(jax.grad(loss))
    h = 1e-5 * jnp.abs(x)
    steps = jnp.diag(h)
    central = (jax.vmap(jax.jit(loss))(x + steps) - jax.vmap(jax.jit(loss))(x - steps)) / (2 * h)
    np.testing.assert_allclose(grad(x), central, rtol=1e-6)
    assert loop_kernels(jax.vmap(grad), jnp.stack([x, x]))["per_step"] < 130


def test_reverse_by_forward_mode_differentiates_what_reverse_mode_cannot():
    """A `lax.while_loop` has no reverse-mode derivative; `reverse_by(f, "forward")` gives
    `jax.grad` one by forward mode, equal to the analytic derivative."""
    from jaxneuron.gradients import reverse_by

    def f(x):  # x["a"] * x["b"]**2, squared by 3 loop passes of y -> y (no-op) + work
        def body(carry):
            i, y = carry
            return i + 1, y * 1.0
        _, y = jax.lax.while_loop(lambda c: c[0] < 3, body, (0, x["a"] * x["b"] ** 2))
        return y

    x = {"a": jnp.asarray(1.5), "b": jnp.asarray(-2.0)}
    with pytest.raises(ValueError, match="Reverse-mode differentiation does not work"):
        jax.grad(f)(x)
    value, grad = jax.value_and_grad(reverse_by(f, "forward"))(x)
    assert float(value) == pytest.approx(1.5 * 4.0)
    assert float(grad["a"]) == pytest.approx(4.0) and float(grad["b"]) == pytest.approx(-6.0)
    batched = jax.vmap(jax.grad(reverse_by(f, "forward")))(
        {"a": jnp.array([1.0, 2.0]), "b": jnp.array([3.0, 1.0])})
    np.testing.assert_allclose(batched["b"], [6.0, 4.0])
