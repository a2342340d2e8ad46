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
import numpy as np
from jaxtyping import Array, Bool, Float, Int

from .._checks import check_parameter_values, is_concrete

PLAUSIBLE_VOLTAGE = 1000.0
"""mV: a membrane potential beyond ±1 V is a numerical blow-up in any model, never
physiology; a run that reaches it is flagged (`Trace.status` 6)."""


class AbstractNeuron(eqx.Module):
    """A single neuron as a pure vector field $dy/dt = f(t, y, I(t))$.

    Concrete models set `state_names` (one label per entry of the state vector,
    the membrane potential first by convention) and `input_unit` (the unit of the input
    current, see `jaxneuron.units`), and implement the methods below.
    The state is a 1-D array of shape `(n_states,)`.
    """

    state_names: ClassVar[tuple[str, ...]]
    spike_threshold: ClassVar[float] = 0.0
    """mV: the potential whose upward crossing counts as a spike in a smooth model
    (`simulate`'s default `threshold`); threshold-and-reset models use `spike_condition`."""
    input_unit: ClassVar[str | None] = None
    """Unit of the input current `args`, a unit string: `"uA/cm**2"`, `"nA"`, `"pA"`, or
    `"1"` for a dimensionless current. None (the default) states none: converting a
    recording's current for the model is then a `ValueError`, never a guess."""

    def domain(self) -> dict[str, Bool[Array, "*shape"]]:
        """The model's valid parameter domain, stated once: constraint -> boolean array, True
        where the parameters satisfy it (elementwise for batched fields).

        Each key is a sentence that starts with the parameter's name and gives the allowed
        values, e.g. `"C_m must be > 0 and finite"`. Build entries with `positive`,
        `non_negative`, `finite` and `greater_than` (they use NumPy on concrete values and
        `jax.numpy` on tracers). The constructor raises `ValueError` for concrete values
        outside the domain (`check_domain`); `simulate` checks it again at run time, so that
        a set made invalid inside `jit`/`vmap` (e.g. by `sweep`) fails with
        `Trace.status == 4` instead of giving a silently wrong result. Default: no
        constraints.
        """
        return {}

    def __check_init__(self):
        check_parameter_values(self)
        check_domain(self)

    @abc.abstractmethod
    def initial_state(self) -> Float[Array, " n_states"]:
        """The state at rest (or the documented start), shape `(n_states,)`."""

    @abc.abstractmethod
    def vector_field(self, t, y: Float[Array, " n_states"], args) -> Float[Array, " n_states"]:
        """dy/dt at time `t` (ms) for state `y`, with `args` the input current at `t`."""

    @abc.abstractmethod
    def voltage(self, y: Float[Array, " n_states"]) -> Float[Array, ""]:
        """Membrane potential (mV) from a state."""

    def plausible(self, y: Float[Array, " n_states"]) -> Bool[Array, ""]:
        """Whether the state `y` lies in the model's plausible range; engines flag a run
        whose final state does not (`Trace.status` 6). Default: |V| <= `PLAUSIBLE_VOLTAGE`
        (1000 mV), and every state named in `conductance_states()` >= 0. NaN passes (it is
        flagged as non-finite instead)."""
        names = self.state_names
        bad = jnp.abs(self.voltage(y)) > PLAUSIBLE_VOLTAGE
        for name in self.conductance_states():
            bad = bad | (y[names.index(name)] < 0)
        return ~bad

    def conductance_states(self) -> tuple[str, ...]:
        """Names of the states that are conductances (nS or mS/cm², never negative): input
        jumps into them must be >= 0 (`SpikeInput`, network synapses). Default: the states
        whose names start with `g_`."""
        return tuple(n for n in self.state_names if n.startswith("g_"))


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


# ---- the valid domain of a model's parameters ----------------------------------------------


def _xp(*values):
    """NumPy for concrete values (cheap at construction), `jax.numpy` for tracers."""
    return np if all(is_concrete(v) for v in values) else jnp


def _values(model, names):
    return [(n, getattr(model, n)) for n in names if getattr(model, n) is not None]


def positive(model, *names: str) -> dict:
    """Constraints `"<name> must be > 0 and finite"` for the fields `names` of `model`."""
    out = {}
    for n, v in _values(model, names):
        xp = _xp(v)
        out[f"{n} must be > 0 and finite"] = (xp.asarray(v) > 0) & xp.isfinite(v)
    return out


def non_negative(model, *names: str) -> dict:
    """Constraints `"<name> must be >= 0 and finite"` for the fields `names` of `model`."""
    out = {}
    for n, v in _values(model, names):
        xp = _xp(v)
        out[f"{n} must be >= 0 and finite"] = (xp.asarray(v) >= 0) & xp.isfinite(v)
    return out


def finite(model, *names: str) -> dict:
    """Constraints `"<name> must be finite"` (not NaN or infinite); None fields are skipped."""
    return {f"{n} must be finite": _xp(v).isfinite(v) for n, v in _values(model, names)}


def greater_than(model, name: str, bound: float, note: str = "") -> dict:
    """The constraint `"<name> must be > bound (note) and finite"`."""
    v = getattr(model, name)
    xp = _xp(v)
    text = f"{name} must be > {bound}{f' ({note})' if note else ''} and finite"
    return {text: (xp.asarray(v) > bound) & xp.isfinite(v)}


def reset_below(model, reset: str, threshold: str) -> dict:
    """The relation `"<reset> must be < <threshold> ..."` between two fields of `model`: a
    reset at or above the threshold would leave the state above it, unable to fire again
    (clock) or firing at once for ever (exact). NaN fails it."""
    a, b = getattr(model, reset), getattr(model, threshold)
    return {f"{reset} must be < {threshold} (a reset at or above the threshold leaves the "
            "neuron above it)": _xp(a, b).asarray(a) < b}


def check_domain(model: AbstractNeuron) -> None:
    """Raise `ValueError` for the first constraint of `model.domain()` that concrete values
    violate, naming the parameter, the allowed values and the value given. Traced values
    pass (`simulate` checks them at run time)."""
    for key, valid in model.domain().items():
        if is_concrete(valid) and not np.all(np.asarray(valid)):
            name = key.split()[0].rstrip(",:")
            value = getattr(model, name, None) if name.isidentifier() else None
            got = "" if value is None else f"; got {name} = {_show(value)}"
            raise ValueError(f"{type(model).__name__}: {key}{got}")


def _show(value) -> str:
    if not is_concrete(value):
        return "a traced value"
    arr = np.asarray(value)
    return repr(arr.item()) if arr.size == 1 else np.array2string(arr, threshold=8)


def domain_status(constraints: dict) -> tuple[Bool[Array, ""], Int[Array, ""]]:
    """`(valid, first)` of `constraints` (name -> boolean array, see
    `AbstractNeuron.domain`): whether all hold, and the index of the first that does not
    (0 when all hold). Works on tracers; a batched constraint holds if it holds everywhere."""
    if not constraints:
        return jnp.asarray(True), jnp.asarray(0)
    flags = jnp.stack([jnp.all(jnp.asarray(v)) for v in constraints.values()])
    return jnp.all(flags), jnp.argmin(flags)
