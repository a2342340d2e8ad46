"""`HeldCurrent`: a piecewise-constant current with declared jumps, and the held stimulus of
a recorded step command (`Sweep.stimulus(hold=...)`). Expected values are hand-computed
from the levels and jump times, or the run of the `StepCurrent` the samples were taken
from."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxneuron as jn
from jaxneuron.recordings import Recording, Sweep

INF = float("inf")
# 0 before 1 ms, 2 on [1, 2), 5 on [2, 4), 0 from 4 ms: a 3-level step.
THREE = jn.HeldCurrent(times=[1.0, 2.0, 4.0], levels=[0.0, 2.0, 5.0, 0.0])
PADDED = jn.HeldCurrent(times=[1.0, 2.0, 4.0, INF, INF], levels=[0.0, 2.0, 5.0, 0.0, 0, 0])


@pytest.mark.parametrize("stimulus", [THREE, PADDED], ids=["three_levels", "padded"])
def test_values_integral_and_step_mean_are_the_hand_computed_ones(stimulus):
    at = jnp.array([0.0, 0.999, 1.0, 1.5, 2.0, 3.999, 4.0, 100.0])
    np.testing.assert_array_equal(stimulus(at), [0, 0, 2, 2, 5, 5, 0, 0])  # [t_i, t_i+1)
    assert float(stimulus(2.0)) == 5.0  # a scalar time
    # Charge: 2 * 1 + 5 * 2 over everything; a part of each level.
    assert float(stimulus.integral(-10.0, 10.0)) == 12.0
    assert float(stimulus.integral(1.5, 2.5)) == pytest.approx(2 * 0.5 + 5 * 0.5, abs=1e-15)
    assert float(stimulus.integral(2.5, 3.0)) == pytest.approx(2.5, abs=1e-15)
    assert float(stimulus.integral(5.0, 6.0)) == 0.0
    # A fixed step straddling the jump at 2 ms: 0.25 ms of 2, 0.75 ms of 5.
    assert float(stimulus.step_mean(1.75, 1.0)) == pytest.approx(
        (2 * 0.25 + 5 * 0.75) / 1.0, abs=1e-15)
    # A step over the whole 2 level and part of the others; one inside a level: exact.
    assert float(stimulus.step_mean(0.5, 2.0)) == pytest.approx((2 * 1 + 5 * 0.5) / 2)
    assert float(stimulus.step_mean(2.5, 0.025)) == 5.0
    assert float(stimulus.step_mean(1e4 + 0.5, 0.025)) == 0.0
    # Far from t = 0 in float32 the mean inside a level stays exact (local time).
    far = jn.HeldCurrent(times=jnp.array([0.0, 2e4], jnp.float32),
                         levels=jnp.array([0.0, 3.0, 0.0], jnp.float32))
    assert float(far.step_mean(jnp.float32(1e4 + 0.1), jnp.float32(0.025))) == 3.0
    # Jumps: the next one strictly after t; none after the last (padding is no jump).
    assert [float(stimulus.next_jump(t)) for t in (0.0, 1.0, 3.0, 4.0)] == [1.0, 2.0, 4.0,
                                                                            INF]
    assert np.asarray(stimulus.discontinuities())[:3].tolist() == [1.0, 2.0, 4.0]
    # Shortest pulse: the 1 ms level [1, 2) while it lies in the window, else [2, 4).
    assert float(stimulus.shortest_pulse(0.0, 10.0)) == 1.0
    assert float(stimulus.shortest_pulse(2.5, 10.0)) == 2.0
    assert float(stimulus.shortest_pulse(5.0, 10.0)) == INF


def test_no_jump_is_a_constant_level_and_a_repeated_level_is_no_pulse():
    constant = jn.HeldCurrent(times=jnp.zeros((0,)), levels=[3.0])
    assert float(constant(-5.0)) == 3.0 and float(constant.next_jump(0.0)) == INF
    assert float(constant.integral(0.0, 2.0)) == 6.0
    assert float(constant.step_mean(7.0, 0.1)) == 3.0
    assert float(constant.shortest_pulse(0.0, 10.0)) == INF
    # A declared jump that does not change the level is not a pulse: [1, 2) equals both
    # neighbours here, so no stretch counts.
    flat = jn.HeldCurrent(times=[1.0, 2.0], levels=[4.0, 4.0, 4.0])
    assert float(flat.shortest_pulse(0.0, 10.0)) == INF


def test_from_samples_holds_each_sample_until_the_next():
    # Samples every 0.5 ms from t0 = 10: 0 0 3 3 3 -1 -1 (sample j holds on
    # [10 + 0.5 j, 10 + 0.5 (j + 1))); the command ends at 10 + 7 * 0.5 = 13.5 ms.
    held = jn.HeldCurrent.from_samples([0, 0, 3, 3, 3, -1, -1], 0.5, t0=10.0)
    np.testing.assert_array_equal(held.times, [11.0, 12.5, 13.5])
    np.testing.assert_array_equal(held.levels, [0.0, 3.0, -1.0, 0.0])
    assert float(held.integral(0.0, 100.0)) == 3 * 1.5 - 1 * 1.0  # the samples' charge
    # A command that starts away from 0 jumps at t0 too (0 outside the samples).
    held = jn.HeldCurrent.from_samples([2.0, 2.0, 0.0], 1.0)
    np.testing.assert_array_equal(held.times, [0.0, 2.0])
    np.testing.assert_array_equal(held.levels, [0.0, 2.0, 0.0])
    # An all-zero command has no jump.
    assert jn.HeldCurrent.from_samples(np.zeros(5), 1.0).times.shape == (0,)


def test_from_samples_tolerance_merges_noise_and_refuses_what_is_not_a_step():
    rng = np.random.default_rng(0)
    t = np.arange(2000) * 0.05
    step = np.where((t >= 20.0) & (t < 80.0), 100.0, 0.0)
    noise = rng.uniform(-0.02, 0.02, t.size)  # 2e-4 of the range: below the default
    held = jn.HeldCurrent.from_samples(step + noise, 0.05)
    # The baseline's mean is not exactly 0: the held command jumps at its start and end
    # (t = 0 and 2000 * 0.05 = 100 ms) too, each level the mean of its samples.
    np.testing.assert_allclose(held.times, [0.0, 20.0, 80.0, 100.0], rtol=1e-12)
    np.testing.assert_allclose(held.levels, [0.0, noise[:400].mean(),
                                             100.0 + noise[400:1600].mean(),
                                             noise[1600:].mean(), 0.0],
                               rtol=1e-12, atol=1e-14)
    # A ramp that moves less than the tolerance per sample still drifts: refused.
    with pytest.raises(ValueError, match=r"values must be piecewise constant.*drift"):
        jn.HeldCurrent.from_samples(np.linspace(0.0, 1.0, 5000), 0.05)
    # Noise above the tolerance jumps at almost every sample: more than max_jumps.
    with pytest.raises(ValueError, match=r"values must be piecewise constant.*max_jumps"):
        jn.HeldCurrent.from_samples(step + 100 * noise, 0.05)
    with pytest.raises(ValueError, match=r"3 jumps .* max_jumps = 2"):
        jn.HeldCurrent.from_samples([0, 1, 2, 2], 1.0, max_jumps=2)
    # A tolerance of 0.5 merges the 1 -> 1.4 change; the level is the mean of 1, 1.4, 1.4.
    held = jn.HeldCurrent.from_samples([1.0, 1.4, 1.4, 5.0], 1.0, tolerance=0.5)
    np.testing.assert_allclose(held.levels, [0.0, 3.8 / 3, 5.0, 0.0], rtol=1e-15)
    np.testing.assert_array_equal(held.times, [0.0, 3.0, 4.0])


# ---- a recorded step drives a model exactly as the step ------------------------------------

DT_REC = 0.05  # ms: 20 kHz


def _recorded(step: jn.StepCurrent, t1: float) -> np.ndarray:
    """The step's samples at 20 kHz from t = 0 to t1 (a digitised command)."""
    return np.asarray(jax.vmap(step)(jnp.arange(round(t1 / DT_REC)) * DT_REC))


