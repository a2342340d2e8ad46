"""End-to-end gradient training of the layered classifier with Optax, through the
simulation with surrogate spike derivatives.

Each minibatch is simulated by `simulate_network` with a surrogate (its gradients reach
every neuron, also those that did not spike; the reset is detached); the loss is the
cross-entropy of the scaled output spike counts (Poisson coding) or of the first-spike
weighted counts (latency coding). After each epoch the validation accuracy is measured;
the weights of the best epoch are returned.
A checkpoint after every epoch (weights, optimiser state, best weights, history) makes an
interrupted run resume where it stopped.
"""

from __future__ import annotations

import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

from ..._checks import check_int
from ...spike_surrogates import AbstractSurrogate, FastSigmoid
from . import checkpoint as ckpt
from .digits import DigitsSplit
from .layered import LayeredNetwork, LayeredWeights, init_weights
from .training import TrainResult, cross_entropy, evaluate


def loss_and_accuracy(net: LayeredNetwork, weights: LayeredWeights, images, labels, key,
                      surrogate: AbstractSurrogate, scale: float = 1.0):
    """Cross-entropy loss (differentiable) and accuracy of one minibatch `(batch, n_in)`."""
    readout = net.batch_readout(weights, images, key, surrogate)
    loss = cross_entropy(net, readout, labels, scale)
    return loss, jnp.mean(net.predict(readout) == labels)


def train(net: LayeredNetwork, split: DigitsSplit, *, quick: bool = False,
          key: jax.Array | None = None, epochs: int | None = None, batch_size: int = 32,
          learning_rate: float = 0.02, optimizer: optax.GradientTransformation | None = None,
          surrogate: AbstractSurrogate | None = None, scale: float = 1.0,
          init: LayeredWeights | None = None, checkpoint: str | Path | None = None,
          log=print, progress: bool = True) -> TrainResult:
    """Train `net` on `split.x_train` by minibatch gradient descent.

    **Arguments:**
    - `epochs`: passes over the training set (default 25; 3 with `quick`).
    - `batch_size`: images per step; `learning_rate`: peak of the default optimiser (Adam
      with a cosine decay to 5 % over all steps); `optimizer`: any Optax transformation
      instead.
    - `surrogate`: spike surrogate (default `FastSigmoid(0.5, detach_reset=True)`, width
      ~2 mV).
    - `scale`: logits = `scale` x spike counts.
    - `init`: initial weights (default `init_weights` with zero means).
    - `checkpoint`: file to save after every epoch and resume from (same settings).

    **Returns:** a `TrainResult`. **Raises:** `ValueError` for bad sizes.
    """
    epochs = (3 if quick else 25) if epochs is None else epochs
    epochs = check_int("epochs", epochs, 1)
    n_train = int(split.y_train.shape[0])
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or not (
            1 <= batch_size <= n_train):
        raise ValueError(f"batch_size must be an int in [1, {n_train}]; got {batch_size!r}")
    key = jax.random.key(0) if key is None else key
    surrogate = FastSigmoid(0.5, detach_reset=True) if surrogate is None else surrogate
    steps_per_epoch = n_train // batch_size
    if optimizer is None:
        optimizer = optax.adam(optax.cosine_decay_schedule(
            learning_rate, epochs * steps_per_epoch, alpha=0.05))
    config = {"method": "gradient", "epochs": epochs, "batch_size": batch_size,
              "learning_rate": learning_rate, "surrogate": type(surrogate).__name__,
              "surrogate_slope": float(surrogate.slope), "scale": scale,
              "n_hidden": net.n_hidden, "encoding": net.encoding, "t1_ms": net.t1,
              "dt_ms": net.dt}
    k_init, k_data, k_val = jax.random.split(key, 3)
    weights = init_weights(k_init, net.n_in, net.n_hidden, net.n_out, mean_in=0.0,
                           mean_out=0.0) if init is None else init
    state = (weights, optimizer.init(weights), weights)  # current, optimiser, best
    history, start_epoch, best_val, past_seconds = [], 0, -1.0, 0.0
    if (resumed := ckpt.resume(checkpoint, state, config)) is not None:
        state, meta = resumed
        history, start_epoch = meta["history"], meta["epoch"]
        best_val, past_seconds = meta["best_val"], meta["seconds"]
        log(f"  resuming from {checkpoint} after epoch {start_epoch}")

    @eqx.filter_jit
    def step(state, images, labels, k):
        weights, opt_state, best = state
        (loss, acc), grads = eqx.filter_value_and_grad(
            lambda w: loss_and_accuracy(net, w, images, labels, k, surrogate, scale),
            has_aux=True)(weights)
        updates, opt_state = optimizer.update(grads, opt_state, weights)
        return (optax.apply_updates(weights, updates), opt_state, best), loss, acc

    x_train, y_train = jnp.asarray(split.x_train), jnp.asarray(split.y_train)
    t_start = time.perf_counter()
    bar = tqdm(range(start_epoch, epochs), desc="gradient epochs", disable=not progress,
               leave=False)
    for epoch in bar:
        k_epoch = jax.random.fold_in(k_data, epoch)
        order = np.asarray(jax.random.permutation(k_epoch, n_train))
        losses, accs = [], []
        for b in range(steps_per_epoch):
            idx = order[b * batch_size:(b + 1) * batch_size]
            state, loss, acc = step(state, x_train[idx], y_train[idx],
                                    jax.random.fold_in(k_epoch, b))
            losses.append(float(loss))
            accs.append(float(acc))
        val, _, _ = evaluate(net, state[0], split.x_val, split.y_val, k_val)
        if val > best_val:
            best_val, state = val, (state[0], state[1], state[0])
        seconds = past_seconds + time.perf_counter() - t_start
        row = {"step": epoch + 1, "train_loss": float(np.mean(losses)),
               "train_accuracy": float(np.mean(accs)), "val_accuracy": val,
               "seconds": seconds,
               "network_seconds": (epoch + 1) * steps_per_epoch * batch_size * net.t1 / 1e3}
        history.append(row)
        bar.set_postfix(loss=f"{row['train_loss']:.3f}", val=f"{val:.3f}")
        if checkpoint is not None:
            ckpt.save(checkpoint, state, {"config": config, "history": history,
                                          "epoch": epoch + 1, "best_val": best_val,
                                          "seconds": seconds})
        log(f"  epoch {epoch + 1}/{epochs}: loss {row['train_loss']:.3f}, train accuracy "
            f"{row['train_accuracy']:.3f}, validation {val:.3f} ({seconds:.0f} s)")
    seconds = past_seconds + time.perf_counter() - t_start
    return TrainResult(weights=state[2], history=history, seconds=seconds,
                       network_seconds=epochs * steps_per_epoch * batch_size * net.t1 / 1e3,
                       config=config)
