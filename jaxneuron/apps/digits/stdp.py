"""Unsupervised STDP in the hidden layer of the layered classifier, then a trained readout.

Phase 1 (unsupervised; labels unused): the training images are shown one after another to
the input -> hidden part of the network. The input synapses learn by
`jaxneuron.network.STDP` inside the simulation (soft-bounded, multiplicative rule); the
hidden cells inhibit one another (all-to-all `g_i`), so they compete for the inputs; after
each image two homeostatic rules act, as in Diehl & Cook 2015 (Front. Comput. Neurosci.
9:99):
- each hidden cell's input weights are rescaled to the sum `w_total` (nS);
- its bias current moves toward a target spike count per image (an adaptive threshold).

Phase 2 (supervised readout): the learned input weights are frozen; the classifier's
hidden spike counts for every image (the same network the other methods are tested on,
without plasticity or lateral inhibition) are read out by a logistic regression
(scikit-learn, standardised counts, regularisation chosen on the validation set). The
method's prediction is that readout's, not the output layer's.

For reference, the same readout of random input weights of the same sum (the initial
weights) is reported too: it says how much STDP adds over a random projection.
"""

from __future__ import annotations

import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from ..._checks import check_int
from ...network import (
    CurrentInput,
    Network,
    Projection,
    StateJump,
    all_to_all,
    simulate_network,
)
from ...network.plasticity import STDP
from . import checkpoint as ckpt
from .digits import DigitsSplit
from .layered import HIDDEN, INPUT, LayeredNetwork, LayeredWeights
from .training import TrainResult

DEFAULTS = {
    "w_total": 3.0,        # nS, sum of each hidden cell's input weights
    "w_max": 0.5,          # nS, STDP upper bound
    "A_plus": 0.01,        # nS per pair
    "A_minus": 0.0105,     # nS per pair
    "tau_stdp": 20.0,      # ms
    "inhibition": 40.0,    # nS, hidden -> hidden lateral inhibition (winner-take-all)
    "bias_start": 0.0,     # pA
    "target_spikes": 0.15,  # per hidden cell and image
    "bias_rate": 2.0,      # pA per spike of deviation from the target, per image
}
"""Phase-1 settings (see the module docstring)."""

CHUNK = 50
"""Images per compiled call in phase 1 (progress and checkpoints after each chunk)."""


def stdp_network(net: LayeredNetwork, weights, bias, settings: dict) -> Network:
    """The input -> hidden network of `net` with plastic input synapses (`weights`: the
    flattened `(n_in, n_hidden)` matrix, nS), lateral inhibition and per-cell `bias` (pA)."""
    sk = net.skeleton
    rule = STDP(A_plus=settings["A_plus"], A_minus=settings["A_minus"],
                tau_plus=settings["tau_stdp"], tau_minus=settings["tau_stdp"],
                w_min=0.0, w_max=settings["w_max"], rule="multiplicative")
    n_h = net.n_hidden
    plastic = Projection(INPUT, HIDDEN, all_to_all(net.n_in, n_h, 0.0),
                         StateJump("g_e"), plasticity=rule)
    plastic = eqx.tree_at(lambda p: p.connectivity.weights, plastic, weights)
    lateral = Projection(HIDDEN, HIDDEN, all_to_all(n_h, n_h, settings["inhibition"]
                                                    * (1.0 - np.eye(n_h))),
                         StateJump("g_i"))
    poisson = tuple(i for i in sk.inputs if not isinstance(i, CurrentInput))
    return Network((sk.populations[INPUT], sk.populations[HIDDEN]), (plastic, lateral),
                   poisson + (CurrentInput(HIDDEN, bias),))


def normalise(weights, n_in: int, n_hidden: int, w_total: float):
    """Rescale each hidden cell's input weights (columns of the `(n_in, n_hidden)` matrix,
    flattened) to sum to `w_total`."""
    w = weights.reshape(n_in, n_hidden)
    return (w * (w_total / jnp.maximum(w.sum(axis=0, keepdims=True), 1e-12))).reshape(-1)


def initial_state(net: LayeredNetwork, key, settings: dict):
    """Phase 1's start: random input weights of sum `w_total` per hidden cell (flattened
    `(n_in, n_hidden)`, nS) and the bias `bias_start` (pA) for every cell."""
    weights = jax.random.uniform(key, (net.n_in * net.n_hidden,))
    return (normalise(weights, net.n_in, net.n_hidden, settings["w_total"]),
            jnp.full((net.n_hidden,), settings["bias_start"]))


