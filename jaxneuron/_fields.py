"""Read and replace named parameter fields of Modules (models and stimuli)."""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp

from ._checks import as_float_array

_REQUIRED = object()


def param(default=_REQUIRED):
    """A parameter field of a model or stimulus: stored as a float array (so it batches and
    differentiates); without `default` the argument is required."""
    if default is _REQUIRED:
        return eqx.field(converter=as_float_array)
    return eqx.field(default=default, converter=as_float_array)


def parameter_names(module: eqx.Module) -> tuple[str, ...]:
    """Names of a Module's array-valued parameter fields (static fields excluded)."""
    return tuple(
        f.name for f in dataclasses.fields(module)
        if not f.metadata.get("static", False) and eqx.is_array(getattr(module, f.name))
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
    """A copy of `module` with the named fields set to `values` (arrays, any shape)."""
    if not values:
        return module
    names = list(values)
    return eqx.tree_at(
        lambda m: [getattr(m, n) for n in names],
        module,
        [jnp.asarray(values[n], dtype=getattr(module, n).dtype) for n in names],
    )


def batch_axes(module: eqx.Module):
    """`in_axes` for `jax.vmap` over a Module whose batched fields carry a leading axis:
    0 for array fields with `ndim > 0`, None for scalar fields.

    Example: `jax.vmap(run, in_axes=(batch_axes(model),))(model)`.
    """
    return jax.tree.map(lambda x: 0 if eqx.is_array(x) and x.ndim > 0 else None, module)
