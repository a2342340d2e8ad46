"""Abstract neuron models: the contract every model in jaxneuron fulfils.

A model is an `equinox.Module` whose fields are its parameters. The engine
(`jaxneuron.simulate`) evaluates the stimulus at time `t` and passes the input
current as `args`, so models never know which protocol drives them.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float


class AbstractNeuron(eqx.Module):
    """A single neuron as a pure vector field $dy/dt = f(t, y, I(t))$.

    Concrete models set `state_names` (one label per entry of the state vector,
    the membrane potential first by convention) and implement the methods below.
    The state is a 1-D array of shape `(n_states,)`.
    """

    state_names: ClassVar[tuple[str, ...]]

    @abc.abstractmethod
    def initial_state(self) -> Float[Array, " n_states"]:
        """The state at rest (or the documented start), shape `(n_states,)`."""

    @abc.abstractmethod
    def vector_field(self, t, y: Float[Array, " n_states"], args) -> Float[Array, " n_states"]:
        """dy/dt at time `t` (ms) for state `y`, with `args` the input current at `t`."""

    @abc.abstractmethod
    def voltage(self, y: Float[Array, " n_states"]) -> Float[Array, ""]:
        """Membrane potential (mV) from a state."""


class AbstractGatedNeuron(AbstractNeuron):
    """A model in which every state relaxes exponentially towards a moving target:

    $dy_i/dt = r_i(t, y)\\,(y_{\\infty,i}(t, y) - y_i)$, with $r_i$ and $y_{\\infty,i}$
    independent of $y_i$ itself. Conductance-based models (Hodgkin–Huxley gates,
    and the voltage for fixed gates) have this form, which lets exponential
    (Rush–Larsen-type) solvers take steps far beyond the explicit stability limit.

    The first `n_voltages` states are membrane potentials; the rest are gates or other
    slow variables. Staggered solvers advance the two groups at interleaved times.
    Subclasses implement `exponential_split`; `vector_field` follows from it.
    """

    n_voltages: ClassVar[int] = 1

    @abc.abstractmethod
    def exponential_split(
        self, t, y: Float[Array, " n_states"], args
    ) -> tuple[Float[Array, " n_states"], Float[Array, " n_states"]]:
        """Return `(rate, target)`: relaxation rates (1/ms, > 0) and targets, each `(n_states,)`."""

    def vector_field(self, t, y, args):
        rate, target = self.exponential_split(t, y, args)
        return rate * (target - y)


class AbstractSpikingNeuron(AbstractNeuron):
    """A hybrid (threshold-and-reset) model: smooth dynamics between spikes, a reset map at
    each spike, and an optional refractory period during which some states are held.

    Concrete models implement `spike_condition` and `reset`, and may override
    `refractory_period` (ms, default 0) and `clamped_states` (indices of the states held
    fixed while refractory, default the membrane potential; the others keep evolving).
    `jaxneuron.simulate` runs them in clock-driven mode (fixed steps, surrogate gradients
    through the reset) or in exact event-driven mode (root-found, differentiable spike
    times).
    """

    clamped_states: ClassVar[tuple[int, ...]] = (0,)

    @abc.abstractmethod
    def spike_condition(self, y: Float[Array, " n_states"]) -> Float[Array, ""]:
        """A real function of the state that crosses zero upwards at a spike (e.g. V - V_th)."""

    @abc.abstractmethod
    def reset(self, y: Float[Array, " n_states"]) -> Float[Array, " n_states"]:
        """The state right after a spike, given the state at the spike time."""

    @property
    def refractory_period(self) -> Float[Array, ""]:
        """Absolute refractory period, ms (>= 0)."""
        return jnp.zeros(())
