"""Surrogate toolkit: dataset, split, scaler, training, checkpoints, rollout (float64)."""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron import emulators as sg

DT_SAVE = 0.5


def arrays(tree):
    return jax.tree.leaves(eqx.filter(tree, eqx.is_array))


@pytest.fixture(scope="module")
def dataset():
    return sg.generate_dataset(
        jn.RestingMembrane(), n_runs=24, t1=20.0, dt_save=DT_SAVE,
        param_ranges={"K_o": (4.0, 7.0)}, initial_ranges={"V": (-90.0, -40.0)},
        current=sg.CurrentSpec(amplitude=(-2.0, 2.0)), seed=3, dt=0.1, progress=False)


@pytest.fixture(scope="module")
def parts(dataset):
    return sg.split_by_run(dataset, (0.5, 0.25, 0.25), seed=1)


TINY = sg.TrainConfig(arch="mlp", hidden_size=16, depth=1, window=8, batch_size=16, epochs=1,
                      loss="teacher", learning_rate=1e-2, seed=5)


def test_dataset_samples_and_round_trips(dataset, tmp_path):
    assert dataset.states.shape == (24, 41, 1) and dataset.currents.shape == (24, 41, 1)
    k_o = dataset.params["K_o"]
    assert np.all((k_o >= 4.0) & (k_o <= 7.0)) and np.unique(k_o).size == 24
    assert np.all((dataset.v[:, 0] >= -90.0) & (dataset.v[:, 0] <= -40.0))
    loaded = sg.Dataset.load(dataset.save(tmp_path / "data.npz"))
    for name in ("ts", "states", "currents", "run_ids"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(dataset, name))
    np.testing.assert_array_equal(loaded.params["K_o"], k_o)
    assert loaded.metadata == dataset.metadata
    assert loaded.metadata["model"] == "RestingMembrane" and loaded.metadata["seed"] == 3
    assert loaded.metadata["param_ranges"] == {"K_o": [4.0, 7.0]}
    assert loaded.metadata["dt"] == 0.1 and loaded.metadata["dt_save"] == DT_SAVE


def test_dataset_rejects_unknown_names():
    with pytest.raises(ValueError, match="param_ranges"):
        sg.generate_dataset(jn.RestingMembrane(), n_runs=2, t1=2.0, dt_save=DT_SAVE,
                            param_ranges={"g_bogus": (0.0, 1.0)})
    with pytest.raises(ValueError, match="initial_ranges"):
        sg.generate_dataset(jn.RestingMembrane(), n_runs=2, t1=2.0, dt_save=DT_SAVE,
                            initial_ranges={"K_i": (0.0, 1.0)})


def test_split_has_no_run_overlap(dataset, parts):
    ids = [set(parts[k].run_ids.tolist()) for k in sg.data.SPLITS]
    assert all(a.isdisjoint(b) for i, a in enumerate(ids) for b in ids[i + 1:])
    assert set().union(*ids) == set(dataset.run_ids.tolist())
    assert [len(s) for s in ids] == [12, 6, 6]
    for part in parts.values():  # every run keeps its own trajectory, current and parameters
        rows = np.searchsorted(dataset.run_ids, part.run_ids)
        np.testing.assert_array_equal(part.states, dataset.states[rows])
        np.testing.assert_array_equal(part.currents, dataset.currents[rows])
        np.testing.assert_array_equal(part.params["K_o"], dataset.params["K_o"][rows])


def test_scaler_is_fitted_on_train_only(dataset, parts):
    train_runs = parts["train"]
    scaler = sg.Standardizer.fit(train_runs)
    v = train_runs.v  # independent: NumPy statistics of the training runs only
    np.testing.assert_allclose(scaler.state_mean, [v.mean()], rtol=1e-12)
    np.testing.assert_allclose(scaler.state_std, [v.std()], rtol=1e-12)
    np.testing.assert_allclose(scaler.delta_std, [np.diff(v, axis=1).std()], rtol=1e-12)
    assert not np.allclose(scaler.state_mean, sg.Standardizer.fit(dataset).state_mean)

    # Training with different validation data gives the same scaler and (one epoch, so the
    # same best epoch) the same network: held-out data never leaks into either.
    changed = dataclasses.replace(parts["val"], states=parts["val"].states * 3.0 + 40.0)
    a = sg.train(train_runs, parts["val"], TINY, progress=False)
    b = sg.train(train_runs, changed, TINY, progress=False)
    for s in (a.emulator.scaler, b.emulator.scaler):
        assert all(np.array_equal(x, y) for x, y in zip(arrays(s), arrays(scaler),
                                                        strict=True))
    assert all(np.array_equal(x, y) for x, y in zip(arrays(a.emulator), arrays(b.emulator),
                                                    strict=True))


