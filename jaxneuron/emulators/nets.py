"""Emulator networks (Equinox) and `Emulator`, which runs one over a trajectory.

Every network is a one-step map in standardised units: from a carry (the recurrent state;
empty for the MLP) and the features of step k, `[z(y_k), z(I_k), z(I_{k+1})]`, it returns
the new carry and the standardised change of the state, so
$y_{k+1} = y_k + \\delta_{mean} + \\delta_{std} \\cdot out$ (the neural ODE returns the
change of $z(y)$ instead: $y_{k+1} = y_k + \\sigma_y \\cdot out$). `Emulator.rollout` feeds
its own predictions back (free running); `Emulator.one_step` feeds the true states
(teacher forcing). Networks act on one step; `jax.vmap` batches runs.

Spiking targets are discontinuous across a save step that holds a spike and its reset;
`GatedMLPEmulator` learns that switch explicitly (a spike classifier per neuron whose
hard decision is an input of the state map), which a plain MLP can only smear.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .._checks import check_int
from .data import Standardizer

ARCHITECTURES = ("mlp", "lstm", "gru", "gated_mlp", "node")
"""The `arch` names `make_net` and `NetConfig` accept."""


class AbstractEmulatorNet(eqx.Module):
    """A one-step map `(carry, features) -> (carry, standardised state change)`.

    `predicts` says how `out` is scaled: `"delta"` (units of the one-step change,
    `Standardizer.delta_*`) or `"state_change"` (the change of the standardised state).
    """

    predicts: ClassVar[str] = "delta"

    @abc.abstractmethod
    def init_carry(self):
        """The carry at the start of a run."""

    @abc.abstractmethod
    def step(self, carry, features: Float[Array, " n_features"]):
        """One step: `features` `(n_states + 2 n_inputs,)` -> `(carry, out (n_states,))`."""


class MLPEmulator(AbstractEmulatorNet):
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


class LSTMEmulator(AbstractEmulatorNet):
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


class GRUEmulator(AbstractEmulatorNet):
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


class GatedMLPEmulator(AbstractEmulatorNet):
    """A spike-gated MLP for threshold-and-reset targets.

    `gate` maps the features to one logit per neuron: "this neuron spikes (and resets)
    within the step". `flow` maps the features plus those spike flags (0/1) to the state
    change, so the jump of a reset, and a synaptic kick to the neurons it projects to, are
    switched by the flag instead of being smoothed over by one continuous map. Free
    running (`step`) uses the gate's hard decision (logit > 0); training feeds the true
    flags to `flow` and fits `gate` by cross-entropy (`step_with`).
    """

    gate: eqx.nn.MLP
    flow: eqx.nn.MLP

    def __init__(self, n_features: int, n_out: int, n_gates: int, hidden_size: int = 128,
                 depth: int = 2, *, key: PRNGKeyArray):
        k1, k2 = jax.random.split(key)
        self.gate = eqx.nn.MLP(n_features, n_gates, hidden_size, depth,
                               activation=jax.nn.gelu, key=k1)
        self.flow = eqx.nn.MLP(n_features + n_gates, n_out, hidden_size, depth,
                               activation=jax.nn.gelu, key=k2)

    def init_carry(self):
        return jnp.zeros((0,))

    def step_with(self, features, flags):
        """`(logits (n_gates,), out (n_states,))` with the given spike `flags` (0/1)."""
        logits = self.gate(features)
        return logits, self.flow(jnp.concatenate([features, flags.astype(features.dtype)]))

    def step(self, carry, features):
        flags = jax.lax.stop_gradient(self.gate(features) > 0)
        return carry, self.step_with(features, flags)[1]


class NeuralODEEmulator(AbstractEmulatorNet):
    """A neural ODE: an MLP vector field of the standardised state and input, integrated
    with Diffrax (Tsit5, `n_substeps` fixed steps) across one save step, in the step's
    own time s in [0, 1], with the input interpolated linearly between its two ends (as
    the solver saw it). `out` is the change of the standardised state. Smooth targets
    only: a vector field cannot jump, so it cannot learn a spike's reset.
    """

    predicts: ClassVar[str] = "state_change"
    field: eqx.nn.MLP
    n_states: int = eqx.field(static=True)
    n_substeps: int = eqx.field(static=True)

    def __init__(self, n_features: int, n_out: int, hidden_size: int = 64, depth: int = 2,
                 n_substeps: int = 2, *, key: PRNGKeyArray):
        n_inputs = (n_features - n_out) // 2
        self.field = eqx.nn.MLP(n_out + n_inputs, n_out, hidden_size, depth,
                                activation=jax.nn.softplus, key=key)
        self.n_states = n_out
        self.n_substeps = n_substeps

    def init_carry(self):
        return jnp.zeros((0,))

    def step(self, carry, features):
        z0 = features[:self.n_states]
        u0, u1 = jnp.split(features[self.n_states:], 2)

        def vector_field(s, z, _):
            return self.field(jnp.concatenate([z, u0 + s * (u1 - u0)]))

        solution = diffrax.diffeqsolve(
            diffrax.ODETerm(vector_field), diffrax.Tsit5(), t0=0.0, t1=1.0,
            dt0=1.0 / self.n_substeps, y0=z0, saveat=diffrax.SaveAt(t1=True),
            stepsize_controller=diffrax.ConstantStepSize(), max_steps=self.n_substeps)
        return carry, solution.ys[0] - z0


@dataclasses.dataclass(frozen=True)
class NetConfig:
    """What `make_net` builds: `arch` in `ARCHITECTURES`, `n_states` and `n_inputs` of the
    data, `hidden_size`, `depth` (hidden layers of the MLPs), `n_gates` (spike gates of
    `"gated_mlp"`: one per neuron) and `n_substeps` (solver steps per save step of
    `"node"`)."""

    arch: str
    n_states: int
    n_inputs: int = 1
    hidden_size: int = 64
    depth: int = 2
    n_gates: int = 1
    n_substeps: int = 2

    def __post_init__(self):
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"arch must be one of {ARCHITECTURES}; got {self.arch!r}")
        for name in ("n_states", "n_inputs", "hidden_size", "depth", "n_gates",
                     "n_substeps"):  # NumPy integers stored as ints (saved as JSON)
            object.__setattr__(self, name, check_int(name, getattr(self, name), 1))

    @property
    def n_features(self) -> int:
        """Width of the network's input per step: `n_states + 2 * n_inputs` (the state
        and the input current at the start and end of the step)."""
        return self.n_states + 2 * self.n_inputs


def make_net(config: NetConfig, *, key: PRNGKeyArray) -> AbstractEmulatorNet:
    """A freshly initialised network for `config`."""
    n_in, n_out, h = config.n_features, config.n_states, config.hidden_size
    if config.arch == "mlp":
        return MLPEmulator(n_in, n_out, h, config.depth, key=key)
    if config.arch == "lstm":
        return LSTMEmulator(n_in, n_out, h, key=key)
    if config.arch == "gated_mlp":
        return GatedMLPEmulator(n_in, n_out, config.n_gates, h, config.depth, key=key)
    if config.arch == "node":
        return NeuralODEEmulator(n_in, n_out, h, config.depth, config.n_substeps, key=key)
    return GRUEmulator(n_in, n_out, h, key=key)


class Emulator(eqx.Module):
    """A trained network with the `Standardizer` of its training data: maps physical
    states and currents to physical predictions.

    **Fields:** `net` (an `AbstractEmulatorNet`), `scaler` (a `Standardizer`), and
    optionally `bounds` `(2, n_states)`: lowest and highest value of each state; every
    predicted state is clipped into them (keeps free-running rollouts of spiking targets
    inside the range the network was trained on).
    """

    net: AbstractEmulatorNet
    scaler: Standardizer
    bounds: Float[Array, "2 n_states"] | None = None

    def step_inputs(self, currents):
        """Standardised inputs of every step, `[z(I_k), z(I_{k+1})]`: `(n_t - 1, 2 n_inputs)`."""
        u = (currents - self.scaler.input_mean) / self.scaler.input_std
        return jnp.concatenate([u[:-1], u[1:]], axis=-1)

    def features(self, y, u):
        """The network's input for one step: `[z(y), u]`, `u` from `step_inputs`."""
        s = self.scaler
        return jnp.concatenate([(y - s.state_mean) / s.state_std, u])

    def next_state(self, y, out):
        """The state after one step from `y`, given the network's output `out`."""
        s = self.scaler
        if self.net.predicts == "state_change":
            y1 = y + s.state_std * out
        else:
            y1 = y + s.delta_mean + s.delta_std * out
        if self.bounds is not None:
            y1 = jnp.clip(y1, self.bounds[0], self.bounds[1])
        return y1

    def _advance(self, carry, y, u):
        carry, out = self.net.step(carry, self.features(y, u))
        return carry, self.next_state(y, out)

    def rollout(self, y0: Float[Array, " n_states"],
                currents: Float[Array, "n_t n_inputs"]) -> Float[Array, "n_t n_states"]:
        """Free-running prediction from `y0` under `currents` (one row per save time); row
        0 is `y0`, row k+1 is predicted from the emulator's own row k."""
        def body(state, u):
            carry, y = state
            carry, y1 = self._advance(carry, y, u)
            return (carry, y1), y1

        _, ys = jax.lax.scan(body, (self.net.init_carry(), y0), self.step_inputs(currents))
        return jnp.concatenate([y0[None], ys])

    def one_step(self, states: Float[Array, "n_t n_states"],
                 currents: Float[Array, "n_t n_inputs"]) -> Float[Array, "n_t n_states"]:
        """Teacher-forced prediction: row k+1 is predicted from the true rows 0..k (the
        recurrent carry also sees only true states); row 0 is the true initial state."""
        def body(carry, x):
            y, u = x
            return self._advance(carry, y, u)

        _, ys = jax.lax.scan(body, self.net.init_carry(),
                             (states[:-1], self.step_inputs(currents)))
        return jnp.concatenate([states[:1], ys])
