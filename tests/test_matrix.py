"""Every model × engine × gradient mode × transform (issue 18), float64.

For each model of `helpers.MODELS` and engine of `helpers.ENGINES`:

- a pair that cannot work (a smooth model with a spiking engine, or the reverse) raises a
  ValueError naming the engines to use, under every transform and gradient mode;
- a pair that works runs under `jax.jit` (and does something: the expected spike count, or
  a voltage that moves), and under `jax.vmap` over two values of the case's parameter, each
  member equal to its own single run; and the derivative of a loss with respect to that
  parameter, taken in forward mode (`jax.jvp` with `engines.forward_mode(engine)`) or in
  reverse mode (`jax.grad` with the engine as is), matches a central finite difference of
  the same loss. Losses: voltage MSE against a reference trace (the run at 105 % of the
  parameter) for smooth models; spike-time MSE over the first k spikes (the unperturbed spikes
  plus 0.5 ms) for spiking models, with k the spike count, checked to be the same at
  p ± h so that the finite difference is meaningful.
"""

import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import ENGINES, MODELS, engine_to_use, supports

import jaxneuron as jn
from jaxneuron.engines import AbstractEngine, forward_mode
from jaxneuron.models import AbstractNeuron

MODES = ("forward", "reverse")
TRANSFORMS = ("jit", "vmap")
MAX_SPIKES = 16
FD_STEP = 1e-5  # central finite-difference step, relative to |p|
VMAP_FACTORS = (1.0, 1.02)  # the batch: the case's parameter and 2 % above it
# Relative tolerances of derivative vs finite difference (the FD error at FD_STEP is below
# 1e-6 relative for every case, truncation and the adaptive engines' noise at 1e-10 together).
RTOL_VOLTAGE, RTOL_SPIKES = 1e-4, 1e-3
GRADIENT_FLOOR = 1e-6  # |dL/dp| below 1e-6 |L / p| counts as zero

# Adaptive engines take 10-50 s per case on a 2-core CPU (compiling their loops for reverse
# mode or vmap), so only one smooth model with AdaptiveSteps and one spiking model with
# ExactSpiking (LIF: refractory period, gated) run by default, in every mode and transform.
DEFAULT_ADAPTIVE = {"AdaptiveSteps": "RestingMembrane", "ExactSpiking": "LIF"}


def _concrete(module, base):
    return {c for c in vars(module).values()
            if isinstance(c, type) and issubclass(c, base) and not inspect.isabstract(c)}


def test_the_matrix_covers_every_model_and_engine():
    built_in = {type(m.make()) for m in MODELS if type(m.make()).__module__.startswith(
        "jaxneuron.models")}
    assert built_in == _concrete(jn.models, AbstractNeuron)
    imported = [m for m in MODELS if isinstance(m.make(), jn.imports.model.ImportedNeuron)]
    assert imported  # the importer's models join the matrix
    assert {type(e.make()) for e in ENGINES} == _concrete(jn.engines, AbstractEngine)


def _is_slow(model_case, engine_case) -> bool:
    keep = DEFAULT_ADAPTIVE.get(engine_case.id)
    return keep is not None and model_case.id != keep


# `make test` runs every supported pair in two of the four combinations, which between them
# cover both gradient modes and both transforms (the adaptive engines: forward/jit only,
# their vmap variants take 25-30 s each); the rest run with `-m slow`.
DEFAULT_COMBINATIONS = {("forward", "jit"), ("reverse", "vmap")}


def _cases():
    for m in MODELS:
        for e in ENGINES:
            for mode in MODES:
                for transform in TRANSFORMS:
                    slow = supports(m, e) and (
                        _is_slow(m, e) or (mode, transform) not in DEFAULT_COMBINATIONS
                        or (e.id in DEFAULT_ADAPTIVE and transform == "vmap"))
                    yield pytest.param(m, e, mode, transform,
                                       id=f"{m.id}-{e.id}-{mode}-{transform}",
                                       marks=[pytest.mark.slow] if slow else [])


def _run(case, engine, p):
    return jn.simulate(case.with_value(p), case.stimulus, t1=case.t1, dt=case.dt, engine=engine,
                       max_spikes=MAX_SPIKES)


def _loss(case, trace, target, k):
    """Voltage MSE (smooth models) or MSE of the first `k` spike times (spiking models);
    `target` is V on the save grid or spike times `(MAX_SPIKES,)` (slots from k on unused).
    Unused slots are masked on both sides, so their NaNs reach neither value nor gradient."""
    if not case.spiking:
        return jnp.mean((trace.v - target) ** 2)
    used = jnp.arange(MAX_SPIKES) < k
    times = jnp.where(used, trace.spike_times, 0.0)
    return jnp.sum((times - jnp.where(used, target, 0.0)) ** 2) / k


