"""Synapse models: how the summed weights of the spikes arriving at a neuron in one step
act on it.

The engine gathers, per step and per projection, the weights of the synapses of the
neurons that spiked, sums them per target (`delta`, shape `(n_post,)`), holds them for
`delay` steps, and hands them to the synapse's `deliver` at the end of the step in which
they arrive. A synapse may keep its own state (one value per target neuron) and add a
current to the target's input.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import check_int, check_positive, static_int
from .._fields import param
from ..models.base import AbstractSpikingNeuron


class AbstractSynapse(eqx.Module):
    """A synapse model. `delay` (keyword-only, static int >= 0, steps of `dt`): a spike in
    step `k` arrives at the end of step `k + delay` (0: at the end of its own step)."""

    delay: int = eqx.field(static=True, default=0, kw_only=True, converter=static_int)

    def check(self, post: AbstractSpikingNeuron) -> None:
        """Raise `ValueError` if the synapse cannot drive the model `post`."""
        check_int("delay (steps)", self.delay, 0)

    def conductance(self, post: AbstractSpikingNeuron) -> str | None:
        """The name of the conductance state of `post` that this synapse jumps (its weights
        must then be >= 0), or None if its weights may have either sign."""
        return None

    @abc.abstractmethod
    def init(self, n_post: int, dtype) -> Float[Array, " m"]:
        """The synapse's own state for `n_post` targets (shape `(0,)` if it keeps none)."""

    @abc.abstractmethod
    def current(self, state: Float[Array, ""], elapsed) -> Float[Array, ""]:
        """Input current to one target `elapsed` ms after the start of the step, given its
        state at the start (0 for synapses that act on the target's own state)."""

    @abc.abstractmethod
    def deliver(self, state, y_post: tuple[Float[Array, " n_post"], ...], delta, dt,
                post: AbstractSpikingNeuron):
        """Advance the synapse by one step of `dt` ms and add the arriving `delta`
        `(n_post,)`. `y_post` holds the target states as a tuple of columns, one `(n_post,)`
        array per state of `post` (in `post.state_names` order). **Returns:**
        `(state, y_post)`."""


class StateJump(AbstractSynapse):
    """Each arriving spike adds its weight to the state named `target` of the target cell:
    a conductance jump (nS into `"g_e"`/`"g_i"` of `ConductanceLIF`, whose exponential
    decay and reversal potential the cell model carries), or
    a delta synapse on the membrane potential (mV into `"v"` of `Izhikevich`). Keeps no
    state of its own.

    A target state that the model lists in `conductance_states()` (by default those whose
    names start with `g_`) is a conductance: a negative jump would make
    it negative (unphysical), so the `Network` rejects negative weights into it (inhibition
    is a positive weight into an inhibitory conductance such as `"g_i"`)."""

    target: str = eqx.field(static=True, default="g_e")

    def check(self, post):
        super().check(post)
        if self.target not in post.state_names:
            raise ValueError(f"synapse target must be a state of {type(post).__name__} "
                             f"{post.state_names}; got {self.target!r}")

    def conductance(self, post):
        return self.target if self.target in post.conductance_states() else None

    def init(self, n_post, dtype):
        return jnp.zeros((0,), dtype)

    def current(self, state, elapsed):
        return jnp.zeros(())

    def deliver(self, state, y_post, delta, dt, post):
        index = post.state_names.index(self.target)
        columns = list(y_post)
        columns[index] = columns[index] + delta
        return state, tuple(columns)


class ExponentialCurrent(AbstractSynapse):
    """Exponential current synapse: $\\tau I' = -I$, each arriving spike adds its weight
    (in the target model's current unit, e.g. pA) to $I$, and $I$ is added to the
    target's input current. The decay is exact, also inside a step."""

    tau: Float[Array, ""] = param(5.0)

    def __check_init__(self):
        check_positive("tau", self.tau)

    def init(self, n_post, dtype):
        return jnp.zeros((n_post,), dtype)

    def current(self, state, elapsed):
        return state * jnp.exp(-elapsed / self.tau)

    def deliver(self, state, y_post, delta, dt, post):
        return state * jnp.exp(-dt / self.tau) + delta, y_post
