"""Surrogate networks (Equinox) and `Surrogate`, which runs one over a trajectory.

Every network is a one-step map in standardised units: from a carry (the recurrent state;
empty for the MLP) and the features of step k, `[z(y_k), z(I_k), z(I_{k+1})]`, it returns
the new carry and the standardised change of the state, so
$y_{k+1} = y_k + \\delta_{mean} + \\delta_{std} \\cdot out$. `Surrogate.rollout` feeds its own
predictions back (free running); `Surrogate.one_step` feeds the true states (teacher
forcing). Networks act on one step; `jax.vmap` batches runs.
"""

from __future__ import annotations

import abc
import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .data import Standardizer

ARCHITECTURES = ("mlp", "lstm", "gru")


class AbstractSurrogateNet(eqx.Module):
    """A one-step map `(carry, features) -> (carry, standardised state change)`."""

    @abc.abstractmethod
    def init_carry(self):
        """The carry at the start of a run."""

    @abc.abstractmethod
    def step(self, carry, features: Float[Array, " n_features"]):
        """One step: `features` `(n_states + 2 n_inputs,)` -> `(carry, out (n_states,))`."""


class MLPSurrogate(AbstractSurrogateNet):
    """Next state from the current state and input only (no memory)."""

    mlp: eqx.nn.MLP

    def __init__(self, n_features: int, n_out: int, hidden_size: int = 64, depth: int = 2, *,
                 key: PRNGKeyArray):
        self.mlp = eqx.nn.MLP(n_features, n_out, hidden_size, depth, activation=jax.nn.gelu,
                              key=key)

    def init_carry(self):
        return jnp.zeros((0,))

    def step(self, carry, features):
        return carry, self.mlp(features)


class LSTMSurrogate(AbstractSurrogateNet):
    """An LSTM cell with a linear read-out of the state change."""

    cell: eqx.nn.LSTMCell
    head: eqx.nn.Linear
    hidden_size: int = eqx.field(static=True)

    def __init__(self, n_features: int, n_out: int, hidden_size: int = 64, *,
                 key: PRNGKeyArray):
        k1, k2 = jax.random.split(key)
        self.cell = eqx.nn.LSTMCell(n_features, hidden_size, key=k1)
        self.head = eqx.nn.Linear(hidden_size, n_out, key=k2)
        self.hidden_size = hidden_size

    def init_carry(self):
        zeros = jnp.zeros((self.hidden_size,), self.head.weight.dtype)
        return (zeros, zeros)

    def step(self, carry, features):
        carry = self.cell(features, carry)
        return carry, self.head(carry[0])


class GRUSurrogate(AbstractSurrogateNet):
    """A GRU cell with a linear read-out of the state change."""

    cell: eqx.nn.GRUCell
    head: eqx.nn.Linear
    hidden_size: int = eqx.field(static=True)

    def __init__(self, n_features: int, n_out: int, hidden_size: int = 64, *,
                 key: PRNGKeyArray):
        k1, k2 = jax.random.split(key)
        self.cell = eqx.nn.GRUCell(n_features, hidden_size, key=k1)
        self.head = eqx.nn.Linear(hidden_size, n_out, key=k2)
        self.hidden_size = hidden_size

    def init_carry(self):
        return jnp.zeros((self.hidden_size,), self.head.weight.dtype)

    def step(self, carry, features):
        carry = self.cell(features, carry)
        return carry, self.head(carry)


@dataclasses.dataclass(frozen=True)
class NetConfig:
    """What `make_net` builds: `arch` in `ARCHITECTURES`, `n_states` and `n_inputs` of the
    data, `hidden_size`, and `depth` (hidden layers of the MLP)."""

    arch: str
    n_states: int
    n_inputs: int = 1
    hidden_size: int = 64
    depth: int = 2

    def __post_init__(self):
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"arch must be one of {ARCHITECTURES}; got {self.arch!r}")
        for name in ("n_states", "n_inputs", "hidden_size", "depth"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int; got {value!r}")

    @property
    def n_features(self) -> int:
        return self.n_states + 2 * self.n_inputs


def make_net(config: NetConfig, *, key: PRNGKeyArray) -> AbstractSurrogateNet:
    """A freshly initialised network for `config`."""
    n_in, n_out, h = config.n_features, config.n_states, config.hidden_size
    if config.arch == "mlp":
        return MLPSurrogate(n_in, n_out, h, config.depth, key=key)
    if config.arch == "lstm":
        return LSTMSurrogate(n_in, n_out, h, key=key)
    return GRUSurrogate(n_in, n_out, h, key=key)


class Surrogate(eqx.Module):
    """A trained network with the `Standardizer` of its training data: maps physical
    states and currents to physical predictions.

    **Fields:** `net` (an `AbstractSurrogateNet`), `scaler` (a `Standardizer`), and
    optionally `bounds` `(2, n_states)`: lowest and highest value of each state; every
    predicted state is clipped into them (keeps free-running rollouts of spiking targets
    inside the range the network was trained on).
    """

    net: AbstractSurrogateNet
    scaler: Standardizer
    bounds: Float[Array, "2 n_states"] | None = None

    def _step_inputs(self, currents):
        u = (currents - self.scaler.input_mean) / self.scaler.input_std
        return jnp.concatenate([u[:-1], u[1:]], axis=-1)

    def _advance(self, carry, y, u):
        s = self.scaler
        features = jnp.concatenate([(y - s.state_mean) / s.state_std, u])
        carry, out = self.net.step(carry, features)
        y1 = y + s.delta_mean + s.delta_std * out
        if self.bounds is not None:
            y1 = jnp.clip(y1, self.bounds[0], self.bounds[1])
        return carry, y1

    def rollout(self, y0: Float[Array, " n_states"],
                currents: Float[Array, "n_t n_inputs"]) -> Float[Array, "n_t n_states"]:
        """Free-running prediction from `y0` under `currents` (one row per save time); row
        0 is `y0`, row k+1 is predicted from the surrogate's own row k."""
        def body(state, u):
            carry, y = state
            carry, y1 = self._advance(carry, y, u)
            return (carry, y1), y1

        _, ys = jax.lax.scan(body, (self.net.init_carry(), y0), self._step_inputs(currents))
        return jnp.concatenate([y0[None], ys])

    def one_step(self, states: Float[Array, "n_t n_states"],
                 currents: Float[Array, "n_t n_inputs"]) -> Float[Array, "n_t n_states"]:
        """Teacher-forced prediction: row k+1 is predicted from the true rows 0..k (the
        recurrent carry also sees only true states); row 0 is the true initial state."""
        def body(carry, x):
            y, u = x
            return self._advance(carry, y, u)

        _, ys = jax.lax.scan(body, self.net.init_carry(),
                             (states[:-1], self._step_inputs(currents)))
        return jnp.concatenate([states[:1], ys])
