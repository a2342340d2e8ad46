"""What every training method of the layered classifier shares: the loss, batched
evaluation, the result record and the methods' registry.

A training method is one or more variants, each a function `train(net, split, *, quick,
key, checkpoint, log, progress, **options) -> TrainResult` registered in `METHODS`
(method -> variants `(name, "module:function", options)`, imported lazily);
`jaxneuron.apps.workflows.digits` runs every variant of a method the same way and reports the
one with the best validation accuracy. A new method slots in by adding one entry.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .layered import LayeredNetwork, LayeredWeights, Readout

METHODS = {
    "evolution": (("ga", "jaxneuron.apps.digits.evolution:train", {"strategy": "ga"}),
                  ("openes", "jaxneuron.apps.digits.evolution:train", {"strategy": "openes"})),
    "gradient": (("gradient", "jaxneuron.apps.digits.gradient:train", {}),),
    "stdp": (("stdp", "jaxneuron.apps.digits.stdp:train", {}),),
}
"""Registered training methods: method -> variants `(name, "module:function", options)`."""


def get_method(name: str) -> list:
    """The variants of method `name` as `(variant, train)` pairs, `train` taking the
    common arguments (its options bound).

    **Raises:** `ValueError` for a name not in `METHODS`."""
    if name not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}; got {name!r}")
    variants = []
    for variant, target, options in METHODS[name]:
        module, function = target.split(":")
        train = getattr(importlib.import_module(module), function)
        variants.append((variant, functools.partial(train, **options)))
    return variants


@dataclasses.dataclass
class TrainResult:
    """The outcome of a training run.

    - `weights`: the selected `LayeredWeights` (best validation accuracy).
    - `history`: one dict per epoch/generation (keys depend on the method; always `step`,
      `seconds` (wall time since the start), `network_seconds` and `val_accuracy` where
      evaluated).
    - `seconds`: training wall time (s, compilation included; without the time spent in
      earlier, interrupted runs when resumed, which `history` keeps).
    - `network_seconds`: simulated network time used for training (s of presentation,
      summed over every network run; validation runs not included).
    - `config`: the method's settings.
    - `extras`: further results of the method, reported as they are (callables among them
      are predictors to be scored on the test set).
    - `predict`: `predict(images, key) -> (predictions (n,), scores (n, n_out))` for a
      method whose classifier is not the output layer (STDP: a logistic regression on the
      hidden counts); None: the output layer's spikes (`evaluate`).
    """

    weights: LayeredWeights
    history: list[dict]
    seconds: float
    network_seconds: float
    config: dict
    extras: dict = dataclasses.field(default_factory=dict)
    predict: Callable | None = None


def cross_entropy(net: LayeredNetwork, readout: Readout, labels, scale: float = 1.0):
    """Mean softmax cross-entropy of `scale * net.logits(readout)` against integer
    `labels` (any leading batch axes, shared trailing batch axis)."""
    logits = scale * net.logits(readout)
    labels = jnp.broadcast_to(labels, logits.shape[:-1])
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean(axis=-1)


def evaluate(net: LayeredNetwork, weights: LayeredWeights, images, labels, key, *,
             batch_size: int = 512):
    """Predict `images` `(n, n_in)` in batches; **returns** `(accuracy, predictions,
    readout)` as NumPy (the readout's leaves stacked over all images)."""
    images = jnp.asarray(images)
    parts = []
    for i, start in enumerate(range(0, images.shape[0], batch_size)):
        parts.append(_readout_batch(net, weights, images[start:start + batch_size],
                                    jax.random.fold_in(key, i)))
    readout = jax.tree.map(lambda *xs: np.concatenate([np.asarray(x) for x in xs]), *parts)
    predictions = np.asarray(net.predict(readout))
    accuracy = float(np.mean(predictions == np.asarray(labels)))
    return accuracy, predictions, readout


def confusion_matrix(labels, predictions, n_classes: int = 10) -> np.ndarray:
    """`(n_classes, n_classes)` counts: row = true class, column = predicted class."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    return matrix


@eqx.filter_jit
def _readout_batch(net, weights, images, key):
    return net.batch_readout(weights, images, key)