def _mean_window_loss(net, scaler, data, config):
    ys, us = sg.windows(data, config.window)
    losses = jax.vmap(lambda y, u: sg.window_loss(net, scaler, y, u, config.loss))(ys, us)
    return float(jnp.mean(losses))


@pytest.mark.parametrize("arch", ["mlp", "lstm", pytest.param("node", marks=pytest.mark.slow)])
def test_a_few_training_steps_decrease_the_loss(parts, arch):
    config = dataclasses.replace(TINY, arch=arch, epochs=3, loss="rollout")
    result = sg.train(parts["train"], parts["val"], config, progress=False)
    scaler = result.emulator.scaler
    initial = sg.make_net(result.net_config, key=jax.random.PRNGKey(config.seed))
    before = _mean_window_loss(initial, scaler, parts["train"], config)
    after = _mean_window_loss(result.emulator.net, scaler, parts["train"], config)
    assert after < 0.5 * before
    assert len(result.history) == 3 and result.best_epoch >= 1


@pytest.mark.parametrize("arch", sg.ARCHITECTURES)
def test_checkpoint_round_trips_bit_identically(parts, tmp_path, arch):
    config = sg.NetConfig(arch, n_states=1, n_inputs=1, hidden_size=8, depth=2)
    scaler = sg.Standardizer.fit(parts["train"])
    surrogate = sg.Emulator(sg.make_net(config, key=jax.random.PRNGKey(7)), scaler)
    sg.save_checkpoint(tmp_path / arch, surrogate, config, TINY, extra={"note": "x"})
    loaded, info = sg.load_checkpoint(tmp_path / arch)
    assert jax.tree.structure(loaded) == jax.tree.structure(surrogate)
    for x, y in zip(arrays(loaded), arrays(surrogate), strict=True):
        assert x.dtype == y.dtype and np.array_equal(x, y)
    assert info["net"]["arch"] == arch and info["train"]["seed"] == TINY.seed
    assert info["extra"] == {"note": "x"}
    test = parts["test"]
    np.testing.assert_array_equal(sg.rollouts(loaded, test.states[:, 0], test.currents),
                                  sg.rollouts(surrogate, test.states[:, 0], test.currents))


class ExactStep(sg.AbstractEmulatorNet):
    """The true one-step map: integrates the model over one save interval (independent of
    the dataset code path, which simulates whole runs)."""

    model: jn.RestingMembrane
    scaler: sg.Standardizer
    shift: int = eqx.field(static=True, default=0)

    def init_carry(self):
        return jnp.zeros((0,))

    def step(self, carry, features):
        s = self.scaler
        y = features[:1] * s.state_std + s.state_mean
        ends = features[1:] * s.input_std[0] + s.input_mean[0]
        current = jn.SampledCurrent(ends[::-1] if self.shift else ends, DT_SAVE)
        y1 = jn.simulate(self.model, current, t1=DT_SAVE, dt=0.1, y0=y).final_state
        return carry, (y1 - y - s.delta_mean) / s.delta_std


@pytest.mark.slow
def test_rollout_with_the_true_step_map_reproduces_the_data(parts):
    test = parts["test"]
    scaler = sg.Standardizer.fit(parts["train"])
    for k in range(3):
        model = jn.RestingMembrane(K_o=test.params["K_o"][k])
        exact = sg.Emulator(ExactStep(model, scaler), scaler)
        states, currents = test.states[k:k + 1], test.currents[k:k + 1]
        roll = np.asarray(sg.rollouts(exact, states[:, 0], currents))
        one = np.asarray(sg.one_steps(exact, states, currents))
        np.testing.assert_allclose(roll, states, rtol=0, atol=1e-9)
        np.testing.assert_allclose(one, states, rtol=0, atol=1e-9)
        assert sg.rollout_rmse(exact, states, currents) < 1e-9
        # Control: the same map fed the step's currents in the wrong order is visibly off.
        wrong = sg.Emulator(ExactStep(model, scaler, shift=1), scaler)
        assert sg.rollout_rmse(wrong, states, currents) > 1e-3