_SLOW = pytest.mark.slow  # 8-12 s each: three compiles of simulate


@pytest.mark.parametrize(("model", "step", "engine"), [
    pytest.param(jn.HodgkinHuxley(), jn.StepCurrent(10.0, 5.0, 20.0), jn.FixedSteps(),
                 marks=_SLOW, id="HH-fixed"),
    pytest.param(jn.HodgkinHuxley(), jn.StepCurrent(10.0, 5.0, 20.0),
                 jn.AdaptiveSteps(rtol=1e-10, atol=1e-10), marks=_SLOW, id="HH-adaptive"),
    pytest.param(jn.LIF(), jn.StepCurrent(2.0, 5.0, 40.0), jn.ClockSpiking(), id="LIF-clock"),
    pytest.param(jn.LIF(), jn.StepCurrent(2.0, 5.0, 40.0),
                 jn.ExactSpiking(rtol=1e-10, atol=1e-10), marks=_SLOW, id="LIF-exact"),
])
def test_a_held_recorded_step_runs_as_the_step_itself(model, step, engine):
    t1 = 50.0
    held = jn.HeldCurrent.from_samples(_recorded(step, t1), DT_REC)
    np.testing.assert_allclose(held.times, [step.t_start, step.t_stop], rtol=1e-15)
    sampled = jn.SampledCurrent(_recorded(step, t1), DT_REC)  # linear between samples

    def run(stimulus):
        return jn.simulate(model, stimulus, t1=t1, dt=0.025, engine=engine)

    reference, got, ramp = run(step), run(held), run(sampled)
    assert bool(reference.ok) and bool(got.ok)
    np.testing.assert_allclose(got.v, reference.v, rtol=0, atol=1e-10)
    n = int(reference.n_spikes)
    assert n >= 1 and int(got.n_spikes) == n
    np.testing.assert_allclose(got.spike_times[:n], reference.spike_times[:n], atol=1e-10)
    # The linear interpolation of the same samples is not the step: its charge comes
    # half a sample early, which moves the spikes by ~dt/2 (0.025 ms).
    assert np.max(np.abs(ramp.spike_times[:n] - reference.spike_times[:n])) > 5e-3


