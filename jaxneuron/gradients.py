"""`value_and_grad` that picks forward or reverse mode by the number of parameters.

A neuron fit has few parameters and thousands of solver steps. Reverse mode stores each
step's state and walks back through the steps, recomputing each one (the fixed-step loops
checkpoint every step); its cost does not grow with the number of parameters. Forward mode
carries one tangent per parameter alongside the state and stores nothing; its cost grows
with the number of parameters. On CPU, for an HH voltage-trace loss (benchmarks/README.md,
hh_gradient.py), forward mode is the cheaper of the two up to 16 parameters in a batch of
32 and up to about 10 in a batch of 256, where at 7 parameters the two cost about the same;
hence forward mode for up to `FORWARD_MODE_MAX_PARAMETERS` scalars.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

GRADIENT_MODES = ("auto", "forward", "reverse")
FORWARD_MODE_MAX_PARAMETERS = 16


def uses_forward_mode(mode: str, n_parameters: int) -> bool:
    """Whether `mode` ("auto", "forward" or "reverse") differentiates `n_parameters`
    scalars in forward mode.

    **Raises:** `ValueError` for an unknown mode.
    """
    if mode not in GRADIENT_MODES:
        raise ValueError(f"gradient mode must be one of {GRADIENT_MODES}; got {mode!r}")
    return mode == "forward" or (mode == "auto" and n_parameters <= FORWARD_MODE_MAX_PARAMETERS)


def value_and_grad(fn: Callable, mode: str = "auto") -> Callable:
    """Like `jax.value_and_grad(fn)` for a scalar `fn(x)` of one PyTree argument.

    `mode="forward"` computes the gradient by one `jax.jvp` per scalar in `x` (vmapped, so
    one pass carries all tangents); `"reverse"` is `jax.value_and_grad`; `"auto"` uses
    forward mode when `x` holds at most `FORWARD_MODE_MAX_PARAMETERS` scalars.
    Works under `jit` and `vmap`. Adaptive or exact-spiking `simulate` calls inside `fn`
    need an engine that supports `jax.jvp` for forward mode (see
    `jaxneuron.engines.forward_mode`).

    **Raises:** `ValueError` for an unknown mode.
    """
    uses_forward_mode(mode, 0)  # validates mode
    reverse = jax.value_and_grad(fn)

    def value_and_gradient(x):
        flat, unravel = ravel_pytree(x)
        if not uses_forward_mode(mode, flat.size):
            return reverse(x)

        def along(direction):
            return jax.jvp(lambda z: fn(unravel(z)), (flat,), (direction,))

        basis = jnp.eye(flat.size, dtype=flat.dtype)
        value, slopes = jax.vmap(along, out_axes=(None, 0))(basis)
        return value, unravel(slopes)

    return value_and_gradient


def reverse_by(fn: Callable, mode: str = "auto") -> Callable:
    """`fn` (a scalar function of one PyTree argument) whose reverse-mode derivative
    (`jax.grad`, `jax.value_and_grad`, `jax.vjp`) is computed by `value_and_grad(fn, mode)`.

    For code that differentiates a function itself by `jax.value_and_grad`, such as
    Optax's line searches: with `mode` `"auto"` or `"forward"` it gets forward mode for few
    parameters (one pass carrying a tangent per parameter, nothing stored) instead of a
    checkpointed backward sweep through every solver step. Works under `jit` and `vmap`;
    the result is not differentiable by `jax.jvp` and not twice.

    **Raises:** `ValueError` for an unknown mode.
    """
    both = value_and_grad(fn, mode)

    @jax.custom_vjp
    def wrapped(x):
        return fn(x)

    def forward(x):
        return both(x)

    def backward(grad, cotangent):
        return (jax.tree.map(lambda g: cotangent * g, grad),)

    wrapped.defvjp(forward, backward)
    return wrapped