def learn_features(net: LayeredNetwork, images, key, *, settings: dict | None = None,
                   weights=None, bias=None, offset: int = 0, progress: bool = True,
                   on_chunk=None):
    """Phase 1: present `images` (`(n, n_in)`) once each, in order; image `i` draws its
    Poisson spikes from `fold_in(key, offset + i)` (so a resumed run continues exactly).

    `weights`, `bias`: the state to start from (default: random weights of sum `w_total`
    per cell, `bias_start`). `on_chunk(done, weights, bias, counts)` is called after every
    `CHUNK` images (for checkpoints). **Returns:** `(weights, bias, counts)`, `counts` the
    hidden spike counts `(n, n_hidden)` during learning.
    """
    settings = DEFAULTS | (settings or {})
    n_in, n_h = net.n_in, net.n_hidden
    start = initial_state(net, key, settings)
    weights = start[0] if weights is None else weights
    bias = start[1] if bias is None else bias

    @eqx.filter_jit
    def chunk(weights, bias, images, keys):
        def present(carry, xs):
            w, b = carry
            image, k = xs
            network = net.encode(stdp_network(net, w, b, settings), image)
            result = simulate_network(network, net.t1, net.dt, k, throw=False)
            counts = result.n_spikes[1]
            w = normalise(result.weights[0], n_in, n_h, settings["w_total"])
            b = b + settings["bias_rate"] * (settings["target_spikes"] - counts)
            return (w, b), counts

        return jax.lax.scan(present, (weights, bias), (images, keys))

    images = jnp.asarray(images)
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(
        offset + jnp.arange(images.shape[0]))
    counts = []
    for start in tqdm(range(0, images.shape[0], CHUNK), desc="STDP images",
                      disable=not progress, leave=False):
        stop = start + CHUNK
        (weights, bias), c = chunk(weights, bias, images[start:stop], keys[start:stop])
        counts.append(np.asarray(c))
        if on_chunk is not None:
            on_chunk(min(stop, images.shape[0]), weights, bias, np.concatenate(counts))
    return weights, bias, np.concatenate(counts) if counts else np.zeros((0, n_h))


def hidden_counts(net: LayeredNetwork, w_in, images, key, batch: int = 256) -> np.ndarray:
    """Hidden spike counts `(n, n_hidden)` of the classifier `net` with input weights
    `w_in` `(n_in, n_hidden)` (the test-time network, no plasticity)."""
    weights = LayeredWeights(w_in=w_in, w_out=jnp.zeros((net.n_hidden, net.n_out)))
    images = jnp.asarray(images)
    return np.concatenate([
        np.asarray(_hidden_counts_batch(net, weights, images[i:i + batch],
                                        jax.random.fold_in(key, i)))
        for i in range(0, images.shape[0], batch)])


@eqx.filter_jit
def _hidden_counts_batch(net, weights, images, key):
    return jax.vmap(lambda im, k: net.simulate(weights, im, k).n_spikes[HIDDEN])(
        images, jax.random.split(key, images.shape[0]))


