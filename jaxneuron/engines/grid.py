"""`TimeGrid`: the time grid of a run (start, end, step, save spacing) and what is saved on
it (`SaveSpec`), and the nested scan that the fixed-step engines run over it."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._arrays import unstack
from .._checks import check_time_grid, exact_time


class SaveSpec(eqx.Module):
    """Which state columns a run saves at its save times. The membrane potential
    (`model.voltage` of the full state) is always saved besides them, and the full final
    state is always kept, so a run that saves no column still has `Trace.v` and can
    detect a blow-up.

    Build it with `SaveSpec.build`, which checks the names against the model's.

    **Fields:**
    - `states`: indices of the saved columns in the model's state (static, in the order
      asked for), or None for every column (the default).
    """

    states: tuple[int, ...] | None = eqx.field(static=True, default=None)

    @classmethod
    def build(cls, state_names: Sequence[str], save_states=None) -> SaveSpec:
        """The spec saving the states called `save_states` (names from `state_names`, the
        model's), `None` for all, `()` for none.

        **Raises:** `ValueError` naming `save_states` and the allowed names for an unknown
        or repeated name, an entry that is not a string, or a lone string (pass a tuple).
        """
        if save_states is None:
            return cls()
        names = tuple(state_names)
        allowed = f"a tuple of distinct names from {names} (or None for all, () for none)"
        if isinstance(save_states, str) or not isinstance(save_states, Sequence):
            raise ValueError(f"save_states must be {allowed}; got {save_states!r}")
        for name in save_states:
            if not isinstance(name, str) or name not in names:
                raise ValueError(f"save_states must be {allowed}; {name!r} is not a state of "
                                 "the model")
        if len(set(save_states)) != len(save_states):
            raise ValueError(f"save_states must be {allowed}; got {tuple(save_states)!r} "
                             "(a name twice)")
        return cls(tuple(names.index(name) for name in save_states))

    def names(self, state_names: Sequence[str]) -> tuple[str, ...]:
        """The names of the saved columns, from the model's `state_names`."""
        names = tuple(state_names)
        return names if self.states is None else tuple(names[i] for i in self.states)

    def __call__(self, model, y: Float[Array, " n_states"]) -> tuple[Array, Array]:
        """What is saved of the state `y` of `model`: `(columns, v)`, the saved columns
        `(n_saved,)` and the membrane potential (mV, scalar)."""
        if self.states is None:
            columns = y
        elif self.states:
            entries = unstack(y)
            columns = jnp.stack([entries[i] for i in self.states])
        else:
            columns = jnp.zeros((0,), y.dtype)
        return columns, model.voltage(y)


class TimeGrid(eqx.Module):
    """A run from `t0` to `t1` (ms) in `n_steps` steps of `dt` (ms), saving every
    `steps_per_save` steps (`steps_per_save == n_steps`: only the two ends) what `save`
    says: the chosen state columns and the membrane potential.

    Build it with `TimeGrid.build`, which validates the numbers. All fields are static
    Python numbers: a grid fixes the shapes of a run.
    """

    t0: float = eqx.field(static=True)
    t1: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    n_steps: int = eqx.field(static=True)
    steps_per_save: int = eqx.field(static=True)
    save: SaveSpec = eqx.field(default_factory=SaveSpec)

    @classmethod
    def build(cls, t0: float, t1: float, dt: float, save_every: float | None = None,
              save: SaveSpec | None = None) -> TimeGrid:
        """The grid for `[t0, t1]` (ms) with step `dt` (ms), saving every `save_every` ms:
        a whole multiple of `dt` dividing `t1 - t0`; `None` saves every step; `0` or a
        negative value saves only `t0` and `t1`. `save` (a `SaveSpec`, default every state)
        says which state columns are saved.

        **Raises:** `ValueError` naming the argument for non-finite times, `dt <= 0`,
        `t1 <= t0`, a span that is not whole steps, or a `save_every` off the step grid.
        """
        n_steps = check_time_grid(t0, t1, dt)
        if save is None:
            save = SaveSpec()
        elif not isinstance(save, SaveSpec):
            raise ValueError(f"save must be a SaveSpec; got {save!r}")
        return cls(float(t0), float(t1), float(dt), n_steps,
                   _steps_per_save(save_every, dt, n_steps), save)

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
    if isinstance(save_every, bool) or not isinstance(
            save_every, int | float | np.integer | np.floating) or math.isnan(save_every):
        raise ValueError(f"save_every must be a number (ms) or None; got {save_every!r}")
    if save_every <= 0:
        return n_steps
    ratio = exact_time(save_every) / exact_time(dt) if math.isfinite(save_every) else None
    if ratio is None or ratio.denominator != 1 or n_steps % int(ratio) != 0:
        raise ValueError(
            f"save_every must be a whole multiple of dt = {dt} ms that divides t1 - t0; "
            f"got {save_every}"
        )
    return int(ratio)


def scan_fixed_steps(one_step, carry, y0, grid: TimeGrid, per_step=None, *, flush=None,
                     block: int = 1, save: Callable | None = None, checkpoint: bool = False,
                     sync: Callable | None = None):
    """Run `one_step(carry, (k, per_step[k]))` for k = 0 .. n_steps - 1 and save
    `save(y)` of the state `y` (`(n_states,)`) every `grid.steps_per_save` steps (default:
    the whole state; e.g. `lambda y: grid.save(model, y)` keeps only the chosen columns
    and V, so the loop materialises nothing else).

    The carry's first entry is the state as a tuple of columns (scalars): under vmap each
    becomes a contiguous `(batch,)` array, which lets XLA fuse a whole step without copies.
    `per_step` is an optional array with a leading axis of length `n_steps`. With `flush`,
    the steps run in blocks of `block` steps (the last block of a save interval may be
    shorter) and `flush(carry, outputs)` takes each block's stacked step outputs, e.g. to
    write a block's spikes with one scatter (saves more frequent than `block` steps: the
    outputs of `SAVE_BLOCK` save intervals at a time). With `checkpoint`, reverse mode
    stores only the carry of every step and recomputes the step's intermediates on the way
    back (`jax.checkpoint` per step); forward mode and plain runs are unchanged. A loop whose
    carried columns are not the model's state gives `sync(columns, k) -> columns`, the state
    after k steps (k = 0 included), which is what is saved.

    **Returns:** `(carry, saved)`: `saved` is `save`'s output stacked over the save times,
    `y0`'s first (by default `(n_saves, n_states)`).
    """
    if save is None:
        def save(y):
            return y

    step = jax.checkpoint(one_step, prevent_cse=False) if checkpoint else one_step
    k_save = grid.steps_per_save
    # Saves more frequent than the flushes: the steps' outputs of a whole block of saves
    # (`SAVE_BLOCK`) are flushed together, not those of each save interval.
    flush_saves = flush is not None and k_save < block
    block = k_save if flush is None or flush_saves else max(1, min(block, k_save))
    n_blocks, tail = divmod(k_save, block)

    def run_block(carry, first, length):
        # the step index is carried as a scalar: taken from an array of indices inside the
        # step, it is read in every fusion of the step
        def counted(inner, x):
            carry, k = inner
            carry, out = step(carry, (k, x))
            return (carry, k + 1), out

        ks = first + jnp.arange(length)
        (carry, _), outputs = jax.lax.scan(
            counted, (carry, ks[0]), None if per_step is None else per_step[ks], length=length)
        if flush_saves:
            return carry, outputs
        return (carry if flush is None else flush(carry, outputs)), None

    def one_save_interval(carry, j):
        start = j * k_save
        # with `sync`, the state at the start of the interval (which the first step
        # computes too, so XLA can share it when an interval is one step)
        before = None if sync is None else save(jnp.stack(sync(carry[0], start)))
        if n_blocks == 1:
            carry, outputs = run_block(carry, start, block)
        else:  # (never with flush_saves: then the interval is one block)
            carry, _ = jax.lax.scan(
                lambda c, b: (run_block(c, start + b * block, block)[0], None), carry,
                jnp.arange(n_blocks))
            outputs = None
        if tail:
            carry, _ = run_block(carry, start + n_blocks * block, tail)
        return carry, (save(jnp.stack(carry[0])) if sync is None else before, outputs)

    # The saves go into the trace SAVE_BLOCK at a time, into buffers carried by the loop:
    # under vmap each buffer is batch-major, `(batch, n_saves, ...)`, so the trace is
    # written in the layout it is returned in, one small transposed block at a time,
    # instead of being stacked time-major and transposed whole after the loop.
    n_intervals = grid.n_steps // k_save
    first_save = save(y0)
    buffers = jax.tree.map(lambda x: jnp.zeros((grid.n_saves, *jnp.shape(x)), x.dtype),
                           first_save)
    if sync is None:  # the saves are the ends of the intervals, the start before them
        buffers = _write_saves(buffers, jax.tree.map(lambda x: x[None], first_save), 0)

    def save_block(state, b, length):  # `length` save intervals from interval b
        carry, buffers = state
        carry, (saved, outputs) = jax.lax.scan(one_save_interval, carry,
                                               b + jnp.arange(length))
        if flush_saves:  # (length, k_save, ...) in step order -> (length * k_save, ...)
            carry = flush(carry, jax.tree.map(
                lambda x: x.reshape(length * k_save, *x.shape[2:]), outputs))
        return carry, _write_saves(buffers, saved, b if sync is not None else b + 1)

    per_block = min(SAVE_BLOCK, n_intervals)
    n_save_blocks, save_tail = divmod(n_intervals, per_block)
    state = jax.lax.scan(lambda state, i: (save_block(state, i * per_block, per_block), None),
                         (carry, buffers), jnp.arange(n_save_blocks))[0]
    if save_tail:
        state = save_block(state, n_save_blocks * per_block, save_tail)
    carry, buffers = state
    if sync is not None:  # the saves are the starts of the intervals, the end after them
        last = save(jnp.stack(sync(carry[0], grid.n_steps)))
        buffers = _write_saves(buffers, jax.tree.map(lambda x: x[None], last), n_intervals)
    return carry, buffers


SAVE_BLOCK = 16
"""Saves written into the trace at a time by `scan_fixed_steps`."""


def _write_saves(buffers, saved, index):
    """`buffers` with the stacked `saved` (leading axis: consecutive saves) written from
    save `index` on."""
    return jax.tree.map(lambda buf, x: jax.lax.dynamic_update_slice_in_dim(buf, x, index, 0),
                        buffers, saved)
