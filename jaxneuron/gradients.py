"""`value_and_grad` that picks forward or reverse mode by the number of parameters.

A neuron fit has few parameters and thousands of solver steps. Reverse mode stores (or
recomputes) every step's intermediates and walks back through them; forward mode carries
one tangent per parameter alongside the state and needs no storage, which on CPU makes
it 3-4x cheaper for up to a dozen or so parameters (see benchmarks/README.md).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

GRADIENT_MODES = ("auto", "forward", "reverse")
FORWARD_MODE_MAX_PARAMETERS = 16


def value_and_grad(fn: Callable, mode: str = "auto") -> Callable:
    """Like `jax.value_and_grad(fn)` for a scalar `fn(x)` of one PyTree argument.

    `mode="forward"` computes the gradient by one `jax.jvp` per scalar in `x` (vmapped, so
    one pass carries all tangents); `"reverse"` is `jax.value_and_grad`; `"auto"` uses
    forward mode when `x` holds at most `FORWARD_MODE_MAX_PARAMETERS` scalars.
    Works under `jit` and `vmap`.

    **Raises:** `ValueError` for an unknown mode.
    """
    if mode not in GRADIENT_MODES:
        raise ValueError(f"gradient mode must be one of {GRADIENT_MODES}; got {mode!r}")
    reverse = jax.value_and_grad(fn)

    def forward(x):
        flat, unravel = ravel_pytree(x)

        def along(direction):
            return jax.jvp(lambda z: fn(unravel(z)), (flat,), (direction,))

        basis = jnp.eye(flat.size, dtype=flat.dtype)
        value, slopes = jax.vmap(along, out_axes=(None, 0))(basis)
        return value, unravel(slopes)

    def value_and_gradient(x):
        n = ravel_pytree(x)[0].size
        if mode == "reverse" or (mode == "auto" and n > FORWARD_MODE_MAX_PARAMETERS):
            return reverse(x)
        return forward(x)

    return value_and_gradient
