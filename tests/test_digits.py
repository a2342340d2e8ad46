"""Digits classification (issue 8): data split, pixel encodings realised by the network
engine, the readout, surrogate gradients, training steps of both methods, checkpoints
(float64)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxneuron.apps.digits import LayeredNetwork, checkpoint, digits, evolution, gradient, stdp
from jaxneuron.apps.digits.layered import INPUT, init_weights
from jaxneuron.apps.digits.training import confusion_matrix, get_method
from jaxneuron.spike_surrogates import FastSigmoid

SPLIT = digits.load_split(0)
SURROGATE = FastSigmoid(0.5, detach_reset=True)


def _small_split(n_train=120, n_val=40):
    return digits.DigitsSplit(
        x_train=SPLIT.x_train[:n_train], y_train=SPLIT.y_train[:n_train],
        x_val=SPLIT.x_val[:n_val], y_val=SPLIT.y_val[:n_val], x_test=SPLIT.x_test[:n_val],
        y_test=SPLIT.y_test[:n_val], index_train=SPLIT.index_train[:n_train],
        index_val=SPLIT.index_val[:n_val], index_test=SPLIT.index_test[:n_val])


# ---------------------------------------------------------------- data


def test_split_is_disjoint_complete_and_stratified():
    idx = [np.asarray(i) for i in (SPLIT.index_train, SPLIT.index_val, SPLIT.index_test)]
    joined = np.concatenate(idx)
    assert joined.size == 1797 == np.unique(joined).size  # sklearn digits: 1797 images
    for a in range(3):
        for b in range(a + 1, 3):
            assert not set(idx[a]) & set(idx[b])
    # stratified: each class's share in each part within one image of the whole set's
    from sklearn.datasets import load_digits
    y = load_digits().target
    for part, labels in zip(idx, (SPLIT.y_train, SPLIT.y_val, SPLIT.y_test), strict=True):
        np.testing.assert_array_equal(y[part], labels)
        expected = np.bincount(y, minlength=10) * part.size / y.size
        assert np.all(np.abs(np.bincount(labels, minlength=10) - expected) <= 1.0)
    assert math.isclose(len(idx[2]) / 1797, 0.2, abs_tol=1e-3)
    again = digits.load_split(0)
    np.testing.assert_array_equal(again.index_test, SPLIT.index_test)
    assert not np.array_equal(digits.load_split(1).index_test, SPLIT.index_test)
    assert SPLIT.x_train.min() == 0.0 and SPLIT.x_train.max() == 1.0


@pytest.mark.parametrize("kwargs", [{"val_fraction": 0.0}, {"test_fraction": 1.0},
                                    {"val_fraction": 0.5, "test_fraction": 0.5}])
def test_split_rejects_bad_fractions(kwargs):
    with pytest.raises(ValueError, match="fraction"):
        digits.load_split(0, **kwargs)


# One network per encoding, always run on 8 images at once, so the engine compiles once.
NETS = {enc: LayeredNetwork(64, 8, 10, encoding=enc, t1=40.0, dt=1.0, max_rate=250.0,
                            t_first=2.0, t_last=30.0, bias_hidden=105.0, bias_out=105.0,
                            lateral_inhibition=1.0) for enc in digits.ENCODINGS}
WEIGHTS = init_weights(jax.random.key(3), 64, 8, 10, mean_in=0.2, mean_out=0.5)
KEYS = jax.random.split(jax.random.key(1), 8)


def _simulate(encoding, images):
    return jax.vmap(lambda im, k: NETS[encoding].simulate(WEIGHTS, im, k))(images, KEYS)


@pytest.mark.slow  # long; keeps make test under 15 minutes
def test_poisson_input_spikes_match_intensity():
    """The engine's pixel population fires Poisson trains at intensity * max_rate: mean
    count rate * T and Fano factor 1, over 16 pixels x 8 runs per intensity."""
    levels = np.array([0.0, 0.25, 0.5, 1.0])
    images = jnp.broadcast_to(jnp.asarray(np.repeat(levels, 16)), (8, 64))
    counts = np.asarray(_simulate("poisson", images).n_spikes[INPUT])
    counts = counts.reshape(8, 4, 16).transpose(1, 0, 2).reshape(4, -1)
    for level, c in zip(levels, counts, strict=True):
        lam = level * 250.0 * 0.040  # expected spikes in 40 ms
        if lam == 0:
            assert c.sum() == 0
            continue
        # the relay passes a spike one step later: those of the last step are cut off
        expected = lam * 39.0 / 40.0
        assert abs(c.mean() - expected) < 4 * math.sqrt(lam / c.size)
        assert abs(c.var(ddof=1) / c.mean() - 1.0) < 0.4  # sd of the ratio ~0.13


@pytest.mark.slow  # long; keeps make test under 15 minutes
def test_latency_input_spikes_once_at_coded_time():
    images = jnp.asarray(SPLIT.x_test[:8])
    rasters = np.asarray(_simulate("latency", images).raster(INPUT))  # (8, steps, 64)
    x = np.asarray(images)
    np.testing.assert_array_equal(rasters.sum(axis=1), x > 0)  # one spike per lit pixel
    t_end = (np.argmax(rasters, axis=1) + 1.0)[x > 0]  # recorded at the end of the step
    coded = (2.0 + (1.0 - x) * 28.0)[x > 0]
    # in the step containing the coded time (one at a step boundary may land either side)
    assert np.all((t_end >= coded - 1e-9) & (t_end < coded + 1.0 + 1e-9))


# ---------------------------------------------------------------- network readout


def test_readout_counts_and_area_from_the_output_raster():
    """counts = output spikes; area = sum over them of (t1 - t_spike), t_spike the end of
    the step (from the engine's raster, independently of the counter population)."""
    images = jnp.asarray(SPLIT.x_train[:8])
    raster = np.asarray(_simulate("poisson", images).raster(2)).astype(float)  # (8, T, 10)
    readout = NETS["poisson"].batch_readout(WEIGHTS, images, jax.random.key(1))
    t_end = np.arange(1, raster.shape[1] + 1) * 1.0
    np.testing.assert_array_equal(readout.counts, raster.sum(axis=1))
    np.testing.assert_allclose(readout.area, np.einsum("btn,t->bn", raster, 40.0 - t_end),
                               atol=1e-9)
    first = np.where(raster.any(axis=1), t_end[np.argmax(raster, axis=1)], np.inf)
    np.testing.assert_array_equal(readout.first_spike, first)


@pytest.mark.slow  # make test-slow: 48 s
def test_surrogate_gradients_reach_every_weight():
    net = LayeredNetwork(64, 8, 10, t1=30.0, bias_hidden=105.0, bias_out=105.0)
    weights = init_weights(jax.random.key(0), 64, 8, 10, mean_in=0.0, mean_out=0.0)
    x, y = jnp.asarray(SPLIT.x_train[:8]), jnp.asarray(SPLIT.y_train[:8])
    grads = jax.grad(lambda w: gradient.loss_and_accuracy(
        net, w, x, y, jax.random.key(1), SURROGATE)[0])(weights)
    readout = net.batch_readout(weights, x, jax.random.key(1))
    assert int(readout.counts.sum()) > 0
    spikes = jax.vmap(lambda im, k: net.simulate(weights, im, k).n_spikes)(
        x, jax.random.split(jax.random.key(1), 8))
    # a weight gets a gradient iff its source spiked (its spikes are the synapse's input),
    # whether or not the target cell spiked: the surrogate reaches sub-threshold cells
    for g, source in ((grads.w_in, spikes[0]), (grads.w_out, spikes[1])):
        active = np.asarray(source).sum(0) > 0
        assert active.sum() > 0.5 * active.size and np.all(np.isfinite(g))
        assert np.all(np.asarray(g)[active] != 0) and np.all(np.asarray(g)[~active] == 0)


@pytest.mark.parametrize("kwargs, match", [
    ({"encoding": "rank"}, "encoding"), ({"n_hidden": 0}, "n_hidden"),
    ({"t_first": 0.0}, "t_first"), ({"lateral_inhibition": -1.0}, "lateral_inhibition")])
def test_network_rejects_bad_arguments(kwargs, match):
    args = {"n_in": 64, "n_hidden": 4, "n_out": 10} | kwargs
    with pytest.raises(ValueError, match=match):
        LayeredNetwork(**args)


def test_unknown_method_and_strategy_raise():
    with pytest.raises(ValueError, match="method"):
        get_method("stdp-not-yet")
    with pytest.raises(ValueError, match="strategy"):
        evolution.train(LayeredNetwork(64, 4, 10), _small_split(), strategy="cma")


def test_confusion_matrix_matches_sklearn():
    from sklearn.metrics import confusion_matrix as reference
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 10, 200), rng.integers(0, 10, 200)
    np.testing.assert_array_equal(confusion_matrix(y, p), reference(y, p, labels=range(10)))


