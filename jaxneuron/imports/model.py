"""The model classes that imported equations become.

`ModelSpec` is what an importer hands over: states, parameters and their units, and SymPy
expressions in the stored units (`jaxneuron.imports.brian2`). `build_class` makes one
ordinary jaxneuron model class of it, whose fields are the parameters: every tool (simulate,
sweep, fit, priors, networks) sees nothing special. Its methods evaluate the expressions
with JAX (`expressions.evaluate`), so the compiled step is the same arithmetic a
hand-written model does.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax.numpy as jnp
import sympy
from jaxtyping import Array, Float

from .._arrays import unstack
from .._fields import param
from ..models.base import (
    AbstractGatedNeuron,
    AbstractNeuron,
    AbstractSpikingNeuron,
    finite,
    non_negative,
    positive,
)
from .expressions import evaluate


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """An imported model, in the units it stores (time ms, voltage mV, ...).

    **Fields:**
    - `name`: the class name.
    - `states`: state names, in state-vector order; `state_units`: name -> unit string.
    - `parameters`: field names in order (constants, initial values `<state>_init`,
      `refractory`); `defaults`: name -> float; `parameter_units`: name -> unit string;
      `positive`: parameters that must be > 0 (times, capacitances), `non_negative`: >= 0.
    - `input`: the input variable's name (None: no input), `input_unit` its unit string.
    - `derivatives`: dx/dt per state (SymPy, stored unit per ms), in the symbols of the
      states, parameters, the input and `t` (ms).
    - `split`: `(rates, targets)` per state when every state relaxes towards a target
      (`AbstractGatedNeuron`), else None; `n_voltages` then leads the state vector.
    - `threshold`: crosses zero upwards at a spike (None: no spikes); `reset`: `(state
      index, new value)` applied in order; `clamped`: indices held while refractory.
    - `voltage_index`: the membrane potential's index.
    - `spike_threshold`: for a model without reset that only detects spikes, the potential
      (mV) whose upward crossing counts as one (`simulate`'s default `threshold`).
    - `doc`: the class docstring; `source`: what it was imported from (for
      `write_model`).
    """

    name: str
    states: tuple[str, ...]
    state_units: dict
    parameters: tuple[str, ...]
    defaults: dict
    parameter_units: dict
    positive: tuple[str, ...]
    non_negative: tuple[str, ...]
    input: str | None
    input_unit: str | None
    derivatives: tuple
    split: tuple | None
    n_voltages: int
    threshold: object | None
    reset: tuple
    clamped: tuple[int, ...]
    voltage_index: int
    doc: str
    source: object = None
    spike_threshold: float | None = None


class ImportedNeuron(AbstractNeuron):
    """Methods shared by every imported model; `spec` is set on each generated class."""

    spec: ClassVar[ModelSpec]

    def domain(self):
        spec = self.spec
        return {**positive(self, *spec.positive), **non_negative(self, *spec.non_negative),
                **finite(self, *spec.parameters)}

    def initial_state(self):
        return jnp.stack([getattr(self, f"{s}_init") for s in self.spec.states])

    def voltage(self, y):
        return unstack(y)[self.spec.voltage_index]

    def _values(self, t, y, args) -> dict:
        """Every symbol's value: parameters, states of `y`, the input and `t`."""
        spec = self.spec
        values = {name: getattr(self, name) for name in spec.parameters}
        values.update(zip(spec.states, unstack(y), strict=True))
        if spec.input is not None:
            values[spec.input] = args
        values["t"] = t
        return values

    def _field(self, exprs, t, y, args):
        values = self._values(t, y, args)
        return jnp.stack([jnp.broadcast_to(jnp.asarray(evaluate(e, values), dtype=y.dtype),
                                           jnp.shape(y)[1:]) for e in exprs])


class _Plain(ImportedNeuron):
    def vector_field(self, t, y, args):
        return self._field(self.spec.derivatives, t, y, args)


class _Gated(ImportedNeuron, AbstractGatedNeuron):
    def exponential_split(self, t, y, args):
        rates, targets = self.spec.split
        return self._field(rates, t, y, args), self._field(targets, t, y, args)


class _Spiking(AbstractSpikingNeuron):
    spec: ClassVar[ModelSpec]

    def spike_condition(self, y):
        return evaluate(self.spec.threshold, self._values(0.0, y, 0.0))

    def reset(self, y):
        values = self._values(0.0, y, 0.0)
        parts = list(unstack(y))
        for index, expr in self.spec.reset:
            new = jnp.asarray(evaluate(expr, values), dtype=y.dtype)
            parts[index] = jnp.broadcast_to(new, jnp.shape(parts[index]))
            values[self.spec.states[index]] = parts[index]
        return jnp.stack(parts)

    @property
    def refractory_period(self):
        if "refractory" in self.spec.parameters:
            return jnp.asarray(self.refractory)
        return jnp.zeros(())


class _PlainSpiking(_Plain, _Spiking):
    pass


class _GatedSpiking(_Gated, _Spiking):
    pass


def build_class(spec: ModelSpec) -> type:
    """A new model class for `spec` (fields: `spec.parameters` with their defaults)."""
    spiking = spec.threshold is not None
    base = {(False, False): _Plain, (True, False): _Gated, (False, True): _PlainSpiking,
            (True, True): _GatedSpiking}[(spec.split is not None, spiking)]
    namespace = {
        "__annotations__": {name: Float[Array, ""] for name in spec.parameters},
        **{name: param(float(spec.defaults[name])) for name in spec.parameters},
        "__doc__": spec.doc,
        "__module__": "jaxneuron.imports",
        "spec": spec,
        "state_names": spec.states,
        "state_units": dict(spec.state_units),
        "parameter_units": dict(spec.parameter_units),
        "input_unit": spec.input_unit,
        "n_voltages": spec.n_voltages,
    }
    if spiking:
        namespace["clamped_states"] = spec.clamped
    if spec.spike_threshold is not None:
        namespace["spike_threshold"] = spec.spike_threshold
    return type(spec.name, (base,), namespace)


def reserved_names() -> set[str]:
    """Names a parameter may not take (attributes of the model classes)."""
    names = set()
    for cls in (_PlainSpiking, _GatedSpiking):
        names |= {n for n in dir(cls) if not n.startswith("__")}
    return names | {"spec", "state_units", "parameter_units"}


def free_names(expr) -> set[str]:
    """Names of the symbols in a SymPy expression."""
    return {s.name for s in sympy.sympify(expr).free_symbols}