def _derivative(case, engine, mode):
    """`f(p, target, k) -> (loss, dloss/dp, trace)` for one scalar `p`, in `mode`."""

    def objective(p, target, k):
        trace = _run(case, engine, p)
        return _loss(case, trace, target, k), trace

    if mode == "forward":
        def f(p, target, k):
            loss, slope, trace = jax.jvp(lambda q: objective(q, target, k), (p,),
                                         (jnp.ones_like(p),), has_aux=True)
            return loss, slope, trace
        return f

    def f(p, target, k):
        (loss, trace), grad = jax.value_and_grad(objective, has_aux=True)(p, target, k)
        return loss, grad, trace
    return f


@functools.cache
def _compiled(model_case, engine_case, mode, transform):
    """The jitted `f(ps, targets, ks) -> (losses, derivatives, traces)` over a batch (a
    leading axis of length 1 under "jit", 2 under "vmap"). Under "vmap", forward mode vmaps
    the jvp; reverse mode takes the gradient of the batch's summed loss."""
    engine = engine_case.make()
    engine = forward_mode(engine) if mode == "forward" else engine
    single = _derivative(model_case, engine, mode)
    if transform == "jit":
        def batch(ps, targets, ks):
            out = jax.jit(single)(ps[0], targets[0], ks[0])
            return jax.tree.map(lambda x: x[None], out)
        return batch
    if mode == "forward":
        return jax.jit(jax.vmap(single))

    def summed(ps, targets, ks):
        def one(p, target, k):
            trace = _run(model_case, engine, p)
            return _loss(model_case, trace, target, k), trace
        losses, traces = jax.vmap(one)(ps, targets, ks)
        return jnp.sum(losses), (losses, traces)

    @jax.jit
    def reverse(ps, targets, ks):
        (_, (losses, traces)), grads = jax.value_and_grad(summed, has_aux=True)(ps, targets,
                                                                               ks)
        return losses, grads, traces
    return reverse


@functools.cache
def _single_run(model_case, engine_case):
    return jax.jit(functools.partial(_run, model_case, engine_case.make()))


def _targets(case, f, ps):
    """Targets and spike counts for `f`'s loss at `ps`: for smooth models V at 105 % of the
    parameter (a target with an offset instead can make the gradient a small difference of
    large terms); for spiking models the spike times at `ps` plus 0.5 ms (NaN slots set to
    0; they are masked), and k their number."""
    batch = ps.shape[0]
    if case.spiking:
        _, _, traces = f(ps, jnp.zeros((batch, MAX_SPIKES)), jnp.ones(batch, jnp.int32))
        return jnp.nan_to_num(traces.spike_times + 0.5), traces.n_spikes
    n_save = round(case.t1 / case.dt) + 1
    _, _, traces = f(1.05 * ps, jnp.zeros((batch, n_save)), jnp.ones(batch, jnp.int32))
    return traces.v, jnp.ones(batch, jnp.int32)


@pytest.mark.parametrize(("model_case", "engine_case", "mode", "transform"), list(_cases()))
def test_gradient(model_case, engine_case, mode, transform):
    factors = VMAP_FACTORS if transform == "vmap" else VMAP_FACTORS[:1]
    ps = model_case.value * jnp.asarray(factors)
    if not supports(model_case, engine_case):
        f = _compiled(model_case, engine_case, mode, transform)
        dummy = jnp.zeros((len(factors), MAX_SPIKES))
        with pytest.raises(ValueError, match=engine_to_use(model_case)):
            f(ps, dummy, jnp.ones(len(factors), jnp.int32))
        return

    f = _compiled(model_case, engine_case, mode, transform)
    targets, ks = _targets(model_case, f, ps)
    losses, derivatives, traces = f(ps, targets, ks)

    # The run works and does something.
    assert np.all(np.asarray(traces.ok))
    low, high = model_case.spikes
    counts = np.asarray(traces.n_spikes)
    assert np.all((counts >= low) & (counts <= high)), counts
    if not model_case.spiking:
        assert np.all(np.ptp(np.asarray(traces.v), axis=-1) > 1.0)  # V moves by > 1 mV
    if transform == "vmap":  # each member equals its own single run
        run = _single_run(model_case, engine_case)
        for i, p in enumerate(ps):
            alone = run(p)
            assert int(alone.n_spikes) == counts[i]
            np.testing.assert_allclose(traces.v[i], alone.v, rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(traces.spike_times[i], alone.spike_times, rtol=1e-9,
                                       atol=1e-9)

    # The derivative matches a central finite difference of the same loss.
    hs = FD_STEP * jnp.abs(ps)
    plus, _, traces_plus = f(ps + hs, targets, ks)
    minus, _, traces_minus = f(ps - hs, targets, ks)
    if model_case.spiking:  # the first k spikes exist on both sides of p
        np.testing.assert_array_equal(traces_plus.n_spikes, counts)
        np.testing.assert_array_equal(traces_minus.n_spikes, counts)
    fd = (np.asarray(plus) - np.asarray(minus)) / (2 * np.asarray(hs))
    rtol = RTOL_SPIKES if model_case.spiking else RTOL_VOLTAGE
    floor = GRADIENT_FLOOR * np.abs(np.asarray(losses) / np.asarray(ps))
    np.testing.assert_allclose(np.asarray(derivatives), fd, rtol=rtol, atol=floor.max())
