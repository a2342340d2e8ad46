"""Diffrax terms of a neuron model under a stimulus.

The stimulus is evaluated at `t` and passed to the model's vector field as `args`, so
models never know which protocol drives them. Vector fields here also forward the
model's exponential `split`, which the exponential solvers use.
"""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp

from ..models.base import AbstractNeuron, AbstractSpikingNeuron
from ..stimuli import AbstractStimulus


class NeuronVectorField(eqx.Module):
    """$f(t, y) = $ `model.vector_field(t, y, stimulus(t))`."""

    model: AbstractNeuron
    stimulus: AbstractStimulus

    def __call__(self, t, y, args):
        return self.model.vector_field(t, y, self.stimulus(t))

    def split(self, t, y, args=None):
        """`(rate, target)` of a gated model at `(t, y)`; see `AbstractGatedNeuron`."""
        return self.model.exponential_split(t, y, self.stimulus(t))


def neuron_term(model: AbstractNeuron, stimulus: AbstractStimulus) -> diffrax.ODETerm:
    """The Diffrax ODE term of `model` driven by `stimulus` (usable with every Diffrax
    solver)."""
    return diffrax.ODETerm(NeuronVectorField(model, stimulus))


class SpikingVectorField(eqx.Module):
    """The vector field of a spiking model under a stimulus, with the model's
    `clamped_states` slowed or held by `args`.

    Exact mode (`clock=False`): `args` is the time (ms) at which the refractory period ends;
    before it the clamped states are held. Clock mode (`clock=True`): `args` is the free
    fraction of the step for the clamped states (0 = held all step, 1 = free, up to 2 in
    the step after a reset, to catch up the part of the previous step after the crossing).
    `stimulus` is anything callable as `stimulus(t)` -> input current.
    """

    model: AbstractSpikingNeuron
    stimulus: eqx.Module
    clock: bool = eqx.field(static=True, default=False)

    def _free(self, t, y, args):
        held = set(self.model.clamped_states)
        factor = jnp.asarray(args if self.clock else jnp.where(t < args, 0.0, 1.0), y.dtype)
        one = jnp.ones((), y.dtype)
        # Stacked from the static indices (a scatter into a vector of ones would be a
        # dynamic-update-slice per step, and under vmap one more fused loop)
        return jnp.stack([factor if i in held else one
                          for i in range(len(self.model.state_names))])

    def __call__(self, t, y, args):
        return self.model.vector_field(t, y, self.stimulus(t)) * self._free(t, y, args)

    def split(self, t, y, args):
        """`(rate, target)` for exponential solvers; held states get rate 0."""
        rate, target = self.model.exponential_split(t, y, self.stimulus(t))
        return rate * self._free(t, y, args), target


class LocalTimeVectorField(eqx.Module):
    """`inner` evaluated at `t_start + t`: fixed-step loops step their solver over the
    static interval `[0, dt]` with it, instead of `[t, t + dt]` with a traced `t`.

    The step size is then exactly `dt`: `(t + dt) - t` in float32 is off by up to 4 % of
    a 0.025-ms step at t = 10 s, which cost a float32 relaxation 0.03 mV (now 6e-5 mV; see
    tests/test_float32_time.py). A constant step size also lets XLA fold more of the step
    (the COBA cells' `euler` update: 0.83 -> 0.51 s per simulated second). Forwards `split`
    and `model`, which the exponential solvers use.
    """

    inner: eqx.Module
    t_start: jax.Array

    def __call__(self, t, y, args):
        return self.inner(self.t_start + t, y, args)

    def split(self, t, y, args=None):
        return self.inner.split(self.t_start + t, y, args)

    @property
    def model(self):
        return self.inner.model


def local_time_term(term: diffrax.ODETerm, t_start) -> diffrax.ODETerm:
    """`term` on local time: step it over `[0, dt]` for the global `[t_start, t_start + dt]`
    (see `LocalTimeVectorField`)."""
    return diffrax.ODETerm(LocalTimeVectorField(term.vector_field, t_start))


class StepInput(eqx.Module):
    """The input of one fixed step `[t, t + dt]`: where the stimulus jumps inside the step
    (or at its end), its mean over the step, so the step receives exactly the charge the
    stimulus delivers (a pulse shorter than the step included); elsewhere the stimulus
    itself, sampled at the solver's stages."""

    stimulus: AbstractStimulus
    jumps: jax.Array  # bool: whether the current jumps in (t, t + dt]
    mean: jax.Array

    def __call__(self, t):
        return jnp.where(self.jumps, self.mean, self.stimulus(t))


class ConstantInput(eqx.Module):
    """A current that is constant over one fixed step (`AbstractStimulus.step_mean`)."""

    mean: jax.Array

    def __call__(self, t):
        return self.mean


def step_input(stimulus: AbstractStimulus, t, dt: float):
    """`stimulus` as the input of the fixed step `[t, t + dt]`: its exact mean over the step
    for stimuli constant between jumps (`step_mean`), the mean where it jumps inside the
    step for those with an `integral` (`StepInput`), else the stimulus itself."""
    mean = stimulus.step_mean(t, dt)
    if mean is not None:
        return ConstantInput(mean)
    charge = stimulus.integral(t, t + dt)
    if charge is None:
        return stimulus
    jumps = stimulus.next_jump(t) <= t + dt
    return StepInput(stimulus, jumps, charge / dt)


def input_events(stimulus: AbstractStimulus, y0):
    """The stimulus's input events `(times, jumps)` checked against the state size; empty
    arrays when it has none. Shapes `(k,)` and `(k, n_states)`."""
    events = stimulus.events()
    if events is None:
        return jnp.zeros((0,), y0.dtype), jnp.zeros((0, y0.shape[0]), y0.dtype)
    times, jumps = events
    if jumps.shape[-1] != y0.shape[0]:
        raise ValueError(f"stimulus events have jumps for {jumps.shape[-1]} states; the model "
                         f"has {y0.shape[0]}")
    return times, jumps