def test_evaluate_reports_both_errors(parts):
    scaler = sg.Standardizer.fit(parts["train"])
    test = parts["test"]
    model = jn.RestingMembrane(K_o=float(np.mean(test.params["K_o"])))
    metrics = sg.evaluate(sg.Emulator(ExactStep(model, scaler), scaler), test)
    n_runs, n_t = test.v.shape
    assert metrics["v_rollout"].shape == (n_runs, n_t)
    assert metrics["per_run_rollout_mv"].shape == (n_runs,)
    # One model for runs with different K_o: errors are nonzero, one-step below rollout.
    assert 0 < metrics["one_step_rmse_mv"] < metrics["rollout_rmse_mv"]
    np.testing.assert_allclose(metrics["rmse_vs_horizon_mv"][0], 0.0, atol=1e-12)


# --- spiking targets: spike metrics, the network dataset, the izhikevich pipeline --------

def test_spike_matching_on_hand_made_trains():
    # true 10, 20, 30, 40; predicted 11 (hit), 23.5 (miss, 3.5 ms late), 29 (hit), 60 (extra)
    assert sg.match_spikes([10.0, 20.0, 30.0, 40.0], [11.0, 23.5, 29.0, 60.0]) == 2
    scores = sg.spike_scores([np.array([10.0, 20.0, 30.0, 40.0])],
                                      [np.array([11.0, 23.5, 29.0, 60.0])], duration=100.0)
    assert scores["precision"] == 0.5 and scores["recall"] == 0.5 and scores["f1"] == 0.5
    # one-to-one: two predictions near one true spike count once; ±2 ms is inclusive
    scores = sg.spike_scores([np.array([10.0]), np.array([50.0, 70.0])],
                                      [np.array([9.0, 11.0]), np.array([52.0])], 1000.0)
    assert (scores["n_matched"], scores["n_true"], scores["n_pred"]) == (2, 3, 3)
    np.testing.assert_allclose(scores["f1"], 2 / 3)
    np.testing.assert_allclose(scores["rate_error_hz"], 1.0)  # |2-1| and |1-2| spikes in 1 s
    empty = sg.spike_scores([np.array([])], [np.array([])], 100.0)
    assert empty["f1"] == 1.0


def test_spike_metrics_detect_resets_in_voltage_traces():
    ts = np.arange(0.0, 100.5, 0.5)
    true = np.full((1, ts.size, 2), -65.0)
    pred = true.copy()
    for t in (20.0, 50.0, 80.0):  # neuron 0: resets at 20, 50, 80 ms
        k = int(t / 0.5)
        true[0, k - 2:k, 0] = (-40.0, 10.0)
    for t in (21.5, 50.0, 84.0):  # predicted 1.5 ms late, on time, 4 ms late
        k = int(t / 0.5)
        pred[0, k - 2:k, 0] = (-40.0, 10.0)
    s = sg.spike_metrics(ts, true, pred)
    assert (s["n_true"], s["n_pred"], s["n_matched"]) == (3, 3, 2)
    np.testing.assert_allclose(s["per_neuron_f1"], [2 / 3, 1.0])  # neuron 1 silent in both


@pytest.fixture(scope="module")
def network_data():
    return sg.generate_network_dataset(jn.Izhikevich.preset("RS"), n_runs=12, t1=20.0,
                                    dt_save=0.5, initial_ranges={"v": (-70.0, -55.0)}, seed=2)


def test_network_dataset_has_five_inputs_and_splits_by_run(network_data, tmp_path):
    d = network_data
    assert d.currents.shape == (12, 41, 5) and d.states.shape == (12, 41, 10)
    assert d.voltage_index == (0, 1, 2, 3, 4) and d.v.shape == (12, 41, 5)
    assert len(d.params) == 20 and d.state_names[:2] == ("v_0", "v_1")
    assert not np.allclose(d.currents[:, :, 0], d.currents[:, :, 1])  # own current each
    assert np.all((d.v[:, 0] >= -70.0) & (d.v[:, 0] <= -55.0))
    parts = sg.split_by_run(d, (0.5, 0.25, 0.25), seed=0)
    ids = [set(parts[k].run_ids.tolist()) for k in sg.data.SPLITS]
    assert all(a.isdisjoint(b) for i, a in enumerate(ids) for b in ids[i + 1:])
    assert set().union(*ids) == set(d.run_ids.tolist())
    loaded = sg.Dataset.load(d.save(tmp_path / "net.npz"))
    assert loaded.voltage_index == d.voltage_index
    np.testing.assert_array_equal(loaded.states, d.states)


