"""`TimeGrid`: the time grid of a run (start, end, step, save spacing), and the nested scan
that the fixed-step engines run over it."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .._checks import check_time_grid


class TimeGrid(eqx.Module):
    """A run from `t0` to `t1` (ms) in `n_steps` steps of `dt` (ms), states saved every
    `steps_per_save` steps (`steps_per_save == n_steps`: only the two ends).

    Build it with `TimeGrid.build`, which validates the numbers. All fields are static
    Python numbers: a grid fixes the shapes of a run.
    """

    t0: float = eqx.field(static=True)
    t1: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    n_steps: int = eqx.field(static=True)
    steps_per_save: int = eqx.field(static=True)

    @classmethod
    def build(cls, t0: float, t1: float, dt: float, save_every: float | None = None) -> TimeGrid:
        """The grid for `[t0, t1]` (ms) with step `dt` (ms), saving every `save_every` ms:
        a whole multiple of `dt` dividing `t1 - t0`; `None` saves every step; `0` or a
        negative value saves only `t0` and `t1`.

        **Raises:** `ValueError` naming the argument for non-finite times, `dt <= 0`,
        `t1 <= t0`, a span that is not whole steps, or a `save_every` off the step grid.
        """
        n_steps = check_time_grid(t0, t1, dt)
        return cls(float(t0), float(t1), float(dt), n_steps,
                   _steps_per_save(save_every, dt, n_steps))

    @property
    def n_saves(self) -> int:
        """Number of saved states, both ends included."""
        return self.n_steps // self.steps_per_save + 1

    def save_times(self, dtype) -> jax.Array:
        """Save times (ms) `t0 + j * steps_per_save * dt`, shape `(n_saves,)`."""
        return self.t0 + self.dt * self.steps_per_save * jnp.arange(self.n_saves, dtype=dtype)


def _steps_per_save(save_every, dt: float, n_steps: int) -> int:
    if save_every is None:
        return 1
    if save_every <= 0:
        return n_steps
    ratio = save_every / dt
    k = round(ratio)
    if k < 1 or abs(ratio - k) > 1e-6 * ratio or n_steps % k != 0:
        raise ValueError(
            f"save_every must be a whole multiple of dt = {dt} ms that divides t1 - t0; "
            f"got {save_every}"
        )
    return k


def scan_fixed_steps(one_step, carry, y0, grid: TimeGrid, per_step=None, *, flush=None,
                     block: int = 1):
    """Run `one_step(carry, (k, per_step[k]))` for k = 0 .. n_steps - 1 and save the state
    every `grid.steps_per_save` steps.

    The carry's first entry is the state as a tuple of columns (scalars): under vmap each
    becomes a contiguous `(batch,)` array, which lets XLA fuse a whole step without copies.
    `per_step` is an optional array with a leading axis of length `n_steps`. With `flush`,
    the steps run in blocks of `block` steps (the last block of a save interval may be
    shorter) and `flush(carry, outputs)` takes each block's stacked step outputs, e.g. to
    write a block's spikes with one scatter.

    **Returns:** `(carry, states)`, `states` of shape `(n_saves, n_states)` with `y0` first.
    """
    k_save = grid.steps_per_save
    block = k_save if flush is None else max(1, min(block, k_save))
    n_blocks, tail = divmod(k_save, block)

    def run_block(carry, first, length):
        ks = first + jnp.arange(length)
        carry, outputs = jax.lax.scan(one_step, carry, (ks, None if per_step is None
                                                        else per_step[ks]))
        return carry if flush is None else flush(carry, outputs)

    def one_save_interval(carry, j):
        start = j * k_save
        if n_blocks == 1:
            carry = run_block(carry, start, block)
        else:
            carry, _ = jax.lax.scan(
                lambda c, b: (run_block(c, start + b * block, block), None), carry,
                jnp.arange(n_blocks))
        if tail:
            carry = run_block(carry, start + n_blocks * block, tail)
        return carry, jnp.stack(carry[0])

    carry, saved = jax.lax.scan(one_save_interval, carry, jnp.arange(grid.n_steps // k_save))
    return carry, jnp.concatenate([y0[None], saved], axis=0)
