"""Validation of `jax.random` keys: a plain int (a seed) where a key is expected is the most
common slip, and JAX's own error for it is a deep `TypeError`."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def check_key(key, name: str = "key") -> None:
    """Raise `ValueError` unless `key` is a JAX PRNG key: a typed key
    (`jax.random.key(seed)`, also batched) or a legacy raw key (`jax.random.PRNGKey(seed)`,
    uint32 of shape `(..., 2)`). Works on traced keys (only the dtype and shape are read)."""
    dtype = getattr(key, "dtype", None)
    shape = getattr(key, "shape", None)
    if dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key):
        return
    if dtype == np.uint32 and shape is not None and len(shape) >= 1 and shape[-1] == 2:
        return
    got = type(key).__name__ if dtype is None else f"{type(key).__name__} of dtype {dtype}"
    raise ValueError(f"{name} must be a JAX PRNG key; got {got} {key!r:.40}: use "
                     f"jax.random.key(seed)")