# ---------------------------------------------------------------- training and checkpoints


class _Stop(Exception):
    pass


def _stop_after(marker):
    def log(message):
        if marker in message:
            raise _Stop
    return log


@pytest.mark.slow
def test_gradient_steps_reduce_loss_and_resume_exactly(tmp_path):
    net = LayeredNetwork(64, 8, 10, t1=20.0, max_rate=400.0, bias_hidden=105.0,
                         bias_out=105.0)
    split = _small_split()
    x, y = jnp.asarray(split.x_train), jnp.asarray(split.y_train)

    def loss(w):  # on the whole (small) training set, fixed spikes
        return float(gradient.loss_and_accuracy(net, w, x, y, jax.random.key(5),
                                                SURROGATE)[0])

    key = jax.random.key(0)
    start = init_weights(jax.random.split(key, 3)[0], 64, 8, 10, mean_in=0.0, mean_out=0.0)
    kwargs = dict(epochs=2, batch_size=20, learning_rate=0.05, key=key, progress=False)
    full = gradient.train(net, split, log=lambda *_: None, **kwargs)
    assert loss(full.weights) < loss(start) - 0.05
    assert len(full.history) == 2 and full.network_seconds == pytest.approx(2 * 120 * 0.02)
    # interrupted after the first epoch's checkpoint, then resumed: the same weights
    path = tmp_path / "ckpt.eqx"
    with pytest.raises(_Stop):
        gradient.train(net, split, checkpoint=path, log=_stop_after("epoch 1/"), **kwargs)
    resumed = gradient.train(net, split, checkpoint=path, log=_stop_after("epoch 1/"),
                             **kwargs)
    assert [r["step"] for r in resumed.history] == [1, 2]
    np.testing.assert_allclose(resumed.weights.w_in, full.weights.w_in, rtol=1e-12)
    np.testing.assert_allclose(resumed.weights.w_out, full.weights.w_out, rtol=1e-12)
    with pytest.raises(ValueError, match="settings"):
        gradient.train(net, split, checkpoint=path, log=lambda *_: None,
                       **(kwargs | {"learning_rate": 0.01}))


