"""The 8x8 digits of scikit-learn (bundled, no download): a fixed stratified
train/validation/test split from a seed, and the pixel encodings into input drive.

Intensities are the 0..16 pixel values scaled to [0, 1]. Encodings (see
`jaxneuron.apps.digits.sources` for the populations that turn them into spikes):
- `"poisson"` rate coding: a Poisson spike train per pixel at `x * max_rate` Hz;
- `"latency"` coding: one spike per pixel at `t_first + (1 - x)(t_last - t_first)` ms, none
  for a blank pixel (x = 0).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

ENCODINGS = ("poisson", "latency")
N_PIXELS, N_CLASSES = 64, 10


class DigitsSplit(eqx.Module):
    """A train/validation/test split: images `(n, 64)` float in [0, 1], labels `(n,)` int,
    and the row `index` of each example in `sklearn.datasets.load_digits()` (so splits can
    be checked for overlap)."""

    x_train: Float[Array, "n_train 64"]
    y_train: Int[Array, " n_train"]
    x_val: Float[Array, "n_val 64"]
    y_val: Int[Array, " n_val"]
    x_test: Float[Array, "n_test 64"]
    y_test: Int[Array, " n_test"]
    index_train: Int[Array, " n_train"]
    index_val: Int[Array, " n_val"]
    index_test: Int[Array, " n_test"]

    def sizes(self) -> dict:
        return {"train": int(self.y_train.shape[0]), "val": int(self.y_val.shape[0]),
                "test": int(self.y_test.shape[0])}


def load_split(seed: int = 0, *, val_fraction: float = 0.15,
               test_fraction: float = 0.2) -> DigitsSplit:
    """Load the 1797 digits and split them, stratified by class, with `seed`.

    **Arguments:** `val_fraction`, `test_fraction` of the whole set (each in (0, 1), sum
    < 1). **Returns:** a `DigitsSplit` (NumPy-backed arrays).

    **Raises:** `ValueError` for fractions out of range.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    for name, f in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 < f < 1.0:
            raise ValueError(f"{name} must lie in (0, 1); got {f!r}")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(f"val_fraction + test_fraction must be < 1; got "
                         f"{val_fraction + test_fraction}")
    data = load_digits()
    x = data.data.astype(np.float64) / 16.0
    y = data.target.astype(np.int64)
    index = np.arange(y.size)
    rest, test = train_test_split(index, test_size=test_fraction, stratify=y,
                                  random_state=seed)
    train, val = train_test_split(rest, test_size=val_fraction / (1.0 - test_fraction),
                                  stratify=y[rest], random_state=seed + 1)
    return DigitsSplit(x_train=x[train], y_train=y[train], x_val=x[val], y_val=y[val],
                       x_test=x[test], y_test=y[test], index_train=train, index_val=val,
                       index_test=test)


def poisson_rates(images, max_rate: float):
    """Poisson rate coding: rate (Hz) = intensity * `max_rate`, same shape as `images`."""
    return jnp.clip(images, 0.0, 1.0) * max_rate


def latency_times(images, t_first: float, t_last: float):
    """Latency coding: spike time (ms) `t_first + (1 - x)(t_last - t_first)` for x > 0,
    `inf` for x = 0; same shape as `images`."""
    x = jnp.clip(images, 0.0, 1.0)
    return jnp.where(x > 0, t_first + (1.0 - x) * (t_last - t_first), jnp.inf)


def latency_rates(images, t_first: float, t_last: float):
    """The `LatencySource` rate (1/ms) that fires at `latency_times`: its reciprocal
    (0 for a blank pixel)."""
    times = latency_times(images, t_first, t_last)
    return jnp.where(jnp.isfinite(times), 1.0 / jnp.where(jnp.isfinite(times), times, 1.0),
                     0.0)
