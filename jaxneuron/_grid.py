"""The fixed time grid shared by the fixed-step engines: save times and the nested scan."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def save_times(t0, dt, n_steps: int, steps_per_save: int, dtype):
    """Save times (ms) `t0 + j * steps_per_save * dt`, shape `(n_steps // steps_per_save + 1,)`."""
    return t0 + dt * steps_per_save * jnp.arange(n_steps // steps_per_save + 1, dtype=dtype)


def scan_fixed_steps(one_step, carry, y0, n_steps: int, steps_per_save: int, per_step=None):
    """Run `one_step(carry, (k, per_step[k]))` for k = 0 .. n_steps - 1 and save the state
    every `steps_per_save` steps.

    The carry's first entry is the state as a tuple of columns (scalars): under vmap each
    becomes a contiguous `(batch,)` array, which lets XLA fuse a whole step without copies.
    `per_step` is an optional array with a leading axis of length `n_steps`.

    **Returns:** `(carry, states)`, `states` of shape `(n_save + 1, n_states)` with `y0` first.
    """
    def one_save_interval(carry, j):
        ks = j * steps_per_save + jnp.arange(steps_per_save)
        xs = (ks, None if per_step is None else per_step[ks])
        carry, _ = jax.lax.scan(one_step, carry, xs)
        return carry, jnp.stack(carry[0])

    carry, saved = jax.lax.scan(one_save_interval, carry, jnp.arange(n_steps // steps_per_save))
    return carry, jnp.concatenate([y0[None], saved], axis=0)