# ---- recordings: held sweeps, batched ---------------------------------------------------


def _sweep(current, name):
    t = np.arange(current.size) * DT_REC
    return Sweep(t, np.full(t.size, -65.0), current, "pA", name=name)


def test_a_recording_of_0_2_and_4_jumps_stacks_and_vmaps():
    t = np.arange(800) * DT_REC  # 40 ms
    currents = [np.zeros(t.size),
                np.where((t >= 10) & (t < 30), 2000.0, 0.0),
                np.where((t >= 5) & (t < 15), 2000.0, 0.0) + np.where(
                    (t >= 20) & (t < 30), 3000.0, 0.0)]
    rec = Recording([_sweep(c, f"s{i}") for i, c in enumerate(currents)])
    batched = rec.stimulus(jn.LIF())  # pA -> nA
    assert isinstance(batched, jn.HeldCurrent)
    np.testing.assert_allclose(batched.times, [[INF] * 4, [10, 30, INF, INF],
                                               [5, 15, 20, 30]], rtol=1e-12)
    np.testing.assert_allclose(batched.levels, [[0] * 5, [0, 2, 0, 0, 0], [0, 2, 0, 3, 0]],
                               rtol=1e-12)
    traces = jax.vmap(lambda s: jn.simulate(jn.LIF(), s, t1=40.0, dt=0.025))(batched)
    assert traces.v.shape[0] == 3 and bool(jnp.all(traces.ok))
    # No input: the LIF rests; the padded 2-jump row runs as the step it was sampled from.
    np.testing.assert_array_equal(traces.v[0], np.full(traces.v.shape[1], float(jn.LIF().V_rest)))
    alone = jn.simulate(jn.LIF(), jn.StepCurrent(2.0, 10.0, 30.0), t1=40.0, dt=0.025)
    np.testing.assert_allclose(traces.v[1], alone.v, rtol=0, atol=1e-10)
    assert int(traces.n_spikes[1]) == int(alone.n_spikes) >= 1
    assert int(traces.n_spikes[0]) == 0 and int(traces.n_spikes[2]) >= 1


def test_a_recording_with_one_ramp_is_sampled_for_all_sweeps():
    t = np.arange(400) * DT_REC
    step = _sweep(np.where(t >= 5.0, 100.0, 0.0), "step")
    ramp = _sweep(np.linspace(0.0, 100.0, t.size), "ramp")
    assert isinstance(step.stimulus(jn.AdEx()), jn.HeldCurrent)
    assert isinstance(ramp.stimulus(jn.AdEx()), jn.SampledCurrent)
    batched = Recording([step, ramp]).stimulus(jn.AdEx())
    assert isinstance(batched, jn.SampledCurrent) and batched.values.shape == (2, 400)
    np.testing.assert_allclose(batched.values[1], np.linspace(0.0, 100.0, 400), rtol=1e-12)
    held = Recording([step, step]).stimulus(jn.AdEx(), hold=True)
    # On from 5 ms to the sweep's end (400 * 0.05 = 20 ms).
    np.testing.assert_allclose(held.times, [[5.0, 20.0]] * 2, rtol=1e-12)
    assert isinstance(Recording([step]).stimulus(jn.AdEx(), hold=False), jn.SampledCurrent)


# ---- transformations --------------------------------------------------------------------


def test_jit_vmap_and_grad_with_respect_to_the_levels():
    times = jnp.array([1.0, 2.0, 4.0])
    levels = jnp.array([0.0, 2.0, 5.0, 0.0])
    at = jax.jit(lambda s, t: s(t))(THREE, 3.0)
    assert float(at) == 5.0
    # vmap over a batch of level vectors.
    many = jax.vmap(lambda lv: jn.HeldCurrent(times, lv).integral(0.0, 10.0))(
        jnp.stack([levels, 2 * levels]))
    np.testing.assert_allclose(many, [12.0, 24.0])
    # d(step mean over [1.75, 2.75]) / d levels: the time share of each level.
    grad = jax.grad(lambda lv: jn.HeldCurrent(times, lv).step_mean(1.75, 1.0))(levels)
    np.testing.assert_allclose(grad, [0.0, 0.25, 0.75, 0.0], atol=1e-15)

    # Through a simulation: d V(t1) / d level of the step, against central differences.
    def v_end(level):
        stim = jn.HeldCurrent(times, jnp.array([0.0, 1.0, level, 0.0]))
        return jn.simulate(jn.RestingMembrane(), stim, t1=5.0, dt=0.1).v[-1]

    grad = float(jax.jit(jax.grad(v_end))(1.0))
    h, v_end = 1e-4, jax.jit(v_end)
    fd = (float(v_end(1.0 + h)) - float(v_end(1.0 - h))) / (2 * h)
    assert grad == pytest.approx(fd, rel=1e-7) and grad > 0
