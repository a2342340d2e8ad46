"""Array helpers shared by models and engines."""

from __future__ import annotations

import jax


def unstack(y: jax.Array) -> tuple[jax.Array, ...]:
    """The entries of `y` along its first axis, as a tuple (`tuple(y)` for a 1-D state).

    One `lax.split`, whose reverse-mode transpose is one concatenate of the entries'
    cotangents. Indexing entry by entry (`y[i]`, `a, b = y`) transposes instead to one
    zero-padded copy of `y` per entry, which XLA:CPU does not fold away: through a
    solver step that made a reverse-mode HH gradient about 5x slower (benchmarks/README.md,
    hh_gradient.py).
    """
    n = y.shape[0]
    if n == 0:
        return ()
    return tuple(part.reshape(y.shape[1:]) for part in jax.lax.split(y, (1,) * n))