def test_network_dataset_matches_a_single_unconnected_neuron(network_data):
    # With zero weights each neuron is alone: the engine's run equals jaxneuron.simulate.
    d = network_data
    model = jn.Izhikevich.preset("RS")
    y0 = d.states[:2, 0].reshape(2, 2, 5).transpose(0, 2, 1)
    out = np.asarray(sg.simulate_network_runs(model, np.zeros((2, 20), np.float32),
                                           d.currents[:2], y0, dt_save=0.5, dt=0.1))
    for r in range(2):
        for i in (0, 3):
            trace = jn.simulate(model, jn.SampledCurrent(d.currents[r, :, i], 0.5), t1=20.0,
                                dt=0.1, y0=y0[r, i], save_every=0.5)
            np.testing.assert_allclose(out[r, :, i], np.asarray(trace.states), atol=1e-3)


@pytest.mark.slow  # 30-40 s on 2 cores: keeps make test under 15 minutes
def test_izhikevich_pipeline_writes_summary(tmp_path):
    import json

    from jaxneuron.apps.workflows.surrogate import run_izhikevich

    def stage(name):
        return run_izhikevich(tmp_path, quick=True, plots=1, epochs=1, n_runs=20,
                              stage=name, log=lambda _: None)

    with pytest.raises(ValueError, match="dataset"):
        stage("train")  # nothing in the folder yet
    stage("dataset")
    with pytest.raises(ValueError, match="checkpoint"):
        stage("evaluate")
    stage("train")
    summary = stage("evaluate")
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    for key in ("rollout_rmse_mv", "one_step_rmse_mv", "spike_f1", "speedup_vs_solver"):
        assert np.isfinite(on_disk[key]) and on_disk[key] == pytest.approx(summary[key])
    assert 0.0 <= on_disk["spike_f1"] <= 1.0 and len(on_disk["per_neuron_rollout_rmse_mv"]) == 5
    assert len(list(tmp_path.glob("test_run_*.png"))) == 1
    loaded, _ = sg.load_checkpoint(tmp_path / "checkpoint")
    assert loaded.bounds is not None and loaded.bounds.shape == (2, 10)


def test_reset_flags_mark_the_steps_with_a_reset():
    v = np.array([-65.0, -60.0, -40.0, 10.0, -65.0, -64.0, -20.0, -70.0])
    expected = [False, False, False, True, False, False, True]  # falls of 75 and 50 mV
    assert sg.reset_flags(v, 25.0).tolist() == expected
    assert np.asarray(sg.reset_flags(jnp.asarray(v), 25.0)).tolist() == expected
    assert sg.reset_flags(v, 60.0).tolist() == [False] * 3 + [True] + [False] * 3
    two = np.stack([v, np.full_like(v, -65.0)], axis=1)  # (n_t, neurons): along time
    assert sg.reset_flags(two, 25.0)[:, 0].tolist() == expected
    assert not sg.reset_flags(two, 25.0)[:, 1].any()


def _constant_mlp(mlp, bias):
    """`mlp` with every weight 0 and the output bias `bias`: a constant function."""
    mlp = jax.tree.map(lambda x: jnp.zeros_like(x) if eqx.is_array(x) else x, mlp)
    return eqx.tree_at(lambda m: m.layers[-1].bias, mlp, jnp.asarray(bias, float))


def test_gated_mlp_switches_on_its_gate_and_its_loss_is_analytic(network_data):
    data = network_data
    scaler = sg.Standardizer.fit(data)
    config = sg.NetConfig("gated_mlp", n_states=10, n_inputs=5, hidden_size=8, n_gates=5)
    net = sg.make_net(config, key=jax.random.PRNGKey(0))
    features = jnp.linspace(-1.0, 1.0, 20)
    for gate_bias, flag in ((4.0, 1.0), (-4.0, 0.0)):  # the gate alone decides the flags
        gated = eqx.tree_at(lambda n: n.gate, net, _constant_mlp(net.gate, [gate_bias] * 5))
        _, out = gated.step(gated.init_carry(), features)
        _, expected = gated.step_with(features, jnp.full(5, flag))
        np.testing.assert_array_equal(out, expected)
        other = gated.step_with(features, jnp.full(5, 1.0 - flag))[1]
        assert not np.allclose(out, other)  # and the flags do change the state map

    # With a constant gate logit c and a constant flow output b the loss is known in closed
    # form from the window alone: MSE of (y_k + dmean + dstd b - y_{k+1}) / dstd plus
    # weight * mean over steps and neurons of flag softplus(-c) + (1 - flag) softplus(c).
    c, b = 0.3, np.linspace(-0.2, 0.2, 10)
    const = eqx.tree_at(lambda n: (n.gate, n.flow), net,
                        (_constant_mlp(net.gate, [c] * 5), _constant_mlp(net.flow, b)))
    run = int(np.argmax(sg.reset_flags(data.v.transpose(1, 0, 2), 25.0).sum(axis=(0, 2))))
    y, u = data.states[run], data.currents[run]
    flags = np.diff(y[:, :5], axis=0) < -25.0
    assert flags.any()  # the chosen run has spikes
    dmean, dstd = np.asarray(scaler.delta_mean), np.asarray(scaler.delta_std)
    mse = np.mean(((y[:-1] + dmean + dstd * b - y[1:]) / dstd) ** 2)
    bce = np.mean(np.where(flags, np.log1p(np.exp(-c)), np.log1p(np.exp(c))))
    labels = sg.GateLabels(tuple(range(5)), 25.0, 0.7)
    loss = sg.window_loss(const, scaler, jnp.asarray(y), jnp.asarray(u), "teacher",
                          gates=labels)
    np.testing.assert_allclose(float(loss), mse + 0.7 * bce, rtol=1e-10)