def fit_linear_readout(train_x, train_y, val_x, val_y):
    """Logistic regression (scikit-learn) on standardised spike counts, the inverse
    regularisation `C` chosen on the validation set. **Returns:** `(model, val_accuracy,
    C)`."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    best = None
    for c in (0.01, 0.1, 1.0, 10.0):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
        model.fit(train_x, train_y)
        val = float(model.score(val_x, val_y))
        if best is None or val > best[1]:
            best = (model, val, c)
    return best


def train(net: LayeredNetwork, split: DigitsSplit, *, quick: bool = False,
          key: jax.Array | None = None, epochs: int | None = None,
          readout_epochs: int | None = None, settings: dict | None = None,
          checkpoint: str | Path | None = None, log=print, progress: bool = True
          ) -> TrainResult:
    """Phase 1 (STDP, `epochs` passes over the training images, default 1; a 300-image
    pass with `quick`), then phase 2 (the logistic-regression readout of the hidden
    counts). Phase 1 resumes from `checkpoint` (its state after every chunk of images).

    **Returns:** a `TrainResult` with `predict` (the readout), `weights` (`w_in` learned,
    `w_out` zero: the output layer is not used) and `extras` (validation accuracy, the
    random-weights reference, phase-1 activity).
    """
    epochs = 1 if epochs is None else epochs
    epochs = check_int("epochs", epochs, 1)
    settings = DEFAULTS | (settings or {})
    key = jax.random.key(0) if key is None else key
    k_learn, k_feat = jax.random.split(key)
    x_train = np.asarray(split.x_train[:300] if quick else split.x_train)
    order = np.concatenate([np.asarray(jax.random.permutation(jax.random.fold_in(k_learn, e),
                                                              x_train.shape[0]))
                            for e in range(epochs)])
    images = x_train[order]
    config = {"method": "stdp", "epochs": epochs, "images": int(images.shape[0]), **settings,
              "n_hidden": net.n_hidden, "encoding": net.encoding, "t1_ms": net.t1,
              "dt_ms": net.dt, "readout": "logistic regression on hidden spike counts"}
    n_in, n_h = net.n_in, net.n_hidden
    state = initial_state(net, k_learn, settings)
    initial_weights = state[0]
    done, past, counts_done = 0, 0.0, np.zeros((0, n_h))
    if (resumed := ckpt.resume(checkpoint, state, config)) is not None:
        state, meta = resumed
        done, past = meta["done"], meta["seconds"]
        counts_done = np.asarray(meta["counts"]).reshape(-1, n_h)
        log(f"  resuming STDP after {done} of {images.shape[0]} images")
    start = time.perf_counter()

    def save(n, w, b, counts):
        if checkpoint is not None:
            ckpt.save(checkpoint, (w, b), {"config": config, "done": done + n,
                                       "seconds": past + time.perf_counter() - start,
                                       "counts": np.concatenate([counts_done, counts])})

    log(f"  phase 1: STDP on {images.shape[0] - done} images ({net.t1:.0f} ms each)")
    w, _, counts = learn_features(net, images[done:], k_learn, settings=settings,
                                  weights=state[0], bias=state[1], offset=done,
                                  progress=progress, on_chunk=save)
    counts = np.concatenate([counts_done, counts])
    stdp_seconds = past + time.perf_counter() - start
    log(f"  phase 1 done in {stdp_seconds:.0f} s: {int((counts.sum(0) > 0).sum())}/{n_h} "
        f"hidden cells fired; {counts.sum(1).mean():.2f} hidden spikes per image")

    readouts = {}
    for name, weights in (("stdp", w.reshape(n_in, n_h)),
                          ("random", initial_weights.reshape(n_in, n_h))):
        train_x, val_x = (hidden_counts(net, weights, x, jax.random.fold_in(k_feat, i))
                          for i, x in enumerate((split.x_train, split.x_val)))
        readouts[name] = (weights, *fit_linear_readout(train_x, split.y_train, val_x,
                                                       split.y_val))
        log(f"  phase 2: logistic regression on hidden counts ({name} input weights): "
            f"validation {readouts[name][2]:.3f}")
    seconds = past + time.perf_counter() - start
    w_in, model, val, c = readouts["stdp"]

    def predict(images, key):
        """Predicted digits `(n,)` and class scores `(n, 10)` of `images`."""
        feats = hidden_counts(net, w_in, images, key)
        return model.predict(feats), model.decision_function(feats)

    def predict_random(images, key):
        feats = hidden_counts(net, readouts["random"][0], images, key)
        return readouts["random"][1].predict(feats), None

    steps = np.arange(CHUNK, counts.shape[0] + CHUNK, CHUNK).clip(max=counts.shape[0])
    history = [{"step": int(n), "hidden_spikes_per_image":
                float(counts[max(0, n - CHUNK):n].sum(1).mean()),
                "val_accuracy": val if n == steps[-1] else float("nan"),
                "seconds": stdp_seconds * n / counts.shape[0] if n < steps[-1] else seconds,
                "network_seconds": (n + (2 * (split.x_train.shape[0] + split.x_val.shape[0])
                                         if n == steps[-1] else 0)) * net.t1 / 1e3}
               for n in steps]
    extras = {"stdp_seconds": stdp_seconds, "readout_C": c,
              "random_weights_val_accuracy": readouts["random"][2],
              "random_weights_predict": predict_random,
              "hidden_spikes_per_image": float(counts.sum(1).mean())}
    return TrainResult(weights=LayeredWeights(w_in=w_in, w_out=jnp.zeros((n_h, net.n_out))),
                       history=history, seconds=seconds,
                       network_seconds=history[-1]["network_seconds"], config=config,
                       extras=extras, predict=predict)