@pytest.mark.slow
def test_evolution_generations_improve_fitness():
    net = LayeredNetwork(64, 6, 10, t1=20.0, max_rate=400.0, bias_hidden=105.0,
                         bias_out=105.0)
    split = _small_split()
    for strategy in evolution.STRATEGIES:
        result = evolution.train(net, split, strategy=strategy, generations=12,
                                 population_size=16, batch_size=32, eval_every=4,
                                 key=jax.random.key(1), progress=False, log=lambda *_: None)
        fitness = [r["best_fitness"] for r in result.history]
        assert fitness[-1] < fitness[0], (strategy, fitness)
        assert result.network_seconds == pytest.approx(12 * 16 * 32 * 0.02)


def test_checkpoint_roundtrip_and_mismatch(tmp_path):
    weights = init_weights(jax.random.key(0), 64, 5, 10)
    path = checkpoint.save(tmp_path / "w.eqx", weights, {"epoch": 3, "note": "x"})
    loaded, meta = checkpoint.load(path, init_weights(jax.random.key(1), 64, 5, 10))
    np.testing.assert_array_equal(loaded.w_in, weights.w_in)
    np.testing.assert_array_equal(loaded.w_out, weights.w_out)
    assert meta == {"epoch": 3, "note": "x"}
    with pytest.raises(ValueError, match="structure"):
        checkpoint.load(path, init_weights(jax.random.key(1), 64, 6, 10))
    with pytest.raises(ValueError, match="path"):
        checkpoint.load(tmp_path / "missing.eqx", weights)
    assert checkpoint.resume(tmp_path / "missing.eqx", weights, {}) is None
    assert checkpoint.resume(None, weights, {}) is None
    checkpoint.save(path, weights, {"config": {"lr": 1.0}})
    resumed, meta = checkpoint.resume(path, weights, {"lr": 1.0})
    np.testing.assert_array_equal(resumed.w_in, weights.w_in)
    with pytest.raises(ValueError, match="other settings"):
        checkpoint.resume(path, weights, {"lr": 2.0})


