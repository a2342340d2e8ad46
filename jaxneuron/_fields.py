"""Read and replace named parameter fields of Modules (models and stimuli).

A parameter is a non-static field holding a Python float (`C: float = 20.0`) or a floating
JAX/NumPy array (e.g. one made with `param`). Both kinds can be swept, fitted, batched and
differentiated; integers, booleans, `None`, strings and sub-Modules are not parameters.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp

from ._checks import as_parameter

_REQUIRED = object()


def param(default=_REQUIRED):
    """A model or stimulus field stored as a float array of the default dtype.

    Use it for fields that should always be arrays (so they batch, shard and differentiate
    like any other array, or hold more than one value); a plain `x: float = 1.0` field is a
    parameter too and needs no helper. Values given at construction (scalars, lists,
    arrays, any shape) are converted with `jnp.asarray(value, dtype=float)` (float64 under
    `jax_enable_x64`); text (e.g. `"120"`) is kept and rejected by the model's or
    stimulus's check with a `ValueError` naming the field. Units are those of the field,
    stated in the class docstring.

    **Arguments:**
    - `default`: the value when the constructor is not given one; without it the field is
      a required argument.

    **Returns:** an `equinox.field` with that converter.

    Example: `tau_m: Float[Array, ""] = jaxneuron.param(10.0)  # ms`.
    """
    if default is _REQUIRED:
        return eqx.field(converter=as_parameter)
    return eqx.field(default=default, converter=as_parameter)


def is_parameter_value(value) -> bool:
    """True for a value that makes a field a parameter: a Python float (not a bool or an
    int) or a floating (inexact) JAX/NumPy array or tracer, of any shape."""
    return isinstance(value, float) or eqx.is_inexact_array(value)


def parameter_names(module: eqx.Module) -> tuple[str, ...]:
    """Names of a Module's parameters, in field order.

    A parameter is a non-static field whose value is a Python float or a floating
    JAX/NumPy array of any shape (scalar, or with a leading batch axis); ints, bools,
    `None`, strings, sub-Modules and static fields are left out. These are the names that
    `sweep`, `fit`, priors and surrogates accept.

    **Arguments:**
    - `module`: a model or stimulus (an `equinox.Module` dataclass).

    **Returns:** a tuple of field names.
    """
    return tuple(
        f.name for f in dataclasses.fields(module)
        if not f.metadata.get("static", False) and is_parameter_value(getattr(module, f.name))
    )


def check_parameter_names(module: eqx.Module, names, argument: str) -> None:
    """Raise `ValueError` naming `argument` if any of `names` is not a parameter of `module`."""
    allowed = parameter_names(module)
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise ValueError(
            f"{argument}: unknown parameter(s) {unknown} of {type(module).__name__}; "
            f"allowed: {list(allowed)}"
        )


def replace_parameters(module: eqx.Module, values: dict) -> eqx.Module:
    """A copy of `module` with the named parameters set to `values`.

    Works inside `jax.jit`, `jax.vmap` and `jax.grad` (values may be tracers). Each new
    value is converted to a JAX array: of the field's dtype when the field holds an array,
    of the default float dtype (float64 under `jax_enable_x64`) when it holds a Python
    float. No constructor or `__check_init__` runs, so values are not validated here.

    **Arguments:**
    - `module`: a model or stimulus.
    - `values`: parameter name -> new value (scalar or array of any shape, e.g. with a
      leading batch axis; in the field's units). Names are not checked here; use
      `parameter_names` to see which are allowed.

    **Returns:** a new Module of the same type; `module` itself is unchanged.
    """
    if not values:
        return module
    names = list(values)

    def convert(name):
        current = getattr(module, name)
        if isinstance(current, float) or not eqx.is_array(current):
            return jnp.asarray(values[name], dtype=float)
        return jnp.asarray(values[name], dtype=current.dtype)

    return eqx.tree_at(
        lambda m: [getattr(m, n) for n in names],
        module,
        [convert(n) for n in names],
    )


def batch_axes(module: eqx.Module):
    """`in_axes` for `jax.vmap` over a Module whose batched fields carry a leading axis:
    0 for array fields with `ndim > 0`, None for scalar arrays, Python floats and every
    other leaf.

    Example: `jax.vmap(run, in_axes=(batch_axes(model),))(model)`.
    """
    return jax.tree.map(lambda x: 0 if eqx.is_array(x) and x.ndim > 0 else None, module)
