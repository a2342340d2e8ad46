"""What a run records (issue 19): online spike statistics, runs without a spike-time list,
the spike-time list written block by block (by spike rank under vmap), and the kernels per
step of the clock loop."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import ENGINES, MODELS, RECORDS, supports

import jaxneuron as jn
from jaxneuron.apps.benchmarking import kernels_in_hlo, loop_kernels
from jaxneuron.engines import SpikeRecord, SpikeStats

TIMES_AND_STATS = SpikeRecord(max_spikes=512, stats=True)


def _numpy_stats(times: np.ndarray) -> dict:
    """The statistics of a spike train, independently in NumPy (float64)."""
    isi = np.diff(times)
    return {"n_spikes": times.size, "first": times[0], "last": times[-1],
            "isi_mean": isi.mean(), "isi_var": isi.var(ddof=1),
            "steady_rate": 1000.0 / isi[-3:].mean()}


def _check(stats: SpikeStats, times: np.ndarray, rtol: float):
    expected = _numpy_stats(times)
    assert int(stats.n_spikes) == expected["n_spikes"]
    for name in ("first", "last", "isi_mean", "isi_var"):
        np.testing.assert_allclose(float(getattr(stats, name)), expected[name], rtol=rtol,
                                   atol=1e-9, err_msg=name)
    np.testing.assert_allclose(float(stats.steady_rate()), expected["steady_rate"], rtol=rtol)
    np.testing.assert_allclose(np.asarray(stats.recent), times[-4:], rtol=1e-12)


@pytest.mark.parametrize("engine", [jn.ClockSpiking("euler"), jn.ClockSpiking("heun"),
                                    jn.ClockSpiking(), jn.ExactSpiking()],
                         ids=["clock-euler", "clock-heun", "clock-default", "exact"])
@pytest.mark.parametrize("model, current", [(jn.Izhikevich.preset("CH"), 10.0),
                                            (jn.LIF(), 2.0)], ids=["Izhikevich-CH", "LIF"])
def test_online_stats_equal_numpy_stats_of_the_full_list_of_the_same_run(engine, model, current):
    trace = jn.simulate(model, jn.StepCurrent(current), t1=300.0, dt=0.05, engine=engine,
                        save_every=0, record=TIMES_AND_STATS)
    times = np.asarray(trace.spike_times)[: int(trace.n_spikes)]
    assert times.size >= 10 and np.all(np.isfinite(times))
    _check(trace.spike_stats, times, rtol=1e-9)


def test_stats_of_a_regular_train_keep_their_precision_in_float32():
    # LIF under a constant current fires with one interval (analytic): the ISI variance is
    # ~0 and must not come out as the cancellation error of large sums.
    model = jn.LIF(*(jnp.asarray(float(v), jnp.float32) for v in (10.0, 10.0, -65.0, -50.0,
                                                                   -65.0, 2.0)))
    trace = jn.simulate(model, jn.StepCurrent(jnp.float32(2.0)), t1=2000.0, dt=0.1,
                        save_every=0, record=SpikeRecord(times=False, stats=True))
    isi = 10.0 * math.log(20.0 / 5.0) + 2.0
    assert float(trace.spike_stats.isi_mean) == pytest.approx(isi, abs=2e-3)
    assert float(trace.spike_stats.isi_var) < 1e-5


def test_runs_without_a_list_count_every_spike_and_never_overflow():
    model, stim = jn.Izhikevich.preset("FS"), jn.StepCurrent(10.0)
    full = jn.simulate(model, stim, t1=500.0, dt=0.1, save_every=0, max_spikes=1024)
    count_only = jn.simulate(model, stim, t1=500.0, dt=0.1, save_every=0,
                             record=SpikeRecord(max_spikes=4, times=False))
    assert int(full.n_spikes) > 4
    assert count_only.spike_times.shape == (0,) and count_only.spike_stats is None
    assert int(count_only.n_spikes) == int(full.n_spikes)
    assert not bool(count_only.spikes_overflowed) and int(count_only.status) == 0


def test_lif_spike_times_written_block_by_block_match_the_analytic_train():
    # 10,005 steps: 100 blocks of 100 steps and a tail of 5; ~63 spikes across blocks.
    trace = jn.simulate(jn.LIF(), jn.StepCurrent(2.0), t1=1000.5, dt=0.1, save_every=0,
                        max_spikes=128)
    to_threshold = 10.0 * math.log(20.0 / 5.0)
    n = int(trace.n_spikes)
    expected = to_threshold + np.arange(n) * (to_threshold + 2.0)
    assert n == int((1000.5 - to_threshold) // (to_threshold + 2.0)) + 1
    # linear interpolation misplaces each crossing by ~1e-4 ms, and the next interval starts
    # from the interpolated crossing: the error grows by at most that much per spike
    error = np.abs(np.asarray(trace.spike_times)[:n] - expected)
    assert np.all(error <= 2e-4 * (1 + np.arange(n))), error
    assert np.all(np.isnan(np.asarray(trace.spike_times)[n:]))


def test_record_rejects_bad_options():
    with pytest.raises(ValueError, match="times"):
        SpikeRecord(times=1)
    with pytest.raises(ValueError, match="record"):
        jn.simulate(jn.LIF(), jn.StepCurrent(2.0), t1=10.0, record="stats")
    with pytest.raises(ValueError, match="record"):
        jn.simulate(jn.LIF(), jn.StepCurrent(2.0), t1=10.0, max_spikes=8,
                    record=SpikeRecord())
    with pytest.raises(ValueError, match="threshold"):
        jn.simulate(jn.HodgkinHuxley(), jn.StepCurrent(2.0), t1=10.0,
                    record=SpikeRecord(threshold=float("nan")))
    with pytest.raises(ValueError, match="n_last"):
        jn.simulate(jn.LIF(), jn.StepCurrent(2.0), t1=10.0,
                    record=SpikeRecord(stats=True)).spike_stats.steady_rate(4)


def test_sweep_default_records_stats_and_gives_the_summaries_of_the_full_list():
    sets = {"a": np.array([0.02, 0.1, 0.02]), "d": np.array([8.0, 2.0, 2.0])}
    kwargs = dict(t1=300.0, dt=0.1, progress=False)
    online = jn.sweep(jn.Izhikevich(), sets, jn.StepCurrent(10.0), **kwargs)
    listed = jn.sweep(jn.Izhikevich(), sets, jn.StepCurrent(10.0), max_spikes=256, **kwargs)
    assert online.ok.all() and listed.ok.all()
    for name, values in listed.summaries.items():
        np.testing.assert_allclose(online.summaries[name], values, rtol=1e-9, err_msg=name)


def test_kernel_counter_counts_the_top_level_ops_of_the_loop_body():
    def loop(x):
        def body(carry, _):
            a, b = carry
            return (a * 2.0 + b, jnp.sin(b)), None
        return jax.lax.scan(body, (x, x), None, length=5)[0]

    kernels = loop_kernels(loop, jnp.ones(64))
    assert 1 <= kernels["total"] <= 6 and kernels["per_step"] == kernels["total"]
    assert kernels["total"] == sum(v for k, v in kernels.items() if k not in ("total",
                                                                             "per_step"))
    with pytest.raises(ValueError, match="while loop"):
        kernels_in_hlo(jax.jit(jnp.sin).lower(jnp.ones(3)).compile().as_text())


def test_kernel_counter_spreads_the_work_of_an_outer_loop_over_the_inner_steps():
    def nested(x):
        def inner(c, _):
            return c * 2.0 + 1.0, None

        def outer(c, _):  # once per 5 inner steps: a sort, which no loop fusion absorbs
            return jnp.sort(jax.lax.scan(inner, c, None, length=5)[0]), None

        return jax.lax.scan(outer, x, None, length=3)[0]

    kernels = loop_kernels(nested, jnp.linspace(1.0, 0.0, 64))
    extra = (kernels["per_step"] - kernels["total"]) * 5  # the outer body's kernels
    assert extra >= 1 and extra == pytest.approx(round(extra))


def test_clock_loop_has_at_most_twice_the_kernels_of_a_minimal_loop():
    """Issue 19 (a): the Izhikevich sweep's clock loop vs a hand-written loop counting
    spikes (the floor), both vmapped over 256 neurons in float32, kernels per step."""
    n, dt, steps = 256, 0.1, 50
    rng = np.random.default_rng(0)
    p = [jnp.asarray(x, jnp.float32) for x in (np.full(n, 0.02), np.full(n, 0.2),
                                                np.full(n, -65.0), np.full(n, 8.0),
                                                rng.uniform(0, 15, n))]

    def ours(a, b, c, d, current):
        return jn.simulate(jn.Izhikevich(a=a, b=b, c=c, d=d), jn.StepCurrent(current),
                           t1=steps * dt, dt=dt, save_every=0, engine=jn.ClockSpiking("euler"),
                           record=SpikeRecord(times=False, stats=True), throw=False).n_spikes

    def floor(a, b, c, d, current):
        def step(carry, _):
            v, u, count = carry
            v1 = v + dt * (0.04 * v * v + 5 * v + 140 - u + current)
            u1 = u + dt * a * (b * v - u)
            spiked = v1 >= 30
            return (jnp.where(spiked, c, v1), jnp.where(spiked, u1 + d, u1),
                    count + spiked), None
        v0 = jnp.full_like(a, -65.0)
        return jax.lax.scan(step, (v0, b * v0, jnp.zeros(a.shape, jnp.int32)), None,
                            length=steps)[0][2]

    ours_k = loop_kernels(jax.vmap(ours), *p)["total"]
    floor_k = loop_kernels(floor, *p)["total"]
    assert ours_k <= 2 * floor_k, (ours_k, floor_k)


@pytest.mark.parametrize("record", [SpikeRecord(times=False, stats=True), SpikeRecord()],
                         ids=["stats", "times"])
def test_first_spike_time_gradient_through_either_record_is_analytic(record):
    # LIF from rest under 2 nA x 10 MΩ: first spike at tau_m ln(20 / 5), d/d tau_m = ln 4.
    def first(tau_m):
        trace = jn.simulate(jn.LIF(tau_m=tau_m), jn.StepCurrent(2.0), t1=40.0, dt=0.01,
                            save_every=0, record=record)
        return trace.spike_stats.first if record.stats else trace.spike_times[0]

    assert float(first(10.0)) == pytest.approx(10.0 * math.log(4.0), abs=1e-3)
    assert float(jax.grad(first)(10.0)) == pytest.approx(math.log(4.0), rel=1e-3)
    batched = jax.vmap(first)(jnp.array([10.0, 20.0]))
    np.testing.assert_allclose(batched, [10.0 * math.log(4.0), 20.0 * math.log(4.0)],
                               atol=2e-3)


def _record_cases():
    """Every supported model x engine pair with every record; in `make test` only the
    clock engine (the online path) with the records that drop the list, the rest slow."""
    for case in MODELS:
        for engine in ENGINES:
            if not supports(case, engine):
                continue  # tests/test_matrix.py checks that these pairs raise
            for name, record in RECORDS:
                quick = engine.id == "ClockSpiking" and name in ("stats", "count")
                yield pytest.param(case, engine, record, id=f"{case}-{engine}-{name}",
                                   marks=() if quick else pytest.mark.slow)


@pytest.mark.parametrize("case, engine, record", list(_record_cases()))
def test_every_record_agrees_with_the_full_list_for_every_model_and_engine(case, engine,
                                                                           record):
    # smooth models under adaptive steps find spikes on the saved trace: save every dt
    run = functools.partial(jn.simulate, case.make(), case.stimulus, t1=case.t1, dt=case.dt,
                            engine=engine.make(), save_every=0 if case.spiking else None)
    full = run(max_spikes=256)
    times = np.asarray(full.spike_times)[: int(full.n_spikes)]
    assert case.spikes[0] <= times.size <= case.spikes[1]
    trace = run(record=record)
    assert int(trace.n_spikes) == times.size and int(trace.status) == 0
    assert trace.spike_times.shape == ((record.max_spikes,) if record.times else (0,))
    if record.times:
        np.testing.assert_allclose(np.asarray(trace.spike_times)[: times.size], times,
                                   rtol=1e-12)
    assert (trace.spike_stats is not None) == record.stats
    if record.stats and times.size >= 4:
        _check(trace.spike_stats, times, rtol=1e-9)
    elif record.stats:
        assert int(trace.spike_stats.n_spikes) == times.size


def test_kernel_counter_counts_the_kernels_of_the_largest_branch_of_a_conditional():
    def loop(x):
        def body(c, k):
            small = lambda c: c + 1.0  # noqa: E731
            large = lambda c: jnp.sort(jnp.sin(c) * 2.0) + jnp.cumsum(jnp.sort(c))  # noqa: E731
            return jax.lax.cond(k % 2 == 0, small, large, c), None
        return jax.lax.scan(body, x, jnp.arange(5))[0]

    kernels = loop_kernels(loop, jnp.linspace(1.0, 0.0, 64))
    assert kernels.get("conditional", 0) == 1 and kernels["total"] >= 4
    assert kernels["total"] == sum(v for k, v in kernels.items() if k not in ("total",
                                                                             "per_step"))


def test_a_run_starting_above_threshold_spikes_at_t0_without_input_jumps():
    # With no input events the clock loop takes the initial kick before its first step
    # (`step_columns(kicks=False)`): one spike at t0 exactly, then the reset state is held
    # for t_ref and relaxes to rest, V(t) = V_rest + (V_reset - V_rest) exp(-(t - t_ref) /
    # tau_m), with no further spike.
    model = jn.LIF(V_reset=-70.0)
    trace = jn.simulate(model, jn.StepCurrent(0.0), t1=30.0, dt=0.01, y0=[-40.0],
                        engine=jn.ClockSpiking("exp_euler"), save_every=1.0)
    assert int(trace.n_spikes) == 1 and float(trace.spike_times[0]) == 0.0
    t_ref, tau = float(model.t_ref), float(model.tau_m)
    ts = np.asarray(trace.ts)
    later = ts >= t_ref + 1.0
    expected = float(model.V_rest) + (float(model.V_reset) - float(model.V_rest)) * np.exp(
        -(ts[later] - t_ref) / tau)
    np.testing.assert_allclose(np.asarray(trace.v)[later], expected, atol=1e-6)


def _block_by_hand(record: SpikeRecord):
    """Three neurons through one 5-step block, recorded as the clock loop does (emitted by
    `emit` step by step, counted and added by `record_block`), with a list of 3 slots:
    neuron 0 had a spike at 0.5 ms before the block and spikes at 1.5, 3.5 and 4.5 ms in it
    (the last overflows), neuron 1 is silent, neuron 2 spikes once at 0.2 ms."""
    from jaxneuron.engines.spikes import (
        emit,
        record_block,
        record_step,
        start_record,
        stats_finish,
    )

    spiked = np.array([[0, 1, 0, 1, 1], [0, 0, 0, 0, 0], [1, 0, 0, 0, 0]], bool)
    times = np.array([[0.1, 1.5, 2.1, 3.5, 4.5], [0.1, 1.1, 2.1, 3.1, 4.1],
                      [0.2, 1.1, 2.1, 3.1, 4.1]])

    def one(t_block, spiked_block, before):
        rec = record_step(start_record(record, jnp.float64), jnp.asarray(0.5), before)
        emitted = []
        for t, s in zip(t_block, spiked_block, strict=True):
            rec, e = emit(rec, t, s)
            emitted.append(e)
        rec = record_block(rec, jnp.stack(emitted))
        return rec.times, rec.count, rec.stats and stats_finish(rec.stats, rec.count)

    return one, jnp.asarray(times), jnp.asarray(spiked), jnp.array([True, False, False])


@pytest.mark.parametrize("record", [
    pytest.param(SpikeRecord(max_spikes=3, stats=True), marks=pytest.mark.slow),  # 10 s
    SpikeRecord(max_spikes=3)], ids=["times+stats", "times"])
def test_a_block_is_written_by_rank_as_written_by_hand_batched_nested_and_alone(record):
    one, t, spiked, before = _block_by_hand(record)
    nan = np.nan
    expected = np.array([[0.5, 1.5, 3.5], [nan, nan, nan], [0.2, nan, nan]])
    for lists, counts, stats in (
            jax.jit(jax.vmap(one))(t, spiked, before),
            jax.vmap(jax.vmap(one))(t[None].repeat(2, 0), spiked[None].repeat(2, 0),
                                    before[None].repeat(2, 0))):
        lists, counts = np.asarray(lists).reshape(-1, 3, 3), np.asarray(counts)
        for batch in lists:
            np.testing.assert_array_equal(batch, expected)
        assert counts.reshape(-1, 3).tolist()[0] == [4, 0, 1]
        if record.stats:  # neuron 0: 0.5, 1.5, 3.5, 4.5 ms; ISIs 1, 2, 1 ms
            got = {k: np.asarray(getattr(stats, k)).reshape(-1, 3)[0]
                   for k in ("first", "last", "isi_mean", "isi_var")}
            np.testing.assert_array_equal(got["first"], [0.5, nan, 0.2])
            np.testing.assert_array_equal(got["last"], [4.5, nan, 0.2])
            np.testing.assert_allclose(got["isi_mean"], [4 / 3, nan, nan], rtol=1e-12)
            np.testing.assert_allclose(got["isi_var"], [1 / 3, nan, nan], rtol=1e-12)
            np.testing.assert_array_equal(np.asarray(stats.recent).reshape(-1, 3, 4)[0, 0],
                                          [0.5, 1.5, 3.5, 4.5])
    alone = one(t[0], spiked[0], before[0])  # without vmap: a batch of one
    np.testing.assert_array_equal(alone[0], expected[0])


@pytest.mark.slow  # 13 s; make test covers gradients of listed spike times through runs
def test_a_block_written_by_rank_differentiates_in_both_modes():
    # d(sum of the list) / d(emitted times) is 1 where a spike got a slot, 0 elsewhere
    # (neuron 0's spike at 4.5 ms overflows); d(first spike) / d(t) is 1 at the first.
    one, t, spiked, before = _block_by_hand(SpikeRecord(max_spikes=3, stats=True))

    def listed(t):
        return jnp.nansum(jax.vmap(one)(t, spiked, before)[0])

    def first_of_2(t):
        return jax.vmap(one)(t, spiked, before)[2].first[2]

    placed = np.array([[0, 1, 0, 1, 0], [0, 0, 0, 0, 0], [1, 0, 0, 0, 0]], float)
    np.testing.assert_array_equal(jax.grad(listed)(t), placed)
    np.testing.assert_array_equal(jax.jacfwd(listed)(t), placed)
    onehot = np.zeros((3, 5))
    onehot[2, 0] = 1.0
    np.testing.assert_array_equal(jax.grad(first_of_2)(t), onehot)
    np.testing.assert_array_equal(jax.jacfwd(first_of_2)(t), onehot)