# ---------------------------------------------------------------- STDP


@pytest.mark.slow  # long; keeps make test under 15 minutes
def test_stdp_moves_the_winners_weights_onto_the_shown_digit_and_keeps_their_sum():
    """One digit shown 40 times: the cells that fire for it gather weight on its lit
    pixels (Hebbian potentiation), every cell's input weights keep summing to w_total and
    stay inside the bounds."""
    net = LayeredNetwork(64, 4, 10, t1=50.0, max_rate=400.0)
    image = np.asarray(SPLIT.x_train[0])
    lit = image > 0.3
    images = np.broadcast_to(image, (40, 64))
    settings = {"bias_start": 0.0, "bias_rate": 0.0}
    w0 = stdp.normalise(jax.random.uniform(jax.random.key(2), (64 * 4,)), 64, 4,
                        stdp.DEFAULTS["w_total"])
    w, _, counts = stdp.learn_features(net, images, jax.random.key(0), settings=settings,
                                       weights=w0, progress=False)
    w, w0 = np.asarray(w).reshape(64, 4), np.asarray(w0).reshape(64, 4)
    np.testing.assert_allclose(w.sum(axis=0), stdp.DEFAULTS["w_total"], rtol=1e-9)
    assert w.min() >= 0.0 and w.max() <= stdp.DEFAULTS["w_max"]
    fired = counts.sum(axis=0) > 5
    assert fired.any()
    share, share0 = w[lit].sum(axis=0), w0[lit].sum(axis=0)
    assert np.all(share[fired] > share0[fired] + 0.1 * stdp.DEFAULTS["w_total"])


@pytest.mark.slow  # make test-slow: 27 s; resume is covered for the other methods
def test_stdp_phase_resumes_exactly_from_a_chunk():
    net = LayeredNetwork(64, 4, 10, t1=20.0, max_rate=400.0)
    images = np.asarray(SPLIT.x_train[:stdp.CHUNK + 10])
    key = jax.random.key(0)
    whole = stdp.learn_features(net, images, key, progress=False)
    first = stdp.learn_features(net, images[:stdp.CHUNK], key, progress=False)
    rest = stdp.learn_features(net, images[stdp.CHUNK:], key, weights=first[0], bias=first[1],
                               offset=stdp.CHUNK, progress=False)
    np.testing.assert_array_equal(whole[0], rest[0])
    np.testing.assert_array_equal(whole[1], rest[1])
    np.testing.assert_array_equal(whole[2], np.concatenate([first[2], rest[2]]))