def test_gated_mlp_needs_teacher_forcing():
    with pytest.raises(ValueError, match="teacher"):
        sg.TrainConfig(arch="gated_mlp", loss="rollout")


def test_neural_ode_step_integrates_its_vector_field():
    # dz/ds = -z + u(s) with u linear from u0 to u1 over the step (s in [0, 1]) has
    # z(1) = z0/e + u0 (1 - 1/e) + (u1 - u0)/e.
    net = sg.make_net(sg.NetConfig("node", n_states=1, n_inputs=1, hidden_size=4,
                                   n_substeps=8), key=jax.random.PRNGKey(0))

    class Linear(eqx.Module):
        def __call__(self, x):
            return -x[:1] + x[1:2]

    net = eqx.tree_at(lambda n: n.field, net, Linear())
    for z0, u0, u1 in ((0.5, -1.0, 2.0), (-2.0, 0.3, 0.3)):
        _, dz = net.step(net.init_carry(), jnp.array([z0, u0, u1]))
        z1 = z0 / np.e + u0 * (1 - 1 / np.e) + (u1 - u0) / np.e
        np.testing.assert_allclose(float(dz[0]), z1 - z0, rtol=0, atol=1e-8)


@pytest.mark.slow  # 30-40 s on 2 cores: keeps make test under 15 minutes
def test_sweep_writes_one_row_per_model(network_data, tmp_path):
    from jaxneuron.apps.workflows._surrogate_stages import run_sweep
    from jaxneuron.apps.workflows.surrogate_izhikevich import pipeline

    parts = sg.split_by_run(network_data, (0.5, 0.25, 0.25), seed=0)
    rows = run_sweep(pipeline(epochs=1), tmp_path, parts, quick=True, seed=0,
                     hidden_sizes=(4, 8), windows=(5,), log=lambda _: None)
    assert [(r["hidden_size"], r["window"]) for r in rows] == [(4, 5), (8, 5)]
    lines = (tmp_path / "experiment_results.csv").read_text().splitlines()
    assert len(lines) == 3 and "spike_f1" in lines[0] and "speedup_vs_solver" in lines[0]
    assert (tmp_path / "experiment_results.png").exists()


def test_permuting_neurons_is_a_symmetry_of_the_network(network_data):
    # Relabelled states must be what the engine computes from the relabelled currents,
    # weights and initial states; keeping the old weights (a wrong relabelling) must not.
    d = network_data
    weights = np.stack([d.params[name] for name in sg.network_data.weight_names(5)], axis=1)
    inputs = np.concatenate([d.currents, np.broadcast_to(weights[:, None],
                                                         (d.n_runs, d.ts.size, 20))], axis=2)
    states, permuted = sg.permute_neurons(np.random.default_rng(4), d.states, inputs, 5)
    assert not np.allclose(states, d.states)

    def engine(w, currents, states0):
        y0 = states0.reshape(-1, 2, 5).transpose(0, 2, 1)
        out = sg.simulate_network_runs(jn.Izhikevich.preset("RS"), w, currents, y0,
                                       dt_save=0.5, dt=0.1)
        return np.asarray(out).transpose(0, 1, 3, 2).reshape(states.shape)

    relabelled = engine(permuted[:, 0, 5:], permuted[..., :5], states[:, 0])
    np.testing.assert_allclose(relabelled, states, atol=1e-6)
    wrong = engine(weights, permuted[..., :5], states[:, 0])
    assert np.abs(wrong - states).max() > 1.0
